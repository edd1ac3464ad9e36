// Which of a container's mounts expose the host: each mount of the container's own mount table is traced to
// the host path it comes from through the host's mount table (the same filesystem, by device, and the
// mount's root inside it), so a bind mount is named by where it really is, whatever the container calls it.
import * as path from 'node:path';
import { SensitiveMount } from '../../shared/model';
import { printable, truncate } from '../../shared/text';
import { MountinfoEntry } from '../procfs/mountinfo';

/** Filesystems the kernel makes per mount (or per namespace): never a window onto a host directory. */
const KERNEL_FS = new Set([
  'proc',
  'sysfs',
  'cgroup',
  'cgroup2',
  'devpts',
  'mqueue',
  'securityfs',
  'debugfs',
  'tracefs',
  'bpf',
  'fusectl',
  'configfs',
  'pstore',
  'hugetlbfs',
  'binfmt_misc',
  'efivarfs',
  'nsfs',
]);

/** Host directories CIS Docker Benchmark 5.5 names, and the runtimes' storage roots. */
const SENSITIVE_DIRS = [
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib64',
  '/proc',
  '/sys',
  '/usr',
  '/root',
  '/var/lib/docker',
  '/var/lib/containerd',
  '/var/lib/containers',
  '/var/lib/kubelet',
  '/run/containerd',
];

/** Sockets through which a container could drive a container runtime (and so the host). */
const RUNTIME_SOCKETS = new Set([
  'docker.sock',
  'podman.sock',
  'containerd.sock',
  'crio.sock',
  'cri-dockerd.sock',
  'dockershim.sock',
  'buildkitd.sock',
]);

/** The most of a mount point shown. */
const MOUNT_TEXT_MAX = 512;
/** Findings listed at most (a container that can mount can make any number). */
export const SENSITIVE_MAX = 64;

/** A runtime's own files for a container (its hosts, hostname, resolv.conf, shm), or a volume it made. */
function runtimeManaged(hostPath: string): boolean {
  return (
    /\/(containers|overlay-containers)\/[0-9a-f]{64}(\/|$)/.test(hostPath) ||
    /^\/var\/lib\/(docker|containers\/storage)\/volumes\//.test(hostPath) ||
    /\/\.local\/share\/containers\/storage\/volumes\//.test(hostPath)
  );
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * The host path a container's mount comes from: a host mount of the same filesystem (device) whose root
 * holds the mount's root, the deepest such root first, then the shortest mount point. null when the host
 * shows none (a filesystem only the container mounted).
 */
export function hostPathOf(entry: MountinfoEntry, hostMounts: readonly MountinfoEntry[]): string | null {
  let best: MountinfoEntry | null = null;
  for (const h of hostMounts) {
    if (h.device !== entry.device || !under(entry.root, h.root)) continue;
    if (!best || h.root.length > best.root.length || (h.root.length === best.root.length && h.mountPoint.length < best.mountPoint.length))
      best = h;
  }
  if (!best) return null;
  const rest = best.root === '/' ? entry.root : entry.root.slice(best.root.length);
  const joined = path.posix.join(best.mountPoint, rest);
  // A whole filesystem bound (`-v /boot:/x`) is `/boot`, not `/boot/`.
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

/**
 * The devices every OCI runtime gives a container (runtime-spec's default devices). Podman binds the host's
 * own nodes where it cannot make them (rootless) and masks /proc files with the host's /dev/null: no exposure.
 */
const DEFAULT_DEVICES = new Set([
  '/dev/null',
  '/dev/zero',
  '/dev/full',
  '/dev/random',
  '/dev/urandom',
  '/dev/tty',
  '/dev/console',
  '/dev/ptmx',
]);

function classify(hostPath: string, mountPoint: string): SensitiveMount['kind'] | null {
  if (RUNTIME_SOCKETS.has(path.posix.basename(hostPath)) || RUNTIME_SOCKETS.has(path.posix.basename(mountPoint))) return 'runtime-socket';
  if (hostPath === '/') return 'host-root';
  if (DEFAULT_DEVICES.has(hostPath)) return null;
  if (under(hostPath, '/dev')) return 'host-device';
  if (SENSITIVE_DIRS.some((d) => under(hostPath, d))) return 'host-dir';
  return null;
}

/**
 * The mounts of a container (its own /proc/PID/mountinfo) that expose the host: runtime sockets, the host's
 * root, the directories CIS 5.5 names and the runtimes' storage, host devices, and a writable /sys or /proc/sys.
 * The container's root filesystem and the runtime's own files for it are not counted.
 */
export function findSensitiveMounts(container: readonly MountinfoEntry[], hostMounts: readonly MountinfoEntry[] | null): SensitiveMount[] {
  const out: SensitiveMount[] = [];
  let root: MountinfoEntry | null = null;
  for (const e of container) if (e.mountPoint === '/') root = e;
  // What is mounted on top at each mount point (the last entry listed), for the read-only cover checks.
  const top = new Map<string, MountinfoEntry>();
  for (const e of container) top.set(e.mountPoint, e);
  // Every entry counts, covered ones too: a socket bound in and then covered is still the container's to use.
  for (const e of container) {
    if (e === root || e.mountPoint === '/') continue;
    if (out.length >= SENSITIVE_MAX) break;
    const readOnly = e.mountOptions.includes('ro');
    const shared = e.optional.some((o) => o.startsWith('shared:'));
    const mountPoint = truncate(printable(e.mountPoint), MOUNT_TEXT_MAX);
    if (KERNEL_FS.has(e.fsType)) {
      const writable =
        !readOnly &&
        ((e.fsType === 'sysfs' && e.mountPoint === '/sys') ||
          (e.fsType === 'proc' && e.mountPoint === '/proc' && !roCovered(top, '/proc/sys')));
      if (writable) out.push({ mountPoint, hostPath: null, kind: 'writable-kernel-fs', readOnly, shared });
      continue;
    }
    // The container's own filesystem, bound elsewhere inside it.
    if (root && e.device === root.device && under(e.root, root.root)) continue;
    if (!hostMounts) continue;
    const hostPath = hostPathOf(e, hostMounts);
    if (hostPath === null || runtimeManaged(hostPath)) continue;
    const kind = classify(hostPath, e.mountPoint);
    if (kind) out.push({ mountPoint, hostPath: truncate(printable(hostPath), MOUNT_TEXT_MAX), kind, readOnly, shared });
  }
  return out;
}

/** A read-only mount covers `at` (Docker and Podman remount /proc/sys read-only over a writable /proc). */
function roCovered(top: Map<string, MountinfoEntry>, at: string): boolean {
  const e = top.get(at);
  return e !== undefined && e.mountOptions.includes('ro');
}

/** Bind mounts (not the kernel's own filesystems, not the container's root) that propagate to and from the host. */
export function sharedMounts(container: readonly MountinfoEntry[]): string[] {
  const out: string[] = [];
  for (const e of container) {
    if (out.length >= SENSITIVE_MAX) break;
    if (e.mountPoint === '/' || KERNEL_FS.has(e.fsType)) continue;
    if (e.optional.some((o) => o.startsWith('shared:'))) out.push(truncate(printable(e.mountPoint), MOUNT_TEXT_MAX));
  }
  return out;
}
