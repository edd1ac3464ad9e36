import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { FileType } from '../../shared/model';
import { existsConfinedAt, readConfinedAt } from '../confined/read';
import { walkTreeConfined } from '../confined/walk';

/** One entry of a directory tree (a layer dir), symlinks not followed. */
export interface TreeEntry {
  /** Path relative to the walked directory, `/`-separated. */
  name: string;
  type: FileType;
  /** Bytes of a regular file, else 0. */
  size: number;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** A character device 0/0: how overlayfs records a deletion. */
  whiteout: boolean;
  linkTarget?: string;
}

/** Bounds on one read of a file a container or an image controls. */
export interface ReadLimits {
  /** Bytes read at most; a longer file comes back cut there, with `truncated` set. */
  maxBytes: number;
  /** Milliseconds the read may take in all (resolution, open, read). */
  deadlineMs: number;
}

/** What a confined read returns. */
export interface ConfinedFile {
  data: Buffer;
  /** The file held more than `maxBytes`. */
  truncated: boolean;
}

/**
 * A root whose contents someone else wrote: a process's root (`/proc/PID/root`, resolved as that process
 * sees its filesystem) or a layer / writable-layer directory on the host.
 */
export type ConfinedRoot = { kind: 'process'; pid: number } | { kind: 'dir'; dir: string };

/** Why a confined read refused or failed; `message` is for a person ("/etc/passwd is a FIFO: not read"). */
export type ConfinedRefusal =
  | 'not-regular' // a FIFO, device, socket or directory where a regular file was asked for
  | 'link-escape' // a link that leads out of the root (never followed)
  | 'link-loop' // too many links on the way
  | 'timeout' // the deadline passed
  | 'swapped' // a component changed while it was resolved (a race): nothing read
  | 'io'; // anything else (ENOENT, EACCES …: see `code`)

// Declared before ConfinedReadError: a class must exist before another extends it.
/** An error from a host file read, with a reason a person can act on. */
export class HostFileError extends Error {
  constructor(
    readonly code: string,
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'HostFileError';
  }
}

export class ConfinedReadError extends HostFileError {
  constructor(
    readonly refusal: ConfinedRefusal,
    code: string,
    file: string,
    message: string,
  ) {
    super(code, file, message);
    this.name = 'ConfinedReadError';
  }
}

export interface TreeWalkOptions {
  /** Entries one walk may list at most (default: the walker's own bound); past it the walk fails with EFBIG. */
  maxEntries?: number;
  signal?: AbortSignal;
  /** Called now and then with the number of entries so far. */
  onProgress?: (entries: number) => void;
}

/**
 * Where the engine reads host files (/proc, cgroupfs, /var/lib/docker) from. Parsers never touch it:
 * readers fetch text through it, so the same parsers serve direct reads and a helper container's batch.
 */
export interface HostFiles {
  /** A label for messages: `direct` or `helper`. */
  readonly kind: 'direct' | 'helper';
  readText(file: string): Promise<string>;
  readBytes(file: string): Promise<Buffer>;
  readLink(file: string): Promise<string>;
  listDir(dir: string): Promise<string[]>;
  /**
   * Every entry under `dir` (not `dir` itself), for layer walks; `[]` when `dir` does not exist. Where
   * absent, layer walks read the engine's own filesystem.
   */
  walkTree?(dir: string, opts?: TreeWalkOptions): Promise<TreeEntry[]>;
  /** Whether `file` exists, without following a final symlink (lstat); rejects on errors other than ENOENT. */
  exists?(file: string): Promise<boolean>;
  /**
   * Reads `relPath` (absolute inside the root, e.g. `/etc/passwd`) as the root's owner would see it: every
   * component resolved inside `root`, no link followed out of it, only a regular file read, opened without
   * blocking, at most `limits.maxBytes`, within `limits.deadlineMs`. Rejects with a ConfinedReadError.
   */
  readConfined(root: ConfinedRoot, relPath: string, limits: ReadLimits): Promise<ConfinedFile>;
  /**
   * Whether `relPath` exists inside `root`, resolved as readConfined does but without following a final
   * link (as lstat); false when a component is missing or not a directory. Where absent, `exists` on the
   * joined path stands in.
   */
  existsConfined?(root: ConfinedRoot, relPath: string): Promise<boolean>;
  /**
   * At most `maxBytes` of a kernel-generated file whose content someone else controls (a process's
   * /proc/PID/cmdline), without reading the rest; `truncated` when there was more. Where absent,
   * readHead() below reads the whole file and cuts it.
   */
  readHead?(file: string, maxBytes: number): Promise<ConfinedFile>;
}

/** At most `maxBytes` of `file`: through `files.readHead` where it has one, else read whole and cut. */
export async function readHead(files: HostFiles, file: string, maxBytes: number): Promise<ConfinedFile> {
  if (files.readHead) return files.readHead(file, maxBytes);
  const data = await files.readBytes(file);
  return data.length > maxBytes ? { data: Buffer.from(data.subarray(0, maxBytes)), truncated: true } : { data, truncated: false };
}

/** Reads at most `maxBytes` (and one more, to tell whether there was more) of a file, synchronously. */
function readHeadSync(file: string, maxBytes: number): ConfinedFile {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(fd, buf, off, buf.length - off, null);
      if (n === 0) break;
      off += n;
    }
    return { data: Buffer.from(buf.subarray(0, Math.min(off, maxBytes))), truncated: off > maxBytes };
  } finally {
    fs.closeSync(fd);
  }
}

