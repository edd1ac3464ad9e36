import { CgroupLimits, ContainerSnapshot, ContainerState, FieldError, OverlayMount, ProcessInfo } from '../shared/model';
import { composeFromLabels } from '../shared/compose';
import { podFromLabels } from '../shared/pods';
import { findCgroupMounts, CgroupMounts } from './cgroups/parse';
import { readContainerCgroup } from './cgroups/read';
import type { Runtime, RuntimeContainer } from './runtime/types';
import { MountinfoEntry, parseMountinfo } from './procfs/mountinfo';
import { readOverlayMount } from './procfs/overlay';
import { UsersRead, readContainerUsers, readNamespaces, readParentPid, readProcess } from './procfs/read';
import { HostFiles, describeReadError } from './util/hostFiles';
import { PostureRead, readPosture } from './security/read';

const NO_USERS: UsersRead = { users: undefined, errors: [], transient: false };

/** State carried between snapshots: what is known not to change while a container runs. */
export class SnapshotCache {
  /** Container id → host PID of its init, checked against /proc/PID/cgroup before use. */
  readonly pids = new Map<string, number>();
  /** Container id → previous CPU throttling count, to tell "throttled since the last look". */
  readonly throttled = new Map<string, number>();
  /**
   * What stays as it is while a container's init runs: its overlay mount and its user names. Keyed by
   * container id and valid for that init PID only.
   */
  readonly statics = new Map<string, { pid: number; overlay: OverlayMount; users: UsersRead }>();
  /**
   * cgroup limits by container id, reused only while the engine follows the daemon's events (an `update`
   * event, a restart or an exit forgets them): limits change only through the daemon.
   */
  readonly limits = new Map<string, { pid: number; limits: CgroupLimits }>();
  /**
   * The security posture of a container's init, read once per init PID: its rights, label, id maps and
   * mounts are set when the runtime starts it and change only if the process itself gives rights up.
   */
  readonly postures = new Map<string, { pid: number; read: PostureRead }>();
  followingEvents = false;
  /** Which of the runtime's init PID files (its index in initPidFiles) held the last PID found. */
  initPidSource: number | null = null;
  /**
   * Reads of a container still running after their deadline (a read that never returns). The container
   * is not read again until its read ends: one hung read per container at most, never one per refresh.
   */
  readonly stuck = new Map<string, Promise<unknown>>();
  /** Container reads through the helper, at most HELPER_CONTAINER_READS at once (see readContainer). */
  readonly helperGate = new Gate(HELPER_CONTAINER_READS);

  forget(id: string): void {
    this.pids.delete(id);
    this.throttled.delete(id);
    this.statics.delete(id);
    this.limits.delete(id);
    this.postures.delete(id);
  }
}

export interface SnapshotContext {
  runtime: Runtime;
  files: HostFiles;
  cache: SnapshotCache;
  /** Bounds on reading one container; containerLimitsFor where absent. */
  limits?: Partial<ContainerLimits>;
  /**
   * The runtime mounts containers' roots in a mount namespace of its own (rootless Podman): the mount
   * table that vouches for a container's overlay is its monitor's (conmon's), not the engine's.
   */
  mountsInMonitor?: boolean;
  /** What a posture is read against: the runtime's default capabilities and the kernel's last capability. */
  security?: { defaultSet: readonly string[]; lastCap: Promise<number> };
}

/**
 * The mount table a container's root overlay is checked against: the engine's (the host's), or, where the
 * runtime mounts in its own namespace, that of the container's monitor: the parent of its init (conmon),
 * which runs outside the container and which the container cannot change.
 */
export async function runtimeMountTable(
  files: HostFiles,
  pid: number,
  hostMounts: MountinfoEntry[] | null,
  inMonitor: boolean,
): Promise<MountinfoEntry[] | null> {
  if (!inMonitor) return hostMounts;
  const ppid = await readParentPid(files, pid);
  if (ppid === null) return hostMounts;
  try {
    return parseMountinfo(await files.readText(`/proc/${ppid}/mountinfo`)).entries;
  } catch {
    return hostMounts;
  }
}

export interface ContainerReadOptions {
  processes?: boolean;
}

/** What one container may cost a snapshot: whatever it does, the others arrive on time. */
export interface ContainerLimits {
  /** Milliseconds all of a container's reads may take; then it arrives with what was read by then. */
  deadlineMs: number;
  /** Processes listed at most (the lowest PIDs, init first); the rest are counted in `processesNotListed`. */
  maxProcesses: number;
}

