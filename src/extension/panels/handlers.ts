// What each panel does with its view's commands and requests. Kept free of the editor so that a test can
// check that every table covers its scope; Panels supplies the editor side through PanelHost.
import type { LayerChange } from '../../shared/model';
import type { DashboardProtocol, GraphProtocol, Handlers, LayersProtocol, VmProtocol } from '../../shared/protocol';

/** What the panels can do for any view. */
export interface PanelHost {
  refresh(): Promise<void>;
  showDashboard(containerId: string): Promise<void>;
  showLayers(ref: string, opts: { container: true; layer: number | 'upper' | null }): Promise<void>;
  copyText(text: string): PromiseLike<void>;
  revealUpperDir(containerId: string): PromiseLike<unknown>;
}

/** What one panel does for its own view: push its state again. */
export interface ViewHost {
  push(): void;
}

export function graphHandlers(host: PanelHost, view: ViewHost): Handlers<GraphProtocol> {
  return {
    commands: {
      ready: () => view.push(),
      retry: () => host.refresh(),
      openDashboard: ({ containerId }) => host.showDashboard(containerId),
    },
    requests: {},
  };
}

export function vmHandlers(host: PanelHost, view: ViewHost): Handlers<VmProtocol> {
  return {
    commands: {
      ready: () => view.push(),
      retry: () => host.refresh(),
      openDashboard: ({ containerId }) => host.showDashboard(containerId),
    },
    requests: {},
  };
}

export function dashboardHandlers(host: PanelHost, view: ViewHost & { retry(): Promise<void> }): Handlers<DashboardProtocol> {
  return {
    commands: {
      ready: () => view.push(),
      retry: () => view.retry(),
      openLayers: ({ ref, layer }) => host.showLayers(ref, { container: true, layer }),
      revealUpperDir: ({ containerId }) => host.revealUpperDir(containerId),
      copyText: ({ text }) => host.copyText(text),
    },
    requests: {},
  };
}

export function layersHandlers(
  host: PanelHost,
  view: ViewHost & { retry(): Promise<void>; cancel(): void; changes(layer: number | 'upper'): Promise<LayerChange[]> },
): Handlers<LayersProtocol> {
  return {
    commands: {
      ready: () => view.push(),
      retry: () => view.retry(),
      cancel: () => view.cancel(),
      copyText: ({ text }) => host.copyText(text),
    },
    requests: {
      'layers/changes': async ({ layer }) => ({ changes: await view.changes(layer) }),
    },
  };
}
