// The data model every face of Container X-Ray shares: the engine produces it, the CLI prints it,
// the extension adapts it and the webviews draw it. Plain JSON: no classes, no functions, no Dates.

/** The eight kernel namespace types a process lives in. */
export type NamespaceType = 'mnt' | 'pid' | 'net' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';
export const NAMESPACE_TYPES: readonly NamespaceType[] = ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup', 'time'];

/** A field the engine could not read, and why (what is missing and how to get it). */
export interface FieldError {
  field: string;
  reason: string;
}

/** Inode numbers of /proc/PID/ns/*; null where the link could not be read or the kernel lacks the type. */
export type NamespaceInodes = Record<NamespaceType, number | null> & {
  /** Present only where it differs from `pid` (a process that has called unshare(CLONE_NEWPID)). */
  pid_for_children?: number | null;
  /** Present only where it differs from `time`. */
  time_for_children?: number | null;
};

/** The member id the host (PID 1) has in namespace groups. */
export const HOST_MEMBER = 'host';

/** Containers (and the host) that hold the same namespace inode of one type. */
export interface NamespaceGroup {
  type: NamespaceType;
  inode: number;
  /** `host` and/or full container ids, host first, then in snapshot order. */
  members: string[];
}

export interface ProcessInfo {
  hostPid: number;
  /** The PID in the container's innermost PID namespace (last NSpid field); null when unknown. */
  containerPid: number | null;
  ppid: number;
  uid: number | null;
  /** User name from the container's view when known, else the numeric uid as text. */
  user: string;
  /** Short name from /proc/PID/status (`Name:`). */
  name: string;
  /** Full command line, arguments joined by spaces; the name in brackets for kernel threads. */
  command: string;
  /** Set when the command line was longer than the engine reads (64 KiB): `command` is its beginning. */
  commandTruncated?: true;
  /** Threads (from `Threads:`). */
  threads: number | null;
  /** Resident memory (VmRSS) in bytes. */
  rssBytes: number | null;
}

export type CgroupVersion = 1 | 2;
export type CgroupDriver = 'cgroupfs' | 'systemd';

export interface BlkioThrottle {
  /** major:minor */
  device: string;
  readBps: number | null;
  writeBps: number | null;
  readIops: number | null;
  writeIops: number | null;
}

/** Limits that hold a container. null means unlimited, explicitly. */
export interface CgroupLimits {
  /** memory.limit_in_bytes (v1) / memory.max (v2). */
  memoryBytes: number | null;
  /** v1: memory+swap limit (memory.memsw.limit_in_bytes); v2: swap alone (memory.swap.max). */
  memorySwapBytes: number | null;
  /** How memorySwapBytes counts: `memory+swap` (v1) or `swap` (v2). */
  memorySwapMeaning: 'memory+swap' | 'swap';
  /** v1 memory.soft_limit_in_bytes / v2 memory.low (a reservation, not a hard limit). */
  memoryReservationBytes: number | null;
  /** CPU quota expressed as CPUs (quota / period); null when no quota. */
  cpus: number | null;
  cpuQuotaUs: number | null;
  cpuPeriodUs: number | null;
  /** v1 cpu.shares (1024 = default). null on v2. */
  cpuShares: number | null;
  /** v2 cpu.weight (100 = default). null on v1. */
  cpuWeight: number | null;
  /** cpuset CPUs the container may run on ("0-1"); null when unrestricted (all of the host's). */
  cpusetCpus: string | null;
  cpusetMems: string | null;
  /** The host's CPUs for comparison ("0-3"). */
  hostCpus: string | null;
  pidsMax: number | null;
  /** v1 blkio.weight / v2 io.weight (or io.bfq.weight); null when default/not set. */
  blkioWeight: number | null;
  blkioThrottles: BlkioThrottle[];
}

