import * as assert from 'node:assert/strict';
import type { LayersProtocol, RequestMessage, WebviewToHost } from '../../src/shared/protocol';
import { ViewPage, assertClean, injectedElements, webviewSuite } from './harness';
import { HOSTILE, LAYER_CHANGES, bigLayer, layersState } from './sample';
import { attr, contains } from './util';

const isChangesRequest = (layer?: number | 'upper') => (m: WebviewToHost<LayersProtocol>) =>
  m.kind === 'request' && m.method === 'layers/changes' && (layer === undefined || m.params.layer === layer);

describe('webview: layer diff explorer', function () {
  const suite = webviewSuite();
  let vp: ViewPage<'layers'> | null = null;

  /** Answers the next layers/changes request for `layer` with the sample's changes. */
  async function answer(v: ViewPage<'layers'>, layer: number | 'upper', changes = LAYER_CHANGES[String(layer)]): Promise<void> {
    const req = (await v.waitForPosted(isChangesRequest(layer))) as RequestMessage<LayersProtocol>;
    await v.clearPosted();
    await v.respond(req.seq, { changes });
  }

  async function openLayers(selected: number | 'upper' | null = null): Promise<ViewPage<'layers'>> {
    vp = await suite.open('layers');
    await vp.push('state/layers', layersState(selected));
    await vp.page.waitForSelector('table.layers tbody tr');
    return vp;
  }

  const rowPaths = (v: ViewPage<'layers'>) => v.page.$$eval('.tree-row', (rows) => rows.map((r) => r.getAttribute('data-path')));

  it('lists the layers with created-by, size, wasted and counts, the upper layer, efficiency and the verdict', async () => {
    const v = await openLayers();
    const layers = await v.page.$$eval('table.layers tbody tr', (trs) => trs.map((t) => t.getAttribute('data-layer')));
    assert.deepEqual(layers, ['upper', '3', '2', '1', '0']);
    const l1 = await v.page.textContent('table.layers tr[data-layer="1"]');
    assert.match(l1 ?? '', /RUN apk add --no-cache curl/);
    assert.match(l1 ?? '', /4\.0 MiB/, 'wasted bytes');
    assert.match(l1 ?? '', /\+5 ~1 -0/);
    const l0 = await v.page.textContent('table.layers tr[data-layer="0"]');
    assert.match(l0 ?? '', /ADD file:5851aef23205a072ef361dd412a73a39 in \//, 'the #(nop) noise is dropped');
    const l2title = await v.page.getAttribute('table.layers tr[data-layer="2"] .cmd', 'title');
    assert.ok(contains(l2title, HOSTILE.script), 'the full created-by is in the title');
    assert.match((await v.page.textContent('table.layers tr[data-layer="upper"]')) ?? '', /Writable layer/);
    assert.equal((await v.page.textContent('[data-field="efficiency"]'))?.trim(), '81.2 %');
    assert.equal((await v.page.textContent('[data-field="wasted"]'))?.trim(), '4.0 MiB');
    assert.equal((await v.page.textContent('[data-field="user-wasted"]'))?.trim(), '78.5 %');
    assert.equal(await v.page.getAttribute('.verdict', 'data-verdict'), 'fail');
    assert.match((await v.page.textContent('.verdict')) ?? '', /efficiency 81\.2 % is below the lowest allowed 90\.0 %/);
    assert.match((await v.page.textContent('.inefficiencies')) ?? '', /\/tmp\/cache\/big\.bin/);
    // The top layer opens first.
    await answer(v, 3);
    await v.page.waitForSelector('.tree-row');
    await assertClean(v);
  });

  it('requests a layer’s changes on click and shows its tree with A/M/D marks, lazily expanded', async () => {
    const v = await openLayers();
    await answer(v, 3);
    await v.page.waitForSelector('.tree-row[data-path="/tmp"]');
    assert.deepEqual(await rowPaths(v), ['/tmp', '/tmp/cache', '/tmp/cache/big.bin'], 'a small layer opens fully');
    await v.page.click('.tree-row[data-path="/tmp/cache"]');
    assert.deepEqual(await rowPaths(v), ['/tmp', '/tmp/cache'], 'a click closes a directory');
    assert.equal(await v.page.getAttribute('.tree-row[data-path="/tmp"]', 'data-kind'), 'none');
    assert.equal(await v.page.getAttribute('.tree-row[data-path="/tmp/cache"]', 'data-kind'), 'deleted');
    assert.equal((await v.page.textContent('.tree-row[data-path="/tmp/cache"] .mark'))?.trim(), 'D');

    await v.page.click('table.layers tr[data-layer="2"]');
    await answer(v, 2);
    await v.page.waitForSelector(`.tree-row[data-path=${attr(`/app/${HOSTILE.img}`)}]`);
    assert.equal(await v.page.getAttribute('.tree-row[data-path="/app/server.js"]', 'data-kind'), 'added');
    assert.equal((await v.page.textContent('.tree-row[data-path="/app/server.js"] .mark'))?.trim(), 'A');
    assert.match((await v.page.textContent('.tree-row[data-path="/app/server.js"]')) ?? '', /17\.8 KiB/);
    assert.equal(await v.page.getAttribute('.tree-row[data-path="/etc/passwd"]', 'data-kind'), 'modified');
    assert.equal((await v.page.textContent('.tree-row[data-path="/etc/passwd"] .mark'))?.trim(), 'M');
    // Hostile file names are text.
    const hostileRow = await v.page.textContent(`.tree-row[data-path=${attr(`/app/${HOSTILE.img}`)}]`);
    assert.ok(contains(hostileRow, HOSTILE.img));
    assert.ok(await v.page.$(`.tree-row[data-path=${attr(`/app/${HOSTILE.newline}.txt`)}]`));
    assert.deepEqual(await injectedElements(v), []);

    // The opaque directory of layer 1.
    await v.page.click('table.layers tr[data-layer="1"]');
    await answer(v, 1);
    await v.page.waitForSelector('.tree-row[data-path="/var/cache/apk"]');
    assert.equal(await v.page.getAttribute('.tree-row[data-path="/var/cache/apk"]', 'data-opaque'), 'true');
    await v.page.click('.tree-row[data-path="/tmp/cache/big.bin"]');
    await v.screenshot('layers');
    await assertClean(v);
  });

  it('filters by path, sorts by name or size, and keeps both across a reload', async () => {
    const v = await openLayers(2);
    await answer(v, 2);
    await v.page.waitForSelector('.tree-row[data-path="/app"]');
    await v.page.locator('vscode-textfield[data-testid="filter"] input').fill('express');
    await v.waitFor(`document.querySelectorAll('.tree-row').length === 6`);
    assert.deepEqual(await rowPaths(v), [
      '/app',
      '/app/node_modules',
      '/app/node_modules/express',
      '/app/node_modules/express/lib',
      '/app/node_modules/express/lib/router.js',
      '/app/node_modules/express/index.js',
    ]);
    assert.match((await v.page.textContent('.match-line')) ?? '', /4 of 12 paths match/);

    await v.page.locator('vscode-textfield[data-testid="filter"] input').fill('');
    await v.waitFor(`document.querySelectorAll('.tree-row').length === 12`);
    // By name: directories first, then files by name.
    assert.deepEqual(await rowPaths(v), [
      '/app',
      '/app/node_modules',
      '/app/node_modules/express',
      '/app/node_modules/express/lib',
      '/app/node_modules/express/lib/router.js',
      '/app/node_modules/express/index.js',
      `/app/${HOSTILE.img}`,
      '/app/package.json',
      '/app/server.js',
      `/app/${HOSTILE.newline}.txt`,
      '/etc',
      '/etc/passwd',
    ]);
    // By size: the biggest first (server.js 17.8 KiB, then node_modules 15.7 KiB).
    await v.page.click('vscode-single-select[data-testid="sort"]');
    await v.page.click('vscode-single-select[data-testid="sort"] li[role="option"]:has-text("Sort by size")');
    await v.waitFor(
      `(document.querySelectorAll('.tree-row')[1] || {}).getAttribute && document.querySelectorAll('.tree-row')[1].getAttribute('data-path') === '/app/server.js'`,
    );
    const bySize = (await rowPaths(v)).filter((p) => p!.split('/').length === 3);
    assert.deepEqual(bySize.slice(0, 2), ['/app/server.js', '/app/node_modules']);

    await v.page.locator('vscode-textfield[data-testid="filter"] input').fill('server');
    await v.waitFor(`document.querySelectorAll('.tree-row').length === 2`);
    await v.reload();
    await v.push('state/layers', layersState(2));
    await answer(v, 2);
    await v.page.waitForSelector('.tree-row[data-path="/app/server.js"]');
    assert.deepEqual(await rowPaths(v), ['/app', '/app/server.js']);
    assert.equal(await v.page.evaluate(`document.querySelector('vscode-textfield[data-testid="filter"]').value`), 'server');
    assert.equal(await v.page.evaluate(`document.querySelector('vscode-single-select[data-testid="sort"]').value`), 'size');
    await assertClean(v);
  });

  it('moves through the tree with the keyboard', async () => {
    const v = await openLayers(2);
    await answer(v, 2);
    await v.page.waitForSelector('.tree-row[data-path="/app"]');
    const active = () => v.page.getAttribute('.tree-row.active', 'data-path');
    await v.page.focus('.tree-viewport');
    await v.page.keyboard.press('ArrowLeft');
    assert.deepEqual(await rowPaths(v), ['/app', '/etc', '/etc/passwd'], 'left on an open directory closes it');
    await v.page.keyboard.press('ArrowRight');
    await v.page.waitForSelector('.tree-row[data-path="/app/server.js"]');
    await v.page.keyboard.press('ArrowDown');
    assert.equal(await active(), '/app/node_modules');
    const activeId = await v.page.getAttribute('.tree-row.active', 'id');
    assert.equal(await v.page.getAttribute('.tree-viewport', 'aria-activedescendant'), activeId);
    await v.page.keyboard.press('ArrowLeft');
    await v.page.keyboard.press('ArrowLeft');
    assert.equal(await active(), '/app', 'left on a closed directory goes to its parent');
    await v.page.keyboard.press('ArrowLeft');
    assert.deepEqual(await rowPaths(v), ['/app', '/etc', '/etc/passwd']);
    await v.page.keyboard.press('End');
    assert.equal(await active(), '/etc/passwd');
    assert.match((await v.page.textContent('.active-line')) ?? '', /\/etc\/passwd modified file/);
    await v.page.click('.active-line vscode-button');
    assert.deepEqual((await v.waitForPosted((m) => m.method === 'copyText')).params, { text: '/etc/passwd' });
    await assertClean(v);
  });

  it('remembers the picked layer while the panel is hidden, and follows a new ask from the host', async () => {
    const v = await openLayers();
    await answer(v, 3);
    await v.page.click('table.layers tr[data-layer="upper"]');
    await answer(v, 'upper');
    await v.page.waitForSelector('.tree-row[data-path="/var"]');
    await v.reload();
    await v.push('state/layers', layersState());
    await answer(v, 'upper');
    await v.page.waitForSelector('.tree-row[data-path="/var"]');
    assert.equal(await v.page.getAttribute('table.layers tr.selected', 'data-layer'), 'upper');
    // The host now asks for layer 1 (Open Layer from the tree): that wins.
    await v.push('state/layers', layersState(1));
    await answer(v, 1);
    await v.page.waitForSelector('table.layers tr.selected[data-layer="1"]');
    await assertClean(v);
  });

  it('ignores a late answer for a layer no longer picked, and shows a failed request with a retry', async () => {
    const v = await openLayers(0);
    const first = (await v.waitForPosted(isChangesRequest(0))) as RequestMessage<LayersProtocol>;
    await v.clearPosted();
    await v.page.click('table.layers tr[data-layer="1"]');
    const second = (await v.waitForPosted(isChangesRequest(1))) as RequestMessage<LayersProtocol>;
    await v.clearPosted();
    await v.respond(second.seq, { changes: LAYER_CHANGES['1'] });
    await v.respond(first.seq, { changes: LAYER_CHANGES['0'] });
    await v.page.waitForSelector('.tree-row[data-path="/usr"]');
    assert.equal(await v.page.$('.tree-row[data-path="/bin"]'), null, 'layer 0 arrived late and is not shown');

    await v.page.click('table.layers tr[data-layer="2"]');
    const failing = (await v.waitForPosted(isChangesRequest(2))) as RequestMessage<LayersProtocol>;
    await v.clearPosted();
    await v.respond(failing.seq, undefined, 'the layer tar could not be read: EACCES');
    await v.page.waitForSelector('.match-line .error-text');
    assert.match((await v.page.textContent('.match-line')) ?? '', /EACCES/);
    await v.page.click('.match-line vscode-button');
    await answer(v, 2);
    await v.page.waitForSelector('.tree-row[data-path="/app"]');
    await assertClean(v);
  });

  it('shows long work with a Cancel that asks the host to stop, and hides it when done', async () => {
    const v = await openLayers();
    await v.push('state/progress', { message: `Reading layers… ${HOSTILE.img}` });
    await v.page.waitForSelector('.banner-progress:not([hidden])');
    assert.ok(contains(await v.page.textContent('.banner-progress'), HOSTILE.img));
    await v.page.click('.banner-progress vscode-button[data-action="cancel"]');
    assert.deepEqual((await v.waitForPosted((m) => m.method === 'cancel')).params, {});
    await v.screenshot('layers-progress');
    await v.push('state/progress', { message: null });
    await v.page.waitForSelector('.banner-progress', { state: 'hidden' });
    assert.ok(await v.page.$('table.layers tbody tr'), 'the layers stay under the banner');
    await assertClean(v);
  });

  it('opens a layer of 100 000 paths with only the visible rows in the page (prints the time)', async () => {
    const v = await openLayers(0);
    const req = (await v.waitForPosted(isChangesRequest(0))) as RequestMessage<LayersProtocol>;
    const big = bigLayer(100_000);
    const t0 = Date.now();
    await v.respond(req.seq, { changes: big });
    await v.page.waitForSelector('.tree-row[data-path="/usr"]');
    const t1 = Date.now();
    await v.page.click('.tree-row[data-path="/usr"]');
    await v.page.click('.tree-row[data-path="/usr/share"]');
    await v.page.click('.tree-row[data-path="/usr/share/data"]');
    await v.page.waitForSelector('.tree-row[data-path="/usr/share/data/d0"]');
    await v.page.locator('vscode-textfield[data-testid="filter"] input').fill('sub3/');
    await v.waitFor(`/of 100,803 paths match/.test(document.querySelector('.match-line').textContent)`);
    const t2 = Date.now();
    const inDom = await v.page.$$eval('.tree-row', (rows) => rows.length);
    const total = Number(await v.page.getAttribute('.tree-body', 'data-rows'));
    const buildMs = await v.page.getAttribute('.tree-body', 'data-build-ms');
    console.log(
      `      100 000 paths: tree shown ${t1 - t0} ms after the answer was sent (${buildMs} ms of it building the tree in the page, the rest moving 100 000 objects into it); ` +
        `opened three levels and filtered in ${t2 - t1} ms; ${inDom} of ${total} rows in the DOM`,
    );
    assert.ok(total > 10_000, `the filter leaves ${total} rows`);
    assert.ok(inDom < 120, `only the rows in view are in the DOM (${inDom})`);
    // Scrolling far down draws the rows there.
    await v.page.evaluate(`document.querySelector('.tree-viewport').scrollTop = 22 * 9000`);
    await v.waitFor(`Array.from(document.querySelectorAll('.tree-row')).some(function (r) { return Number(r.dataset.index) >= 9000; })`);
    await assertClean(v);
  });
});
