// The container dashboard: cgroup limits against live usage, a short history, the process tree with
// host and container PIDs, the overlay stack, the namespaces, the security posture and what could not be read. Pushed about
// once a second: each part is rebuilt only when its own data changed, so scrolling and hovering survive.
import { ContainerSnapshot, NAMESPACE_TYPES, ProcessInfo } from '../../src/shared/model';
import { ProcessNode, buildProcessTree } from '../../src/shared/processTree';
import { commandText, processCount } from '../../src/shared/processText';
import { DashboardState, UsageSample, dashboardScope } from '../../src/shared/protocol/dashboard';
import { viewBus } from '../bus';
import { clear, h, styled, svg } from '../dom';
import { cpuFraction, cpuSeries, formatBytes, formatCount, formatCpus, formatDurationNs, formatPercent, shortId } from '../lib/format';
import { indexGroups, sharedWithText } from '../lib/namespaces';
import { viewState } from '../state';
import { badge, button, facts, section, show, trunc, waiting } from '../ui';
import { unreadableReason } from './matrix';

const { on, send } = viewBus(dashboardScope);

/** How many samples the history shows. */
const HISTORY = 60;

/** A place in the page whose content is rebuilt only when its key changes. */
class Slot {
  readonly el: HTMLElement;
  private key: string | null = null;
  constructor(cls: string) {
    this.el = h('div', { class: cls });
  }
  update(key: string, build: () => Node | null): void {
    if (key === this.key) return;
    this.key = key;
    const node = build();
    clear(this.el);
    if (node) this.el.append(node);
    this.el.hidden = node === null;
  }
}

function level(fraction: number | null): 'ok' | 'warn' | 'high' {
  if (fraction === null) return 'ok';
  return fraction >= 0.9 ? 'high' : fraction >= 0.7 ? 'warn' : 'ok';
}

/** A horizontal gauge. fraction null draws an empty track (no limit to measure against). */
function meter(fraction: number | null, label: string): HTMLElement {
  const f = fraction === null ? 0 : Math.max(0, Math.min(1, fraction));
  const fill = styled(h('div', { class: 'fill' }), { width: `${(f * 100).toFixed(2)}%` });
  const attrs: Record<string, string | number> = {
    class: `bar level-${level(fraction)}`,
    role: 'meter',
    'aria-label': label,
    'aria-valuemin': 0,
    'aria-valuemax': 100,
  };
  if (fraction !== null) attrs['aria-valuenow'] = Math.round(f * 100);
  return h('div', attrs, fill);
}

function card(title: string, limit: string, near: boolean, ...children: (Node | string | null | false)[]): HTMLElement {
  return h(
    'section',
    { class: `card limit-card${near ? ' near' : ''}`, 'data-card': limit },
    h('h2', {}, title, near ? badge('near limit', { class: 'warn' }) : ''),
    ...children,
  );
}

function small(...parts: (Node | string)[]): HTMLElement {
  return h('p', { class: 'detail' }, ...parts);
}

/** CPU use in the last interval, from the last two samples (1.0 = one CPU). */
function currentCpu(samples: UsageSample[]): number | null {
  for (let i = samples.length - 1; i > 0; i--) {
    const f = cpuFraction(samples[i - 1], samples[i]);
    if (f !== null) return f;
  }
  return null;
}

function memoryCard(c: ContainerSnapshot): HTMLElement {
  const cg = c.cgroup!;
  const { limits, usage } = cg;
  const used = usage.memoryBytes;
  const limit = limits.memoryBytes;
  const fraction = used !== null && limit ? used / limit : null;
  const figure = h(
    'p',
    { class: 'figure', 'data-limit': 'memory' },
    h('strong', {}, formatBytes(used)),
    limit !== null ? ` of ${formatBytes(limit)}` : ' · unlimited',
    fraction !== null ? h('span', { class: 'pct' }, formatPercent(fraction)) : '',
  );
  const ws = usage.workingSetBytes;
  const swap =
    limits.memorySwapBytes === null
      ? 'unlimited'
      : `${formatBytes(limits.memorySwapBytes)} (${limits.memorySwapMeaning === 'memory+swap' ? 'memory + swap' : 'swap alone'})`;
  return card(
    'Memory',
    'memory',
    c.nearLimit.includes('memory'),
    figure,
    meter(fraction, 'memory used of the limit'),
    small(
      h(
        'span',
        { 'data-usage': 'working-set' },
        `working set ${formatBytes(ws)}`,
        limit && ws !== null ? ` (${formatPercent(ws / limit)})` : '',
      ),
      ` · cache ${formatBytes(usage.cacheBytes)} · rss ${formatBytes(usage.rssBytes)} · swap ${formatBytes(usage.swapBytes)}`,
    ),
    small(
      `peak ${formatBytes(usage.memoryPeakBytes)} · limit hit ${formatCount(usage.memoryLimitHits)} × · `,
      h('span', { class: usage.oomKills ? 'bad' : '', 'data-usage': 'oom-kills' }, `OOM kills ${formatCount(usage.oomKills)}`),
      usage.oomEvents !== null ? ` · OOM events ${formatCount(usage.oomEvents)}` : '',
      usage.memoryHighHits !== null ? ` · over memory.high ${formatCount(usage.memoryHighHits)} ×` : '',
      usage.underOom ? h('span', { class: 'bad' }, ' · under OOM now') : '',
    ),
    usage.pressure?.memory
      ? small(
          h(
            'span',
            { 'data-usage': 'memory-pressure' },
            `stalled on memory ${usage.pressure.memory.some.avg10.toFixed(1)} % (10 s), ${usage.pressure.memory.some.avg60.toFixed(1)} % (60 s)`,
            usage.pressure.memory.full ? ` · all tasks ${usage.pressure.memory.full.avg10.toFixed(1)} %` : '',
          ),
        )
      : '',
    small(
      `reservation ${limits.memoryReservationBytes === null ? 'none' : formatBytes(limits.memoryReservationBytes)} · swap limit ${swap}`,
    ),
  );
}

