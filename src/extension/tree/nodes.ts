// What the sidebar shows, as plain descriptors built from the model. No `vscode` here: the tree providers
// turn these into TreeItems, and unit tests check them directly.
import { formatBytes, formatPercent, layerOrigin, shortId } from '../../shared/format';
import {
  ContainerSnapshot,
  FieldError,
  HOST_MEMBER,
  HostFacts,
  ImageFacts,
  ImageLayer,
  LayerChange,
  LayerReport,
  NAMESPACE_TYPES,
  NamespaceGroup,
  PodGroup,
  ProcessInfo,
  Snapshot,
  SecurityPosture,
  NetworkInfo,
} from '../../shared/model';
import { ContainerGroup, GroupBy, containerMatches, filterTerms, groupContainers, imageMatches } from '../../shared/compose';
import { podTitle } from '../../shared/pods';
import { ProcessNode, buildProcessTree } from '../../shared/processTree';
import { commandText } from '../../shared/processText';
import { sharingText as sharingWords } from '../../shared/namespaces';
import { printable, truncate } from '../../shared/text';

/** Reads a container's layer report; where it can, also its network namespace (read when its node opens). */
export type Loaders = ((containerId: string) => Promise<LayerReport>) & { network?: (containerId: string) => Promise<NetworkInfo | null> };

export interface XrayNode {
  /** Unique and stable across refreshes, so expansion survives them. */
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  /** A codicon name. */
  icon?: string;
  /** A theme colour id for the icon. */
  iconColor?: string;
  contextValue?: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  command?: { command: string; title: string; arguments: unknown[] };
  /** Children, computed when the node is expanded. */
  children?: () => XrayNode[] | Promise<XrayNode[]>;
  /** What commands run on this node act on. */
  target?: { containerId?: string; hostPid?: number; imageRef?: string; layer?: number | 'upper'; upperDir?: string };
}

/** Every string that comes from a container or image is made printable and bounded before it is shown. */
function text(s: string, max = 200): string {
  return truncate(printable(s), max);
}

export function nameOf(snapshot: Snapshot, member: string): string {
  if (member === HOST_MEMBER) return 'host';
  const c = snapshot.containers.find((x) => x.id === member);
  return c ? c.name : shortId(member);
}

/** Who else holds a container's namespace of this group, in words. */
export function sharingText(snapshot: Snapshot, group: NamespaceGroup | undefined, self: string): string {
  if (!group) return 'unknown';
  return sharingWords(group.members, self, (id) => snapshot.containers.find((c) => c.id === id)?.name, 4);
}

/** How the Containers and Images views are shown: the grouping and the filter the user chose. */
export interface ViewOptions {
  groupBy?: GroupBy;
  /** Plain text, every white-space-separated term of which must match (see containerMatches). */
  filter?: string;
}

/** The view's description: what it counts, and the active filter (bounded, printable: it is shown as typed). */
export function viewDescription(count: string, filter: string): string {
  return filter === '' ? count : `${count} · filter: ${truncate(printable(filter), 60)}`;
}

/** The one row a view shows when its filter matches nothing. */
function noMatchNode(what: string, filter: string): XrayNode {
  return {
    id: 'filter:none',
    label: `No ${what} matches the filter`,
    description: text(filter, 80),
    tooltip: `No ${what} matches “${text(filter, 400)}”. Clear the filter to see all.`,
    icon: 'filter',
    collapsible: 'none',
  };
}

/**
 * The Containers view's roots: each pod (sorted by its name) holding its member containers, whatever the
 * grouping; then the containers in no pod, grouped as `groupBy` says — by Compose project (the default;
 * the containers in no project last, under a group of their own, or as plain rows when no container is in
 * a project), by image, by state, or not at all (by name). With a filter, only the matching containers
 * (and the pods with a matching member) are shown.
 */
export function containerNodes(snapshot: Snapshot, layers: Loaders, opts: ViewOptions = {}): XrayNode[] {
  const groupBy = opts.groupBy ?? 'compose';
  const filtering = filterTerms(opts.filter).length > 0;
  const visible = new Set(snapshot.containers.filter((c) => containerMatches(c, opts.filter)).map((c) => c.id));
  const pods = snapshot.pods ?? [];
  const inPod = new Set(pods.flatMap((p) => p.containers));
  const podRoots = [...pods]
    .filter((p) => p.containers.some((id) => visible.has(id)))
    .sort((a, b) => podTitle(a.ref).localeCompare(podTitle(b.ref)))
    .map((p) => podNode(snapshot, p, layers, filtering ? visible : undefined));
  const alone = snapshot.containers.filter((c) => !inPod.has(c.id) && visible.has(c.id));
  const { groups, ungrouped } = groupContainers(alone, groupBy);
  // Plain rows, as before grouping existed, when no container (filtered out or not) is in a Compose project.
  const onlyNoProject =
    groups.length === 1 && groups[0].kind === 'noProject' && snapshot.containers.every((c) => inPod.has(c.id) || c.compose === null);
  const rest = onlyNoProject
    ? groups[0].containers.map((c) => containerNode(snapshot, c, layers))
    : [...groups.map((g) => groupNode(snapshot, g, layers)), ...ungrouped.map((c) => containerNode(snapshot, c, layers))];
  const roots = [...podRoots, ...rest];
  return roots.length === 0 && filtering ? [noMatchNode('container', opts.filter ?? '')] : roots;
}

const STATE_ICON: Partial<Record<ContainerSnapshot['state'], string>> = {
  running: 'vm-running',
  paused: 'debug-pause',
  restarting: 'sync',
};

