// Numbers and names as every face shows them (CLI tables, sidebar, hover, webviews).

/** Human-readable bytes in binary units with one decimal: `512 B`, `1.5 KiB`, `64.0 MiB`. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 1024) return `${sign}${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${sign}${v.toFixed(1)} ${units[i]}`;
}

/** A fraction as a percentage: 0.1234 → `12.3 %`. */
export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(digits)} %`;
}

/** Parses a size the way dive's CI rules and docker flags write them: `20MB`, `1.5GiB`, `2048`. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2].toLowerCase();
  const binary = m[3].toLowerCase().startsWith('i');
  const base = binary ? 1024 : 1000;
  const pow = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 }[unit] ?? 0;
  const bytes = Math.round(n * base ** pow);
  return Number.isFinite(bytes) ? bytes : null;
}

/** The first 12 hex digits of a digest or id, as docker prints them. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** What made a layer: its history command, or the comment of an imported layer ("Imported from -"). */
export function layerOrigin(layer: { createdBy: string; comment?: string | null }): string {
  return layer.createdBy || layer.comment || '';
}
