// Realistic state for the webview tests, built from the model types: a host (a KVM guest), five
// containers (two share net/pid/ipc, one runs with --network host), limits of 64 MiB / 0.5 CPU / 50 pids,
// a layer report with an upper layer, and names that try everything a name can try.
import { decideVerdicts } from '../../src/core/security/cis';
import { DOCKER_DEFAULT_CAPABILITIES } from '../../src/core/security/capabilities';
import {
  CgroupInfo,
  ContainerSnapshot,
  HostFacts,
  LayerChange,
  NamespaceInodes,
  NamespaceType,
  OverlayMount,
  ProcessInfo,
  Snapshot,
  SecurityPosture,
} from '../../src/shared/model';
import { groupNamespaces } from '../../src/shared/namespaces';
import { groupPods } from '../../src/shared/pods';
import type { DashboardState, GraphState, LayersState, UsageSample, VmState } from '../../src/shared/protocol';

export const HOSTILE = {
  img: '<img src=x onerror=alert(1)>',
  script: '<script>alert(2)</script>',
  markdown: '[x](command:foo)',
  js: 'javascript:alert(3)',
  newline: 'two\nlines',
  long: `long-${'n'.repeat(1995)}`,
  surrogate: 'bad\uD800name\uFFFD',
};

export const MiB = 1024 * 1024;

const id = (c: string) => c.repeat(64).slice(0, 64);
export const IDS = {
  web: id('a1'),
  sidecar: id('b2'),
  hostnet: id('c3'),
  db: id('d4'),
  long: id('e5'),
};

export const HOST_NS: NamespaceInodes = {
  mnt: 4026531841,
  pid: 4026531836,
  net: 4026531840,
  ipc: 4026531839,
  uts: 4026531838,
  user: 4026531837,
  cgroup: 4026531835,
  time: 4026531834,
};

let nextInode = 4026532200;
function privateNs(overrides: Partial<NamespaceInodes> = {}): NamespaceInodes {
  const ns = { ...HOST_NS };
  for (const t of ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'] as NamespaceType[]) ns[t] = nextInode++;
  return { ...ns, ...overrides };
}

export function host(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    thisMachine: null,
    hostname: 'build-01',
    kernel: '6.8.0-49-generic',
    os: { platform: 'linux', distro: 'Ubuntu', release: '24.04.1 LTS', codename: 'noble', arch: 'x64' },
    cpus: 4,
    memoryBytes: 16 * 1024 * MiB,
    virtualization: { isVirtual: true, hypervisor: 'KVM', evidence: 'systemd-detect-virt: kvm' },
    cgroupVersion: 2,
    cgroupHybrid: false,
    daemon: {
      endpoint: 'unix:///var/run/docker.sock',
      runtime: 'Docker 27.3.1',
      runtimeKind: 'docker',
      storageLayout: 'overlay2',
      serverVersion: '27.3.1',
      apiVersion: '1.47',
      storageDriver: 'overlay2',
      cgroupDriver: 'systemd',
      cgroupVersion: '2',
      kernel: '6.8.0-49-generic',
      operatingSystem: 'Ubuntu 24.04.1 LTS',
      osType: 'linux',
      architecture: 'x86_64',
      cpus: 4,
      memoryBytes: 16 * 1024 * MiB,
      rootDir: '/var/lib/docker',
      rootless: false,
      containerdSnapshotter: false,
      runsElsewhere: false,
      runsInVm: false,
      runsElsewhereReason: null,
    },
    access: { mode: 'direct', reason: 'running as root on the Docker host: /proc, /sys/fs/cgroup and /var/lib/docker are readable' },
    errors: [],
    ...overrides,
  };
}