export interface CgroupUsage {
  memoryBytes: number | null;
  /** memory.max_usage_in_bytes (v1) / memory.peak (v2, kernel 5.19+); null where the kernel keeps none. */
  memoryPeakBytes: number | null;
  /** Usage minus inactive file cache: what `docker stats` and kubelet call the working set. */
  workingSetBytes: number | null;
  /** Page cache charged to the cgroup. */
  cacheBytes: number | null;
  rssBytes: number | null;
  swapBytes: number | null;
  /** Times the memory limit was hit (v1 failcnt, v2 memory.events max). */
  memoryLimitHits: number | null;
  /** Processes the OOM killer killed in this cgroup (v1 memory.oom_control oom_kill, v2 memory.events oom_kill). */
  oomKills: number | null;
  /** v2 memory.events `oom`: times an allocation failed at the limit and the OOM killer was called. null on v1. */
  oomEvents: number | null;
  /** v2 memory.events `high`: times usage went over memory.high and was throttled back. null on v1. */
  memoryHighHits: number | null;
  /** v1 memory.oom_control `under_oom`: the cgroup is stuck at its limit now (OOM killer disabled). null on v2. */
  underOom: boolean | null;
  /** v2 pressure stall information (cpu.pressure, memory.pressure, io.pressure); null on v1 or a kernel without PSI. */
  pressure: CgroupPressure | null;
  cpuUsageNs: number | null;
  cpuUserNs: number | null;
  cpuSystemNs: number | null;
  cpuPeriods: number | null;
  cpuThrottledPeriods: number | null;
  cpuThrottledNs: number | null;
  pidsCurrent: number | null;
  ioReadBytes: number | null;
  ioWriteBytes: number | null;
}

/** One line of a PSI file: the share of wall time tasks stalled, averaged over 10, 60 and 300 s, and in total. */
export interface PressureLine {
  /** Percent of the last 10 s (0–100). */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time in microseconds since the cgroup was made. */
  totalUs: number;
}

/** `some`: at least one task stalled; `full`: all non-idle tasks stalled at once (null where the kernel has no such line). */
export interface PressureStat {
  some: PressureLine;
  full: PressureLine | null;
}

export interface CgroupPressure {
  cpu: PressureStat | null;
  memory: PressureStat | null;
  io: PressureStat | null;
}

export interface CgroupInfo {
  version: CgroupVersion;
  driver: CgroupDriver;
  /** The cgroup path relative to the hierarchy root, e.g. `/docker/<id>` or `/system.slice/docker-<id>.scope`. */
  path: string;
  /** Where the files were read from, per controller (v1) or the one directory (v2). */
  dirs: Record<string, string>;
  /** Rootless: the path lies under user.slice. */
  rootless: boolean;
  limits: CgroupLimits;
  usage: CgroupUsage;
}

/** One directory of the overlay stack, bottom first. */
export interface OverlayLayerDir {
  /** The directory as the kernel names it (may be a short link under overlay2/l/). */
  dir: string;
  /** The link resolved to the real directory, when readable. */
  resolved: string | null;
  /** `init` for Docker's `<id>-init` layer, `image` for image layers. */
  role: 'init' | 'image';
  /** The containerd snapshot ID (`…/snapshots/<id>/fs`), on the containerd image store. */
  snapshotId?: string;
}

export interface OverlayMount {
  /** lowerdir entries as the kernel lists them, top first (the kernel's order). */
  lowerDirs: string[];
  /** The same, bottom first, with their role. */
  stack: OverlayLayerDir[];
  upperDir: string | null;
  workDir: string | null;
  mergedDir: string | null;
  /** Where the mount was found: the container's root entry in /proc/PID/mountinfo, or `docker inspect`. */
  source: 'mountinfo' | 'inspect';
  /** Whether `docker inspect` GraphDriver data names the same upper dir (null when not compared). */
  inspectAgrees: boolean | null;
  /** Mount options other than the directories (index=off, xino=…, userxattr …). */
  options: string[];
  /** The upper dir's containerd snapshot ID, on the containerd image store. */
  upperSnapshotId?: string;
}

export type ContainerState = 'running' | 'paused' | 'restarting' | 'exited' | 'created' | 'dead' | 'removing' | 'gone';

