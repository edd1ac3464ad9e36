import { EfficiencyRules, EfficiencyVerdict, LayerReport, RuleResult } from '../../shared/model';
import { formatBytes, formatPercent, parseSize } from '../../shared/format';
import { Parsed, fail, ok } from '../util/result';

export const NO_RULES: EfficiencyRules = { lowestEfficiency: null, highestWastedBytes: null, highestUserWastedPercent: null };

/** One of dive's three rule names (own keys only: `constructor` or `toString` are not rules). */
export function isRule(key: string): key is keyof EfficiencyRules {
  return Object.prototype.hasOwnProperty.call(NO_RULES, key);
}

/** Parses a rule value: a ratio (0–1), a size (`20MB`, `1.5GiB`, bytes), or `disabled`. */
export function parseRuleValue(rule: keyof EfficiencyRules, text: string): Parsed<number | null> {
  const t = text.trim().replace(/^["']|["']$/g, '');
  if (t === '' || t.toLowerCase() === 'disabled') return ok(null);
  if (rule === 'highestWastedBytes') {
    const n = parseSize(t);
    return n === null ? fail(`${rule}: "${t}" is not a size (like 20MB, 1.5GiB or 2048)`) : ok(n);
  }
  const n = Number(t);
  if (!Number.isFinite(n) || n < 0) return fail(`${rule}: "${t}" is not a ratio (like 0.9)`);
  if (n > 1 && rule === 'lowestEfficiency') return fail(`${rule}: ${n} is above 1 (a ratio between 0 and 1)`);
  return ok(n);
}

/**
 * Reads dive's `.dive-ci` file: a YAML mapping `rules:` with lowestEfficiency, highestWastedBytes and
 * highestUserWastedPercent. Only that shape is accepted (no YAML library needed for three scalars).
 */
export function parseDiveCi(text: string): Parsed<EfficiencyRules> {
  const rules: EfficiencyRules = { ...NO_RULES };
  let inRules = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    if (/^rules\s*:\s*$/.test(line)) {
      inRules = true;
      continue;
    }
    const m = /^(\s*)([A-Za-z]+)\s*:\s*(.*)$/.exec(line);
    if (!m) return fail(`.dive-ci line ${i + 1}: cannot read ${JSON.stringify(raw)}`);
    if (m[1] === '') {
      inRules = false;
      continue;
    }
    if (!inRules) continue;
    const key = m[2] as keyof EfficiencyRules;
    if (!isRule(key)) return fail(`.dive-ci line ${i + 1}: unknown rule "${m[2]}"`);
    const v = parseRuleValue(key, m[3]);
    if (!v.ok) return fail(`.dive-ci line ${i + 1}: ${v.error}`);
    rules[key] = v.value;
  }
  return ok(rules);
}

/** Applies dive's rules: efficiency below the lowest fails; wasted bytes or user-wasted ratio above the highest fails. */
export function evaluateRules(report: LayerReport, rules: EfficiencyRules): EfficiencyVerdict {
  const results: RuleResult[] = [];
  if (rules.lowestEfficiency !== null) {
    const passed = report.efficiency >= rules.lowestEfficiency;
    results.push({
      rule: 'lowestEfficiency',
      limit: rules.lowestEfficiency,
      actual: report.efficiency,
      passed,
      message: `efficiency ${formatPercent(report.efficiency)} ${passed ? 'is at or above' : 'is below'} the lowest allowed ${formatPercent(rules.lowestEfficiency)}`,
    });
  }
  if (rules.highestWastedBytes !== null) {
    const passed = report.wastedBytes <= rules.highestWastedBytes;
    results.push({
      rule: 'highestWastedBytes',
      limit: rules.highestWastedBytes,
      actual: report.wastedBytes,
      passed,
      message: `wasted ${formatBytes(report.wastedBytes)} ${passed ? 'is within' : 'is above'} the highest allowed ${formatBytes(rules.highestWastedBytes)}`,
    });
  }
  if (rules.highestUserWastedPercent !== null) {
    const passed = report.userWastedPercent <= rules.highestUserWastedPercent;
    results.push({
      rule: 'highestUserWastedPercent',
      limit: rules.highestUserWastedPercent,
      actual: report.userWastedPercent,
      passed,
      message: `user-wasted ${formatPercent(report.userWastedPercent)} ${passed ? 'is within' : 'is above'} the highest allowed ${formatPercent(rules.highestUserWastedPercent)}`,
    });
  }
  return {
    image: report.image.tags[0] ?? report.image.id,
    passed: results.every((r) => r.passed),
    results,
    efficiency: report.efficiency,
    wastedBytes: report.wastedBytes,
    userWastedPercent: report.userWastedPercent,
  };
}
