import * as assert from 'node:assert/strict';
import {
  cgroupNodes,
  containerChildren,
  containerNodes,
  hostNodes,
  imageNodes,
  layerNodes,
  namespaceNodes,
  ofLimit,
  processNodes,
  securityNodes,
  sharingText,
} from '../../../src/extension/tree/nodes';
import { decideVerdicts } from '../../../src/core/security/cis';
import { DOCKER_DEFAULT_CAPABILITIES } from '../../../src/core/security/capabilities';
import { ContainerSnapshot, HostFacts, LayerReport, SecurityPosture, Snapshot } from '../../../src/shared/model';
import { groupPods } from '../../../src/shared/pods';

const MiB = 1024 * 1024;

function container(id: string, name: string, over: Partial<ContainerSnapshot> = {}): ContainerSnapshot {
  return {
    id,
    name,
    image: 'app:1',
    imageId: 'sha256:img',
    state: 'running',
    status: 'Up 1 minute',
    pid: 100,
    created: 0,
    labels: {},
    networkMode: 'bridge',
    namespaces: { mnt: 1, pid: 2, net: 3, ipc: 4, uts: 5, user: 6, cgroup: 7, time: 8 },
    processes: [],
    cgroup: null,
    overlay: null,
    nearLimit: [],
    pod: null,
    compose: null,
    security: null,
    errors: [],
    ...over,
  };
}

const host: HostFacts = {
  thisMachine: null,
  hostname: 'h',
  kernel: '6.1.0-13-amd64',
  os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', codename: 'bookworm', arch: 'x64' },
  cpus: 4,
  memoryBytes: 8 * 1024 * MiB,
  virtualization: { isVirtual: true, hypervisor: 'KVM', evidence: 'cpuinfo' },
  cgroupVersion: 2,
  cgroupHybrid: false,
  daemon: null,
  access: { mode: 'direct', reason: 'root' },
  errors: [{ field: 'host.daemon', reason: 'connect ENOENT /var/run/docker.sock' }],
};

function snapshotOf(containers: ContainerSnapshot[]): Snapshot {
  const groups = new Map<string, string[]>();
  const hostNs: Record<string, number> = { user: 6, cgroup: 7, time: 8 };
  for (const [t, i] of Object.entries(hostNs)) groups.set(`${t}:${i}`, ['host']);
  for (const c of containers)
    for (const [t, i] of Object.entries(c.namespaces ?? {})) groups.set(`${t}:${i}`, [...(groups.get(`${t}:${i}`) ?? []), c.id]);
  return {
    takenAt: '',
    host,
    containers,
    namespaceGroups: [...groups.entries()].map(([k, members]) => ({
      type: k.split(':')[0] as 'net',
      inode: Number(k.split(':')[1]),
      members,
    })),
    pods: groupPods(containers),
    hostNamespacesFrom: 'PID 1',
    daemonCalls: { list: 1 },
    errors: [],
  };
}

const noLayers = () => Promise.reject(new Error('not needed'));