/** How long an existence check inside a confined root may take. */
const EXISTS_DEADLINE_MS = 2000;

/** Whether an error means the thing read no longer exists (a process or container that went away). */
export function isGone(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ESRCH';
}

export function isPermission(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'EACCES' || code === 'EPERM';
}

export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/**
 * What is missing when `file` could not be read, phrased for a person; `reader` is the HostFiles kind that
 * read it (a helper's reader is never told to use the helper).
 */
export function describeReadError(err: unknown, file: string, reader: HostFiles['kind'] = 'direct'): string {
  const code = errorCode(err);
  if ((code === 'EACCES' || code === 'EPERM') && reader === 'helper') {
    const why = err instanceof Error && err.message ? `: ${err.message}` : '';
    return `permission denied reading ${file} in the helper container${why}`;
  }
  if (code === 'EACCES' || code === 'EPERM') {
    if (/^\/proc\/\d+\/(ns|root|mountinfo|environ)/.test(file)) {
      return `permission denied reading ${file}: needs root or CAP_SYS_PTRACE (or the helper container, setting containerXray.access)`;
    }
    if (file.includes('/docker/') || file.startsWith('/var/lib/')) {
      return `permission denied reading ${file}: needs root or CAP_DAC_READ_SEARCH (or the helper container, setting containerXray.access)`;
    }
    return `permission denied reading ${file}: needs root`;
  }
  if (code === 'ENOENT' || code === 'ESRCH') return `${file} does not exist (the process or container may have exited)`;
  if (err instanceof Error) return `${file}: ${err.message}`;
  return `${file}: ${String(err)}`;
}

function inMemory(file: string): boolean {
  return file.startsWith('/proc/') || file.startsWith('/sys/');
}

const scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a kernel-generated file with open/read/close into one reused buffer: no fstat (their sizes read
 * as 0 or 4096 anyway) and no allocation per read.
 */
function readSmallSync(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    // These are seq files: a read hands out about a page of whole records, not all that is asked for
    // (a mountinfo or a cgroup.procs longer than a page comes in several reads), so read on until 0.
    let used = 0;
    let parts: Buffer[] | null = null;
    for (;;) {
      if (used === scratch.length) {
        // Longer than the scratch buffer (a big mountinfo or memory.stat): gather the rest.
        parts ??= [];
        parts.push(Buffer.from(scratch));
        used = 0;
      }
      const n = fs.readSync(fd, scratch, used, scratch.length - used, null);
      if (n === 0) break;
      used += n;
    }
    if (!parts) return scratch.toString('utf8', 0, used);
    parts.push(Buffer.from(scratch.subarray(0, used)));
    return Buffer.concat(parts).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** A synchronous read as a settled promise (an error becomes a rejection, as with fs.promises). */
function settle<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** Reads the files of the machine the engine runs on, optionally under a prefix (e.g. `/host`). */
export class DirectHostFiles implements HostFiles {
  readonly kind = 'direct' as const;
  constructor(private readonly root = '/') {}

  private at(file: string): string {
    return this.root === '/' ? file : path.join(this.root, file);
  }

  // /proc and /sys are generated in memory by the kernel and never wait on a disk: reading them
  // synchronously costs a tenth of the CPU of fs.promises (a snapshot of 50 containers makes ~2 500 reads).
  readText(file: string): Promise<string> {
    return inMemory(file) ? settle(() => readSmallSync(this.at(file))) : fsp.readFile(this.at(file), 'utf8');
  }

  // Only for kernel files (in memory, never blocking); anything else goes through readConfined.
  readHead(file: string, maxBytes: number): Promise<ConfinedFile> {
    if (!inMemory(file)) return Promise.reject(new HostFileError('EINVAL', file, `${file}: not a kernel file`));
    return settle(() => readHeadSync(this.at(file), maxBytes));
  }

  readBytes(file: string): Promise<Buffer> {
    return fsp.readFile(this.at(file));
  }

  readLink(file: string): Promise<string> {
    return inMemory(file) ? settle(() => fs.readlinkSync(this.at(file))) : fsp.readlink(this.at(file));
  }

  listDir(dir: string): Promise<string[]> {
    return inMemory(dir) ? settle(() => fs.readdirSync(this.at(dir))) : fsp.readdir(this.at(dir));
  }

  // Layer and writable-layer directories are written by others: walked from open directory fds, no
  // link followed (confined/walk.ts).
  walkTree(dir: string, opts?: TreeWalkOptions): Promise<TreeEntry[]> {
    return walkTreeConfined(this.at(dir), opts);
  }

  readConfined(root: ConfinedRoot, relPath: string, limits: ReadLimits): Promise<ConfinedFile> {
    return readConfinedAt(this.rootPath(root), relPath, limits, root.kind === 'process' ? 'the container' : 'the directory');
  }

  existsConfined(root: ConfinedRoot, relPath: string): Promise<boolean> {
    return existsConfinedAt(this.rootPath(root), relPath, EXISTS_DEADLINE_MS);
  }

  /** Where a confined root is on this machine: a process's root is its /proc/PID/root magic link. */
  private rootPath(root: ConfinedRoot): string {
    return this.at(root.kind === 'process' ? `/proc/${root.pid}/root` : root.dir);
  }

  async exists(file: string): Promise<boolean> {
    try {
      await fsp.lstat(this.at(file));
      return true;
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      throw err;
    }
  }
}
