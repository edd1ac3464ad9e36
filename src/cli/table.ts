import { printable } from '../shared/text';

/** Lays rows out as aligned columns; every cell is made printable so no byte from a container reaches the terminal raw. */
export function table(header: string[], rows: string[][], maxWidths: number[] = []): string {
  const clean = [header, ...rows].map((r) =>
    r.map((cell, i) => {
      const p = printable(cell);
      const max = maxWidths[i];
      return max && p.length > max ? `${p.slice(0, max - 1)}…` : p;
    }),
  );
  const widths = header.map((_, i) => Math.max(...clean.map((r) => (r[i] ?? '').length)));
  return clean
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
