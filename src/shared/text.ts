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

/** The characters escapeMarkdown backslash-escapes: every ASCII punctuation Markdown, HTML or VS Code act on. */
export const MARKDOWN_SPECIAL = /[\\`*_{}[\]()#+\-.!|<>&~:@"'=$]/g;

/**
 * Escapes text for a Markdown string so it renders as itself. Control characters are made visible first;
 * then Markdown's special characters are backslash-escaped (CommonMark allows that for every ASCII
 * punctuation character). Besides emphasis, code, headings and lists this defeats links
 * (`\[x\]\(command\:foo\)`), HTML (`\<script\>`), entities (`\&amp;`), autolinks (`https\://…`,
 * `www\.…`, `a\@b\.c`) and theme icons (`\$(icon)`).
 */
export function escapeMarkdown(text: string): string {
  return printable(text).replace(MARKDOWN_SPECIAL, '\\$&');
}

/**
 * A label's value as display text: absent, non-string or blank is undefined; anything else is cut at `max`
 * (with a mark). Labels are written by whoever runs the container: only an own property counts.
 */
export function labelText(labels: Record<string, string>, key: string, max: number): string | undefined {
  const v: unknown = Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  return truncate(v, max);
}
