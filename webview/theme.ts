// Theme colours for what CSS cannot reach (the graph's canvas): read from VS Code's CSS variables at run
// time, and read again when the theme changes (VS Code swaps the body class and the variables on <html>).

let probe: CanvasRenderingContext2D | null = null;

export function cssVar(name: string, fallback = ''): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

function parseRgb(text: string): [number, number, number, number] | null {
  if (text.startsWith('#') && text.length === 7) {
    return [parseInt(text.slice(1, 3), 16), parseInt(text.slice(3, 5), 16), parseInt(text.slice(5, 7), 16), 1];
  }
  const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])] : null;
}

const hex = (n: number) =>
  Math.round(Math.max(0, Math.min(255, n)))
    .toString(16)
    .padStart(2, '0');

/**
 * A colour from a CSS variable as opaque `#rrggbb` (what the canvas renderer understands): any CSS colour
 * syntax is normalised by a canvas context, and a translucent one is blended over `over`.
 */
export function themeColor(name: string, fallback: string, over?: string): string {
  probe ??= document.createElement('canvas').getContext('2d');
  const raw = cssVar(name, fallback);
  if (!probe) return fallback;
  probe.fillStyle = fallback;
  probe.fillStyle = raw;
  const rgba = parseRgb(String(probe.fillStyle));
  if (!rgba) return fallback;
  const [r, g, b, a] = rgba;
  if (a >= 1 || over === undefined) return `#${hex(r)}${hex(g)}${hex(b)}`;
  probe.fillStyle = over;
  const base = parseRgb(String(probe.fillStyle)) ?? [0, 0, 0, 1];
  return `#${hex(r * a + base[0] * (1 - a))}${hex(g * a + base[1] * (1 - a))}${hex(b * a + base[2] * (1 - a))}`;
}

/** Mixes two #rrggbb colours: t = 0 gives a, 1 gives b. */
export function mix(a: string, b: string, t: number): string {
  const pa = parseRgb(a) ?? [0, 0, 0, 1];
  const pb = parseRgb(b) ?? [0, 0, 0, 1];
  return `#${hex(pa[0] + (pb[0] - pa[0]) * t)}${hex(pa[1] + (pb[1] - pa[1]) * t)}${hex(pa[2] + (pb[2] - pa[2]) * t)}`;
}

export function themeKind(): 'light' | 'dark' | 'high-contrast' | 'high-contrast-light' {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

/** Calls fn (at most once per frame) when the body class or the variables on <html> change. */
export function onThemeChange(fn: () => void): () => void {
  let queued = false;
  const obs = new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn();
    });
  });
  obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'style'] });
  return () => obs.disconnect();
}
