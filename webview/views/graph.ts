// The namespace graph: the host and the containers as nodes, one coloured edge per member of a shared
// namespace (to the host when it is a member, else to the group's first container), a legend whose
// checkboxes show or hide each type, and the matrix beside it. A pod is a compound node holding its member
// containers; so is a Compose project, for the containers in no pod that carry its label. Drawn by
// cytoscape on a canvas: labels are text painted on the canvas, never HTML.
import cytoscape from 'cytoscape';
import { ComposeProjectGroup, composeProjects } from '../../src/shared/compose';
import { HOST_MEMBER, NAMESPACE_TYPES, NamespaceType, PodGroup, Snapshot } from '../../src/shared/model';
import { podTitle } from '../../src/shared/pods';
import { GraphState, graphScope } from '../../src/shared/protocol/graph';
import { printable, truncate } from '../../src/shared/text';
import { viewBus } from '../bus';
import { clear, h } from '../dom';
import { GroupIndex, NAMESPACE_INFO, QUIET_TYPES, ShareEdge, components, indexGroups, memberName, shareEdges } from '../lib/namespaces';
import { viewState } from '../state';
import { cssVar, mix, onThemeChange, themeColor } from '../theme';
import { button, show, trunc, waiting } from '../ui';
import { matrixLegend, renderMatrix } from './matrix';

const { on, send } = viewBus(graphScope);

/** Up to this many containers a layered layout reads well; beyond it, a grid. */
const SMALL_MAX = 60;

interface GraphViewState {
  types: Record<NamespaceType, boolean>;
  /** The node set the saved positions and viewport belong to. */
  nodesKey: string | null;
  positions: Record<string, [number, number]> | null;
  zoom: number | null;
  pan: { x: number; y: number } | null;
}

const DEFAULT_TYPES = Object.fromEntries(NAMESPACE_TYPES.map((t) => [t, !QUIET_TYPES.includes(t)])) as Record<NamespaceType, boolean>;

interface Colors {
  bg: string;
  fg: string;
  muted: string;
  node: string;
  nodeBorder: string;
  host: string;
  hostText: string;
  focus: string;
  warn: string;
  font: string;
  types: Record<NamespaceType, string>;
}

function readColors(): Colors {
  const bg = themeColor('--vscode-editor-background', '#1e1e1e');
  const fg = themeColor('--vscode-foreground', '#cccccc', bg);
  const types = Object.fromEntries(NAMESPACE_TYPES.map((t) => [t, themeColor(`--ns-${t}`, fg, bg)])) as Record<NamespaceType, string>;
  return {
    bg,
    fg,
    muted: themeColor('--vscode-descriptionForeground', '#9d9d9d', bg),
    node: mix(bg, fg, 0.16),
    nodeBorder: mix(bg, fg, 0.55),
    host: themeColor('--vscode-badge-background', '#616161', bg),
    hostText: themeColor('--vscode-badge-foreground', '#ffffff', bg),
    focus: themeColor('--vscode-focusBorder', '#0078d4', bg),
    warn: themeColor('--vscode-charts-orange', '#d18616', bg),
    font: cssVar('--vscode-font-family', 'sans-serif'),
    types,
  };
}

