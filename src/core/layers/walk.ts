import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileType } from '../../shared/model';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './stack';
import { RawEntry } from './tarHeader';

export interface WalkOptions {
  signal?: AbortSignal;
  /** Called every few thousand entries with the count so far. */
  onProgress?: (entries: number) => void;
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

/**
 * Lists a layer directory (an overlay upper dir or an image layer's diff dir) as tar would: whiteouts become
 * `.wh.<name>` entries and opaque directories get a `.wh..wh..opq` entry, so one stacking code serves both.
 * Never follows symlinks; yields to the event loop every few thousand entries so it can be cancelled.
 */
export async function walkLayerDir(root: string, opts: WalkOptions = {}): Promise<RawEntry[]> {
  const entries: RawEntry[] = [];
  const stack: string[] = [''];
  let sinceYield = 0;
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let names: string[];
    try {
      names = fs.readdirSync(rel === '' ? root : path.join(root, rel));
    } catch (err) {
      // A directory that vanished while we walked (the container changed it) is simply not listed.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    names.sort();
    const whiteouts = new Set<string>();
    const present = new Set<string>();
    for (const name of names) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(path.join(root, relPath));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (isWhiteoutStat(st)) {
        whiteouts.add(name);
        entries.push({ name: rel === '' ? `${WHITEOUT_PREFIX}${name}` : `${rel}/${WHITEOUT_PREFIX}${name}`, size: 0, type: 'char' });
        continue;
      }
      present.add(name);
      const type = fileType(st);
      const entry: RawEntry = { name: relPath, size: type === 'file' ? st.size : 0, type, mode: st.mode & 0o7777 };
      if (type === 'symlink') {
        try {
          entry.linkTarget = fs.readlinkSync(path.join(root, relPath));
        } catch {
          entry.linkTarget = '';
        }
      }
      entries.push(entry);
      if (type === 'dir') stack.push(relPath);
      if (++sinceYield >= 2000) {
        sinceYield = 0;
        opts.onProgress?.(entries.length);
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (opts.signal?.aborted) throw new WalkCancelled();
      }
    }
    if (rel !== '' && opts.isOpaque && (await opts.isOpaque(rel, present, whiteouts))) {
      entries.push({ name: `${rel}/${OPAQUE_MARKER}`, size: 0, type: 'file' });
    }
  }
  if (opts.signal?.aborted) throw new WalkCancelled();
  opts.onProgress?.(entries.length);
  return entries;
}
