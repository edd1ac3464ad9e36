// The webview protocol: one scope per view, on the shared shapes of ipc.ts.
import { DashboardProtocol, dashboardScope } from './dashboard';
import { GraphProtocol, graphScope } from './graph';
import type { Protocol, Scope, ViewKind } from './ipc';
import { LayersProtocol, layersScope } from './layers';
import { VmProtocol, vmScope } from './vm';

export * from './ipc';
export * from './graph';
export * from './dashboard';
export * from './layers';
export * from './vm';

/** Each view's protocol by its kind. */
export interface Protocols extends Record<ViewKind, Protocol> {
  graph: GraphProtocol;
  dashboard: DashboardProtocol;
  layers: LayersProtocol;
  vm: VmProtocol;
}

/** Each view's scope by its kind. */
export const scopes: { [K in ViewKind]: Scope<Protocols[K]> } = {
  graph: graphScope,
  dashboard: dashboardScope,
  layers: layersScope,
  vm: vmScope,
};
