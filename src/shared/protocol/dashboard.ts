// A container dashboard's scope: the container, its usage history and namespace groups; from it the user
// opens the container's layers, reveals its writable layer or copies a value.
import type { ContainerSnapshot, NamespaceGroup } from '../model';
import {
  BaseCommands,
  BaseNotifications,
  Scope,
  baseCommands,
  baseNotifications,
  either,
  fields,
  index,
  literal,
  nothing,
  text,
} from './ipc';

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
  /** Pressure stall information, `some` avg10 in percent (cgroup v2 with PSI); null where not read. */
  cpuPressure: number | null;
  memoryPressure: number | null;
  ioPressure: number | null;
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

export interface DashboardProtocol {
  commands: BaseCommands & {
    /** The layer to open first: an index, `upper` for the writable layer, or null for the top. */
    openLayers: { ref: string; layer: number | 'upper' | null };
    revealUpperDir: { containerId: string };
    copyText: { text: string };
  };
  requests: Record<never, never>;
  notifications: BaseNotifications & {
    'state/dashboard': DashboardState;
  };
}

export const dashboardScope: Scope<DashboardProtocol> = {
  view: 'dashboard',
  commands: {
    ...baseCommands,
    openLayers: fields({
      ref: text(4096),
      layer: either(either(index, literal('upper'), 'a layer'), nothing, 'a layer index, "upper" or null'),
    }),
    revealUpperDir: fields({ containerId: text(4096) }),
    copyText: fields({ text: text(1 << 20, { empty: true }) }),
  },
  requests: {},
  notifications: { ...baseNotifications, 'state/dashboard': true },
};
