import type Docker from 'dockerode';
import { CgroupLimits, ContainerSnapshot, ContainerState, FieldError, OverlayMount } from '../shared/model';
import { findCgroupMounts, CgroupMounts } from './cgroups/parse';
import { readContainerCgroup } from './cgroups/read';
import type { DockerClient } from './docker/client';
import { MountinfoEntry, parseMountinfo } from './procfs/mountinfo';
import { readOverlayMount } from './procfs/overlay';
import { readContainerUsers, readNamespaces, readProcesses } from './procfs/read';
import { HostFiles, describeReadError } from './util/hostFiles';

/** Where a container runtime keeps `init.pid` for each task (dockerd's own containerd, a system containerd). */
export const INIT_PID_DIRS = [
  '/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby',
  '/run/containerd/io.containerd.runtime.v2.task/moby',
];

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
  readonly statics = new Map<string, { pid: number; overlay: OverlayMount; users: Map<number, string> | undefined }>();
  /**
   * cgroup limits by container id, reused only while the engine follows the daemon's events (an `update`
   * event, a restart or an exit forgets them): limits change only through the daemon.
   */
  readonly limits = new Map<string, { pid: number; limits: CgroupLimits }>();
  followingEvents = false;
  initPidDir: string | null = null;

  forget(id: string): void {
    this.pids.delete(id);
    this.throttled.delete(id);
    this.statics.delete(id);
    this.limits.delete(id);
  }
}

export interface SnapshotContext {
  docker: DockerClient;
  files: HostFiles;
  cache: SnapshotCache;
}

export interface ContainerReadOptions {
  processes?: boolean;
}

export function containerName(c: Pick<Docker.ContainerInfo, 'Names' | 'Id'>): string {
  const n = c.Names?.[0] ?? '';
  return n.startsWith('/') ? n.slice(1) : n || c.Id.slice(0, 12);
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
 * Finds the host PID of a container's init process from files where it can (the cached PID still in the
 * container's cgroup, the runtime's init.pid), and asks the daemon only when they cannot tell.
 */
async function findInitPid(
  ctx: SnapshotContext,
  id: string,
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
  const dirs = ctx.cache.initPidDir ? [ctx.cache.initPidDir, ...INIT_PID_DIRS.filter((d) => d !== ctx.cache.initPidDir)] : INIT_PID_DIRS;
  for (const dir of dirs) {
    const raw = await tryText(ctx.files, `${dir}/${id}/init.pid`);
    const pid = raw === null ? NaN : Number(raw.trim());
    if (Number.isInteger(pid) && pid > 0) {
      const text = await check(pid);
      if (text) {
        ctx.cache.initPidDir = dir;
        ctx.cache.pids.set(id, pid);
        return { pid, cgroupText: text };
      }
    }
  }
  try {
    const info = await ctx.docker.inspectContainer(id);
    const pid = info.State?.Pid ?? 0;
    if (!info.State?.Running || pid <= 0) return { pid: null, cgroupText: null, gone: true };
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
export function emptyContainer(c: Docker.ContainerInfo): ContainerSnapshot {
  return {
    id: c.Id,
    name: containerName(c),
    image: c.Image,
    imageId: c.ImageID,
    state: toState(c.State),
    status: c.Status,
    pid: null,
    created: c.Created,
    labels: c.Labels ?? {},
    networkMode: c.HostConfig?.NetworkMode ?? '',
    namespaces: null,
    processes: [],
    cgroup: null,
    overlay: null,
    nearLimit: [],
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
    errors: [{ field: 'container', reason: 'the container exited while it was being read' }],
  };
}

/** Reads one running container from /proc and cgroupfs. */
export async function readContainer(
  ctx: SnapshotContext,
  c: Docker.ContainerInfo,
  cgroupMounts: CgroupMounts,
  hostMounts: MountinfoEntry[] | null,
  opts: ContainerReadOptions = {},
): Promise<ContainerSnapshot> {
  const snap = emptyContainer(c);
  if (snap.state !== 'running' && snap.state !== 'paused') return snap;
  const found = await findInitPid(ctx, c.Id);
  if (found.gone) return markGone(snap);
  if (found.error) snap.errors.push(found.error);
  if (found.pid === null) return snap;
  const pid = found.pid;
  snap.pid = pid;
  const known = ctx.cache.statics.get(c.Id);
  const statics = known?.pid === pid ? known : null;
  const cachedLimits = ctx.cache.followingEvents ? ctx.cache.limits.get(c.Id) : undefined;
  const knownLimits = cachedLimits?.pid === pid ? cachedLimits.limits : undefined;
  const [ns, cg, ov, users] = await Promise.all([
    readNamespaces(ctx.files, pid),
    found.cgroupText !== null ? readContainerCgroup(ctx.files, found.cgroupText, cgroupMounts, { knownLimits }) : Promise.resolve(null),
    statics ? { overlay: statics.overlay, errors: [], gone: false } : readOverlayMount(ctx.files, pid, hostMounts),
    statics || opts.processes === false ? Promise.resolve(statics?.users) : readContainerUsers(ctx.files, pid),
  ]);
  if (ns.gone || ov.gone) return markGone(snap);
  snap.namespaces = ns.namespaces;
  snap.errors.push(...ns.errors, ...ov.errors);
  snap.overlay = ov.overlay;
  if (!statics && ov.overlay && ov.errors.length === 0 && opts.processes !== false)
    ctx.cache.statics.set(c.Id, { pid, overlay: ov.overlay, users });
  if (cg) {
    snap.cgroup = cg.cgroup;
    snap.errors.push(...cg.errors);
    if (ctx.cache.followingEvents && !knownLimits && cg.cgroup && !cg.errors.some((e) => e.field.startsWith('cgroup.limits'))) {
      ctx.cache.limits.set(c.Id, { pid, limits: cg.cgroup.limits });
    }
    if (!cg.cgroup && cg.errors.some((e) => /exited/.test(e.reason))) return markGone(snap);
    if (opts.processes !== false) {
      const procs = await readProcesses(ctx.files, cg.pids.length > 0 ? cg.pids : [pid], users);
      snap.processes = procs.processes;
      snap.errors.push(...procs.errors);
      if (snap.processes.length === 0 && !(await tryText(ctx.files, `/proc/${pid}/cgroup`))) return markGone(snap);
    }
  }
  snap.nearLimit = nearLimits(ctx, snap);
  return snap;
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
