import * as vscode from 'vscode';
import type { Engine } from '../core/engine';
import type { ApproveHelperImage } from '../core/access/helperImage';
import type { DockerEvent, DockerEventWatcher } from '../core/runtime/docker/events';
import {
  ContainerSnapshot,
  HOST_MEMBER,
  HostFacts,
  ImageFacts,
  LayerReport,
  NAMESPACE_TYPES,
  NamespaceInodes,
  NetworkInfo,
  Snapshot,
} from '../shared/model';
import { groupNamespaces } from '../shared/namespaces';
import { groupPods } from '../shared/pods';
import { printable, truncate } from '../shared/text';
import { OomNotice, OomWatch } from './notify/oomWatch';
import { EngineModule, loadEngine } from './engineLoader';
import { ACCESS_SETTINGS, readSettings } from './settings';
import { ignoredWorkspaceValues } from './settingsReader';

export type DaemonState = { kind: 'idle' } | { kind: 'loading' } | { kind: 'ready' } | { kind: 'unreachable'; reason: string };

/**
 * The extension's one source of truth: the latest snapshot, images and host facts, refreshed by docker
 * events (only what changed) and, for live usage figures, periodically while some view is visible.
 * Views and panels read it and listen to onDidChange; none of them talks to the engine on its own.
 */
export class XrayService implements vscode.Disposable {
  private engineP: Promise<Engine> | null = null;
  private module: EngineModule | null = null;
  private watcher: DockerEventWatcher | null = null;
  private readonly changed = new vscode.EventEmitter<{ snapshot?: boolean; images?: boolean; host?: boolean }>();
  readonly onDidChange = this.changed.event;
  private readonly oomFired = new vscode.EventEmitter<OomNotice>();
  /** A container's process was OOM-killed (the daemon's event, or its cgroup's oom_kill counter rising). */
  readonly onOom = this.oomFired.event;
  private readonly oomWatch = new OomWatch((n) => this.oomFired.fire(n));
  snapshot: Snapshot | null = null;
  images: ImageFacts[] | null = null;
  host: HostFacts | null = null;
  state: DaemonState = { kind: 'idle' };
  private readonly layerReports = new Map<string, Promise<LayerReport>>();
  private refreshing: Promise<void> | null = null;
  private pendingIds = new Set<string>();
  private pendingTimer: NodeJS.Timeout | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private readonly visible = new Set<string>();
  private disposed = false;

