import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ARTIFACTS,
  CodeServer,
  Ui,
  enterText,
  focusTreeRow,
  openWorkbench,
  pickQuickItem,
  requireChromium,
  requireCodeServer,
  requireVsix,
  runCommand,
  runCommandAndPick,
  startCodeServer,
  treeRow,
  webviewFrame,
} from '../support/codeServer';
import {
  BASE_IMAGE,
  docker,
  ensureBaseImage,
  inspect,
  readlinkNamespaces,
  removeContainers,
  requireDocker,
  runContainer,
} from '../support/docker';
import { HELPER_LABEL } from '../../src/core/access/helper';
import { COMPOSE_LABELS } from '../../src/shared/compose';
import { ComposeProject, composeUp } from '../support/compose';
import { Target, openTarget } from '../support/targets';

const SHOTS = path.join(ARTIFACTS, 'e2e');
const IMAGE = 'xray-e2e-app:1';
/** The suite's Compose project (its name is no match for the other tests' filter, `xray-e2e`). */
const STACK = 'xray-stack';

/** Names that would be markup, a command link or an image if anything interpreted them. */
const HOSTILE_FILE = '<img src=x onerror=alert(1)>.txt';
const HOSTILE_COMMAND = '[x](command:workbench.action.terminal.new) <b>bold</b>';
/** A file name cannot hold a slash. */
const HOSTILE_NAME = '[x](command:workbench.action.terminal.new) <b>bold';

/** The Dockerfile of the workspace; its RUN line writes a 300 KiB file that the hover must name, and a hostile one. */
function dockerfile(base: string): string {
  return `FROM ${base}
RUN mkdir -p /opt/app && dd if=/dev/zero of=/opt/app/payload.bin bs=1k count=300 2>/dev/null && echo small > '/opt/app/${HOSTILE_FILE}'
ENV MODE=demo
COPY hello.txt /opt/app/hello.txt
CMD ["sleep", "3600"]
`;
}

