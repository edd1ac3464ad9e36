// Docker Engine behind the runtime seam: its API (through dockerode, in client.ts) turned into neutral
// records, its storage layouts (the overlay2 graph driver, the containerd image store) and its helper
// container. Podman's runtime builds on this one: it speaks the same API, plus its own.
import { DOCKER_DEFAULT_CAPABILITIES } from '../../security/capabilities';
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { ContainerExit } from '../../../shared/model';
import { printable, truncate } from '../../../shared/text';
import { HelperSpec, helperContainerSpec } from '../../access/helper';
import { HelperBind, helperBinds } from '../../access/paths';
import type { DaemonInfo, DockerClient, HistoryEntry } from './client';
import type { DockerEndpoint } from './context';
import { containerdLayerStore, overlay2LayerStore, usesContainerdStore } from './stores';
import type {
  HelperContainerSpec,
  HelperContainers,
  LayerStore,
  Runtime,
  RuntimeContainer,
  RuntimeContainerDetail,
  RuntimeImage,
  RuntimeImageSummary,
  RuntimeKind,
  StorageLayout,
} from '../types';

/** Where Docker's containerd shims keep `init.pid` for each task (dockerd's own containerd, a system one). */
export const DOCKER_INIT_PID_DIRS = [
  '/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby',
  '/run/containerd/io.containerd.runtime.v2.task/moby',
];

function withoutSlash(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

/** A list entry as the neutral record (Docker's list call and Podman's compatible one). */
export function fromContainerInfo(c: Docker.ContainerInfo): RuntimeContainer {
  return {
    id: c.Id,
    names: (c.Names ?? []).map(withoutSlash).filter(Boolean),
    image: c.Image,
    imageId: c.ImageID,
    state: c.State,
    status: c.Status,
    created: c.Created,
    labels: c.Labels ?? {},
    networkMode: c.HostConfig?.NetworkMode ?? '',
    pod: null,
  };
}

export function fromInspect(info: Docker.ContainerInspectInfo): RuntimeContainerDetail {
  const gd = info.GraphDriver as { Name?: string; Data?: Record<string, string | undefined> | null } | undefined;
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(gd?.Data ?? {})) if (typeof v === 'string') data[k] = v;
  return {
    id: info.Id,
    name: withoutSlash(info.Name ?? ''),
    imageRef: info.Config?.Image || info.Image,
    imageId: info.Image,
    running: Boolean(info.State?.Running),
    pid: info.State?.Pid ?? 0,
    graphDriver: gd ? { name: gd.Name ?? '', data } : null,
    exit: exitOf(info.State),
    labels: { ...(info.Config?.Labels ?? {}) },
  };
}

/** How the last run ended; a FinishedAt of the zero time means it never finished (or never ran). */
export function exitOf(state: Partial<Docker.ContainerInspectInfo['State']> | undefined): ContainerExit {
  const finished = state?.FinishedAt && !state.FinishedAt.startsWith('0001-') ? state.FinishedAt : null;
  const error = typeof state?.Error === 'string' && state.Error !== '' ? truncate(printable(state.Error), 1000) : null;
  return {
    exitCode: typeof state?.ExitCode === 'number' ? state.ExitCode : null,
    oomKilled: state?.OOMKilled === true,
    finishedAt: finished,
    error,
  };
}