export function cgroup(id: string, usage: Partial<CgroupInfo['usage']> = {}): CgroupInfo {
  return {
    version: 2,
    driver: 'systemd',
    path: `/system.slice/docker-${id}.scope`,
    dirs: { unified: `/sys/fs/cgroup/system.slice/docker-${id}.scope` },
    rootless: false,
    limits: {
      memoryBytes: 64 * MiB,
      memorySwapBytes: 64 * MiB,
      memorySwapMeaning: 'swap',
      memoryReservationBytes: null,
      cpus: 0.5,
      cpuQuotaUs: 50000,
      cpuPeriodUs: 100000,
      cpuShares: null,
      cpuWeight: 100,
      cpusetCpus: '0-1',
      cpusetMems: null,
      hostCpus: '0-3',
      pidsMax: 50,
      blkioWeight: null,
      blkioThrottles: [{ device: '8:0', readBps: 10 * MiB, writeBps: null, readIops: null, writeIops: 500 }],
    },
    usage: {
      memoryBytes: Math.round(3.1 * MiB),
      memoryPeakBytes: Math.round(5.6 * MiB),
      workingSetBytes: Math.round(2.4 * MiB),
      cacheBytes: Math.round(0.7 * MiB),
      rssBytes: Math.round(2.2 * MiB),
      swapBytes: 0,
      memoryLimitHits: 0,
      oomKills: 0,
      oomEvents: 0,
      memoryHighHits: 0,
      underOom: null,
      pressure: {
        cpu: {
          some: { avg10: 4.5, avg60: 2.25, avg300: 0.8, totalUs: 912_345 },
          full: { avg10: 1.5, avg60: 0.75, avg300: 0.2, totalUs: 353_210 },
        },
        memory: {
          some: { avg10: 0.4, avg60: 0.1, avg300: 0, totalUs: 40_000 },
          full: { avg10: 0.2, avg60: 0, avg300: 0, totalUs: 20_000 },
        },
        io: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 } },
      },
      cpuUsageNs: 1_520_000_000,
      cpuUserNs: 1_100_000_000,
      cpuSystemNs: 420_000_000,
      cpuPeriods: 1200,
      cpuThrottledPeriods: 7,
      cpuThrottledNs: 86_000_000,
      pidsCurrent: 2,
      ioReadBytes: 12 * MiB,
      ioWriteBytes: Math.round(1.5 * MiB),
      ...usage,
    },
  };
}

function proc(hostPid: number, containerPid: number, ppid: number, user: string, name: string, command: string, rss: number): ProcessInfo {
  return { hostPid, containerPid, ppid, uid: user === 'root' ? 0 : 101, user, name, command, threads: 1, rssBytes: rss };
}

export function overlay(id: string): OverlayMount {
  const base = '/var/lib/docker/overlay2';
  const layers = ['3f1c0e'.padEnd(64, 'a'), '9be2d4'.padEnd(64, 'b'), '51d77c'.padEnd(64, 'c')];
  const init = `${id.slice(0, 64)}-init`;
  const short = ['L3Q5XK2Y', 'M7H2AB4C', 'ZQ91LPQW', 'INIT0001'];
  return {
    lowerDirs: [`${base}/l/${short[3]}`, `${base}/l/${short[2]}`, `${base}/l/${short[1]}`, `${base}/l/${short[0]}`],
    stack: [
      { dir: `${base}/l/${short[0]}`, resolved: `${base}/${layers[0]}/diff`, role: 'image' },
      { dir: `${base}/l/${short[1]}`, resolved: `${base}/${layers[1]}/diff`, role: 'image' },
      { dir: `${base}/l/${short[2]}`, resolved: `${base}/${layers[2]}/diff`, role: 'image' },
      { dir: `${base}/l/${short[3]}`, resolved: `${base}/${init}/diff`, role: 'init' },
    ],
    upperDir: `${base}/${id}/diff`,
    workDir: `${base}/${id}/work`,
    mergedDir: `${base}/${id}/merged`,
    source: 'mountinfo',
    inspectAgrees: true,
    options: ['rw', 'relatime', 'userxattr'],
  };
}

function container(
  cid: string,
  name: string,
  image: string,
  pid: number,
  ns: NamespaceInodes | null,
  extra: Partial<ContainerSnapshot> = {},
): ContainerSnapshot {
  return {
    id: cid,
    name,
    image,
    imageId: `sha256:${'f'.repeat(64)}`,
    state: 'running',
    status: 'Up 2 hours',
    pid,
    created: 1732700000,
    labels: {},
    networkMode: 'bridge',
    namespaces: ns,
    processes: [],
    cgroup: cgroup(cid),
    overlay: overlay(cid),
    nearLimit: [],
    pod: null,
    compose: null,
    security: null,
    errors: [],
    ...extra,
  };
}

export { groupNamespaces };

export const WEB_PROCS: ProcessInfo[] = [
  proc(4242, 1, 4210, 'root', 'nginx', 'nginx: master process nginx -g daemon off;', 5 * MiB),
  proc(4301, 29, 4242, 'nginx', 'nginx', 'nginx: worker process', 3 * MiB),
  proc(4302, 30, 4242, 'nginx', 'nginx', 'nginx: worker process', 3 * MiB),
  proc(4420, 41, 4301, 'nginx', 'sh', `sh -c echo ${HOSTILE.img} ${HOSTILE.newline}`, 1 * MiB),
];

