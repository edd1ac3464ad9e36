import * as assert from 'node:assert/strict';
import {
  cpuFraction,
  cpuSeries,
  formatBytes,
  formatCpus,
  formatDurationNs,
  formatPercent,
  shortenCreatedBy,
} from '../../../webview/lib/format';

describe('webview formatting', () => {
  it('formats bytes, percentages, CPUs and durations the way the views show them', () => {
    assert.equal(formatBytes(64 * 1024 * 1024), '64.0 MiB');
    assert.equal(formatBytes(Math.round(3.1 * 1024 * 1024)), '3.1 MiB');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(null), '—');
    assert.equal(formatPercent(0.8123), '81.2 %');
    assert.equal(formatCpus(0.5), '0.5 CPUs');
    assert.equal(formatCpus(1), '1 CPU');
    assert.equal(formatCpus(1.333333), '1.33 CPUs');
    assert.equal(formatDurationNs(86_000_000), '86.0 ms');
    assert.equal(formatDurationNs(1_520_000_000), '1.5 s');
  });

  it('computes CPU use from the delta of cumulative usage (1.0 = one CPU)', () => {
    assert.equal(cpuFraction({ t: 0, cpuUsageNs: 1e9 }, { t: 1000, cpuUsageNs: 1.5e9 }), 0.5);
    assert.equal(cpuFraction({ t: 0, cpuUsageNs: 0 }, { t: 2000, cpuUsageNs: 4e9 }), 2);
    assert.equal(cpuFraction({ t: 0, cpuUsageNs: null }, { t: 1000, cpuUsageNs: 1e9 }), null);
    assert.equal(cpuFraction({ t: 1000, cpuUsageNs: 0 }, { t: 1000, cpuUsageNs: 1e9 }), null, 'no time passed');
    assert.equal(cpuFraction({ t: 0, cpuUsageNs: 5e9 }, { t: 1000, cpuUsageNs: 1e9 }), null, 'a counter reset');
    assert.deepEqual(
      cpuSeries([
        { t: 0, cpuUsageNs: 0 },
        { t: 1000, cpuUsageNs: 2.5e8 },
        { t: 2000, cpuUsageNs: 7.5e8 },
      ]).map((p) => p.value),
      [0.25, 0.5],
    );
  });

  it('shortens history entries and makes control characters visible', () => {
    assert.equal(shortenCreatedBy('/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]'), 'CMD ["nginx" "-g" "daemon off;"]');
    assert.equal(shortenCreatedBy('/bin/sh -c apk add curl'), 'RUN apk add curl');
    assert.equal(shortenCreatedBy('RUN |2 A=1 B=2 /bin/sh -c make # buildkit'), 'RUN make');
    assert.equal(shortenCreatedBy('RUN /bin/sh -c rm -rf /tmp # buildkit'), 'RUN rm -rf /tmp');
    assert.equal(shortenCreatedBy('COPY a\u001b[31m /b'), 'COPY a\\x1b[31m /b');
  });
});
