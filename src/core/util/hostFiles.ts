import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { FileType } from '../../shared/model';
import { walkTree } from '../layers/walk';

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

export interface TreeWalkOptions {
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
}

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

/** What is missing when `file` could not be read, phrased for a person. */
export function describeReadError(err: unknown, file: string): string {
  const code = errorCode(err);
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
    // These are seq files: a read fills the buffer unless the file ends first, so a short read is the end.
    let n = fs.readSync(fd, scratch, 0, scratch.length, null);
    if (n < scratch.length) return scratch.toString('utf8', 0, n);
    // Longer than the scratch buffer (a big mountinfo or memory.stat): gather the rest.
    const parts = [Buffer.from(scratch)];
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      parts.push(chunk.subarray(0, n));
    }
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

  readBytes(file: string): Promise<Buffer> {
    return fsp.readFile(this.at(file));
  }

  readLink(file: string): Promise<string> {
    return inMemory(file) ? settle(() => fs.readlinkSync(this.at(file))) : fsp.readlink(this.at(file));
  }

  listDir(dir: string): Promise<string[]> {
    return inMemory(dir) ? settle(() => fs.readdirSync(this.at(dir))) : fsp.readdir(this.at(dir));
  }

  walkTree(dir: string, opts?: TreeWalkOptions): Promise<TreeEntry[]> {
    return walkTree(this.at(dir), opts);
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
