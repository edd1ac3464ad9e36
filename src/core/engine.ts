import type { AccessSetting } from './access/choose';
import type { ApproveHelperImage } from './access/helperImage';
import type { HelperRegistry } from './access/registry';
import { AccessSession } from './access/session';
import { readImageFacts } from './images';
import {
  AccessPath,
  CgroupUsage,
  ContainerExit,
  ContainerSnapshot,
  FieldError,
  HostFacts,
  ImageFacts,
  LayerReport,
  NamespaceInodes,
  NetworkInfo,
  Snapshot,
} from '../shared/model';
import { DaemonInfo, NotFoundError } from './runtime/docker/client';
import { connectRuntime } from './runtime/connect';
import type { Runtime, RuntimeContainer, RuntimeSetting } from './runtime/types';
import type { DockerEventWatcher } from './runtime/docker/events';
import { ResolveOptions, isLocalEndpoint } from './runtime/docker/context';
import {
  buildHostFacts,
  daemonCgroupVersion,
  daemonFacts,
  hostCgroupVersion,
  readDaemonMachineFacts,
  readStaticHostFacts,
} from './host/hostFacts';
import { DiskLayerCache, defaultLayerCacheDir } from './layers/diskCache';
import { LayerCache, LayerContext, analyseContainer, analyseImage } from './layers/report';
import { readHostNamespaces, readNamespaces, readParentPid } from './procfs/read';
import { decideVerdicts } from './security/cis';
import { readHostLinks, readNetwork } from './network/read';
import { readLastCap } from './security/read';
import { groupNamespaces } from '../shared/namespaces';
import { groupPods } from '../shared/pods';
import { readOverlayMount } from './procfs/overlay';
import {
  ContainerLimits,
  HostMounts,
  SnapshotCache,
  SnapshotContext,
  emptyContainer,
  readContainer,
  readHostMounts,
  runtimeMountTable,
  containerLimitsFor,
} from './snapshot';
import { DirectHostFiles, HostFiles } from './util/hostFiles';

export interface EngineOptions extends ResolveOptions {
  /** Which runtime the endpoint serves: detected from its /version (`auto`, the default), or forced. */
  runtime?: RuntimeSetting;
  /** Where host files come from; direct reads by default. */
  files?: HostFiles;
  /** Cache static host facts on disk per boot (the CLI does; tests may not). */
  diskCache?: boolean;
  /**
   * How host files are read: `direct`, through a short-lived `helper` container, or `auto` (the default):
   * direct where this process can read the daemon's files, else the helper. Ignored when `files` is given.
   */
  access?: AccessSetting;
  /**
   * The helper container's image, as the user chose it (containerXray.helperImage, --helper-image). Else an
   * official busybox, alpine, debian or ubuntu image found locally by its exact name; never any other.
   */
  helperImage?: string;
  /**
   * Asked before a helper runs from an image (name and image ID) not approved yet in this engine; false
   * declines it: no helper runs, and the access reason says so. Without it (the CLI) the image runs.
   */
  approveHelperImage?: ApproveHelperImage;
  /**
   * Where this user's engines record the helper containers they start (so another run hides them and removes
   * those a killed run left); null: in memory only. Default: ~/.cache/container-xray/helpers, unless
   * diskCache is false.
   */
  helperRegistryDir?: string | null;
  /**
   * Where parsed layer listings are kept between runs (they never change: keyed by chain ID); null for
   * none. Default: ~/.cache/container-xray/layers, unless diskCache is false.
   */
  layerCacheDir?: string | null;
  /** How long an idle helper container stays after the last read of a refresh (ms); 0 stops it at once. */
  helperIdleMs?: number;
  /**
   * Seconds a helper this engine leaves behind stays for the next engine of the same user to take over (the
   * CLI: one run after another shares one helper); it ends by itself after that long without a request. 0 or
   * absent: the helper goes with the engine. Needs the helper registry (not with diskCache false).
   */
  helperReuseS?: number;
  /** What one container may cost a snapshot (deadline, processes listed); CONTAINER_LIMITS by default. */
  containerLimits?: Partial<ContainerLimits>;
}

