import type Docker from 'dockerode';
import { AccessPath, ContainerSnapshot, FieldError, HostFacts, ImageFacts, LayerReport, NamespaceInodes, Snapshot } from '../shared/model';
import { DaemonInfo, DockerClient } from './docker/client';
import { ResolveOptions, isLocalEndpoint } from './docker/context';
import { buildHostFacts, daemonFacts, hostCgroupVersion, readStaticHostFacts } from './host/hostFacts';
import { chainIds } from './layers/history';
import { LayerCache, LayerContext, analyseContainer, analyseImage } from './layers/report';
import { readHostNamespaces } from './procfs/read';
import { SnapshotCache, SnapshotContext, containerName, groupNamespaces, readContainer, readHostMounts } from './snapshot';
import { DirectHostFiles, HostFiles } from './util/hostFiles';

export interface EngineOptions extends ResolveOptions {
  /** Where host files come from; direct reads by default. */
  files?: HostFiles;
  /** Cache static host facts on disk per boot (the CLI does; tests may not). */
  diskCache?: boolean;
}

export interface SnapshotOptions {
  /** Only these containers (ids, id prefixes or names); all running ones when empty. */
  containers?: string[];
  /** Read processes (the default); off for a cheaper refresh. */
  processes?: boolean;
}

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
  readonly layerCache = new LayerCache();
  private daemonInfo: Promise<DaemonInfo> | null = null;
  private staticHost: ReturnType<typeof readStaticHostFacts> | null = null;

  private constructor(
    readonly docker: DockerClient,
    readonly files: HostFiles,
    private readonly opts: EngineOptions,
  ) {}

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    const docker = await DockerClient.connect(opts);
    return new Engine(docker, opts.files ?? new DirectHostFiles(), opts);
  }

  /** True when the daemon is on this machine, so /proc and /var/lib/docker here are its. */
  get local(): boolean {
    return isLocalEndpoint(this.docker.endpoint.host);
  }

  /** GET /info, asked once per engine (again after `forgetDaemon`, e.g. when the daemon restarted). */
  daemon(): Promise<DaemonInfo> {
    if (!this.daemonInfo) {
      this.daemonInfo = this.docker.info();
      this.daemonInfo.catch(() => (this.daemonInfo = null));
    }
    return this.daemonInfo;
  }

  forgetDaemon(): void {
    this.daemonInfo = null;
  }

  private snapshotContext(): SnapshotContext {
    return { docker: this.docker, files: this.files, cache: this.cache };
  }

  private layerContext(opts: LayerOptions = {}): LayerContext {
    return { docker: this.docker, files: this.files, daemon: () => this.daemon(), cache: this.layerCache, local: this.local, ...opts };
  }

  access(): AccessPath {
    if (!this.local) return { mode: 'daemon-only', reason: `the daemon at ${this.docker.endpoint.host} is not on this machine: only what the Docker API tells is shown` };
    if (this.files.kind === 'helper') return { mode: 'helper', reason: 'host files are read by a helper container through the daemon' };
    return { mode: 'direct', reason: process.getuid?.() === 0 ? 'running as root on the daemon’s machine: /proc, cgroupfs and /var/lib/docker are read directly' : 'reading /proc, cgroupfs and /var/lib/docker directly' };
  }

  async host(): Promise<HostFacts> {
    const errors: FieldError[] = [];
    this.staticHost ??= readStaticHostFacts(this.opts.diskCache !== false);
    const [stat, mounts, info] = await Promise.all([
      this.staticHost,
      readHostMounts(this.files),
      this.daemon().catch((err: Error) => {
        errors.push({ field: 'host.daemon', reason: err.message });
        return null;
      }),
    ]);
    errors.push(...mounts.errors);
    const daemon = info ? daemonFacts(info, this.docker.endpoint.host, { kernel: stat.kernel, hostname: stat.hostname }) : null;
    return buildHostFacts(stat, hostCgroupVersion(mounts.mounts ?? []), daemon, this.access(), errors);
  }

  /** One picture of every running container (or the named ones) and the host: one list call, then files. */
  async snapshot(opts: SnapshotOptions = {}): Promise<Snapshot> {
    const before = { ...this.docker.calls };
    const ctx = this.snapshotContext();
    const [list, mounts, hostNs, host] = await Promise.all([
      this.docker.listContainers(false),
      readHostMounts(this.files),
      this.local ? readHostNamespaces(this.files) : Promise.resolve(null),
      this.host(),
    ]);
    const errors: FieldError[] = [...mounts.errors];
    if (hostNs && hostNs.read.errors.length > 0) errors.push(...hostNs.read.errors.map((e) => ({ field: `host.${e.field}`, reason: e.reason })));
    const wanted = opts.containers?.filter((c) => c !== '') ?? [];
    const chosen = wanted.length === 0 ? list : list.filter((c) => wanted.some((w) => matchesContainer(c, w)));
    for (const w of wanted) {
      if (!list.some((c) => matchesContainer(c, w))) errors.push({ field: 'containers', reason: `no running container is named or has the id "${w}"` });
    }
    const live = new Set(list.map((c) => c.Id));
    for (const id of [...this.cache.pids.keys()]) if (!live.has(id)) this.cache.forget(id);
    const containers = this.local
      ? await Promise.all(chosen.map((c) => readContainer(ctx, c, mounts.cgroupMounts, mounts.mounts, { processes: opts.processes })))
      : chosen.map((c) => ({
          ...emptyFromList(c),
          errors: [{ field: 'container', reason: this.access().reason }],
        }));
    const hostNamespaces: NamespaceInodes | null = hostNs?.read.namespaces ?? null;
    const calls: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.docker.calls)) if (v - (before[k] ?? 0) > 0) calls[k] = v - (before[k] ?? 0);
    return {
      takenAt: new Date().toISOString(),
      host,
      containers,
      namespaceGroups: groupNamespaces(hostNamespaces, containers),
      hostNamespacesFrom: hostNs?.from ?? 'not read: the daemon is not on this machine',
      daemonCalls: calls,
      errors,
    };
  }

  /**
   * Re-reads one container already known from a snapshot, without asking the daemon anything: for live
   * views that refresh every second. A container that exited comes back with state `gone`.
   */
  async reread(known: ContainerSnapshot): Promise<ContainerSnapshot> {
    const mounts = await readHostMounts(this.files);
    const entry = {
      Id: known.id,
      Names: [`/${known.name}`],
      Image: known.image,
      ImageID: known.imageId,
      State: known.state === 'gone' ? 'running' : known.state,
      Status: known.status,
      Created: known.created,
      Labels: known.labels,
      HostConfig: { NetworkMode: known.networkMode },
    } as unknown as Docker.ContainerInfo;
    return readContainer(this.snapshotContext(), entry, mounts.cgroupMounts, mounts.mounts);
  }

  /** Resolves a container or image reference for `layers`: a running or stopped container wins over an image. */
  async layers(ref: string, opts: LayerOptions = {}): Promise<LayerReport> {
    const ctx = this.layerContext(opts);
    const all = await this.docker.listContainers(true);
    const container = all.find((c) => matchesContainer(c, ref));
    if (container) {
      let overlay = null;
      let pid: number | null = null;
      if (this.local && container.State === 'running') {
        const snap = await readContainer(this.snapshotContext(), container, { v1: new Map(), v2: null }, (await readHostMounts(this.files)).mounts, { processes: false });
        overlay = snap.overlay;
        pid = snap.pid;
      }
      return analyseContainer(ctx, container.Id, overlay, pid);
    }
    return (await analyseImage(ctx, ref)).report;
  }

  /** Local images with their layers and which other images share each layer. */
  async images(): Promise<ImageFacts[]> {
    const [list, containers] = await Promise.all([this.docker.listImages(), this.docker.listContainers(true)]);
    const inspected = await Promise.all(list.map((i) => this.docker.inspectImage(i.Id).catch(() => null)));
    const users = new Map<string, string[]>();
    for (const c of containers) users.set(c.ImageID, [...(users.get(c.ImageID) ?? []), c.Id]);
    const chainUsers = new Map<string, string[]>();
    const perImage = inspected.map((img) => {
      if (!img) return [];
      const chains = chainIds(img.RootFS?.Layers ?? []);
      for (const c of chains) chainUsers.set(c, [...(chainUsers.get(c) ?? []), img.Id]);
      return chains;
    });
    const sizes = await this.layerSizes(perImage.flat());
    return list.map((img, i) => {
      const chains = perImage[i];
      const diffIds = inspected[i]?.RootFS?.Layers ?? [];
      const layers = chains.map((chain, j) => ({
        diffId: diffIds[j],
        chainId: chain,
        sizeBytes: sizes.get(chain) ?? null,
        sharedWith: (chainUsers.get(chain) ?? []).filter((id) => id !== img.Id),
      }));
      return {
        id: img.Id,
        tags: (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        repoDigests: (img.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
        created: new Date(img.Created * 1000).toISOString(),
        sizeBytes: img.Size,
        layers,
        sharedBytes: layers.filter((l) => l.sharedWith.length > 0).reduce((s, l) => s + (l.sizeBytes ?? 0), 0),
        containers: users.get(img.Id) ?? [],
      };
    });
  }

  /** Layer sizes from layerdb/<chain>/size where readable (the daemon keeps them there). */
  private async layerSizes(chains: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!this.local) return out;
    const info = await this.daemon().catch(() => null);
    if (!info) return out;
    const dir = `${info.DockerRootDir ?? '/var/lib/docker'}/image/${info.Driver ?? 'overlay2'}/layerdb/sha256`;
    await Promise.all(
      [...new Set(chains)].map(async (c) => {
        try {
          const n = Number((await this.files.readText(`${dir}/${c.replace(/^sha256:/, '')}/size`)).trim());
          if (Number.isFinite(n)) out.set(c, n);
        } catch {
          // Unknown size: shown as such.
        }
      }),
    );
    return out;
  }
}

function matchesContainer(c: { Id: string; Names?: string[] }, ref: string): boolean {
  const r = ref.replace(/^\//, '');
  if (r.length >= 4 && c.Id.startsWith(r)) return true;
  return (c.Names ?? []).some((n) => n.replace(/^\//, '') === r);
}

function emptyFromList(c: Parameters<typeof containerName>[0] & { Image: string; ImageID: string; State: string; Status: string; Created: number; Labels: Record<string, string>; HostConfig?: { NetworkMode: string } }) {
  return {
    id: c.Id,
    name: containerName(c),
    image: c.Image,
    imageId: c.ImageID,
    state: (c.State as Snapshot['containers'][number]['state']) ?? 'created',
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
    errors: [] as FieldError[],
  };
}
