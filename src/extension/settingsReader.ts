// The extension's settings, read from a configuration object (no `vscode` at run time, so it is unit-tested).
// Settings that decide what runs with root's rights or where the engine connects are machine-scoped: a
// repository's .vscode/settings.json must not pick the helper image, the access mode or the daemon.
// package.json gives them "scope": "machine", and they are read here from the user's (or the remote
// machine's) settings only, so a workspace value is ignored even where an editor would apply it.
import type { WorkspaceConfiguration } from 'vscode';

/** The settings (under containerXray.) that only the user's own settings may set. */
export const MACHINE_SETTINGS = ['dockerHost', 'runtime', 'access', 'helperImage'] as const;

export type MachineSetting = (typeof MACHINE_SETTINGS)[number];

/** The user's value of a machine-scoped setting, else its default: workspace and folder values never count. */
export function machineValue<T>(config: Pick<WorkspaceConfiguration, 'inspect'>, key: MachineSetting, fallback: T): T {
  const i = config.inspect<T>(key);
  return i?.globalValue ?? i?.defaultValue ?? fallback;
}

/** Which machine-scoped settings a workspace or folder tried to set (they are ignored; the log says so). */
export function ignoredWorkspaceValues(config: Pick<WorkspaceConfiguration, 'inspect'>): MachineSetting[] {
  return MACHINE_SETTINGS.filter((key) => {
    const i = config.inspect(key);
    return i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined;
  });
}

export interface XraySettings {
  /** Seconds between refreshes of live figures while a view is visible; 0 = only on docker events. */
  refreshInterval: number;
  /** Milliseconds between dashboard samples while it is visible. */
  dashboardInterval: number;
  dockerHost: string;
  /** The runtime the endpoint serves: detected (auto), or forced. */
  runtime: 'auto' | 'docker' | 'podman';
  /** How host files are read: auto, direct, or through a helper container. */
  access: 'auto' | 'direct' | 'helper';
  /** The helper container's image; empty: an official busybox, alpine, debian or ubuntu image by exact name. */
  helperImage: string;
  rules: { lowestEfficiency: string; highestWastedBytes: string; highestUserWastedPercent: string };
}

/** The settings from a configuration; the machine-scoped ones from the user's settings only. */
export function settingsFrom(c: Pick<WorkspaceConfiguration, 'get' | 'inspect'>): XraySettings {
  return {
    refreshInterval: Math.max(0, c.get<number>('refreshInterval', 5)),
    dashboardInterval: Math.max(250, c.get<number>('dashboardInterval', 1000)),
    dockerHost: String(machineValue<string>(c, 'dockerHost', '')).trim(),
    runtime: runtimeSetting(String(machineValue<string>(c, 'runtime', 'auto'))),
    access: accessSetting(String(machineValue<string>(c, 'access', 'auto'))),
    helperImage: String(machineValue<string>(c, 'helperImage', '')).trim(),
    rules: {
      lowestEfficiency: String(c.get<string | number>('efficiency.lowestEfficiency', '0.9')),
      highestWastedBytes: String(c.get<string | number>('efficiency.highestWastedBytes', 'disabled')),
      highestUserWastedPercent: String(c.get<string | number>('efficiency.highestUserWastedPercent', '0.1')),
    },
  };
}

function runtimeSetting(value: string): XraySettings['runtime'] {
  return value === 'docker' || value === 'podman' ? value : 'auto';
}

function accessSetting(value: string): XraySettings['access'] {
  return value === 'direct' || value === 'helper' ? value : 'auto';
}
