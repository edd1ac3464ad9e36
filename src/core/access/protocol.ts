// The helper container's wire protocol, as pure functions: requests the engine writes to the helper's
// stdin and the replies its shell script writes to stdout. Kept apart from the session so it can be
// tested without Docker.
//
// Request, one line:  `ID OP ARG|`
//   OP on host paths: `r` read a file's bytes, `l` readlink, `d` list a directory, `s` lstat.
//   OP inside a root someone else wrote (see script.ts): ARG is `ROOT//C1/C2/…`, the engine's path of the
//   root and then components that are plain names (never `.`, `..` or empty):
//     `c` read the last component (a regular file); its ARG starts `MAX SECS `: at most MAX bytes,
//     within SECS seconds;
//     `t` list the directory the components lead to; `k` readlink the last one; `e` lstat the last one;
//     `p` only go down them.
//   Lower-case OP: ARG is the path as is (printable ASCII only). Upper-case OP: ARG is a printf(1)
//   format whose octal escapes spell the path's bytes, so newlines and any other byte survive `read`.
//   The trailing `|` keeps trailing spaces from being trimmed by `read`.
// Reply, lines:
//   `>ID` opens a reply; base64 lines follow; `+` starts the next part; `!ID 0` closes it (success).
//   `!ID 1 REASON` fails request ID (REASON is the tool's strerror text); data sent before it is dropped.
//   `!ID S K TEXT` ends a confined op with status S about its component K (0-based; -1 the root itself):
//     1 an errno (TEXT its strerror), 2 the read's deadline passed, 3 K is a link (TEXT its target when
//     it is one line, else `link` and the target, with readlink's newline, in base64 before), 4 K changed while it was resolved, 5 K is not a regular
//     file (TEXT its st_mode in hex), 6 K is on a kernel filesystem (TEXT its statfs type in hex).
//   `=ID` opens a listing: raw stat records `DEV:INO MODE SIZE MAJOR MINOR NAME/` + newline, in hex but
//     DEV:INO and SIZE; NAME ends at its first `/` (a name holds none) and may be `./`-prefixed. A line
//     starting with `!` ends it.
//   `~ID TEXT` answers with one line of raw text (a link target without newlines); a target with newlines
//   comes as base64 of readlink's output, its own trailing newline included.
//   `!0 0 ready` is sent once when the script runs; `!0 127 missing TOOL` when it cannot.
import type { FileType } from '../../shared/model';

/** `h`: at most N bytes of a kernel file (ARG is `N PATH`), for files whose content a process controls. */
export type HelperOp = 'r' | 'l' | 'd' | 's' | 'c' | 't' | 'k' | 'e' | 'p' | 'h';

/** Ops that read inside a root someone else wrote (ARG is `ROOT//C1/C2/…`). */
export const CONFINED_OPS: ReadonlySet<HelperOp> = new Set(['c', 't', 'k', 'e', 'p']);

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
export function encodeRequest(id: number, op: HelperOp, path: string | Buffer): string {
  const bytes = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  if (isPlain(bytes)) return `${id} ${op} ${bytes.toString('latin1')}|\n`;
  let arg = '';
  for (const b of bytes) arg += isFormatSafe(b) ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  return `${id} ${op.toUpperCase()} ${arg}|\n`;
}

/** The ARG of a confined op: the root's path, `//`, then the components joined by `/`. */
export function confinedArg(root: string, components: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${root.replace(/\/+$/, '')}//`, 'utf8')];
  components.forEach((c, i) => {
    if (c.length === 0 || c.includes(0x2f) || c.includes(0) || (c[0] === 0x2e && (c.length === 1 || (c.length === 2 && c[1] === 0x2e))))
      throw new Error(`not a plain name: ${c.toString('utf8')}`);
    if (i > 0) parts.push(Buffer.from('/'));
    parts.push(c);
  });
  return Buffer.concat(parts);
}

/** The ARG of a `c` request: the byte cap and the seconds the read may take, then the path. */
export function readArg(maxBytes: number, seconds: number, arg: Buffer): Buffer {
  if (!Number.isInteger(maxBytes) || maxBytes < 0 || !(seconds > 0)) throw new Error(`bad read bounds ${maxBytes} ${seconds}`);
  return Buffer.concat([Buffer.from(`${maxBytes} ${Math.round(seconds * 1000) / 1000} `), arg]);
}