/** 2 s per container; 500 processes with command lines of at most 64 KiB each (about 32 MiB at worst). */
export const CONTAINER_LIMITS: ContainerLimits = { deadlineMs: 2000, maxProcesses: 500 };

/**
 * Through the helper every read crosses the daemon's API (a network, a VM boundary) and the daemon's
 * machine may be slow: a deadline that bounds a hung read there must not cut a slow but healthy one.
 */
export const HELPER_DEADLINE_MS = 10000;

/**
 * The helper serves one request after another: containers read through it all at once would queue behind
 * each other, and each one's deadline would run out while it waited. Two at a time keep it busy, and a
 * container's deadline starts when its turn does.
 */
export const HELPER_CONTAINER_READS = 2;

/** At most `size` holders at once; the others wait in order. */
export class Gate {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {}

  /** Waits for a place; the returned function gives it up (once). */
  async enter(): Promise<() => void> {
    if (this.held >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.held--;
    };
  }

  /** Holders now (for tests). */
  get inside(): number {
    return this.held;
  }
}

/** The limits of one container read: the caller's, else those of the way files are read. */
export function containerLimitsFor(kind: HostFiles['kind'], given: Partial<ContainerLimits> = {}): ContainerLimits {
  return { ...CONTAINER_LIMITS, ...(kind === 'helper' ? { deadlineMs: HELPER_DEADLINE_MS } : {}), ...given };
}

export function containerName(c: Pick<RuntimeContainer, 'names' | 'id'>): string {
  return c.names[0] || c.id.slice(0, 12);
}

function toState(s: string): ContainerState {
  const known: ContainerState[] = ['running', 'paused', 'restarting', 'exited', 'created', 'dead', 'removing'];
  return (known as string[]).includes(s) ? (s as ContainerState) : 'created';
}

async function tryText(files: HostFiles, file: string): Promise<string | null> {
  try {
    return await files.readText(file);
  } catch {
    return null;
  }
}

/**
 * Finds the host PID of a container's init process where it can without a call (the cached PID still in
 * the container's cgroup, the PID the list call told, the runtime's init PID files), and asks the daemon
 * only when they cannot tell.
 */
async function findInitPid(
  ctx: SnapshotContext,
  id: string,
  listed?: number,
): Promise<{ pid: number | null; cgroupText: string | null; error?: FieldError; gone?: boolean }> {
  const check = async (pid: number) => {
    const text = await tryText(ctx.files, `/proc/${pid}/cgroup`);
    return text !== null && text.includes(id) ? text : null;
  };
  const cached = ctx.cache.pids.get(id);
  if (cached !== undefined) {
    const text = await check(cached);
    if (text) return { pid: cached, cgroupText: text };
    ctx.cache.pids.delete(id);
  }
  if (listed !== undefined && listed !== cached) {
    const text = await check(listed);
    if (text) {
      ctx.cache.pids.set(id, listed);
      return { pid: listed, cgroupText: text };
    }
  }
  const files = ctx.runtime.initPidFiles(id);
  const last = ctx.cache.initPidSource;
  const order = files.map((_, i) => i);
  if (last !== null && last < files.length) order.sort((a, b) => (a === last ? -1 : b === last ? 1 : a - b));
  for (const i of order) {
    const raw = await tryText(ctx.files, files[i]);
    const pid = raw === null ? NaN : Number(raw.trim());
    if (Number.isInteger(pid) && pid > 0) {
      const text = await check(pid);
      if (text) {
        ctx.cache.initPidSource = i;
        ctx.cache.pids.set(id, pid);
        return { pid, cgroupText: text };
      }
    }
  }
  try {
    const info = await ctx.runtime.inspectContainer(id);
    const pid = info.pid;
    if (!info.running || pid <= 0) return { pid: null, cgroupText: null, gone: true };
    const text = await tryText(ctx.files, `/proc/${pid}/cgroup`);
    if (text === null) {
      return {
        pid,
        cgroupText: null,
        error: {
          field: 'cgroup',
          reason: describeReadError(Object.assign(new Error('unreadable'), { code: 'EACCES' }), `/proc/${pid}/cgroup`),
        },
      };
    }
    ctx.cache.pids.set(id, pid);
    return { pid, cgroupText: text };
  } catch (err) {
    if ((err as Error).name === 'NotFoundError') return { pid: null, cgroupText: null, gone: true };
    throw err;
  }
}

