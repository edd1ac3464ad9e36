// The layer diff explorer: the image's layers (and a container's writable layer) with what each one
// changed, the image's efficiency and CI verdict, and the file tree of the picked layer. The tree is
// virtual: only the rows in view exist in the DOM, so a layer of 100 000 paths opens as fast as one of 10.
import type { LayerChange } from '../../src/shared/model';
import { LayerSummary, LayersState, layersScope } from '../../src/shared/protocol/layers';
import type { Banner } from '../banner';
import { viewBus } from '../bus';
import { clear, h, styled } from '../dom';
import { FileTree, Row, SortMode, buildTree, changeMark, flatten, isDir } from '../lib/fileTree';
import { formatBytes, formatCount, formatPercent, layerOrigin, shortId, shortenCreatedBy } from '../lib/format';
import { viewState } from '../state';
import { badge, button, facts, perFrame, show, trunc, waiting } from '../ui';

const { on, request, send } = viewBus(layersScope);

type LayerKey = number | 'upper';

interface LayersViewState {
  imageId: string | null;
  /** What the host asked for when the user made their choice (a new ask overrides the user's choice). */
  hostSelected: string | null;
  selected: LayerKey | null;
  filter: string;
  sort: SortMode;
  /** Open directories per layer (a few hundred at most are kept). */
  expanded: Record<string, string[]>;
  scrollTop: number;
}

/** Must match .tree-row's height in styles.css. */
const ROW_H = 22;
const OVERSCAN = 12;
const MAX_SAVED_EXPANDED = 300;
const MAX_CACHED_TREES = 4;
/** Layers with at most this many paths open fully the first time they are shown. */
const AUTO_EXPAND_MAX = 60;

const keyText = (k: LayerKey) => (k === 'upper' ? 'upper' : `layer-${k}`);

function changeCounts(x: { added: number; modified: number; deleted: number; opaque: number }): HTMLElement {
  return h(
    'span',
    {
      class: 'counts',
      title: `${x.added} added, ${x.modified} modified, ${x.deleted} deleted${x.opaque ? `, ${x.opaque} opaque directories` : ''}`,
    },
    h('span', { class: 'c-added' }, `+${formatCount(x.added)}`),
    ' ',
    h('span', { class: 'c-modified' }, `~${formatCount(x.modified)}`),
    ' ',
    h('span', { class: 'c-deleted' }, `-${formatCount(x.deleted)}`),
  );
}

/** A virtual tree: a spacer as tall as all rows, and a window holding the rows in view. */
class TreeView {
  readonly el: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly win: HTMLElement;
  rows: Row[] = [];
  active = 0;
  onToggle: (row: Row) => void = () => {};
  onActive: (row: Row | null) => void = () => {};
  onScroll: (top: number) => void = () => {};
  private readonly schedule = perFrame(() => this.draw());

  constructor(label: string) {
    this.win = h('div', { class: 'tree-window' });
    this.spacer = h('div', { class: 'tree-spacer' }, this.win);
    this.el = h('div', { class: 'tree-viewport', role: 'tree', tabindex: 0, 'aria-label': label }, this.spacer);
    this.el.addEventListener('scroll', () => {
      this.schedule();
      this.onScroll(this.el.scrollTop);
    });
    this.el.addEventListener('keydown', (ev) => this.key(ev));
    this.el.addEventListener('click', (ev) => {
      const rowEl = (ev.target as HTMLElement).closest<HTMLElement>('.tree-row');
      if (!rowEl) return;
      const i = Number(rowEl.dataset.index);
      this.setActive(i, false);
      const row = this.rows[i];
      if (row?.expandable) this.onToggle(row);
    });
    new ResizeObserver(() => this.schedule()).observe(this.el);
  }

  setRows(rows: Row[], keepPath: string | null): void {
    this.rows = rows;
    if (keepPath !== null) {
      const i = rows.findIndex((r) => r.node.path === keepPath);
      this.active = i >= 0 ? i : Math.min(this.active, Math.max(0, rows.length - 1));
    } else this.active = 0;
    styled(this.spacer, { height: `${rows.length * ROW_H}px` });
    this.draw();
    this.onActive(this.rows[this.active] ?? null);
  }