/** A group of the Containers view: a Compose project (its services' containers), an image, a state, or "no Compose project". */
export function groupNode(snapshot: Snapshot, g: ContainerGroup, layers: Loaders): XrayNode {
  const count = `${g.containers.length} container${g.containers.length === 1 ? '' : 's'}`;
  // Ids are never shown; the key is bounded where it came from (a label, an image reference, a state).
  const id = g.kind === 'noProject' ? 'group:noProject' : `group:${g.kind}:${g.key}`;
  const children = () => g.containers.map((c) => containerNode(snapshot, c, layers));
  if (g.kind === 'compose') {
    const services = [...new Set(g.containers.map((c) => c.compose?.service).filter((s): s is string => typeof s === 'string'))];
    const first = g.containers.find((c) => c.compose?.workingDir !== undefined)?.compose;
    const files = g.containers.find((c) => c.compose?.configFiles !== undefined)?.compose?.configFiles ?? [];
    return {
      id,
      label: text(g.key, 80),
      description: [`${services.length} service${services.length === 1 ? '' : 's'}`, count].join(' · '),
      tooltip: [
        `Compose project ${text(g.key, 128)}`,
        services.length > 0 ? `services ${services.map((s) => text(s, 63)).join(', ')}` : 'no service labels',
        count,
        first?.workingDir !== undefined ? `working directory ${text(first.workingDir, 400)}` : null,
        files.length > 0 ? `compose files ${files.map((f) => text(f, 400)).join(', ')}` : null,
        'as its com.docker.compose.* labels tell',
      ]
        .filter(Boolean)
        .join('\n'),
      icon: 'symbol-structure',
      contextValue: 'xray.composeProject',
      collapsible: 'expanded',
      children,
    };
  }
  const label = g.kind === 'noProject' ? 'No Compose project' : g.kind === 'image' ? text(g.key, 80) : g.key;
  return {
    id,
    label,
    description: count,
    tooltip:
      g.kind === 'noProject'
        ? `${count} with no com.docker.compose.project label`
        : g.kind === 'image'
          ? `${count} of image ${text(g.key, 400)}`
          : `${count} ${g.key}`,
    icon:
      g.kind === 'image' ? 'package' : g.kind === 'state' ? (STATE_ICON[g.key as ContainerSnapshot['state']] ?? 'vm-outline') : 'list-flat',
    contextValue: 'xray.containerGroup',
    collapsible: 'expanded',
    children,
  };
}

/** What the pod's infra container is called where it came from. */
function infraWord(source: PodGroup['ref']['source']): string {
  return source === 'podman' ? 'infra' : 'sandbox (pause)';
}

/** A pod: its name (and Kubernetes namespace), member count and what all its members share, opening to the members. */
export function podNode(
  snapshot: Snapshot,
  pod: PodGroup,
  layers: Loaders,
  /** With a filter: the containers it lets through; the pod then lists only those. */
  visible?: ReadonlySet<string>,
): XrayNode {
  const all = pod.containers
    .map((id) => snapshot.containers.find((c) => c.id === id))
    .filter((c): c is ContainerSnapshot => c !== undefined);
  const members = visible ? all.filter((c) => visible.has(c.id)) : all;
  const kind = pod.ref.source === 'podman' ? 'Podman pod' : 'Kubernetes pod';
  const count =
    members.length === all.length
      ? `${members.length} container${members.length === 1 ? '' : 's'}`
      : `${members.length} of ${all.length} containers`;
  const shares = pod.sharedNamespaces.length > 0 ? `shares ${pod.sharedNamespaces.join(', ')}` : 'shares no namespace';
  const infra = all.find((c) => c.id === pod.infra);
  // Unique as groupPods keys pods (source and id, the id already bounded); never shown.
  const id = `pod:${pod.ref.source}:${pod.ref.id}`;
  return {
    id,
    label: text(pod.ref.name, 80),
    description: [pod.ref.namespace !== undefined ? text(pod.ref.namespace, 63) : null, count, shares].filter(Boolean).join(' · '),
    tooltip: [
      `${kind} ${text(podTitle(pod.ref), 400)}`,
      pod.ref.source === 'podman'
        ? `pod ID ${text(pod.ref.id, 320)}`
        : pod.ref.id === `${pod.ref.namespace ?? ''}/${pod.ref.name}`
          ? 'no pod UID label'
          : `pod UID ${text(pod.ref.id, 320)}`,
      `${count}${infra ? `, ${infraWord(pod.ref.source)} ${text(infra.name, 120)}` : `, no ${infraWord(pod.ref.source)} container listed`}`,
      pod.sharedNamespaces.length > 0
        ? `every member holds the same ${pod.sharedNamespaces.join(', ')} namespace${pod.sharedNamespaces.length === 1 ? '' : 's'}`
        : 'the members hold no namespace in common',
    ].join('\n'),
    icon: 'symbol-module',
    iconColor: pod.errors.length > 0 ? 'list.warningForeground' : undefined,
    contextValue: 'xray.pod',
    collapsible: 'expanded',
    children: () => [
      ...members.map((c) => containerNode(snapshot, c, layers, { pod, infra: c.id === pod.infra })),
      ...errorNodes(id, pod.errors),
    ],
  };
}

function nearLimitText(c: ContainerSnapshot): string | null {
  return c.nearLimit.length > 0 ? `near ${c.nearLimit.join(' and ')} limit` : null;
}