/** A container as the list call tells it, before anything is read from its files. */
export function emptyContainer(c: RuntimeContainer): ContainerSnapshot {
  return {
    id: c.id,
    name: containerName(c),
    image: c.image,
    imageId: c.imageId,
    state: toState(c.state),
    status: c.status,
    pid: null,
    created: c.created,
    labels: c.labels,
    networkMode: c.networkMode,
    namespaces: null,
    processes: [],
    cgroup: null,
    overlay: null,
    nearLimit: [],
    pod: c.pod ?? podFromLabels(c.labels),
    compose: composeFromLabels(c.labels),
    security: null,
    errors: [],
  };
}

function markGone(snap: ContainerSnapshot): ContainerSnapshot {
  return {
    ...snap,
    state: 'gone',
    pid: null,
    namespaces: null,
    processes: [],
    cgroup: null,
    overlay: null,
    nearLimit: [],
    security: null,
    errors: [{ field: 'container', reason: 'the container exited while it was being read' }],
  };
}

/**
 * What one container read has got so far, for the snapshot to take when the deadline passes: results
 * that arrived but are not yet in the snapshot (`early`), and which reads are still running.
 */
class ContainerRead {
  /** Reads not finished, by the field they fill. */
  readonly pending = new Set<string>();
  early: {
    namespaces?: ContainerSnapshot['namespaces'];
    overlay?: OverlayMount | null;
    cgroup?: ContainerSnapshot['cgroup'];
    security?: ContainerSnapshot['security'];
    errors: FieldError[];
    processes: ProcessInfo[];
  } = {
    errors: [],
    processes: [],
  };
  /** The deadline passed: the snapshot went on without this read, whose later results are dropped. */
  closed = false;

  track<T>(field: string, read: Promise<T>, keep?: (value: T) => void): Promise<T> {
    this.pending.add(field);
    return read.then(
      (value) => {
        this.pending.delete(field);
        if (!this.closed) keep?.(value);
        return value;
      },
      (err: unknown) => {
        this.pending.delete(field);
        throw err;
      },
    );
  }

  /** The results kept early are in the snapshot now. */
  applied(): void {
    this.early = { errors: [], processes: [] };
  }
}

/**
 * Reads one running container from /proc and cgroupfs, within its deadline: when that passes, the
 * container arrives with what was read by then and an error on each field whose read did not finish,
 * and its reads are left to end (or not) on their own.
 */
export async function readContainer(
  ctx: SnapshotContext,
  c: RuntimeContainer,
  cgroupMounts: CgroupMounts,
  hostMounts: MountinfoEntry[] | null,
  opts: ContainerReadOptions = {},
): Promise<ContainerSnapshot> {
  const limits = containerLimitsFor(ctx.files.kind, ctx.limits);
  const snap = emptyContainer(c);
  if (snap.state !== 'running' && snap.state !== 'paused') return snap;
  if (ctx.cache.stuck.has(c.id)) {
    snap.errors.push({
      field: 'container',
      reason: `not read: its previous read is still running after the ${seconds(limits.deadlineMs)} deadline (it is read again once that ends)`,
    });
    return snap;
  }
  // Through the helper a container waits for its turn first; its deadline counts from then.
  const leave = ctx.files.kind === 'helper' ? await ctx.cache.helperGate.enter() : () => undefined;
  const run = new ContainerRead();
  const work = readContainerWithin(ctx, c, cgroupMounts, hostMounts, opts, limits, snap, run);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), limits.deadlineMs);
  });
  try {
    const done = await Promise.race([work, late]);
    if (done) return done;
  } finally {
    clearTimeout(timer);
    // A read left running after its deadline gives up its place: one hung container holds up no other.
    leave();
  }
  run.closed = true;
  ctx.cache.stuck.set(c.id, work);
  const unstick = () => {
    if (ctx.cache.stuck.get(c.id) === work) ctx.cache.stuck.delete(c.id);
  };
  work.then(unstick, unstick);
  return partialContainer(snap, run, limits.deadlineMs);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The container as far as it was read when its deadline passed; a copy, so later results change nothing. */
function partialContainer(snap: ContainerSnapshot, run: ContainerRead, deadlineMs: number): ContainerSnapshot {
  const out: ContainerSnapshot = {
    ...snap,
    namespaces: snap.namespaces ?? run.early.namespaces ?? null,
    overlay: snap.overlay ?? run.early.overlay ?? null,
    cgroup: snap.cgroup ?? run.early.cgroup ?? null,
    security: snap.security ?? run.early.security ?? null,
    processes: snap.processes.length > 0 ? [...snap.processes] : [...run.early.processes],
    nearLimit: [...snap.nearLimit],
    errors: [...snap.errors, ...run.early.errors],
  };
  for (const field of run.pending) {
    const got = field === 'processes' && out.processes.length > 0 ? ` (${out.processes.length} read by then)` : '';
    out.errors.push({
      field,
      reason: `not read within ${seconds(deadlineMs)}: the read did not finish${got}, and the snapshot did not wait for it`,
    });
  }
  return out;
}

