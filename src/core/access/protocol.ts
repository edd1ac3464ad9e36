// The helper container's wire protocol, as pure functions: requests the engine writes to the helper's
// stdin and the replies its shell script writes to stdout. Kept apart from the session so it can be
// tested without Docker.
//
// Request, one line:  `ID OP ARG|`
//   OP `r` read a file's bytes, `l` readlink, `d` list a directory, `w` walk a tree, `s` lstat.
//   Lower-case OP: ARG is the path as is (printable ASCII only). Upper-case OP: ARG is a printf(1)
//   format whose octal escapes spell the path's bytes, so newlines and any other byte survive `read`.
//   The trailing `|` keeps trailing spaces from being trimmed by `read`.
// Reply, lines:
//   `>ID` opens a reply; base64 lines follow; `+` starts the next part; `!ID 0` closes it (success).
//   `!ID 1 REASON` fails request ID (REASON is the tool's strerror text); data sent before it is dropped.
//   `~ID TEXT` answers with one line of raw text (a link target without newlines); a target with newlines
//   comes as base64 of readlink's output, its own trailing newline included.
//   `!0 0 ready` is sent once when the script runs; `!0 127 missing TOOL` when it cannot.
import type { FileType } from '../../shared/model';

export type HelperOp = 'r' | 'l' | 'd' | 'w' | 's';

/** Bytes a path may hold and still travel unescaped: printable ASCII. */
function isPlain(bytes: Buffer): boolean {
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return false;
  return bytes.length > 0;
}

/** Bytes kept literal inside an escaped (printf format) path; everything else becomes `\ooo`. */
function isFormatSafe(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2f || b === 0x2e || b === 0x5f || b === 0x2d
  );
}

/** One request line for the helper script. */
export function encodeRequest(id: number, op: HelperOp, path: string): string {
  const bytes = Buffer.from(path, 'utf8');
  if (isPlain(bytes)) return `${id} ${op} ${path}|\n`;
  let arg = '';
  for (const b of bytes) arg += isFormatSafe(b) ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  return `${id} ${op.toUpperCase()} ${arg}|\n`;
}

