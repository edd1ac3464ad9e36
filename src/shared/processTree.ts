// The process tree: one builder for the CLI, the sidebar and the dashboard.
import type { ProcessInfo } from './model';

export interface ProcessNode {
  process: ProcessInfo;
  children: ProcessNode[];
}

/** Arranges processes as a forest by parent PID; a process whose parent is outside the set is a root. */
export function buildProcessTree(processes: ProcessInfo[]): ProcessNode[] {
  const nodes = new Map<number, ProcessNode>();
  for (const p of processes) nodes.set(p.hostPid, { process: p, children: [] });
  const roots: ProcessNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.process.ppid !== node.process.hostPid ? nodes.get(node.process.ppid) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  // Parents that form a cycle (never in a real table, but the input is data) would hide their members.
  const reached = new Set<ProcessNode>();
  const mark = (list: ProcessNode[]) => {
    for (const n of list) {
      if (reached.has(n)) continue;
      reached.add(n);
      mark(n.children);
    }
  };
  mark(roots);
  for (const node of nodes.values()) {
    if (reached.has(node)) continue;
    // Cut the edge into it, so the cycle is broken and it becomes a root.
    const parent = nodes.get(node.process.ppid);
    if (parent) parent.children = parent.children.filter((c) => c !== node);
    roots.push(node);
    mark([node]);
  }
  const byPid = (a: ProcessNode, b: ProcessNode) => a.process.hostPid - b.process.hostPid;
  const sortDeep = (list: ProcessNode[]) => {
    list.sort(byPid);
    for (const n of list) sortDeep(n.children);
  };
  sortDeep(roots);
  return roots;
}