export interface SnapshotOptions {
  /** Only these containers (ids, id prefixes or names); all running ones when empty. */
  containers?: string[];
  /** Read processes (the default); off for a cheaper refresh. */
  processes?: boolean;
  /** Stopped containers too, each with how it ended (one inspect call each). */
  all?: boolean;
  /** Each network namespace's interfaces, routes, listening sockets and veth peers (read once per namespace). */
  network?: boolean;
}

/** How many containers' last usage the engine remembers for when they stop. */
const LAST_USAGE_KEPT = 1000;

export interface LayerOptions {
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/**
 * The engine: one object the CLI, the extension, the tests and the benchmarks share. It owns the daemon
 * client, the host file reader and the caches of what does not change (daemon info, init PIDs, layers).
 */
export class Engine {
  readonly cache = new SnapshotCache();
  readonly layerCache: LayerCache;
  private daemonInfo: Promise<DaemonInfo> | null = null;
  /** The last /info answer (what the runtime's layout depends on). */
  private lastInfo: DaemonInfo | null = null;
  private hostNs: ReturnType<typeof readHostNamespaces> | null = null;
  /** The kernel's last capability number, read once. */
  private lastCap: Promise<number> | null = null;
  /** The host's namespaces as the last snapshot read them, for verdicts of containers read again alone. */
  private lastHostNamespaces: NamespaceInodes | null = null;
  /** Each container's usage counters as last read (oldest first, bounded): what it counted before it stopped. */
  private readonly lastUsage = new Map<string, CgroupUsage>();
  private staticHost: ReturnType<typeof readStaticHostFacts> | null = null;
  /** How host files are read (directly or through the helper), and the helper's lifecycle. */
  private readonly way: AccessSession;

  private constructor(
    readonly runtime: Runtime,
    directFiles: HostFiles,
    private readonly opts: EngineOptions,
  ) {
    const cacheDir = opts.layerCacheDir === undefined ? (opts.diskCache === false ? null : defaultLayerCacheDir()) : opts.layerCacheDir;
    this.layerCache = new LayerCache(undefined, cacheDir ? new DiskLayerCache(cacheDir) : null);
    this.way = new AccessSession(runtime, directFiles, opts, () => this.daemon());
  }

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    const runtime = await connectRuntime(opts);
    return new Engine(runtime, opts.files ?? new DirectHostFiles(), opts);
  }

  /** Where host files come from now: direct reads, or the helper container once access chose it. */
  get files(): HostFiles {
    return this.way.files;
  }

  /** True when the daemon is on this machine, so /proc and /var/lib/docker here are its. */
  get local(): boolean {
    return isLocalEndpoint(this.runtime.endpoint.host);
  }

  /** GET /info, asked once per engine (again after `forgetDaemon`, e.g. when the daemon restarted). */
  daemon(): Promise<DaemonInfo> {
    if (!this.daemonInfo) {
      this.daemonInfo = this.runtime.info();
      this.daemonInfo.then((i) => (this.lastInfo = i)).catch(() => undefined);
      this.daemonInfo.catch(() => (this.daemonInfo = null));
    }
    return this.daemonInfo;
  }

  forgetDaemon(): void {
    this.daemonInfo = null;
    // A restarted daemon has a new PID, which may have stood in for the host's namespaces.
    this.hostNs = null;
  }

  /**
   * Follows the daemon's events so what only the daemon changes can be kept between snapshots: cgroup
   * limits are reused until an `update`, a restart or an exit of that container, and nothing is reused
   * while the event stream is down.
   */
  followEvents(watcher: DockerEventWatcher): void {
    watcher.on('connected', () => {
      this.cache.followingEvents = true;
    });
    watcher.on('disconnected', () => {
      this.cache.followingEvents = false;
      this.cache.limits.clear();
    });
    watcher.on('event', (ev) => {
      if (ev.type === 'container' && ['update', 'start', 'restart', 'die', 'destroy', 'unpause'].includes(ev.action))
        this.cache.limits.delete(ev.id);
    });
    this.cache.followingEvents = watcher.connected;
  }

