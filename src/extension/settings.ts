import * as vscode from 'vscode';
import type { EfficiencyRules } from '../shared/model';
import { XraySettings, settingsFrom } from './settingsReader';

export type { XraySettings };

export function readSettings(): XraySettings {
  return settingsFrom(vscode.workspace.getConfiguration('containerXray'));
}

/** Settings that change how the engine reads host files (a change makes a new engine, as dockerHost does). */
export const ACCESS_SETTINGS = ['containerXray.runtime', 'containerXray.access', 'containerXray.helperImage'];

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
