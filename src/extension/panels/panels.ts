import * as vscode from 'vscode';
import { containerMatches, filterTerms } from '../../shared/compose';
import { ContainerSnapshot, LayerReport, NetworkInfo, Snapshot } from '../../shared/model';
import {
  DashboardProtocol,
  GraphProtocol,
  LayersProtocol,
  UsageSample,
  VmProtocol,
  dashboardScope,
  graphScope,
  layersScope,
  summariseReport,
  vmScope,
} from '../../shared/protocol';
import { XrayService } from '../service';
import { readSettings, rulesFromSettings } from '../settings';
import { PanelHost, dashboardHandlers, graphHandlers, layersHandlers, vmHandlers } from './handlers';
import { AnyPanel, XrayPanel } from './panel';
import { withCommandsCut } from '../../shared/processText';

const MAX_SAMPLES = 120;
/** The most of a command line the dashboard shows (webview/ui.ts MAX_TEXT), so the most it is sent. */
const DASHBOARD_COMMAND_CHARS = 4096;

function sampleOf(c: ContainerSnapshot): UsageSample {
  const u = c.cgroup?.usage;
  return {
    t: Date.now(),
    memoryBytes: u?.memoryBytes ?? null,
    workingSetBytes: u?.workingSetBytes ?? null,
    cpuUsageNs: u?.cpuUsageNs ?? null,
    cpuThrottledPeriods: u?.cpuThrottledPeriods ?? null,
    pidsCurrent: u?.pidsCurrent ?? null,
    ioReadBytes: u?.ioReadBytes ?? null,
    ioWriteBytes: u?.ioWriteBytes ?? null,
    cpuPressure: u?.pressure?.cpu?.some.avg10 ?? null,
    memoryPressure: u?.pressure?.memory?.some.avg10 ?? null,
    ioPressure: u?.pressure?.io?.some.avg10 ?? null,
  };
}

/** The dashboard re-reads the network namespace every this many samples (about every 5 s). */
const NETWORK_EVERY = 5;

/** The graph does not need process lists; leaving them out keeps 200-container messages small. */
function graphSnapshot(s: Snapshot): Snapshot {
  return { ...s, containers: s.containers.map((c) => ({ ...c, processes: [] })) };
}