export interface ContainerSnapshot {
  id: string;
  name: string;
  image: string;
  imageId: string;
  state: ContainerState;
  status: string;
  /** Host PID of the container's init process; null when not running or unknown. */
  pid: number | null;
  created: number;
  labels: Record<string, string>;
  /** Docker's network mode: `bridge`, `none`, `host`, `container:<id>`, a network name. */
  networkMode: string;
  namespaces: NamespaceInodes | null;
  processes: ProcessInfo[];
  /** Processes the container has beyond those listed (the list is capped); absent when all are listed. */
  processesNotListed?: number;
  cgroup: CgroupInfo | null;
  overlay: OverlayMount | null;
  /** True when near a limit (memory ≥ 90 %, pids ≥ 90 %, or CPU throttled in the last refresh). */
  nearLimit: string[];
  /** The pod it belongs to (a Podman pod, or Kubernetes labels); null for a container in no pod. */
  pod: PodRef | null;
  /** The Compose project and service its labels place it in; null for a container in no Compose project. */
  compose: ComposeRef | null;
  /**
   * What rights its init process holds, read from the kernel (/proc/PID/status, attr, uid_map, mountinfo),
   * with the CIS Docker Benchmark verdicts decided on them; null when not running or not read.
   */
  security: SecurityPosture | null;
  /** How a container that is not running ended (exit code, OOM kill) and what its cgroup counted last; absent while it runs. */
  exit?: ContainerExit;
  /** Its network namespace's interfaces, routes and listening sockets; present when asked for (`snapshot --network`). */
  network?: NetworkInfo | null;
  errors: FieldError[];
}

// ---- Network ----

/** The host-side end of a container's veth pair, and the bridge it is attached to. */
export interface VethPeer {
  /** Its interface index on the host. */
  index: number;
  name: string;
  /** The bridge (or other master) the host end is enslaved to, e.g. `docker0`; null when none. */
  bridge: string | null;
  mtu: number | null;
}

export interface NetworkInterfaceInfo {
  /** As the container named it (printable, bounded). */
  name: string;
  /** Its index inside the namespace (from igmp or if_inet6); null when neither lists it. */
  index: number | null;
  /** Addresses with prefix length, IPv4 first (`172.17.0.2/16`, `fe80::42:acff:fe11:2/64`). */
  addresses: string[];
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  /** The host end of its veth pair; null for loopback, a host-network container, or where none links to it. */
  peer: VethPeer | null;
}

export interface RouteInfo {
  /** `0.0.0.0/0` for the default route. */
  destination: string;
  gateway: string | null;
  iface: string;
  metric: number;
}

export interface ListeningSocket {
  protocol: 'tcp' | 'udp';
  family: 4 | 6;
  address: string;
  port: number;
  inode: number;
  /** The container's processes holding the socket (from their /proc/PID/fd links). */
  processes: { hostPid: number; name: string }[];
}

/** A network namespace as seen from one of its processes; containers that share it share this. */
export interface NetworkInfo {
  /** The net namespace inode it was read in. */
  namespace: number | null;
  /** The namespace is the host's (a `--network host` container). */
  hostNetwork: boolean;
  /** Other containers in the same network namespace (ids). */
  sharedWith: string[];
  interfaces: NetworkInterfaceInfo[];
  routes: RouteInfo[];
  listening: ListeningSocket[];
  errors: FieldError[];
}

/** How a container's last run ended, as its runtime recorded it. */
export interface ContainerExit {
  exitCode: number | null;
  /** The runtime saw the kernel's OOM killer end it (State.OOMKilled). */
  oomKilled: boolean;
  /** ISO 8601 time; null when it never ran. */
  finishedAt: string | null;
  /** The runtime's error text for a run that failed to start (bounded, printable); null when none. */
  error: string | null;
  /** The cgroup's usage counters as last read while it ran (this engine's last look); null when never read. */
  lastUsage?: CgroupUsage | null;
}

// ---- Security posture ----

