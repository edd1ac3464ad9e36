import * as fs from 'node:fs';
import { FileType } from '../../shared/model';
import type { TreeEntry, TreeWalkOptions } from '../util/hostFiles';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './stack';
import { RawEntry } from './tarHeader';

export interface WalkOptions extends TreeWalkOptions {
  /**
   * Decides whether a directory (relative path) of this layer is opaque, given the names it holds and the
   * names it whites out; overlay marks opacity in an xattr, which Node cannot read.
   */
  isOpaque?: (relDir: string, present: Set<string>, whiteouts: Set<string>) => Promise<boolean> | boolean;
}

export class WalkCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'WalkCancelled';
  }
}

function fileType(st: fs.Stats): FileType {
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

/** Beyond this many bytes an absolute path is re-anchored on a directory fd (PATH_MAX is 4096). */
const ANCHOR_BYTES = 3072;
const SLASH = Buffer.from('/');

interface PendingDir {
  /** The directory's path below the root, as text (invalid UTF-8 shown as U+FFFD). */
  rel: string;
  /** How to reach it: an absolute byte path, or /proc/self/fd/N for one opened while its parent was near. */
  access: Buffer;
  /** The fd `access` goes through, closed once the directory is listed. */
  fd: number | null;
}

/**
 * Lists a directory tree from the engine's own filesystem: every entry below `root` with its type, size,
 * mode and link target, whiteouts marked. Names are handled as bytes (a layer may hold names that are not
 * UTF-8, and paths longer than PATH_MAX); never follows symlinks; yields to the event loop every few
 * thousand entries so it can be cancelled. A root that does not exist lists nothing.
 */
export async function walkTree(root: string, opts: TreeWalkOptions = {}): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const stack: PendingDir[] = [{ rel: '', access: Buffer.from(root.replace(/\/+$/, '') || '/'), fd: null }];
  let sinceYield = 0;
  try {
    while (stack.length > 0) {
      const dir = stack.pop()!;
      try {
        let names: Buffer[];
        try {
          names = fs.readdirSync(dir.access, { encoding: 'buffer' });
        } catch (err) {
          // A directory that vanished while we walked (the container changed it) is simply not listed.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw err;
        }
        names.sort(Buffer.compare);
        const prefix = Buffer.concat([dir.access, SLASH]);
        for (const raw of names) {
          const access = Buffer.concat([prefix, raw]);
          const name = raw.toString('utf8');
          const relPath = dir.rel === '' ? name : `${dir.rel}/${name}`;
          let st: fs.Stats;
          try {
            st = fs.lstatSync(access);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
            throw err;
          }
          const type = fileType(st);
          const entry: TreeEntry = {
            name: relPath,
            type,
            size: type === 'file' ? st.size : 0,
            mode: st.mode & 0o7777,
            whiteout: isWhiteoutStat(st),
          };
          if (type === 'symlink') {
            try {
              entry.linkTarget = fs.readlinkSync(access, { encoding: 'buffer' }).toString('utf8');
            } catch {
              entry.linkTarget = '';
            }
          }
          entries.push(entry);
          if (type === 'dir') {
            // A path through this directory's fd is valid only until the fd is closed (after this loop).
            if (access.length <= ANCHOR_BYTES && dir.fd === null) stack.push({ rel: relPath, access, fd: null });
            else {
              // Deep below the root: reach the directory through an fd opened now, while its path still fits.
              const fd = fs.openSync(access, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
              stack.push({ rel: relPath, access: Buffer.from(`/proc/self/fd/${fd}`), fd });
            }
          }
          if (++sinceYield >= 2000) {
            sinceYield = 0;
            opts.onProgress?.(entries.length);
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (opts.signal?.aborted) throw new WalkCancelled();
          }
        }
      } finally {
        if (dir.fd !== null) fs.closeSync(dir.fd);
      }
    }
  } finally {
    // Cancelled or failed: close what is still open.
    for (const d of stack) if (d.fd !== null) fs.closeSync(d.fd);
  }
  if (opts.signal?.aborted) throw new WalkCancelled();
  opts.onProgress?.(entries.length);
  return entries;
}

/**
 * A layer directory's tree as tar would list it: whiteouts become `.wh.<name>` entries and opaque
 * directories get a `.wh..wh..opq` entry, so one stacking code serves layer dirs and layer tars.
 */
export async function layerEntriesFromTree(tree: TreeEntry[], opts: Pick<WalkOptions, 'isOpaque' | 'signal'> = {}): Promise<RawEntry[]> {
  const entries: RawEntry[] = [];
  const dirs: string[] = [];
  const present = new Map<string, Set<string>>();
  const whiteouts = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, dir: string, name: string) => {
    let set = m.get(dir);
    if (!set) m.set(dir, (set = new Set()));
    set.add(name);
  };
  for (const e of tree) {
    const slash = e.name.lastIndexOf('/');
    const dir = slash < 0 ? '' : e.name.slice(0, slash);
    const name = e.name.slice(slash + 1);
    if (e.whiteout) {
      add(whiteouts, dir, name);
      entries.push({ name: dir === '' ? `${WHITEOUT_PREFIX}${name}` : `${dir}/${WHITEOUT_PREFIX}${name}`, size: 0, type: 'char' });
      continue;
    }
    add(present, dir, name);
    const entry: RawEntry = { name: e.name, size: e.type === 'file' ? e.size : 0, type: e.type, mode: e.mode };
    if (e.type === 'symlink') entry.linkTarget = e.linkTarget ?? '';
    entries.push(entry);
    if (e.type === 'dir') dirs.push(e.name);
  }
  const isOpaque = opts.isOpaque;
  if (isOpaque) {
    // Asked together: through a helper container the checks travel in one pipelined batch.
    const opaque = await Promise.all(dirs.map((d) => isOpaque(d, present.get(d) ?? new Set(), whiteouts.get(d) ?? new Set())));
    dirs.forEach((d, i) => {
      if (opaque[i]) entries.push({ name: `${d}/${OPAQUE_MARKER}`, size: 0, type: 'file' });
    });
  }
  if (opts.signal?.aborted) throw new WalkCancelled();
  return entries;
}

/** Lists a layer directory of the engine's own filesystem as tar would (see layerEntriesFromTree). */
export async function walkLayerDir(root: string, opts: WalkOptions = {}): Promise<RawEntry[]> {
  return layerEntriesFromTree(await walkTree(root, opts), opts);
}
