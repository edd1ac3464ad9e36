// Pure formatting for the webviews (no DOM here: unit tests import this under Node).
import { printable } from '../../src/shared/text';

export { formatBytes, formatPercent, layerOrigin, shortId } from '../../src/shared/format';

/** A number with thousands separators: 12345 → `12,345`. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/** CPUs as docker --cpus writes them: `0.5 CPUs`, `1 CPU`, `1.25 CPUs`. */
export function formatCpus(cpus: number): string {
  const text = Number.isInteger(cpus) ? String(cpus) : String(Number(cpus.toFixed(2)));
  return `${text} ${cpus === 1 ? 'CPU' : 'CPUs'}`;
}

/** Nanoseconds as a short duration: `830 µs`, `12.3 ms`, `4.2 s`, `3 min 20 s`. */
export function formatDurationNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return '—';
  if (ns < 1e6) return `${Math.round(ns / 1e3)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  const s = ns / 1e9;
  if (s < 120) return `${s.toFixed(1)} s`;
  const min = Math.floor(s / 60);
  return `${min} min ${Math.round(s - min * 60)} s`;
}

/**
 * A history entry as a reader wants it: the `/bin/sh -c #(nop)` noise of the classic builder dropped,
 * a plain `/bin/sh -c` shown as RUN, and control characters made visible.
 */
export function shortenCreatedBy(createdBy: string): string {
  let t = createdBy.trim();
  const nop = /^\/bin\/sh -c #\(nop\)\s*/.exec(t);
  if (nop) t = t.slice(nop[0].length);
  else if (t.startsWith('/bin/sh -c ')) t = `RUN ${t.slice('/bin/sh -c '.length)}`;
  // BuildKit writes `RUN |2 A=1 B=2 /bin/sh -c …` for build args.
  t = t.replace(/^RUN \|\d+ (?:\S+=\S* )*\/bin\/sh -c /, 'RUN ').replace(/^RUN \/bin\/sh -c /, 'RUN ');
  t = t.replace(/\s+# buildkit$/, '');
  return printable(t.replace(/\s+/g, ' ').trim() || createdBy);
}

/** One reading of CPU use from two cumulative samples: 1.0 = one CPU busy for the whole interval. */
export function cpuFraction(prev: { t: number; cpuUsageNs: number | null }, next: { t: number; cpuUsageNs: number | null }): number | null {
  if (prev.cpuUsageNs === null || next.cpuUsageNs === null) return null;
  const dt = next.t - prev.t;
  const du = next.cpuUsageNs - prev.cpuUsageNs;
  if (!(dt > 0) || du < 0) return null;
  return du / (dt * 1e6);
}

/** CPU use per interval for a list of samples (one shorter than the list). */
export function cpuSeries(samples: { t: number; cpuUsageNs: number | null }[]): { t: number; value: number | null }[] {
  const out: { t: number; value: number | null }[] = [];
  for (let i = 1; i < samples.length; i++) out.push({ t: samples[i].t, value: cpuFraction(samples[i - 1], samples[i]) });
  return out;
}