export function containerNode(
  snapshot: Snapshot,
  c: ContainerSnapshot,
  layers: Loaders,
  inPod?: { pod: PodGroup; infra: boolean },
): XrayNode {
  const near = nearLimitText(c);
  // In a pod: the infra container is marked, the others carry their name within the pod where it is labelled.
  const role = inPod
    ? inPod.infra
      ? infraWord(inPod.pod.ref.source)
      : c.pod?.containerName !== undefined && c.pod.containerName !== c.name
        ? text(c.pod.containerName, 63)
        : null
    : c.compose?.service
      ? text(c.compose.service, 63)
      : null;
  const description = [role, text(c.image, 60), c.state, near].filter(Boolean).join(' · ');
  return {
    id: `c:${c.id}`,
    label: text(c.name, 80),
    description,
    tooltip: [
      `${text(c.name)} (${shortId(c.id)})`,
      `image ${text(c.image)}`,
      `state ${c.state} — ${text(c.status)}`,
      c.pid !== null ? `host PID ${c.pid}` : null,
      c.pod
        ? `${c.pod.infra ? `${infraWord(c.pod.source)} container of` : 'in'} ${c.pod.source === 'podman' ? 'Podman' : 'Kubernetes'} pod ${text(podTitle(c.pod), 320)}${c.pod.containerName !== undefined && !c.pod.infra ? ` as ${text(c.pod.containerName, 63)}` : ''}`
        : null,
      c.compose
        ? `in Compose project ${text(c.compose.project, 128)}${c.compose.service !== null ? `, service ${text(c.compose.service, 128)}` : ''}`
        : null,
      near,
    ]
      .filter(Boolean)
      .join('\n'),
    icon: near ? 'warning' : c.state === 'running' ? 'vm-running' : c.state === 'paused' ? 'debug-pause' : 'vm-outline',
    iconColor: near ? 'list.warningForeground' : c.state === 'running' ? 'charts.green' : undefined,
    contextValue: c.pid !== null ? 'xray.container.running' : 'xray.container',
    collapsible: 'collapsed',
    target: { containerId: c.id, hostPid: c.pid ?? undefined, upperDir: c.overlay?.upperDir ?? undefined },
    children: () => containerChildren(snapshot, c, layers),
  };
}

function errorNodes(idPrefix: string, errors: FieldError[]): XrayNode[] {
  return errors.map((e, i) => ({
    id: `${idPrefix}:err:${i}`,
    label: `Could not read ${text(e.field, 60)}`,
    description: text(e.reason, 160),
    tooltip: text(e.reason, 1000),
    icon: 'warning',
    iconColor: 'list.warningForeground',
    collapsible: 'none' as const,
  }));
}

export function containerChildren(snapshot: Snapshot, c: ContainerSnapshot, layers: Loaders): XrayNode[] {
  const id = `c:${c.id}`;
  const nodes: XrayNode[] = [];
  nodes.push({
    id: `${id}:ns`,
    label: 'Namespaces',
    description: c.namespaces ? sharedSummary(snapshot, c) : 'unreadable',
    icon: 'symbol-namespace',
    collapsible: c.namespaces ? 'collapsed' : 'none',
    contextValue: 'xray.namespaces',
    target: { containerId: c.id },
    children: () => namespaceNodes(snapshot, c),
  });
  nodes.push({
    id: `${id}:cg`,
    label: 'cgroup',
    description: c.cgroup ? `v${c.cgroup.version} · ${c.cgroup.driver} · ${text(c.cgroup.path, 80)}` : 'unreadable',
    icon: 'dashboard',
    collapsible: c.cgroup ? 'collapsed' : 'none',
    target: { containerId: c.id },
    children: () => cgroupNodes(c),
  });
  const failed = c.security?.verdicts.filter((v) => v.status === 'fail') ?? [];
  nodes.push({
    id: `${id}:sec`,
    label: 'Security',
    description: c.security ? securitySummary(c.security, failed.length) : 'unreadable',
    tooltip: c.security
      ? `CIS Docker Benchmark 5.x: ${failed.length} failed${failed.length > 0 ? ` (${failed.map((v) => v.id).join(', ')})` : ''}`
      : undefined,
    icon: 'shield',
    iconColor: c.security?.allCapabilities ? 'list.errorForeground' : failed.length > 0 ? 'list.warningForeground' : undefined,
    collapsible: c.security ? 'collapsed' : 'none',
    contextValue: 'xray.security',
    target: { containerId: c.id },
    children: () => securityNodes(c),
  });
  const network = layers.network;
  if (network) {
    nodes.push({
      id: `${id}:net`,
      label: 'Network',
      description: c.networkMode ? text(c.networkMode, 60) : undefined,
      tooltip: 'interfaces, addresses, routes, listening sockets and the host end of each veth pair (read when opened)',
      icon: 'globe',
      collapsible: c.pid !== null ? 'collapsed' : 'none',
      target: { containerId: c.id },
      children: async () => networkNodes(c.id, await network(c.id)),
    });
  }
  nodes.push({
    id: `${id}:ps`,
    label: 'Processes',
    description: String(c.processes.length),
    icon: 'list-tree',
    collapsible: c.processes.length > 0 ? 'collapsed' : 'none',
    target: { containerId: c.id },
    children: () => processNodes(id, c.processes),
  });
  nodes.push({
    id: `${id}:ov`,
    label: 'Overlay',
    description: c.overlay ? `${c.overlay.stack.filter((l) => l.role === 'image').length} image layers + init` : 'unreadable',
    icon: 'files',
    collapsible: c.overlay ? 'collapsed' : 'none',
    contextValue: c.overlay?.upperDir ? 'xray.overlay' : undefined,
    target: { containerId: c.id, upperDir: c.overlay?.upperDir ?? undefined },
    children: () => overlayNodes(id, c),
  });
  nodes.push({
    id: `${id}:ly`,
    label: 'Layers',
    description: text(c.image, 60),
    icon: 'layers',
    collapsible: 'collapsed',
    contextValue: 'xray.layers',
    target: { containerId: c.id, imageRef: c.imageId },
    children: async () => layerNodes(id, await layers(c.id), c.id),
  });
  nodes.push(...errorNodes(id, c.errors));
  return nodes;
}

