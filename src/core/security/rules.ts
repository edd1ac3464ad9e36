// Which CIS verdicts gate `container-xray audit`: a rules file of recommendation ids.
import { ContainerSnapshot } from '../../shared/model';
import { Parsed, fail, ok, quoteInput } from '../util/result';
import { CIS_RULE_IDS } from './cis';

/**
 * Parses a rules file: one recommendation id per line (`5.4`, optionally as a YAML list item `- 5.4` or with
 * a `CIS ` prefix), `#` comments and blank lines ignored. An id the engine does not decide is an error.
 */
export function parseAuditRules(text: string): Parsed<string[]> {
  const ids: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*$/, '').trim();
    if (line === '') continue;
    const id = line
      .replace(/^-\s*/, '')
      .replace(/^cis\s+/i, '')
      .replace(/^["']|["']$/g, '')
      .trim();
    if (!CIS_RULE_IDS.includes(id))
      return fail(`line ${i + 1}: ${quoteInput(line)} is not a rule this tool decides (${CIS_RULE_IDS.join(', ')})`);
    if (!ids.includes(id)) ids.push(id);
  }
  if (ids.length === 0) return fail('names no rule');
  return ok(ids);
}

/** The gating rules a container fails (status `fail`); unknown verdicts do not fail a gate. */
export function failedRules(c: Pick<ContainerSnapshot, 'security'>, rules: readonly string[]): string[] {
  return (c.security?.verdicts ?? []).filter((v) => v.status === 'fail' && rules.includes(v.id)).map((v) => v.id);
}