function cpuCard(c: ContainerSnapshot, samples: UsageSample[], hostCpus: number | null): HTMLElement {
  const { limits, usage } = c.cgroup!;
  const cpu = currentCpu(samples);
  const cap = limits.cpus ?? hostCpus;
  const fraction = cpu !== null && cap ? cpu / cap : null;
  const throttledRatio = usage.cpuPeriods ? (usage.cpuThrottledPeriods ?? 0) / usage.cpuPeriods : null;
  return card(
    'CPU',
    'cpu',
    c.nearLimit.includes('cpu'),
    h(
      'p',
      { class: 'figure', 'data-limit': 'cpu' },
      h('strong', { 'data-usage': 'cpu' }, cpu === null ? 'measuring…' : formatPercent(cpu)),
      ' of one CPU · limit ',
      limits.cpus !== null ? h('strong', {}, formatCpus(limits.cpus)) : `unlimited${hostCpus ? ` (all ${hostCpus} host CPUs)` : ''}`,
    ),
    meter(fraction, limits.cpus !== null ? 'CPU used of the limit' : 'CPU used of the host’s CPUs'),
    small(
      limits.cpuQuotaUs !== null && limits.cpuPeriodUs !== null
        ? `quota ${formatCount(limits.cpuQuotaUs)} µs every ${formatCount(limits.cpuPeriodUs)} µs · `
        : '',
      limits.cpuWeight !== null
        ? `weight ${limits.cpuWeight} (100 = default)`
        : limits.cpuShares !== null
          ? `shares ${limits.cpuShares} (1024 = default)`
          : '',
    ),
    small(
      h(
        'span',
        { 'data-usage': 'throttled', class: usage.cpuThrottledPeriods ? 'warn-text' : '' },
        `throttled in ${formatCount(usage.cpuThrottledPeriods)} of ${formatCount(usage.cpuPeriods)} periods`,
        throttledRatio !== null ? ` (${formatPercent(throttledRatio)})` : '',
        usage.cpuThrottledNs !== null ? ` · ${formatDurationNs(usage.cpuThrottledNs)} held back` : '',
      ),
    ),
    small(
      `total ${formatDurationNs(usage.cpuUsageNs)} · user ${formatDurationNs(usage.cpuUserNs)} · system ${formatDurationNs(usage.cpuSystemNs)}`,
    ),
  );
}

function pidsCard(c: ContainerSnapshot): HTMLElement {
  const { limits, usage } = c.cgroup!;
  const fraction = usage.pidsCurrent !== null && limits.pidsMax ? usage.pidsCurrent / limits.pidsMax : null;
  return card(
    'Processes (pids)',
    'pids',
    c.nearLimit.includes('pids'),
    h(
      'p',
      { class: 'figure', 'data-limit': 'pids' },
      h('strong', {}, formatCount(usage.pidsCurrent)),
      limits.pidsMax !== null ? ` of ${formatCount(limits.pidsMax)}` : ' · unlimited',
    ),
    meter(fraction, 'processes of the limit'),
    small(`${c.processes.length} process${c.processes.length === 1 ? '' : 'es'} listed below; the count includes threads`),
  );
}

function cpusetCard(c: ContainerSnapshot): HTMLElement {
  const { limits } = c.cgroup!;
  return card(
    'CPU set',
    'cpuset',
    false,
    h(
      'p',
      { class: 'figure', 'data-limit': 'cpuset' },
      limits.cpusetCpus !== null ? h('strong', {}, `CPUs ${show(limits.cpusetCpus)}`) : h('strong', {}, 'all host CPUs'),
      limits.hostCpus !== null ? ` (host: ${show(limits.hostCpus)})` : '',
    ),
    small(`memory nodes ${limits.cpusetMems === null ? 'all' : show(limits.cpusetMems)}`),
  );
}

