// The namespace matrix: a real table, containers × the eight namespace types, each cell the inode as
// text, coloured by its sharing group within the column. The accessible twin of the graph. The members
// of a pod sit together in their own row group, under a heading row that names the pod; so do the members
// of a Compose project (the containers in no pod that carry its label), after the pods.
import { composeProjects } from '../../src/shared/compose';
import { ContainerSnapshot, HOST_MEMBER, NAMESPACE_TYPES, NamespaceType, PodGroup, Snapshot } from '../../src/shared/model';
import { podTitle } from '../../src/shared/pods';
import { h } from '../dom';
import { GroupIndex, NAMESPACE_INFO, sharedWithText } from '../lib/namespaces';
import { show, trunc } from '../ui';

/** Tint colours cycle through the chart palette; the group class stays unique per group. */
const TINTS = 6;

export function unreadableReason(c: ContainerSnapshot): string {
  const pick =
    c.errors.find((e) => e.field === 'namespaces' || e.field.startsWith('namespaces.')) ??
    c.errors.find((e) => e.field === 'container') ??
    c.errors[0];
  if (pick) return pick.reason;
  if (c.pid === null) return `the container is ${c.state}: it has no process whose namespaces could be read`;
  return 'no reason given';
}

function cell(type: NamespaceType, inode: number | null, self: string, index: GroupIndex, names: Record<string, string>): HTMLElement {
  if (inode === null) {
    return h(
      'td',
      { class: 'ns-cell ns-unknown', 'data-ns-type': type, title: `${type}: not readable`, 'aria-label': `${type}: not readable` },
      '—',
    );
  }
  const info = index[type].get(inode);
  const who = sharedWithText(info, self, names);
  let cls = 'ns-cell ns-solo';
  if (info?.kind === 'host') cls = 'ns-cell ns-host';
  else if (info?.kind === 'shared') cls = `ns-cell ns-shared grp-${info.index} tint-${info.index % TINTS}`;
  const label = show(`${type} namespace ${inode}: ${who}`);
  return h('td', { class: cls, 'data-ns-type': type, 'data-inode': inode, title: label, 'aria-label': label }, String(inode));
}