export function fromImageInspect(img: Docker.ImageInspectInfo): RuntimeImage {
  return {
    id: img.Id,
    repoTags: (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    repoDigests: (img.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
    created: Math.floor(new Date(img.Created).getTime() / 1000) || 0,
    sizeBytes: img.Size,
    diffIds: img.RootFS?.Layers ?? [],
    os: img.Os,
    architecture: img.Architecture,
    variant: (img as { Variant?: string }).Variant,
  };
}

function fromImageInfo(img: Docker.ImageInfo): RuntimeImageSummary {
  return {
    id: img.Id,
    repoTags: (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    repoDigests: (img.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
    created: img.Created,
    sizeBytes: img.Size,
  };
}

function majorVersion(version: string): number {
  const m = /^(\d+)\./.exec(version);
  return m ? Number(m[1]) : 0;
}

/** HostConfig fields dockerode's types do not list yet. */
type HelperHostConfig = Docker.HostConfig & { CgroupnsMode?: 'host' | 'private' };
type HelperMount = Docker.MountSettings & { BindOptions?: { Propagation: Docker.MountPropagation; ReadOnlyForceRecursive?: boolean } };

/** The helper container as Docker's create call takes it: least privilege that still reads what root reads. */
export function dockerHelperConfig(spec: HelperContainerSpec): Docker.ContainerCreateOptions {
  const mounts: HelperMount[] = spec.binds.map((b) => ({
    Type: 'bind',
    Source: b.host,
    Target: b.helper,
    ReadOnly: true,
    BindOptions: { Propagation: b.propagation, ...(b.forceRecursiveReadOnly ? { ReadOnlyForceRecursive: true } : {}) },
  }));
  const hostConfig: HelperHostConfig = {
    AutoRemove: true,
    // /proc is the host's, so /proc/PID/{ns,status,cmdline,cgroup,mountinfo,root} of every process.
    PidMode: 'host',
    // /proc/PID/cgroup paths are relative to the reader's cgroup namespace: the host's, as root sees them.
    CgroupnsMode: 'host',
    // With userns-remap the helper's root would be an unprivileged uid on the host.
    UsernsMode: 'host',
    NetworkMode: 'none',
    ReadonlyRootfs: true,
    CapDrop: ['ALL'],
    // SYS_PTRACE: /proc/PID/ns/* and /proc/PID/root of processes with other credentials (ptrace read
    // access); DAC_READ_SEARCH: directories and files of other owners in writable layers and the daemon's root.
    CapAdd: ['SYS_PTRACE', 'DAC_READ_SEARCH'],
    SecurityOpt: [
      'no-new-privileges',
      // docker-default allows ptrace reads only among docker-default peers: host processes are unconfined.
      ...(spec.apparmorUnconfined ? ['apparmor=unconfined'] : []),
      // container_t may not read the daemon's files nor other domains' /proc entries.
      ...(spec.selinuxDisabled ? ['label=disable'] : []),
    ],
    Mounts: mounts,
    Tmpfs: spec.tmpfs,
    PidsLimit: spec.pidsLimit,
    // A huge directory a container made must not grow the helper's shell without bound on the host.
    Memory: spec.memoryBytes,
    MemorySwap: spec.memoryBytes,
    // Replies carry file contents: keep them out of the daemon's log files.
    LogConfig: { Type: 'none', Config: {} },
  };
  return {
    name: spec.name,
    Image: spec.image,
    User: '0:0',
    WorkingDir: '/',
    Entrypoint: spec.entrypoint,
    Cmd: spec.cmd,
    Env: spec.env,
    Labels: spec.labels,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    // The daemon closes the script's stdin when the attach connection goes (the engine stopped, or its
    // process was killed): the script ends at EOF, so a helper does not outlive its owner. A helper kept for
    // reuse keeps its stdin and ends by its idle time (XRAY_IDLE_S).
    StdinOnce: !spec.keepStdin,
    Tty: false,
    NetworkDisabled: true,
    HostConfig: hostConfig,
  };
}

/** Docker Engine (and the API every runtime here speaks). */
export class DockerRuntime implements Runtime {
  readonly kind: RuntimeKind = 'docker';
  readonly defaultCapabilities: readonly string[] = DOCKER_DEFAULT_CAPABILITIES;
  readonly helpers: HelperContainers;

  constructor(readonly client: DockerClient) {
    const count = () => {
      client.calls.helper = (client.calls.helper ?? 0) + 1;
    };
    this.helpers = {
      reattachable: true,
      config: (spec) => this.helperConfig(spec),
      create: async (spec) => {
        count();
        return (await client.docker.createContainer(this.helperConfig(spec))).id;
      },
      attach: (id) => {
        count();
        return client.docker.getContainer(id).attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      },
      start: async (id) => {
        count();
        await client.docker.getContainer(id).start();
      },
      waitRemoved: async (id) => {
        count();
        await client.docker.getContainer(id).wait({ condition: 'removed' });
      },
      remove: async (id) => {
        count();
        await client.docker.getContainer(id).remove({ force: true });
      },
    };
  }

  /** The create options of the helper container; Docker's own form. */
  protected helperConfig(spec: HelperContainerSpec): Docker.ContainerCreateOptions {
    return dockerHelperConfig(spec);
  }

  get endpoint(): DockerEndpoint {
    return this.client.endpoint;
  }

  get calls(): Record<string, number> {
    return this.client.calls;
  }

  describe(info: DaemonInfo): string {
    return `Docker ${info.ServerVersion ?? '?'}`;
  }

  /** Uncounted: the event watcher's liveness probe, not one of the engine's calls. */
  ping(): Promise<unknown> {
    return this.client.docker.ping();
  }

  info(): Promise<DaemonInfo> {
    return this.client.info();
  }

  async listContainers(all: boolean): Promise<RuntimeContainer[]> {
    return (await this.client.listContainers(all)).map(fromContainerInfo);
  }

  async inspectContainer(ref: string): Promise<RuntimeContainerDetail> {
    return fromInspect(await this.client.inspectContainer(ref));
  }

  async listImages(): Promise<RuntimeImageSummary[]> {
    return (await this.client.listImages()).map(fromImageInfo);
  }

  async inspectImage(ref: string): Promise<RuntimeImage> {
    return fromImageInspect(await this.client.inspectImage(ref));
  }

  imageHistory(ref: string): Promise<HistoryEntry[]> {
    return this.client.imageHistory(ref);
  }

  saveImage(ref: string): Promise<Readable> {
    return this.client.saveImage(ref);
  }

  containerChanges(id: string): Promise<{ Path: string; Kind: number }[] | null> {
    return this.client.containerChanges(id);
  }

  events(filters: Record<string, string[]>, since?: number): Promise<Readable> {
    return this.client.events(filters, since);
  }

  initPidFiles(id: string): string[] {
    return DOCKER_INIT_PID_DIRS.map((d) => `${d}/${id}/init.pid`);
  }

  layout(info: DaemonInfo): StorageLayout {
    if (usesContainerdStore(info)) return 'containerd';
    return (info.Driver ?? 'overlay2') === 'overlay2' ? 'overlay2' : 'unknown';
  }

  layerStore(info: DaemonInfo): LayerStore | null {
    if (usesContainerdStore(info)) return containerdLayerStore(info);
    return overlay2LayerStore(info);
  }

  accessProbeDir(info: DaemonInfo): string {
    return `${(info.DockerRootDir ?? '/var/lib/docker').replace(/\/+$/, '')}/image`;
  }

  mountsInMonitor(_info: DaemonInfo): boolean {
    return false;
  }

  helperBinds(info: DaemonInfo) {
    return helperBinds(info.DockerRootDir ?? '/var/lib/docker');
  }

  /** Whether the daemon makes read-only binds read-only recursively (Docker 25.0, API 1.44). */
  forcesRecursiveReadOnly(info: DaemonInfo): boolean {
    return majorVersion(info.ServerVersion ?? '') >= 25;
  }
}

/** Docker's create options for the helper as the engine asks for it (HelperSpec → HelperContainerSpec → these). */
export function helperContainerConfig(spec: HelperSpec, binds: HelperBind[], name: string): Docker.ContainerCreateOptions {
  return dockerHelperConfig(helperContainerSpec(spec, binds, name));
}