function ioCard(c: ContainerSnapshot): HTMLElement {
  const { limits, usage } = c.cgroup!;
  const throttles =
    limits.blkioThrottles.length === 0
      ? small('no read/write throttles')
      : h(
          'ul',
          { class: 'throttles' },
          ...limits.blkioThrottles.map((t) =>
            h(
              'li',
              {},
              h('code', {}, show(t.device)),
              ` read ${t.readBps === null ? '∞' : `${formatBytes(t.readBps)}/s`}, write ${t.writeBps === null ? '∞' : `${formatBytes(t.writeBps)}/s`}`,
              t.readIops !== null || t.writeIops !== null ? `, ${t.readIops ?? '∞'} / ${t.writeIops ?? '∞'} IOPS` : '',
            ),
          ),
        );
  return card(
    'Block IO',
    'io',
    false,
    h(
      'p',
      { class: 'figure', 'data-limit': 'io' },
      'read ',
      h('strong', {}, formatBytes(usage.ioReadBytes)),
      ' · written ',
      h('strong', {}, formatBytes(usage.ioWriteBytes)),
    ),
    small(`weight ${limits.blkioWeight === null ? 'default' : limits.blkioWeight}`),
    throttles,
  );
}

/** A round number at or above n, for a chart's top: 1, 2 or 5 times a power of two's neighbourhood in MiB. */
function niceCeil(n: number): number {
  const mib = 1024 * 1024;
  const v = n / mib;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p * mib;
  return n;
}

/** A line chart drawn with SVG elements (createElementNS, no markup). Values are scaled to [0, max]. */
function chart(series: { values: (number | null)[]; cls: string }[], max: number, limit: number | null, label: string): SVGSVGElement {
  const W = 300;
  const H = 100;
  const step = W / (HISTORY - 1);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label, class: 'chart' });
  for (const y of [0.25, 0.5, 0.75]) root.append(svg('line', { x1: 0, x2: W, y1: H * y, y2: H * y, class: 'grid' }));
  const yOf = (v: number) => H - (Math.min(v, max) / max) * (H - 2) - 1;
  if (limit !== null && limit <= max) root.append(svg('line', { x1: 0, x2: W, y1: yOf(limit), y2: yOf(limit), class: 'limit' }));
  for (const s of series) {
    const n = s.values.length;
    let pts: string[] = [];
    const flush = () => {
      if (pts.length > 1) root.append(svg('polyline', { points: pts.join(' '), class: `series ${s.cls}` }));
      else if (pts.length === 1) {
        const [x, y] = pts[0].split(',');
        root.append(svg('circle', { cx: x, cy: y, r: 1.5, class: `dot ${s.cls}` }));
      }
      pts = [];
    };
    s.values.forEach((v, i) => {
      if (v === null) return flush();
      const x = W - (n - 1 - i) * step;
      pts.push(`${x.toFixed(1)},${yOf(v).toFixed(1)}`);
    });
    flush();
  }
  return root;
}

function historyCard(c: ContainerSnapshot, samples: UsageSample[], intervalMs: number, hostCpus: number | null): HTMLElement {
  const recent = samples.slice(-HISTORY);
  const limits = c.cgroup?.limits;
  const mem = recent.map((s) => s.memoryBytes);
  const ws = recent.map((s) => s.workingSetBytes);
  const peakMem = Math.max(0, ...mem.filter((v): v is number => v !== null));
  // Against the limit when usage comes near it; otherwise zoomed to the usage, with the limit named above.
  const memLimit = limits?.memoryBytes ?? null;
  const memScaledToLimit = memLimit !== null && peakMem >= memLimit * 0.4;
  const memMax = memScaledToLimit ? memLimit! : niceCeil(Math.max(peakMem * 1.25, 1024 * 1024));
  const cpu = cpuSeries(recent).map((p) => (p.value === null ? null : p.value * 100));
  const cpuLimit = limits?.cpus != null ? limits.cpus * 100 : null;
  const peakCpu = Math.max(0, ...cpu.filter((v): v is number => v !== null));
  const cpuMax = Math.max(cpuLimit ?? (hostCpus ?? 1) * 100, peakCpu, 1);
  const span = `last ${Math.round(((HISTORY - 1) * intervalMs) / 1000)} s`;
  const lastMem = mem.at(-1) ?? null;
  const lastCpu = cpu.at(-1) ?? null;
  const memChart = h(
    'figure',
    { class: 'chart-box' },
    h(
      'figcaption',
      {},
      h('span', { class: 'key mem' }, 'memory'),
      ` ${formatBytes(lastMem)} `,
      h('span', { class: 'key ws' }, 'working set'),
      ` ${formatBytes(ws.at(-1) ?? null)}`,
    ),
    h(
      'div',
      { class: 'chart-frame' },
      h(
        'span',
        { class: 'axis top' },
        memScaledToLimit
          ? `${formatBytes(memMax)} (limit)`
          : `${formatBytes(memMax)}${memLimit !== null ? ` · limit ${formatBytes(memLimit)} is off the scale` : ''}`,
      ),
      chart(
        [
          { values: mem, cls: 'mem' },
          { values: ws, cls: 'ws' },
        ],
        memMax,
        memLimit,
        `Memory, ${span}`,
      ),
      h('span', { class: 'axis bottom' }, '0'),
    ),
  );
  const cpuChart = h(
    'figure',
    { class: 'chart-box' },
    h('figcaption', {}, h('span', { class: 'key cpu' }, 'CPU'), ` ${lastCpu === null ? '—' : `${lastCpu.toFixed(1)} %`} (100 % = one CPU)`),
    h(
      'div',
      { class: 'chart-frame' },
      h('span', { class: 'axis top' }, `${cpuMax.toFixed(0)} %${cpuLimit !== null && cpuMax === cpuLimit ? ' (limit)' : ''}`),
      chart([{ values: cpu, cls: 'cpu' }], cpuMax, cpuLimit, `CPU, ${span}`),
      h('span', { class: 'axis bottom' }, '0'),
    ),
  );
  return section(
    `History (${span}, ${recent.length} sample${recent.length === 1 ? '' : 's'})`,
    { class: 'history', 'data-card': 'history' },
    h('div', { class: 'charts' }, memChart, cpuChart, pressureChart(recent, span)),
  );
}

