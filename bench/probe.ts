// In-process measurements, each in its own node process (spawned by bench/run.ts) so that one scenario's
// heap, JIT state and caches never colour another's, and so that maxRSS is this work's own.
// Prints one JSON line (ProbeResult) last on stdout.
//
//   probe.js snapshot --runs N                 warm engine: the first snapshot is the warm-up
//   probe.js snapshot-helper --runs N --helper-image IMG   warm engine reading through a helper it keeps
//   probe.js dashboard --seconds S --daemon-pid P --access helper|direct [--helper-image IMG]   1 Hz reread, daemon CPU
//   probe.js si-stats --runs N                 systeminformation dockerContainerStats('*'), warm
//   probe.js layers REF --runs N [--warm]      engine.layers(REF): a new Engine per run (cold layer cache), or one warm engine
//   probe.js layers-save REF                   one engine.layers(REF) with /var/lib/docker denied (docker save path)
//   probe.js refresh --runs N --image IMG      docker events → engine.snapshot({containers:[id]}) for a starting container
import { execFileSync, spawn } from 'node:child_process';
import { DockerEventWatcher } from '../src/core/runtime/docker/events';
import { Engine, EngineOptions } from '../src/core/engine';
import { ConfinedRoot, DirectHostFiles, HostFiles, ReadLimits } from '../src/core/util/hostFiles';
import type { Snapshot } from '../src/shared/model';
import type { ProbeResult } from './lib/measure';
import { BENCH_LABEL, FLEET_LIMITS } from './lib/fixtures';
import { processCpuMs } from './lib/machine';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const runs = Number(arg('runs', '7'));

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function maxRssMB(): number {
  // resourceUsage().maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS / 1024;
}

/** Times `fn` runs+1 times and drops the first (warm-up) call. */
async function repeat(fn: () => Promise<unknown>, n = runs): Promise<{ wallMs: number[]; cpuMs: number[] }> {
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < n + 1; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await fn();
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = cpuMsSince(c0);
    if (i > 0) {
      wallMs.push(wall);
      cpuMs.push(cpu);
    }
  }
  return { wallMs, cpuMs };
}

/** A HostFiles that records every path it is asked for. */
class CountingFiles implements HostFiles {
  readonly kind = 'direct' as const;
  paths: string[] = [];
  constructor(private readonly inner: HostFiles = new DirectHostFiles()) {}
  readText(f: string) {
    this.paths.push(f);
    return this.inner.readText(f);
  }
  readBytes(f: string) {
    this.paths.push(f);
    return this.inner.readBytes(f);
  }
  readLink(f: string) {
    this.paths.push(f);
    return this.inner.readLink(f);
  }
  listDir(f: string) {
    this.paths.push(f);
    return this.inner.listDir(f);
  }
  readConfined(root: ConfinedRoot, p: string, limits: ReadLimits) {
    this.paths.push(root.kind === 'process' ? `/proc/${root.pid}/root${p}` : `${root.dir}${p}`);
    return this.inner.readConfined(root, p, limits);
  }
}

/** Direct reads, except that /var/lib/docker is denied: the engine falls back to docker save (as in test/integration/layers.test.ts). */
function noDockerRootFiles(): HostFiles {
  const direct = new DirectHostFiles();
  const deny = (f: string) => {
    if (f.startsWith('/var/lib/docker/')) throw Object.assign(new Error(`EACCES: permission denied, open '${f}'`), { code: 'EACCES' });
  };
  return {
    kind: 'direct',
    readText: async (f) => (deny(f), direct.readText(f)),
    readBytes: async (f) => (deny(f), direct.readBytes(f)),
    readLink: (f) => direct.readLink(f),
    listDir: (f) => direct.listDir(f),
    readConfined: async (root, p, limits) => (root.kind === 'dir' && deny(`${root.dir}/`), direct.readConfined(root, p, limits)),
  };
}

function labelledCount(snap: Snapshot): number {
  const [k, v] = BENCH_LABEL.split('=');
  return snap.containers.filter((c) => c.labels[k] === v).length;
}