function graphStyle(c: Colors, large: boolean): cytoscape.StylesheetJson {
  const lineStyle: Partial<Record<NamespaceType, 'dashed' | 'dotted'>> = { cgroup: 'dashed', time: 'dotted' };
  return [
    {
      selector: 'node',
      style: {
        'background-color': c.node,
        'border-color': c.nodeBorder,
        'border-width': 1.5,
        width: large ? 14 : 18,
        height: large ? 14 : 18,
        label: 'data(label)',
        color: c.fg,
        'font-family': c.font,
        'font-size': large ? 10 : 11,
        'text-valign': 'bottom',
        'text-halign': 'center',
        'text-margin-y': 3,
        'text-wrap': 'ellipsis',
        'text-max-width': large ? '110px' : '130px',
        'text-background-color': c.bg,
        'text-background-opacity': 0.75,
        'text-background-padding': '1px',
        'min-zoomed-font-size': 7,
      },
    },
    {
      selector: 'node[kind="host"]',
      style: {
        shape: 'round-rectangle',
        // A fixed size: 'label' sizing loses the node while the label is below min-zoomed-font-size.
        width: 'data(width)',
        height: 28,
        'background-color': c.host,
        'border-color': c.host,
        color: c.hostText,
        'font-size': 12,
        'font-weight': 'bold',
        'text-valign': 'center',
        'text-margin-y': 0,
        'text-background-opacity': 0,
        'text-max-width': '220px',
        'text-wrap': 'ellipsis',
      },
    },
    {
      // A pod: a box around its members, its name on top (compound nodes size themselves to their children).
      selector: 'node[kind="pod"], node[kind="project"]',
      style: {
        shape: 'round-rectangle',
        'background-color': c.fg,
        'background-opacity': 0.05,
        'border-color': c.muted,
        'border-style': 'dashed',
        'border-width': 1.5,
        padding: '14px',
        color: c.muted,
        'font-size': large ? 10 : 11,
        'font-weight': 'bold',
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -2,
        'text-background-opacity': 0,
        'text-max-width': '220px',
        'text-wrap': 'ellipsis',
      },
    },
    // A Compose project's box: drawn like a pod's, its border dotted.
    { selector: 'node[kind="project"]', style: { 'border-style': 'dotted', 'border-width': 2 } },
    { selector: 'node.infra', style: { shape: 'diamond' } },
    { selector: 'node.down', style: { 'background-opacity': 0.25, 'border-style': 'dashed' } },
    { selector: 'node.unreadable', style: { 'border-style': 'dotted', 'border-width': 2, 'border-color': c.muted } },
    { selector: 'node.near', style: { 'border-color': c.warn, 'border-width': 3 } },
    {
      selector: 'node.focus',
      style: {
        'underlay-color': c.focus,
        'underlay-opacity': 0.45,
        'underlay-padding': 7,
        'underlay-shape': 'ellipse',
        'border-color': c.focus,
        'border-width': 3,
      },
    },
    {
      selector: 'edge',
      style: {
        width: 2,
        'curve-style': 'bezier',
        'control-point-step-size': 10,
        opacity: 0.85,
        'line-color': c.muted,
      },
    },
    ...NAMESPACE_TYPES.map((t) => ({
      selector: `edge[type="${t}"]`,
      style: { 'line-color': c.types[t], 'line-style': lineStyle[t] ?? 'solid' },
    })),
    { selector: '.type-off', style: { display: 'none' } },
    { selector: '.faded', style: { opacity: 0.15 } },
    { selector: 'edge.lit', style: { width: 3.5, opacity: 1 } },
    { selector: 'node:selected', style: { 'border-color': c.focus, 'border-width': 3 } },
  ] as cytoscape.StylesheetJson;
}

/** The graph node id of the i-th pod: never a container id (64 hex digits) nor the host's. */
const podNodeId = (i: number) => `pod:${i}`;

/** The graph node id of the i-th Compose project (by name): never a container id, the host's nor a pod's. */
const projectNodeId = (i: number) => `project:${i}`;

/** The Compose projects drawn as boxes: those of the containers in no pod. */
const projectsOf = (snapshot: Snapshot): ComposeProjectGroup[] => composeProjects(snapshot.containers, snapshot.pods ?? []);

/**
 * The node set: the containers and which pod or Compose project holds each (a change of any lays the
 * graph out again).
 */
const nodesKeyOf = (snapshot: Snapshot) =>
  [
    snapshot.containers.map((c) => c.id).join(','),
    ...(snapshot.pods ?? []).map((p) => p.containers.join(',')),
    JSON.stringify(projectsOf(snapshot).map((g) => [g.project, g.containers.map((c) => c.id)])),
  ].join('|');

/** A pod's label on the canvas: `pod default/web-0`, bounded and printable. */
const podLabel = (pod: PodGroup) => `pod ${truncate(printable(podTitle(pod.ref)), 40)}`;

/** A Compose project's label on the canvas: `compose shop`, bounded and printable. */
const projectLabel = (g: ComposeProjectGroup) => `compose ${truncate(printable(g.project), 40)}`;