/** Stall time over time (PSI `some` avg10): the share of the last 10 s in which a task waited for CPU, memory or IO. */
function pressureChart(recent: UsageSample[], span: string): HTMLElement | null {
  const series = [
    { values: recent.map((s) => s.cpuPressure ?? null), cls: 'psi-cpu', label: 'CPU' },
    { values: recent.map((s) => s.memoryPressure ?? null), cls: 'psi-mem', label: 'memory' },
    { values: recent.map((s) => s.ioPressure ?? null), cls: 'psi-io', label: 'IO' },
  ];
  if (series.every((x) => x.values.every((v) => v === null))) return null;
  const peak = Math.max(0, ...series.flatMap((x) => x.values.filter((v): v is number => v !== null)));
  const max = peak > 50 ? 100 : Math.max(10, Math.ceil((peak * 1.25) / 10) * 10);
  const last = (values: (number | null)[]) => {
    const v = values.at(-1) ?? null;
    return v === null ? '—' : `${v.toFixed(1)} %`;
  };
  return h(
    'figure',
    { class: 'chart-box', 'data-chart': 'pressure' },
    h(
      'figcaption',
      {},
      'stalled (PSI some, avg10): ',
      ...series.flatMap((x) => [h('span', { class: `key ${x.cls}` }, x.label), ` ${last(x.values)} `]),
    ),
    h(
      'div',
      { class: 'chart-frame' },
      h('span', { class: 'axis top' }, `${max} %`),
      chart(
        series.map((x) => ({ values: x.values, cls: x.cls })),
        max,
        null,
        `Pressure stall, ${span}`,
      ),
      h('span', { class: 'axis bottom' }, '0'),
    ),
  );
}

/** Processes as a tree by parent PID, flattened depth first, children in PID order. */
export function processTree(procs: ProcessInfo[]): { p: ProcessInfo; depth: number; last: boolean }[] {
  const out: { p: ProcessInfo; depth: number; last: boolean }[] = [];
  const walk = (nodes: ProcessNode[], depth: number) =>
    nodes.forEach((n, i) => {
      out.push({ p: n.process, depth, last: i === nodes.length - 1 });
      walk(n.children, depth + 1);
    });
  walk(buildProcessTree(procs), 0);
  return out;
}

function processesCard(c: ContainerSnapshot): HTMLElement {
  const rows = processTree(c.processes);
  const body = h('tbody');
  for (const { p, depth } of rows) {
    const pidCell = h(
      'td',
      { class: 'pid' },
      h('span', { class: 'tree-indent', 'aria-hidden': 'true' }, depth > 0 ? '└ ' : ''),
      h('span', { class: 'host-pid', title: 'PID on the host' }, String(p.hostPid)),
      h('span', { class: 'arrow', 'aria-label': 'is, inside the container,' }, ' → '),
      h('span', { class: 'ct-pid', title: 'PID inside the container' }, p.containerPid === null ? '?' : String(p.containerPid)),
    );
    styled(pidCell, { '--depth': String(Math.min(depth, 12)) });
    body.append(
      h(
        'tr',
        { 'data-host-pid': p.hostPid, 'data-container-pid': p.containerPid ?? '', 'aria-level': depth + 1 },
        pidCell,
        h('td', { class: 'user' }, trunc(p.user)),
        h('td', { class: 'num' }, p.threads === null ? '—' : String(p.threads)),
        h('td', { class: 'num' }, formatBytes(p.rssBytes)),
        h('td', { class: 'cmd' }, trunc(commandText(p) || p.name, { title: show(commandText(p) || p.name) }, 'code')),
      ),
    );
  }
  const table = h(
    'table',
    { class: 'procs' },
    h('caption', {}, 'Processes by parent: host PID → PID inside the container'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'PID host → container'),
        h('th', { scope: 'col' }, 'User'),
        h('th', { scope: 'col', class: 'num' }, 'Threads'),
        h('th', { scope: 'col', class: 'num' }, 'RSS'),
        h('th', { scope: 'col' }, 'Command'),
      ),
    ),
    body,
  );
  return section(
    c.processesNotListed ? `Processes (${c.processes.length} of ${processCount(c)} listed)` : `Processes (${c.processes.length})`,
    { class: 'processes', 'data-card': 'processes' },
    c.processes.length
      ? h('div', { class: 'table-scroll' }, table)
      : h('p', { class: 'empty' }, c.state === 'running' ? 'No process could be read.' : `The container is ${c.state}: no processes.`),
  );
}