/** A capability set of a process, by the kernel's names (`CAP_NET_ADMIN`); null where it could not be read. */
export interface CapabilitySets {
  effective: string[];
  permitted: string[];
  /** The bounding set: what the process and its children can ever hold (what the runtime granted). */
  bounding: string[];
  /** Raw masks as the kernel printed them (hex), for a bit the names table does not know. */
  masks: { effective: string; permitted: string; bounding: string };
}

/** One id range of a user namespace's uid_map or gid_map: `inside` … `inside + count - 1` are `outside` … on the host. */
export interface IdMapRange {
  inside: number;
  outside: number;
  count: number;
}

/** A mount of the container whose host source is sensitive (CIS 5.5, 5.17, 5.31) or that makes a kernel tree writable. */
export interface SensitiveMount {
  /** Where the container sees it (display text, bounded). */
  mountPoint: string;
  /** The host path it comes from, matched through the host's mount table; null when no host mount names it. */
  hostPath: string | null;
  /** `runtime-socket`, `host-root`, `host-dir` (a CIS 5.5 directory), `host-device`, `writable-kernel-fs`. */
  kind: 'runtime-socket' | 'host-root' | 'host-dir' | 'host-device' | 'writable-kernel-fs';
  readOnly: boolean;
  /** The mount propagates to or from the host (`shared:N` in mountinfo; CIS 5.19). */
  shared: boolean;
}

export type VerdictStatus = 'pass' | 'fail' | 'unknown';

/** One CIS Docker Benchmark (section 5) recommendation as decided for one container, and why. */
export interface CisVerdict {
  /** The recommendation's number in CIS Docker Benchmark v1.6.0, e.g. `5.4`. */
  id: string;
  title: string;
  status: VerdictStatus;
  /** What it was decided on, in words (`CapBnd holds every capability the kernel has (0–40)`). */
  evidence: string;
}

export interface SecurityPosture {
  /** uid and gid the init process runs as, in the container's user namespace (real ids). */
  uid: number | null;
  gid: number | null;
  /** The name of `uid` in the container's /etc/passwd, when known. */
  user: string | null;
  capabilities: CapabilitySets | null;
  /** Capabilities of the bounding set beyond the runtime's default set, and default ones missing from it. */
  added: string[];
  dropped: string[];
  /** The runtime's default set these are compared with (Docker's 14, Podman's 11). */
  defaultSet: string[];
  /** Every capability the kernel knows (from CAP_LAST_CAP) is in the bounding set: a privileged container. */
  allCapabilities: boolean;
  /** Seccomp mode: 0 disabled, 1 strict, 2 filter; null when unread. */
  seccompMode: 0 | 1 | 2 | null;
  seccompFilters: number | null;
  noNewPrivs: boolean | null;
  /** AppArmor profile (`docker-default (enforce)`) or SELinux label of the process; null where no LSM says. */
  lsmLabel: string | null;
  /** Which module `lsmLabel` is from. */
  lsm: 'apparmor' | 'selinux' | 'other' | null;
  /** The container's user namespace maps, or null when unread; `hostUserNamespace` when they are the identity. */
  uidMap: IdMapRange[] | null;
  gidMap: IdMapRange[] | null;
  /** The user namespace maps every id to itself (the host's user namespace, or one like it): root inside is root outside. */
  hostUserNamespace: boolean | null;
  /** The root filesystem is mounted read-only in the container. */
  readOnlyRoot: boolean | null;
  sensitiveMounts: SensitiveMount[];
  /**
   * The container's and the host's mount tables were both read (and not too long to trace): else
   * `sensitiveMounts` and `sharedMounts` are empty for want of knowing, and the mount verdicts are unknown.
   */
  mountsRead: boolean;
  /** Mount points (other than kernel filesystems and the root) with shared propagation (`shared:N`; CIS 5.19). */
  sharedMounts: string[];
  verdicts: CisVerdict[];
}

/**
 * The Compose project a container belongs to, from its `com.docker.compose.*` labels: display and grouping
 * text only, each string bounded (project and service 128 characters, paths 1024, at most 16 files).
 */