/** An engine as the extension runs it: following the daemon's events, so what only the daemon changes is kept. */
async function followingEngine(files?: HostFiles, opts: EngineOptions = {}): Promise<{ engine: Engine; stop: () => void }> {
  const engine = await Engine.create({ diskCache: false, files, ...opts });
  const watcher = new DockerEventWatcher(engine.runtime);
  engine.followEvents(watcher);
  const connected = new Promise<void>((resolve) => watcher.once('connected', () => resolve()));
  watcher.start();
  await connected;
  return { engine, stop: () => watcher.stop() };
}

async function probeSnapshot(): Promise<ProbeResult> {
  const { engine, stop } = await followingEngine();
  let last: Snapshot | null = null;
  const calls: Record<string, number>[] = [];
  const times = await repeat(async () => {
    last = await engine.snapshot();
    calls.push(last.daemonCalls);
  });
  const snap = last as unknown as Snapshot;
  // Files read by one warm snapshot, counted on a second engine (so the timed runs are unwrapped).
  stop();
  const counting = new CountingFiles();
  const following = await followingEngine(counting);
  await following.engine.snapshot();
  counting.paths = [];
  await following.engine.snapshot();
  following.stop();
  return {
    ...times,
    maxRssMB: maxRssMB(),
    extra: {
      containers: snap.containers.length,
      benchContainers: labelledCount(snap),
      processes: snap.containers.reduce((s, c) => s + c.processes.length, 0),
      containerErrors: snap.containers.reduce((s, c) => s + c.errors.length, 0),
      firstErrors: snap.containers.flatMap((c) => c.errors.map((e) => `${c.name}: ${e.field}: ${e.reason}`)).slice(0, 5),
      coldDaemonCalls: calls[0],
      warmDaemonCalls: calls.slice(1),
      filesPerWarmSnapshot: counting.paths.length,
    },
  };
}

/**
 * The warm snapshot through the helper container (access 'helper': the reads a docker-group user's engine
 * makes), the helper kept between snapshots as the extension keeps it while a view is open.
 */
async function probeSnapshotHelper(helperImage: string): Promise<ProbeResult> {
  const { engine, stop } = await followingEngine(undefined, { access: 'helper', helperImage, helperIdleMs: 600000 });
  let last: Snapshot | null = null;
  try {
    const times = await repeat(async () => {
      last = await engine.snapshot();
    });
    const snap = last as unknown as Snapshot;
    return {
      ...times,
      maxRssMB: maxRssMB(),
      extra: {
        access: snap.host.access.mode,
        benchContainers: labelledCount(snap),
        containerErrors: snap.containers.reduce((s, c) => s + c.errors.length, 0),
        firstErrors: snap.containers.flatMap((c) => c.errors.map((e) => `${c.name}: ${e.field}: ${e.reason}`)).slice(0, 5),
        // Calls about helper containers (create, attach, start, …) this engine made.
        helperDaemonCalls: engine.runtime.calls.helper ?? 0,
      },
    };
  } finally {
    stop();
    await engine.dispose();
  }
}

/**
 * A dashboard's sampling: `engine.reread` of one container every second for `seconds`, as the panel's
 * timer does, through the helper or directly; the daemon's CPU over that time from its /proc stat.
 */