/** Inverse of encodeRequest, as the script's `read` and printf(1) see it (for tests and diagnostics). */
export function decodeRequest(line: string): { id: number; op: HelperOp; path: Buffer } | null {
  const m = /^(\d+) ([rldwsRLDWS]) (.*)\|$/s.exec(line.replace(/\n$/, ''));
  if (!m) return null;
  const op = m[2].toLowerCase() as HelperOp;
  if (m[2] === op) return { id: Number(m[1]), op, path: Buffer.from(m[3], 'latin1') };
  const bytes: number[] = [];
  const arg = m[3];
  for (let i = 0; i < arg.length; i++) {
    if (arg[i] === '\\' && /^[0-7]{3}$/.test(arg.slice(i + 1, i + 4))) {
      bytes.push(parseInt(arg.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(arg.charCodeAt(i));
  }
  return { id: Number(m[1]), op, path: Buffer.from(bytes) };
}

/** A reply; `raw` when it came as one `~` line rather than base64 parts. */
export type HelperReply = { id: number; ok: true; parts: Buffer[]; raw?: true } | { id: number; ok: false; code: string; message: string };

/** A readlink reply's target: raw as sent, or base64 of readlink's output, which ends in a newline of its own. */
export function linkTarget(reply: Extract<HelperReply, { ok: true }>): Buffer {
  const data = reply.parts[0] ?? Buffer.alloc(0);
  if (reply.raw || data.length === 0 || data[data.length - 1] !== 0x0a) return data;
  return data.subarray(0, data.length - 1);
}

/** strerror texts (glibc, musl, busybox) → errno names; the engine's readers decide by code. */
const ERRNO_TEXTS: [RegExp, string][] = [
  [/no such file or directory/i, 'ENOENT'],
  [/permission denied/i, 'EACCES'],
  [/operation not permitted/i, 'EPERM'],
  [/no such process/i, 'ESRCH'],
  [/not a directory/i, 'ENOTDIR'],
  [/is a directory/i, 'EISDIR'],
  // busybox readlink says "not a symlink" where readlink(2) fails with EINVAL.
  [/invalid argument|not a symlink/i, 'EINVAL'],
  [/too many levels of symbolic links|symbolic link loop/i, 'ELOOP'],
  [/file name too long/i, 'ENAMETOOLONG'],
  [/no such device/i, 'ENODEV'],
  [/input\/output error|i\/o error/i, 'EIO'],
];

/** The errno name a tool's error text stands for; EIO when it names none the engine knows. */
export function errnoFromMessage(message: string): string {
  for (const [re, code] of ERRNO_TEXTS) if (re.test(message)) return code;
  return 'EIO';
}

const NEWLINE = 0x0a;

/**
 * Turns the helper's stdout, in chunks of any size, into replies. Lines outside a reply (which the
 * script never writes) are kept in `stray` for diagnostics rather than failing the session.
 */
export class ReplyParser {
  private pending: Buffer[] = [];
  private open: { id: number; parts: string[][] } | null = null;
  readonly stray: string[] = [];

  /** Feeds a chunk; returns the replies it completed, in order. */
  push(chunk: Buffer): HelperReply[] {
    const out: HelperReply[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      const line = this.pending.length > 0 ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      const reply = this.line(line);
      if (reply) out.push(reply);
      start = nl + 1;
    }
    if (start < chunk.length) this.pending.push(Buffer.from(chunk.subarray(start)));
    return out;
  }

  /** True while a reply is half received (the helper died mid-reply if the stream ends now). */
  get midReply(): boolean {
    return this.open !== null || this.pending.length > 0;
  }

  private line(bytes: Buffer): HelperReply | null {
    const first = bytes[0];
    if (first === 0x7e /* ~ */) {
      const space = bytes.indexOf(0x20);
      const id = Number(bytes.subarray(1, space < 0 ? bytes.length : space).toString('latin1'));
      if (!Number.isInteger(id)) return this.noise(bytes);
      this.open = null;
      return { id, ok: true, parts: [space < 0 ? Buffer.alloc(0) : Buffer.from(bytes.subarray(space + 1))], raw: true };
    }
    const text = bytes.toString('latin1');
    if (first === 0x3e /* > */) {
      const id = Number(text.slice(1));
      if (!Number.isInteger(id)) return this.noise(bytes);
      this.open = { id, parts: [[]] };
      return null;
    }
    if (first === 0x21 /* ! */) {
      const m = /^!(\d+) (\d+)(?: (.*))?$/s.exec(text);
      if (!m) return this.noise(bytes);
      const id = Number(m[1]);
      const open = this.open && this.open.id === id ? this.open : null;
      this.open = null;
      if (m[2] === '0') return { id, ok: true, parts: open ? open.parts.map((p) => Buffer.from(p.join(''), 'base64')) : [] };
      const message = Buffer.from(m[3] ?? '', 'latin1').toString('utf8');
      return { id, ok: false, code: m[2] === '127' ? 'ENOEXEC' : errnoFromMessage(message), message };
    }
    if (this.open) {
      if (text === '+') this.open.parts.push([]);
      else this.open.parts[this.open.parts.length - 1].push(text);
      return null;
    }
    return this.noise(bytes);
  }

  private noise(bytes: Buffer): null {
    if (this.stray.length < 20) this.stray.push(bytes.toString('utf8').slice(0, 200));
    return null;
  }
}

/** Names in a `find DIR/ -mindepth 1 -maxdepth 1 -print0` listing: what follows each path's last `/`. */
export function decodeListing(data: Buffer): string[] {
  const names: string[] = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0, start);
    if (end < 0) end = data.length;
    const entry = data.subarray(start, end);
    const slash = entry.lastIndexOf(0x2f);
    const name = entry.subarray(slash + 1);
    if (name.length > 0) names.push(name.toString('utf8'));
    start = end + 1;
  }
  return names;
}

/** One entry of a directory tree, as `stat` tells it (symlinks not followed). */
export interface StatEntry {
  /** Path relative to the walked directory, `/`-separated. */
  name: string;
  type: FileType;
  size: number;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Device numbers of a character or block device (0/0 on a char device is an overlay whiteout). */
  major: number;
  minor: number;
}

/** The file type of a raw st_mode. */
export function typeFromMode(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o020000:
      return 'char';
    case 0o060000:
      return 'block';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    default:
      return 'other';
  }
}