describe('the packaged extension in code-server, driven in Chromium', function () {
  this.timeout(600000);
  let server: CodeServer;
  let ui: Ui;
  let workspace: string;
  const ids: Record<string, string> = {};
  /** The unrelated containers of XRAY_E2E_FLEET. */
  const fleetIds: string[] = [];
  /** A Compose project of three services, brought up by docker-compose. */
  let stack: ComposeProject | undefined;

  before(async () => {
    requireDocker();
    requireCodeServer();
    requireChromium();
    requireVsix();
    fs.rmSync(SHOTS, { recursive: true, force: true });
    const base = await ensureBaseImage();
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-e2e-ws-'));
    fs.writeFileSync(path.join(workspace, 'Dockerfile'), dockerfile(base));
    fs.writeFileSync(path.join(workspace, 'hello.txt'), 'hello\n');
    await docker(['build', '-q', '--network', 'none', '-t', IMAGE, workspace]);
    ids.web = await runContainer([
      '--name',
      'xray-e2e-web',
      '--network',
      'none',
      '--ipc',
      'shareable',
      '--memory',
      '64m',
      '--cpus',
      '0.5',
      '--pids-limit',
      '50',
      IMAGE,
      'sh',
      '-c',
      `sleep 3600; : '${HOSTILE_COMMAND}'`,
    ]);
    ids.side = await runContainer(['--name', 'xray-e2e-side', '--network', 'container:xray-e2e-web', IMAGE, 'sleep', '3601']);
    // 50 unrelated containers (XRAY_E2E_FLEET sets how many), named to sort before this suite's: the tests
    // must find theirs by the filter, not by the list's first screenful.
    const fleet = Number(process.env.XRAY_E2E_FLEET ?? 50);
    for (let i = 0; i < fleet; i++)
      fleetIds.push(
        await runContainer(['--name', `xray-a-fleet-${String(i).padStart(2, '0')}`, '--network', 'none', base, 'sleep', '3600']),
      );
    stack = await composeUp(STACK, {
      web: { network: 'none' },
      api: { network: { service: 'web' } },
      worker: { network: { service: 'web' } },
    });
    server = await startCodeServer(workspace);
    ui = await openWorkbench(server, SHOTS);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && ui)
      await ui.shot(`failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  after(async () => {
    if (ui) await ui.shot('final').catch(() => undefined);
    await ui?.close();
    await server?.stop();
    await removeContainers([...Object.values(ids), ...fleetIds]);
    await stack?.down();
    await docker(['rmi', '-f', IMAGE]).catch(() => undefined);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('adds a "Container X-Ray" entry to the activity bar that opens its three views', async () => {
    const entry = ui.page
      .locator('.activitybar .action-item a[aria-label^="Container X-Ray"], .activitybar .action-item[aria-label^="Container X-Ray"]')
      .first();
    await entry.waitFor({ timeout: 60000 });
    await entry.click();
    for (const view of ['Containers', 'Images', 'Host']) {
      await ui.page.locator(`.pane-header[aria-label^="${view}"]`).first().waitFor({ timeout: 30000 });
    }
    await ui.shot('activity-bar');
  });

  it('lists the running containers and opens one into its namespaces and memory limit', async () => {
    const page = ui.page;
    // Give the Containers view the whole side bar: collapse Images and Host.
    for (const other of ['Images', 'Host']) {
      const header = page.locator(`.pane-header[aria-label^="${other}"]`).first();
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    // Whatever else runs on the machine, the view's filter action narrows it to this suite's containers
    // (a virtual list renders only its first screenful of rows).
    const header = page.locator('.pane-header[aria-label^="Containers"]').first();
    await header.hover();
    await header.locator('.action-label[aria-label^="Filter Containers"]').first().click();
    await enterText(page, 'xray-e2e');
    await treeRow(page, 'Containers', 'xray-e2e-').first().waitFor({ timeout: 60000 });
    assert.match(await header.innerText(), /filter: xray-e2e/, 'the view says what it is filtered by');
    await header.hover();
    assert.equal(await header.locator('.action-label[aria-label^="Clear Containers Filter"]').count(), 1, 'the clear action shows');
    // Grouped by Compose project (this suite runs one): the two, under the group of containers in no project.
    const rows = (await page.locator('.pane:has(.pane-header[aria-label^="Containers"]) .monaco-list-row').allInnerTexts()).map((r) =>
      r.replace(/\s+/g, ' ').trim(),
    );
    assert.match(rows[0] ?? '', /^No Compose project ?2 containers$/, rows.join(' | '));
    assert.ok(
      rows.length === 3 && rows.slice(1).every((r) => r.startsWith('xray-e2e-')),
      `only the filtered containers are listed: ${rows.join(' | ')}`,
    );
    await focusTreeRow(page, 'Containers', 'xray-e2e-side');
    await focusTreeRow(page, 'Containers', 'xray-e2e-web');
    const focused = page.locator('.pane:has(.pane-header[aria-label^="Containers"]) .monaco-list-row.focused');
    const expectFocused = async (re: RegExp) => {
      for (let i = 0; i < 50 && !re.test(await focused.innerText()); i++) await page.waitForTimeout(100);
      assert.match(await focused.innerText(), re);
    };
    // Keyboard only: expand the container (its children load asynchronously), step down to Namespaces, expand it.
    // A refresh of the view (docker events of the test's own containers) can swallow a key: retry until done.
    const setExpanded = async (want: boolean) => {
      for (let i = 0; i < 20 && (await focused.getAttribute('aria-expanded')) !== String(want); i++) {
        await page.keyboard.press(want ? 'ArrowRight' : 'ArrowLeft');
        await page.waitForTimeout(250);
      }
      assert.equal(await focused.getAttribute('aria-expanded'), String(want));
    };
    await setExpanded(true);
    for (let i = 0; i < 50; i++) {
      await page.keyboard.press('ArrowDown');
      const text = await focused.innerText();
      if (/^Namespaces/.test(text)) break;
      // The children were not there yet: step back onto the container (if the focus moved) and wait.
      if (!text.startsWith('xray-e2e-web')) await page.keyboard.press('ArrowUp');
      await page.waitForTimeout(200);
    }
    await expectFocused(/^Namespaces/);
    await setExpanded(true);
    const pid = (await inspect<{ State: { Pid: number } }>(ids.web)).State.Pid;
    const netInode = readlinkNamespaces(pid).net;
    const netRow = treeRow(page, 'Containers', `${netInode}`).first();
    await netRow.waitFor({ timeout: 15000 });
    assert.match((await netRow.innerText()).replace(/\s+/g, ' '), new RegExp(`net ?${netInode} · shared with xray-e2e-side`));
    // Collapse Namespaces, then open cgroup below it.
    await setExpanded(false);
    await page.keyboard.press('ArrowDown');
    await expectFocused(/^cgroup/);
    await setExpanded(true);
    const mem = treeRow(page, 'Containers', 'of 64.0 MiB').first();
    await mem.waitFor({ timeout: 15000 });
    assert.match(await mem.innerText(), /^memory/);
    const pids = treeRow(page, 'Containers', 'of 50').first();
    await pids.waitFor();
    assert.match((await pids.innerText()).replace(/\s+/g, ' '), /^pids ?\d+ of 50$/);
    await ui.shot('tree-namespaces-cgroup');
    // Collapse cgroup, then open Security below it: seccomp as the kernel's status file says, and the runtime's default capabilities.
    await setExpanded(false);
    await page.keyboard.press('ArrowDown');
    await expectFocused(/^Security/);
    assert.match(await focused.innerText(), /CIS finding/);
    await setExpanded(true);
    const seccompMode = /^Seccomp:\s+(\d)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const seccomp = treeRow(page, 'Containers', 'seccomp').first();
    await seccomp.waitFor({ timeout: 15000 });
    assert.match((await seccomp.innerText()).replace(/\s+/g, ' '), seccompMode === '2' ? /^seccomp ?filter/ : /^seccomp ?disabled/);
    const caps = treeRow(page, 'Containers', 'the runtime default').first();
    await caps.waitFor({ timeout: 15000 });
    assert.match(await caps.innerText(), /^capabilities/);
    await ui.shot('tree-security');
    // Then Network (read when opened): the container runs with --network none, so loopback alone.
    await setExpanded(false);
    await page.keyboard.press('ArrowDown');
    await expectFocused(/^Network/);
    await setExpanded(true);
    const lo = treeRow(page, 'Containers', '127.0.0.1/8').first();
    await lo.waitFor({ timeout: 30000 });
    assert.match((await lo.innerText()).replace(/\s+/g, ' '), /^lo ?127\.0\.0\.1\/8/);
    await setExpanded(false);
  });

  it('draws the namespace graph with a matrix naming each container and its shared net inode', async () => {
    await runCommand(ui.page, 'Container X-Ray: Show Namespace Graph');
    const frame = await webviewFrame(ui.page, 'graph');
    const pid = (await inspect<{ State: { Pid: number } }>(ids.web)).State.Pid;
    const netInode = String(readlinkNamespaces(pid).net);
    for (const [name, id] of Object.entries(ids)) {
      const row = frame.locator(`tr[data-container-id="${id}"]`);
      await row.waitFor({ timeout: 30000 });
      assert.match(await row.innerText(), new RegExp(`xray-e2e-${name}`));
      assert.equal(
        (await row.locator('[data-ns-type="net"]').innerText()).trim().split(/\s+/)[0],
        netInode,
        `${name} shows the shared net inode`,
      );
    }
    const webCell = await frame.locator(`tr[data-container-id="${ids.web}"] [data-ns-type="net"]`).getAttribute('class');
    const sideCell = await frame.locator(`tr[data-container-id="${ids.side}"] [data-ns-type="net"]`).getAttribute('class');
    assert.equal(webCell, sideCell, 'both net cells are coloured as one sharing group');
    await ui.page.waitForTimeout(500);
    await ui.shot('namespace-graph');
  });

  it('opens the dashboard with the memory limit as 64 MiB and the pids limit of 50', async () => {
    await runCommandAndPick(ui.page, 'Container X-Ray: Open Container Dashboard', 'Open Container Dashboard', 'xray-e2e-web');
    const frame = await webviewFrame(ui.page, 'dashboard');
    const memory = frame.locator('[data-limit="memory"]').first();
    await memory.waitFor({ timeout: 30000 });
    assert.match(await memory.innerText(), /64\.0 MiB/);
    const pids = frame.locator('[data-limit="pids"]').first();
    assert.match(await pids.innerText(), /of 50/);
    // The command line of PID 1 holds a Markdown command link and HTML: shown as text, never as markup.
    const command = frame.locator('td', { hasText: 'command:workbench.action.terminal.new' }).first();
    await command.waitFor({ timeout: 15000 });
    assert.ok((await command.innerText()).includes(HOSTILE_COMMAND), await command.innerText());
    assert.equal(await frame.locator('b, a[href^="command:"]').count(), 0, 'no element was made from the command line');
    // Live: the sample count grows while the dashboard is visible.
    await ui.page.waitForTimeout(2500);
    await ui.shot('dashboard');
  });

  it('shows the layer of a RUN line in a CodeLens and on hover: its size and its largest file', async () => {
    const page = ui.page;
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await pickQuickItem(page, 'Dockerfile');
    const editor = page.locator('.monaco-editor .view-lines').first();
    await editor.waitFor();
    // The CodeLens above the RUN line shows the layer's size once the image is matched (it also settles the layout).
    const lens = page.locator('.codelens-decoration', { hasText: 'KiB' }).first();
    await lens.waitFor({ timeout: 60000 });
    assert.match(await lens.innerText(), /300\.\d KiB/);
    let hoverText = '';
    for (let attempt = 0; attempt < 10 && !/payload\.bin/.test(hoverText); attempt++) {
      // Found afresh each time: the editor re-renders its lines (the CodeLens, the hover).
      const box = await page.locator('.monaco-editor .view-line', { hasText: 'payload.bin' }).first().boundingBox();
      if (!box) {
        await page.waitForTimeout(500);
        continue;
      }
      await page.mouse.move(box.x + 30 + attempt, box.y + box.height / 2);
      const hover = page.locator('.monaco-hover-content').first();
      try {
        await hover.waitFor({ timeout: 5000 });
        await page.waitForTimeout(1500);
        hoverText = await hover.innerText();
      } catch {
        hoverText = '';
      }
    }
    assert.match(hoverText, /payload\.bin/, `hover names the largest file: ${hoverText}`);
    assert.match(hoverText, /300\.0 KiB/, 'hover shows the layer size');
    assert.match(hoverText, /Wasted: none/, 'hover says what the layer wastes');
    assert.match(hoverText, /digest [0-9a-f]{12}/, 'hover names the layer digest');
    assert.ok(hoverText.includes(HOSTILE_FILE), `the hostile file name is shown as text: ${hoverText}`);
    const hoverBox = page.locator('.monaco-hover-content').first();
    assert.equal(await hoverBox.locator('img, a').count(), 0, 'nothing in the hover became an image or a link');
    await ui.shot('dockerfile-hover');
  });

  it("opens the container's layers in the layer diff explorer: image layers, the writable layer, the file tree", async () => {
    await docker(['exec', ids.web, 'sh', '-c', `echo changed > /opt/app/runtime.txt && echo x > '/opt/app/${HOSTILE_NAME}'`]);
    await runCommandAndPick(ui.page, 'Container X-Ray: Show Layer Diff', 'Show Layer Diff', 'xray-e2e-web');
    const frame = await webviewFrame(ui.page, 'layers');
    await frame.locator('tr[data-layer]').first().waitFor({ timeout: 60000 });
    const layerRows = await frame.locator('tr[data-layer]').allInnerTexts();
    assert.equal(layerRows.length, 4, `three image layers and the writable layer: ${layerRows.join(' | ')}`);
    assert.ok(
      layerRows.some((r) => /payload\.bin|dd if=\/dev\/zero/.test(r)),
      'the RUN layer is listed with its created-by',
    );
    await frame.locator('tr[data-layer="upper"]').click();
    const file = frame.locator('[data-path="/opt/app/runtime.txt"]');
    await file.waitFor({ timeout: 30000 });
    assert.equal(await file.getAttribute('data-kind'), 'added');
    const hostile = frame.locator(`[data-path="/opt/app/${HOSTILE_NAME}"]`);
    await hostile.waitFor({ timeout: 15000 });
    assert.ok((await hostile.innerText()).includes(HOSTILE_NAME));
    assert.equal(await frame.locator('b, img, a[href^="command:"]').count(), 0, 'no element was made from a file name');
    await ui.shot('layer-diff');
  });

  it('draws where the kernel is: this machine, its hypervisor, the one kernel the containers share', async () => {
    await runCommand(ui.page, 'Container X-Ray: Show Container vs VM');
    const frame = await webviewFrame(ui.page, 'vm');
    const kernel = frame.locator('[data-field="host-kernel"]').first();
    await kernel.waitFor({ timeout: 30000 });
    assert.equal((await kernel.innerText()).trim(), os.release());
    for (const name of ['xray-e2e-web', 'xray-e2e-side']) assert.ok((await frame.locator('body').innerText()).includes(name), name);
    // It follows the Containers view's filter (set above), and says so.
    assert.match(
      await frame.locator('[data-field="filter"]').innerText(),
      /^2 of \d+ running, as the Containers view's filter “xray-e2e” shows$/,
    );
    await ui.shot('container-vs-vm');
  });

  it("opens a container's dashboard from a click on it in the Container vs VM view", async () => {
    // The side container has no dashboard open yet: only this click can open one.
    assert.equal(await ui.page.locator('.tab', { hasText: 'xray-e2e-side · X-Ray' }).count(), 0, 'no dashboard of the side container yet');
    const vm = await webviewFrame(ui.page, 'vm');
    await vm.locator(`.ct-box[data-container-id="${ids.side}"]`).click();
    const tab = ui.page.locator('.tab', { hasText: 'xray-e2e-side · X-Ray' }).first();
    await tab.waitFor({ timeout: 30000 });
    const pid = (await inspect<{ State: { Pid: number } }>(ids.side)).State.Pid;
    // The dashboard's page names the side container and its host PID (the web container's dashboard may be open too).
    const deadline = Date.now() + 30000;
    const seen: string[] = [];
    for (;;) {
      seen.length = 0;
      for (const f of ui.page.frames()) {
        try {
          if ((await f.locator('body[data-view="dashboard"] h1').count()) === 0) continue;
          const name = (await f.locator('h1').first().innerText()).trim();
          const shownPid = (await f.locator('[data-field="pid"]').first().innerText()).trim();
          seen.push(`${name} ${shownPid}`);
        } catch {
          // A frame may be detached while we look.
        }
      }
      if (seen.includes(`xray-e2e-side ${pid}`) || Date.now() > deadline) break;
      await ui.page.waitForTimeout(250);
    }
    assert.ok(
      seen.includes(`xray-e2e-side ${pid}`),
      `a dashboard of xray-e2e-side (host PID ${pid}) is shown; dashboards seen: ${seen.join(' | ')}`,
    );
    await ui.shot('dashboard-from-vm');
  });

  it('checks an image against the efficiency rules from the palette', async () => {
    await runCommandAndPick(ui.page, 'Container X-Ray: Check Image Efficiency', 'Check Image Efficiency', IMAGE);
    const toast = ui.page.locator('.notifications-toasts .notification-list-item-message', { hasText: IMAGE }).first();
    await toast.waitFor({ timeout: 60000 });
    assert.match(await toast.innerText(), new RegExp(`^PASS ${IMAGE.replace(/[.:]/g, '\\$&')}: efficiency 100\\.0 %, wasted 0 B`));
    await ui.shot('efficiency');
    await ui.page.keyboard.press('Escape');
  });

  it('exports the snapshot as JSON into an editor', async () => {
    await runCommand(ui.page, 'Container X-Ray: Export Snapshot as JSON');
    const editor = ui.page.locator('.editor-instance .monaco-editor .view-lines', { hasText: '"takenAt"' }).first();
    await editor.waitFor({ timeout: 30000 });
    // Monaco renders spaces as no-break spaces.
    const text = (await editor.innerText()).replace(/\u00a0/g, ' ');
    assert.match(text, /"host": \{/);
    assert.match(text, /"kernel": "[^"]+"/);
    assert.match(await ui.page.locator('.tab.active').innerText(), /Untitled/);
    await ui.shot('export-json');
  });

  it("groups the filtered containers by image from the view's action, and clears the filter with its own", async () => {
    const page = ui.page;
    const header = page.locator('.pane-header[aria-label^="Containers"]').first();
    const pane = page.locator('.pane:has(.pane-header[aria-label^="Containers"])');
    await header.hover();
    await header.locator('.action-label[aria-label^="Group Containers By"]').first().click();
    await pickQuickItem(page, 'Image');
    // The filter (set above) still holds: one group, this suite's image, with its two containers.
    const rowTexts = async () => (await pane.locator('.monaco-list-row').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    // A row's text is its label then its description.
    const isGroup = (r: string | undefined) => r !== undefined && /^xray-e2e-app:1 ?2 containers$/.test(r);
    for (let i = 0; i < 100 && !isGroup((await rowTexts())[0]); i++) await page.waitForTimeout(200);
    const rows = await rowTexts();
    assert.ok(isGroup(rows[0]), rows.join(' | '));
    assert.ok(rows[1]?.startsWith('xray-e2e-side') && rows[2]?.startsWith('xray-e2e-web'), rows.join(' | '));
    await ui.shot('grouped-by-image');
    await header.hover();
    await header.locator('.action-label[aria-label^="Clear Containers Filter"]').first().click();
    for (let i = 0; i < 50 && /filter:/.test(await header.innerText()); i++) await page.waitForTimeout(100);
    assert.doesNotMatch(await header.innerText(), /filter:/, 'the description no longer names a filter');
    await header.hover();
    assert.equal(await header.locator('.action-label[aria-label^="Clear Containers Filter"]').count(), 0, 'the clear action is gone');
    // Back to the default grouping for what follows.
    await header.locator('.action-label[aria-label^="Group Containers By"]').first().click();
    await pickQuickItem(page, 'Compose project');
  });

  it('shows the Compose project of three services as a group beside 50 unrelated containers, and the filter finds one of them by part of its name', async () => {
    const page = ui.page;
    const header = page.locator('.pane-header[aria-label^="Containers"]').first();
    const pane = page.locator('.pane:has(.pane-header[aria-label^="Containers"])');
    const focused = pane.locator('.monaco-list-row.focused');
    const rowText = async () => (await focused.innerText()).replace(/\s+/g, ' ').trim();
    // The oracle: the names and services docker inspect gives the project's containers, by service.
    const members = (await Promise.all(stack!.ids.map((id) => inspect<{ Name: string; Config: { Labels: Record<string, string> } }>(id))))
      .map((m) => ({ name: m.Name.replace(/^\//, ''), service: m.Config.Labels[COMPOSE_LABELS.service] }))
      .sort((a, b) => a.service.localeCompare(b.service));
    assert.deepEqual(
      members.map((m) => m.service),
      ['api', 'web', 'worker'],
    );
    // Grouped by Compose project (restored above), no filter: every running container is in the view.
    assert.doesNotMatch(await header.innerText(), /filter:/);
    await focusTreeRow(page, 'Containers', STACK);
    for (let i = 0; i < 50 && !/^xray-stack ?3 services · 3 containers$/.test(await rowText()); i++) await page.waitForTimeout(100);
    assert.match(await rowText(), /^xray-stack ?3 services · 3 containers$/);
    assert.equal(await focused.getAttribute('aria-expanded'), 'true', 'the project group is open');
    // Its containers under it, each with its service.
    for (const m of members) {
      await page.keyboard.press('ArrowDown');
      assert.match(await rowText(), new RegExp(`^${m.name} ?${m.service} · `), `the ${m.service} service's container`);
    }
    // Containers in no project come after the project, under their own group: this suite's and the fleet's.
    await focusTreeRow(page, 'Containers', 'No Compose project');
    const noProject = await rowText();
    const projects = (await docker(['ps', '--format', `{{.ID}}={{.Label "${COMPOSE_LABELS.project}"}}`])).split('\n').filter(Boolean);
    const inNone = projects.filter((p) => p.endsWith('=')).length;
    assert.ok(inNone >= 52, `the fleet and the suite's two run beside the project (${inNone})`);
    assert.match(noProject, new RegExp(`^No Compose project ?${inNone} containers$`));
    await ui.shot('compose-group');

    // The filter, by part of the worker's name.
    const worker = members.find((m) => m.service === 'worker')!;
    const part = worker.name.slice(STACK.length - 5, -2);
    await header.hover();
    await header.locator('.action-label[aria-label^="Filter Containers"]').first().click();
    await enterText(page, part);
    const rowTexts = async () => (await pane.locator('.monaco-list-row').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    const want = (rows: string[]) =>
      rows.length === 2 && /^xray-stack ?1 service · 1 container$/.test(rows[0]) && rows[1].startsWith(worker.name);
    for (let i = 0; i < 100 && !want(await rowTexts()); i++) await page.waitForTimeout(200);
    assert.ok(want(await rowTexts()), `filter "${part}": ${(await rowTexts()).join(' | ')}`);
    assert.match(await header.innerText(), new RegExp(`filter: ${part}`));
    await ui.shot('compose-filtered');
    await header.hover();
    await header.locator('.action-label[aria-label^="Clear Containers Filter"]').first().click();
  });

  it('opened no dialog: no name from a container or an image was ever run as script', () => {
    assert.deepEqual(ui.dialogs, []);
  });

  it('shows no error notifications from the extension', async () => {
    const toasts = await ui.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
    assert.deepEqual(
      toasts.filter((t) => /Container X-Ray/.test(t)),
      [],
    );
  });
});

