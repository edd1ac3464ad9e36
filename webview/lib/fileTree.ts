// The file tree of one layer, built from its flat change list (`/a/b/c`), and the rows a tree view shows
// for a given expansion, sort and filter. Pure: no DOM (unit tests import this under Node). A layer can
// hold 100 000 paths, so nothing here is quadratic and nothing recurses per path.
import type { LayerChange } from '../../src/shared/model';

export interface TreeNode {
  name: string;
  /** `/a/b`; `/` for the root. */
  path: string;
  parent: TreeNode | null;
  /** 0 for the entries right under the root. */
  depth: number;
  /** The change this layer made to exactly this path; null for a parent directory it only passes through. */
  change: LayerChange | null;
  children: TreeNode[];
  /** Content bytes: the file's own, or the sum of everything below a directory. */
  size: number;
  /** Changes at or below this path. */
  changeCount: number;
}

export interface FileTree {
  root: TreeNode;
  /** Every node but the root, parents before children. */
  nodes: TreeNode[];
  byPath: Map<string, TreeNode>;
}

export type SortMode = 'name' | 'size';

export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

export function buildTree(changes: readonly LayerChange[]): FileTree {
  const root: TreeNode = { name: '/', path: '/', parent: null, depth: -1, change: null, children: [], size: 0, changeCount: 0 };
  const nodes: TreeNode[] = [];
  const byPath = new Map<string, TreeNode>();
  const childMaps = new Map<TreeNode, Map<string, TreeNode>>();
  for (const c of changes) {
    const parts = splitPath(c.path);
    if (parts.length === 0) continue;
    let cur = root;
    let path = '';
    for (const part of parts) {
      path += `/${part}`;
      let map = childMaps.get(cur);
      if (!map) childMaps.set(cur, (map = new Map()));
      let next = map.get(part);
      if (!next) {
        next = { name: part, path, parent: cur, depth: cur.depth + 1, change: null, children: [], size: 0, changeCount: 0 };
        map.set(part, next);
        cur.children.push(next);
        nodes.push(next);
        byPath.set(path, next);
      }
      cur = next;
    }
    cur.change = c; // a path listed twice: the last entry wins
  }
  for (const n of nodes) {
    if (n.change) {
      n.changeCount += 1;
      if (n.change.kind !== 'deleted' && n.children.length === 0) n.size += n.change.sizeBytes;
    }
  }
  // Parents come before children in `nodes`, so walking it backwards sums children before their parent.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const p = n.parent!;
    p.size += n.size;
    p.changeCount += n.changeCount;
  }
  return { root, nodes, byPath };
}

export function isDir(n: TreeNode): boolean {
  return n.children.length > 0 || n.change?.type === 'dir';
}

const sortCache = new WeakMap<TreeNode, Partial<Record<SortMode, TreeNode[]>>>();

const byName = (a: TreeNode, b: TreeNode): number => {
  const da = isDir(a);
  const db = isDir(b);
  if (da !== db) return da ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
};
const bySize = (a: TreeNode, b: TreeNode): number => b.size - a.size || byName(a, b);

export function sortedChildren(n: TreeNode, mode: SortMode): TreeNode[] {
  let entry = sortCache.get(n);
  if (!entry) sortCache.set(n, (entry = {}));
  let list = entry[mode];
  if (!list) list = entry[mode] = n.children.slice().sort(mode === 'size' ? bySize : byName);
  return list;
}

export interface Row {
  node: TreeNode;
  expandable: boolean;
  expanded: boolean;
}

export interface FlattenOptions {
  sort: SortMode;
  /** Directories the user opened (no filter). */
  expanded: ReadonlySet<string>;
  /** Substring of the path, case-insensitive; empty for none. */
  filter: string;
  /** Directories the user closed while a filter is on (with a filter every directory on the way to a match is open). */
  collapsed?: ReadonlySet<string>;
}

export interface Flattened {
  rows: Row[];
  /** Paths that match the filter (all nodes when there is none). */
  matches: number;
}

/** Paths whose text contains the filter, and every directory on the way to them. */
export function filterKeep(tree: FileTree, filter: string): { keep: Set<TreeNode>; matches: number } {
  const f = filter.toLowerCase();
  const keep = new Set<TreeNode>();
  let matches = 0;
  for (const n of tree.nodes) {
    if (!n.path.toLowerCase().includes(f)) continue;
    matches++;
    for (let p: TreeNode | null = n; p && p.parent && !keep.has(p); p = p.parent) keep.add(p);
  }
  return { keep, matches };
}

/** The rows to show, top to bottom: only the children of open directories are visited. */
export function flatten(tree: FileTree, opts: FlattenOptions): Flattened {
  const filtering = opts.filter.trim() !== '';
  const kept = filtering ? filterKeep(tree, opts.filter.trim()) : null;
  const rows: Row[] = [];
  // An explicit stack (not recursion): deep paths cannot overflow it.
  const stack: TreeNode[] = sortedChildren(tree.root, opts.sort).slice().reverse();
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (kept && !kept.keep.has(n)) continue;
    const expandable = n.children.length > 0;
    const expanded = expandable && (kept ? !(opts.collapsed?.has(n.path) ?? false) : opts.expanded.has(n.path));
    rows.push({ node: n, expandable, expanded });
    if (expanded) {
      const kids = sortedChildren(n, opts.sort);
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
    }
  }
  return { rows, matches: kept ? kept.matches : tree.nodes.length };
}

/** The single-letter mark of a change: A added, M modified, D deleted; O for an opaque directory. */
export function changeMark(n: TreeNode): { mark: string; kind: 'added' | 'modified' | 'deleted' | 'none'; opaque: boolean } {
  const c = n.change;
  if (!c) return { mark: '', kind: 'none', opaque: false };
  const mark = c.kind === 'added' ? 'A' : c.kind === 'modified' ? 'M' : 'D';
  return { mark, kind: c.kind, opaque: c.opaque === true };
}
