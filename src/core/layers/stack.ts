import { FileType, Inefficiency, LayerChange } from '../../shared/model';
import { RawEntry } from './tarHeader';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

interface StackNode {
  type: FileType;
  size: number;
  children: Map<string, StackNode> | null;
}

function split(path: string): string[] {
  return path === '' ? [] : path.split('/');
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** What one layer did, measured against the layers below it. */
export interface AppliedLayer {
  changes: LayerChange[];
  /** Σ content bytes of regular files the layer holds. */
  sizeBytes: number;
  /** (path, size) pairs counted for efficiency: the layer's leaf paths, whiteouts and what they hide. */
  occurrences: [string, number][];
}

/**
 * The union of the layers applied so far, as overlayfs would show it. Applying a layer classifies each
 * path it holds against what is below (added / modified / deleted, opaque directories) and then stacks it.
 */
export class LayerStack {
  private readonly root: StackNode = { type: 'dir', size: 0, children: new Map() };

  /**
   * @param base a stack to read through where this one holds nothing: layers applied here stack on top of
   * it without changing it (a container's init and writable layers on a cached image's stack). Only
   * layers without whiteouts of base paths may be applied twice on top of a base and stay exact.
   */
  constructor(private readonly base: LayerStack | null = null) {}

  private own(path: string): StackNode | null {
    let node: StackNode | undefined = this.root;
    for (const part of split(path)) {
      node = node.children?.get(part);
      if (!node) return null;
    }
    return node;
  }

  lookup(path: string): StackNode | null {
    return this.own(path) ?? this.base?.lookup(path) ?? null;
  }

  /** Names directly inside a directory of the stack; null when it is not a directory here. */
  childrenOf(path: string): string[] | null {
    const own = this.own(path);
    const below = this.base?.childrenOf(path) ?? null;
    if (own && !own.children) return null;
    if (!own?.children) return below;
    return below ? [...new Set([...below, ...own.children.keys()])] : [...own.children.keys()];
  }

  has(path: string): boolean {
    return this.lookup(path) !== null;
  }

  /** Visits every leaf (a file, link or empty directory) under a node, with its path. */
  private leaves(path: string, node: StackNode, visit: (p: string, n: StackNode) => void): void {
    if (!node.children || node.children.size === 0) {
      visit(path, node);
      return;
    }
    for (const [name, child] of node.children) this.leaves(join(path, name), child, visit);
  }

  private subtreeSize(node: StackNode): number {
    if (!node.children) return node.size;
    let total = node.size;
    for (const child of node.children.values()) total += this.subtreeSize(child);
    return total;
  }

  private ensureDir(path: string): StackNode {
    let node = this.root;
    for (const part of split(path)) {
      if (!node.children) node.children = new Map();
      let next = node.children.get(part);
      if (!next) {
        next = { type: 'dir', size: 0, children: new Map() };
        node.children.set(part, next);
      } else if (!next.children) {
        next.type = 'dir';
        next.size = 0;
        next.children = new Map();
      }
      node = next;
    }
    return node;
  }

  private remove(path: string): void {
    const parent = this.own(dirname(path));
    parent?.children?.delete(basename(path));
  }

  /**
   * Directory nodes by path while one layer is stacked: a layer's entries come grouped by directory, so most
   * lookups are a sibling's parent, found once instead of walked from the root each time.
   */
  private dirCache = new Map<string, StackNode>();

  private cachedDir(path: string): StackNode {
    let node = this.dirCache.get(path);
    if (!node) {
      node = this.ensureDir(path);
      this.dirCache.set(path, node);
    }
    return node;
  }

  private set(entry: RawEntry): void {
    const parent = this.cachedDir(dirname(entry.name));
    const name = basename(entry.name);
    const existing = parent.children!.get(name);
    if (entry.type === 'dir') {
      if (existing?.children) {
        existing.type = 'dir';
        return;
      }
      parent.children!.set(name, { type: 'dir', size: 0, children: new Map() });
      return;
    }
    // A directory replaced by a file takes its subtree along: cached nodes below it are gone.
    if (existing?.children) this.dirCache.clear();
    parent.children!.set(name, { type: entry.type, size: entry.size, children: null });
  }

  /** The node at `path` as the stack stood before this layer, through the parent directory cache. */
  private lookupBelow(path: string, parents: Map<string, StackNode | null>): StackNode | null {
    const dir = dirname(path);
    let parent = parents.get(dir);
    if (parent === undefined) {
      parent = this.own(dir);
      parents.set(dir, parent);
    }
    return parent?.children?.get(basename(path)) ?? this.base?.lookup(path) ?? null;
  }

  apply(entries: RawEntry[]): AppliedLayer {
    const regular: RawEntry[] = [];
    const whiteouts: string[] = [];
    const opaqueDirs: string[] = [];
    for (const e of entries) {
      if (!e.name.includes(WHITEOUT_PREFIX)) {
        regular.push(e);
        continue;
      }
      const base = basename(e.name);
      if (base === OPAQUE_MARKER) opaqueDirs.push(dirname(e.name));
      else if (base.startsWith(WHITEOUT_PREFIX)) whiteouts.push(join(dirname(e.name), base.slice(WHITEOUT_PREFIX.length)));
      else regular.push(e);
    }

    // A path of this layer is a leaf when nothing else of this layer lies under it.
    const hasChild = new Set<string>();
    for (const e of regular) for (let d = dirname(e.name); d !== '' && !hasChild.has(d); d = dirname(d)) hasChild.add(d);
    for (const w of whiteouts) for (let d = dirname(w); d !== '' && !hasChild.has(d); d = dirname(d)) hasChild.add(d);
    // What an opaque directory keeps is what this layer provides (opaque directories are rare: only then).
    const provided = opaqueDirs.length > 0 ? new Set(regular.map((e) => e.name)) : new Set<string>();

    const changes: LayerChange[] = [];
    const occurrences: [string, number][] = [];
    let sizeBytes = 0;

    const parents = new Map<string, StackNode | null>();
    for (const e of regular) {
      const below = this.lookupBelow(e.name, parents);
      const change: LayerChange = { path: `/${e.name}`, kind: below ? 'modified' : 'added', type: e.type, sizeBytes: e.size };
      if (e.linkTarget !== undefined) change.linkTarget = e.linkTarget;
      if (e.mode !== undefined) change.mode = e.mode;
      changes.push(change);
      if (e.type === 'file') sizeBytes += e.size;
      if (!hasChild.has(e.name)) occurrences.push([e.name, e.size]);
    }

    for (const target of whiteouts) {
      const below = this.lookup(target);
      changes.push({ path: `/${target}`, kind: 'deleted', type: below?.type ?? 'other', sizeBytes: 0 });
      // dive counts a directory's whiteout with the size of what it deleted and a file's at 0 bytes; every
      // path a deleted directory hides also counts once more, at 0 bytes (dive leaves those out).
      occurrences.push([target, below?.children ? this.subtreeSize(below) : 0]);
      if (below?.children) this.leaves(target, below, (p) => p !== target && occurrences.push([p, 0]));
    }

    const changeAt = opaqueDirs.length > 0 ? new Map(changes.map((c) => [c.path.slice(1), c])) : new Map<string, LayerChange>();
    for (const dir of opaqueDirs) {
      const existing = changeAt.get(dir);
      if (existing) existing.opaque = true;
      else {
        const change: LayerChange = {
          path: `/${dir}`,
          kind: this.has(dir) ? 'modified' : 'added',
          type: 'dir',
          sizeBytes: 0,
          opaque: true,
        };
        changes.push(change);
        changeAt.set(dir, change);
      }
      const below = this.lookup(dir);
      if (below?.children) {
        for (const [name, child] of below.children) {
          const p = join(dir, name);
          if (!provided.has(p)) this.leaves(p, child, (leaf) => !provided.has(leaf) && occurrences.push([leaf, 0]));
        }
      }
    }

    // Stack it: removals first (they hide what is below), then what the layer holds.
    for (const dir of opaqueDirs) {
      const node = this.ensureDir(dir);
      node.children = new Map();
    }
    for (const target of whiteouts) this.remove(target);
    this.dirCache.clear();
    for (const e of regular) this.set(e);
    this.dirCache.clear();

    return { changes, sizeBytes, occurrences };
  }
}

export interface EfficiencyResult {
  efficiency: number;
  wastedBytes: number;
  /** Per layer: bytes it holds that a later layer overwrote or deleted. */
  layerWastedBytes: number[];
  inefficiencies: Inefficiency[];
}

/**
 * dive's efficiency over the layers' occurrences: per path, the cumulative size over every layer that
 * holds it and the smallest size seen; efficiency = Σ smallest / Σ cumulative, wasted = Σ cumulative of
 * paths held by two or more layers.
 */
export function computeEfficiency(layers: AppliedLayer[], maxInefficiencies = 500): EfficiencyResult {
  const byPath = new Map<string, { cum: number; min: number; count: number; lastLayer: number; lastSize: number }>();
  const layerWastedBytes = layers.map(() => 0);
  layers.forEach((layer, index) => {
    for (const [path, size] of layer.occurrences) {
      const seen = byPath.get(path);
      if (!seen) {
        byPath.set(path, { cum: size, min: size, count: 1, lastLayer: index, lastSize: size });
        continue;
      }
      // The earlier holder of this path wasted what it held: a later layer replaced or deleted it.
      layerWastedBytes[seen.lastLayer] += seen.lastSize;
      seen.cum += size;
      seen.min = Math.min(seen.min, size);
      seen.count += 1;
      seen.lastLayer = index;
      seen.lastSize = size;
    }
  });
  let minSum = 0;
  let cumSum = 0;
  let wastedBytes = 0;
  const inefficiencies: Inefficiency[] = [];
  for (const [path, d] of byPath) {
    minSum += d.min;
    cumSum += d.cum;
    if (d.count >= 2) {
      wastedBytes += d.cum;
      inefficiencies.push({ path: `/${path}`, count: d.count, cumulativeSizeBytes: d.cum });
    }
  }
  inefficiencies.sort((a, b) => b.cumulativeSizeBytes - a.cumulativeSizeBytes || a.path.localeCompare(b.path));
  return {
    efficiency: cumSum === 0 ? 1 : minSum / cumSum,
    wastedBytes,
    layerWastedBytes,
    inefficiencies: inefficiencies.slice(0, maxInefficiencies),
  };
}