  /** The host's namespaces do not change while it runs: read once (again after the daemon restarts). */
  private hostNamespaces(): ReturnType<typeof readHostNamespaces> {
    if (!this.hostNs) {
      const read = readHostNamespaces(this.files);
      this.hostNs = read;
      read.then(
        (r) => {
          if (!r.read.namespaces && this.hostNs === read) this.hostNs = null;
        },
        () => {
          if (this.hostNs === read) this.hostNs = null;
        },
      );
    }
    return this.hostNs;
  }

  /** Stops the helper container, if one runs; the engine reads directly (or not at all) afterwards. */
  async dispose(): Promise<void> {
    await this.layerCache.flush();
    await this.way.dispose();
  }

  private snapshotContext(): SnapshotContext {
    return {
      runtime: this.runtime,
      files: this.files,
      cache: this.cache,
      limits: this.opts.containerLimits,
      mountsInMonitor: this.lastInfo ? this.runtime.mountsInMonitor(this.lastInfo) : false,
      security: { defaultSet: this.runtime.defaultCapabilities, lastCap: (this.lastCap ??= readLastCap(this.files)) },
    };
  }

  /**
   * After a read: decides each container's CIS verdicts against the host's namespaces (the last known where
   * not given), and remembers its usage counters for when it stops.
   */
  private judge(containers: ContainerSnapshot[], hostNamespaces?: NamespaceInodes | null): void {
    if (hostNamespaces !== undefined) this.lastHostNamespaces = hostNamespaces;
    const runtimeName = this.runtime.kind === 'podman' ? 'Podman' : 'Docker';
    for (const c of containers) {
      if (c.security) c.security = { ...c.security, verdicts: decideVerdicts(c, c.security, this.lastHostNamespaces, runtimeName) };
      if (c.cgroup) {
        this.lastUsage.delete(c.id);
        this.lastUsage.set(c.id, c.cgroup.usage);
        if (this.lastUsage.size > LAST_USAGE_KEPT) this.lastUsage.delete(this.lastUsage.keys().next().value!);
      }
    }
  }

