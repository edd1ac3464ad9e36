// Low-level pieces of the confined reader: open flags Node does not name, fd paths, identity checks and the
// errors it raises. Node has no openat(2); `/proc/self/fd/N/name` is the same thing, since the kernel
// resolves it from the directory fd N holds and not from a path someone can swap meanwhile.
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { ConfinedReadError, ConfinedRefusal } from '../util/hostFiles';

/**
 * Linux O_PATH: an fd that names an inode without opening it. open(2) with it calls no driver or
 * filesystem open routine, so it neither blocks on a FIFO nor wakes a device; fstat, readlink and
 * re-opening through /proc/self/fd work on it.
 */
export const O_PATH = 0o10000000;
export const { O_RDONLY, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK, O_NOCTTY } = fs.constants;

/** Links followed on one resolution at most, as the kernel's MAXSYMLINKS. */
export const MAX_LINKS = 40;

const FD_PREFIX = '/proc/self/fd/';

/** The path that reaches what fd holds (the magic link the kernel follows to that very inode). */
export function fdPath(fd: number): string {
  return `${FD_PREFIX}${fd}`;
}

/** The path of `name` inside the directory fd holds; `name` is one component, as bytes. */
export function childPath(fd: number, name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${FD_PREFIX}${fd}/`), name]);
}

export const openAsync = promisify(fs.open) as (path: fs.PathLike, flags: number) => Promise<number>;
export const fstatAsync = promisify(fs.fstat) as (fd: number) => Promise<fs.Stats>;
export const readAsync = (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
export const closeAsync = promisify(fs.close);
export const readlinkBufferAsync = (p: fs.PathLike): Promise<Buffer> =>
  new Promise((resolve, reject) => fs.readlink(p, { encoding: 'buffer' }, (err, target) => (err ? reject(err) : resolve(target))));
export const statfsAsync = promisify(fs.statfs);

/** Closes an fd and ignores failure (it is being given up on every path out). */
export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed or never valid: nothing left to release.
  }
}

/** Whether two stats name the same inode. */
export function sameInode(a: fs.Stats, b: fs.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** What a file is, for a refusal ("/etc/passwd is a FIFO"). */
export function describeType(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFile()) return 'a regular file';
  return 'not a regular file';
}

/**
 * Kernel filesystems whose "regular files" are interfaces, not data: a container path can lead into its
 * own /proc or /sys (with `--pid=host`, to the host's processes), where the engine's rights would read
 * what the container cannot (another process's environ, kcore) or have side effects (kmsg consumes).
 */
const KERNEL_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x0027e0eb, 'cgroupfs'],
  [0x63677270, 'cgroup2fs'],
  [0xcafe4a11, 'bpffs'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x6165676c, 'pstore'],
  [0x42494e4d, 'binfmt_misc'],
]);

/** The kernel filesystem `type` (statfs f_type) is, or null for one that holds ordinary files. */
export function kernelFilesystem(type: number): string | null {
  return KERNEL_FILESYSTEMS.get(type) ?? null;
}

/** A ConfinedReadError with its person-readable message. */
export function refuse(refusal: ConfinedRefusal, code: string, file: string, message: string): ConfinedReadError {
  return new ConfinedReadError(refusal, code, file, message);
}

/** Turns a system error met while resolving or reading `file` into a ConfinedReadError ('io'). */
export function ioError(err: unknown, file: string): ConfinedReadError {
  if (err instanceof ConfinedReadError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  switch (code) {
    case 'ENOENT':
    case 'ESRCH':
      return refuse('io', code, file, `${file} does not exist`);
    case 'ENOTDIR':
      return refuse('io', code, file, `${file} does not exist (a component on the way is not a directory)`);
    case 'ELOOP':
      // O_NOFOLLOW met a link where none was expected: it changed between two looks.
      return refuse('swapped', code, file, `${file} changed while it was read: not read`);
    case 'EACCES':
    case 'EPERM':
      return refuse('io', code, file, `permission denied reading ${file}: needs root`);
    default:
      return refuse('io', code, file, `${file}: ${(err as Error | undefined)?.message ?? code}`);
  }
}
