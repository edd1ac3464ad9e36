// The results: rows of the README table, every measurement with its samples, the machine, and notes.
import type { Measurement } from './measure';
import { Target, describeTarget, formatMB, formatMs, formatRatio, judge, mdCell } from './stats';
import type { MachineInfo } from './machine';

export type Met = 'PASS' | 'MISS' | '—' | 'not measured yet' | 'ERROR';

export interface Row {
  scenario: string;
  measure: string;
  median: string;
  anchor: string;
  anchorMedian: string;
  ratio: string;
  target: string;
  met: Met;
}

export interface Results {
  machine: MachineInfo;
  options: Record<string, unknown>;
  rows: Row[];
  measurements: Record<string, Measurement>;
  notes: Record<string, string[]>;
}

/** Collects what the scenarios measured. */
export class Recorder {
  readonly rows: Row[] = [];
  readonly measurements: Record<string, Measurement> = {};
  readonly notes: Record<string, string[]> = {};

  keep(key: string, m: Measurement): Measurement {
    this.measurements[key] = m;
    return m;
  }

  note(scenario: string, text: string): void {
    (this.notes[scenario] ??= []).push(text);
  }

  row(r: Row): void {
    this.rows.push(r);
  }

  /**
   * A measure against an anchor and a target, on medians. `value`/`anchorValue` default to the wall-time
   * medians; `speedup` shows the ratio as "N× faster" (anchor/value) rather than value/anchor.
   */
  compare(
    scenario: string,
    measure: string,
    value: number,
    anchor: { label: string; value: number } | null,
    target: Target | null,
    format: (v: number) => string = formatMs,
  ): void {
    let ratio = '—';
    let met: Met = '—';
    if (target) {
      const j = judge(value, target, anchor?.value);
      met = j.met ? 'PASS' : 'MISS';
      if (j.ratio !== null) {
        if (target.kind !== 'faster') ratio = formatRatio(j.ratio);
        else ratio = j.ratio >= 1 ? `${formatRatio(j.ratio)} faster` : `${formatRatio(1 / j.ratio)} slower`;
      }
    } else if (anchor && anchor.value > 0) {
      const r = value / anchor.value;
      ratio = r >= 1 ? formatRatio(r) : `${formatRatio(1 / r)} faster`;
    }
    this.row({
      scenario,
      measure,
      median: format(value),
      anchor: anchor?.label ?? '—',
      anchorMedian: anchor ? format(anchor.value) : '—',
      ratio,
      target: target ? describeTarget(target) : '—',
      met,
    });
  }

  error(scenario: string, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.row({
      scenario,
      measure: `failed: ${msg.split('\n')[0].slice(0, 200)}`,
      median: '—',
      anchor: '—',
      anchorMedian: '—',
      ratio: '—',
      target: '—',
      met: 'ERROR',
    });
  }
}

export function machineLine(m: MachineInfo): string {
  return (
    `${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, Linux ${m.kernel}, ` +
    `Docker ${m.dockerServer} (client ${m.dockerClient}, ${m.storageDriver}, cgroup v${m.cgroupVersion}), Node.js ${m.node}, ${m.date}` +
    (m.loadAverage
      ? `; load average ${m.loadAverage.start.toFixed(2)} at the start, ${m.loadAverage.end?.toFixed(2) ?? '?'} at the end`
      : '')
  );
}

export function renderMarkdown(r: Results): string {
  const lines: string[] = [];
  lines.push('### Benchmarks', '');
  lines.push(`Measured on: ${machineLine(r.machine)}.`);
  lines.push(
    '',
    `Medians of ${r.options.runs} runs after one discarded warm-up run${r.options.quick ? ' (quick mode: fewer runs and containers, not for publishing)' : ''}; ` +
      'every anchor ran in the same session, interleaved with the measures. Process times are wall-clock from spawn to exit. ' +
      'Run it yourself with `npm run bench` (as root, with a local Docker engine).',
    '',
  );
  lines.push('| Scenario | Measure | Median | Anchor | Anchor median | Ratio | Target | Met |');
  lines.push('| --- | --- | ---: | --- | ---: | ---: | --- | --- |');
  // Scenarios in their numbered order (they run in another order: the fleet serves 1 and 4 back to back).
  const order = (row: Row) => Number(/^(\d+)\./.exec(row.scenario)?.[1] ?? 99);
  const rows = r.rows.map((row, i) => ({ row, i })).sort((a, b) => order(a.row) - order(b.row) || a.i - b.i);
  for (const { row } of rows) {
    lines.push(
      `| ${[row.scenario, row.measure, row.median, row.anchor, row.anchorMedian, row.ratio, row.target, row.met].map(mdCell).join(' | ')} |`,
    );
  }
  lines.push('', '<details><summary>Every measurement (median, min, max, CPU, peak memory)</summary>', '');
  lines.push('| Measurement | Kind | Median | Min | Max | Runs | CPU (user+sys) median | Peak RSS (max) |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const m of Object.values(r.measurements)) {
    lines.push(
      `| ${[
        m.what,
        m.kind,
        formatMs(m.wallMs.median),
        formatMs(m.wallMs.min),
        formatMs(m.wallMs.max),
        String(m.wallMs.runs),
        m.cpuMs ? formatMs(m.cpuMs.median) : '—',
        m.peakRssMB ? formatMB(m.peakRssMB.max) : '—',
      ]
        .map(mdCell)
        .join(' | ')} |`,
    );
  }
  lines.push('', '</details>', '');
  const scenarios = Object.keys(r.notes);
  if (scenarios.length > 0) {
    lines.push('Notes:', '');
    for (const s of scenarios) for (const n of r.notes[s]) lines.push(`- **${mdCell(s)}**: ${n}`);
    lines.push('');
  }
  return lines.join('\n');
}