  private setActive(i: number, scroll: boolean): void {
    if (this.rows.length === 0) return;
    this.active = Math.max(0, Math.min(this.rows.length - 1, i));
    if (scroll) {
      const top = this.active * ROW_H;
      if (top < this.el.scrollTop) this.el.scrollTop = top;
      else if (top + ROW_H > this.el.scrollTop + this.el.clientHeight) this.el.scrollTop = top + ROW_H - this.el.clientHeight;
    }
    this.draw();
    this.onActive(this.rows[this.active] ?? null);
  }

  private key(ev: KeyboardEvent): void {
    const row = this.rows[this.active];
    const page = Math.max(1, Math.floor(this.el.clientHeight / ROW_H) - 1);
    switch (ev.key) {
      case 'ArrowDown':
        this.setActive(this.active + 1, true);
        break;
      case 'ArrowUp':
        this.setActive(this.active - 1, true);
        break;
      case 'PageDown':
        this.setActive(this.active + page, true);
        break;
      case 'PageUp':
        this.setActive(this.active - page, true);
        break;
      case 'Home':
        this.setActive(0, true);
        break;
      case 'End':
        this.setActive(this.rows.length - 1, true);
        break;
      case 'ArrowRight':
        if (row?.expandable && !row.expanded) this.onToggle(row);
        else this.setActive(this.active + 1, true);
        break;
      case 'ArrowLeft':
        if (row?.expandable && row.expanded) this.onToggle(row);
        else if (row?.node.parent) {
          const p = this.rows.findIndex((r) => r.node === row.node.parent);
          if (p >= 0) this.setActive(p, true);
        }
        break;
      case 'Enter':
      case ' ':
        if (row?.expandable) this.onToggle(row);
        break;
      default:
        return;
    }
    ev.preventDefault();
  }

  scrollTo(top: number): void {
    this.el.scrollTop = top;
    this.draw();
  }

  draw(): void {
    const height = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW_H) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((this.el.scrollTop + height) / ROW_H) + OVERSCAN);
    styled(this.win, { transform: `translateY(${first * ROW_H}px)` });
    clear(this.win);
    for (let i = first; i < last; i++) this.win.append(this.rowEl(this.rows[i], i));
    const activeId = this.rows.length ? `tree-row-${this.active}` : null;
    if (activeId && this.active >= first && this.active < last) this.el.setAttribute('aria-activedescendant', activeId);
    else this.el.removeAttribute('aria-activedescendant');
  }

  private rowEl(row: Row, i: number): HTMLElement {
    const n = row.node;
    const m = changeMark(n);
    const dir = isDir(n);
    const c = n.change;
    const el = h(
      'div',
      {
        id: `tree-row-${i}`,
        class: `tree-row kind-${m.kind}${i === this.active ? ' active' : ''}${dir ? ' dir' : ''}`,
        role: 'treeitem',
        'aria-level': n.depth + 1,
        'aria-expanded': row.expandable ? String(row.expanded) : null,
        'aria-selected': i === this.active ? 'true' : 'false',
        'data-index': i,
        'data-path': n.path,
        'data-kind': m.kind,
        'data-opaque': m.opaque ? 'true' : null,
        'data-type': c?.type ?? (dir ? 'dir' : null),
      },
      h('span', { class: 'twisty', 'aria-hidden': 'true' }, row.expandable ? (row.expanded ? '▾' : '▸') : ''),
      h(
        'span',
        { class: `mark mark-${m.mark || 'none'}`, title: m.kind === 'none' ? 'unchanged parent directory' : m.kind },
        m.mark || '·',
      ),
      m.opaque ? h('span', { class: 'mark mark-O', title: 'opaque directory: hides everything the layers below had here' }, 'O') : '',
      h('span', { class: 'name', title: show(n.path) }, show(n.name), dir ? '/' : ''),
      c?.linkTarget !== undefined ? h('span', { class: 'link-target', title: show(c.linkTarget) }, ` → ${show(c.linkTarget)}`) : '',
      h('span', { class: 'size' }, m.kind === 'deleted' ? '—' : formatBytes(n.size)),
    );
    styled(el, { '--depth': String(Math.min(n.depth, 40)) });
    return el;
  }
}