/** A path cut at its start when too long: the end (`…/<id>/diff`) is the part that tells layers apart. */
function pathText(path: string): HTMLElement {
  return h('code', { class: 'path trunc-start', title: show(path) }, h('bdi', {}, show(path)));
}

function pathLine(label: string, path: string | null, extra: Node | null = null): HTMLElement {
  return h(
    'div',
    { class: 'path-line' },
    h('span', { class: 'role' }, label),
    path === null ? h('span', { class: 'muted' }, 'unknown') : pathText(path),
    extra,
  );
}

function overlayCard(c: ContainerSnapshot): HTMLElement {
  const o = c.overlay;
  if (!o) {
    const reason = c.errors.find((e) => e.field.startsWith('overlay'))?.reason ?? 'not an overlay filesystem, or not readable';
    return section('Overlay filesystem', { class: 'overlay', 'data-card': 'overlay' }, h('p', { class: 'empty' }, show(reason)));
  }
  const stack = h('ol', { class: 'stack', 'aria-label': 'Overlay stack, top first' });
  stack.append(
    h(
      'li',
      { class: 'layer merged', 'data-layer-role': 'merged' },
      pathLine('merged', o.mergedDir),
      h('span', { class: 'what' }, 'what the container sees as /'),
    ),
  );
  const upperActions = h(
    'span',
    { class: 'actions' },
    button('Reveal', () => send('revealUpperDir', { containerId: c.id }), { secondary: true, title: 'Show the upper directory' }),
    o.upperDir ? button('Copy', () => send('copyText', { text: o.upperDir! }), { secondary: true, title: 'Copy the path' }) : '',
  );
  stack.append(
    h(
      'li',
      { class: 'layer upper', 'data-layer-role': 'upper' },
      pathLine('upperdir', o.upperDir, upperActions),
      h('span', { class: 'what' }, 'the writable layer: every file the container wrote, changed or deleted'),
    ),
  );
  const n = o.stack.length;
  for (let i = n - 1; i >= 0; i--) {
    const d = o.stack[i];
    const label = d.role === 'init' ? 'init layer' : `image layer ${i + 1}`;
    stack.append(
      h(
        'li',
        { class: `layer lower ${d.role}`, 'data-layer-role': d.role, 'data-lower-index': i },
        pathLine(label, d.resolved ?? d.dir),
        h(
          'span',
          { class: 'what' },
          i === 0 ? 'the bottom of the stack' : d.role === 'init' ? 'files Docker adds: /etc/hosts, /etc/resolv.conf …' : 'read-only',
          d.resolved && d.resolved !== d.dir ? ` · via ${show(d.dir)}` : '',
        ),
      ),
    );
  }
  return section(
    'Overlay filesystem',
    { class: 'overlay', 'data-card': 'overlay' },
    stack,
    facts([
      ['workdir', o.workDir === null ? 'unknown' : trunc(o.workDir, {}, 'code')],
      ['read from', o.source === 'mountinfo' ? '/proc/PID/mountinfo' : 'docker inspect'],
      [
        'inspect agrees',
        o.inspectAgrees === null ? 'not compared' : o.inspectAgrees ? 'yes' : 'no: docker inspect names another upper directory',
      ],
      ['options', o.options.length ? trunc(o.options.join(','), {}, 'code') : 'none'],
    ]),
  );
}