// Once against a daemon in the test VM, as Docker Desktop's users reach theirs: containerXray.dockerHost
// names the VM’s tcp endpoint (machine-scoped: in code-server, the server machine’s settings), the helper image is approved in the modal,
// and the views show the guest's container and draw this machine apart from the VM and its kernel.
describe('the packaged extension against the VM’s daemon over tcp (vm-docker)', function () {
  this.timeout(1200000);
  let t: Target;
  let server: CodeServer;
  let ui: Ui;
  let workspace: string;
  let id = '';
  const NAME = 'xray-e2e-remote-vm';
  const shots = path.join(SHOTS, 'vm');

  before(async function () {
    this.timeout(1500000);
    requireCodeServer();
    requireChromium();
    requireVsix();
    fs.rmSync(shots, { recursive: true, force: true });
    t = await openTarget('vm-docker');
    await t.docker(['rm', '-f', NAME]).catch(() => undefined);
    id = (await t.docker(['run', '-d', '--name', NAME, '--network', 'none', '--memory', '48m', BASE_IMAGE, 'sleep', '3600'])).trim();
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-e2e-remote-ws-'));
    server = await startCodeServer(workspace, {}, { 'containerXray.dockerHost': t.host, 'containerXray.helperImage': BASE_IMAGE });
    ui = await openWorkbench(server, shots);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && ui)
      await ui.shot(`failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  after(async () => {
    if (ui) await ui.shot('final').catch(() => undefined);
    await ui?.close();
    await server?.stop();
    if (id) await t.docker(['rm', '-f', id]).catch(() => undefined);
    // A refresh cut short by the server's stop can leave a helper it had created and not yet started (the
    // next engine run of the same user reaps it as an orphan): the guest's daemon is this suite's, so it goes.
    if (t) {
      const helpers = (await t.docker(['ps', '-aq', '--filter', `label=${HELPER_LABEL}`]).catch(() => '')).split('\n').filter(Boolean);
      if (helpers.length > 0) await t.docker(['rm', '-f', ...helpers]).catch(() => undefined);
    }
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('asks before running the helper image on the VM’s daemon, naming the image and that daemon', async () => {
    const page = ui.page;
    const entry = page
      .locator('.activitybar .action-item a[aria-label^="Container X-Ray"], .activitybar .action-item[aria-label^="Container X-Ray"]')
      .first();
    await entry.waitFor({ timeout: 60000 });
    await entry.click();
    const dialog = page.locator('.monaco-dialog-box').first();
    await dialog.waitFor({ timeout: 180000 });
    const text = await dialog.innerText();
    assert.ok(text.includes(`Run ${BASE_IMAGE} as Container X-Ray's helper container?`), text);
    assert.ok(text.includes(`Daemon ${t.host}`), text);
    const imageId = (await t.docker(['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE])).trim();
    assert.ok(text.includes(imageId), `the image ID on the VM's daemon (${imageId}) in: ${text}`);
    await ui.shot('vm-helper-consent');
    await dialog.locator('.monaco-button', { hasText: 'Run Helper' }).first().click();
    await dialog.waitFor({ state: 'detached', timeout: 30000 });
  });

  it('lists the container made in the guest in the Containers view, with its PID in the guest', async () => {
    const page = ui.page;
    const row = treeRow(page, 'Containers', NAME).first();
    await row.waitFor({ timeout: 180000 });
    const pid = (await t.docker(['inspect', '--format', '{{.State.Pid}}', id])).trim();
    const text = (await row.innerText()).replace(/\s+/g, ' ');
    assert.ok(text.includes(NAME), text);
    // The guest's own process table holds that PID as the container's sleep.
    assert.match(await t.sh(`cat /proc/${pid}/cmdline | tr '\\0' ' '`), /^sleep 3600/);
    await ui.shot('vm-containers');
  });

  it('draws this machine, the VM with the guest’s kernel, and the container inside it', async () => {
    const guestKernel = (await t.sh('uname -r')).trim();
    const guestHost = (await t.sh('hostname')).trim();
    await runCommand(ui.page, 'Container X-Ray: Show Container vs VM');
    const frame = await webviewFrame(ui.page, 'vm', 120000);
    const daemonKernel = frame.locator('[data-field="daemon-kernel"]').first();
    await daemonKernel.waitFor({ timeout: 180000 });
    assert.equal((await daemonKernel.innerText()).trim(), guestKernel);
    assert.equal((await frame.locator('[data-field="host-kernel"]').first().innerText()).trim(), os.release());
    const here = frame.locator('[data-frame="this-machine"] .frame-label').first();
    assert.equal((await here.innerText()).trim(), `this machine: ${os.hostname()}`);
    const vmLabel = (await frame.locator('.vm-frame > .frame-label').first().innerText()).trim();
    assert.ok(vmLabel.includes(guestHost) && vmLabel.includes(t.host!), vmLabel);
    const hypervisor = frame.locator('[data-field="daemon-hypervisor"]').first();
    await hypervisor.waitFor({ timeout: 60000 });
    assert.equal((await hypervisor.innerText()).trim(), 'QEMU');
    await frame.locator(`.vm-frame .ct-box[data-container-id="${id}"]`).waitFor({ timeout: 60000 });
    assert.notEqual(guestKernel, os.release(), 'the VM runs its own kernel');
    await ui.shot('vm-container-vs-vm');
  });

  it('shows no error notifications from the extension', async () => {
    const toasts = await ui.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
    assert.deepEqual(
      toasts.filter((x) => /Container X-Ray/.test(x)),
      [],
    );
  });
});
