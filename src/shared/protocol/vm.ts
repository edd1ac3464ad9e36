// The Container vs VM view's scope: the host's facts and the containers drawn on its kernel; a click on a
// container opens its dashboard.
import type { HostFacts } from '../model';
import { BaseCommands, BaseNotifications, Scope, baseCommands, baseNotifications, fields, text } from './ipc';

export interface VmState {
  host: HostFacts;
  containers: { id: string; name: string; image: string; pid: number | null }[];
  /** The Containers view's filter, when one is set: `containers` are those it lets through, of `total`. */
  filter?: { text: string; total: number };
}

export interface VmProtocol {
  commands: BaseCommands & {
    openDashboard: { containerId: string };
  };
  requests: Record<never, never>;
  notifications: BaseNotifications & {
    'state/vm': VmState;
  };
}

export const vmScope: Scope<VmProtocol> = {
  view: 'vm',
  commands: { ...baseCommands, openDashboard: fields({ containerId: text(4096) }) },
  requests: {},
  notifications: { ...baseNotifications, 'state/vm': true },
};