export function containers(): ContainerSnapshot[] {
  nextInode = 4026532200;
  const web = privateNs();
  const sidecar = privateNs({ net: web.net, pid: web.pid, ipc: web.ipc });
  const hostnet = privateNs({ net: HOST_NS.net });
  return [
    container(IDS.web, 'web', 'nginx:1.27-alpine', 4242, web, { processes: WEB_PROCS }),
    container(IDS.sidecar, HOSTILE.img, `${HOSTILE.script}:latest`, 4388, sidecar, {
      networkMode: `container:${IDS.web}`,
      processes: [proc(4388, 1, 4360, 'root', 'sleep', 'sleep infinity', 512 * 1024)],
    }),
    container(IDS.hostnet, `hostnet-${HOSTILE.markdown}`, 'prom/node-exporter:v1.8.2', 5120, hostnet, {
      networkMode: 'host',
      nearLimit: ['memory'],
    }),
    container(IDS.db, `${HOSTILE.js} ${HOSTILE.newline}`, 'postgres:16', 6001, privateNs()),
    container(IDS.long, `${HOSTILE.surrogate}-${HOSTILE.long}`, `registry.example.com/${'team/'.repeat(60)}app:1`, 7002, privateNs()),
  ];
}

export function snapshot(list: ContainerSnapshot[] = containers(), overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    takenAt: '2024-11-27T10:00:00.000Z',
    host: host(),
    containers: list,
    namespaceGroups: groupNamespaces(HOST_NS, list),
    pods: groupPods(list),
    hostNamespacesFrom: 'PID 1',
    daemonCalls: { list: 1, inspect: list.length, info: 1 },
    errors: [],
    ...overrides,
  };
}

export function graphState(focus: string[] = [], snap: Snapshot = snapshot()): GraphState {
  // What the host sends the graph: the snapshot without process lists.
  return { snapshot: { ...snap, containers: snap.containers.map((c) => ({ ...c, processes: [] })) }, focus };
}

/** n containers: every tenth pair shares a network namespace, every 25th runs with --network host. */
export function manyContainers(n: number): Snapshot {
  nextInode = 4026540000;
  const list: ContainerSnapshot[] = [];
  for (let i = 0; i < n; i++) {
    const cid = `${i.toString(16).padStart(4, '0')}${'9'.repeat(60)}`;
    let ns = privateNs();
    if (i % 10 === 1) ns = { ...ns, net: list[i - 1].namespaces!.net, ipc: list[i - 1].namespaces!.ipc };
    if (i % 25 === 3) ns = { ...ns, net: HOST_NS.net };
    list.push(
      container(cid, `svc-${String(i).padStart(3, '0')}-${i % 7 === 0 ? HOSTILE.img : 'worker'}`, `app/svc:${i}`, 10000 + i, ns, {
        processes: [],
      }),
    );
  }
  return snapshot(list);
}

export function samples(count: number, t0 = 1732700000000, cpuPerSecond = 0.12): UsageSample[] {
  const out: UsageSample[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      t: t0 + i * 1000,
      memoryBytes: Math.round((3.1 + Math.sin(i / 5) * 0.4) * MiB),
      workingSetBytes: Math.round((2.4 + Math.sin(i / 5) * 0.3) * MiB),
      cpuUsageNs: Math.round(1_000_000_000 + i * cpuPerSecond * 1e9),
      cpuThrottledPeriods: 7,
      pidsCurrent: 2,
      ioReadBytes: 12 * MiB,
      ioWriteBytes: Math.round(1.5 * MiB),
      // Stalls that rise towards the end: CPU waiting under the 0.5 CPU quota, a little on memory, none on IO.
      cpuPressure: i < count / 2 ? 0.5 : 4.5,
      memoryPressure: i < count - 3 ? 0 : 0.4,
      ioPressure: 0,
    });
  }
  return out;
}

export function dashboardState(sampleCount = 30): DashboardState {
  const snap = snapshot();
  const c = snap.containers[0];
  const names: Record<string, string> = { host: 'host' };
  for (const x of snap.containers) names[x.id] = x.name;
  return {
    container: c,
    samples: samples(sampleCount),
    groups: snap.namespaceGroups.filter((g) => g.members.includes(c.id)),
    names,
    intervalMs: 1000,
  };
}

// ---- layers ----

const change = (
  path: string,
  kind: LayerChange['kind'],
  type: LayerChange['type'],
  sizeBytes = 0,
  extra: Partial<LayerChange> = {},
): LayerChange => ({
  path,
  kind,
  type,
  sizeBytes,
  ...extra,
});