async function probeDashboard(): Promise<ProbeResult> {
  const seconds = Number(arg('seconds', '60'));
  const daemonPid = Number(arg('daemon-pid'));
  const access = arg('access', 'helper') as 'helper' | 'direct';
  const engine = await Engine.create({ diskCache: false, access, helperImage: arg('helper-image'), helperIdleMs: 1500 });
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  let errors = 0;
  try {
    const snap = await engine.snapshot();
    const [k, v] = BENCH_LABEL.split('=');
    let c = snap.containers.find((x) => x.labels[k] === v);
    if (!c) throw new Error('no bench container runs');
    const helperCallsBefore = engine.runtime.calls.helper ?? 0;
    const d0 = processCpuMs(daemonPid);
    const t0 = Date.now();
    for (let i = 0; i < seconds; i++) {
      const next = t0 + (i + 1) * 1000;
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      c = await engine.reread(c);
      wallMs.push(performance.now() - w0);
      cpuMs.push(cpuMsSince(c0));
      if (c.errors.length > 0) errors++;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    const daemonMs = processCpuMs(daemonPid) - d0;
    const elapsedMs = Date.now() - t0;
    return {
      wallMs,
      cpuMs,
      maxRssMB: maxRssMB(),
      extra: {
        access,
        seconds,
        elapsedMs,
        daemonCpuMs: daemonMs,
        daemonCpuPercent: (daemonMs / elapsedMs) * 100,
        // Calls about helper containers while sampling (those for the first snapshot's helper are before).
        helperDaemonCallsInWindow: (engine.runtime.calls.helper ?? 0) - helperCallsBefore,
        samplesWithErrors: errors,
      },
    };
  } finally {
    await engine.dispose();
  }
}

async function probeSiStats(): Promise<ProbeResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const si = require('systeminformation') as typeof import('systeminformation');
  let count = 0;
  const times = await repeat(async () => {
    const stats = await si.dockerContainerStats('*');
    count = stats.length;
  });
  return { ...times, maxRssMB: maxRssMB(), extra: { containers: count } };
}

async function probeLayers(ref: string): Promise<ProbeResult> {
  const warm = process.argv.includes('--warm');
  let engine = await Engine.create({ diskCache: false });
  let changes = 0;
  let upperChanges: number | null = null;
  let sources: string[] = [];
  const times = await repeat(async () => {
    if (!warm) engine = await Engine.create({ diskCache: false });
    const r = await engine.layers(ref);
    changes = r.layers.reduce((s, l) => s + l.changes.length, 0);
    upperChanges = r.upper?.changes.length ?? null;
    sources = [...new Set(r.layers.map((l) => l.source))];
  });
  return {
    ...times,
    maxRssMB: maxRssMB(),
    extra: { layerChanges: changes, upperChanges, sources, daemonCalls: { ...engine.runtime.calls } },
  };
}

async function probeLayersSave(ref: string): Promise<ProbeResult> {
  const engine = await Engine.create({ files: noDockerRootFiles(), diskCache: false });
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await engine.layers(ref);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = cpuMsSince(c0);
  const sources = [...new Set(r.layers.map((l) => l.source))];
  if (!sources.every((s) => s === 'image-tar')) throw new Error(`expected every layer through docker save, got ${sources.join(',')}`);
  return {
    wallMs: [wall],
    cpuMs: [cpu],
    maxRssMB: maxRssMB(),
    extra: {
      layers: r.layers.length,
      changes: r.layers.reduce((s, l) => s + l.changes.length, 0),
      sizeBytes: r.sizeBytes,
      heapUsedMB: process.memoryUsage().heapUsed / 1048576,
    },
  };
}

/** Splits a byte stream into lines, for the daemon's JSON-lines event stream. */
function onLines(stream: NodeJS.ReadableStream, fn: (line: string) => void): void {
  let buf = '';
  stream.on('data', (chunk: Buffer | string) => {
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) fn(line);
    }
  });
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string };
  timeNano?: number;
}

/**
 * One container starts among the running ones. There is no event-driven refresher in the engine yet, so
 * this is what a caller can do today: watch `engine.runtime.events`, and on `start` call
 * `engine.snapshot({ containers: [id] })`. Measured: event arrival → refreshed model, the daemon's event
 * time → refreshed model, the daemon calls of the refresh, and the files it read (by container).
 */
