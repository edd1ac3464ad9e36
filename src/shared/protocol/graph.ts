// The namespace graph's scope: the snapshot (without process lists) and the containers to emphasise; a
// container in the graph or the matrix opens its dashboard.
import type { Snapshot } from '../model';
import { BaseCommands, BaseNotifications, Scope, baseCommands, baseNotifications, fields, text } from './ipc';

/** What the namespace graph needs: the snapshot without process lists. */
export interface GraphState {
  snapshot: Snapshot;
  /** Container ids to emphasise (Compare Namespaces of Two Containers). */
  focus: string[];
}

export interface GraphProtocol {
  commands: BaseCommands & {
    openDashboard: { containerId: string };
  };
  requests: Record<never, never>;
  notifications: BaseNotifications & {
    'state/graph': GraphState;
  };
}

export const graphScope: Scope<GraphProtocol> = {
  view: 'graph',
  commands: { ...baseCommands, openDashboard: fields({ containerId: text(4096) }) },
  requests: {},
  notifications: { ...baseNotifications, 'state/graph': true },
};