async function readContainerWithin(
  ctx: SnapshotContext,
  c: RuntimeContainer,
  cgroupMounts: CgroupMounts,
  hostMounts: MountinfoEntry[] | null,
  opts: ContainerReadOptions,
  limits: ContainerLimits,
  snap: ContainerSnapshot,
  run: ContainerRead,
): Promise<ContainerSnapshot> {
  const found = await run.track('pid', findInitPid(ctx, c.id, c.pid));
  if (run.closed) return snap;
  if (found.gone) return markGone(snap);
  if (found.error) snap.errors.push(found.error);
  if (found.pid === null) return snap;
  const pid = found.pid;
  snap.pid = pid;
  const known = ctx.cache.statics.get(c.id);
  const statics = known?.pid === pid ? known : null;
  const cachedLimits = ctx.cache.followingEvents ? ctx.cache.limits.get(c.id) : undefined;
  const knownLimits = cachedLimits?.pid === pid ? cachedLimits.limits : undefined;
  // The mount table that vouches for the overlay and that mounts are traced through, read once if needed.
  let table: Promise<MountinfoEntry[] | null> | null = null;
  const mountTable = () => (table ??= runtimeMountTable(ctx.files, pid, hostMounts, ctx.mountsInMonitor === true));
  const knownPosture = ctx.cache.postures.get(c.id);
  const postureRead: Promise<PostureRead | null> = !ctx.security
    ? Promise.resolve(null)
    : knownPosture?.pid === pid
      ? Promise.resolve(knownPosture.read)
      : run.track<PostureRead>(
          'security',
          Promise.all([ctx.security.lastCap, mountTable()]).then(([lastCap, m]) =>
            readPosture(ctx.files, pid, m, ctx.security!.defaultSet, lastCap),
          ),
          (r) => {
            run.early.security = r.posture ? { ...r.posture, verdicts: [] } : null;
            run.early.errors.push(...r.errors);
          },
        );
  const [ns, cg, ov, usersRead, posture] = await Promise.all([
    run.track('namespaces', readNamespaces(ctx.files, pid), (r) => {
      run.early.namespaces = r.namespaces;
      run.early.errors.push(...r.errors);
    }),
    found.cgroupText !== null
      ? run.track('cgroup', readContainerCgroup(ctx.files, found.cgroupText, cgroupMounts, { knownLimits }), (r) => {
          run.early.cgroup = r.cgroup;
          run.early.errors.push(...r.errors);
        })
      : Promise.resolve(null),
    statics
      ? { overlay: statics.overlay, errors: [], gone: false }
      : run.track(
          'overlay',
          mountTable().then((m) => readOverlayMount(ctx.files, pid, m)),
          (r) => {
            run.early.overlay = r.overlay;
            run.early.errors.push(...r.errors);
          },
        ),
    statics || opts.processes === false
      ? Promise.resolve(statics?.users ?? NO_USERS)
      : run.track('users', readContainerUsers(ctx.files, pid), (r) => run.early.errors.push(...r.errors)),
    postureRead,
  ]);
  if (run.closed) return snap;
  run.applied();
  const users = usersRead.users;
  if (ns.gone || ov.gone || posture?.gone) return markGone(snap);
  if (posture) {
    if (posture.posture) {
      const uid = posture.posture.uid;
      snap.security = { ...posture.posture, user: uid !== null ? (users?.get(uid) ?? null) : null, verdicts: [] };
    }
    snap.errors.push(...posture.errors);
    if (posture.posture && posture.errors.length === 0) ctx.cache.postures.set(c.id, { pid, read: posture });
  }
  snap.namespaces = ns.namespaces;
  snap.errors.push(...ns.errors, ...ov.errors, ...usersRead.errors);
  snap.overlay = ov.overlay;
  if (!statics && ov.overlay && ov.errors.length === 0 && opts.processes !== false && !usersRead.transient)
    ctx.cache.statics.set(c.id, { pid, overlay: ov.overlay, users: usersRead });
  if (cg) {
    snap.cgroup = cg.cgroup;
    snap.errors.push(...cg.errors);
    if (ctx.cache.followingEvents && !knownLimits && cg.cgroup && !cg.errors.some((e) => e.field.startsWith('cgroup.limits'))) {
      ctx.cache.limits.set(c.id, { pid, limits: cg.cgroup.limits });
    }
    if (!cg.cgroup && cg.errors.some((e) => /exited/.test(e.reason))) return markGone(snap);
    if (opts.processes !== false) {
      const { listed, notListed } = choosePids(cg.pids.length > 0 ? cg.pids : [pid], pid, limits.maxProcesses);
      const procs = await run.track('processes', readProcessList(ctx.files, listed, users, run));
      if (run.closed) return snap;
      run.applied();
      snap.processes = procs.processes;
      if (notListed > 0) snap.processesNotListed = notListed;
      snap.errors.push(...procs.errors);
      if (snap.processes.length === 0 && !(await tryText(ctx.files, `/proc/${pid}/cgroup`))) return markGone(snap);
    }
  }
  snap.nearLimit = nearLimits(ctx, snap);
  return snap;
}