export interface WalkParse {
  entries: StatEntry[];
  /** The first error other than "vanished meanwhile", as the direct walker would have thrown it. */
  error: { code: string; message: string } | null;
}

/**
 * Joins a walk reply: part 0 is `find ROOT/ -mindepth 1 -print0`, part 1 is `stat -c '%f %s %t %T %n'` of
 * those paths in the same order, part 2 what both wrote to stderr. `stat` prints nothing for a path that
 * vanished in between, so each line is matched to the path it must end with, byte for byte: names may hold
 * any byte, newlines included.
 */
export function parseWalk(rootPrefix: string, names: Buffer, stats: Buffer, errors: Buffer): WalkParse {
  const prefix = Buffer.from(rootPrefix.endsWith('/') ? rootPrefix : `${rootPrefix}/`, 'utf8');
  const entries: StatEntry[] = [];
  let cursor = 0;
  let start = 0;
  while (start < names.length) {
    let end = names.indexOf(0, start);
    if (end < 0) end = names.length;
    const full = names.subarray(start, end);
    start = end + 1;
    if (full.length === 0) continue;
    const head = /^([0-9a-f]+) (\d+) ([0-9a-f]+) ([0-9a-f]+) /.exec(stats.subarray(cursor, cursor + 64).toString('latin1'));
    if (!head) continue;
    const nameAt = cursor + head[0].length;
    const after = nameAt + full.length;
    if (after >= stats.length || stats[after] !== NEWLINE || !stats.subarray(nameAt, after).equals(full)) continue;
    cursor = after + 1;
    let rel = full;
    if (rel.subarray(0, prefix.length).equals(prefix)) rel = rel.subarray(prefix.length);
    while (rel[0] === 0x2f) rel = rel.subarray(1);
    const rawMode = parseInt(head[1], 16);
    entries.push({
      name: rel.toString('utf8'),
      type: typeFromMode(rawMode),
      size: Number(head[2]),
      mode: rawMode & 0o7777,
      major: parseInt(head[3], 16),
      minor: parseInt(head[4], 16),
    });
  }
  let error: WalkParse['error'] = null;
  for (const line of errors.toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const code = errnoFromMessage(line);
    // A path removed while the tree was walked is simply not listed, as the direct walker does.
    if (code === 'ENOENT') continue;
    error = { code, message: line };
    break;
  }
  return { entries, error };
}

/**
 * Splits Docker's multiplexed attach stream (no TTY): frames of an 8-byte header — stream type (1 stdout,
 * 2 stderr), three zero bytes, a big-endian length — then that many bytes.
 */
export class AttachDemuxer {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { stdout: Buffer[]; stderr: Buffer[] } {
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    this.buffered = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    let at = 0;
    while (this.buffered.length - at >= 8) {
      const type = this.buffered[at];
      const length = this.buffered.readUInt32BE(at + 4);
      if (this.buffered.length - at - 8 < length) break;
      const payload = this.buffered.subarray(at + 8, at + 8 + length);
      if (type === 2) out.stderr.push(payload);
      else out.stdout.push(payload);
      at += 8 + length;
    }
    this.buffered = at === 0 ? this.buffered : Buffer.from(this.buffered.subarray(at));
    return out;
  }
}