describe('tree nodes', () => {
  const web = container('aaa', 'web', { namespaces: { mnt: 11, pid: 12, net: 13, ipc: 14, uts: 15, user: 6, cgroup: 7, time: 8 } });
  const side = container('bbb', 'side', { namespaces: { mnt: 21, pid: 12, net: 13, ipc: 24, uts: 25, user: 6, cgroup: 7, time: 8 } });
  const snap = snapshotOf([web, side]);

  it('names each namespace with its inode and who shares it', () => {
    const nodes = namespaceNodes(snap, web);
    assert.deepEqual(
      nodes.map((n) => [n.label, n.description]),
      [
        ['mnt', '11 · private (no one else)'],
        ['pid', '12 · shared with side'],
        ['net', '13 · shared with side'],
        ['ipc', '14 · private (no one else)'],
        ['uts', '15 · private (no one else)'],
        ['user', '6 · shared with the host, side'],
        ['cgroup', '7 · shared with the host, side'],
        ['time', '8 · shared with the host, side'],
      ],
    );
  });

  it('summarises sharing on the Namespaces node', () => {
    const ns = containerChildren(snap, web, noLayers).find((n) => n.label === 'Namespaces')!;
    assert.equal(ns.description, 'shared host: user, cgroup, time; containers: pid, net');
  });

  it('says "shared with the host, …" and shortens long member lists', () => {
    const many = Array.from({ length: 7 }, (_, i) => container(`id${i}`, `c${i}`));
    const s = snapshotOf(many);
    const text = sharingText(s, { type: 'net', inode: 3, members: ['host', ...many.map((c) => c.id)] }, 'id0');
    assert.equal(text, 'shared with the host, c1, c2, c3 and 3 more');
  });

  it('shows limits against usage, and unlimited explicitly', () => {
    const limited = container('ccc', 'limited', {
      nearLimit: ['memory'],
      cgroup: {
        version: 1,
        driver: 'cgroupfs',
        path: '/docker/ccc',
        dirs: {},
        rootless: false,
        limits: {
          memoryBytes: 64 * MiB,
          memorySwapBytes: null,
          memorySwapMeaning: 'memory+swap',
          memoryReservationBytes: null,
          cpus: 0.5,
          cpuQuotaUs: 50000,
          cpuPeriodUs: 100000,
          cpuShares: 1024,
          cpuWeight: null,
          cpusetCpus: null,
          cpusetMems: null,
          hostCpus: '0-3',
          pidsMax: 50,
          blkioWeight: null,
          blkioThrottles: [{ device: '8:0', readBps: MiB, writeBps: null, readIops: null, writeIops: 100 }],
        },
        usage: {
          memoryBytes: 60 * MiB,
          memoryPeakBytes: null,
          workingSetBytes: 59 * MiB,
          cacheBytes: null,
          rssBytes: null,
          swapBytes: null,
          memoryLimitHits: null,
          oomKills: null,
          oomEvents: null,
          memoryHighHits: null,
          underOom: null,
          pressure: null,
          cpuUsageNs: 1.5e9,
          cpuUserNs: null,
          cpuSystemNs: null,
          cpuPeriods: 100,
          cpuThrottledPeriods: 7,
          cpuThrottledNs: null,
          pidsCurrent: 2,
          ioReadBytes: 0,
          ioWriteBytes: 4096,
        },
      },
    });
    const nodes = cgroupNodes(limited);
    const by = (label: string) => nodes.find((n) => n.label === label)!;
    assert.equal(by('memory').description, '60.0 MiB of 64.0 MiB (94 %)');
    assert.equal(by('memory').icon, 'warning', 'near the memory limit');
    assert.equal(by('CPU').description, '0.5 CPUs');
    assert.equal(by('pids').description, '2 of 50');
    assert.equal(by('memory+swap limit').description, 'unlimited');
    assert.equal(by('cpuset').description, 'all CPUs (0-3)');
    assert.equal(by('CPU time').description, '1.50 s · throttled 7 of 100 periods');
    assert.equal(by('block IO limit 8:0').description, 'read 1.0 MiB/s, write 100 IOPS');
    assert.equal(ofLimit(3 * MiB, null), '3.0 MiB, unlimited');
    const top = containerNodes(snapshotOf([limited]), noLayers)[0];
    assert.match(top.description!, /near memory limit/);
    assert.equal(top.icon, 'warning');
  });

  it('arranges processes as a tree by parent, host PID → container PID', () => {
    const p = (hostPid: number, ppid: number, containerPid: number, command: string) => ({
      hostPid,
      ppid,
      containerPid,
      command,
      uid: 0,
      user: 'root',
      name: command,
      threads: 1,
      rssBytes: null,
    });
    const nodes = processNodes('c:x', [p(10, 1, 1, 'init'), p(11, 10, 7, 'worker'), p(12, 11, 8, 'child'), p(20, 1, 9, 'orphan')]);
    assert.deepEqual(
      nodes.map((n) => n.label),
      ['10 → 1', '20 → 9'],
    );
    const kids = nodes[0].children!() as ReturnType<typeof processNodes>;
    assert.equal(kids[0].label, '11 → 7');
    assert.equal((kids[0].children!() as ReturnType<typeof processNodes>)[0].description, 'root · child');
  });

  it('shows the security posture under the container: added capabilities, host mounts, CIS verdicts', async () => {
    const bounding = [...DOCKER_DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'];
    const posture: Omit<SecurityPosture, 'verdicts'> = {
      uid: 0,
      gid: 0,
      user: 'root\u001b[31m',
      capabilities: {
        effective: bounding,
        permitted: bounding,
        bounding,
        masks: { effective: 'a82435fb', permitted: 'a82435fb', bounding: 'a82435fb' },
      },
      added: ['CAP_SYS_ADMIN'],
      dropped: [],
      defaultSet: [...DOCKER_DEFAULT_CAPABILITIES],
      allCapabilities: false,
      seccompMode: 0,
      seccompFilters: 0,
      noNewPrivs: false,
      lsmLabel: null,
      lsm: null,
      uidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
      gidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
      hostUserNamespace: true,
      readOnlyRoot: false,
      sensitiveMounts: [{ mountPoint: '/s\nock', hostPath: '/run/docker.sock', kind: 'runtime-socket', readOnly: false, shared: false }],
      sharedMounts: [],
      mountsRead: true,
    };
    const base = container('c'.repeat(64), 'web');
    const c = {
      ...base,
      security: {
        ...posture,
        verdicts: decideVerdicts(base, posture, { mnt: 11, pid: 12, net: 3, ipc: 14, uts: 15, user: 6, cgroup: 17, time: 18 }, 'Docker'),
      },
    };
    const node = containerChildren(snapshotOf([c]), c, () => Promise.reject(new Error('unused'))).find((n) => n.label === 'Security');
    assert.ok(node, 'a Security node under the container');
    assert.match(node.description ?? '', /\+SYS_ADMIN · runtime socket · \d+ CIS findings/);
    const kids = securityNodes(c);
    const by = (label: string) => kids.find((k) => k.label === label);
    assert.equal(by('capabilities')?.description, 'added SYS_ADMIN');
    assert.equal(by('seccomp')?.description, 'disabled');
    assert.equal(by('runtime socket')?.description, '/s\\nock ← /run/docker.sock');
    assert.doesNotMatch(by('user')?.description ?? '', /\u001b/);
    const cis = (await by('CIS Docker Benchmark')!.children!()) as { label: string; icon?: string; description?: string }[];
    assert.equal(cis.length, c.security.verdicts.length);
    // The host's net namespace (inode 3) is the container's: 5.9 fails, and says so.
    const net = cis.find((k) => k.label.startsWith('5.9 '));
    assert.equal(net?.icon, 'error');
    assert.match(net?.description ?? '', /net namespace is the host's \(inode 3\)/);
    assert.equal(cis.find((k) => k.label.startsWith('5.21 '))?.icon, 'error');
    assert.equal(cis.find((k) => k.label.startsWith('5.1 '))?.icon, 'question');
    // Unread: no children, and the node says so.
    const unread = containerChildren(snapshotOf([base]), base, () => Promise.reject(new Error('unused'))).find(
      (n) => n.label === 'Security',
    );
    assert.equal(unread?.description, 'unreadable');
    assert.equal(unread?.collapsible, 'none');
  });

  it('never lets a name carry control characters into a label', () => {
    const evil = container('ddd', 'evil\nname\u001b[31m\u202e', { image: '<img src=x onerror=alert(1)>' });
    const node = containerNodes(snapshotOf([evil]), noLayers)[0];
    assert.equal(node.label, 'evil\\nname\\x1b[31m\\u202e');
    assert.ok(node.description!.includes('<img src=x onerror=alert(1)>'), 'markup stays literal text (labels are not HTML)');
  });

  it('lists layers newest first with the writable layer on top and the efficiency', () => {
    const report: LayerReport = {
      image: { id: 'sha256:i', tags: ['app:1'], ref: 'app:1' },
      container: null,
      layers: [0, 1].map((index) => ({
        index,
        diffId: `sha256:${index}`,
        chainId: `sha256:${index}`,
        createdBy: index === 0 ? '' : 'RUN big',
        createdAt: null,
        comment: index === 0 ? 'Imported from -' : null,
        sizeBytes: (index + 1) * MiB,
        metadataAbove: [],
        changes: [{ path: `/f${index}`, kind: 'added' as const, type: 'file' as const, sizeBytes: MiB }],
        wastedBytes: 0,
        source: 'tar-split' as const,
      })),
      metadataBelow: [],
      upper: { dir: '/u', changes: [{ path: '/tmp/x', kind: 'added', type: 'file', sizeBytes: 3 }], sizeBytes: 3 },
      efficiency: 0.5,
      wastedBytes: MiB,
      userWastedPercent: 0.5,
      sizeBytes: 3 * MiB,
      userSizeBytes: 2 * MiB,
      inefficiencies: [],
      errors: [],
    };
    const nodes = layerNodes('c:x', report, 'x');
    assert.deepEqual(
      nodes.map((n) => n.label),
      ['writable 3 B', '#1 2.0 MiB', '#0 1.0 MiB', 'efficiency'],
    );
    assert.equal(nodes[2].description, 'Imported from -');
    assert.equal(nodes[3].description, '50.0 % · wasted 1.0 MiB · user wasted 50.0 %');
    assert.deepEqual(nodes[1].command?.arguments, [{ ref: 'x', layer: 1 }]);
  });

  it('shows which images share a layer', () => {
    const nodes = imageNodes(
      [
        {
          id: 'sha256:a',
          tags: ['base:1'],
          repoDigests: [],
          created: '',
          sizeBytes: MiB,
          layers: [{ diffId: 'sha256:l0', chainId: 'sha256:l0', sizeBytes: MiB, sharedWith: ['sha256:b'] }],
          sharedBytes: MiB,
          containers: [],
        },
        {
          id: 'sha256:b',
          tags: ['app:1'],
          repoDigests: [],
          created: '',
          sizeBytes: 2 * MiB,
          layers: [{ diffId: 'sha256:l0', chainId: 'sha256:l0', sizeBytes: MiB, sharedWith: ['sha256:a'] }],
          sharedBytes: MiB,
          containers: ['c1'],
        },
      ],
      new Map([['c1', 'web']]),
    );
    assert.equal(nodes[0].description, '1.0 MiB · 1 layers · 1.0 MiB shared');
    const children = nodes[1].children!() as ReturnType<typeof imageNodes>;
    assert.match(children[0].description!, /shared with base:1/);
    assert.equal(children[1].label, 'web');
  });

  it('describes the host, and the daemon as unreachable with the reason', () => {
    const nodes = hostNodes(host);
    const by = (label: string) => nodes.find((n) => n.label === label)!;
    assert.equal(by('Kernel').description, '6.1.0-13-amd64');
    assert.equal(by('Virtualization').description, 'virtual machine · KVM');
    assert.equal(by('cgroup').description, 'v2');
    assert.equal(by('Runtime').description, 'unreachable');
    assert.match(by('Runtime').tooltip!, /ENOENT/);
  });
});