export function mountGraph(root: HTMLElement): void {
  const vs = viewState<GraphViewState>('graph', { types: { ...DEFAULT_TYPES }, nodesKey: null, positions: null, zoom: null, pan: null });
  const types: Record<NamespaceType, boolean> = { ...DEFAULT_TYPES, ...vs.get().types };

  const title = h('h1', {}, 'Namespaces');
  const subtitle = h('p', { class: 'subtitle' });
  const compare = h('div', { class: 'compare', hidden: true });
  const legend = h('div', { class: 'legend', role: 'group', 'aria-label': 'Namespace types shown as edges' });
  const canvasBox = h('div', { class: 'graph-canvas', role: 'img', 'aria-label': 'Namespace graph (the table lists the same)' });
  const info = h('p', { class: 'graph-info', 'aria-live': 'polite' });
  const matrixBox = h('div', { class: 'matrix-box' });
  const notes = h('div', { class: 'matrix-notes' });
  const fitBtn = button('Fit', () => fitCapped(), { secondary: true, title: 'Fit the whole graph in view' });
  const layoutBtn = button('Re-layout', () => current && layout(current.snapshot, true), {
    secondary: true,
    title: 'Lay the graph out again with the shown types',
  });
  const toolbar = h('div', { class: 'graph-toolbar' }, legend, h('div', { class: 'toolbar-buttons' }, fitBtn, layoutBtn));
  const body = h(
    'div',
    { class: 'graph-layout' },
    h('section', { class: 'graph-pane', 'aria-label': 'Graph' }, toolbar, canvasBox, info),
    h('section', { class: 'matrix-pane', 'aria-label': 'Matrix' }, matrixBox, notes),
  );
  const loading = waiting('Reading namespaces…');
  root.append(h('header', { class: 'view-header' }, title, subtitle), compare, loading);

  let cy: cytoscape.Core | null = null;
  let current: GraphState | null = null;
  let index: GroupIndex | null = null;
  let names: Record<string, string> = {};
  let edges: ShareEdge[] = [];
  let colors = readColors();
  let large = false;
  let defaultHint = 'Click a container to open its dashboard. Scroll to zoom, drag the background to pan, drag a node to move it.';
  info.textContent = defaultHint;

  const typeCount = (t: NamespaceType) => edges.filter((e) => e.type === t).length;

  function renderLegend(): void {
    clear(legend);
    for (const t of NAMESPACE_TYPES) {
      const box = h('vscode-checkbox', { label: t, checked: types[t], 'data-ns-type': t, title: `${t}: ${NAMESPACE_INFO[t]}` });
      box.addEventListener('change', () => {
        types[t] = (box as HTMLElement & { checked: boolean }).checked;
        vs.set({ types: { ...types } });
        applyTypes();
      });
      const n = typeCount(t);
      legend.append(
        h(
          'span',
          { class: 'legend-item', title: `${t}: ${NAMESPACE_INFO[t]}` },
          h('span', { class: `swatch line ns-${t}`, 'aria-hidden': 'true' }),
          box,
          h('span', { class: 'legend-count', 'aria-label': `${n} links` }, String(n)),
        ),
      );
    }
  }

  function applyTypes(): void {
    if (!cy) return;
    cy.batch(() => {
      for (const t of NAMESPACE_TYPES) {
        const eles = cy!.edges(`[type="${t}"]`);
        if (types[t]) eles.removeClass('type-off');
        else eles.addClass('type-off');
      }
    });
  }

  function elementsFor(snapshot: Snapshot, focus: Set<string>): cytoscape.ElementDefinition[] {
    const hostLabel = `host: ${truncate(printable(snapshot.host.hostname), 28)}`;
    const els: cytoscape.ElementDefinition[] = [
      { group: 'nodes', data: { id: HOST_MEMBER, kind: 'host', label: hostLabel, width: Math.min(240, 24 + hostLabel.length * 7.5) } },
    ];
    const parentOf = new Map<string, string>();
    const infras = new Set<string>();
    const ids = new Set(snapshot.containers.map((c) => c.id));
    (snapshot.pods ?? []).forEach((pod, i) => {
      const members = pod.containers.filter((id) => ids.has(id) && !parentOf.has(id));
      if (members.length === 0) return;
      els.push({ group: 'nodes', data: { id: podNodeId(i), kind: 'pod', label: podLabel(pod) } });
      for (const id of members) parentOf.set(id, podNodeId(i));
      if (pod.infra) infras.add(pod.infra);
    });
    // Pods keep their members: a Compose project boxes the containers in no pod.
    projectsOf(snapshot).forEach((g, i) => {
      const members = g.containers.map((c) => c.id).filter((id) => !parentOf.has(id));
      if (members.length === 0) return;
      els.push({ group: 'nodes', data: { id: projectNodeId(i), kind: 'project', label: projectLabel(g) } });
      for (const id of members) parentOf.set(id, projectNodeId(i));
    });
    for (const c of snapshot.containers) {
      const classes = [
        c.state !== 'running' ? 'down' : '',
        c.namespaces ? '' : 'unreadable',
        c.nearLimit.length ? 'near' : '',
        focus.has(c.id) ? 'focus' : '',
        infras.has(c.id) ? 'infra' : '',
      ]
        .filter(Boolean)
        .join(' ');
      const parent = parentOf.get(c.id);
      els.push({
        group: 'nodes',
        data: { id: c.id, kind: 'container', label: truncate(printable(c.name), 32), ...(parent ? { parent } : {}) },
        classes,
      });
    }
    for (const e of edges)
      els.push({ group: 'edges', data: { id: e.id, source: e.source, target: e.target, type: e.type, inode: e.inode } });
    return els;
  }

  function layout(snapshot: Snapshot, force: boolean): void {
    if (!cy) return;
    const saved = vs.get();
    const key = nodesKeyOf(snapshot);
    if (!force && saved.nodesKey === key && saved.positions) {
      const pos = saved.positions;
      // A pod's or a project's box follows its members: only the containers and the host are placed.
      cy.nodes()
        .not(':parent')
        .positions((n) => {
          const p = pos[n.id()];
          return p ? { x: p[0], y: p[1] } : { x: 0, y: 0 };
        });
      if (saved.zoom !== null && saved.pan) cy.viewport({ zoom: saved.zoom, pan: saved.pan });
      else fitCapped();
      return;
    }
    const n = snapshot.containers.length;
    if (n <= SMALL_MAX) smallLayout();
    else gridLayout(snapshot);
    savePositions();
  }

  /**
   * Up to SMALL_MAX containers. Shared namespaces are drawn as stars (every member to its group's anchor),
   * so the linked part of the graph is a forest hanging from the host and from each group's first
   * container: a breadth-first layout draws it as tidy rows, the host on top, members under their anchor,
   * without overlapping labels and the same way every time (cose, force-directed, scattered the small
   * disconnected groups and let their labels collide). Containers that share nothing shown sit on a
   * grid below.
   */
  function smallLayout(): void {
    if (!cy) return;
    const shownEdges = cy.edges().not('.type-off');
    const hostNode = cy.getElementById(HOST_MEMBER);
    const order = new Map(cy.nodes().map((n, i) => [n.id(), i] as [string, number]));
    const byOrder = (a: cytoscape.NodeSingular, b: cytoscape.NodeSingular) => order.get(a.id())! - order.get(b.id())!;
    const box = canvasBox.getBoundingClientRect();
    const aspect = box.width > 0 && box.height > 0 ? box.width / box.height : 2.5;
    const cellW = 160;
    const cellH = 60;

    /**
     * Lays out a set of nodes on their own: the linked ones (by the shown edges among them) as trees, from
     * `first` (when given) and then from each group's first node in snapshot order, the rest on a grid below.
     */
    const treesAndGrid = (nodes: cytoscape.NodeCollection, first: cytoscape.NodeSingular | null): void => {
      const edgesIn = shownEdges.filter(
        (e) => nodes.contains((e as cytoscape.EdgeSingular).source()) && nodes.contains((e as cytoscape.EdgeSingular).target()),
      );
      let linked = edgesIn.connectedNodes();
      if (first) linked = linked.union(first);
      const alone = nodes.not(linked).sort(byOrder);
      let bb = { x1: 0, x2: 0, y1: 0, y2: -50, w: 0 };
      if (linked.nonempty()) {
        let roots = first ? cy!.collection().union(first) : cy!.collection();
        for (const comp of linked.union(edgesIn).components()) {
          if (!first || !comp.contains(first)) roots = roots.union(comp.nodes().sort(byOrder)[0]);
        }
        linked
          .union(edgesIn)
          .layout({
            name: 'breadthfirst',
            directed: false,
            roots,
            animate: false,
            fit: false,
            avoidOverlap: true,
            nodeDimensionsIncludeLabels: true,
            spacingFactor: 1.15,
            grid: false,
            circle: false,
          } as cytoscape.LayoutOptions)
          .run();
        bb = linked.boundingBox({ includeLabels: true });
      }
      if (alone.nonempty()) {
        const cols = Math.max(
          1,
          Math.min(alone.length, Math.max(Math.floor(bb.w / cellW), Math.ceil(Math.sqrt((alone.length * aspect * cellH) / cellW)))),
        );
        const left = bb.x1 + bb.w / 2 - ((Math.min(cols, alone.length) - 1) * cellW) / 2;
        cy!.batch(() => {
          alone.forEach((node, i) => {
            node.position({ x: left + (i % cols) * cellW, y: bb.y2 + 50 + Math.floor(i / cols) * cellH });
          });
        });
      }
    };

    // The host and the containers in no box: the host's tree first (leftmost), then each group's tree in
    // snapshot order; the containers that share nothing shown sit on a grid below.
    const boxes = cy.nodes(':parent').sort(byOrder);
    const free = cy.nodes().orphans().not(':parent');
    treesAndGrid(free, hostNode);
    if (boxes.empty()) {
      fitCapped();
      return;
    }
    // Pods and Compose projects are boxes around their members, placed by them: each box is laid out on its
    // own (its members' trees, then its members that share nothing shown among themselves side by side),
    // then the boxes go in rows under the rest, so that no box covers another or a container outside it.
    const freeBox = free.boundingBox({ includeLabels: true });
    const rowWidth = Math.max(freeBox.w, 640);
    const gap = 40;
    let x = freeBox.x1;
    let y = freeBox.y2 + gap + 20;
    let rowHeight = 0;
    boxes.forEach((b) => {
      const members = b.children();
      treesAndGrid(members, null);
      const mb = members.boundingBox({ includeLabels: true });
      if (x > freeBox.x1 && x + mb.w > freeBox.x1 + rowWidth) {
        x = freeBox.x1;
        y += rowHeight + gap;
        rowHeight = 0;
      }
      const dx = x - mb.x1;
      const dy = y - mb.y1;
      cy!.batch(() => {
        members.forEach((m) => {
          const p = m.position();
          m.position({ x: p.x + dx, y: p.y + dy });
        });
      });
      const placed = b.boundingBox({ includeLabels: true });
      x += placed.w + gap;
      rowHeight = Math.max(rowHeight, placed.h);
    });
    fitCapped();
  }

  /**
   * Beyond SMALL_MAX a layered or force layout turns into a hairball: containers go on a grid instead, ordered so
   * that the members of one sharing group sit next to each other (short edges), the ones that share with
   * the host first (nearest the host node, which sits centred above the grid). The members of a pod or a
   * Compose project fill rows of their own, one box after another, so that no box covers another; the
   * containers in neither come last.
   */
  function gridLayout(snapshot: Snapshot): void {
    if (!cy) return;
    const ids = snapshot.containers.map((c) => c.id);
    const comp = components(ids, edges, new Set(NAMESPACE_TYPES.filter((t) => !QUIET_TYPES.includes(t))));
    const size = new Map<string, number>();
    for (const c of comp.values()) size.set(c, (size.get(c) ?? 0) + 1);
    const hostLinked = new Set(
      edges.filter((e) => e.source === HOST_MEMBER && types[e.type] && !QUIET_TYPES.includes(e.type)).map((e) => e.target),
    );
    const order = new Map(ids.map((id, i) => [id, i]));
    const rank = (id: string) => [
      hostLinked.has(id) ? 0 : 1,
      -(size.get(comp.get(id)!) ?? 1),
      order.get(comp.get(id)!) ?? 0,
      order.get(id) ?? 0,
    ];
    const sorted = ids.slice().sort((a, b) => {
      const ra = rank(a);
      const rb = rank(b);
      for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
      return 0;
    });
    const cellW = 150;
    const cellH = 58;
    const box = canvasBox.getBoundingClientRect();
    const aspect = box.width > 0 && box.height > 0 ? box.width / box.height : 2.5;
    const cols = Math.max(1, Math.min(sorted.length, Math.round(Math.sqrt((sorted.length * aspect * cellH) / cellW))));
    const boxes = new Map<string, string[]>();
    const free: string[] = [];
    for (const id of sorted) {
      const parent = cy.getElementById(id).parent();
      if (parent.empty()) free.push(id);
      else {
        const list = boxes.get(parent.first().id());
        if (list) list.push(id);
        else boxes.set(parent.first().id(), [id]);
      }
    }
    // Room between blocks for a box's padding and its label on top.
    const boxGap = 44;
    let y = 110 + (boxes.size > 0 ? boxGap / 2 : 0);
    const place = (list: string[]) => {
      list.forEach((id, i) => cy!.getElementById(id).position({ x: (i % cols) * cellW, y: y + Math.floor(i / cols) * cellH }));
      y += Math.ceil(list.length / cols) * cellH;
    };
    cy.batch(() => {
      for (const members of boxes.values()) {
        place(members);
        y += boxGap;
      }
      place(free);
      cy!.getElementById(HOST_MEMBER).position({ x: ((cols - 1) * cellW) / 2, y: 0 });
    });
    fitCapped();
  }

  /** Fits the graph in view, but never magnifies a small graph beyond a comfortable size. */
  function fitCapped(): void {
    if (!cy) return;
    cy.fit(undefined, 24);
    if (cy.zoom() > 1.15) {
      cy.zoom(1.15);
      cy.center();
    }
  }

  function savePositions(): void {
    if (!cy || !current) return;
    const positions: Record<string, [number, number]> = {};
    cy.nodes()
      .not(':parent')
      .forEach((n) => {
        const p = n.position();
        positions[n.id()] = [Math.round(p.x), Math.round(p.y)];
      });
    vs.set({ nodesKey: nodesKeyOf(current.snapshot), positions, zoom: cy.zoom(), pan: { ...cy.pan() } });
  }

  function describeNode(id: string): string {
    if (!current || !index) return '';
    if (id === HOST_MEMBER) {
      const h0 = current.snapshot.host;
      const linked = new Set(edges.filter((e) => e.source === HOST_MEMBER && types[e.type]).map((e) => e.target));
      return `The host ${show(h0.hostname)} (kernel ${show(h0.kernel)}): ${linked.size} container(s) share a shown namespace type with it.`;
    }
    const podIndex = /^pod:(\d+)$/.exec(id);
    if (podIndex) {
      const pod = current.snapshot.pods?.[Number(podIndex[1])];
      if (!pod) return '';
      const members = pod.containers.map((m) => show(memberName(m, names)));
      const infra = pod.infra ? show(memberName(pod.infra, names)) : null;
      const kind = pod.ref.source === 'podman' ? 'Podman pod' : 'Kubernetes pod';
      return `${kind} ${show(podTitle(pod.ref))}: ${members.length} container(s) (${members.slice(0, 6).join(', ')}${members.length > 6 ? ` +${members.length - 6}` : ''})${infra ? `, ${pod.ref.source === 'podman' ? 'infra' : 'sandbox'} ${infra}` : ''}; all share ${pod.sharedNamespaces.length > 0 ? pod.sharedNamespaces.join(', ') : 'no namespace'}.`;
    }
    const projectIndex = /^project:(\d+)$/.exec(id);
    if (projectIndex) {
      const g = projectsOf(current.snapshot)[Number(projectIndex[1])];
      if (!g) return '';
      const members = g.containers.map((m) => show(m.name));
      const services = g.services.map(show);
      return `Compose project ${show(g.project)}: ${members.length} container(s) (${members.slice(0, 6).join(', ')}${members.length > 6 ? ` +${members.length - 6}` : ''}); ${services.length} service(s)${services.length > 0 ? ` (${services.slice(0, 8).join(', ')}${services.length > 8 ? ` +${services.length - 8}` : ''})` : ''}.`;
    }
    const c = current.snapshot.containers.find((x) => x.id === id);
    if (!c) return '';
    if (!c.namespaces) return `${show(c.name)}: namespaces unreadable.`;
    const parts: string[] = [];
    const hidden: string[] = [];
    for (const t of NAMESPACE_TYPES) {
      const inode = c.namespaces[t];
      if (inode === null) continue;
      const g = index[t].get(inode);
      if (!g || g.group.members.length < 2) continue;
      if (!types[t]) {
        hidden.push(t);
        continue;
      }
      const others = g.group.members.filter((m) => m !== id).map((m) => memberName(m, names));
      parts.push(`${t} with ${others.slice(0, 4).map(show).join(', ')}${others.length > 4 ? ` +${others.length - 4}` : ''}`);
    }
    const shared = parts.length ? `shares ${parts.join('; ')}` : 'shares no shown namespace type';
    return `${show(c.name)} (${show(c.image)}): ${shared}${hidden.length ? ` (and ${hidden.join(', ')}, not shown)` : ''}. Click to open its dashboard.`;
  }

  function ensureCy(): cytoscape.Core {
    if (cy) return cy;
    // cytoscape adds an inline <style> to <head> unless an element with this id exists; the CSP forbids
    // inline styles, so a placeholder stands in and styles.css carries the one rule it would add.
    if (!document.getElementById('__________cytoscape_stylesheet')) {
      document.head.append(h('meta', { id: '__________cytoscape_stylesheet', name: 'cytoscape-stylesheet-placeholder', content: '' }));
    }
    const instance = cytoscape({
      container: canvasBox,
      style: graphStyle(colors, large),
      minZoom: 0.1,
      maxZoom: 4,
      boxSelectionEnabled: false,
      selectionType: 'single',
      autoungrabify: false,
      pixelRatio: 'auto',
    });
    instance.on('tap', 'node[kind="container"]', (ev) => send('openDashboard', { containerId: ev.target.id() }));
    instance.on('mouseover', 'node', (ev) => {
      const n = ev.target as cytoscape.NodeSingular;
      // A pod or a project lights with its members; a container with its neighbours; the pod boxes around those stay lit
      // (a compound node's opacity carries into its children).
      const near = (n.isParent() ? n.union(n.descendants()) : n).closedNeighborhood();
      const hood = near.union(near.nodes().ancestors());
      instance.batch(() => {
        instance.elements().not(hood).addClass('faded');
        hood.edges().addClass('lit');
      });
      info.textContent = describeNode(n.id());
      canvasBox.classList.add('pointing');
    });
    instance.on('mouseout', 'node', () => {
      instance.batch(() => instance.elements().removeClass('faded lit'));
      info.textContent = defaultHint;
      canvasBox.classList.remove('pointing');
    });
    instance.on('mouseover', 'edge', (ev) => {
      const e = ev.target as cytoscape.EdgeSingular;
      const g = index?.[e.data('type') as NamespaceType].get(e.data('inode') as number);
      const members = g ? g.group.members.map((m) => show(memberName(m, names))) : [];
      info.textContent = `${e.data('type')} namespace ${e.data('inode')}: ${members.slice(0, 10).join(', ')}${members.length > 10 ? ` and ${members.length - 10} more` : ''}`;
    });
    instance.on('mouseout', 'edge', () => (info.textContent = defaultHint));
    // Leaving the canvas while over a node sends no mouseout: undo the hover here too.
    canvasBox.addEventListener('mouseleave', () => {
      instance.batch(() => instance.elements().removeClass('faded lit'));
      info.textContent = defaultHint;
      canvasBox.classList.remove('pointing');
    });
    instance.on('dragfree', 'node', () => savePositions());
    instance.on('viewport', () => {
      if (!current) return;
      vs.setSoon({ zoom: instance.zoom(), pan: { ...instance.pan() } });
    });
    onThemeChange(() => {
      colors = readColors();
      instance.style(graphStyle(colors, large));
    });
    cy = instance;
    return instance;
  }

  function renderCompare(state: GraphState): void {
    clear(compare);
    const focused = state.focus.map((id) => state.snapshot.containers.find((c) => c.id === id)).filter((c) => c !== undefined);
    if (focused.length === 0) {
      compare.hidden = true;
      return;
    }
    compare.hidden = false;
    compare.append(h('strong', {}, focused.length === 2 ? 'Comparing ' : 'Highlighted: '));
    focused.forEach((c, i) => compare.append(i ? (i === focused.length - 1 ? ' and ' : ', ') : '', trunc(c.name, { class: 'name' })));
    if (focused.length === 2 && focused[0].namespaces && focused[1].namespaces) {
      const [a, b] = focused as [(typeof focused)[0], (typeof focused)[0]];
      const list = h('span', { class: 'compare-list' });
      for (const t of NAMESPACE_TYPES) {
        const same = a.namespaces![t] !== null && a.namespaces![t] === b.namespaces![t];
        list.append(
          h(
            'span',
            {
              class: `chip ${same ? 'same' : 'differs'}`,
              title: same ? `both in ${t} namespace ${a.namespaces![t]}` : `different ${t} namespaces`,
            },
            `${t} ${same ? 'shared' : 'separate'}`,
          ),
        );
      }
      compare.append(': ', list);
    }
  }

  function render(state: GraphState): void {
    const first = current === null;
    const changedNodes = !current || nodesKeyOf(current.snapshot) !== nodesKeyOf(state.snapshot);
    current = state;
    const { snapshot } = state;
    const focus = new Set(state.focus);
    names = Object.fromEntries(snapshot.containers.map((c) => [c.id, c.name]));
    index = indexGroups(snapshot.namespaceGroups);
    const ids = new Set([HOST_MEMBER, ...snapshot.containers.map((c) => c.id)]);
    edges = shareEdges(snapshot.namespaceGroups, ids);

    if (first) {
      loading.remove();
      root.append(body);
    }
    const running = snapshot.containers.filter((c) => c.state === 'running').length;
    subtitle.textContent = `${snapshot.containers.length} container${snapshot.containers.length === 1 ? '' : 's'} (${running} running) on ${show(snapshot.host.hostname)} · kernel ${show(snapshot.host.kernel)} · read at ${new Date(snapshot.takenAt).toLocaleTimeString()}`;
    renderCompare(state);
    renderLegend();

    const wasLarge = large;
    large = snapshot.containers.length > SMALL_MAX;
    defaultHint = large
      ? `${snapshot.containers.length} containers on a grid, members of a sharing group side by side. Scroll to zoom in and read the names (or use the table); click a container to open its dashboard.`
      : 'Click a container to open its dashboard. Scroll to zoom, drag the background to pan, drag a node to move it.';
    if (!canvasBox.classList.contains('pointing')) info.textContent = defaultHint;
    const t0 = performance.now();
    const instance = ensureCy();
    if (wasLarge !== large) instance.style(graphStyle(colors, large));
    canvasBox.dataset.ready = 'false';
    if (changedNodes) {
      instance.batch(() => {
        instance.elements().remove();
        instance.add(elementsFor(snapshot, focus));
      });
      applyTypes();
      layout(snapshot, !first);
    } else {
      // Same containers: keep every position, refresh classes and edges.
      instance.batch(() => {
        instance.edges().remove();
        const fresh = elementsFor(snapshot, focus);
        for (const el of fresh) {
          if (el.group === 'edges') instance.add(el);
          else
            instance
              .getElementById(el.data.id!)
              .classes(el.classes ?? '')
              .data('label', el.data.label);
        }
      });
      applyTypes();
    }
    instance.one('render', () => {
      canvasBox.dataset.ready = 'true';
      canvasBox.dataset.renderMs = String(Math.round(performance.now() - t0));
    });
    instance.resize();

    clear(matrixBox);
    matrixBox.append(
      renderMatrix(snapshot, index, names, focus, (containerId) => send('openDashboard', { containerId })),
      matrixLegend(),
    );
    clear(notes);
    if (snapshot.hostNamespacesFrom !== 'PID 1') {
      notes.append(
        h(
          'p',
          { class: 'note', 'data-testid': 'host-ns-from' },
          'The host’s namespaces were read from: ',
          trunc(snapshot.hostNamespacesFrom),
        ),
      );
    }
    if (snapshot.errors.length > 0) {
      const list = h(
        'ul',
        { class: 'errors' },
        ...snapshot.errors.map((e) => h('li', {}, h('code', {}, show(e.field)), ': ', show(e.reason))),
      );
      notes.append(h('details', { class: 'errors-box' }, h('summary', {}, `${snapshot.errors.length} thing(s) could not be read`), list));
    }
  }

  // The canvas follows its box's size.
  new ResizeObserver(() => cy?.resize()).observe(canvasBox);
  // For tests and debugging: where a node is on the page (canvas pixels are not in the DOM).
  (window as unknown as { __xrayGraph: unknown }).__xrayGraph = {
    /** The members of each pod box: pod node id → its children's ids. */
    podMembers(): Record<string, string[]> {
      const out: Record<string, string[]> = {};
      cy?.nodes('[kind="pod"]').forEach((p) => {
        out[p.id()] = p.children().map((c) => c.id());
      });
      return out;
    },
    /** The members of each Compose project box: project node id → its children's ids. */
    projectMembers(): Record<string, string[]> {
      const out: Record<string, string[]> = {};
      cy?.nodes('[kind="project"]').forEach((p) => {
        out[p.id()] = p.children().map((c) => c.id());
      });
      return out;
    },
    /** What hovering a node tells (the line under the canvas). */
    describe: (id: string) => describeNode(id),
    /** A node's label as painted on the canvas. */
    label(id: string): string | null {
      const n = cy?.getElementById(id);
      return n && n.nonempty() ? String(n.data('label')) : null;
    },
    /** A node's box on the page (a compound node's: around its members and its label). */
    nodeBox(id: string): { x1: number; y1: number; x2: number; y2: number } | null {
      if (!cy) return null;
      const n = cy.getElementById(id);
      if (n.empty()) return null;
      const b = n.renderedBoundingBox({ includeLabels: true });
      const r = canvasBox.getBoundingClientRect();
      return { x1: r.left + b.x1, y1: r.top + b.y1, x2: r.left + b.x2, y2: r.top + b.y2 };
    },
    nodePosition(id: string): { x: number; y: number } | null {
      if (!cy) return null;
      const n = cy.getElementById(id);
      if (n.empty()) return null;
      const p = n.renderedPosition();
      const r = canvasBox.getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    },
    counts: () => ({
      nodes: cy?.nodes().length ?? 0,
      pods: cy?.nodes('[kind="pod"]').length ?? 0,
      projects: cy?.nodes('[kind="project"]').length ?? 0,
      edges: cy?.edges().length ?? 0,
      shownEdges: cy?.edges().not('.type-off').length ?? 0,
      faded: cy?.elements('.faded').length ?? 0,
    }),
  };

  on('state/graph', render);
}
