import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { HostFiles, describeReadError, isPermission } from '../util/hostFiles';
import { RawEntry, normaliseTarName, parsePaxRecords, parseTarHeader, typeFromFlag } from './tarHeader';

/**
 * Docker keeps every layer's original tar headers in layerdb/sha256/<chainID>/tar-split.json.gz: one JSON
 * object per line, `{"type":2,"payload":<base64 raw bytes>}` for header segments and
 * `{"type":1,"name":…,"size":…}` for each file. Reading it lists a layer exactly as `docker save` would
 * stream it, without touching the layer's files.
 */
interface TarSplitLine {
  type?: unknown;
  name?: unknown;
  /** The name as base64 bytes, where it is not valid UTF-8 (tar-split's Entry.SetName). */
  name_raw?: unknown;
  size?: unknown;
  payload?: unknown;
}

/** Interprets the raw header bytes that precede an entry: skips the previous entry's padding, follows PAX/GNU long headers. */
export function headerFromSegment(segment: Buffer, previousSize: number): { typeflag: string; linkname: string; mode: number } | null {
  let pos = previousSize % 512 === 0 ? 0 : 512 - (previousSize % 512);
  let linkOverride: string | null = null;
  let last: ReturnType<typeof parseTarHeader> = null;
  while (pos + 512 <= segment.length) {
    const header = parseTarHeader(segment.subarray(pos, pos + 512));
    pos += 512;
    if (!header) continue;
    last = header;
    if (header.typeflag === 'x' || header.typeflag === 'g' || header.typeflag === 'L' || header.typeflag === 'K') {
      // readTarNumber never gives a negative size, so pos only moves forward and the loop ends.
      const data = segment.subarray(pos, pos + header.size);
      if (header.typeflag === 'x') linkOverride = parsePaxRecords(data).get('linkpath') ?? linkOverride;
      if (header.typeflag === 'K') linkOverride = data.toString('utf8').replace(/\0+$/, '');
      pos += Math.ceil(header.size / 512) * 512;
      continue;
    }
    return { typeflag: header.typeflag, linkname: linkOverride ?? header.linkname, mode: header.mode };
  }
  return last ? { typeflag: last.typeflag, linkname: linkOverride ?? last.linkname, mode: last.mode } : null;
}

export interface TarSplitOptions {
  /** Stops reading: the promise rejects with an Error named AbortError. */
  signal?: AbortSignal;
  /** Called every 10 000 entries with the count so far. */
  onProgress?: (entries: number) => void;
}

const PAYLOAD_KEY = Buffer.from('"payload":"');
const SEGMENT_PREFIX = Buffer.from('{"type":2,');
const FILE_PREFIX = Buffer.from('{"type":1,"name":"');
const SIZE_KEY = Buffer.from('"size":');

function startsWith(text: Buffer, at: number, end: number, prefix: Buffer): boolean {
  return at + prefix.length <= end && text.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}

function cancelled(): Error {
  return Object.assign(new Error('cancelled'), { name: 'AbortError' });
}

/** Reads an octal header field (mode) without the checks parseTarHeader makes. */
function octalField(buf: Buffer, start: number, len: number): number {
  let v = 0;
  for (let i = start; i < start + len; i++) {
    const c = buf[i];
    if (c >= 0x30 && c <= 0x37) v = v * 8 + (c - 0x30);
    else if (v > 0 || (c !== 0x20 && c !== 0x30)) break;
  }
  return v;
}

type EntryHeader = { typeflag: string; linkname: string; mode: number };

/**
 * The header of the entry a segment precedes. Most segments are the previous entry's padding and one
 * plain 512-byte header: those are read directly (type flag, mode, link name); anything else (PAX, GNU long
 * names) goes through headerFromSegment.
 */
function entryHeader(segment: Buffer, previousSize: number): EntryHeader | null {
  const pad = previousSize % 512 === 0 ? 0 : 512 - (previousSize % 512);
  if (segment.length - pad !== 512) return headerFromSegment(segment, previousSize);
  return plainHeader(segment, pad);
}