/** Inverse of encodeRequest, as the script's `read` and printf(1) see it (for tests and diagnostics). */
export function decodeRequest(line: string): { id: number; op: HelperOp; path: Buffer } | null {
  const m = /^(\d+) ([rldscktepRLDSCKTEP]) (.*)\|$/s.exec(line.replace(/\n$/, ''));
  if (!m) return null;
  const op = m[2].toLowerCase() as HelperOp;
  const arg = m[3];
  if (m[2] === op) return { id: Number(m[1]), op, path: Buffer.from(arg, 'latin1') };
  const bytes: number[] = [];
  for (let i = 0; i < arg.length; i++) {
    if (arg[i] === '\\' && /^[0-7]{3}$/.test(arg.slice(i + 1, i + 4))) {
      bytes.push(parseInt(arg.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(arg.charCodeAt(i));
  }
  return { id: Number(m[1]), op, path: Buffer.from(bytes) };
}

/** One entry as a listing's `stat` told it (the pinned directory itself comes first, named `.`). */
export interface StatRecord {
  /** One component, as bytes. */
  name: Buffer;
  /** `DEV:INO`: what the script compares to pin a directory. */
  identity: string;
  ino: number;
  /** The raw st_mode. */
  rawMode: number;
  size: number;
  /** Device numbers of a character or block device (0/0 on a char device is an overlay whiteout). */
  major: number;
  minor: number;
}

/**
 * A reply. Success carries base64 `parts`, a `raw` one-line text or a listing's `records`. Failure
 * carries `status` (1 an errno, 2–6 a confined op's outcome: see the top of this file), for confined ops
 * the component `at` it concerns and `text` after it, and for status 3 the `parts` sent before it (the
 * link's target).
 */
export type HelperReply =
  | { id: number; ok: true; parts: Buffer[]; raw?: true; records?: StatRecord[]; note?: string }
  | { id: number; ok: false; code: string; message: string; status: number; at?: number; text?: string; parts: Buffer[] };

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
const SLASH = 0x2f;
const SPACE = 0x20;
const EMPTY = Buffer.alloc(0);
/** A line this long without its newline is not the script's (its lines are short, records < 4 KiB). */
const MAX_LINE = 1 << 20;

/** errno-like codes for the statuses of confined ops that are no errno (see the top of this file). */
const STATUS_CODES: Record<number, string> = { 2: 'ETIMEDOUT', 3: 'ELOOP', 4: 'ESTALE', 5: 'EINVAL', 6: 'EINVAL', 127: 'ENOEXEC' };

/**
 * Reads one listing record at `at`: the bytes it took, 0 when the record is not complete yet, -1 when
 * what is there is no record.
 */
export function parseRecord(data: Buffer, at: number, into: StatRecord[]): number {
  const fields: string[] = [];
  let p = at;
  for (let i = 0; i < 5; i++) {
    const space = data.indexOf(SPACE, p);
    if (space < 0 || space - p > 24) return space < 0 && data.length - p <= 24 ? 0 : -1;
    fields.push(data.toString('latin1', p, space));
    p = space + 1;
  }
  const [identity, mode, size, major, minor] = fields;
  const id = /^(\d+):(\d+)$/.exec(identity);
  if (!id || !/^[0-9a-f]+$/.test(mode) || !/^\d+$/.test(size) || !/^[0-9a-f]+$/.test(major) || !/^[0-9a-f]+$/.test(minor)) return -1;
  if (data.length - p < 2) return 0;
  if (data[p] === SLASH) return -1;
  // `./name/` as find passes names, `./` for the directory itself, `name/` as the glob does.
  if (data[p] === 0x2e && data[p + 1] === SLASH) {
    if (data.length - p < 3) return 0;
    if (data[p + 2] !== NEWLINE) p += 2;
  }
  const slash = data.indexOf(SLASH, p);
  if (slash < 0) return data.length - p > 4096 ? -1 : 0;
  if (slash + 1 >= data.length) return 0;
  if (data[slash + 1] !== NEWLINE || slash === p) return -1;
  into.push({
    name: Buffer.from(data.subarray(p, slash)),
    identity,
    ino: Number(id[2]),
    rawMode: parseInt(mode, 16),
    size: Number(size),
    major: parseInt(major, 16),
    minor: parseInt(minor, 16),
  });
  return slash + 2 - at;
}

/**
 * Turns the helper's stdout, in chunks of any size, into replies. Lines outside a reply (which the
 * script never writes) are kept in `stray` for diagnostics rather than failing the session.
 */
export class ReplyParser {
  private rest: Buffer = EMPTY;
  private open: { id: number; parts: string[][] } | null = null;
  private listing: { id: number; records: StatRecord[] } | null = null;
  readonly stray: string[] = [];

  /** Feeds a chunk; returns the replies it completed, in order. */
  push(chunk: Buffer): HelperReply[] {
    const out: HelperReply[] = [];
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    let at = 0;
    while (at < data.length) {
      if (this.listing && data[at] !== 0x21 /* ! */) {
        const used = parseRecord(data, at, this.listing.records);
        if (used > 0) {
          at += used;
          continue;
        }
        if (used === 0) break;
        // Not a record: keep the line aside and carry on from the next one.
        const nl = data.indexOf(NEWLINE, at);
        if (nl < 0) break;
        this.noise(data.subarray(at, nl));
        at = nl + 1;
        continue;
      }
      const nl = data.indexOf(NEWLINE, at);
      if (nl < 0) break;
      const reply = this.line(data.subarray(at, nl));
      if (reply) out.push(reply);
      at = nl + 1;
    }
    this.rest = at < data.length ? Buffer.from(data.subarray(at)) : EMPTY;
    if (this.rest.length > MAX_LINE) {
      this.noise(this.rest.subarray(0, 200));
      this.rest = EMPTY;
    }
    return out;
  }

  /** True while a reply is half received (the helper died mid-reply if the stream ends now). */
  get midReply(): boolean {
    return this.open !== null || this.listing !== null || this.rest.length > 0;
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
    if (first === 0x3e /* > */ || first === 0x3d /* = */) {
      const id = Number(text.slice(1));
      if (!Number.isInteger(id) || text.length < 2) return this.noise(bytes);
      if (first === 0x3e) this.open = { id, parts: [[]] };
      else this.listing = { id, records: [] };
      return null;
    }
    if (first === 0x21 /* ! */) {
      const m = /^!(\d+) (\d+)(?: (.*))?$/s.exec(text);
      if (!m) return this.noise(bytes);
      const id = Number(m[1]);
      const open = this.open && this.open.id === id ? this.open : null;
      const listing = this.listing && this.listing.id === id ? this.listing : null;
      this.open = null;
      this.listing = null;
      const parts = open ? open.parts.map((p) => Buffer.from(p.join(''), 'base64')) : [];
      if (m[2] === '0') {
        const note = m[3] !== undefined ? { note: Buffer.from(m[3], 'latin1').toString('utf8') } : {};
        return listing ? { id, ok: true, parts, records: listing.records, ...note } : { id, ok: true, parts, ...note };
      }
      const status = Number(m[2]);
      const message = Buffer.from(m[3] ?? '', 'latin1').toString('utf8');
      const k = /^(-?\d+) (.*)$/s.exec(message);
      const code = STATUS_CODES[status] ?? errnoFromMessage(message);
      // Data sent before a failure is dropped, but for a link's target (status 3), which is the answer:
      // in base64 before, or (one line) the text itself, given back with readlink's newline.
      let kept: Buffer[] = [];
      const rawText = /^-?\d+ (.*)$/s.exec(m[3] ?? '')?.[1];
      if (status === 3) kept = open ? parts : rawText !== undefined ? [Buffer.from(`${rawText}\n`, 'latin1')] : [];
      return k
        ? { id, ok: false, code, message, status, at: Number(k[1]), text: k[2], parts: kept }
        : { id, ok: false, code, message, status, parts: kept };
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
