// Pure helpers over namespace groups, shared by the graph, the matrix and the dashboard (no DOM here).
import { HOST_MEMBER, NAMESPACE_TYPES, NamespaceGroup, NamespaceType } from '../../src/shared/model';
import { memberName as sharedMemberName, sharingText } from '../../src/shared/namespaces';

export type ShareKind = 'host' | 'shared' | 'solo';

export interface GroupInfo {
  group: NamespaceGroup;
  kind: ShareKind;
  /** Index among the shared (non-host, two or more members) groups of its type; -1 otherwise. */
  index: number;
}

export type GroupIndex = Record<NamespaceType, Map<number, GroupInfo>>;

/** What each namespace type isolates, in a few words. */
export const NAMESPACE_INFO: Record<NamespaceType, string> = {
  mnt: 'mount points: the filesystem tree',
  pid: 'process IDs: which processes are visible',
  net: 'network stack: interfaces, addresses, ports',
  ipc: 'System V IPC and POSIX message queues',
  uts: 'hostname and domain name',
  user: 'user and group IDs',
  cgroup: 'the view of the cgroup tree',
  time: 'boot-time and monotonic clocks',
};

/** Types that every container usually shares with the host: hidden in the graph until asked for. */
export const QUIET_TYPES: readonly NamespaceType[] = ['user', 'cgroup', 'time'];

export function indexGroups(groups: NamespaceGroup[]): GroupIndex {
  const out = Object.fromEntries(NAMESPACE_TYPES.map((t) => [t, new Map<number, GroupInfo>()])) as GroupIndex;
  const counters = Object.fromEntries(NAMESPACE_TYPES.map((t) => [t, 0])) as Record<NamespaceType, number>;
  for (const g of groups) {
    const map = out[g.type];
    if (!map) continue;
    const kind: ShareKind = g.members.includes(HOST_MEMBER) ? 'host' : g.members.length >= 2 ? 'shared' : 'solo';
    map.set(g.inode, { group: g, kind, index: kind === 'shared' ? counters[g.type]++ : -1 });
  }
  return out;
}

/** A member id as a reader knows it: `the host` or the container's name. */
export function memberName(id: string, names: Record<string, string>): string {
  return sharedMemberName(id, (m) => names[m]);
}

/** Who else holds this namespace, in words: `private (no one else)`, `shared with web, db`. */
export function sharedWithText(info: GroupInfo | undefined, self: string, names: Record<string, string>, max = 8): string {
  if (!info) return 'not in any group';
  return sharingText(info.group.members, self, (m) => names[m], max);
}

export interface ShareEdge {
  id: string;
  type: NamespaceType;
  inode: number;
  source: string;
  target: string;
}

/**
 * One edge per member of a group to the group's anchor (the host when it is a member, else the first
 * container): n − 1 edges for n members, where drawing every pair would give n(n − 1)/2.
 */
export function shareEdges(groups: NamespaceGroup[], nodeIds: Set<string>): ShareEdge[] {
  const edges: ShareEdge[] = [];
  for (const g of groups) {
    const members = g.members.filter((m) => nodeIds.has(m));
    if (members.length < 2) continue;
    const [anchor, ...rest] = members;
    for (const m of rest) edges.push({ id: `${g.type}:${g.inode}:${m}`, type: g.type, inode: g.inode, source: anchor, target: m });
  }
  return edges;
}

/** Connected components of containers over the shared (non-host) edges of some types: id → component id. */
export function components(ids: string[], edges: ShareEdge[], types: Set<NamespaceType>): Map<string, string> {
  const parent = new Map<string, string>(ids.map((id) => [id, id]));
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    let c = x;
    while (c !== r) {
      const n = parent.get(c)!;
      parent.set(c, r);
      c = n;
    }
    return r;
  };
  for (const e of edges) {
    if (!types.has(e.type) || e.source === HOST_MEMBER || e.target === HOST_MEMBER) continue;
    if (!parent.has(e.source) || !parent.has(e.target)) continue;
    const a = find(e.source);
    const b = find(e.target);
    if (a !== b) parent.set(b, a);
  }
  return new Map(ids.map((id) => [id, find(id)]));
}