async function probeRefresh(image: string): Promise<ProbeResult> {
  const counting = new CountingFiles();
  const engine = await Engine.create({ files: counting, diskCache: false });
  const before = await engine.snapshot();
  await engine.snapshot(); // warm: PIDs cached, JIT warm
  const pidOwner = new Map<number, string>();
  const remember = (snap: Snapshot) => {
    for (const c of snap.containers) {
      if (c.pid !== null) pidOwner.set(c.pid, c.id);
      for (const p of c.processes) pidOwner.set(p.hostPid, c.id);
    }
  };
  remember(before);
  const running = before.containers.length;
  const events = await engine.runtime.events({ type: ['container'] });
  const waiters = new Map<string, (e: DockerEvent, receivedAt: bigint, receivedWall: number) => void>();
  onLines(events, (line) => {
    const receivedAt = process.hrtime.bigint();
    const receivedWall = Date.now() * 1e6;
    let e: DockerEvent;
    try {
      e = JSON.parse(line) as DockerEvent;
    } catch {
      return;
    }
    const id = e.Actor?.ID ?? e.id ?? '';
    if ((e.Action ?? e.status) === 'start') waiters.get(id)?.(e, receivedAt, receivedWall);
  });

  const eventToModel: number[] = [];
  const daemonToModel: number[] = [];
  const startToEvent: number[] = [];
  const cpuMs: number[] = [];
  const perRun: { calls: Record<string, number>; files: { self: number; others: number; host: number }; hostFiles: string[] }[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const args = ['create', '--label', BENCH_LABEL, '--network', 'none', ...FLEET_LIMITS, image, 'sleep', '1000000'];
    const id = execFileSync('docker', args, { encoding: 'utf8' }).trim();
    try {
      const got = new Promise<{ e: DockerEvent; at: bigint; wall: number }>((resolve) =>
        waiters.set(id, (e, at, wall) => resolve({ e, at, wall })),
      );
      const spawned = process.hrtime.bigint();
      spawn('docker', ['start', id], { stdio: 'ignore' });
      const { e, at } = await got;
      waiters.delete(id);
      counting.paths = [];
      const c0 = process.cpuUsage();
      const snap = await engine.snapshot({ containers: [id] });
      const done = process.hrtime.bigint();
      const doneWall = Date.now() * 1e6;
      const cpu = cpuMsSince(c0);
      const model = snap.containers.find((c) => c.id === id);
      if (!model || model.state !== 'running' || !model.cgroup || !model.namespaces)
        throw new Error(`refresh of ${id} gave no running model: ${JSON.stringify(model?.errors ?? snap.errors)}`);
      remember(snap);
      const idRe = /[0-9a-f]{64}/;
      const procRe = /^\/proc\/(\d+)\//;
      const files = { self: 0, others: 0, host: 0 };
      const hostFiles = new Set<string>();
      // The overlay2/l/ short links named in the container's mount are its own lower layers.
      const ownLinks = new Set(model.overlay?.lowerDirs ?? []);
      for (const p of counting.paths) {
        const m = idRe.exec(p);
        const pm = procRe.exec(p);
        const owner = ownLinks.has(p) ? id : m ? m[0] : pm ? pidOwner.get(Number(pm[1])) : undefined;
        if (owner === id) files.self++;
        else if (owner) files.others++;
        else {
          files.host++;
          hostFiles.add(p.replace(/^\/proc\/\d+\//, '/proc/PID/'));
        }
      }
      if (i > 0) {
        eventToModel.push(Number(done - at) / 1e6);
        if (typeof e.timeNano === 'number') daemonToModel.push((doneWall - e.timeNano) / 1e6);
        startToEvent.push(Number(at - spawned) / 1e6);
        cpuMs.push(cpu);
        perRun.push({ calls: snap.daemonCalls, files, hostFiles: [...hostFiles].sort() });
      }
    } finally {
      execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    }
  }
  (events as unknown as { destroy?: () => void }).destroy?.();
  return {
    wallMs: eventToModel,
    cpuMs,
    maxRssMB: maxRssMB(),
    extra: { running, daemonToModelMs: daemonToModel, dockerStartToEventMs: startToEvent, perRun },
  };
}

async function main(): Promise<void> {
  const task = process.argv[2];
  let result: ProbeResult;
  switch (task) {
    case 'snapshot':
      result = await probeSnapshot();
      break;
    case 'snapshot-helper':
      result = await probeSnapshotHelper(arg('helper-image')!);
      break;
    case 'dashboard':
      result = await probeDashboard();
      break;
    case 'si-stats':
      result = await probeSiStats();
      break;
    case 'layers':
      result = await probeLayers(process.argv[3]);
      break;
    case 'layers-save':
      result = await probeLayersSave(process.argv[3]);
      break;
    case 'refresh':
      result = await probeRefresh(arg('image')!);
      break;
    default:
      throw new Error(`unknown probe task ${task}`);
  }
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`probe: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
