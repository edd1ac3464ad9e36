// The runtime seam: what the engine needs from a container runtime, as neutral records. Each runtime
// (Docker with the overlay2 graph driver, Docker with the containerd image store, Podman rootful or
// rootless) implements it once; nothing above this seam sees a runtime's own API types or storage paths.
import type { Readable } from 'node:stream';
import type { ContainerExit, PodRef } from '../../shared/model';
import type { HelperBind } from '../access/paths';
import type { ImageConfig } from '../layers/imageTar';
import type { RawEntry } from '../layers/tarHeader';
import type { HostFiles } from '../util/hostFiles';
import type { DaemonInfo, HistoryEntry } from './docker/client';
import type { DockerEndpoint } from './docker/context';

/** The runtime families the engine knows; `auto` detects it from the daemon's /version. */
export type RuntimeKind = 'docker' | 'podman';
export type RuntimeSetting = RuntimeKind | 'auto';
export const RUNTIME_SETTINGS: readonly RuntimeSetting[] = ['auto', 'docker', 'podman'];

/** How a runtime keeps image layers and writable layers on disk. */
export type StorageLayout = 'overlay2' | 'containerd' | 'podman-overlay' | 'unknown';

/** A container as the runtime's list call tells it. */
export interface RuntimeContainer {
  id: string;
  /** Its names, without Docker's leading slash; the first is the one shown. */
  names: string[];
  /** The image as the container was created from it (a name or an ID). */
  image: string;
  imageId: string;
  /** The runtime's state word: running, paused, exited, created … */
  state: string;
  status: string;
  /** Unix seconds. */
  created: number;
  labels: Record<string, string>;
  /** `bridge`, `none`, `host`, `container:<id>`, a network name (Docker's network mode). */
  networkMode: string;
  pod: PodRef | null;
  /** Host PID of its init when the list call tells it (Podman's does), checked before use. */
  pid?: number;
}

/** One container inspected. */
export interface RuntimeContainerDetail {
  id: string;
  name: string;
  /** The image reference it was created with (`Config.Image`). */
  imageRef: string;
  imageId: string;
  running: boolean;
  /** Host PID of its init; 0 when not running. */
  pid: number;
  /** The storage driver's own account of the container's root (overlay dirs), when the runtime gives one. */
  graphDriver: { name: string; data: Record<string, string> } | null;
  /** How it last ended, as the runtime recorded it (State.ExitCode, OOMKilled, FinishedAt, Error). */
  exit: ContainerExit;
  /** Its labels (Config.Labels), where the runtime's inspect gives them. */
  labels?: Record<string, string>;
}

export interface RuntimeImageSummary {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** Unix seconds. */
  created: number;
  sizeBytes: number;
}

export interface RuntimeImage extends RuntimeImageSummary {
  /** The layers' diff IDs, bottom first. */
  diffIds: string[];
  os?: string;
  architecture?: string;
  variant?: string;
}

/** What a runtime's storage gives for an image's layers, read from the daemon's machine. */
export interface StoreRead {
  /** Listings by layer index (bottom first), for the layers asked for and found. */
  layers: Map<number, RawEntry[]>;
  /** The image's config, when the store holds it and it was asked for. */
  config: ImageConfig | null;
  /** How the listings were read (the report's `source`). */
  source: 'tar-split' | 'content-store';
  /** Why some layers could not be read (a permission, described), when that is why they are missing. */
  denied?: string;
}

/** Where a runtime keeps image layers: read straight from its files, without an export. */
export interface LayerStore {
  readonly layout: StorageLayout;
  /**
   * Reads the listings of the layers `want` (indexes into diffIds) and, when `config` is asked, the image's
   * config. A layer the store lacks or may not read is left out (`denied` says why); a store that cannot
   * be read at all rejects (the caller exports the image instead).
   */
  read(
    files: HostFiles,
    image: RuntimeImage,
    want: number[],
    opts: { config: boolean; signal?: AbortSignal; onLayer?: (index: number, entries: number) => void },
  ): Promise<StoreRead>;
  /** Layer sizes by chain ID, where the store records them (the Images view). */
  sizes?(files: HostFiles, images: RuntimeImage[]): Promise<Map<string, number>>;
}

