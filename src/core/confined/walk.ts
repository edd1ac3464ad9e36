// A tree walk of a layer or writable-layer directory that a running container can change while it is
// walked. It goes from open directory fds, never from paths: each entry is lstat'ed as
// /proc/self/fd/<dir fd>/<name>, and a directory is entered by opening exactly that name with
// O_NOFOLLOW|O_DIRECTORY and checking that the fd holds the inode the lstat saw. A container that swaps a
// directory with a link to the host's /root between the two looks makes the open fail (ELOOP) or the
// identity differ, and that directory's contents are not listed; it can never make the walk list host
// entries. At most WINDOW directory fds are open at once (plus the root's and readdir's own), so any depth
// walks under a low `ulimit -n`: deeper ancestors are closed and, when the walk climbs back, re-opened
// through `..` of the child (or from the root by name), each identity-checked against what was listed.
import * as fs from 'node:fs';
import type { FileType } from '../../shared/model';
import type { TreeEntry, TreeWalkOptions } from '../util/hostFiles';
import { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, childPath, closeQuietly, fdPath, sameInode } from './fd';

/** Directory fds a walk keeps open at most (besides its root's); 64 in all. */
export const WALK_WINDOW = 48;

/** Entries between two yields to the event loop (progress, cancellation). */
const YIELD_EVERY = 2000;

/**
 * Entries a walk lists at most: a container can make millions of empty files, and every entry costs memory
 * here. Past it the walk fails with EFBIG and the caller says so on that field (dive's largest test images
 * hold a few hundred thousand paths).
 */
export const MAX_WALK_ENTRIES = 2_000_000;

/** Names read from a directory between two yields: one huge directory does not block the thread. */
const LIST_YIELD_EVERY = 8192;

const DOTDOT = Buffer.from('..');

export class WalkCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'WalkCancelled';
  }
}

export function fileType(st: fs.Stats): FileType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'other';
}