function sharedSummary(snapshot: Snapshot, c: ContainerSnapshot): string {
  const sharedWithHost = NAMESPACE_TYPES.filter((t) => groupOf(snapshot, t, c)?.members.includes(HOST_MEMBER));
  const sharedOther = NAMESPACE_TYPES.filter((t) => {
    const g = groupOf(snapshot, t, c);
    return g && !g.members.includes(HOST_MEMBER) && g.members.some((m) => m !== c.id);
  });
  const parts: string[] = [];
  if (sharedWithHost.length > 0) parts.push(`host: ${sharedWithHost.join(', ')}`);
  if (sharedOther.length > 0) parts.push(`containers: ${sharedOther.join(', ')}`);
  return parts.length > 0 ? `shared ${parts.join('; ')}` : 'all private';
}

function groupOf(snapshot: Snapshot, type: NamespaceGroup['type'], c: ContainerSnapshot): NamespaceGroup | undefined {
  const inode = c.namespaces?.[type];
  return inode === null || inode === undefined ? undefined : snapshot.namespaceGroups.find((g) => g.type === type && g.inode === inode);
}

export function namespaceNodes(snapshot: Snapshot, c: ContainerSnapshot): XrayNode[] {
  return NAMESPACE_TYPES.map((t) => {
    const inode = c.namespaces?.[t] ?? null;
    const share = inode === null ? 'unreadable' : sharingText(snapshot, groupOf(snapshot, t, c), c.id);
    return {
      id: `c:${c.id}:ns:${t}`,
      label: t,
      description: inode === null ? 'unreadable' : `${inode} · ${share}`,
      tooltip: inode === null ? `${t}: could not be read` : `${t}:[${inode}] — ${share}`,
      icon: share.startsWith('private') ? 'lock' : 'link',
      collapsible: 'none' as const,
    };
  });
}

/** "3.1 MiB of 64.0 MiB (5 %)" or "3.1 MiB, unlimited". */
export function ofLimit(used: number | null, limit: number | null, fmt: (n: number | null) => string = formatBytes): string {
  if (limit === null) return `${fmt(used)}, unlimited`;
  const pct = used !== null && limit > 0 ? ` (${Math.round((used / limit) * 100)} %)` : '';
  return `${fmt(used)} of ${fmt(limit)}${pct}`;
}

export function cgroupNodes(c: ContainerSnapshot): XrayNode[] {
  const cg = c.cgroup;
  if (!cg) return [];
  const { limits: l, usage: u } = cg;
  const id = `c:${c.id}:cg`;
  const leaf = (key: string, label: string, description: string, tooltip?: string, warn = false): XrayNode => ({
    id: `${id}:${key}`,
    label,
    description,
    tooltip: tooltip ?? `${label} ${description}`,
    icon: warn ? 'warning' : undefined,
    iconColor: warn ? 'list.warningForeground' : undefined,
    collapsible: 'none',
  });
  const count = (n: number | null) => (n === null ? '?' : String(n));
  const nodes = [
    leaf(
      'mem',
      'memory',
      ofLimit(u.memoryBytes, l.memoryBytes),
      `usage ${formatBytes(u.memoryBytes)}, working set ${formatBytes(u.workingSetBytes)}, peak ${formatBytes(u.memoryPeakBytes)}`,
      c.nearLimit.includes('memory'),
    ),
    leaf('ws', 'working set', formatBytes(u.workingSetBytes), 'memory usage minus inactive file cache, as docker stats counts it'),
    leaf(
      'swap',
      l.memorySwapMeaning === 'memory+swap' ? 'memory+swap limit' : 'swap limit',
      l.memorySwapBytes === null ? 'unlimited' : formatBytes(l.memorySwapBytes),
    ),
    leaf('res', 'memory reservation', l.memoryReservationBytes === null ? 'none' : formatBytes(l.memoryReservationBytes)),
    leaf(
      'cpu',
      'CPU',
      l.cpus === null ? 'unlimited' : `${l.cpus} CPUs`,
      l.cpuQuotaUs !== null ? `quota ${l.cpuQuotaUs} µs per ${l.cpuPeriodUs} µs period` : 'no CFS quota',
      c.nearLimit.includes('cpu'),
    ),
    leaf('cpuw', cg.version === 1 ? 'cpu shares' : 'cpu weight', cg.version === 1 ? count(l.cpuShares) : count(l.cpuWeight)),
    leaf(
      'cput',
      'CPU time',
      `${u.cpuUsageNs === null ? '?' : (u.cpuUsageNs / 1e9).toFixed(2)} s · throttled ${count(u.cpuThrottledPeriods)} of ${count(u.cpuPeriods)} periods`,
    ),
    leaf(
      'pids',
      'pids',
      l.pidsMax === null ? `${count(u.pidsCurrent)}, unlimited` : `${count(u.pidsCurrent)} of ${l.pidsMax}`,
      undefined,
      c.nearLimit.includes('pids'),
    ),
    leaf(
      'cpuset',
      'cpuset',
      l.cpusetCpus === null
        ? `all CPUs${l.hostCpus ? ` (${l.hostCpus})` : ''}`
        : `CPUs ${l.cpusetCpus}${l.cpusetMems ? `, mems ${l.cpusetMems}` : ''}`,
    ),
    leaf('io', 'block IO', `read ${formatBytes(u.ioReadBytes)}, written ${formatBytes(u.ioWriteBytes)}`),
  ];
  if (l.blkioWeight !== null) nodes.push(leaf('iow', 'block IO weight', String(l.blkioWeight)));
  for (const t of l.blkioThrottles) {
    const parts = [
      t.readBps !== null ? `read ${formatBytes(t.readBps)}/s` : null,
      t.writeBps !== null ? `write ${formatBytes(t.writeBps)}/s` : null,
      t.readIops !== null ? `read ${t.readIops} IOPS` : null,
      t.writeIops !== null ? `write ${t.writeIops} IOPS` : null,
    ].filter(Boolean);
    nodes.push(leaf(`thr:${t.device}`, `block IO limit ${t.device}`, parts.join(', ')));
  }
  return nodes;
}