function namespacesCard(state: DashboardState): HTMLElement {
  const c = state.container;
  if (!c.namespaces) {
    return section(
      'Namespaces',
      { class: 'namespaces', 'data-card': 'namespaces' },
      h('p', { class: 'empty' }, `unreadable: ${show(unreadableReason(c))}`),
    );
  }
  const index = indexGroups(state.groups);
  const body = h('tbody');
  for (const t of NAMESPACE_TYPES) {
    const inode = c.namespaces[t];
    const info = inode === null ? undefined : index[t].get(inode);
    const kind = info?.kind ?? 'solo';
    body.append(
      h(
        'tr',
        { 'data-ns-type': t, class: `ns-${kind}` },
        h('th', { scope: 'row' }, h('span', { class: `swatch ns-${t}`, 'aria-hidden': 'true' }), t),
        h('td', { class: 'inode' }, inode === null ? '—' : String(inode)),
        h('td', {}, inode === null ? 'not readable' : trunc(sharedWithText(info, c.id, state.names, 12))),
      ),
    );
  }
  const extra: HTMLElement[] = [];
  if (c.namespaces.pid_for_children != null)
    extra.push(small(`pid_for_children ${c.namespaces.pid_for_children} (differs from pid: a process called unshare)`));
  if (c.namespaces.time_for_children != null) extra.push(small(`time_for_children ${c.namespaces.time_for_children}`));
  return section(
    'Namespaces',
    { class: 'namespaces', 'data-card': 'namespaces' },
    h(
      'table',
      { class: 'ns-table' },
      h('caption', {}, 'Namespaces and who else is in them'),
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Inode'), h('th', { scope: 'col' }, 'Shared with')),
      ),
      body,
    ),
    ...extra,
  );
}

const VERDICT_MARK: Record<string, string> = { pass: 'pass', fail: 'FAIL', unknown: '?' };

/** The container's rights as the kernel holds them, the host it can reach, and the CIS verdicts decided on them. */
function securityCard(c: ContainerSnapshot): HTMLElement {
  const s = c.security;
  const attrs = { class: 'security', 'data-card': 'security' };
  if (!s) {
    const reason = c.errors.find((e) => e.field === 'security' || e.field.startsWith('security.'))?.reason ?? 'not read';
    return section('Security', attrs, h('p', { class: 'empty' }, `unreadable: ${show(reason)}`));
  }
  const caps = (xs: string[]) => (xs.length === 0 ? 'none' : xs.map((x) => x.replace(/^CAP_/, '')).join(', '));
  const capText = s.allCapabilities
    ? 'all the kernel has (privileged)'
    : [s.added.length > 0 ? `added ${caps(s.added)}` : '', s.dropped.length > 0 ? `dropped ${caps(s.dropped)}` : '']
        .filter(Boolean)
        .join('; ') || 'the runtime default';
  const pairs: [string, Node | string][] = [
    ['user', s.uid === null ? '?' : `${s.uid}${s.user ? ` (${show(s.user)})` : ''}, gid ${s.gid ?? '?'}`],
    [
      'capabilities',
      h(
        'span',
        {
          'data-field': 'capabilities',
          title: s.capabilities
            ? `CapEff ${s.capabilities.masks.effective}: ${caps(s.capabilities.effective)}\nCapBnd ${s.capabilities.masks.bounding}: ${caps(s.capabilities.bounding)}`
            : '',
        },
        capText,
      ),
    ],
    ['effective', s.capabilities ? caps(s.capabilities.effective) : '?'],
    [
      'seccomp',
      s.seccompMode === null
        ? '?'
        : s.seccompMode === 0
          ? 'disabled'
          : s.seccompMode === 1
            ? 'strict'
            : `filter (${s.seccompFilters ?? '?'})`,
    ],
    ['no_new_privs', s.noNewPrivs === null ? '?' : s.noNewPrivs ? 'set' : 'not set'],
    [s.lsm === 'selinux' ? 'SELinux' : 'AppArmor', s.lsmLabel ? trunc(s.lsmLabel) : 'none'],
    [
      'user namespace',
      s.hostUserNamespace === null
        ? '?'
        : s.hostUserNamespace
          ? "the host's: uid 0 inside is root on the host"
          : (s.uidMap ?? []).map((r) => `${r.inside}→${r.outside} ×${r.count}`).join(', '),
    ],
    ['root filesystem', s.readOnlyRoot === null ? '?' : s.readOnlyRoot ? 'read-only' : 'writable'],
  ];
  const mounts =
    s.sensitiveMounts.length === 0
      ? null
      : h(
          'ul',
          { class: 'sensitive-mounts' },
          ...s.sensitiveMounts.map((m) =>
            h(
              'li',
              { 'data-kind': m.kind },
              badge(m.kind, { class: 'warn' }),
              ' ',
              trunc(m.mountPoint, {}, 'code'),
              m.hostPath ? ' ← ' : '',
              m.hostPath ? trunc(m.hostPath, {}, 'code') : '',
              m.readOnly ? ' (ro)' : '',
            ),
          ),
        );
  const body = h('tbody');
  for (const v of s.verdicts) {
    body.append(
      h(
        'tr',
        { 'data-cis': v.id, class: `verdict-${v.status}` },
        h('td', {}, badge(VERDICT_MARK[v.status], { class: `verdict verdict-${v.status}` })),
        h('th', { scope: 'row' }, v.id),
        h('td', {}, v.title),
        h('td', {}, trunc(v.evidence)),
      ),
    );
  }
  const failed = s.verdicts.filter((v) => v.status === 'fail').length;
  return section(
    `Security (${failed} CIS finding${failed === 1 ? '' : 's'})`,
    attrs,
    facts(pairs),
    mounts,
    h(
      'table',
      { class: 'cis-table' },
      h('caption', {}, 'CIS Docker Benchmark v1.6.0, section 5, decided on what the kernel says'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, ''),
          h('th', { scope: 'col' }, 'CIS'),
          h('th', { scope: 'col' }, 'Recommendation'),
          h('th', { scope: 'col' }, 'Evidence'),
        ),
      ),
      body,
    ),
  );
}