/** A char device 0/0 is how overlayfs records a deleted file in an upper or layer directory. */
export function isWhiteoutStat(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

interface Frame {
  /** Path below the root, `/`-separated text (invalid UTF-8 as U+FFFD). */
  rel: string;
  /** The name in its parent, as bytes (to re-open it). */
  name: Buffer;
  /** Open while the frame is among the WINDOW deepest; null when closed to bound the fds. */
  fd: number | null;
  /** What the listing's lstat saw: the fd must hold this inode. */
  st: fs.Stats;
  names: Buffer[];
  next: number;
}

const ENTER_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** Errors that mean "changed or gone while walked": that directory is skipped, not the walk failed. */
function isChanged(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

/** Opens `name` below `parentFd` as a directory, only if it is still the inode `expect`; null when not. */
function enter(parentFd: number, name: Buffer, expect: fs.Stats): number | null {
  let fd: number;
  try {
    fd = fs.openSync(childPath(parentFd, name), ENTER_FLAGS);
  } catch (err) {
    if (isChanged(err)) return null;
    throw err;
  }
  try {
    if (sameInode(fs.fstatSync(fd), expect)) return fd;
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
  closeQuietly(fd);
  return null;
}

/** The walk listed more than `MAX_WALK_ENTRIES` (or the caller's bound): nothing of it is returned. */
export class WalkTooLarge extends Error {
  // Shaped as a HostFileError (code, file), which this module cannot import: hostFiles.ts imports it.
  readonly code = 'EFBIG';
  constructor(
    readonly file: string,
    max: number,
  ) {
    super(`${file} holds more than ${max} entries: not listed (a bound on what one walk may cost)`);
    this.name = 'WalkTooLarge';
  }
}

/**
 * The names in a directory, sorted as bytes, read in batches with a yield between them, and never more
 * than `budget` (the entries the walk may still list).
 */
async function list(fd: number, budget: number, root: string, max: number): Promise<Buffer[]> {
  let dir: fs.Dir;
  try {
    // Node hands Dirent names over as Buffers with encoding 'buffer' (its types list only text encodings).
    dir = fs.opendirSync(fdPath(fd), { encoding: 'buffer' as BufferEncoding, bufferSize: 1024 });
  } catch (err) {
    // Removed after it was opened: it holds nothing any more.
    if (isChanged(err)) return [];
    throw err;
  }
  const names: Buffer[] = [];
  try {
    for (;;) {
      const d = dir.readSync();
      if (d === null) break;
      names.push(d.name as unknown as Buffer);
      if (names.length > budget) throw new WalkTooLarge(root, max);
      if (names.length % LIST_YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (err) {
    if (isChanged(err)) return names.sort(Buffer.compare);
    throw err;
  } finally {
    dir.closeSync();
  }
  return names.sort(Buffer.compare);
}

/**
 * Lists a directory tree of the engine's own filesystem, confined as the file comment says: every entry
 * below `root` (not `root` itself) with type, size, mode and link target (read, never followed),
 * whiteouts marked, names as bytes (any length, any encoding), in sorted depth-first order (a directory
 * before what it holds). Yields to the event loop every few thousand entries, reports progress and
 * honours `opts.signal`. A root that does not exist lists nothing.
 */
export async function walkTreeConfined(root: string, opts: TreeWalkOptions = {}): Promise<TreeEntry[]> {
  let rootFd: number;
  try {
    rootFd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: TreeEntry[] = [];
  const max = opts.maxEntries ?? MAX_WALK_ENTRIES;
  /** Names listed so far, in every directory opened: what the walk will hold at most. */
  let listed = 0;
  const listDir = async (fd: number) => {
    const names = await list(fd, max - listed, root, max);
    listed += names.length;
    return names;
  };
  const frames: Frame[] = [];
  // frames[low..] are open; those below were closed to keep at most WINDOW fds.
  let low = 0;
  let sinceYield = 0;
  // The fd path of the directory being listed, built once per directory rather than once per entry.
  let prefixFd = -1;
  let prefix = Buffer.alloc(0);

  const closeFrame = (f: Frame) => {
    if (f.fd !== null) closeQuietly(f.fd);
    f.fd = null;
  };
  /** Closes the shallowest open frames until at most WINDOW are open. */
  const bound = () => {
    while (frames.length - low > WALK_WINDOW) closeFrame(frames[low++]);
  };
  /** Re-opens the top frame from the root by name, each step identity-checked; false when one changed. */
  const reopenTop = (): boolean => {
    let parent = rootFd;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      if (f.fd === null) {
        const fd = enter(parent, f.name, f.st);
        if (fd === null) {
          // That ancestor is not where it was: what is left of it and below it is not listed.
          for (let j = i; j < frames.length; j++) frames[j].next = frames[j].names.length;
          for (let j = 0; j < i; j++) if (j < frames.length - WALK_WINDOW) closeFrame(frames[j]);
          low = frames.findIndex((x) => x.fd !== null);
          if (low < 0) low = frames.length;
          return false;
        }
        f.fd = fd;
      }
      // The previous one was needed only to reach this one; keep the deepest WINDOW.
      if (i > 0 && i - 1 < frames.length - WALK_WINDOW) closeFrame(frames[i - 1]);
      parent = f.fd;
    }
    low = Math.max(0, frames.length - WALK_WINDOW);
    return true;
  };

  try {
    const rootNames = await listDir(rootFd);
    const top = (): { fd: number | null; names: Buffer[]; next: number; rel: string } | undefined =>
      frames.length > 0 ? frames[frames.length - 1] : rootCursor;
    const rootCursor = { fd: rootFd as number | null, names: rootNames, next: 0, rel: '' };
    for (;;) {
      const dir = top()!;
      if (dir.next >= dir.names.length) {
        if (dir === rootCursor) break;
        const done = frames.pop()!;
        const parent = frames[frames.length - 1];
        if (parent && parent.fd === null && done.fd !== null) {
          // Climbing back above the window: the parent through `..`, if it is still the one listed (also
          // when it has nothing left, so that its own parent can be reached the same way next).
          const fd = enter(done.fd, DOTDOT, parent.st);
          if (fd !== null) {
            parent.fd = fd;
            low = frames.length - 1;
          }
        }
        closeFrame(done);
        if (low > frames.length) low = frames.length;
        continue;
      }
      if (dir.fd === null && !reopenTop()) continue;
      const dirFd = dir.fd!;
      const raw = dir.names[dir.next++];
      if (prefixFd !== dirFd) {
        prefixFd = dirFd;
        prefix = Buffer.from(`${fdPath(dirFd)}/`);
      }
      const at = Buffer.concat([prefix, raw]);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(at);
      } catch (err) {
        if (isChanged(err)) continue;
        throw err;
      }
      const name = raw.toString('utf8');
      const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
      const type = fileType(st);
      const entry: TreeEntry = {
        name: rel,
        type,
        size: type === 'file' ? st.size : 0,
        mode: st.mode & 0o7777,
        whiteout: isWhiteoutStat(st),
      };
      if (type === 'symlink') {
        try {
          entry.linkTarget = fs.readlinkSync(at, { encoding: 'buffer' }).toString('utf8');
        } catch {
          entry.linkTarget = '';
        }
      }
      entries.push(entry);
      if (type === 'dir') {
        const fd = enter(dirFd, raw, st);
        if (fd !== null) {
          let names: Buffer[];
          try {
            names = await listDir(fd);
          } catch (err) {
            closeQuietly(fd);
            throw err;
          }
          frames.push({ rel, name: raw, fd, st, names, next: 0 });
          bound();
        }
      }
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        opts.onProgress?.(entries.length);
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (opts.signal?.aborted) throw new WalkCancelled();
      }
    }
  } finally {
    for (const f of frames) closeFrame(f);
    closeQuietly(rootFd);
  }
  if (opts.signal?.aborted) throw new WalkCancelled();
  opts.onProgress?.(entries.length);
  return entries;
}
