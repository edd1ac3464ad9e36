import * as vscode from 'vscode';
import type { EfficiencyRules } from '../shared/model';

export interface XraySettings {
  /** Seconds between refreshes of live figures while a view is visible; 0 = only on docker events. */
  refreshInterval: number;
  /** Milliseconds between dashboard samples while it is visible. */
  dashboardInterval: number;
  dockerHost: string;
  /** How host files are read: auto, direct, or through a helper container. */
  access: 'auto' | 'direct' | 'helper';
  /** The helper container's image; empty: a suitable local image. */
  helperImage: string;
  rules: { lowestEfficiency: string; highestWastedBytes: string; highestUserWastedPercent: string };
}

export function readSettings(): XraySettings {
  const c = vscode.workspace.getConfiguration('containerXray');
  return {
    refreshInterval: Math.max(0, c.get<number>('refreshInterval', 5)),
    dashboardInterval: Math.max(250, c.get<number>('dashboardInterval', 1000)),
    dockerHost: c.get<string>('dockerHost', '').trim(),
    access: accessSetting(c.get<string>('access', 'auto')),
    helperImage: c.get<string>('helperImage', '').trim(),
    rules: {
      lowestEfficiency: String(c.get<string | number>('efficiency.lowestEfficiency', '0.9')),
      highestWastedBytes: String(c.get<string | number>('efficiency.highestWastedBytes', 'disabled')),
      highestUserWastedPercent: String(c.get<string | number>('efficiency.highestUserWastedPercent', '0.1')),
    },
  };
}

/** Settings that change how the engine reads host files (a change makes a new engine, as dockerHost does). */
export const ACCESS_SETTINGS = ['containerXray.access', 'containerXray.helperImage'];

function accessSetting(value: string): XraySettings['access'] {
  return value === 'direct' || value === 'helper' ? value : 'auto';
}

/** The efficiency rules from the settings, parsed with the engine's parser (dive's syntax). */
export function rulesFromSettings(
  parse: (rule: keyof EfficiencyRules, text: string) => { ok: true; value: number | null } | { ok: false; error: string },
): {
  rules: EfficiencyRules;
  errors: string[];
} {
  const s = readSettings().rules;
  const rules: EfficiencyRules = { lowestEfficiency: null, highestWastedBytes: null, highestUserWastedPercent: null };
  const errors: string[] = [];
  for (const key of Object.keys(rules) as (keyof EfficiencyRules)[]) {
    const r = parse(key, s[key]);
    if (r.ok) rules[key] = r.value;
    else errors.push(`containerXray.efficiency.${key}: ${r.error}`);
  }
  return { rules, errors };
}
