// Namespace sharing, computed and put in words the same way for the engine, the sidebar and the webviews.
import { HOST_MEMBER, NAMESPACE_TYPES, NamespaceGroup, NamespaceInodes } from './model';

/** Groups equal namespace inodes per type across the host and the containers (host first, then in order). */
export function groupNamespaces(
  host: NamespaceInodes | null,
  containers: { id: string; namespaces: NamespaceInodes | null }[],
): NamespaceGroup[] {
  const groups: NamespaceGroup[] = [];
  for (const type of NAMESPACE_TYPES) {
    const byInode = new Map<number, NamespaceGroup>();
    const add = (inode: number | null, member: string) => {
      if (inode === null) return;
      let g = byInode.get(inode);
      if (!g) {
        g = { type, inode, members: [] };
        byInode.set(inode, g);
        groups.push(g);
      }
      g.members.push(member);
    };
    add(host?.[type] ?? null, HOST_MEMBER);
    for (const c of containers) add(c.namespaces?.[type] ?? null, c.id);
  }
  return groups;
}

/** A member as a reader knows it: `the host`, or the container's name (its short id when unnamed). */
export function memberName(id: string, names: (id: string) => string | undefined): string {
  return id === HOST_MEMBER ? 'the host' : (names(id) ?? id.replace(/^sha256:/, '').slice(0, 12));
}

/**
 * Who else holds a namespace, in words: `private (no one else)`, `shared with the host`,
 * `shared with the host, web and 2 more`.
 */
export function sharingText(members: readonly string[], self: string, names: (id: string) => string | undefined, max = 8): string {
  const others = members.filter((m) => m !== self);
  if (others.length === 0) return 'private (no one else)';
  // The host first: "shared with the host" says the most.
  others.sort((a, b) => (a === HOST_MEMBER ? -1 : b === HOST_MEMBER ? 1 : 0));
  const shown = others.slice(0, max).map((m) => memberName(m, names));
  const more = others.length > max ? ` and ${others.length - max} more` : '';
  return `shared with ${shown.join(', ')}${more}`;
}