  /**
   * Reads each network namespace the containers are in once, through its first member's init, and gives
   * every member the same account (with the others named in `sharedWith`).
   */
  private async readNetworks(containers: ContainerSnapshot[], host: NamespaceInodes | null): Promise<void> {
    const byNs = new Map<number, ContainerSnapshot[]>();
    for (const c of containers) {
      const inode = c.namespaces?.net;
      if (c.pid === null || inode === null || inode === undefined) {
        if (c.state === 'running') c.network = null;
        continue;
      }
      byNs.set(inode, [...(byNs.get(inode) ?? []), c]);
    }
    if (byNs.size === 0) return;
    const links = await readHostLinks(this.files);
    // One namespace may cost its own containers' fields only: each read has the containers' deadline.
    const { deadlineMs } = containerLimitsFor(this.files.kind, this.opts.containerLimits);
    await Promise.all(
      [...byNs].map(async ([inode, members]) => {
        const pids = [...new Set(members.flatMap((m) => (m.processes.length > 0 ? m.processes.map((p) => p.hostPid) : [m.pid!])))];
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), deadlineMs)));
        const read = readNetwork(this.files, members[0].pid!, pids, links, host?.net === inode);
        const info = await Promise.race([read, late]).finally(() => clearTimeout(timer));
        const account: NetworkInfo = info
          ? { namespace: inode, sharedWith: [], ...info }
          : {
              namespace: inode,
              hostNetwork: host?.net === inode,
              sharedWith: [],
              interfaces: [],
              routes: [],
              listening: [],
              errors: [
                {
                  field: 'network',
                  reason: `not read within ${deadlineMs} ms: the read did not finish, and the snapshot did not wait for it`,
                },
              ],
            };
        if (!info) read.catch(() => undefined);
        for (const m of members) m.network = { ...account, sharedWith: members.filter((o) => o !== m).map((o) => o.id) };
      }),
    );
  }

  /** A container that is not running: how it ended, from the runtime, and its counters as last read. */
  private async stopped(c: RuntimeContainer): Promise<ContainerSnapshot> {
    const snap = emptyContainer(c);
    try {
      snap.exit = await this.exitOf(c.id);
    } catch (err) {
      if (err instanceof NotFoundError) return { ...snap, state: 'gone' };
      snap.errors.push({ field: 'exit', reason: `inspect failed: ${(err as Error).message}` });
    }
    return snap;
  }

  private async exitOf(id: string): Promise<ContainerExit> {
    const info = await this.runtime.inspectContainer(id);
    return { ...info.exit, lastUsage: this.lastUsage.get(info.id) ?? null };
  }

  /**
   * How a container ended (exit code, OOM kill, when) as its runtime recorded it, with its cgroup counters
   * as this engine last read them. Rejects with NotFoundError for a container that is gone.
   */
  exitInfo(id: string): Promise<ContainerExit> {
    return this.exitOf(id);
  }

  private layerContext(opts: LayerOptions = {}): LayerContext {
    return {
      runtime: this.runtime,
      files: this.files,
      daemon: () => this.daemon(),
      cache: this.layerCache,
      local: this.readsFiles(),
      ...opts,
    };
  }

  /** Which way host files are read and why (shown in the Host view and by the CLI). */
  access(): AccessPath {
    return this.way.access();
  }

  /**
   * The IDs of the helper containers this user's engines created on this daemon (what the engine leaves
   * out of snapshots and image users). Helpers whose owner is gone (a killed CLI) are removed on the way.
   */
  ownHelpers(): Promise<Set<string>> {
    return this.way.ownHelpers();
  }

  /** The helper containers this engine and this user's other runs created: how helpers are told apart. */
  get helpers(): HelperRegistry {
    return this.way.helpers;
  }

  private withFiles<T>(fn: () => Promise<T>): Promise<T> {
    return this.way.withFiles(fn);
  }

  private readsFiles(): boolean {
    return this.way.readsFiles();
  }

  async host(): Promise<HostFacts> {
    // Clears what a killed run left (its helpers and their record), as every other operation does.
    await this.ownHelpers();
    return this.withFiles(() => this.readHost());
  }

  /** Host facts; `mounts` when the caller has just read the mount table (a snapshot does). */
  private async readHost(mounts?: Promise<HostMounts>): Promise<HostFacts> {
    const errors: FieldError[] = [];
    this.staticHost ??= readStaticHostFacts(this.opts.diskCache !== false);
    const [stat, hostMounts, info] = await Promise.all([
      this.staticHost,
      mounts ?? readHostMounts(this.files),
      this.daemon().catch((err: Error) => {
        errors.push({ field: 'host.daemon', reason: err.message });
        return null;
      }),
    ]);
    errors.push(...hostMounts.errors);
    const daemon = info
      ? daemonFacts(info, this.runtime.endpoint.host, { kernel: stat.kernel, hostname: stat.hostname }, this.runtimeFacts(info))
      : null;
    if (!info || !daemon?.runsElsewhere)
      return buildHostFacts(stat, hostCgroupVersion(hostMounts.mounts ?? []), daemon, this.access(), errors);
    // Without the helper the mount table read is this machine's, not the daemon's: /info tells its cgroup version.
    const cgroup = this.files.kind === 'helper' ? hostCgroupVersion(hostMounts.mounts ?? []) : daemonCgroupVersion(info);
    // The containers run on the daemon's machine: its facts, and this machine named beside them.
    const remote = await readDaemonMachineFacts(info, this.files.kind === 'helper' ? this.files : null);
    errors.push(...remote.errors);
    const thisMachine = {
      hostname: stat.hostname,
      kernel: stat.kernel,
      os: [stat.os.distro, stat.os.release].filter(Boolean).join(' '),
      cpus: stat.cpus,
      memoryBytes: stat.memoryBytes,
    };
    return buildHostFacts(remote.facts, cgroup, daemon, this.access(), errors, thisMachine);
  }

  /** One picture of every running container (or the named ones) and the host: one list call, then files. */
  async snapshot(opts: SnapshotOptions = {}): Promise<Snapshot> {
    const before = { ...this.runtime.calls };
    return this.withFiles(() => this.readSnapshot(opts, before));
  }

  private async readSnapshot(opts: SnapshotOptions, before: Record<string, number>): Promise<Snapshot> {
    const reads = this.readsFiles();
    const mountsRead = readHostMounts(this.files);
    const [all, mounts, hostNs, host, helpers] = await Promise.all([
      this.runtime.listContainers(opts.all === true),
      mountsRead,
      reads ? this.hostNamespaces() : Promise.resolve(null),
      this.readHost(mountsRead),
      this.ownHelpers(),
    ]);
    const list = all.filter((c) => !helpers.has(c.id));
    const ctx = this.snapshotContext();
    const errors: FieldError[] = [...mounts.errors];
    const wanted = opts.containers?.filter((c) => c !== '') ?? [];
    const chosen = wanted.length === 0 ? list : list.filter((c) => wanted.some((w) => matchesContainer(c, w)));
    for (const w of wanted) {
      if (!list.some((c) => matchesContainer(c, w)))
        errors.push({ field: 'containers', reason: `no running container is named or has the id "${w}"` });
    }
    const live = new Set(list.map((c) => c.id));
    for (const id of [...this.cache.pids.keys()]) if (!live.has(id)) this.cache.forget(id);
    const running = (c: RuntimeContainer) => c.state === 'running' || c.state === 'paused';
    const containers = await Promise.all(
      chosen.map(async (c) => {
        if (!running(c)) return this.stopped(c);
        if (!reads) return { ...emptyContainer(c), errors: [{ field: 'container', reason: this.access().reason }] };
        return readContainer(ctx, c, mounts.cgroupMounts, mounts.mounts, { processes: opts.processes });
      }),
    );
    // A rootless runtime's helper holds no rights over PID 1: its containers' monitor (conmon) stands in.
    const standIn = hostNs && hostNs.read.errors.length > 0 && ctx.mountsInMonitor ? await this.monitorNamespaces(containers) : null;
    if (!standIn && hostNs && hostNs.read.errors.length > 0)
      errors.push(...hostNs.read.errors.map((e) => ({ field: `host.${e.field}`, reason: e.reason })));
    const hostNamespaces: NamespaceInodes | null = standIn?.namespaces ?? hostNs?.read.namespaces ?? null;
    this.judge(containers, hostNamespaces);
    if (opts.network && reads) await this.readNetworks(containers, hostNamespaces);
    const calls: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.runtime.calls)) if (v - (before[k] ?? 0) > 0) calls[k] = v - (before[k] ?? 0);
    return {
      takenAt: new Date().toISOString(),
      host,
      containers,
      namespaceGroups: groupNamespaces(hostNamespaces, containers),
      pods: groupPods(containers),
      hostNamespacesFrom: standIn?.from ?? hostNs?.from ?? 'not read: the daemon is not on this machine',
      daemonCalls: calls,
      errors,
    };
  }

  /**
   * Re-reads one container already known from a snapshot, without asking the daemon anything: for live
   * views that refresh every second. A container that exited comes back with state `gone`.
   */
  reread(known: ContainerSnapshot): Promise<ContainerSnapshot> {
    return this.withFiles(() => this.readAgain(known));
  }

  private async readAgain(known: ContainerSnapshot): Promise<ContainerSnapshot> {
    const mounts = await readHostMounts(this.files);
    const entry: RuntimeContainer = {
      id: known.id,
      names: [known.name],
      image: known.image,
      imageId: known.imageId,
      state: known.state === 'gone' ? 'running' : known.state,
      status: known.status,
      created: known.created,
      labels: known.labels,
      networkMode: known.networkMode,
      pod: known.pod,
      ...(known.pid !== null ? { pid: known.pid } : {}),
    };
    const read = await readContainer(this.snapshotContext(), entry, mounts.cgroupMounts, mounts.mounts);
    this.judge([read]);
    return read;
  }

  /** Resolves a container or image reference for `layers`: a running or stopped container wins over an image. */
  layers(ref: string, opts: LayerOptions = {}): Promise<LayerReport> {
    return this.withFiles(() => this.readLayers(ref, opts));
  }

  private async readLayers(ref: string, opts: LayerOptions): Promise<LayerReport> {
    const ctx = this.layerContext(opts);
    // The daemon resolves names and id prefixes; a reference that is no container is taken as an image.
    const [info, image, , helpers] = await Promise.all([
      this.runtime.inspectContainer(ref).catch((err: unknown) => {
        if (err instanceof NotFoundError) return null;
        throw err;
      }),
      // Unless the reference is a known image id (then the analysis is cached), look the image up meanwhile.
      (/^sha256:[0-9a-f]{64}$/.test(ref) && this.layerCache.cachedAnalysis(ref)) || this.cache.pids.has(ref)
        ? null
        : this.runtime.inspectImage(ref).catch(() => null),
      this.daemon().catch(() => null),
      this.ownHelpers(),
    ]);
    if (info && !helpers.has(info.id)) {
      let overlay = null;
      let pid: number | null = null;
      if (this.readsFiles() && info.running && info.pid > 0) {
        // Only the overlay mount is needed here (the PID is in the inspect data), from the snapshot's cache if there.
        pid = info.pid;
        const known = this.cache.statics.get(info.id);
        overlay =
          known?.pid === pid
            ? known.overlay
            : (
                await readOverlayMount(
                  this.files,
                  pid,
                  await runtimeMountTable(
                    this.files,
                    pid,
                    (await readHostMounts(this.files)).mounts,
                    this.snapshotContext().mountsInMonitor === true,
                  ),
                )
              ).overlay;
      }
      return analyseContainer(ctx, info, overlay, pid);
    }
    if (!image && !this.layerCache.cachedAnalysis(ref)) throw new NotFoundError('image', ref);
    return (await analyseImage(ctx, ref, image ?? undefined)).report;
  }

  /** Local images with their layers and which other images share each layer. */
  images(): Promise<ImageFacts[]> {
    return this.withFiles(() => this.readImages());
  }

  private async readImages(): Promise<ImageFacts[]> {
    const store = this.readsFiles()
      ? await this.daemon().then(
          (info) => this.runtime.layerStore(info),
          () => null,
        )
      : null;
    return readImageFacts(
      this.runtime,
      await this.ownHelpers(),
      store ? (images) => store.sizes?.(this.files, images) ?? Promise.resolve(new Map()) : null,
    );
  }

  /**
   * The host's namespaces as a rootless runtime's monitor has them: conmon (the parent of a container's
   * init) runs outside every container, in the host's network, PID, IPC, UTS, cgroup and time namespaces,
   * but in the rootless user's user and mount namespaces, which are left out (not the host's).
   */
  private async monitorNamespaces(containers: ContainerSnapshot[]): Promise<{ namespaces: NamespaceInodes; from: string } | null> {
    for (const c of containers) {
      if (c.pid === null) continue;
      const ppid = await readParentPid(this.files, c.pid);
      if (ppid === null) continue;
      try {
        const r = await readNamespaces(this.files, ppid);
        if (!r.namespaces || r.errors.length > 0) continue;
        return {
          namespaces: { ...r.namespaces, user: null, mnt: null },
          from:
            `the runtime's monitor (conmon, PID ${ppid}), standing in for PID 1, which a rootless runtime's helper may not read; ` +
            'its user and mount namespaces are the rootless user’s, so those are not compared',
        };
      } catch {
        // That container left: try the next one.
      }
    }
    return null;
  }

  /** The runtime as the Host view and the CLI name it. */
  private runtimeFacts(info: DaemonInfo): { runtime: string; runtimeKind: Runtime['kind']; storageLayout: string } {
    return { runtime: this.runtime.describe(info), runtimeKind: this.runtime.kind, storageLayout: this.runtime.layout(info) };
  }
}

function matchesContainer(c: { id: string; names: string[] }, ref: string): boolean {
  const r = ref.replace(/^\//, '');
  if (r.length >= 4 && c.id.startsWith(r)) return true;
  return c.names.some((n) => n === r);
}