export const LAYER_CHANGES: Record<string, LayerChange[]> = {
  '0': [
    change('/bin', 'added', 'dir'),
    change('/bin/busybox', 'added', 'file', 919304, { mode: 0o755 }),
    change('/bin/sh', 'added', 'symlink', 0, { linkTarget: '/bin/busybox' }),
    change('/etc', 'added', 'dir'),
    change('/etc/passwd', 'added', 'file', 1172),
    change('/etc/os-release', 'added', 'file', 386),
    change('/lib/ld-musl-x86_64.so.1', 'added', 'file', 661512),
    change('/tmp', 'added', 'dir'),
  ],
  '1': [
    change('/etc/apk/world', 'modified', 'file', 42),
    change('/usr/bin/curl', 'added', 'file', 265000),
    change('/usr/lib/libcurl.so.4', 'added', 'file', 688000),
    change('/tmp/cache', 'added', 'dir'),
    change('/tmp/cache/big.bin', 'added', 'file', 4 * MiB),
    change('/var/cache/apk', 'added', 'dir', 0, { opaque: true }),
  ],
  '2': [
    change('/app', 'added', 'dir'),
    change('/app/server.js', 'added', 'file', 18234),
    change('/app/package.json', 'added', 'file', 812),
    change(`/app/${HOSTILE.img}`, 'added', 'file', 10),
    change(`/app/${HOSTILE.newline}.txt`, 'added', 'file', 20),
    change('/app/node_modules', 'added', 'dir'),
    change('/app/node_modules/express/index.js', 'added', 'file', 224),
    change('/app/node_modules/express/lib/router.js', 'added', 'file', 15872),
    change('/etc/passwd', 'modified', 'file', 1210),
  ],
  '3': [change('/tmp/cache', 'deleted', 'dir'), change('/tmp/cache/big.bin', 'deleted', 'file')],
  upper: [
    change('/var/log/nginx/access.log', 'added', 'file', 20480),
    change('/var/log/nginx/error.log', 'added', 'file', 512),
    change('/run/nginx.pid', 'added', 'file', 5),
    change('/etc/nginx/conf.d/default.conf', 'modified', 'file', 1093),
    change('/usr/share/nginx/html/index.html', 'deleted', 'file'),
  ],
};

function counts(list: LayerChange[]) {
  return {
    added: list.filter((c) => c.kind === 'added').length,
    modified: list.filter((c) => c.kind === 'modified').length,
    deleted: list.filter((c) => c.kind === 'deleted').length,
    opaque: list.filter((c) => c.opaque).length,
  };
}

const sum = (list: LayerChange[]) => list.reduce((s, c) => s + c.sizeBytes, 0);

export function layersState(selected: LayersState['selected'] = null): LayersState {
  const created = [
    '/bin/sh -c #(nop) ADD file:5851aef23205a072ef361dd412a73a39 in / ',
    '/bin/sh -c apk add --no-cache curl && mkdir -p /tmp/cache && dd if=/dev/zero of=/tmp/cache/big.bin bs=1M count=4',
    `COPY app /app # buildkit ${HOSTILE.script}`,
    'RUN /bin/sh -c rm -rf /tmp/cache # buildkit',
  ];
  const layers = created.map((createdBy, index) => {
    const ch = LAYER_CHANGES[String(index)];
    return {
      index,
      diffId: `sha256:${String(index).repeat(64)}`,
      chainId: `sha256:${String(index + 1).repeat(64)}`,
      createdBy,
      createdAt: `2024-11-2${index}T09:00:00Z`,
      comment: null,
      sizeBytes: sum(ch),
      metadataAbove: index === 3 ? [{ createdBy: '/bin/sh -c #(nop)  CMD ["node" "/app/server.js"]', createdAt: null }] : [],
      wastedBytes: index === 1 ? 4 * MiB : 0,
      source: 'tar-split' as const,
      ...counts(ch),
    };
  });
  const upper = LAYER_CHANGES.upper;
  const sizeBytes = layers.reduce((s, l) => s + l.sizeBytes, 0);
  return {
    report: {
      image: { id: `sha256:${'e'.repeat(64)}`, tags: ['example/app:1.0'], ref: 'example/app:1.0' },
      container: { id: IDS.web, name: 'web' },
      layers,
      metadataBelow: [],
      upper: { dir: `/var/lib/docker/overlay2/${IDS.web}/diff`, sizeBytes: sum(upper), ...counts(upper) },
      efficiency: 0.8123,
      wastedBytes: 4 * MiB + 1210,
      userWastedPercent: 0.7854,
      sizeBytes,
      userSizeBytes: sizeBytes - layers[0].sizeBytes,
      inefficiencies: [
        { path: '/tmp/cache/big.bin', count: 2, cumulativeSizeBytes: 4 * MiB },
        { path: '/etc/passwd', count: 2, cumulativeSizeBytes: 2382 },
      ],
      errors: [],
    },
    selected,
    verdict: {
      image: 'example/app:1.0',
      passed: false,
      efficiency: 0.8123,
      wastedBytes: 4 * MiB + 1210,
      userWastedPercent: 0.7854,
      results: [
        {
          rule: 'lowestEfficiency',
          limit: 0.9,
          actual: 0.8123,
          passed: false,
          message: 'efficiency 81.2 % is below the lowest allowed 90.0 %',
        },
        {
          rule: 'highestWastedBytes',
          limit: 20 * 1000 * 1000,
          actual: 4 * MiB + 1210,
          passed: true,
          message: 'wasted 4.0 MiB is within the highest allowed 19.1 MiB',
        },
      ],
    },
  };
}

