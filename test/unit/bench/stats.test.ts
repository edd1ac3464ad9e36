import * as assert from 'node:assert/strict';
import { describeTarget, dropWarmup, formatMs, formatRatio, judge, mdCell, median, summarize } from '../../../bench/lib/stats';

describe('bench statistics', () => {
  it('takes the median of odd and even counts without reordering the input', () => {
    const odd = [5, 1, 3];
    assert.equal(median(odd), 3);
    assert.deepEqual(odd, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.throws(() => median([]));
  });

  it('summarises median, min, max and the number of runs', () => {
    assert.deepEqual(summarize([10, 30, 20, 40, 50]), { median: 30, min: 10, max: 50, runs: 5 });
  });

  it('drops the warm-up run and refuses a series that is only warm-up', () => {
    assert.deepEqual(dropWarmup([100, 1, 2]), [1, 2]);
    assert.throws(() => dropWarmup([100]));
  });

  it('judges "within", "faster" and "below" targets on medians', () => {
    assert.deepEqual(judge(150, { kind: 'within', factor: 1.5 }, 100), { met: true, ratio: 1.5 });
    assert.equal(judge(151, { kind: 'within', factor: 1.5 }, 100).met, false);
    assert.deepEqual(judge(100, { kind: 'faster', factor: 15 }, 1500), { met: true, ratio: 15 });
    assert.equal(judge(101, { kind: 'faster', factor: 15 }, 1500).met, false);
    assert.deepEqual(judge(29.9, { kind: 'below', limit: 30, unit: 'ms CPU' }), { met: true, ratio: null });
    assert.equal(judge(30, { kind: 'below', limit: 30, unit: 'ms CPU' }).met, false);
    assert.throws(() => judge(1, { kind: 'within', factor: 2 }));
  });

  it('formats times, ratios, targets and table cells for the README', () => {
    assert.equal(formatMs(3.14159), '3.14 ms');
    assert.equal(formatMs(31.4159), '31.4 ms');
    assert.equal(formatMs(314.159), '314 ms');
    assert.equal(formatMs(31415.9), '31.4 s');
    assert.equal(formatRatio(1.234), '1.23×');
    assert.equal(formatRatio(12.34), '12.3×');
    assert.equal(describeTarget({ kind: 'faster', factor: 10 }), '≥ 10× faster');
    assert.equal(mdCell('docker save | tar -t'), 'docker save \\| tar -t');
  });
});
