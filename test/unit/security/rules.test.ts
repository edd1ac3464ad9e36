// The rules file of `container-xray audit --rules FILE` (the CIS ids that gate), and which gating rules a
// container fails.
import * as assert from 'node:assert/strict';
import { CIS_RULE_IDS } from '../../../src/core/security/cis';
import { failedRules, parseAuditRules } from '../../../src/core/security/rules';
import type { CisVerdict, SecurityPosture } from '../../../src/shared/model';
import { Parsed } from '../../../src/core/util/result';

function value<T>(r: Parsed<T>): T {
  if (!r.ok) assert.fail(`expected a value, got error: ${r.error}`);
  return r.value;
}

function error<T>(r: Parsed<T>): string {
  if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('security/rules', () => {
  describe('parseAuditRules', () => {
    it('reads one id a line, in the order given', () => {
      assert.deepEqual(value(parseAuditRules('5.4\n5.31\n5.1\n')), ['5.4', '5.31', '5.1']);
      assert.deepEqual(value(parseAuditRules('5.10')), ['5.10']);
    });

    it('ignores comments and blank lines, and reads YAML list items, a CIS prefix and quotes', () => {
      const text = [
        '# gate on privilege and the socket',
        '',
        '5.4   # privileged',
        '- 5.31',
        '  -   CIS 5.21  ',
        'cis 5.25',
        '- "5.9"',
        "'5.15'",
        '-5.17',
        '   ',
        '#5.1',
      ].join('\n');
      assert.deepEqual(value(parseAuditRules(text)), ['5.4', '5.31', '5.21', '5.25', '5.9', '5.15', '5.17']);
    });

    it('reads CRLF line ends', () => {
      assert.deepEqual(value(parseAuditRules('5.4\r\n- 5.31\r\n# x\r\n')), ['5.4', '5.31']);
    });

    it('keeps a duplicate once, where it first came', () => {
      assert.deepEqual(value(parseAuditRules('5.31\n5.4\nCIS 5.31\n- 5.4\n')), ['5.31', '5.4']);
    });

    it('fails on an id the tool does not decide, naming the line and the rules it decides', () => {
      const e = error(parseAuditRules('5.4\n# ok\n5.6\n'));
      assert.match(e, /^line 3: "5\.6" is not a rule this tool decides/);
      assert.ok(e.includes(CIS_RULE_IDS.join(', ')));
      assert.match(error(parseAuditRules('5.4.1')), /^line 1: "5\.4\.1"/);
      assert.match(error(parseAuditRules('rules:\n  - 5.4\n')), /^line 1: "rules:"/);
      assert.match(error(parseAuditRules('5.4\r\nfive\r\n')), /^line 2: "five"/);
      // A hostile line is quoted printable and bounded.
      const hostile = error(parseAuditRules(`\u001b[2J${'x'.repeat(500)}`));
      assert.doesNotMatch(hostile, /\u001b/);
      assert.ok(hostile.length < 400, `${hostile.length}`);
    });

    it('fails on a file that names no rule', () => {
      assert.match(error(parseAuditRules('')), /names no rule/);
      assert.match(error(parseAuditRules('\n\n   \n')), /names no rule/);
      assert.match(error(parseAuditRules('# nothing\r\n# at all\r\n')), /names no rule/);
    });

    it('reads every rule it decides', () => {
      assert.deepEqual(value(parseAuditRules(CIS_RULE_IDS.join('\n'))), [...CIS_RULE_IDS]);
    });
  });

  describe('failedRules', () => {
    const verdicts: CisVerdict[] = [
      { id: '5.1', title: 't', status: 'pass', evidence: 'e' },
      { id: '5.4', title: 't', status: 'fail', evidence: 'e' },
      { id: '5.9', title: 't', status: 'unknown', evidence: 'e' },
      { id: '5.25', title: 't', status: 'fail', evidence: 'e' },
      { id: '5.31', title: 't', status: 'fail', evidence: 'e' },
    ];
    const c = { security: { verdicts } as SecurityPosture };

    it('gives the gating rules that fail, in verdict order', () => {
      assert.deepEqual(failedRules(c, ['5.31', '5.4', '5.1']), ['5.4', '5.31']);
      assert.deepEqual(failedRules(c, [...CIS_RULE_IDS]), ['5.4', '5.25', '5.31']);
    });

    it('ignores unknown verdicts and rules that do not gate', () => {
      assert.deepEqual(failedRules(c, ['5.9']), []);
      assert.deepEqual(failedRules(c, ['5.1', '5.9']), []);
      assert.deepEqual(failedRules(c, []), []);
    });

    it('fails nothing for a container without a posture', () => {
      assert.deepEqual(failedRules({ security: null }, [...CIS_RULE_IDS]), []);
    });
  });
});
