// Plain scans for text an image's builder or a container controls (CreatedBy, comments, labels). Each one
// runs in time linear in its input: no regular expression with nested or adjacent unbounded quantifiers
// (those backtrack quadratically or worse on long runs of spaces, `$` or `/`).

/** The longest CreatedBy or Comment text looked at; the rest is cut before any matching. */
export const MAX_HISTORY_TEXT = 64 * 1024;

/** Cuts untrusted history text to MAX_HISTORY_TEXT characters; a non-string is ''. */
export function boundHistoryText(text: unknown): string {
  if (typeof text !== 'string') return '';
  return text.length > MAX_HISTORY_TEXT ? text.slice(0, MAX_HISTORY_TEXT) : text;
}

/** Whether a UTF-16 code unit is whitespace as `\s` in a JavaScript regular expression defines it. */
export function isSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** A line terminator as `.` in a regular expression (without the s flag) refuses it. */
export function isLineEnd(code: number): boolean {
  return code === 0x0a || code === 0x0d || code === 0x2028 || code === 0x2029;
}

/** `s` without trailing whitespace (as `s.replace(/\s+$/, '')`, in one pass from the end). */
export function trimEndSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isSpace(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Index of the first non-whitespace character at or after `from` (s.length when none). */
export function skipSpace(s: string, from: number): number {
  let i = from;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** Index of the first whitespace character at or after `from` (s.length when none). */
export function skipNonSpace(s: string, from: number): number {
  let i = from;
  while (i < s.length && !isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** `s` without trailing copies of `ch` (as `s.replace(/ch+$/, '')`). */
export function trimEndChar(s: string, ch: string): string {
  const code = ch.charCodeAt(0);
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === code) end--;
  return end === s.length ? s : s.slice(0, end);
}

/**
 * Whether `text` is `pieces[0]`, anything, `pieces[1]`, anything, …, `pieces[n-1]` (a glob whose only
 * wildcard stands for any text, newlines included). First and last piece are anchored; the middle ones
 * are found leftmost, which is optimal for this kind of pattern: O(text × pieces) at worst, never
 * exponential as the equivalent `^a.*?b.*?c$` regular expression can be.
 */
export function globMatch(pieces: readonly string[], text: string): boolean {
  if (pieces.length === 0) return text === '';
  if (pieces.length === 1) return text === pieces[0];
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  if (first.length + last.length > text.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let pos = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const p = pieces[i];
    if (p === '') continue;
    const at = text.indexOf(p, pos);
    if (at < 0 || at + p.length > end) return false;
    pos = at + p.length;
  }
  return true;
}

/** The literal text between the wildcards of `w` (`$VAR`, `${…}`, and with `glob` `*`; `\$` is a `$`). */
export function wildcardPieces(w: string, glob: boolean): string[] {
  const pieces: string[] = [];
  let piece = '';
  // Where the next `}` is, found once for every `${` up to it (a scan per `${` would be quadratic).
  let close = -2;
  let i = 0;
  while (i < w.length) {
    const c = w.charCodeAt(i);
    if (c === 0x24 && w.charCodeAt(i + 1) === 0x7b) {
      if (close !== -1 && close < i + 2) close = w.indexOf('}', i + 2);
      if (close >= 0) {
        pieces.push(piece);
        piece = '';
        i = close + 1;
        continue;
      }
    } else if (c === 0x24 && isVarStart(w.charCodeAt(i + 1))) {
      let j = i + 2;
      while (j < w.length && isVarChar(w.charCodeAt(j))) j++;
      pieces.push(piece);
      piece = '';
      i = j;
      continue;
    }
    if (glob && c === 0x2a) {
      pieces.push(piece);
      piece = '';
      i++;
      continue;
    }
    if (c === 0x5c && w.charCodeAt(i + 1) === 0x24) {
      piece += '$';
      i += 2;
      continue;
    }
    piece += w[i];
    i++;
  }
  pieces.push(piece);
  return pieces;
}

function isVarStart(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
}

function isVarChar(code: number): boolean {
  return isVarStart(code) || (code >= 0x30 && code <= 0x39);
}

/** Whether a lower-case hex digit. */
function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66);
}

/**
 * What follows the first `file:<hex> in ` (or `dir:`, `multi:`) of a legacy COPY/ADD body, else what
 * follows its first ` in `; null without either.
 */
export function legacyCopyDest(body: string): string | null {
  let best = -1;
  let bestEnd = -1;
  for (const kind of ['file:', 'dir:', 'multi:']) {
    // The hex run after one occurrence ends before the next (none of these words is all hex), so each
    // kind's scan is linear.
    for (let at = body.indexOf(kind); at >= 0 && (best < 0 || at < best); at = body.indexOf(kind, at + 1)) {
      let j = at + kind.length;
      while (j < body.length && isHex(body.charCodeAt(j))) j++;
      if (j > at + kind.length && body.startsWith(' in ', j)) {
        best = at;
        bestEnd = j + 4;
        break;
      }
    }
  }
  if (best >= 0) return body.slice(bestEnd);
  const at = body.indexOf(' in ');
  return at < 0 ? null : body.slice(at + 4);
}

/**
 * The script of `/bin/sh -c script` (any first word ending in `sh`, flags before the last `-c` of the
 * leading flags), else the command as it is.
 */
export function shellScript(command: string): string {
  const first = skipNonSpace(command, 0);
  if (first < 2 || !command.slice(0, first).endsWith('sh') || first === command.length) return command;
  let i = skipSpace(command, first);
  let script = -1;
  while (i < command.length && command.charCodeAt(i) === 0x2d) {
    const end = skipNonSpace(command, i);
    if (end - i < 2 || end === command.length) break; // a flag has a letter and is followed by blanks
    const next = skipSpace(command, end);
    if (end - i === 2 && command.charCodeAt(i + 1) === 0x63) script = next;
    i = next;
  }
  return script < 0 ? command : command.slice(script);
}

/** The absolute path after the last ` in ` of a legacy COPY/ADD body (`file:<sha> in /app/x`), else null. */
export function copyDestination(body: string): string | null {
  const t = trimEndSpace(body);
  let j = t.length - 1;
  while (j >= 0 && !isSpace(t.charCodeAt(j))) j--;
  if (j < 3 || t.charCodeAt(j + 1) !== 0x2f || t.slice(j - 3, j + 1) !== ' in ') return null;
  return t.slice(j + 1);
}