export function mountLayers(root: HTMLElement, banner: Banner): void {
  // Only this view has long work (a big layer read), so only it shows progress with a Cancel.
  on('state/progress', (p) => banner.showProgress(p.message, () => send('cancel', {})));
  const vs = viewState<LayersViewState>('layers', {
    imageId: null,
    hostSelected: null,
    selected: null,
    filter: '',
    sort: 'name',
    expanded: {},
    scrollTop: 0,
  });
  const loading = waiting('Reading the image’s layers…');
  root.append(loading);

  const header = h('header', { class: 'view-header' });
  const summary = h('section', { class: 'card summary', 'data-card': 'summary' });
  const layerTable = h('div', { class: 'layer-list' });
  const ineff = h('section', { class: 'card inefficiencies', 'data-card': 'inefficiencies' });
  const left = h('div', { class: 'layers-left' }, summary, layerTable, ineff);

  const treeTitle = h('h2', { class: 'tree-title' });
  const filterBox = h('vscode-textfield', {
    placeholder: 'Filter paths (substring)',
    'aria-label': 'Filter paths',
    'data-testid': 'filter',
    type: 'search',
  });
  const sortBox = h(
    'vscode-single-select',
    { 'aria-label': 'Sort by', 'data-testid': 'sort' },
    h('vscode-option', { value: 'name' }, 'Sort by name'),
    h('vscode-option', { value: 'size' }, 'Sort by size'),
  );
  const collapseBtn = button('Collapse all', () => collapseAll(), { secondary: true });
  const matchLine = h('p', { class: 'match-line', 'aria-live': 'polite' });
  const activeLine = h('div', { class: 'active-line' });
  const tree = new TreeView('Files changed by the layer');
  const treeBody = h('div', { class: 'tree-body' }, tree.el);
  const legend = h(
    'p',
    { class: 'tree-legend' },
    h('span', { class: 'mark mark-A' }, 'A'),
    ' added ',
    h('span', { class: 'mark mark-M' }, 'M'),
    ' modified ',
    h('span', { class: 'mark mark-D' }, 'D'),
    ' deleted (whiteout) ',
    h('span', { class: 'mark mark-O' }, 'O'),
    ' opaque directory ',
    h('span', { class: 'mark mark-none' }, '·'),
    ' parent only',
  );
  const right = h(
    'section',
    { class: 'card tree-pane', 'data-card': 'tree' },
    treeTitle,
    h('div', { class: 'tree-toolbar' }, filterBox, sortBox, collapseBtn),
    matchLine,
    treeBody,
    activeLine,
    legend,
  );
  const layout = h('div', { class: 'layers-layout' }, left, right);

  let current: LayersState | null = null;
  let selected: LayerKey | null = null;
  let fileTree: FileTree | null = null;
  let loadToken = 0;
  const trees = new Map<string, FileTree>();
  const expanded = new Map<string, Set<string>>();
  let collapsedInFilter = new Set<string>();
  let filter = vs.get().filter;
  let sort: SortMode = vs.get().sort === 'size' ? 'size' : 'name';
  let pendingScroll: number | null = vs.get().scrollTop;

  (filterBox as HTMLElement & { value: string }).value = filter;
  let filterTimer: ReturnType<typeof setTimeout> | null = null;
  filterBox.addEventListener('input', () => {
    if (filterTimer) clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      filter = (filterBox as HTMLElement & { value: string }).value;
      collapsedInFilter = new Set();
      vs.set({ filter });
      refreshRows(null);
      tree.scrollTo(0);
    }, 120);
  });
  sortBox.addEventListener('change', () => {
    const v = (sortBox as HTMLElement & { value: string }).value;
    sort = v === 'size' ? 'size' : 'name';
    vs.set({ sort });
    refreshRows(tree.rows[tree.active]?.node.path ?? null);
  });
  queueMicrotask(() => ((sortBox as HTMLElement & { value: string }).value = sort));

  tree.onToggle = (row) => {
    if (!fileTree || selected === null) return;
    const path = row.node.path;
    if (filter.trim()) {
      if (collapsedInFilter.has(path)) collapsedInFilter.delete(path);
      else collapsedInFilter.add(path);
    } else {
      const set = expandedFor(selected);
      if (set.has(path)) set.delete(path);
      else set.add(path);
      saveExpanded();
    }
    refreshRows(path);
  };
  tree.onScroll = (top) => vs.setSoon({ scrollTop: Math.round(top) });
  tree.onActive = (row) => {
    clear(activeLine);
    if (!row) return;
    const n = row.node;
    const c = n.change;
    activeLine.append(
      trunc(n.path, { class: 'path' }, 'code'),
      h(
        'span',
        { class: 'muted' },
        c ? ` ${c.kind} ${c.type}${c.mode !== undefined ? ` ${(c.mode & 0o7777).toString(8).padStart(4, '0')}` : ''}` : ' parent directory',
        ` · ${formatBytes(n.size)}`,
      ),
      button('Copy path', () => send('copyText', { text: n.path }), { secondary: true }),
    );
  };

  function expandedFor(k: LayerKey): Set<string> {
    const key = keyText(k);
    let set = expanded.get(key);
    if (!set) {
      set = new Set(vs.get().expanded[key] ?? []);
      expanded.set(key, set);
    }
    return set;
  }

  function saveExpanded(): void {
    const out: Record<string, string[]> = {};
    for (const [k, set] of expanded) out[k] = [...set].slice(-MAX_SAVED_EXPANDED);
    vs.set({ expanded: out });
  }

  function collapseAll(): void {
    if (selected === null) return;
    if (filter.trim() && fileTree) {
      collapsedInFilter = new Set(fileTree.nodes.filter((n) => n.children.length > 0).map((n) => n.path));
    } else {
      expandedFor(selected).clear();
      saveExpanded();
    }
    refreshRows(null);
  }

  function refreshRows(keepPath: string | null): void {
    if (!fileTree || selected === null) return;
    const f = flatten(fileTree, { sort, filter, expanded: expandedFor(selected), collapsed: collapsedInFilter });
    const total = fileTree.nodes.length;
    matchLine.textContent = filter.trim()
      ? `${formatCount(f.matches)} of ${formatCount(total)} paths match “${show(filter.trim())}”`
      : `${formatCount(total)} paths · ${formatBytes(fileTree.root.size)} · ${formatCount(fileTree.root.changeCount)} changes`;
    tree.setRows(f.rows, keepPath);
    treeBody.dataset.rows = String(f.rows.length);
  }

  function layerLabel(k: LayerKey): string {
    if (k === 'upper') return 'Writable layer (upper)';
    const l = current?.report.layers.find((x) => x.index === k);
    return l ? `Layer ${k}: ${shortenCreatedBy(layerOrigin(l))}` : `Layer ${k}`;
  }

  async function select(k: LayerKey, userChoice: boolean): Promise<void> {
    selected = k;
    if (userChoice) vs.set({ selected: k, scrollTop: 0 });
    for (const tr of layerTable.querySelectorAll<HTMLElement>('tr[data-layer]')) {
      const on = tr.dataset.layer === String(k);
      tr.classList.toggle('selected', on);
      tr.setAttribute('aria-selected', String(on));
    }
    clear(treeTitle);
    treeTitle.append(trunc(layerLabel(k)));
    const token = ++loadToken;
    const cached = trees.get(keyText(k));
    if (cached) {
      fileTree = cached;
      showTree();
      return;
    }
    fileTree = null;
    tree.setRows([], null);
    clear(matchLine);
    const wait = waiting(`Reading the changes of ${k === 'upper' ? 'the writable layer' : `layer ${k}`}…`);
    treeBody.append(wait);
    treeBody.dataset.state = 'loading';
    let changes: LayerChange[];
    try {
      changes = (await request('layers/changes', { layer: k })).changes;
    } catch (err) {
      if (token !== loadToken) return;
      wait.remove();
      treeBody.dataset.state = 'error';
      matchLine.append(
        h('span', { class: 'error-text' }, `Could not read the changes: ${show((err as Error).message)}`),
        ' ',
        button('Try again', () => void select(k, false), { secondary: true }),
      );
      return;
    }
    if (token !== loadToken) return;
    wait.remove();
    const t0 = performance.now();
    const built = buildTree(Array.isArray(changes) ? changes : []);
    treeBody.dataset.buildMs = String(Math.round(performance.now() - t0));
    trees.set(keyText(k), built);
    if (trees.size > MAX_CACHED_TREES) trees.delete(trees.keys().next().value!);
    fileTree = built;
    showTree();
  }

  function showTree(): void {
    treeBody.dataset.state = 'ready';
    // A small layer opens fully the first time; a big one opens closed (its rows are built as they are opened).
    if (fileTree && selected !== null) {
      const key = keyText(selected);
      if (!expanded.has(key) && !(key in vs.get().expanded) && fileTree.nodes.length <= AUTO_EXPAND_MAX) {
        expanded.set(key, new Set(fileTree.nodes.filter((n) => n.children.length > 0).map((n) => n.path)));
      }
    }
    refreshRows(null);
    if (pendingScroll !== null) {
      const top = pendingScroll;
      pendingScroll = null;
      requestAnimationFrame(() => tree.scrollTo(top));
    } else tree.scrollTo(0);
  }

  function renderSummary(state: LayersState): void {
    const r = state.report;
    clear(summary);
    const verdict = state.verdict;
    summary.append(
      h('h2', {}, 'Image'),
      facts([
        ['reference', trunc(r.image.ref, { 'data-field': 'ref' })],
        ['tags', r.image.tags.length ? trunc(r.image.tags.join(', ')) : 'none'],
        ['id', h('code', { title: r.image.id }, shortId(r.image.id))],
        ...(r.container ? ([['container', trunc(r.container.name)]] as [string, Node | string][]) : []),
        ['size', `${formatBytes(r.sizeBytes)} (${formatBytes(r.userSizeBytes)} above the first layer)`],
        ['efficiency', h('strong', { 'data-field': 'efficiency' }, formatPercent(r.efficiency))],
        ['wasted', h('span', { 'data-field': 'wasted' }, formatBytes(r.wastedBytes))],
        ['user wasted', h('span', { 'data-field': 'user-wasted' }, formatPercent(r.userWastedPercent))],
      ]),
    );
    if (verdict) {
      summary.append(
        h(
          'div',
          { class: `verdict ${verdict.passed ? 'pass' : 'fail'}`, 'data-verdict': verdict.passed ? 'pass' : 'fail' },
          badge(verdict.passed ? 'CI PASS' : 'CI FAIL', { class: verdict.passed ? 'ok' : 'bad' }),
          h('ul', {}, ...verdict.results.map((x) => h('li', { class: x.passed ? 'ok' : 'bad' }, x.passed ? '✓ ' : '✗ ', show(x.message)))),
        ),
      );
    }
    if (r.errors.length) {
      summary.append(h('ul', { class: 'errors' }, ...r.errors.map((e) => h('li', {}, h('code', {}, show(e.field)), ': ', show(e.reason)))));
    }
  }

  function layerRow(l: LayerSummary | null, state: LayersState): HTMLElement {
    const k: LayerKey = l ? l.index : 'upper';
    const u = state.report.upper;
    // An imported layer has no command, only a comment ("Imported from -").
    const createdBy = l ? shortenCreatedBy(layerOrigin(l)) : 'Writable layer of the container';
    const meta = l?.metadataAbove.length ? ` · then ${l.metadataAbove.map((m) => shortenCreatedBy(m.createdBy)).join(' · ')}` : '';
    const fullTitle = l
      ? show(`${layerOrigin(l)}${l.createdAt ? `\n${l.createdAt}` : ''}${meta}`)
      : show(u?.dir ?? 'upper directory not known');
    const tr = h(
      'tr',
      { 'data-layer': String(k), tabindex: 0, 'aria-selected': 'false', class: l ? '' : 'upper-row' },
      h('td', { class: 'idx' }, l ? String(l.index) : 'rw'),
      h(
        'td',
        { class: 'created' },
        h('span', { class: 'trunc cmd', title: fullTitle }, createdBy),
        l?.metadataAbove.length ? h('span', { class: 'meta', title: show(meta) }, `+${l.metadataAbove.length} meta`) : '',
        !l && u?.dir ? trunc(u.dir, { class: 'sub' }, 'code') : '',
      ),
      h('td', { class: 'num' }, formatBytes(l ? l.sizeBytes : (u?.sizeBytes ?? 0))),
      h('td', { class: `num${l && l.wastedBytes > 0 ? ' wasted' : ''}` }, l ? (l.wastedBytes ? formatBytes(l.wastedBytes) : '—') : '—'),
      h('td', { class: 'num' }, changeCounts(l ?? u!)),
    );
    tr.addEventListener('click', () => void select(k, true));
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        void select(k, true);
      } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        const sib = (ev.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
        sib?.focus();
      }
    });
    return tr;
  }

  function renderLayers(state: LayersState): void {
    clear(layerTable);
    const body = h('tbody');
    if (state.report.upper) body.append(layerRow(null, state));
    const layers = state.report.layers.slice().sort((a, b) => b.index - a.index);
    for (const l of layers) body.append(layerRow(l, state));
    layerTable.append(
      h(
        'table',
        { class: 'layers', 'aria-label': 'Layers, top first' },
        h('caption', {}, `Layers, top first (${state.report.layers.length}${state.report.upper ? ' + the writable layer' : ''})`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, '#'),
            h('th', { scope: 'col' }, 'Created by'),
            h('th', { scope: 'col', class: 'num' }, 'Size'),
            h('th', { scope: 'col', class: 'num' }, 'Wasted'),
            h('th', { scope: 'col', class: 'num' }, 'Changes'),
          ),
        ),
        body,
      ),
    );
  }

  function renderInefficiencies(state: LayersState): void {
    clear(ineff);
    const list = state.report.inefficiencies.slice().sort((a, b) => b.cumulativeSizeBytes - a.cumulativeSizeBytes);
    ineff.append(h('h2', {}, `Biggest wasted paths (${list.length})`));
    if (list.length === 0) {
      ineff.append(h('p', { class: 'empty' }, 'No path is held by more than one layer.'));
      return;
    }
    const shown = list.slice(0, 50);
    const body = h('tbody');
    for (const x of shown) {
      const pick = h('button', { type: 'button', class: 'link trunc', title: `Filter the tree by ${show(x.path)}` }, show(x.path));
      pick.addEventListener('click', () => {
        (filterBox as HTMLElement & { value: string }).value = x.path;
        filterBox.dispatchEvent(new Event('input'));
      });
      body.append(
        h(
          'tr',
          { 'data-path': x.path },
          h('td', { class: 'path' }, pick),
          h('td', { class: 'num' }, String(x.count)),
          h('td', { class: 'num' }, formatBytes(x.cumulativeSizeBytes)),
        ),
      );
    }
    ineff.append(
      h(
        'table',
        { class: 'ineff' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Path'),
            h('th', { scope: 'col', class: 'num' }, 'Layers'),
            h('th', { scope: 'col', class: 'num' }, 'Total size'),
          ),
        ),
        body,
      ),
      list.length > shown.length ? h('p', { class: 'detail' }, `and ${list.length - shown.length} more`) : '',
    );
  }

  on('state/layers', (state) => {
    const first = current === null;
    const sameImage = current?.report.image.id === state.report.image.id;
    current = state;
    if (first) {
      loading.remove();
      root.append(header, layout);
    }
    clear(header);
    header.append(
      // Named as a person knows the image: the reference used, unless it is a bare id and a tag exists.
      h('h1', { class: 'trunc', title: show(state.report.image.ref) }, 'Layers of ', show(imageName(state.report.image))),
      h(
        'p',
        { class: 'subtitle' },
        `${state.report.layers.length} layers · ${formatBytes(state.report.sizeBytes)} · efficiency ${formatPercent(state.report.efficiency)}`,
      ),
    );
    if (!sameImage) {
      trees.clear();
      expanded.clear();
    }
    renderSummary(state);
    renderLayers(state);
    renderInefficiencies(state);

    // The user's last pick wins over the host's, unless the host now asks for something else.
    const saved = vs.get();
    const hostAsk = JSON.stringify(state.selected);
    const top = state.report.layers.reduce<number | null>((m, l) => (m === null || l.index > m ? l.index : m), null);
    const hostPick: LayerKey | null = state.selected === 'upper' && !state.report.upper ? top : (state.selected ?? top);
    let pick: LayerKey | null = hostPick;
    if (saved.imageId === state.report.image.id && saved.hostSelected === hostAsk && saved.selected !== null) {
      const valid = saved.selected === 'upper' ? state.report.upper !== null : state.report.layers.some((l) => l.index === saved.selected);
      if (valid) pick = saved.selected;
    } else {
      pendingScroll = null;
      vs.set({ imageId: state.report.image.id, hostSelected: hostAsk, selected: null, scrollTop: 0 });
    }
    if (pick === null) {
      clear(treeTitle);
      treeTitle.append('No layers');
      return;
    }
    if (!first && sameImage && pick === selected) {
      // A refresh of the same report: keep the tree as it is, only re-mark the row.
      for (const tr of layerTable.querySelectorAll<HTMLElement>('tr[data-layer]')) {
        const on = tr.dataset.layer === String(pick);
        tr.classList.toggle('selected', on);
        tr.setAttribute('aria-selected', String(on));
      }
      return;
    }
    void select(pick, false);
  });
}

function imageName(image: { ref: string; tags: string[] }): string {
  return /^(sha256:)?[0-9a-f]{12,64}$/.test(image.ref) && image.tags.length > 0 ? image.tags[0] : image.ref;
}
