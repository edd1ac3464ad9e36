import * as assert from 'node:assert/strict';
import { COMPOSE_LABELS, composeFromLabels } from '../../src/shared/compose';
import { ContainerSnapshot, HOST_MEMBER } from '../../src/shared/model';
import { podFromLabels } from '../../src/shared/pods';
import { printable } from '../../src/shared/text';
import { ViewPage, assertClean, injectedElements, webviewSuite } from './harness';
import { HOSTILE, HOST_NS, IDS, containers, graphState, manyContainers, snapshot } from './sample';
import { attr, contains, shown } from './util';

describe('webview: namespace graph', function () {
  const suite = webviewSuite();
  let vp: ViewPage<'graph'> | null = null;

  async function openGraph(state = graphState()): Promise<ViewPage<'graph'>> {
    vp = await suite.open('graph');
    await vp.push('state/graph', state);
    await vp.page.waitForSelector('.graph-canvas[data-ready="true"]');
    return vp;
  }

  const cellClass = async (v: ViewPage<'graph'>, id: string, type: string) =>
    (await v.page.getAttribute(`table.matrix tr[data-container-id=${attr(id)}] td[data-ns-type=${attr(type)}]`, 'class')) ?? '';

  it('sends ready, then shows the matrix: every container by name with its net inode', async () => {
    const v = await openGraph();
    const posted = await v.posted();
    assert.deepEqual(posted[0], { kind: 'command', method: 'ready', params: { view: 'graph' } });

    const rows = await v.page.$$('table.matrix tbody tr[data-container-id]');
    assert.equal(rows.length, 6, 'the host and five containers');
    assert.ok(await v.page.$('table.matrix caption'), 'the matrix has a caption');
    assert.equal(await v.page.$$eval('table.matrix thead th[scope="col"]', (ths) => ths.length), 9);
    assert.equal(await v.page.$$eval('table.matrix tbody th[scope="row"]', (ths) => ths.length), 6);

    for (const c of containers()) {
      const row = `table.matrix tr[data-container-id=${attr(c.id)}]`;
      const text = await v.page.textContent(row);
      assert.ok(contains(text, c.name), `row of ${JSON.stringify(c.name.slice(0, 40))} names it`);
      const net = await v.page.textContent(`${row} td[data-ns-type="net"]`);
      assert.equal(net?.trim(), String(c.namespaces!.net));
    }
    const hostNet = await v.page.textContent(`table.matrix tr[data-container-id="${HOST_MEMBER}"] td[data-ns-type="net"]`);
    assert.equal(hostNet?.trim(), String(HOST_NS.net));
    await v.screenshot('graph-5-containers');
    await assertClean(v);
  });

  it('colours cells by sharing group: the two sharing containers alike, others apart, the host distinct', async () => {
    const v = await openGraph();
    const group = (cls: string) => cls.split(/\s+/).find((c) => /^grp-\d+$/.test(c)) ?? null;
    for (const type of ['net', 'pid', 'ipc']) {
      const web = await cellClass(v, IDS.web, type);
      const side = await cellClass(v, IDS.sidecar, type);
      assert.ok(group(web), `${type}: web is in a shared group (${web})`);
      assert.equal(group(web), group(side), `${type}: web and the sidecar share a group`);
      for (const other of [IDS.db, IDS.long]) {
        const cls = await cellClass(v, other, type);
        assert.notEqual(group(cls), group(web), `${type}: ${other.slice(0, 4)} is not in web's group`);
        assert.ok(cls.includes('ns-solo'), `${type}: a namespace of one is plain (${cls})`);
      }
    }
    // --network host: the net cell is the host's group, not a container group.
    const hostnetNet = await cellClass(v, IDS.hostnet, 'net');
    assert.ok(hostnetNet.includes('ns-host'), hostnetNet);
    assert.equal(group(hostnetNet), null);
    assert.ok((await cellClass(v, IDS.hostnet, 'pid')).includes('ns-solo'));
    // The title says who it is shared with, by name.
    const title = await v.page.getAttribute(`table.matrix tr[data-container-id=${attr(IDS.web)}] td[data-ns-type="net"]`, 'title');
    assert.ok(contains(title, HOSTILE.img), `title names the sidecar: ${title}`);
    const hostTitle = await v.page.getAttribute(`table.matrix tr[data-container-id=${attr(IDS.hostnet)}] td[data-ns-type="net"]`, 'title');
    assert.match(hostTitle ?? '', /the host/);
    assert.equal(
      await v.page.getAttribute(`table.matrix tr[data-container-id=${attr(IDS.web)}] td[data-ns-type="net"]`, 'aria-label'),
      title,
    );
    await assertClean(v);
  });

  it('opens a dashboard from a graph node and from a matrix row', async () => {
    const v = await openGraph();
    const pos = (await v.page.evaluate(`window.__xrayGraph.nodePosition(${JSON.stringify(IDS.db)})`)) as { x: number; y: number };
    assert.ok(pos, 'the node is on the canvas');
    await v.page.mouse.move(pos.x, pos.y);
    const info = await v.page.textContent('.graph-info');
    assert.ok(contains(info, `${HOSTILE.js} ${HOSTILE.newline}`), `hovering names the node: ${info}`);
    await v.page.mouse.click(pos.x, pos.y);
    const fromNode = await v.waitForPosted((m) => m.method === 'openDashboard');
    assert.deepEqual(fromNode.params, { containerId: IDS.db });

    await v.clearPosted();
    await v.page.click(`table.matrix tr[data-container-id=${attr(IDS.sidecar)}] button[data-action="open"]`);
    const fromRow = await v.waitForPosted((m) => m.method === 'openDashboard');
    assert.deepEqual(fromRow.params, { containerId: IDS.sidecar });

    // Clicking the host node opens nothing.
    await v.clearPosted();
    const hostPos = (await v.page.evaluate(`window.__xrayGraph.nodePosition("host")`)) as { x: number; y: number };
    await v.page.mouse.click(hostPos.x, hostPos.y);
    await v.page.waitForTimeout(150);
    assert.equal((await v.posted()).filter((m) => m.method === 'openDashboard').length, 0);
    await assertClean(v);
  });

  it('draws shared namespaces as typed edges, hides user/cgroup/time by default and toggles them', async () => {
    const v = await openGraph();
    const counts = async () =>
      (await v.page.evaluate('window.__xrayGraph.counts()')) as { nodes: number; edges: number; shownEdges: number };
    const c0 = await counts();
    assert.equal(c0.nodes, 6);
    // net, pid, ipc between web and the sidecar; net between the host and hostnet. user and time: five each to the host.
    assert.equal(c0.shownEdges, 4);
    assert.equal(c0.edges, 4 + 5 + 5);
    for (const t of ['user', 'cgroup', 'time'])
      assert.equal(await v.page.getAttribute(`vscode-checkbox[data-ns-type="${t}"]`, 'checked'), null, `${t} starts off`);
    for (const t of ['mnt', 'pid', 'net', 'ipc', 'uts'])
      assert.notEqual(await v.page.getAttribute(`vscode-checkbox[data-ns-type="${t}"]`, 'checked'), null, `${t} starts on`);

    await v.page.click('vscode-checkbox[data-ns-type="user"]');
    assert.equal((await counts()).shownEdges, 9);
    await v.page.click('vscode-checkbox[data-ns-type="net"]');
    assert.equal((await counts()).shownEdges, 7);

    // The choice survives the panel being hidden (a reload with VS Code's state kept).
    await v.reload();
    await v.push('state/graph', graphState());
    await v.page.waitForSelector('.graph-canvas[data-ready="true"]');
    assert.equal((await counts()).shownEdges, 7);
    assert.notEqual(await v.page.getAttribute('vscode-checkbox[data-ns-type="user"]', 'checked'), null);
    await assertClean(v);
  });

  it('highlights focused containers and compares two of them', async () => {
    const v = await openGraph(graphState([IDS.web, IDS.sidecar]));
    const focused = await v.page.$$eval('table.matrix tr.focus', (trs) => trs.map((t) => t.getAttribute('data-container-id')));
    assert.deepEqual(focused, [IDS.web, IDS.sidecar]);
    const compare = await v.page.textContent('.compare');
    assert.match(compare ?? '', /Comparing/);
    assert.match(compare ?? '', /net shared/);
    assert.match(compare ?? '', /mnt separate/);
    await v.screenshot('graph-focus');
    await assertClean(v);
  });

  it('shows hostile names as text only, unreadable containers with their reason, and where the host namespaces came from', async () => {
    const list = containers();
    list.push({
      ...list[3],
      id: '7'.repeat(64),
      name: `gone-${HOSTILE.script}`,
      state: 'exited',
      pid: null,
      namespaces: null,
      errors: [{ field: 'namespaces', reason: 'permission denied reading /proc/7001/ns: run as root or use the helper' }],
    });
    const snap = snapshot(list, {
      hostNamespacesFrom: 'PID 2 (kthreadd), standing in for PID 1: permission denied',
      errors: [{ field: 'host.namespaces.time', reason: 'the kernel has no time namespaces' }],
    });
    const v = await openGraph(graphState([], snap));
    const body = await v.page.textContent('body');
    for (const s of [HOSTILE.img, HOSTILE.markdown, HOSTILE.js, HOSTILE.newline, HOSTILE.script, HOSTILE.surrogate]) {
      assert.ok(contains(body, s), `the page shows ${JSON.stringify(s)} as text`);
    }
    assert.ok(body?.includes(shown('two\nlines')) && shown('two\nlines') === 'two\\nlines', 'a newline shows as \\n');
    assert.deepEqual(await injectedElements(v), []);
    const unreadable = await v.page.textContent(`table.matrix tr[data-container-id="${'7'.repeat(64)}"]`);
    assert.match(unreadable ?? '', /unreadable: permission denied reading \/proc\/7001\/ns/);
    const from = await v.page.textContent('[data-testid="host-ns-from"]');
    assert.match(from ?? '', /PID 2 \(kthreadd\)/);
    // The 2000-character name is cut on screen, whole in its title.
    const btn = v.page.locator(`table.matrix tr[data-container-id=${attr(IDS.long)}] button[data-action="open"]`);
    const box = await btn.boundingBox();
    assert.ok(box && box.width < 260, `the long name is truncated visually (${box?.width}px)`);
    assert.ok(contains(await btn.getAttribute('title'), HOSTILE.long));
    await v.screenshot('graph-hostile', true);
    await assertClean(v);
  });

  it('draws a pod as a box around its members and gives it a row group in the matrix, its labels as text', async () => {
    const podLabels = (type: 'podsandbox' | 'container', name: string) => ({
      'io.kubernetes.pod.name': `w-${HOSTILE.newline}${HOSTILE.img}`,
      'io.kubernetes.pod.namespace': 'shop',
      'io.kubernetes.pod.uid': 'uid-1',
      'io.kubernetes.container.name': name,
      'io.kubernetes.docker.type': type,
    });
    // web is the sandbox; the sidecar, in web's net, pid and ipc namespaces, is the pod's app container.
    const list = containers().map((c) =>
      c.id === IDS.web
        ? { ...c, pod: podFromLabels(podLabels('podsandbox', 'POD')) }
        : c.id === IDS.sidecar
          ? { ...c, pod: podFromLabels(podLabels('container', HOSTILE.script)) }
          : c,
    );
    const snap = snapshot(list);
    assert.deepEqual(snap.pods[0].sharedNamespaces, ['pid', 'net', 'ipc', 'user', 'time']);
    const v = await openGraph(graphState([], snap));
    const counts = (await v.page.evaluate('window.__xrayGraph.counts()')) as { nodes: number; pods: number };
    assert.equal(counts.pods, 1);
    assert.equal(counts.nodes, 7, 'the host, five containers and the pod');
    const members = (await v.page.evaluate('window.__xrayGraph.podMembers()')) as Record<string, string[]>;
    assert.deepEqual(
      Object.values(members).map((m) => [...m].sort()),
      [[IDS.web, IDS.sidecar].sort()],
    );
    const label = (await v.page.evaluate(`window.__xrayGraph.label(${JSON.stringify(Object.keys(members)[0])})`)) as string;
    assert.ok(label.startsWith('pod shop/w-two\\nlines<img src=x'), `the canvas label is printable: ${label}`);
    assert.ok(label.length <= 44);

    // The matrix: the pod's heading, then its sandbox (marked) and its app container, then the rest.
    const heading = await v.page.textContent('table.matrix tbody.pod-group th[data-testid="pod-heading"]');
    assert.ok(contains(heading, `shop/w-${printable(HOSTILE.newline + HOSTILE.img)}`), `heading: ${heading}`);
    assert.match(heading ?? '', /Kubernetes pod .* 2 containers · all share pid, net, ipc, user, time/);
    const podRows = await v.page.$$eval('table.matrix tbody.pod-group tr[data-container-id]', (trs) =>
      trs.map((t) => t.getAttribute('data-container-id')),
    );
    assert.deepEqual(podRows, [IDS.web, IDS.sidecar]);
    assert.equal(
      await v.page.textContent(`table.matrix tr[data-container-id=${attr(IDS.web)}] [data-testid="pod-infra"]`),
      'pod sandbox (pause)',
    );
    assert.equal(await v.page.$$eval('table.matrix tbody tr[data-container-id]', (trs) => trs.length), 6);
    assert.deepEqual(await injectedElements(v), []);

    // A member inside the box still opens its dashboard.
    const pos = (await v.page.evaluate(`window.__xrayGraph.nodePosition(${JSON.stringify(IDS.sidecar)})`)) as { x: number; y: number };
    await v.page.mouse.click(pos.x, pos.y);
    const msg = await v.waitForPosted((m) => m.method === 'openDashboard');
    assert.deepEqual(msg.params, { containerId: IDS.sidecar });
    await v.page.mouse.move(2, 2);
    await v.screenshot('graph-pod');
    await assertClean(v);
  });

  it('draws a Compose project as a box around its containers in no pod, a pod member staying in its pod', async () => {
    const project = `shop-${HOSTILE.newline}${HOSTILE.img}`;
    const composeOf = (p: string, service: string) =>
      composeFromLabels({ [COMPOSE_LABELS.project]: p, [COMPOSE_LABELS.service]: service, [COMPOSE_LABELS.workingDir]: '/srv/shop' });
    const podLabels = (type: 'podsandbox' | 'container', name: string) => ({
      'io.kubernetes.pod.name': 'web-0',
      'io.kubernetes.pod.namespace': 'shop',
      'io.kubernetes.pod.uid': 'uid-1',
      'io.kubernetes.container.name': name,
      'io.kubernetes.docker.type': type,
    });
    const blogId = '8'.repeat(64);
    const build = (dbInShop: boolean) => {
      const list: ContainerSnapshot[] = containers().map((c) =>
        c.id === IDS.web
          ? { ...c, pod: podFromLabels(podLabels('podsandbox', 'POD')) }
          : c.id === IDS.sidecar
            ? // In the pod, and labelled as in the project too: the pod keeps it.
              { ...c, pod: podFromLabels(podLabels('container', 'app')), compose: composeOf(project, 'sidecar') }
            : c.id === IDS.hostnet
              ? { ...c, compose: composeOf(project, 'exporter') }
              : c.id === IDS.db && dbInShop
                ? { ...c, compose: composeOf(project, 'db') }
                : c,
      );
      list.push({
        ...list[4],
        id: blogId,
        name: 'blog-app-1',
        state: 'exited',
        pid: null,
        namespaces: null,
        compose: composeOf('blog', 'app'),
      });
      return snapshot(list);
    };
    const v = await openGraph(graphState([], build(true)));
    const counts = (await v.page.evaluate('window.__xrayGraph.counts()')) as { nodes: number; pods: number; projects: number };
    assert.equal(counts.pods, 1);
    assert.equal(counts.projects, 2);
    assert.equal(counts.nodes, 1 + 6 + 1 + 2, 'the host, six containers, the pod and two projects');
    const pods = (await v.page.evaluate('window.__xrayGraph.podMembers()')) as Record<string, string[]>;
    assert.deepEqual(
      Object.values(pods).map((m) => [...m].sort()),
      [[IDS.web, IDS.sidecar].sort()],
      'the sidecar stays in its pod',
    );
    const projects = (await v.page.evaluate('window.__xrayGraph.projectMembers()')) as Record<string, string[]>;
    assert.deepEqual(Object.keys(projects).sort(), ['project:0', 'project:1']);
    const byLabel: Record<string, string[]> = {};
    for (const [id, members] of Object.entries(projects)) {
      const label = (await v.page.evaluate(`window.__xrayGraph.label(${JSON.stringify(id)})`)) as string;
      byLabel[label] = [...members].sort();
    }
    const shopLabel = Object.keys(byLabel).find((l) => l !== 'compose blog') ?? '';
    assert.deepEqual(byLabel['compose blog'], [blogId]);
    assert.deepEqual(byLabel[shopLabel], [IDS.hostnet, IDS.db].sort());
    assert.ok(shopLabel.startsWith('compose shop-two\\nlines<img src=x'), `the canvas label is printable: ${shopLabel}`);
    assert.ok(!/[\u0000-\u001f]/.test(shopLabel), 'no control character on the canvas');
    assert.ok(shopLabel.length <= 'compose '.length + 41, `the label is bounded: ${shopLabel.length}`);
    const shopId = Object.keys(projects).find((id) => projects[id].includes(IDS.db))!;
    const about = (await v.page.evaluate(`window.__xrayGraph.describe(${JSON.stringify(shopId)})`)) as string;
    assert.ok(contains(about, `Compose project ${project}`), `hover names the project: ${about}`);
    assert.match(about, /2 container\(s\) .*2 service\(s\) \(db, exporter\)/);

    // The boxes cover their members and nothing else: no box over another box or a container outside it.
    const box = async (id: string) =>
      (await v.page.evaluate(`window.__xrayGraph.nodeBox(${JSON.stringify(id)})`)) as { x1: number; y1: number; x2: number; y2: number };
    const boxIds = [...Object.keys(pods), ...Object.keys(projects)];
    const members = { ...pods, ...projects };
    for (const id of boxIds) {
      const b = await box(id);
      for (const m of members[id]) {
        const p = (await v.page.evaluate(`window.__xrayGraph.nodePosition(${JSON.stringify(m)})`)) as { x: number; y: number };
        assert.ok(p.x > b.x1 && p.x < b.x2 && p.y > b.y1 && p.y < b.y2, `${m.slice(0, 4)} is inside ${id}`);
      }
      for (const other of boxIds.filter((o) => o !== id)) {
        const o = await box(other);
        assert.ok(o.x2 <= b.x1 || o.x1 >= b.x2 || o.y2 <= b.y1 || o.y1 >= b.y2, `${id} and ${other} do not overlap`);
      }
    }

    // The matrix: the pod's group, then each project by name (members by service), then the rest.
    const groups = await v.page.$$eval('table.matrix tbody', (bodies) =>
      bodies.map((b) => [b.className, [...b.querySelectorAll('tr[data-container-id]')].map((t) => t.getAttribute('data-container-id'))]),
    );
    assert.deepEqual(groups, [
      ['', [HOST_MEMBER]],
      ['pod-group', [IDS.web, IDS.sidecar]],
      ['project-group', [blogId]],
      ['project-group', [IDS.db, IDS.hostnet]],
      ['no-pod', [IDS.long]],
    ]);
    const headings = await v.page.$$eval('table.matrix tbody.project-group th[data-testid="project-heading"]', (ths) =>
      ths.map((t) => t.textContent ?? ''),
    );
    assert.equal(headings.length, 2);
    assert.match(headings[0], /^Compose project blog 1 service, 1 container$/);
    assert.ok(contains(headings[1], `Compose project ${project}`), `heading: ${headings[1]}`);
    assert.match(headings[1], / 2 services, 2 containers$/);
    const service = await v.page.textContent(`table.matrix tr[data-container-id=${attr(IDS.hostnet)}] [data-testid="compose-service"]`);
    assert.equal(service, 'service exporter');
    assert.deepEqual(await injectedElements(v), []);
    await v.page.mouse.move(2, 2);
    await v.screenshot('graph-compose');

    // The db leaves the project: the boxes and the matrix follow.
    await v.push('state/graph', graphState([], build(false)));
    await v.waitFor(
      `Object.values(window.__xrayGraph.projectMembers()).some((m) => m.length === 1 && m[0] === ${JSON.stringify(IDS.hostnet)})`,
    );
    const after = (await v.page.evaluate('window.__xrayGraph.projectMembers()')) as Record<string, string[]>;
    assert.ok(!Object.values(after).flat().includes(IDS.db), 'the db is in no box');
    const rest = await v.page.$$eval('table.matrix tbody.no-pod tr[data-container-id]', (trs) =>
      trs.map((t) => t.getAttribute('data-container-id')),
    );
    assert.deepEqual(rest, [IDS.db, IDS.long]);
    await assertClean(v);
  });

  it('keeps each Compose project together on the grid of a large graph', async () => {
    const big = manyContainers(90);
    // Every ninth container in one of three projects, spread over the whole list.
    big.containers.forEach((c, i) => {
      if (i % 9 === 4)
        c.compose = composeFromLabels({ [COMPOSE_LABELS.project]: `p${Math.floor(i / 9) % 3}`, [COMPOSE_LABELS.service]: `s${i}` });
    });
    const v = await openGraph(graphState([], big));
    const projects = (await v.page.evaluate('window.__xrayGraph.projectMembers()')) as Record<string, string[]>;
    assert.equal(Object.keys(projects).length, 3);
    assert.equal(Object.values(projects).flat().length, 10);
    const box = async (id: string) =>
      (await v.page.evaluate(`window.__xrayGraph.nodeBox(${JSON.stringify(id)})`)) as { x1: number; y1: number; x2: number; y2: number };
    for (const [id, members] of Object.entries(projects)) {
      const b = await box(id);
      for (const c of big.containers) {
        const p = (await v.page.evaluate(`window.__xrayGraph.nodePosition(${JSON.stringify(c.id)})`)) as { x: number; y: number };
        const inside = p.x > b.x1 && p.x < b.x2 && p.y > b.y1 && p.y < b.y2;
        assert.equal(inside, members.includes(c.id), `${c.name} ${members.includes(c.id) ? 'inside' : 'outside'} ${id}`);
      }
      for (const other of Object.keys(projects).filter((o) => o !== id)) {
        const o = await box(other);
        assert.ok(o.x2 <= b.x1 || o.x1 >= b.x2 || o.y2 <= b.y1 || o.y1 >= b.y2, `${id} and ${other} do not overlap`);
      }
    }
    await assertClean(v);
  });

  it('re-reads the canvas colours when the theme changes', async () => {
    const v = await openGraph();
    await v.page.evaluate(`document.body.classList.replace('vscode-dark', 'vscode-light')`);
    await v.page.waitForTimeout(200);
    await v.screenshot('graph-light');
    const bg = await v.page.evaluate(`getComputedStyle(document.body).backgroundColor`);
    assert.equal(bg, 'rgb(255, 255, 255)');
    await assertClean(v);
  });

  it('renders 200 containers (prints the time to a usable view)', async () => {
    const big = manyContainers(200);
    vp = await suite.open('graph');
    const v = vp;
    const t0 = Date.now();
    await v.push('state/graph', graphState([], big));
    await v.page.waitForSelector('.graph-canvas[data-ready="true"]', { timeout: 60000 });
    await v.page.waitForSelector(`table.matrix tr[data-container-id=${attr(big.containers[199].id)}]`);
    const ms = Date.now() - t0;
    const inPage = await v.page.getAttribute('.graph-canvas', 'data-render-ms');
    console.log(`      200 containers: usable after ${ms} ms (graph drawn in ${inPage} ms inside the page)`);
    const counts = (await v.page.evaluate('window.__xrayGraph.counts()')) as { nodes: number; edges: number };
    assert.equal(counts.nodes, 201);
    assert.equal(await v.page.$$eval('table.matrix tbody tr', (trs) => trs.length), 201);
    // Still interactive: a click on a node opens it.
    const target = big.containers[57].id;
    const pos = (await v.page.evaluate(`window.__xrayGraph.nodePosition(${JSON.stringify(target)})`)) as { x: number; y: number };
    await v.page.mouse.click(pos.x, pos.y);
    const msg = await v.waitForPosted((m) => m.method === 'openDashboard');
    assert.deepEqual(msg.params, { containerId: target });
    await v.page.mouse.move(2, 2);
    await v.page.waitForTimeout(100);
    await v.screenshot('graph-200-containers');
    await assertClean(v);
  });

  it('shows an error banner with Retry, keeps the data, and clears it on fresh state', async () => {
    const v = await openGraph();
    await v.push('state/error', { message: `Docker is not reachable: ${HOSTILE.img}`, retryable: true });
    await v.page.waitForSelector('.banner-error:not([hidden])');
    assert.ok(contains(await v.page.textContent('.banner-error'), HOSTILE.img));
    assert.equal(await v.page.$$eval('table.matrix tbody tr', (trs) => trs.length), 6, 'the last data stays');
    await v.page.click('.banner-error vscode-button[data-action="retry"]');
    await v.waitForPosted((m) => m.method === 'retry');
    // Progress (with its Cancel) belongs to the layers scope: the graph's page drops it.
    await v.pushRaw({ kind: 'notification', method: 'state/progress', params: { message: 'Reading 200 containers…' } });
    await v.push('state/error', { message: 'after the progress', retryable: true });
    // Messages arrive in order: once this error shows, the progress message has been handled.
    await v.waitFor(`(document.querySelector('.banner-error') || {}).textContent.includes('after the progress')`);
    assert.equal(await v.page.isHidden('.banner-progress'), true, 'no progress banner in the graph');
    await v.screenshot('graph-banner');
    await v.push('state/graph', graphState());
    await v.page.waitForSelector('.banner-error', { state: 'hidden' });
    await v.page.waitForSelector('.banner-progress', { state: 'hidden' });
    await v.push('state/error', { message: 'no retry here', retryable: false });
    await v.page.waitForSelector('.banner-error:not([hidden])');
    assert.equal(await v.page.$('.banner-error vscode-button'), null);
    await assertClean(v);
  });
});
