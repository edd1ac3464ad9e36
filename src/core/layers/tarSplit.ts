import { createReadStream } from 'node:fs';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { RawEntry, normaliseTarName, parsePaxRecords, parseTarHeader, typeFromFlag } from './tarHeader';

/**
 * Docker keeps every layer's original tar headers in layerdb/sha256/<chainID>/tar-split.json.gz: one JSON
 * object per line, `{"type":2,"payload":<base64 raw bytes>}` for header segments and
 * `{"type":1,"name":…,"size":…}` for each file. Reading it lists a layer exactly as `docker save` would
 * stream it, without touching the layer's files.
 */
interface TarSplitLine {
  type?: number;
  name?: string;
  size?: number;
  payload?: string | null;
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

/** Reads the entries of one layer from a tar-split.json.gz stream. */
export async function readTarSplitStream(gzipped: Readable): Promise<RawEntry[]> {
  const entries: RawEntry[] = [];
  const gunzip = createGunzip();
  gzipped.on('error', (err) => gunzip.destroy(err));
  const lines = readline.createInterface({ input: gzipped.pipe(gunzip), crlfDelay: Infinity });
  let segment: Buffer[] = [];
  let previousSize = 0;
  for await (const line of lines) {
    if (line === '') continue;
    let parsed: TarSplitLine;
    try {
      parsed = JSON.parse(line) as TarSplitLine;
    } catch {
      throw new Error(`tar-split line is not JSON: ${line.slice(0, 60)}`);
    }
    if (parsed.type === 2) {
      if (parsed.payload) segment.push(Buffer.from(parsed.payload, 'base64'));
      continue;
    }
    if (parsed.type !== 1 || typeof parsed.name !== 'string') continue;
    const header = headerFromSegment(Buffer.concat(segment), previousSize);
    segment = [];
    const size = typeof parsed.size === 'number' ? parsed.size : 0;
    previousSize = size;
    const name = normaliseTarName(parsed.name);
    if (name === '') continue;
    const type = header ? typeFromFlag(header.typeflag) : parsed.name.endsWith('/') ? 'dir' : 'file';
    const entry: RawEntry = { name, size: type === 'file' ? size : 0, type };
    if (header && (type === 'symlink' || type === 'hardlink')) entry.linkTarget = header.linkname;
    if (header) entry.mode = header.mode & 0o7777;
    entries.push(entry);
  }
  return entries;
}

export function readTarSplitFile(file: string): Promise<RawEntry[]> {
  return readTarSplitStream(createReadStream(file));
}