export interface ComposeRef {
  project: string;
  /** The service (com.docker.compose.service); null when unlabelled. */
  service: string | null;
  /** The project's working directory as Compose recorded it (com.docker.compose.project.working_dir). */
  workingDir?: string;
  /** The compose files as Compose recorded them (com.docker.compose.project.config_files). */
  configFiles?: string[];
}

/** The pod a container belongs to, as its runtime or its labels tell. */
export interface PodRef {
  /** `podman`: a Podman pod (from Podman's API); `kubernetes`: io.kubernetes.* labels (cri-dockerd, kubelet-made). */
  source: 'podman' | 'kubernetes';
  /** Podman's pod ID; for Kubernetes the pod UID label, else `namespace/name`. */
  id: string;
  name: string;
  /** The Kubernetes namespace; absent for Podman pods. */
  namespace?: string;
  /** This container is the pod's infra (Podman) or sandbox/pause (Kubernetes) container. */
  infra: boolean;
  /** The container's name inside the pod (io.kubernetes.container.name), when labelled. */
  containerName?: string;
}

/** Containers of one pod in a snapshot. */
export interface PodGroup {
  ref: Omit<PodRef, 'infra' | 'containerName'>;
  /** Member container ids, the infra (sandbox) container first, then in snapshot order. */
  containers: string[];
  /** The infra (Podman) or sandbox/pause (Kubernetes) container's id; null when none is running or listed. */
  infra: string | null;
  /**
   * Namespace types every member holds the same inode of, from the members' namespaces. Empty when a
   * member's namespaces could not be read (then `errors` says which).
   */
  sharedNamespaces: NamespaceType[];
  /** What makes the group incomplete (no infra container, two claiming to be it, unreadable members). */
  errors: FieldError[];
}

/**
 * The machine the containers run on: the daemon's. Where that is not the machine the engine runs on (a
 * remote daemon, Docker Desktop's VM), `thisMachine` names the engine's own machine.
 */
export interface HostFacts {
  /** The engine's machine when the daemon runs elsewhere, else null. */
  thisMachine: { hostname: string; kernel: string; os: string; cpus: number; memoryBytes: number } | null;
  hostname: string;
  kernel: string;
  os: { platform: string; distro: string; release: string; codename: string; arch: string };
  cpus: number;
  memoryBytes: number;
  /** Whether this machine is itself a virtual machine, and which hypervisor. */
  virtualization: { isVirtual: boolean; hypervisor: string | null; evidence: string };
  cgroupVersion: CgroupVersion | null;
  /** True when cgroup v1 and an (empty or used) v2 tree are both mounted. */
  cgroupHybrid: boolean;
  daemon: DaemonFacts | null;
  /** How the engine reads /proc, cgroupfs and /var/lib/docker, and why. */
  access: AccessPath;
  errors: FieldError[];
}

export interface DaemonFacts {
  endpoint: string;
  /** The runtime and its version for people: `Docker 26.1.5`, `Podman 5.4.2 (rootless)`. */
  runtime: string;
  runtimeKind: 'docker' | 'podman';
  /** How it stores images and writable layers: `overlay2`, `containerd`, `podman-overlay`, `unknown`. */
  storageLayout: string;
  serverVersion: string;
  apiVersion: string;
  storageDriver: string;
  cgroupDriver: string;
  cgroupVersion: string;
  kernel: string;
  operatingSystem: string;
  osType: string;
  architecture: string;
  cpus: number;
  memoryBytes: number;
  rootDir: string;
  rootless: boolean;
  /** The containerd snapshotter stores images (Docker 25+ option): no GraphDriver paths in inspect. */
  containerdSnapshotter: boolean;
  /** The daemon's kernel is not this machine's (Docker Desktop, a remote host). */
  runsElsewhere: boolean;
  /** The daemon runs inside a VM (its kernel or OS differs from the host's, or the daemon says so). */
  runsInVm: boolean;
  runsElsewhereReason: string | null;
}

export interface AccessPath {
  mode: 'direct' | 'helper' | 'daemon-only';
  reason: string;
  /** The image the helper container ran (as chosen) and its image ID, once one ran. */
  helper?: { image: string; imageId: string | null };
}