/** The helper container as the engine asks for it; each runtime turns it into its own create call. */
export interface HelperContainerSpec {
  name: string;
  /** The image ID (never a name: a retag after the choice cannot change what runs). */
  image: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  labels: Record<string, string>;
  binds: { host: string; helper: string; propagation: 'rslave' | 'rprivate'; forceRecursiveReadOnly: boolean }[];
  memoryBytes: number;
  pidsLimit: number;
  tmpfs: Record<string, string>;
  /** The daemon confines containers with AppArmor / SELinux: lift it for the helper (it reads host files). */
  apparmorUnconfined: boolean;
  selinuxDisabled: boolean;
  /**
   * Keep the script's stdin open when the attached client goes, so a later run of the same user can attach
   * again (a helper kept for reuse, which ends by its idle time). False: stdin closes with the client, and
   * the helper with its owner.
   */
  keepStdin: boolean;
}

/** Creating, attaching, starting and removing the helper container through the runtime's API. */
export interface HelperContainers {
  /**
   * Whether a helper made with keepStdin keeps its stdin once the attached client goes, so a later run can
   * attach to it again (Docker: StdinOnce false). Podman's API closes it with the attach connection.
   */
  readonly reattachable: boolean;
  /** The body of the runtime's create call for this spec (what a helper is made of, for helperFingerprint). */
  config(spec: HelperContainerSpec): unknown;
  /** Creates the container; rejects with the runtime's error (statusCode, json.message). */
  create(spec: HelperContainerSpec): Promise<string>;
  /** The container's stdin/stdout/stderr, multiplexed as Docker's attach sends them. */
  attach(id: string): Promise<NodeJS.ReadWriteStream>;
  start(id: string): Promise<void>;
  /** Resolves once the container is removed (AutoRemove); rejects with a 404 when it is gone already. */
  waitRemoved(id: string): Promise<void>;
  /** Kills and removes it. */
  remove(id: string): Promise<void>;
}

/** One container runtime, reached through its API. */
export interface Runtime {
  readonly kind: RuntimeKind;
  readonly endpoint: DockerEndpoint;
  /** The capabilities a container of this runtime gets when nothing is added or dropped. */
  readonly defaultCapabilities: readonly string[];
  /** API calls made, by kind (a snapshot reports how many it made). */
  readonly calls: Record<string, number>;
  /** Product and version for people: `Docker 26.1.5`, `Podman 5.4.2`. */
  describe(info: DaemonInfo): string;
  ping(): Promise<unknown>;
  info(): Promise<DaemonInfo>;
  listContainers(all: boolean): Promise<RuntimeContainer[]>;
  inspectContainer(ref: string): Promise<RuntimeContainerDetail>;
  listImages(): Promise<RuntimeImageSummary[]>;
  inspectImage(ref: string): Promise<RuntimeImage>;
  imageHistory(ref: string): Promise<HistoryEntry[]>;
  /** The image as `docker save` writes it, streamed. */
  saveImage(ref: string): Promise<Readable>;
  containerChanges(id: string): Promise<{ Path: string; Kind: number }[] | null>;
  /** The event stream (Docker's event objects, one JSON per line). */
  events(filters: Record<string, string[]>, since?: number): Promise<Readable>;
  /** Files on the daemon's machine that may hold a container's init PID (each checked against its cgroup). */
  initPidFiles(id: string): string[];
  /** The storage layout of this daemon, from its /info. */
  layout(info: DaemonInfo): StorageLayout;
  /** Where image layers are read from without an export; null when this layout has no readable store. */
  layerStore(info: DaemonInfo): LayerStore | null;
  /** Whether containers' roots are mounted in the runtime's own mount namespace (rootless Podman), not the host's. */
  mountsInMonitor(info: DaemonInfo): boolean;
  /** A directory of the runtime's storage only root may list: whether this process can is whether it reads directly. */
  accessProbeDir(info: DaemonInfo): string;
  /** Host paths the helper container binds, read-only. */
  helperBinds(info: DaemonInfo): HelperBind[];
  /** Whether read-only binds of the helper can be made read-only recursively (sub-mounts too). */
  forcesRecursiveReadOnly(info: DaemonInfo): boolean;
  readonly helpers: HelperContainers;
}