export function networkNodes(containerId: string, n: NetworkInfo | null): XrayNode[] {
  const id = `c:${containerId}:net`;
  if (!n) return [{ id: `${id}:none`, label: 'not read', icon: 'warning', collapsible: 'none' }];
  const nodes: XrayNode[] = [];
  if (n.hostNetwork)
    nodes.push({
      id: `${id}:host`,
      label: "the host's network namespace",
      description: `net:[${n.namespace}]`,
      icon: 'warning',
      iconColor: 'list.warningForeground',
      collapsible: 'none',
    });
  for (const [k, i] of n.interfaces.entries()) {
    const peer = i.peer ? `↔ ${text(i.peer.name, 64)}${i.peer.bridge ? ` on ${text(i.peer.bridge, 64)}` : ''}` : '';
    nodes.push({
      id: `${id}:if:${k}`,
      label: text(i.name, 64),
      description: [i.addresses.join(' '), peer].filter(Boolean).join(' · ') || 'no address',
      tooltip: `${text(i.name, 64)} (index ${i.index ?? '?'})\n${i.addresses.join('\n') || 'no address'}\nreceived ${formatBytes(i.rxBytes)} (${i.rxPackets} packets), sent ${formatBytes(i.txBytes)} (${i.txPackets} packets)${i.peer ? `\nhost end ${text(i.peer.name, 64)} (index ${i.peer.index}${i.peer.mtu ? `, MTU ${i.peer.mtu}` : ''})${i.peer.bridge ? ` on bridge ${text(i.peer.bridge, 64)}` : ''}` : ''}`,
      icon: i.name === 'lo' ? 'debug-disconnect' : 'plug',
      collapsible: 'none',
    });
  }
  for (const [k, r] of n.routes.entries()) {
    nodes.push({
      id: `${id}:rt:${k}`,
      label: `route ${r.destination}`,
      description: `${r.gateway ? `via ${r.gateway} ` : ''}dev ${text(r.iface, 64)}`,
      icon: 'arrow-right',
      collapsible: 'none',
    });
  }
  for (const s of n.listening) {
    const addr = s.family === 6 ? `[${s.address}]` : s.address;
    nodes.push({
      id: `${id}:ls:${s.protocol}${s.family}:${s.inode}`,
      label: `${s.protocol}${s.family === 6 ? '6' : ''} ${addr}:${s.port}`,
      description: s.processes.map((p) => `${text(p.name, 32)} (${p.hostPid})`).join(', ') || 'held by no process of the container',
      icon: 'radio-tower',
      collapsible: 'none',
    });
  }
  if (n.sharedWith.length > 0)
    nodes.push({
      id: `${id}:shared`,
      label: 'shared with',
      description: `${n.sharedWith.length} other container${n.sharedWith.length === 1 ? '' : 's'}`,
      icon: 'link',
      collapsible: 'none',
    });
  nodes.push(...errorNodes(id, n.errors));
  return nodes;
}