export interface Snapshot {
  takenAt: string;
  host: HostFacts;
  containers: ContainerSnapshot[];
  namespaceGroups: NamespaceGroup[];
  /** Containers grouped by the pod they belong to (only containers in a pod; in snapshot order of their first member). */
  pods: PodGroup[];
  /** The process whose namespaces stand for the host's: PID 1, or a stand-in when PID 1 is not readable. */
  hostNamespacesFrom: string;
  /** Counts of daemon API calls this snapshot made, by kind (list, inspect, info …). */
  daemonCalls: Record<string, number>;
  errors: FieldError[];
}

// ---- Layers ----

export type ChangeKind = 'added' | 'modified' | 'deleted';
export type FileType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'socket' | 'other';

export interface LayerChange {
  /** Absolute path inside the image, e.g. `/app/x`. */
  path: string;
  kind: ChangeKind;
  type: FileType;
  /** Bytes of content (0 for directories and links; for `deleted`, 0). */
  sizeBytes: number;
  /** A directory whose lower contents this layer hides. */
  opaque?: true;
  linkTarget?: string;
  mode?: number;
}

export interface ImageLayer {
  /** 0 = the bottom layer. */
  index: number;
  diffId: string;
  chainId: string;
  /** The history entry that made it. */
  createdBy: string;
  createdAt: string | null;
  comment: string | null;
  /** Sum of content bytes the layer holds. */
  sizeBytes: number;
  /** History entries without a layer (ENV, CMD …) directly above this one, in order. */
  metadataAbove: { createdBy: string; createdAt: string | null }[];
  changes: LayerChange[];
  /** Bytes this layer holds that a later layer overwrote or deleted. */
  wastedBytes: number;
  /** Where the listing came from (`content-store`: the layer blob in containerd's content store). */
  source: 'tar-split' | 'layer-dir' | 'image-tar' | 'helper' | 'content-store';
  /** The containerd snapshot holding this layer unpacked, where known (a running container's mount). */
  snapshotId?: string;
}

export interface Inefficiency {
  path: string;
  /** Layers holding the path. */
  count: number;
  cumulativeSizeBytes: number;
}

export interface LayerReport {
  image: { id: string; tags: string[]; ref: string };
  container: { id: string; name: string } | null;
  layers: ImageLayer[];
  /** History entries below the first layer that made no layer (rare). */
  metadataBelow: { createdBy: string; createdAt: string | null }[];
  upper: { dir: string | null; changes: LayerChange[]; sizeBytes: number; snapshotId?: string } | null;
  /** Σ per-path smallest size / Σ per-path cumulative size (dive's score); 1 when nothing is duplicated. */
  efficiency: number;
  /** Cumulative size of every path held by two or more layers. */
  wastedBytes: number;
  /** wastedBytes / size of the layers above the first. */
  userWastedPercent: number;
  sizeBytes: number;
  userSizeBytes: number;
  inefficiencies: Inefficiency[];
  errors: FieldError[];
}

// ---- Images ----

export interface ImageLayerFact {
  diffId: string;
  chainId: string;
  sizeBytes: number | null;
  /** Other local images whose layer stacks hold this same chain (bytes stored once, used by several). */
  sharedWith: string[];
}

export interface ImageFacts {
  id: string;
  tags: string[];
  repoDigests: string[];
  created: string;
  sizeBytes: number;
  layers: ImageLayerFact[];
  /** Bytes of this image's layers that other local images also use. */
  sharedBytes: number;
  /** Containers (ids) created from it. */
  containers: string[];
}

// ---- Efficiency gate (dive's CI rules) ----

export interface EfficiencyRules {
  lowestEfficiency: number | null;
  highestWastedBytes: number | null;
  highestUserWastedPercent: number | null;
}

export interface RuleResult {
  rule: keyof EfficiencyRules;
  limit: number;
  actual: number;
  passed: boolean;
  message: string;
}

export interface EfficiencyVerdict {
  image: string;
  passed: boolean;
  results: RuleResult[];
  efficiency: number;
  wastedBytes: number;
  userWastedPercent: number;
}
