import { FileType } from '../../shared/model';

/** One entry of a layer as its tar lists it, before whiteouts are interpreted. */
export interface RawEntry {
  /** Relative path without leading `./` or `/` and without a trailing slash. */
  name: string;
  size: number;
  type: FileType;
  linkTarget?: string;
  mode?: number;
}

/** Normalises a tar entry name to a relative path (`./a/b/` → `a/b`); `''` is the layer root. */
export function normaliseTarName(name: string): string {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  while (n.startsWith('/')) n = n.slice(1);
  while (n.endsWith('/')) n = n.slice(0, -1);
  if (n === '.') return '';
  return n;
}

/** Maps a ustar typeflag to a file type. */
export function typeFromFlag(flag: string): FileType {
  switch (flag) {
    case '0':
    case '\0':
    case '':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return 'other';
  }
}

/** Maps tar-stream's header type names to file types. */
export function typeFromTarStream(type: string | undefined | null): FileType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'link':
      return 'hardlink';
    case 'symlink':
      return 'symlink';
    case 'character-device':
      return 'char';
    case 'block-device':
      return 'block';
    case 'directory':
      return 'dir';
    case 'fifo':
      return 'fifo';
    default:
      return 'other';
  }
}

function cString(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8');
}

/**
 * Reads a numeric header field: octal text, or GNU base-256 when the top bit of the first byte is set.
 * Never negative: a sign or other non-octal text reads as the octal digits before it (none: 0), and a
 * negative base-256 value (used for times before 1970, never for sizes) reads as 0.
 */
export function readTarNumber(buf: Buffer, start: number, len: number): number {
  const field = buf.subarray(start, start + len);
  if (field.length > 0 && (field[0] & 0x80) !== 0) {
    if ((field[0] & 0x40) !== 0) return 0;
    let value = field[0] & 0x3f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const digits = /^[0-7]*/.exec(cString(buf, start, len).trim())![0];
  return digits === '' ? 0 : parseInt(digits, 8);
}

export interface TarHeader {
  name: string;
  mode: number;
  size: number;
  typeflag: string;
  linkname: string;
}

/** Parses one 512-byte ustar/GNU header block; null for a zero block or a bad checksum. */
export function parseTarHeader(block: Buffer): TarHeader | null {
  if (block.length < 512) return null;
  let allZero = true;
  for (let i = 0; i < 512; i++) {
    if (block[i] !== 0) {
      allZero = false;
      break;
    }
  }
  if (allZero) return null;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  if (sum !== readTarNumber(block, 148, 8)) return null;
  const magic = cString(block, 257, 6);
  const prefix = magic.startsWith('ustar') && block[345] !== 0 && magic === 'ustar' ? cString(block, 345, 155) : '';
  const name = cString(block, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: readTarNumber(block, 100, 8),
    size: readTarNumber(block, 124, 12),
    typeflag: String.fromCharCode(block[156] || 48),
    linkname: cString(block, 157, 100),
  };
}

/** Parses PAX extended header records (`<len> key=value\n`). */
export function parsePaxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > data.length) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}