export function renderMatrix(
  snapshot: Snapshot,
  index: GroupIndex,
  names: Record<string, string>,
  focus: Set<string>,
  openDashboard: (containerId: string) => void,
): HTMLElement {
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col', class: 'col-name' }, 'Container'),
    ...NAMESPACE_TYPES.map((t) =>
      h(
        'th',
        { scope: 'col', title: `${t}: ${NAMESPACE_INFO[t]}`, 'data-ns-type': t },
        h('span', { class: `swatch ns-${t}`, 'aria-hidden': 'true' }),
        t,
      ),
    ),
  );
  const body = h('tbody');

  // The host first: every other row is read against it.
  const hostNs = hostInodes(snapshot);
  const hostRow = h(
    'tr',
    { class: 'host-row', 'data-container-id': HOST_MEMBER },
    h(
      'th',
      { scope: 'row', class: 'col-name' },
      h('span', { class: 'host-mark' }, 'host'),
      ' ',
      trunc(snapshot.host.hostname, { class: 'sub' }),
    ),
  );
  if (hostNs) for (const t of NAMESPACE_TYPES) hostRow.append(cell(t, hostNs[t], HOST_MEMBER, index, names));
  else
    hostRow.append(
      h('td', { colspan: NAMESPACE_TYPES.length, class: 'ns-unreadable' }, `unreadable: ${show(snapshot.hostNamespacesFrom)}`),
    );
  body.append(hostRow);

  const containerRow = (c: ContainerSnapshot, pod: PodGroup | null, inProject = false): HTMLElement => {
    const open = h('button', { class: 'link trunc', type: 'button', title: show(c.name), 'data-action': 'open' }, show(c.name));
    open.addEventListener('click', () => openDashboard(c.id));
    const infra =
      pod && pod.infra === c.id
        ? h('span', { class: 'pod-infra', 'data-testid': 'pod-infra' }, pod.ref.source === 'podman' ? 'pod infra' : 'pod sandbox (pause)')
        : null;
    const service =
      inProject && c.compose?.service
        ? trunc(`service ${c.compose.service}`, { class: 'compose-service', 'data-testid': 'compose-service' })
        : null;
    const row = h(
      'tr',
      {
        'data-container-id': c.id,
        class:
          [focus.has(c.id) ? 'focus' : '', c.state !== 'running' ? 'down' : '', pod ? 'pod-member' : '', inProject ? 'project-member' : '']
            .join(' ')
            .trim() || null,
      },
      h('th', { scope: 'row', class: 'col-name' }, open, infra, service, trunc(c.image, { class: 'sub' })),
    );
    if (c.namespaces) {
      for (const t of NAMESPACE_TYPES) row.append(cell(t, c.namespaces[t], c.id, index, names));
    } else {
      row.append(h('td', { colspan: NAMESPACE_TYPES.length, class: 'ns-unreadable' }, trunc(`unreadable: ${unreadableReason(c)}`)));
    }
    return row;
  };

  // Each pod in its own row group, headed by its name and what every member shares; then the rest.
  const byId = new Map(snapshot.containers.map((c) => [c.id, c]));
  const podBodies: HTMLElement[] = [];
  const inPod = new Set<string>();
  (snapshot.pods ?? []).forEach((pod, i) => {
    const members = pod.containers.map((id) => byId.get(id)).filter((c): c is ContainerSnapshot => c !== undefined);
    if (members.length === 0) return;
    for (const c of members) inPod.add(c.id);
    const kind = pod.ref.source === 'podman' ? 'Podman pod' : 'Kubernetes pod';
    const shares = pod.sharedNamespaces.length > 0 ? `all share ${pod.sharedNamespaces.join(', ')}` : 'no namespace all share';
    const group = h(
      'tbody',
      { class: 'pod-group', 'data-pod-index': i },
      h(
        'tr',
        { class: 'pod-row' },
        h(
          'th',
          { scope: 'rowgroup', colspan: NAMESPACE_TYPES.length + 1, class: 'pod-heading', 'data-testid': 'pod-heading' },
          h('span', { class: 'pod-mark' }, kind),
          ' ',
          trunc(podTitle(pod.ref), { class: 'pod-name' }),
          ' ',
          h('span', { class: 'sub' }, `${members.length} container${members.length === 1 ? '' : 's'} · ${shares}`),
        ),
      ),
    );
    for (const c of members) group.append(containerRow(c, pod));
    podBodies.push(group);
  });
  // Then each Compose project of the containers in no pod, members by service then name.
  const projectBodies: HTMLElement[] = [];
  const inProject = new Set<string>();
  composeProjects(snapshot.containers, snapshot.pods ?? []).forEach((g, i) => {
    for (const c of g.containers) inProject.add(c.id);
    const n = g.containers.length;
    const services = g.services.length;
    const group = h(
      'tbody',
      { class: 'project-group', 'data-project-index': i },
      h(
        'tr',
        { class: 'project-row' },
        h(
          'th',
          { scope: 'rowgroup', colspan: NAMESPACE_TYPES.length + 1, class: 'project-heading', 'data-testid': 'project-heading' },
          h('span', { class: 'pod-mark' }, 'Compose project'),
          ' ',
          trunc(g.project, { class: 'project-name' }),
          ' ',
          h('span', { class: 'sub' }, `${services} service${services === 1 ? '' : 's'}, ${n} container${n === 1 ? '' : 's'}`),
        ),
      ),
    );
    for (const c of g.containers) group.append(containerRow(c, null, true));
    projectBodies.push(group);
  });
  // Without pods or projects every row stays in the host's row group; with them the rest get their own, last.
  const grouped = podBodies.length > 0 || projectBodies.length > 0;
  const rest = grouped ? h('tbody', { class: 'no-pod' }) : body;
  for (const c of snapshot.containers) if (!inPod.has(c.id) && !inProject.has(c.id)) rest.append(containerRow(c, null));

  return h(
    'table',
    { class: 'matrix', 'data-testid': 'matrix' },
    h('caption', {}, 'Namespace inodes per container (/proc/PID/ns). Same colour in a column: the same namespace.'),
    h('thead', {}, head),
    body,
    ...podBodies,
    ...projectBodies,
    rest !== body && rest.childElementCount > 0 ? rest : null,
  );
}

/** The host's inodes, recovered from the groups it is a member of. */
function hostInodes(snapshot: Snapshot): Record<NamespaceType, number | null> | null {
  const out = Object.fromEntries(NAMESPACE_TYPES.map((t) => [t, null])) as Record<NamespaceType, number | null>;
  let any = false;
  for (const g of snapshot.namespaceGroups) {
    if (g.members.includes(HOST_MEMBER)) {
      out[g.type] = g.inode;
      any = true;
    }
  }
  return any ? out : null;
}

export function matrixLegend(): HTMLElement {
  return h(
    'p',
    { class: 'matrix-legend' },
    h('span', { class: 'key ns-host' }, 'host'),
    ' the host’s namespace · ',
    h('span', { class: 'key ns-shared tint-0' }, 'colour'),
    ' shared between containers (same colour in a column = same group) · ',
    h('span', { class: 'key ns-solo' }, 'plain'),
    ' the container’s own',
  );
}