/** `privileged · +CAP_NET_ADMIN · 6 CIS findings` */
function securitySummary(s: SecurityPosture, failed: number): string {
  const parts: string[] = [];
  if (s.allCapabilities) parts.push('privileged');
  else if (s.added.length > 0) parts.push(s.added.map((c) => `+${c.replace(/^CAP_/, '')}`).join(' '));
  if (s.sensitiveMounts.some((m) => m.kind === 'runtime-socket')) parts.push('runtime socket');
  parts.push(failed === 0 ? 'no CIS findings' : `${failed} CIS finding${failed === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

const VERDICT_ICON: Record<string, { icon: string; color?: string }> = {
  pass: { icon: 'pass', color: 'testing.iconPassed' },
  fail: { icon: 'error', color: 'list.errorForeground' },
  unknown: { icon: 'question' },
};

export function securityNodes(c: ContainerSnapshot): XrayNode[] {
  const s = c.security;
  if (!s) return [];
  const id = `c:${c.id}:sec`;
  const leaf = (key: string, label: string, description: string, tooltip?: string, warn = false): XrayNode => ({
    id: `${id}:${key}`,
    label,
    description,
    tooltip: tooltip ?? `${label}: ${description}`,
    icon: warn ? 'warning' : undefined,
    iconColor: warn ? 'list.warningForeground' : undefined,
    collapsible: 'none',
  });
  const capList = (xs: string[]) => (xs.length === 0 ? 'none' : xs.map((x) => x.replace(/^CAP_/, '')).join(', '));
  const caps = s.capabilities;
  const nodes: XrayNode[] = [
    leaf(
      'user',
      'user',
      s.uid === null ? '?' : `${s.uid}${s.user ? ` (${text(s.user, 64)})` : ''}, gid ${s.gid ?? '?'}`,
      undefined,
      s.uid === 0 && s.hostUserNamespace === true,
    ),
    {
      id: `${id}:caps`,
      label: 'capabilities',
      description: s.allCapabilities
        ? 'all (privileged)'
        : [s.added.length > 0 ? `added ${capList(s.added)}` : '', s.dropped.length > 0 ? `dropped ${capList(s.dropped)}` : '']
            .filter(Boolean)
            .join(' · ') || 'the runtime default',
      tooltip: caps
        ? `effective ${caps.masks.effective}: ${capList(caps.effective)}\npermitted ${caps.masks.permitted}\nbounding ${caps.masks.bounding}: ${capList(caps.bounding)}\ndefault set compared with: ${capList(s.defaultSet)}`
        : 'not read',
      icon: s.allCapabilities || s.added.length > 0 ? 'warning' : undefined,
      iconColor: s.allCapabilities || s.added.length > 0 ? 'list.warningForeground' : undefined,
      collapsible: caps ? 'collapsed' : 'none',
      children: () =>
        caps
          ? [
              leaf('caps:eff', 'effective', capList(caps.effective), `CapEff ${caps.masks.effective}`),
              leaf('caps:prm', 'permitted', capList(caps.permitted), `CapPrm ${caps.masks.permitted}`),
              leaf('caps:bnd', 'bounding', capList(caps.bounding), `CapBnd ${caps.masks.bounding}`),
            ]
          : [],
    },
    leaf(
      'seccomp',
      'seccomp',
      s.seccompMode === null
        ? '?'
        : s.seccompMode === 0
          ? 'disabled'
          : s.seccompMode === 1
            ? 'strict'
            : `filter (${s.seccompFilters ?? '?'})`,
      undefined,
      s.seccompMode === 0,
    ),
    leaf('nnp', 'no_new_privs', s.noNewPrivs === null ? '?' : s.noNewPrivs ? 'set' : 'not set'),
    leaf('lsm', s.lsm === 'selinux' ? 'SELinux' : 'AppArmor', s.lsmLabel ? text(s.lsmLabel, 120) : 'none (no LSM label)'),
    leaf(
      'userns',
      'user namespace',
      s.hostUserNamespace === null
        ? '?'
        : s.hostUserNamespace
          ? "the host's (uid 0 is host root)"
          : (s.uidMap ?? []).map((r) => `${r.inside}→${r.outside} ×${r.count}`).join(', '),
    ),
    leaf('ro', 'root filesystem', s.readOnlyRoot === null ? '?' : s.readOnlyRoot ? 'read-only' : 'writable'),
  ];
  for (const [i, m] of s.sensitiveMounts.entries()) {
    nodes.push(
      leaf(
        `mnt:${i}`,
        m.kind === 'runtime-socket'
          ? 'runtime socket'
          : m.kind === 'writable-kernel-fs'
            ? 'writable kernel fs'
            : m.kind === 'host-device'
              ? 'host device'
              : 'host path',
        `${text(m.mountPoint, 120)}${m.hostPath ? ` ← ${text(m.hostPath, 120)}` : ''}${m.readOnly ? ' (ro)' : ''}`,
        undefined,
        true,
      ),
    );
  }
  nodes.push({
    id: `${id}:cis`,
    label: 'CIS Docker Benchmark',
    description: `${s.verdicts.filter((v) => v.status === 'fail').length} failed, ${s.verdicts.filter((v) => v.status === 'pass').length} passed`,
    icon: 'checklist',
    collapsible: 'collapsed',
    children: () =>
      s.verdicts.map((v) => ({
        id: `${id}:cis:${v.id}`,
        label: `${v.id} ${v.title}`,
        description: text(v.evidence, 160),
        tooltip: `CIS ${v.id} ${v.title}: ${v.status}\n${text(v.evidence, 1000)}`,
        icon: VERDICT_ICON[v.status].icon,
        iconColor: VERDICT_ICON[v.status].color,
        collapsible: 'none' as const,
      })),
  });
  return nodes;
}

export function processNodes(idPrefix: string, processes: ProcessInfo[]): XrayNode[] {
  const node = (n: ProcessNode): XrayNode => {
    const p = n.process;
    return {
      id: `${idPrefix}:ps:${p.hostPid}`,
      label: `${p.hostPid} → ${p.containerPid ?? '?'}`,
      description: `${text(p.user, 32)} · ${text(commandText(p), 160)}`,
      tooltip: `host PID ${p.hostPid}, container PID ${p.containerPid ?? 'unknown'}, parent ${p.ppid}\nuser ${text(p.user, 64)}\n${text(commandText(p), 2000)}`,
      icon: 'terminal',
      contextValue: 'xray.process',
      collapsible: n.children.length > 0 ? 'expanded' : 'none',
      target: { hostPid: p.hostPid },
      children: () => n.children.map(node),
    };
  };
  return buildProcessTree(processes).map(node);
}

export function overlayNodes(idPrefix: string, c: ContainerSnapshot): XrayNode[] {
  const ov = c.overlay;
  if (!ov) return [];
  const image = ov.stack.filter((l) => l.role === 'image').length;
  const init = ov.stack.some((l) => l.role === 'init');
  const leaf = (key: string, label: string, value: string | null, tooltip?: string): XrayNode => ({
    id: `${idPrefix}:ov:${key}`,
    label,
    description: value === null ? 'unknown' : text(value, 200),
    tooltip: tooltip ?? (value === null ? undefined : text(value, 2000)),
    collapsible: 'none',
  });
  return [
    leaf(
      'lower',
      'lowerdir',
      `${image} image layer${image === 1 ? '' : 's'}${init ? ' + init layer' : ''}`,
      ov.stack
        .map((l, i) => `${i}: ${l.role}${l.snapshotId !== undefined ? ` snapshot ${l.snapshotId}` : ''} ${l.resolved ?? l.dir}`)
        .reverse()
        .join('\n'),
    ),
    {
      ...leaf(
        'upper',
        'upperdir',
        ov.upperDir && ov.upperSnapshotId !== undefined ? `snapshot ${ov.upperSnapshotId}  ${ov.upperDir}` : ov.upperDir,
      ),
      contextValue: ov.upperDir ? 'xray.upperdir' : undefined,
      target: { containerId: c.id, upperDir: ov.upperDir ?? undefined },
    },
    leaf('work', 'workdir', ov.workDir),
    leaf('merged', 'merged', ov.mergedDir),
    leaf('src', 'found in', ov.source === 'mountinfo' ? '/proc/PID/mountinfo' : 'docker inspect'),
  ];
}

const MAX_FILES_SHOWN = 200;

function changeNodes(idPrefix: string, changes: LayerChange[]): XrayNode[] {
  const mark = { added: 'A', modified: 'M', deleted: 'D' } as const;
  const icon = { added: 'diff-added', modified: 'diff-modified', deleted: 'diff-removed' } as const;
  const color = {
    added: 'gitDecoration.addedResourceForeground',
    modified: 'gitDecoration.modifiedResourceForeground',
    deleted: 'gitDecoration.deletedResourceForeground',
  } as const;
  const files = changes.filter((c) => c.type !== 'dir' || c.opaque || c.kind === 'deleted');
  const sorted = [...files].sort((a, b) => b.sizeBytes - a.sizeBytes || (a.path < b.path ? -1 : 1));
  const shown: XrayNode[] = sorted.slice(0, MAX_FILES_SHOWN).map((c, i) => ({
    id: `${idPrefix}:f:${i}`,
    label: text(c.path, 200),
    description: `${mark[c.kind]}${c.opaque ? ' · opaque' : ''}${c.sizeBytes > 0 ? ` · ${formatBytes(c.sizeBytes)}` : ''}`,
    tooltip: `${c.kind} ${c.type}${c.opaque ? ' (opaque: hides the directory below)' : ''}\n${text(c.path, 2000)}${c.linkTarget !== undefined ? `\n→ ${text(c.linkTarget, 2000)}` : ''}`,
    icon: icon[c.kind],
    iconColor: color[c.kind],
    collapsible: 'none' as const,
  }));
  if (sorted.length > MAX_FILES_SHOWN) {
    shown.push({
      id: `${idPrefix}:f:more`,
      label: `${sorted.length - MAX_FILES_SHOWN} more…`,
      description: 'open the Layer Diff for all',
      tooltip: 'The largest files are listed here; the Layer Diff explorer shows every path.',
      icon: 'ellipsis',
      iconColor: 'descriptionForeground',
      collapsible: 'none' as const,
    });
  }
  return shown;
}

function layerNode(idPrefix: string, l: ImageLayer, ref: string): XrayNode {
  const counts = { added: 0, modified: 0, deleted: 0 };
  for (const c of l.changes) counts[c.kind]++;
  const by = layerOrigin(l).replace(/\s+/g, ' ').trim();
  return {
    id: `${idPrefix}:l:${l.index}`,
    label: `#${l.index} ${formatBytes(l.sizeBytes)}`,
    description: text(by, 120),
    tooltip: `${text(by, 2000)}\n+${counts.added} ~${counts.modified} -${counts.deleted} · wasted ${formatBytes(l.wastedBytes)}\n${l.diffId}`,
    icon: 'layers',
    contextValue: 'xray.layer',
    collapsible: l.changes.length > 0 ? 'collapsed' : 'none',
    command: { command: 'containerXray.showLayerDiff', title: 'Show Layer Diff', arguments: [{ ref, layer: l.index }] },
    target: { imageRef: ref, layer: l.index },
    children: () => changeNodes(`${idPrefix}:l:${l.index}`, l.changes),
  };
}

