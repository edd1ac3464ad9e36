import * as assert from 'node:assert/strict';
import { NO_RULES, evaluateRules, parseDiveCi, parseRuleValue } from '../../../src/core/ci/rules';
import { formatBytes, parseSize } from '../../../src/shared/format';
import type { LayerReport } from '../../../src/shared/model';

const report = (efficiency: number, wastedBytes: number, userWastedPercent: number): LayerReport => ({
  image: { id: 'sha256:x', tags: ['app:1'], ref: 'app:1' },
  container: null,
  layers: [],
  metadataBelow: [],
  upper: null,
  efficiency,
  wastedBytes,
  userWastedPercent,
  sizeBytes: 0,
  userSizeBytes: 0,
  inefficiencies: [],
  errors: [],
});

describe("dive's CI rules", () => {
  it('reads a .dive-ci file with comments, sizes and disabled rules', () => {
    const r = parseDiveCi(
      'rules:\n  # at least 95 %\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB # SI\n  highestUserWastedPercent: disabled\nother: x\n',
    );
    assert.deepEqual(r, { ok: true, value: { lowestEfficiency: 0.95, highestWastedBytes: 20_000_000, highestUserWastedPercent: null } });
    assert.equal(parseDiveCi('rules:\n  lowestEfficency: 0.9\n').ok, false, 'a misspelt rule is an error, not ignored');
  });

  it('parses sizes as dive does: SI for MB, binary for MiB', () => {
    assert.equal(parseSize('20MB'), 20_000_000);
    assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
    assert.equal(parseSize('2048'), 2048);
    assert.equal(parseSize('lots'), null);
    assert.deepEqual(parseRuleValue('lowestEfficiency', '1.5'), {
      ok: false,
      error: 'lowestEfficiency: 1.5 is above 1 (a ratio between 0 and 1)',
    });
  });

  it('fails below the lowest efficiency and above the highest waste, passes on the boundary', () => {
    const rules = { lowestEfficiency: 0.9, highestWastedBytes: 1000, highestUserWastedPercent: 0.1 };
    const ok = evaluateRules(report(0.9, 1000, 0.1), rules);
    assert.equal(ok.passed, true);
    const bad = evaluateRules(report(0.89, 1001, 0.11), rules);
    assert.equal(bad.passed, false);
    assert.deepEqual(
      bad.results.map((r) => r.passed),
      [false, false, false],
    );
    assert.match(bad.results[1].message, new RegExp(`wasted ${formatBytes(1001)} is above the highest allowed`));
    assert.deepEqual(evaluateRules(report(0.1, 1e9, 5), NO_RULES).results, [], 'no rules, nothing to fail');
  });
});
