import { WalkCancelled, isWhiteoutStat, walkTreeConfined } from '../confined/walk';
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

export { WalkCancelled, isWhiteoutStat };

/**
 * Lists a directory tree of the engine's own filesystem: every entry below `root` with its type, size,
 * mode and link target, whiteouts marked, names as bytes. A layer directory is written by whoever built
 * the image or runs the container, so the walk goes from open directory fds (see confined/walk.ts): a
 * link swapped in meanwhile is never followed. A root that does not exist lists nothing.
 */
export function walkTree(root: string, opts: TreeWalkOptions = {}): Promise<TreeEntry[]> {
  return walkTreeConfined(root, opts);
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