/** A big layer: n files spread over directories, for the tree's scale test. */
export function bigLayer(n: number): LayerChange[] {
  const out: LayerChange[] = [];
  for (let i = 0; i < n; i++) {
    out.push(change(`/usr/share/data/d${i % 100}/sub${i % 7}/file-${i}.dat`, i % 13 === 0 ? 'modified' : 'added', 'file', (i % 50) * 100));
  }
  return out;
}

// ---- vm ----

export function vmState(h: HostFacts = host()): VmState {
  return { host: h, containers: containers().map((c) => ({ id: c.id, name: c.name, image: c.image, pid: c.pid })) };
}

/** Docker Desktop: the host facts are its VM's, and this machine (a Fedora laptop) is named beside them. */
export function desktopHost(): HostFacts {
  const h = host({
    thisMachine: { hostname: 'laptop', kernel: '6.11.5-300.fc41.x86_64', os: 'Fedora Linux 41', cpus: 8, memoryBytes: 32 * 1024 * MiB },
    hostname: 'docker-desktop',
    kernel: '6.10.14-linuxkit',
    os: { platform: 'linux', distro: 'Docker Desktop', release: '', codename: '', arch: 'x86_64' },
    virtualization: { isVirtual: true, hypervisor: 'QEMU', evidence: 'the daemon machine’s DMI: vendor "QEMU"' },
    access: { mode: 'daemon-only', reason: 'the daemon runs in Docker Desktop’s VM: its /proc and cgroups are not on this machine' },
  });
  h.daemon = {
    ...h.daemon!,
    endpoint: 'unix:///home/me/.docker/desktop/docker.sock',
    kernel: '6.10.14-linuxkit',
    operatingSystem: 'Docker Desktop',
    runsInVm: true,
    runsElsewhere: true,
    runsElsewhereReason: 'the daemon reports kernel 6.10.14-linuxkit and OS "Docker Desktop", this machine runs 6.11.5-300.fc41.x86_64',
  };
  return h;
}

/**
 * A posture as the engine reads it for a container run with `--cap-add NET_ADMIN -v /var/run/docker.sock:…`
 * and a bind of the host's /etc at a hostile mount point; verdicts decided by the engine's own rules.
 */
export function hostilePosture(c: ContainerSnapshot): SecurityPosture {
  const bounding = [...DOCKER_DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'];
  const posture: Omit<SecurityPosture, 'verdicts'> = {
    uid: 0,
    gid: 0,
    user: HOSTILE.img,
    capabilities: {
      effective: bounding,
      permitted: bounding,
      bounding,
      masks: { effective: 'a80435fb', permitted: 'a80435fb', bounding: 'a80435fb' },
    },
    added: ['CAP_NET_ADMIN'],
    dropped: [],
    defaultSet: [...DOCKER_DEFAULT_CAPABILITIES],
    allCapabilities: false,
    seccompMode: 2,
    seccompFilters: 1,
    noNewPrivs: false,
    lsmLabel: 'docker-default (enforce)',
    lsm: 'apparmor',
    uidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
    gidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
    hostUserNamespace: true,
    readOnlyRoot: false,
    sensitiveMounts: [
      { mountPoint: '/var/run/docker.sock', hostPath: '/run/docker.sock', kind: 'runtime-socket', readOnly: false, shared: false },
      { mountPoint: `/x${HOSTILE.script}`, hostPath: '/etc', kind: 'host-dir', readOnly: true, shared: false },
    ],
    sharedMounts: [],
    mountsRead: true,
  };
  return { ...posture, verdicts: decideVerdicts(c, posture, HOST_NS, 'Docker') };
}
