// Statistics and number formatting for the benchmark report. Pure functions: unit-tested in test/unit/bench.

/** Median, min and max of a series of samples (the warm-up sample is already dropped by the caller). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summary of no samples');
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), runs: samples.length };
}

/** Drops the first `warmup` samples (JIT, page cache, daemon caches) and keeps the rest. */
export function dropWarmup<T>(samples: readonly T[], warmup = 1): T[] {
  if (samples.length <= warmup) throw new Error(`need more than ${warmup} samples to drop the warm-up, got ${samples.length}`);
  return samples.slice(warmup);
}

/** Milliseconds for people: 3 significant digits below 100, whole numbers above, seconds past 10 s. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function formatMB(mb: number): string {
  return mb >= 100 ? `${Math.round(mb)} MB` : `${mb.toFixed(1)} MB`;
}

/** A ratio as `1.23×`, with two significant decimals below 10 and one above. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '—';
  return r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}

/** How a measure compares with its target: at most `limit` times the anchor, at least `factor` times faster, or under an absolute bound. */
export type Target =
  { kind: 'within'; factor: number } | { kind: 'faster'; factor: number } | { kind: 'below'; limit: number; unit: string };

/**
 * Whether a median meets its target. `within`: value / anchor ≤ factor. `faster`: anchor / value ≥ factor.
 * `below`: value < limit. Returns the ratio shown in the table too (value/anchor or anchor/value).
 */
export function judge(value: number, target: Target, anchor?: number): { met: boolean; ratio: number | null } {
  switch (target.kind) {
    case 'within': {
      if (anchor === undefined || anchor <= 0) throw new Error('a "within" target needs a positive anchor');
      const ratio = value / anchor;
      return { met: ratio <= target.factor, ratio };
    }
    case 'faster': {
      if (anchor === undefined || value <= 0) throw new Error('a "faster" target needs an anchor and a positive value');
      const ratio = anchor / value;
      return { met: ratio >= target.factor, ratio };
    }
    case 'below':
      return { met: value < target.limit, ratio: anchor !== undefined && anchor > 0 ? value / anchor : null };
  }
}

export function describeTarget(t: Target): string {
  switch (t.kind) {
    case 'within':
      return `≤ ${t.factor}× anchor`;
    case 'faster':
      return `≥ ${t.factor}× faster`;
    case 'below':
      return `< ${t.limit} ${t.unit}`;
  }
}

/** Escapes a Markdown table cell (pipes and newlines would break the row). */
export function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