export function layerNodes(idPrefix: string, report: LayerReport, ref: string): XrayNode[] {
  const nodes = report.layers.map((l) => layerNode(`${idPrefix}`, l, ref)).reverse();
  if (report.upper) {
    const u = report.upper;
    nodes.unshift({
      id: `${idPrefix}:l:upper`,
      label: `writable ${formatBytes(u.sizeBytes)}`,
      description: `${u.changes.length} changed paths`,
      tooltip: u.dir ? text(u.dir, 2000) : undefined,
      icon: 'edit',
      contextValue: 'xray.layer.upper',
      collapsible: u.changes.length > 0 ? 'collapsed' : 'none',
      command: { command: 'containerXray.showLayerDiff', title: 'Show Layer Diff', arguments: [{ ref, layer: 'upper' }] },
      target: { imageRef: ref, layer: 'upper', upperDir: u.dir ?? undefined },
      children: () => changeNodes(`${idPrefix}:l:upper`, u.changes),
    });
  }
  nodes.push({
    id: `${idPrefix}:l:eff`,
    label: 'efficiency',
    description: `${formatPercent(report.efficiency)} · wasted ${formatBytes(report.wastedBytes)} · user wasted ${formatPercent(report.userWastedPercent)}`,
    icon: 'graph',
    collapsible: 'none',
  });
  nodes.push(...errorNodes(idPrefix, report.errors));
  return nodes;
}

