// Helpers shared by the webview tests.
import { printable } from '../../src/shared/text';

/** Lone surrogates cannot cross the DevTools protocol (JSON): they arrive as U+FFFD. */
export function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** What a name looks like on screen: control characters made visible, as the views show it. */
export function shown(s: string): string {
  return wellFormed(printable(s));
}

export function contains(haystack: string | null, needle: string): boolean {
  return wellFormed(haystack ?? '').includes(shown(needle));
}

/** A value as a quoted CSS string, for attribute selectors: `[data-x="…"]` (newlines as \\a, not \\n). */
export function attr(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\n\r\f]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `)}"`;
}