/** The container's network namespace: interfaces with addresses and their host ends, routes, listening sockets. */
function networkCard(c: ContainerSnapshot): HTMLElement | null {
  if (c.network === undefined) return null;
  const attrs = { class: 'network', 'data-card': 'network' };
  const n = c.network;
  if (!n) return section('Network', attrs, h('p', { class: 'empty' }, 'not read'));
  const head = n.hostNetwork
    ? h('p', { class: 'warn-line' }, badge("the host's network", { class: 'warn' }), ` net:[${n.namespace}]: every host interface and port`)
    : h(
        'p',
        { class: 'subtitle' },
        `net:[${n.namespace ?? '?'}]`,
        n.sharedWith.length > 0 ? ` · shared with ${n.sharedWith.length} other container${n.sharedWith.length === 1 ? '' : 's'}` : '',
      );
  const ifaces = h('tbody');
  for (const i of n.interfaces) {
    ifaces.append(
      h(
        'tr',
        { 'data-iface': show(i.name) },
        h('th', { scope: 'row' }, trunc(i.name)),
        h('td', {}, i.addresses.length > 0 ? i.addresses.join(' ') : '—'),
        h(
          'td',
          { 'data-field': 'peer' },
          i.peer ? `${show(i.peer.name)} (${i.peer.index})${i.peer.bridge ? ` on ${show(i.peer.bridge)}` : ''}` : '—',
        ),
        h('td', { class: 'num' }, `${formatBytes(i.rxBytes)} / ${formatBytes(i.txBytes)}`),
      ),
    );
  }
  const table = h(
    'table',
    { class: 'net-table' },
    h('caption', {}, 'Interfaces'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Interface'),
        h('th', { scope: 'col' }, 'Addresses'),
        h('th', { scope: 'col' }, 'Host end (bridge)'),
        h('th', { scope: 'col' }, 'Received / sent'),
      ),
    ),
    ifaces,
  );
  const routes = n.routes.map((r) =>
    h('li', {}, h('code', {}, `${r.destination}${r.gateway ? ` via ${r.gateway}` : ''} dev ${show(r.iface)}`)),
  );
  const listening = n.listening.map((s) =>
    h(
      'li',
      { 'data-port': String(s.port) },
      h('code', {}, `${s.protocol}${s.family === 6 ? '6' : ''} ${s.family === 6 ? `[${s.address}]` : s.address}:${s.port}`),
      ' ',
      s.processes.length > 0 ? s.processes.map((p) => `${show(p.name)} (${p.hostPid})`).join(', ') : 'no process of the container',
    ),
  );
  return section(
    'Network',
    attrs,
    head,
    table,
    routes.length > 0 ? h('div', {}, h('h3', {}, 'Routes'), h('ul', { class: 'routes' }, ...routes)) : null,
    h(
      'div',
      {},
      h('h3', {}, 'Listening'),
      listening.length > 0 ? h('ul', { class: 'listening' }, ...listening) : h('p', { class: 'empty' }, 'nothing listens'),
    ),
    n.errors.length > 0
      ? h('ul', { class: 'errors' }, ...n.errors.map((e) => h('li', {}, h('code', {}, show(e.field)), ': ', show(e.reason))))
      : null,
  );
}

function errorsCard(c: ContainerSnapshot): HTMLElement | null {
  if (c.errors.length === 0) return null;
  return section(
    `Could not read (${c.errors.length})`,
    { class: 'errors-card', 'data-card': 'errors' },
    h(
      'ul',
      { class: 'errors' },
      ...c.errors.map((e) => h('li', { 'data-field': e.field }, h('code', {}, show(e.field)), ': ', show(e.reason))),
    ),
  );
}

function hostCpuCount(c: ContainerSnapshot): number | null {
  const text = c.cgroup?.limits.hostCpus;
  if (!text) return null;
  let n = 0;
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return n || null;
}

