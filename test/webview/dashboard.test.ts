import * as assert from 'node:assert/strict';
import { ViewPage, assertClean, injectedElements, webviewSuite } from './harness';
import { HOSTILE, IDS, MiB, WEB_PROCS, dashboardState, hostilePosture, samples } from './sample';
import { contains } from './util';

describe('webview: container dashboard', function () {
  const suite = webviewSuite();
  let vp: ViewPage<'dashboard'> | null = null;

  async function openDashboard(state = dashboardState()): Promise<ViewPage<'dashboard'>> {
    vp = await suite.open('dashboard');
    await vp.push('state/dashboard', state);
    await vp.page.waitForSelector('[data-limit="memory"]');
    return vp;
  }

  it('shows the header and limits against usage: 64.0 MiB, 0.5 CPUs, of 50', async () => {
    const v = await openDashboard();
    assert.deepEqual((await v.posted())[0], { kind: 'command', method: 'ready', params: { view: 'dashboard' } });
    const header = await v.page.textContent('.view-header');
    assert.match(header ?? '', /web/);
    assert.match(header ?? '', /nginx:1\.27-alpine/);
    assert.match(header ?? '', /running/);
    assert.match(header ?? '', /host PID 4242/);

    const memory = await v.page.textContent('[data-limit="memory"]');
    assert.match(memory ?? '', /3\.1 MiB of 64\.0 MiB/);
    assert.match((await v.page.textContent('[data-usage="working-set"]')) ?? '', /working set 2\.4 MiB/);
    assert.match((await v.page.textContent('[data-limit="pids"]')) ?? '', /2 of 50/);
    const cpu = await v.page.textContent('[data-limit="cpu"]');
    assert.match(cpu ?? '', /0\.5 CPUs/);
    // 0.12 s of CPU per 1 s sample → 12.0 % of one CPU.
    assert.equal((await v.page.textContent('[data-usage="cpu"]'))?.trim(), '12.0 %');
    assert.match((await v.page.textContent('[data-usage="throttled"]')) ?? '', /throttled in 7 of 1,200 periods/);
    assert.match((await v.page.textContent('[data-limit="cpuset"]')) ?? '', /CPUs 0-1 \(host: 0-3\)/);
    assert.match((await v.page.textContent('[data-limit="io"]')) ?? '', /read 12\.0 MiB/);
    // The gauge is an accessible meter: 3.1 of 64 MiB ≈ 5 %.
    assert.equal(await v.page.getAttribute('[data-card="memory"] [role="meter"]', 'aria-valuenow'), '5');
    // The history chart is SVG drawn from the samples.
    assert.ok((await v.page.$$('[data-card="history"] svg polyline')).length >= 3);
    await v.screenshot('dashboard');
    await v.screenshot('dashboard-full', true);
    await assertClean(v);
  });

  it('says unlimited where a limit is null', async () => {
    const s = dashboardState();
    s.container = {
      ...s.container,
      cgroup: {
        ...s.container.cgroup!,
        limits: { ...s.container.cgroup!.limits, memoryBytes: null, cpus: null, cpuQuotaUs: null, pidsMax: null, cpusetCpus: null },
      },
    };
    const v = await openDashboard(s);
    assert.match((await v.page.textContent('[data-limit="memory"]')) ?? '', /unlimited/);
    assert.match((await v.page.textContent('[data-limit="cpu"]')) ?? '', /unlimited \(all 4 host CPUs\)/);
    assert.match((await v.page.textContent('[data-limit="pids"]')) ?? '', /2 · unlimited/);
    assert.match((await v.page.textContent('[data-limit="cpuset"]')) ?? '', /all host CPUs/);
    await assertClean(v);
  });

  it('shows the process tree with host → container PIDs, users and commands as text', async () => {
    const v = await openDashboard();
    const rows = await v.page.$$eval('table.procs tbody tr', (trs) =>
      trs.map((t) => [t.getAttribute('data-host-pid'), t.getAttribute('data-container-pid'), t.getAttribute('aria-level')]),
    );
    assert.deepEqual(rows, [
      ['4242', '1', '1'],
      ['4301', '29', '2'],
      ['4420', '41', '3'],
      ['4302', '30', '2'],
    ]);
    const first = await v.page.textContent('table.procs tbody tr[data-host-pid="4242"]');
    assert.match(first ?? '', /4242 → 1/);
    assert.match(first ?? '', /root/);
    assert.match(first ?? '', /nginx: master process/);
    const hostile = await v.page.textContent('table.procs tbody tr[data-host-pid="4420"] td.cmd');
    assert.ok(contains(hostile, WEB_PROCS[3].command), hostile ?? '');
    assert.deepEqual(await injectedElements(v), []);
    await assertClean(v);
  });

  it('draws the overlay stack: merged, upper, init, then the image layers down to the bottom', async () => {
    const v = await openDashboard();
    const roles = await v.page.$$eval('ol.stack > li', (lis) => lis.map((l) => l.getAttribute('data-layer-role')));
    assert.deepEqual(roles, ['merged', 'upper', 'init', 'image', 'image', 'image']);
    const upper = await v.page.textContent('ol.stack > li.upper');
    assert.ok(upper?.includes(`/var/lib/docker/overlay2/${IDS.web}/diff`));
    assert.match((await v.page.textContent('ol.stack > li:last-child')) ?? '', /image layer 1.*the bottom of the stack/);
    await v.page.click('ol.stack > li.upper vscode-button:has-text("Reveal")');
    const reveal = await v.waitForPosted((m) => m.method === 'revealUpperDir');
    assert.deepEqual(reveal.params, { containerId: IDS.web });
    await v.page.click('.header-actions vscode-button:has-text("Layers")');
    const layers = await v.waitForPosted((m) => m.method === 'openLayers');
    assert.deepEqual(layers.params, { ref: IDS.web, layer: 'upper' });
    await assertClean(v);
  });

  it('lists the namespaces with who shares them, by name', async () => {
    const v = await openDashboard();
    const net = await v.page.textContent('table.ns-table tr[data-ns-type="net"]');
    assert.ok(contains(net, HOSTILE.img), `net is shared with the sidecar: ${net}`);
    assert.match((await v.page.textContent('table.ns-table tr[data-ns-type="user"]')) ?? '', /the host/);
    assert.match((await v.page.textContent('table.ns-table tr[data-ns-type="mnt"]')) ?? '', /private/);
    await assertClean(v);
  });

  it('shows the security posture: added capabilities, host mounts and the CIS verdicts, as text', async () => {
    const s = dashboardState();
    s.container = { ...s.container, security: hostilePosture(s.container) };
    const v = await openDashboard(s);
    await v.page.waitForSelector('[data-card="security"] table.cis-table');
    const card = (await v.page.textContent('[data-card="security"]')) ?? '';
    assert.match(card, /Security \(\d+ CIS findings\)/);
    assert.match((await v.page.textContent('[data-card="security"] [data-field="capabilities"]')) ?? '', /added NET_ADMIN/);
    assert.match(card, /docker-default \(enforce\)/);
    assert.match(card, /uid 0 inside is root on the host/);
    // The verdicts the engine decided, one row each, with their evidence.
    const rows = await v.page.$$eval('table.cis-table tbody tr', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-cis'), tr.className, tr.textContent]),
    );
    assert.equal(rows.length, s.container.security!.verdicts.length);
    const row = (id: string) => rows.find((r) => r[0] === id);
    assert.equal(row('5.3')?.[1], 'verdict-fail');
    assert.match(row('5.3')?.[2] ?? '', /adds CAP_NET_ADMIN/);
    assert.equal(row('5.31')?.[1], 'verdict-fail');
    assert.match(row('5.31')?.[2] ?? '', /\/run\/docker\.sock/);
    assert.equal(row('5.21')?.[1], 'verdict-pass');
    // The mount point and the user name the container chose are text, never markup.
    const mounts = (await v.page.textContent('ul.sensitive-mounts')) ?? '';
    assert.ok(contains(mounts, HOSTILE.script), mounts);
    assert.ok(contains(card, HOSTILE.img), 'the user name is shown as text');
    assert.deepEqual(await injectedElements(v), []);
    await v.screenshot('dashboard-security', true);
    await assertClean(v);
  });

  it('draws pressure stalls over time beside usage, and the OOM counters on the memory card', async () => {
    const s = dashboardState();
    const u = s.container.cgroup!.usage;
    s.container = { ...s.container, cgroup: { ...s.container.cgroup!, usage: { ...u, oomKills: 2, oomEvents: 3, memoryHighHits: 5 } } };
    const v = await openDashboard(s);
    const caption = (await v.page.textContent('[data-chart="pressure"] figcaption')) ?? '';
    // The last sample's PSI some avg10 of each resource.
    assert.match(caption, /CPU 4\.5 %/);
    assert.match(caption, /memory 0\.4 %/);
    assert.match(caption, /IO 0\.0 %/);
    assert.equal((await v.page.$$('[data-chart="pressure"] svg polyline')).length, 3);
    assert.match((await v.page.textContent('[data-usage="oom-kills"]')) ?? '', /OOM kills 2/);
    const memory = (await v.page.textContent('[data-card="memory"]')) ?? '';
    assert.match(memory, /OOM events 3/);
    assert.match(memory, /over memory\.high 5 ×/);
    assert.match((await v.page.textContent('[data-usage="memory-pressure"]')) ?? '', /stalled on memory 0\.4 % \(10 s\)/);
    await assertClean(v);
  });

  it('shows no pressure chart where the kernel gives no PSI (cgroup v1)', async () => {
    const s = dashboardState();
    s.samples = s.samples.map((x) => ({ ...x, cpuPressure: null, memoryPressure: null, ioPressure: null }));
    s.container = { ...s.container, cgroup: { ...s.container.cgroup!, usage: { ...s.container.cgroup!.usage, pressure: null } } };
    const v = await openDashboard(s);
    assert.equal(await v.page.$('[data-chart="pressure"]'), null);
    assert.equal(await v.page.$('[data-usage="memory-pressure"]'), null);
    await assertClean(v);
  });

  it('says how a stopped container ended: exit code and OOM kill, above its last figures', async () => {
    const s = dashboardState();
    s.container = {
      ...s.container,
      state: 'exited',
      pid: null,
      exit: { exitCode: 137, oomKilled: true, finishedAt: '2026-12-07T21:40:00Z', error: null, lastUsage: s.container.cgroup!.usage },
    };
    const v = await openDashboard(s);
    const line = (await v.page.textContent('[data-field="exit"]')) ?? '';
    assert.match(line, /exit code 137/);
    assert.match(line, /OOM-killed/);
    assert.match(line, /ended 2026-12-07T21:40:00Z/);
    assert.ok(await v.page.$('[data-oom="killed"]'));
    // The last figures stay.
    assert.match((await v.page.textContent('[data-limit="memory"]')) ?? '', /of 64\.0 MiB/);
    await assertClean(v);
  });

  it('shows the network: interfaces with their host ends on the bridge, routes and who listens, names as text', async () => {
    const s = dashboardState();
    s.container = {
      ...s.container,
      network: {
        namespace: 4026532202,
        hostNetwork: false,
        sharedWith: [IDS.sidecar],
        interfaces: [
          { name: 'lo', index: 1, addresses: ['127.0.0.1/8'], rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, peer: null },
          {
            name: 'eth0',
            index: 32,
            addresses: ['172.17.0.2/16'],
            rxBytes: 4 * MiB,
            txBytes: 512,
            rxPackets: 900,
            txPackets: 6,
            peer: { index: 33, name: 'veth7d286e9', bridge: 'docker0', mtu: 1500 },
          },
          { name: HOSTILE.img.slice(0, 15), index: 40, addresses: [], rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, peer: null },
        ],
        routes: [
          { destination: '0.0.0.0/0', gateway: '172.17.0.1', iface: 'eth0', metric: 0 },
          { destination: '172.17.0.0/16', gateway: null, iface: 'eth0', metric: 0 },
        ],
        listening: [{ protocol: 'tcp', family: 6, address: '::', port: 8080, inode: 91234, processes: [{ hostPid: 4242, name: 'nginx' }] }],
        errors: [],
      },
    };
    const v = await openDashboard(s);
    await v.page.waitForSelector('[data-card="network"] table.net-table');
    const card = (await v.page.textContent('[data-card="network"]')) ?? '';
    assert.match(card, /shared with 1 other container/);
    assert.match((await v.page.textContent('[data-iface="eth0"]')) ?? '', /172\.17\.0\.2\/16.*veth7d286e9 \(33\) on docker0.*4\.0 MiB/);
    assert.match(card, /0\.0\.0\.0\/0 via 172\.17\.0\.1 dev eth0/);
    assert.match((await v.page.textContent('[data-port="8080"]')) ?? '', /tcp6 \[::\]:8080 nginx \(4242\)/);
    assert.ok(contains(card, HOSTILE.img.slice(0, 15)), 'an interface named like markup is shown as text');
    assert.deepEqual(await injectedElements(v), []);
    await v.screenshot('dashboard-network', true);
    await assertClean(v);
  });

  it('says why the posture is missing when it could not be read', async () => {
    const s = dashboardState();
    s.container = {
      ...s.container,
      security: null,
      errors: [{ field: 'security', reason: 'permission denied reading /proc/4242/status: needs root' }],
    };
    const v = await openDashboard(s);
    assert.match((await v.page.textContent('[data-card="security"]')) ?? '', /unreadable: permission denied reading \/proc\/4242\/status/);
    await assertClean(v);
  });

  it('shows what could not be read, with the reasons', async () => {
    const s = dashboardState();
    s.container = {
      ...s.container,
      overlay: null,
      errors: [
        { field: 'overlay', reason: 'the root filesystem is zfs, not overlay' },
        { field: 'processes.4420', reason: `permission denied reading /proc/4420/status ${HOSTILE.script}` },
      ],
    };
    const v = await openDashboard(s);
    const errors = await v.page.textContent('[data-card="errors"]');
    assert.match(errors ?? '', /Could not read \(2\)/);
    assert.ok(contains(errors, HOSTILE.script));
    assert.match((await v.page.textContent('[data-card="overlay"]')) ?? '', /zfs, not overlay/);
    assert.deepEqual(await injectedElements(v), []);
    await assertClean(v);
  });

  it('shows a hostile container name and image as text, cut on screen with the whole in title', async () => {
    const s = dashboardState();
    s.container = { ...s.container, name: `${HOSTILE.surrogate}${HOSTILE.long}`, image: `${HOSTILE.img}${HOSTILE.markdown}${HOSTILE.js}` };
    const v = await openDashboard(s);
    const h1 = v.page.locator('.view-header h1');
    const box = await h1.boundingBox();
    assert.ok(box && box.width < 1280, `the name is cut to the panel (${box?.width}px)`);
    assert.ok(contains(await h1.getAttribute('title'), HOSTILE.long));
    assert.ok(contains(await v.page.textContent('[data-field="image"]'), `${HOSTILE.img}${HOSTILE.markdown}${HOSTILE.js}`));
    assert.deepEqual(await injectedElements(v), []);
    assert.equal(await v.page.evaluate('document.scrollingElement.scrollWidth <= window.innerWidth'), true, 'nothing overflows sideways');
    await v.screenshot('dashboard-hostile');
    await assertClean(v);
  });

  it('updates in place once a second without losing the scroll position', async () => {
    const v = await openDashboard();
    await v.page.evaluate('window.scrollTo(0, 400)');
    const procsBefore = await v.page.$('table.procs');
    const topBefore = (await procsBefore!.boundingBox())!.y;
    for (let i = 31; i <= 34; i++) {
      const s = dashboardState(i);
      s.container = {
        ...s.container,
        cgroup: { ...s.container.cgroup!, usage: { ...s.container.cgroup!.usage, memoryBytes: Math.round((3 + i / 10) * MiB) } },
      };
      s.samples = samples(i, undefined, 0.3);
      await v.push('state/dashboard', s);
      await v.page.waitForTimeout(30);
    }
    assert.match((await v.page.textContent('[data-limit="memory"]')) ?? '', /6\.4 MiB of 64\.0 MiB/);
    assert.equal((await v.page.textContent('[data-usage="cpu"]'))?.trim(), '30.0 %');
    // What the reader was looking at stays where it was (the page is not rebuilt, and scroll anchoring holds it).
    assert.ok(((await v.page.evaluate('window.scrollY')) as number) > 300);
    const topAfter = (await procsBefore!.boundingBox())!.y;
    assert.ok(Math.abs(topAfter - topBefore) <= 2, `the process table moved from ${topBefore} to ${topAfter}`);
    // The process table did not change, so it is the same element.
    assert.ok(await procsBefore!.evaluate((el) => el.isConnected));
    await assertClean(v);
  });
});
