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
  // Padding ends at the last cell that holds something; a cell's own trailing spaces are kept (a name
  // that ends in a space or a no-break space is shown whole).
  return clean
    .map((r) => {
      let last = r.length - 1;
      while (last > 0 && r[last] === '') last--;
      return r
        .slice(0, last + 1)
        .map((cell, i) => (i === last ? cell : cell.padEnd(widths[i])))
        .join('  ');
    })
    .join('\n');
}