/** The PIDs to list when a container has more than `max`: its init and the lowest others, in the cgroup's order. */
export function choosePids(pids: readonly number[], init: number, max: number): { listed: number[]; notListed: number } {
  if (pids.length <= max) return { listed: [...pids], notListed: 0 };
  const keep = new Set([...pids].sort((a, b) => a - b).slice(0, Math.max(1, max)));
  if (max > 0 && pids.includes(init) && !keep.has(init)) {
    keep.delete(Math.max(...keep));
    keep.add(init);
  }
  const listed = pids.filter((p) => keep.has(p));
  return { listed, notListed: pids.length - listed.length };
}

/**
 * Reads the listed processes (those that exited meanwhile dropped), each kept in `run` as it arrives
 * so a deadline in the middle still shows the ones read.
 */
async function readProcessList(
  files: HostFiles,
  pids: number[],
  users: Map<number, string> | undefined,
  run: ContainerRead,
): Promise<{ processes: ProcessInfo[]; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  const results = await Promise.all(
    pids.map(async (pid) => {
      try {
        const p = await readProcess(files, pid, users);
        if (p && !run.closed) run.early.processes.push(p);
        return p;
      } catch (err) {
        errors.push({ field: `processes.${pid}`, reason: describeReadError(err, `/proc/${pid}/status`, files.kind) });
        return null;
      }
    }),
  );
  return { processes: results.filter((p): p is ProcessInfo => p !== null), errors };
}

/** Which limits the container runs close to: memory or pids at 90 % or more, or CPU throttled since the last look. */
function nearLimits(ctx: SnapshotContext, snap: ContainerSnapshot): string[] {
  const out: string[] = [];
  const cg = snap.cgroup;
  if (!cg) return out;
  const { limits, usage } = cg;
  if (limits.memoryBytes && usage.memoryBytes !== null && usage.memoryBytes >= 0.9 * limits.memoryBytes) out.push('memory');
  if (limits.pidsMax && usage.pidsCurrent !== null && usage.pidsCurrent >= 0.9 * limits.pidsMax) out.push('pids');
  if (usage.cpuThrottledPeriods !== null) {
    const before = ctx.cache.throttled.get(snap.id);
    ctx.cache.throttled.set(snap.id, usage.cpuThrottledPeriods);
    if (before !== undefined && usage.cpuThrottledPeriods > before) out.push('cpu');
  }
  return out;
}

export interface HostMounts {
  mounts: MountinfoEntry[] | null;
  cgroupMounts: CgroupMounts;
  errors: FieldError[];
}

let lastMounts: { text: string; mounts: HostMounts } | null = null;

/** Reads the mount tables the snapshot needs once: the engine's own (cgroup mounts, merged dirs). */
export async function readHostMounts(files: HostFiles): Promise<HostMounts> {
  try {
    const text = await files.readText('/proc/self/mountinfo');
    // The table changes only when something mounts; reuse the last parse while its text is the same.
    if (lastMounts?.text === text) return lastMounts.mounts;
    const { entries } = parseMountinfo(text);
    const mounts = { mounts: entries, cgroupMounts: findCgroupMounts(entries), errors: [] };
    lastMounts = { text, mounts };
    return mounts;
  } catch (err) {
    return {
      mounts: null,
      cgroupMounts: { v1: new Map(), v2: null },
      errors: [{ field: 'host.mounts', reason: describeReadError(err, '/proc/self/mountinfo') }],
    };
  }
}
