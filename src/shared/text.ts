// Text from containers, images and files is data. These helpers make it safe to show in a terminal,
// in HTML and in Markdown. Shared by the extension host, the CLI and the webview.

// C0, DEL, C1 and the Unicode bidi controls (Bidi_Control: U+061C, U+200E/F, U+202A–E, U+2066–9).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Makes control characters (including ESC and bidi overrides) visible as escapes: `\n`, `\x1b`, `\u202e`. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Shortens to at most `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Escapes text for a Markdown string so it renders as itself: no emphasis, links, headings, code, HTML
 * or autolinks can come from it. Control characters are made visible first.
 */
export function escapeMarkdown(text: string): string {
  return printable(text).replace(/[\\`*_{}[\]()#+\-.!|<>&~:"'=$]/g, (c) => `\\${c}`);
}

/** Wraps text in a Markdown code span that nothing inside can end: the fence is longer than any backtick run. */
export function codeSpan(text: string): string {
  const t = printable(text);
  let longest = 0;
  for (const run of t.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') || t === '' ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}