/** Opens and feeds the four webviews from the service; one panel per view kind (dashboards per container). */
export class Panels implements vscode.Disposable {
  private graph: XrayPanel<GraphProtocol> | null = null;
  private graphFocus: string[] = [];
  private vm: XrayPanel<VmProtocol> | null = null;
  private containerFilter = '';
  private readonly dashboards = new Map<
    string,
    {
      panel: XrayPanel<DashboardProtocol>;
      samples: UsageSample[];
      timer: NodeJS.Timeout | null;
      last: ContainerSnapshot;
      /** Its network namespace, read when the dashboard opens and every NETWORK_EVERY samples. */
      network?: NetworkInfo | null;
      ticks: number;
    }
  >();
  private readonly layers = new Map<
    string,
    { panel: XrayPanel<LayersProtocol>; report: LayerReport | null; abort: AbortController | null; selected: number | 'upper' | null }
  >();
  private readonly sub: vscode.Disposable;
  /** What every panel's commands may ask of the editor. */
  private readonly host: PanelHost = {
    refresh: () => this.service.refresh(),
    showDashboard: (containerId) => this.showDashboard(containerId),
    showLayers: (ref, opts) => this.showLayers(ref, opts),
    copyText: (text) => vscode.env.clipboard.writeText(text),
    revealUpperDir: (containerId) => vscode.commands.executeCommand('containerXray.revealUpperDir', { target: { containerId } }),
  };

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly service: XrayService,
  ) {
    this.sub = service.onDidChange((what) => {
      if (what.snapshot) {
        this.pushGraph();
        this.pushVm();
      }
      if (this.service.state.kind === 'unreachable') {
        const message = this.service.state.reason;
        for (const p of this.openPanels()) p.showError(message, true);
      }
    });
  }

  private openPanels(): AnyPanel[] {
    return [
      this.graph,
      this.vm,
      ...[...this.dashboards.values()].map((d) => d.panel),
      ...[...this.layers.values()].map((l) => l.panel),
    ].filter((p) => p !== null);
  }

  private async current(): Promise<Snapshot> {
    if (!this.service.snapshot) await this.service.refresh();
    if (!this.service.snapshot) throw new Error(this.service.state.kind === 'unreachable' ? this.service.state.reason : 'no snapshot yet');
    return this.service.snapshot;
  }

  // ---- Namespace graph ----

  async showGraph(focus: string[] = []): Promise<void> {
    this.graphFocus = focus;
    if (this.graph) {
      this.graph.reveal();
      this.pushGraph();
      return;
    }
    const panel = new XrayPanel(
      this.extensionUri,
      graphScope,
      'Namespace Graph',
      graphHandlers(this.host, { push: () => this.pushGraph() }),
    );
    this.graph = panel;
    panel.onDidDispose(() => (this.graph = null));
    this.service.setVisible('panel:graph', true);
    panel.panel.onDidChangeViewState(() => this.service.setVisible('panel:graph', panel.visible));
    panel.onDidDispose(() => this.service.setVisible('panel:graph', false));
    await this.current().catch((err: Error) => panel.showError(err.message, true));
    this.pushGraph();
  }

  private pushGraph(): void {
    const s = this.service.snapshot;
    if (this.graph && s)
      this.graph.notify('state/graph', {
        snapshot: graphSnapshot(s),
        focus: this.graphFocus.filter((id) => s.containers.some((c) => c.id === id)),
      });
  }

  // ---- Container vs VM ----

  async showVm(): Promise<void> {
    if (this.vm) {
      this.vm.reveal();
      return;
    }
    const panel = new XrayPanel(this.extensionUri, vmScope, 'Container vs VM', vmHandlers(this.host, { push: () => this.pushVm() }));
    this.vm = panel;
    panel.onDidDispose(() => (this.vm = null));
    await this.current().catch((err: Error) => panel.showError(err.message, true));
    this.pushVm();
  }

  /** The Containers view's filter, which the Container vs VM view follows. */
  setContainerFilter(filter: string): void {
    this.containerFilter = filter;
    this.pushVm();
  }

  private pushVm(): void {
    const s = this.service.snapshot;
    if (this.vm && s) {
      const filter = this.containerFilter;
      this.vm.notify('state/vm', {
        host: s.host,
        containers: s.containers
          .filter((c) => containerMatches(c, filter))
          .map((c) => ({ id: c.id, name: c.name, image: c.image, pid: c.pid })),
        ...(filterTerms(filter).length > 0 ? { filter: { text: filter, total: s.containers.length } } : {}),
      });
    }
  }

  // ---- Container dashboard ----

  async showDashboard(containerId: string): Promise<void> {
    const existing = this.dashboards.get(containerId);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const snap = await this.current();
    let container = snap.containers.find((c) => c.id === containerId || c.name === containerId);
    if (!container) {
      // A container that stopped (an OOM kill's notification opens it): its record with how it ended.
      const part = await (await this.service.engine()).snapshot({ containers: [containerId], all: true });
      container = part.containers.find((c) => c.id === containerId || c.name === containerId);
    }
    if (!container) throw new Error(`no container ${containerId}`);
    const panel = new XrayPanel(
      this.extensionUri,
      dashboardScope,
      `${container.name} · X-Ray`,
      dashboardHandlers(this.host, {
        push: () => this.pushDashboard(container.id),
        retry: async () => {
          await this.service.refresh();
          const fresh = this.service.snapshot?.containers.find((c) => c.id === container.id);
          const d = this.dashboards.get(container.id);
          if (d && fresh) d.last = fresh;
          await this.tick(container.id);
        },
      }),
    );
    const entry: {
      panel: XrayPanel<DashboardProtocol>;
      samples: UsageSample[];
      timer: NodeJS.Timeout | null;
      last: ContainerSnapshot;
      network?: NetworkInfo | null;
      ticks: number;
    } = { panel, samples: [sampleOf(container)], timer: null, last: container, ticks: 0 };
    this.dashboards.set(container.id, entry);
    void this.readNetwork(container.id);
    const schedule = () => {
      if (entry.timer) clearInterval(entry.timer);
      entry.timer = null;
      // Live figures are read only while the dashboard is visible.
      if (panel.visible) entry.timer = setInterval(() => this.tick(container.id), readSettings().dashboardInterval);
    };
    panel.panel.onDidChangeViewState(schedule);
    panel.onDidDispose(() => {
      if (entry.timer) clearInterval(entry.timer);
      this.dashboards.delete(container.id);
    });
    schedule();
  }

  private ticking = new Set<string>();

  private async tick(id: string): Promise<void> {
    const d = this.dashboards.get(id);
    if (!d || this.ticking.has(id)) return;
    this.ticking.add(id);
    try {
      const engine = await this.service.engine();
      const fresh = await engine.reread(d.last);
      if (fresh.state === 'gone') {
        if (d.timer) clearInterval(d.timer);
        d.timer = null;
        // Its last figures stay; how it ended comes from the runtime (exit code, OOM kill), if it still knows it.
        const exit = await engine.exitInfo(id).catch(() => null);
        d.last = { ...d.last, state: exit ? 'exited' : 'gone', pid: null, status: exit ? 'exited' : 'removed', ...(exit ? { exit } : {}) };
        this.pushDashboard(id);
        d.panel.showError(`${fresh.name} is no longer running; its last figures are shown.`, true);
        return;
      }
      d.last = fresh;
      this.service.observed([fresh]);
      if (++d.ticks % NETWORK_EVERY === 0) void this.readNetwork(id);
      d.samples.push(sampleOf(fresh));
      if (d.samples.length > MAX_SAMPLES) d.samples.splice(0, d.samples.length - MAX_SAMPLES);
      this.pushDashboard(id);
    } catch (err) {
      d.panel.showError(err instanceof Error ? err.message : String(err), true);
    } finally {
      this.ticking.delete(id);
    }
  }

  /** Reads the dashboard's container's network namespace and shows it (a failure is shown on the card). */
  private async readNetwork(id: string): Promise<void> {
    const d = this.dashboards.get(id);
    if (!d || d.last.state !== 'running') return;
    try {
      d.network = await this.service.network(id);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      d.network = {
        namespace: null,
        hostNetwork: false,
        sharedWith: [],
        interfaces: [],
        routes: [],
        listening: [],
        errors: [{ field: 'network', reason }],
      };
    }
    this.pushDashboard(id);
  }

  private pushDashboard(id: string): void {
    const d = this.dashboards.get(id);
    const snap = this.service.snapshot;
    if (!d || !snap) return;
    const groups = snap.namespaceGroups.filter((g) => g.members.includes(id));
    const names: Record<string, string> = { host: 'host' };
    for (const c of snap.containers) names[c.id] = c.name;
    d.panel.notify('state/dashboard', {
      // Posted every tick: command lines no longer than the view shows (a container controls their length).
      container: withCommandsCut(d.network !== undefined ? { ...d.last, network: d.network } : d.last, DASHBOARD_COMMAND_CHARS),
      samples: d.samples,
      groups,
      names,
      intervalMs: readSettings().dashboardInterval,
    });
  }

  // ---- Layer diff explorer ----

  async showLayers(ref: string, opts: { container?: boolean; layer?: number | 'upper' | null; title?: string } = {}): Promise<void> {
    const key = `${opts.container ? 'c' : 'i'}:${ref}`;
    const existing = this.layers.get(key);
    if (existing) {
      existing.selected = opts.layer ?? null;
      existing.panel.reveal();
      this.pushLayers(key);
      return;
    }
    const title =
      opts.title ??
      (opts.container
        ? (this.service.snapshot?.containers.find((c) => c.id === ref)?.name ?? ref.slice(0, 12))
        : (this.service.images?.find((i) => i.id === ref)?.tags[0] ?? ref.replace(/^sha256:/, '').slice(0, 24)));
    const state: { report: LayerReport | null; abort: AbortController | null; selected: number | 'upper' | null } = {
      report: null,
      abort: null,
      selected: opts.layer ?? null,
    };
    const panel = new XrayPanel(
      this.extensionUri,
      layersScope,
      `Layers · ${title}`,
      layersHandlers(this.host, {
        push: () => this.pushLayers(key),
        cancel: () => state.abort?.abort(),
        retry: () => this.loadLayers(key, ref, opts.container === true, true),
        changes: async (layer) => {
          const report = state.report ?? (await this.service.layers(ref, { container: opts.container }));
          if (layer === 'upper') return report.upper?.changes ?? [];
          const l = report.layers[layer];
          if (!l) throw new Error(`no layer ${layer}`);
          return l.changes;
        },
      }),
    );
    const entry = Object.assign(state, { panel });
    this.layers.set(key, entry);
    panel.onDidDispose(() => {
      entry.abort?.abort();
      this.layers.delete(key);
    });
    await this.loadLayers(key, ref, opts.container === true, false);
  }

  private async loadLayers(key: string, ref: string, container: boolean, fresh: boolean): Promise<void> {
    const entry = this.layers.get(key);
    if (!entry) return;
    entry.abort?.abort();
    const abort = new AbortController();
    entry.abort = abort;
    entry.panel.notify('state/progress', { message: 'Reading layers…' });
    try {
      entry.report = await this.service.layers(ref, {
        container,
        fresh,
        signal: abort.signal,
        onProgress: (message) => entry.panel.notify('state/progress', { message }),
      });
      entry.panel.notify('state/progress', { message: null });
      this.pushLayers(key);
    } catch (err) {
      entry.panel.notify('state/progress', { message: null });
      entry.panel.showError(abort.signal.aborted ? 'Cancelled.' : err instanceof Error ? err.message : String(err), true);
    } finally {
      if (entry.abort === abort) entry.abort = null;
    }
  }

  private pushLayers(key: string): void {
    const entry = this.layers.get(key);
    if (!entry?.report) return;
    const { rules, errors } = rulesFromSettings(this.service.engineModule().parseRuleValue);
    const verdict = errors.length === 0 ? this.service.engineModule().evaluateRules(entry.report, rules) : null;
    entry.panel.notify('state/layers', { report: summariseReport(entry.report), selected: entry.selected, verdict });
  }

  dispose(): void {
    this.sub.dispose();
    for (const p of this.openPanels()) p.dispose();
  }
}
