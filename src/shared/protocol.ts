// The one protocol between the extension host and its webviews. Every message is typed here; neither side
// posts anything else. Three shapes, as in GitLens' IPC: notifications (host → webview, state pushes),
// commands (webview → host, fire and forget) and requests (webview → host, answered by a response with the
// same sequence number).

import type {
  ContainerSnapshot,
  EfficiencyVerdict,
  HostFacts,
  ImageLayer,
  LayerChange,
  LayerReport,
  NamespaceGroup,
  Snapshot,
} from './model';

/** Which view a webview panel shows; the bundled app mounts the matching one. */
export type ViewKind = 'graph' | 'dashboard' | 'layers' | 'vm';

/** One reading of a container's cgroup usage, for the dashboard's history chart. */
export interface UsageSample {
  /** Milliseconds since the epoch. */
  t: number;
  memoryBytes: number | null;
  workingSetBytes: number | null;
  cpuUsageNs: number | null;
  cpuThrottledPeriods: number | null;
  pidsCurrent: number | null;
  ioReadBytes: number | null;
  ioWriteBytes: number | null;
}

/** A layer without its change list (sent on demand: a layer can hold 100 000 paths). */
export type LayerSummary = Omit<ImageLayer, 'changes'> & { added: number; modified: number; deleted: number; opaque: number };

export interface LayerReportSummary extends Omit<LayerReport, 'layers' | 'upper'> {
  layers: LayerSummary[];
  upper: { dir: string | null; sizeBytes: number; added: number; modified: number; deleted: number; opaque: number } | null;
}

/** What the namespace graph needs: the snapshot without process lists. */
export interface GraphState {
  snapshot: Snapshot;
  /** Container ids to emphasise (Compare Namespaces of Two Containers). */
  focus: string[];
}

export interface DashboardState {
  container: ContainerSnapshot;
  samples: UsageSample[];
  /** Namespace groups this container belongs to, and the names of every member. */
  groups: NamespaceGroup[];
  names: Record<string, string>;
  /** Refresh period of the live figures, in milliseconds. */
  intervalMs: number;
}

export interface LayersState {
  report: LayerReportSummary;
  /** The layer to open first: an index, `upper` for a container's writable layer, or null for the top. */
  selected: number | 'upper' | null;
  verdict: EfficiencyVerdict | null;
}

export interface VmState {
  host: HostFacts;
  containers: { id: string; name: string; image: string; pid: number | null }[];
}

/** Host → webview. */
export interface Notifications {
  'state/graph': GraphState;
  'state/dashboard': DashboardState;
  'state/layers': LayersState;
  'state/vm': VmState;
  /** Something went wrong (daemon down, container gone); the view shows it and keeps its last data. */
  'state/error': { message: string; retryable: boolean };
  /** Long work under way (a big layer read); null clears it. */
  'state/progress': { message: string | null };
}

/** Webview → host, no answer. */
export interface Commands {
  ready: { view: ViewKind };
  openDashboard: { containerId: string };
  openLayers: { ref: string; layer: number | 'upper' | null };
  retry: Record<string, never>;
  copyText: { text: string };
  revealUpperDir: { containerId: string };
  /** Stop the long work under way (a big layer read). */
  cancel: Record<string, never>;
}

/** Webview → host, answered. */
export interface Requests {
  'layers/changes': {
    params: { layer: number | 'upper' };
    result: { changes: LayerChange[] };
  };
}

export type NotificationMessage = {
  [M in keyof Notifications]: { kind: 'notification'; method: M; params: Notifications[M] };
}[keyof Notifications];
export type CommandMessage = { [M in keyof Commands]: { kind: 'command'; method: M; params: Commands[M] } }[keyof Commands];
export type RequestMessage = {
  [M in keyof Requests]: { kind: 'request'; seq: number; method: M; params: Requests[M]['params'] };
}[keyof Requests];
export type ResponseMessage = { kind: 'response'; seq: number; result?: unknown; error?: string };

export type HostToWebview = NotificationMessage | ResponseMessage;
export type WebviewToHost = CommandMessage | RequestMessage;

export function notification<M extends keyof Notifications>(method: M, params: Notifications[M]): HostToWebview {
  return { kind: 'notification', method, params } as HostToWebview;
}

export function command<M extends keyof Commands>(method: M, params: Commands[M]): WebviewToHost {
  return { kind: 'command', method, params } as WebviewToHost;
}

/** Checks the shape of a message from a webview before the host acts on it (a webview is untrusted input). */
export function isWebviewToHost(value: unknown): value is WebviewToHost {
  if (!value || typeof value !== 'object') return false;
  const m = value as { kind?: unknown; method?: unknown; params?: unknown; seq?: unknown };
  if (typeof m.method !== 'string' || typeof m.params !== 'object' || m.params === null) return false;
  if (m.kind === 'command') return COMMANDS.has(m.method);
  if (m.kind === 'request') return REQUESTS.has(m.method) && typeof m.seq === 'number' && Number.isSafeInteger(m.seq);
  return false;
}

const COMMANDS = new Set<string>(['ready', 'openDashboard', 'openLayers', 'retry', 'copyText', 'revealUpperDir', 'cancel']);
const REQUESTS = new Set<string>(['layers/changes']);

export function isHostToWebview(value: unknown): value is HostToWebview {
  if (!value || typeof value !== 'object') return false;
  const m = value as { kind?: unknown; method?: unknown; seq?: unknown };
  if (m.kind === 'notification') return typeof m.method === 'string';
  if (m.kind === 'response') return typeof m.seq === 'number';
  return false;
}

/** Summarises a layer report for a webview: counts instead of change lists. */
export function summariseReport(report: LayerReport): LayerReportSummary {
  const count = (changes: LayerChange[]) => {
    let added = 0;
    let modified = 0;
    let deleted = 0;
    let opaque = 0;
    for (const c of changes) {
      if (c.kind === 'added') added++;
      else if (c.kind === 'modified') modified++;
      else deleted++;
      if (c.opaque) opaque++;
    }
    return { added, modified, deleted, opaque };
  };
  const { layers, upper, ...rest } = report;
  return {
    ...rest,
    layers: layers.map(({ changes, ...l }) => ({ ...l, ...count(changes) })),
    upper: upper ? { dir: upper.dir, sizeBytes: upper.sizeBytes, ...count(upper.changes) } : null,
  };
}