export function imageNodes(images: ImageFacts[], containerNames: Map<string, string>, opts: Pick<ViewOptions, 'filter'> = {}): XrayNode[] {
  const tagOf = new Map(images.map((i) => [i.id, i.tags[0] ?? shortId(i.id)]));
  const shown = images.filter((img) => imageMatches(img, opts.filter));
  if (shown.length === 0 && filterTerms(opts.filter).length > 0) return [noMatchNode('image', opts.filter ?? '')];
  return shown.map((img) => ({
    id: `i:${img.id}`,
    label: text(img.tags[0] ?? `<none> ${shortId(img.id)}`, 120),
    description: `${formatBytes(img.sizeBytes)} · ${img.layers.length} layers${img.sharedBytes > 0 ? ` · ${formatBytes(img.sharedBytes)} shared` : ''}${img.containers.length > 0 ? ` · ${img.containers.length} containers` : ''}`,
    tooltip: [...img.tags.map((t) => text(t)), img.id, ...img.repoDigests.map((d) => text(d)), `created ${img.created}`].join('\n'),
    icon: 'package',
    contextValue: 'xray.image',
    collapsible: 'collapsed' as const,
    target: { imageRef: img.id },
    children: () => [
      ...img.layers.map((l, i) => ({
        id: `i:${img.id}:l:${i}`,
        label: `#${i} ${shortId(l.diffId)}`,
        description: `${l.sizeBytes === null ? 'size unknown' : formatBytes(l.sizeBytes)}${l.sharedWith.length > 0 ? ` · shared with ${l.sharedWith.map((s) => text(tagOf.get(s) ?? shortId(s), 60)).join(', ')}` : ''}`,
        tooltip: `diff ${l.diffId}\nchain ${l.chainId}`,
        icon: l.sharedWith.length > 0 ? 'references' : 'layers',
        collapsible: 'none' as const,
        command: { command: 'containerXray.showLayerDiff', title: 'Show Layer Diff', arguments: [{ ref: img.id, layer: i }] },
      })),
      ...img.containers.map((cid) => ({
        id: `i:${img.id}:c:${cid}`,
        label: text(containerNames.get(cid) ?? shortId(cid), 80),
        description: 'container',
        icon: 'vm',
        collapsible: 'none' as const,
      })),
    ],
  }));
}

export function hostNodes(host: HostFacts): XrayNode[] {
  const d = host.daemon;
  const leaf = (key: string, label: string, description: string, tooltip?: string, icon?: string): XrayNode => ({
    id: `h:${key}`,
    label,
    description: text(description, 200),
    tooltip: text(tooltip ?? description, 2000),
    icon,
    collapsible: 'none',
  });
  const here = host.thisMachine;
  const nodes: XrayNode[] = [];
  // Elsewhere (a remote host, Docker Desktop's VM), the facts below are the daemon's machine's: say so first.
  if (here)
    nodes.push(
      leaf(
        'machine',
        'Daemon machine',
        `${host.hostname} · where the containers run`,
        `The facts below are of ${host.hostname}, the machine the Docker daemon runs on (${d?.runsElsewhereReason ?? 'not this machine'}), not of this machine.`,
        'server-environment',
      ),
    );
  nodes.push(
    leaf(
      'kernel',
      'Kernel',
      host.kernel,
      here
        ? `Linux ${host.kernel} on ${host.hostname}: the one kernel every container of this daemon runs on (this machine runs ${here.kernel})`
        : `Linux ${host.kernel}: the one kernel every container on this host runs on`,
      'chip',
    ),
    leaf('os', 'OS', `${host.os.distro} ${host.os.release} ${host.os.codename}`.trim(), undefined, 'server'),
    leaf(
      'virt',
      'Virtualization',
      host.virtualization.isVirtual ? `virtual machine · ${host.virtualization.hypervisor ?? 'unknown hypervisor'}` : 'bare metal',
      host.virtualization.evidence,
      'vm',
    ),
    leaf(
      'cgroup',
      'cgroup',
      host.cgroupVersion ? `v${host.cgroupVersion}${host.cgroupHybrid ? ' (hybrid: v1 controllers, v2 tree mounted)' : ''}` : 'unknown',
      undefined,
      'dashboard',
    ),
    leaf('cpus', 'CPUs · memory', `${host.cpus} · ${formatBytes(host.memoryBytes)}`),
  );
  if (here)
    nodes.push(
      leaf(
        'thisMachine',
        'This machine',
        `${here.hostname} · kernel ${here.kernel}`,
        `${here.hostname}: ${here.os}, kernel ${here.kernel}, ${here.cpus} CPUs, ${formatBytes(here.memoryBytes)}. Container X-Ray runs here; the containers do not.`,
        'device-desktop',
      ),
    );
  if (d) {
    nodes.push(
      leaf(
        'docker',
        'Runtime',
        `${d.runtime} · ${d.operatingSystem}`,
        `endpoint ${d.endpoint}\nroot ${d.rootDir}\nstorage ${d.storageLayout}`,
        'package',
      ),
      leaf(
        'storage',
        'Storage driver',
        `${d.storageDriver}${d.containerdSnapshotter ? ' (containerd snapshotter)' : ''}`,
        undefined,
        'database',
      ),
      leaf('cgdriver', 'cgroup driver', `${d.cgroupDriver} · cgroup v${d.cgroupVersion}`),
      leaf(
        'where',
        'Daemon runs',
        d.runsElsewhere || d.runsInVm
          ? `in a VM or elsewhere: ${d.runsElsewhereReason ?? d.operatingSystem}`
          : 'on this machine, on its kernel',
        d.runsElsewhere
          ? `The daemon's kernel is ${d.kernel}; containers share that kernel, not this machine's.`
          : `Containers share this kernel (${host.kernel}).`,
        'globe',
      ),
    );
  } else {
    nodes.push(leaf('docker', 'Runtime', 'unreachable', host.errors.map((e) => e.reason).join('\n'), 'error'));
  }
  nodes.push(leaf('access', 'Access', `${host.access.mode} · ${host.access.reason}`, undefined, 'key'));
  const helper = host.access.helper;
  if (helper)
    nodes.push(
      leaf(
        'helperImage',
        'Helper image',
        `${helper.image} · ${helper.imageId ? shortId(helper.imageId) : 'ID unknown'}`,
        `The helper container ran ${helper.image} (image ID ${helper.imageId ?? 'unknown'}) as root with SYS_PTRACE and DAC_READ_SEARCH in the host's PID namespace.`,
        'shield',
      ),
    );
  nodes.push(...errorNodes('h', host.errors));
  return nodes;
}