function plainHeader(block: Buffer, at: number): EntryHeader | null {
  const typeflag = String.fromCharCode(block[at + 156] || 48);
  if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') return null;
  let linkname = '';
  if (typeflag === '1' || typeflag === '2') {
    const field = block.subarray(at + 157, at + 257);
    const nul = field.indexOf(0);
    linkname = field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
  }
  return { typeflag, linkname, mode: octalField(block, at + 100, 8) };
}

const BASE64_VALUES = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) BASE64_VALUES['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/** Byte `i` of the data encoded by the base64 text starting at `from`; -1 where the text is not base64. */
function base64ByteAt(text: Buffer, from: number, i: number): number {
  const quad = from + Math.floor(i / 3) * 4;
  const v = (k: number) => BASE64_VALUES[text[quad + k]];
  switch (i % 3) {
    case 0: {
      const a = v(0);
      const b = v(1);
      return a < 0 || b < 0 ? -1 : (a << 2) | (b >> 4);
    }
    case 1: {
      const b = v(1);
      const c = v(2);
      return b < 0 || c < 0 ? -1 : ((b & 15) << 4) | (c >> 2);
    }
    default: {
      const c = v(2);
      const d = v(3);
      return c < 0 || d < 0 ? -1 : ((c & 3) << 6) | d;
    }
  }
}

/** Decoded length of base64 text `b64[from, to)`. */
function base64Bytes(text: Buffer, from: number, to: number): number {
  let pad = 0;
  if (to > from && text[to - 1] === 0x3d) pad++;
  if (to - 1 > from && text[to - 2] === 0x3d) pad++;
  return ((to - from) / 4) * 3 - pad;
}

/**
 * Scans the decompressed lines of a tar-split file. Segment lines (half the file) are not JSON-parsed: a
 * plain one (padding + one 512-byte header) has only the bytes the entry needs decoded from its base64; file
 * lines are read by their fixed key order, with JSON.parse for anything unusual.
 */
class TarSplitScanner {
  readonly entries: RawEntry[] = [];
  private segments: Buffer[] = [];
  /** A plain segment not decoded yet: where its base64 lies in `pendingText`. */
  private pendingText: Buffer | null = null;
  private pendingFrom = 0;
  private pendingTo = 0;
  private previousSize = 0;

  constructor(private readonly onProgress?: (entries: number) => void) {}

  line(text: Buffer, start: number, end: number): void {
    if (end === start) return;
    // Searches stay inside the line: a chunk holds thousands of them.
    if (startsWith(text, start, end, SEGMENT_PREFIX) && startsWith(text, start + SEGMENT_PREFIX.length, end, PAYLOAD_KEY)) {
      const from = start + SEGMENT_PREFIX.length + PAYLOAD_KEY.length;
      const to = text.indexOf(0x22, from);
      if (to >= 0 && to < end) {
        this.addSegment(text, from, to);
        return;
      }
    }
    if (startsWith(text, start, end, FILE_PREFIX)) {
      const from = start + FILE_PREFIX.length;
      let quote = from;
      while (quote < end && text[quote] !== 0x22 && text[quote] !== 0x5c) quote++;
      // A backslash means JSON escapes in the name: left to JSON.parse below.
      if (quote < end && text[quote] === 0x22 && text[quote + 1] === 0x2c) {
        const sizeKey = quote + 2;
        if (startsWith(text, sizeKey, end, SIZE_KEY)) {
          let size = 0;
          let i = sizeKey + SIZE_KEY.length;
          const digitsFrom = i;
          for (; i < end && text[i] >= 0x30 && text[i] <= 0x39; i++) size = size * 10 + (text[i] - 0x30);
          if (i > digitsFrom && i - digitsFrom <= 15 && (text[i] === 0x2c || text[i] === 0x7d)) {
            this.addFile(text.toString('utf8', from, quote), size);
            return;
          }
        }
      }
    }
    this.generic(text.toString('utf8', start, end));
  }

  private flushPending(): void {
    if (this.pendingText) {
      this.segments.push(Buffer.from(this.pendingText.toString('latin1', this.pendingFrom, this.pendingTo), 'base64'));
      this.pendingText = null;
    }
  }

  private addSegment(text: Buffer, from: number, to: number): void {
    this.flushPending();
    if (this.segments.length === 0) {
      // Keep it encoded: the entry may need only a few of its bytes.
      this.pendingText = text;
      this.pendingFrom = from;
      this.pendingTo = to;
      return;
    }
    this.segments.push(Buffer.from(text.toString('latin1', from, to), 'base64'));
  }

  private addDecodedSegment(payload: string): void {
    this.flushPending();
    this.segments.push(Buffer.from(payload, 'base64'));
  }

  /** The header before the current entry, decoding as little of the segment as it can. */
  private takeHeader(): EntryHeader | null {
    const pad = this.previousSize % 512 === 0 ? 0 : 512 - (this.previousSize % 512);
    if (this.pendingText && this.segments.length === 0) {
      const text = this.pendingText;
      this.pendingText = null;
      if (base64Bytes(text, this.pendingFrom, this.pendingTo) - pad === 512 && (this.pendingTo - this.pendingFrom) % 4 === 0) {
        // Only the type flag and the mode are needed (and the link name of a link): decode those bytes
        // straight from the base64 text, without decoding the whole header.
        const at = (i: number) => base64ByteAt(text, this.pendingFrom, i);
        const flagByte = at(pad + 156);
        const typeflag = String.fromCharCode(flagByte || 48);
        if (
          flagByte >= 0 &&
          typeflag !== 'x' &&
          typeflag !== 'g' &&
          typeflag !== 'L' &&
          typeflag !== 'K' &&
          typeflag !== '1' &&
          typeflag !== '2'
        ) {
          let mode = 0;
          for (let i = pad + 100; i < pad + 108; i++) {
            const c = at(i);
            if (c >= 0x30 && c <= 0x37) mode = mode * 8 + (c - 0x30);
            else if (mode > 0 || (c !== 0x20 && c !== 0x30)) break;
          }
          return { typeflag, linkname: '', mode };
        }
        if (flagByte >= 0 && (typeflag === '1' || typeflag === '2')) {
          // Links need their target: decode the base64 quads that cover bytes [pad+100, pad+257).
          const firstQuad = Math.floor((pad + 100) / 3);
          const lastQuad = Math.ceil((pad + 257) / 3);
          const b64 = text.toString('latin1', this.pendingFrom + firstQuad * 4, Math.min(this.pendingTo, this.pendingFrom + lastQuad * 4));
          const header = plainHeader(Buffer.from(b64, 'base64'), pad - firstQuad * 3);
          if (header) return header;
        }
      }
      this.segments.push(Buffer.from(text.toString('latin1', this.pendingFrom, this.pendingTo), 'base64'));
    } else this.flushPending();
    const segment = this.segments.length === 1 ? this.segments[0] : Buffer.concat(this.segments);
    this.segments = [];
    return entryHeader(segment, this.previousSize);
  }

  private addFile(rawName: string, size: number): void {
    const header = this.takeHeader();
    this.previousSize = size;
    const name = normaliseTarName(rawName);
    if (name === '') return;
    const type = header ? typeFromFlag(header.typeflag) : rawName.endsWith('/') ? 'dir' : 'file';
    const entry: RawEntry = { name, size: type === 'file' ? size : 0, type };
    if (header && (type === 'symlink' || type === 'hardlink')) entry.linkTarget = header.linkname;
    if (header) entry.mode = header.mode & 0o7777;
    this.entries.push(entry);
    if (this.entries.length % 10000 === 0) this.onProgress?.(this.entries.length);
  }

  private generic(line: string): void {
    let parsed: TarSplitLine;
    try {
      parsed = JSON.parse(line) as TarSplitLine;
    } catch {
      throw new Error(`tar-split line is not JSON: ${line.slice(0, 60)}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error(`tar-split line is not an object: ${line.slice(0, 60)}`);
    if (parsed.type === 2) {
      if (parsed.payload === null || parsed.payload === undefined) return;
      if (typeof parsed.payload !== 'string') throw new Error(`tar-split segment payload is not base64 text: ${line.slice(0, 60)}`);
      this.addDecodedSegment(parsed.payload);
      return;
    }
    if (parsed.type !== 1) return;
    // A name that is not valid UTF-8 is kept as bytes in name_raw; shown decoded (invalid bytes as U+FFFD).
    const rawName =
      typeof parsed.name === 'string'
        ? parsed.name
        : typeof parsed.name_raw === 'string'
          ? Buffer.from(parsed.name_raw, 'base64').toString('utf8')
          : null;
    if (rawName === null) throw new Error(`tar-split file entry has no name: ${line.slice(0, 60)}`);
    const size =
      typeof parsed.size === 'number' && Number.isSafeInteger(parsed.size) && parsed.size >= 0
        ? parsed.size
        : parsed.size === undefined
          ? 0
          : null;
    if (size === null) throw new Error(`tar-split file entry has a bad size: ${line.slice(0, 60)}`);
    this.addFile(rawName, size);
  }
}

/**
 * Reads the entries of one layer from the bytes of its tar-split.json.gz; rejects with an Error on a damaged
 * file. Decompresses as a stream (off the main thread, never the whole text in memory) and scans the lines
 * of each chunk as it arrives, so cancellation and other work get their turn.
 */
export function readTarSplit(gzipped: Buffer, opts: TarSplitOptions = {}): Promise<RawEntry[]> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(cancelled());
      return;
    }
    const scanner = new TarSplitScanner(opts.onProgress);
    const z = createGunzip({ chunkSize: 256 * 1024 });
    let carry: Buffer | null = null;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      z.destroy();
      reject(err);
    };
    const onAbort = () => fail(cancelled());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    z.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        const text: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
        let pos = 0;
        for (let nl = text.indexOf(0x0a, pos); nl >= 0; nl = text.indexOf(0x0a, pos)) {
          scanner.line(text, pos, nl);
          pos = nl + 1;
        }
        carry = pos < text.length ? text.subarray(pos) : null;
      } catch (err) {
        fail(err as Error);
      }
    });
    z.on('end', () => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (failed) return;
      try {
        if (carry) scanner.line(carry, 0, carry.length);
        resolve(scanner.entries);
      } catch (err) {
        fail(err as Error);
      }
    });
    z.on('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      fail(err);
    });
    z.end(gzipped);
  });
}

/** Reads the entries of one layer from a tar-split.json.gz stream; rejects with an Error on a damaged file. */
export async function readTarSplitStream(gzipped: Readable, opts: TarSplitOptions = {}): Promise<RawEntry[]> {
  const parts: Buffer[] = [];
  for await (const chunk of gzipped) {
    if (opts.signal?.aborted) {
      gzipped.destroy();
      throw cancelled();
    }
    parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  }
  return readTarSplit(Buffer.concat(parts), opts);
}

/**
 * One layer's tar-split file read from the runtime's storage: its entries, or `denied` (a permission,
 * described) when it may not be read; any other failure is neither (the layer is exported instead). A
 * cancelled read rejects.
 */
export async function readTarSplitFile(
  files: HostFiles,
  file: string,
  signal?: AbortSignal,
): Promise<{ entries: RawEntry[] } | { entries: null; denied?: string }> {
  try {
    return { entries: await readTarSplit(await files.readBytes(file), { signal }) };
  } catch (err) {
    if (signal?.aborted) throw err;
    return isPermission(err) ? { entries: null, denied: describeReadError(err, file, files.kind) } : { entries: null };
  }
}