  private readonly settingsListener: vscode.Disposable;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    /** Asked before a helper container runs an image not approved yet (a modal; see helperConsent.ts). */
    private readonly approveHelperImage?: ApproveHelperImage,
  ) {
    // The access settings make a new engine (dockerHost is handled by the extension's own listener).
    this.settingsListener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (ACCESS_SETTINGS.some((s) => e.affectsConfiguration(s))) this.reset();
    });
  }

  /** The engine, created on first use with the current settings. */
  engine(): Promise<Engine> {
    if (!this.engineP) {
      const started = Date.now();
      this.module = loadEngine();
      const settings = readSettings();
      const ignored = ignoredWorkspaceValues(vscode.workspace.getConfiguration('containerXray'));
      if (ignored.length > 0)
        this.output.warn(
          `ignoring ${ignored.map((k) => `containerXray.${k}`).join(', ')} from the workspace settings: only your user settings may set them`,
        );
      this.engineP = this.module.Engine.create({
        override: settings.dockerHost || undefined,
        runtime: settings.runtime,
        access: settings.access,
        helperImage: settings.helperImage || undefined,
        approveHelperImage: this.approveHelperImage,
      });
      this.engineP.then(
        (e) => this.output.info(`engine ready in ${Date.now() - started} ms: ${e.runtime.endpoint.host} (${e.runtime.endpoint.from})`),
        (err: Error) => this.output.error(`engine could not start: ${err.message}`),
      );
      this.engineP.catch(() => (this.engineP = null));
    }
    return this.engineP;
  }

  engineModule(): EngineModule {
    this.module ??= loadEngine();
    return this.module;
  }

  /** Drops the engine (after a settings change), so the next use reconnects. */
  reset(): void {
    this.watcher?.stop();
    this.watcher = null;
    // The old engine's helper container (if any) goes with it.
    void this.engineP?.then((e) => e.dispose()).catch(() => undefined);
    this.engineP = null;
    this.layerReports.clear();
    void this.refresh();
  }

  private setState(state: DaemonState): void {
    const before = JSON.stringify(this.state);
    this.state = state;
    void vscode.commands.executeCommand('setContext', 'containerXray.state', state.kind);
    if (before !== JSON.stringify(state)) this.changed.fire({ snapshot: true, images: true, host: true });
  }

  /** A full refresh: one snapshot (one list call), images and host facts. Concurrent calls share one run. */
  refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = this.doRefresh().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    if (this.state.kind === 'idle') this.setState({ kind: 'loading' });
    try {
      const engine = await this.engine();
      this.startWatching(engine);
      // Containers show as soon as they are read; images follow.
      const images = engine.images();
      images.catch(() => undefined);
      const snapshot = await engine.snapshot();
      this.snapshot = snapshot;
      this.oomWatch.observe(snapshot.containers);
      this.host = snapshot.host;
      this.setState({ kind: 'ready' });
      this.changed.fire({ snapshot: true, host: true });
      this.images = await images;
      this.changed.fire({ images: true });
    } catch (err) {
      this.failed(err);
    }
  }

  private failed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.output.warn(message);
    this.setState({ kind: 'unreachable', reason: message });
  }

  private startWatching(engine: Engine): void {
    if (this.watcher) return;
    const { DockerEventWatcher } = this.engineModule();
    const w = new DockerEventWatcher(engine.runtime);
    this.watcher = w;
    engine.followEvents(w);
    w.on('event', (ev) => this.onEvent(ev));
    w.on('disconnected', (err) => {
      if (this.disposed) return;
      this.output.warn(`daemon event stream lost: ${err.message}`);
      engine.forgetDaemon();
      this.setState({
        kind: 'unreachable',
        reason: `the daemon at ${engine.runtime.endpoint.host} stopped answering: ${err.message}`,
      });
    });
    w.on('connected', () => {
      if (this.disposed) return;
      if (this.state.kind === 'unreachable') {
        this.output.info('daemon event stream back; refreshing');
        void this.refresh();
      }
    });
    w.start();
  }

  private onEvent(ev: DockerEvent): void {
    if (ev.type === 'image') {
      this.images = null;
      this.layerReports.clear();
      void this.refreshImages();
      return;
    }
    const relevant = ['start', 'die', 'destroy', 'pause', 'unpause', 'rename', 'update', 'oom', 'kill', 'restart', 'create'];
    if (!relevant.includes(ev.action)) return;
    if (ev.action === 'oom') {
      const known = this.snapshot?.containers.find((c) => c.id === ev.id)?.name;
      this.oomWatch.event(ev.id, truncate(printable(known ?? (ev.name || ev.id.slice(0, 12))), 128));
    }
    if (ev.action === 'destroy') this.oomWatch.forget(ev.id);
    this.pendingIds.add(ev.id);
    // Events arrive in bursts (kill, die, stop, destroy): gather them for a moment, then re-read only those.
    if (!this.pendingTimer) this.pendingTimer = setTimeout(() => void this.flushPending(), 150);
  }

  private async flushPending(): Promise<void> {
    this.pendingTimer = null;
    const ids = [...this.pendingIds];
    this.pendingIds.clear();
    if (ids.length === 0) return;
    await this.refreshContainers(ids);
  }

  /** Re-reads only the given containers and merges them into the snapshot (the rest stays as it was). */
  async refreshContainers(ids: string[]): Promise<void> {
    try {
      const engine = await this.engine();
      const part = await engine.snapshot({ containers: ids });
      const base = this.snapshot;
      if (!base) {
        await this.refresh();
        return;
      }
      const fresh = new Map(part.containers.map((c) => [c.id, c]));
      const keep = base.containers.filter((c) => !ids.includes(c.id));
      const merged: ContainerSnapshot[] = [
        ...keep,
        ...ids.map((id) => fresh.get(id)).filter((c): c is ContainerSnapshot => c !== undefined),
      ];
      merged.sort((a, b) => a.name.localeCompare(b.name));
      // The host's namespaces are in the fresh part's groups: regroup them with every container.
      const hostInodes = Object.fromEntries(NAMESPACE_TYPES.map((t) => [t, null])) as NamespaceInodes;
      for (const g of part.namespaceGroups) if (g.members.includes(HOST_MEMBER)) hostInodes[g.type] = g.inode;
      this.snapshot = {
        ...part,
        containers: merged,
        namespaceGroups: groupNamespaces(hostInodes, merged),
        pods: groupPods(merged),
        errors: part.errors.filter((e) => e.field !== 'containers'),
      };
      this.oomWatch.observe(part.containers);
      for (const id of ids) this.layerReports.delete(`c:${id}`);
      if (this.state.kind !== 'ready') this.setState({ kind: 'ready' });
      this.changed.fire({ snapshot: true });
    } catch (err) {
      this.failed(err);
    }
  }

  /** Containers a live view has just read again (a dashboard's sample): an OOM kill since the last look is told. */
  observed(containers: readonly ContainerSnapshot[]): void {
    this.oomWatch.observe(containers);
  }

  /**
   * The images, read now only if they are not at hand: after an image event cleared them, their re-read (or
   * the refresh under way) is awaited, never a whole new snapshot. Empty when the daemon cannot be read.
   */
  async imagesNow(): Promise<ImageFacts[]> {
    if (this.images) return this.images;
    if (this.refreshing) await this.refreshing;
    if (!this.images) await this.refreshImages();
    return this.images ?? [];
  }

  private async refreshImages(): Promise<void> {
    try {
      const engine = await this.engine();
      this.images = await engine.images();
      this.changed.fire({ images: true });
    } catch (err) {
      this.failed(err);
    }
  }

  /** A container's or image's layer report; container reports are re-read after the container changes. */
  layers(
    ref: string,
    opts: { container?: boolean; fresh?: boolean; signal?: AbortSignal; onProgress?: (m: string) => void } = {},
  ): Promise<LayerReport> {
    const key = `${opts.container ? 'c' : 'i'}:${ref}`;
    if (opts.fresh) this.layerReports.delete(key);
    let p = this.layerReports.get(key);
    if (!p) {
      p = this.engine().then((e) => e.layers(ref, { signal: opts.signal, onProgress: opts.onProgress }));
      this.layerReports.set(key, p);
      p.catch(() => this.layerReports.delete(key));
    }
    return p;
  }

  /** A container's network namespace, read now (interfaces, routes, listening sockets, veth peers). */
  async network(id: string): Promise<NetworkInfo | null> {
    const snap = await (await this.engine()).snapshot({ containers: [id], network: true });
    return snap.containers.find((c) => c.id === id)?.network ?? null;
  }

  /**
   * Marks a view as visible or hidden. While at least one is visible the snapshot's live figures refresh
   * every `refreshInterval` seconds; when none is, nothing polls.
   */
  setVisible(viewId: string, visible: boolean): void {
    if (visible) this.visible.add(viewId);
    else this.visible.delete(viewId);
    this.schedulePeriodic();
  }

  schedulePeriodic(): void {
    if (this.periodic) clearInterval(this.periodic);
    this.periodic = null;
    const seconds = readSettings().refreshInterval;
    if (this.visible.size === 0 || seconds <= 0 || this.disposed) return;
    this.periodic = setInterval(() => {
      if (this.state.kind === 'ready' && this.snapshot) void this.refreshContainers(this.snapshot.containers.map((c) => c.id));
    }, seconds * 1000);
  }

  dispose(): void {
    this.disposed = true;
    this.settingsListener.dispose();
    void this.engineP?.then((e) => e.dispose()).catch(() => undefined);
    this.watcher?.stop();
    if (this.periodic) clearInterval(this.periodic);
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.changed.dispose();
    this.oomFired.dispose();
  }
}
