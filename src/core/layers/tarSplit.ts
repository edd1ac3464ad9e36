import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { gunzip } from 'node:zlib';
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

/**
 * The header of the entry a segment precedes. Most segments are the previous entry's padding and one plain
 * 512-byte header: those are read directly (type flag, mode, link name); anything else (PAX, GNU long
 * names) goes through headerFromSegment.
 */
function entryHeader(segment: Buffer, previousSize: number): { typeflag: string; linkname: string; mode: number } | null {
  const pad = previousSize % 512 === 0 ? 0 : 512 - (previousSize % 512);
  if (segment.length - pad !== 512) return headerFromSegment(segment, previousSize);
  const flagByte = segment[pad + 156];
  const typeflag = String.fromCharCode(flagByte || 48);
  if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') return headerFromSegment(segment, previousSize);
  let linkname = '';
  if (typeflag === '1' || typeflag === '2') {
    const field = segment.subarray(pad + 157, pad + 257);
    const nul = field.indexOf(0);
    linkname = field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
  }
  return { typeflag, linkname, mode: octalField(segment, pad + 100, 8) };
}

/**
 * Reads the entries of one layer from the bytes of its tar-split.json.gz; rejects with an Error on a damaged
 * file. Decompresses off the main thread, then scans line by line; segment lines (most of the file) are
 * read without JSON.parse. Yields to the event loop every few thousand entries, so it can be cancelled.
 */
export async function readTarSplit(gzipped: Buffer, opts: TarSplitOptions = {}): Promise<RawEntry[]> {
  const text = await new Promise<Buffer>((resolve, reject) => gunzip(gzipped, (err, out) => (err ? reject(err) : resolve(out))));
  if (opts.signal?.aborted) throw cancelled();
  const entries: RawEntry[] = [];
  let segment: Buffer[] = [];
  let previousSize = 0;
  let pos = 0;
  let sinceYield = 0;
  while (pos < text.length) {
    let end = text.indexOf(0x0a, pos);
    if (end < 0) end = text.length;
    const lineStart = pos;
    pos = end + 1;
    if (end === lineStart) continue;
    if (++sinceYield >= 20000) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) throw cancelled();
    }
    // Fast path: {"type":2,"payload":"<base64>",...}
    if (text.compare(SEGMENT_PREFIX, 0, SEGMENT_PREFIX.length, lineStart, lineStart + SEGMENT_PREFIX.length) === 0) {
      const key = text.indexOf(PAYLOAD_KEY, lineStart);
      if (key >= 0 && key < end) {
        const from = key + PAYLOAD_KEY.length;
        const to = text.indexOf(0x22, from);
        if (to >= 0 && to < end) {
          segment.push(Buffer.from(text.toString('latin1', from, to), 'base64'));
          continue;
        }
      }
    }
    const line = text.toString('utf8', lineStart, end);
    let parsed: TarSplitLine;
    try {
      parsed = JSON.parse(line) as TarSplitLine;
    } catch {
      throw new Error(`tar-split line is not JSON: ${line.slice(0, 60)}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error(`tar-split line is not an object: ${line.slice(0, 60)}`);
    if (parsed.type === 2) {
      if (parsed.payload === null || parsed.payload === undefined) continue;
      if (typeof parsed.payload !== 'string') throw new Error(`tar-split segment payload is not base64 text: ${line.slice(0, 60)}`);
      segment.push(Buffer.from(parsed.payload, 'base64'));
      continue;
    }
    if (parsed.type !== 1) continue;
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
    const header = entryHeader(segment.length === 1 ? segment[0] : Buffer.concat(segment), previousSize);
    segment = [];
    previousSize = size;
    const name = normaliseTarName(rawName);
    if (name === '') continue;
    const type = header ? typeFromFlag(header.typeflag) : rawName.endsWith('/') ? 'dir' : 'file';
    const entry: RawEntry = { name, size: type === 'file' ? size : 0, type };
    if (header && (type === 'symlink' || type === 'hardlink')) entry.linkTarget = header.linkname;
    if (header) entry.mode = header.mode & 0o7777;
    entries.push(entry);
    if (entries.length % 10000 === 0) opts.onProgress?.(entries.length);
  }
  return entries;
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

export function readTarSplitFile(file: string): Promise<RawEntry[]> {
  return readTarSplitStream(createReadStream(file));
}