export function mountDashboard(root: HTMLElement): void {
  const vs = viewState('dashboard', { scrollY: 0, containerId: '' });
  const loading = waiting('Reading the container…');
  root.append(loading);

  const header = new Slot('dash-header');
  const limits = h('div', { class: 'limits' });
  const history = h('div', { class: 'history-slot' });
  const procs = new Slot('procs-slot');
  const overlay = new Slot('overlay-slot');
  const namespaces = new Slot('ns-slot');
  const security = new Slot('security-slot');
  const network = new Slot('network-slot');
  const errors = new Slot('errors-slot');
  const page = h(
    'div',
    { class: 'dashboard' },
    header.el,
    limits,
    history,
    procs.el,
    h('div', { class: 'two-col' }, overlay.el, namespaces.el),
    security.el,
    network.el,
    errors.el,
  );
  let mounted = false;
  let restored = false;

  window.addEventListener('scroll', () => {
    if (mounted) vs.setSoon({ scrollY: Math.round(window.scrollY) });
  });

  on('state/dashboard', (state) => {
    const c = state.container;
    if (!mounted) {
      loading.remove();
      root.append(page);
      mounted = true;
    }
    header.update(
      JSON.stringify([
        c.id,
        c.name,
        c.image,
        c.state,
        c.status,
        c.pid,
        c.nearLimit,
        c.cgroup?.path,
        c.cgroup?.version,
        c.cgroup?.driver,
        c.cgroup?.rootless,
        c.exit,
      ]),
      () => {
        const layersBtn = button('Layers', () => send('openLayers', { ref: c.id, layer: 'upper' }), {
          secondary: true,
          title: 'What each image layer and the writable layer changed',
        });
        const copyBtn = button('Copy ID', () => send('copyText', { text: c.id }), { secondary: true });
        return h(
          'header',
          { class: 'view-header' },
          h(
            'div',
            { class: 'title-row' },
            h('h1', { class: 'trunc', title: show(c.name) }, show(c.name)),
            h('span', { class: 'header-actions' }, layersBtn, copyBtn),
          ),
          h(
            'p',
            { class: 'subtitle' },
            badge(c.state, { class: `state state-${c.state}`, 'data-state': c.state }),
            ' ',
            trunc(c.image, { class: 'image', 'data-field': 'image' }),
            ' · host PID ',
            h('strong', { 'data-field': 'pid' }, c.pid === null ? 'none' : String(c.pid)),
            ' · id ',
            h('code', { title: c.id }, shortId(c.id)),
            ' · ',
            trunc(c.status, { class: 'status' }),
            ...c.nearLimit.map((l) => badge(`near ${l} limit`, { class: 'warn', 'data-near': l })),
          ),
          c.exit
            ? h(
                'p',
                { class: 'subtitle exit-line', 'data-field': 'exit' },
                badge(c.exit.exitCode === null ? 'never ran' : `exit code ${c.exit.exitCode}`, { class: c.exit.exitCode ? 'bad' : '' }),
                c.exit.oomKilled ? ' ' : '',
                c.exit.oomKilled ? badge('OOM-killed', { class: 'bad', 'data-oom': 'killed' }) : '',
                c.exit.finishedAt ? ` · ended ${show(c.exit.finishedAt)}` : '',
                c.exit.error ? ` · ${show(c.exit.error)}` : '',
                ' · the figures below are its last, read before it stopped',
              )
            : '',
          c.cgroup
            ? h(
                'p',
                { class: 'subtitle cgroup-line' },
                `cgroup v${c.cgroup.version} (${c.cgroup.driver}${c.cgroup.rootless ? ', rootless' : ''}) `,
                trunc(c.cgroup.path, { class: 'path' }, 'code'),
              )
            : '',
        );
      },
    );

    clear(limits);
    if (c.cgroup) {
      const hostCpus = hostCpuCount(c);
      limits.append(memoryCard(c), cpuCard(c, state.samples, hostCpus), pidsCard(c), cpusetCard(c), ioCard(c));
      clear(history);
      history.append(historyCard(c, state.samples, state.intervalMs || 1000, hostCpus));
    } else {
      const reason = c.errors.find((e) => e.field.startsWith('cgroup'))?.reason ?? 'not readable';
      limits.append(
        h(
          'section',
          { class: 'card limit-card', 'data-card': 'cgroup' },
          h('h2', {}, 'Limits and usage'),
          h('p', { class: 'empty' }, `cgroup unreadable: ${show(reason)}`),
        ),
      );
      clear(history);
    }

    procs.update(JSON.stringify([c.state, c.processes]), () => processesCard(c));
    overlay.update(JSON.stringify([c.id, c.overlay, c.errors.filter((e) => e.field.startsWith('overlay'))]), () => overlayCard(c));
    namespaces.update(JSON.stringify([c.namespaces, state.groups, state.names]), () => namespacesCard(state));
    security.update(JSON.stringify([c.security, c.errors.filter((e) => e.field.startsWith('security'))]), () => securityCard(c));
    network.update(JSON.stringify(c.network ?? null) + String(c.network === undefined), () => networkCard(c));
    errors.update(JSON.stringify(c.errors), () => errorsCard(c));

    const saved = vs.get();
    if (!restored) {
      restored = true;
      if (saved.containerId === c.id && saved.scrollY > 0) requestAnimationFrame(() => window.scrollTo(0, saved.scrollY));
      vs.set({ containerId: c.id });
    }
  });
}
