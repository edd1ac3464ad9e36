// Writes tar archives of entries that are awkward to make with a shell and fast to make by hand: hundreds of
// thousands of files, device nodes, symlink loops, deep trees. Streamed, so the archive is never held whole.
import { Readable } from 'node:stream';

export interface GenEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  size?: number;
  link?: string;
  mode?: number;
  major?: number;
  minor?: number;
}

const FLAGS: Record<GenEntry['type'], string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: Buffer, e: GenEntry, size: number, flag: string, link: Buffer): Buffer {
  const b = Buffer.alloc(512);
  name.copy(b, 0, 0, 100);
  b.write(octal(e.mode ?? (e.type === 'dir' ? 0o755 : 0o644), 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  b.write(octal(size, 12), 124, 'latin1');
  b.write(octal(1_700_000_000, 12), 136, 'latin1');
  b.write(flag, 156, 'latin1');
  link.copy(b, 157, 0, 100);
  b.write('ustar\x0000', 257, 'latin1');
  b.write('root', 265, 'latin1');
  b.write('root', 297, 'latin1');
  b.write(octal(e.major ?? 0, 8), 329, 'latin1');
  b.write(octal(e.minor ?? 0, 8), 337, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i];
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function paxRecord(key: string, value: string): Buffer {
  const body = Buffer.from(` ${key}=${value}\n`, 'utf8');
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

/** The blocks of one entry: a PAX header first when the name or link does not fit ustar's 100 bytes. */
export function entryBlocks(e: GenEntry): Buffer[] {
  const name = Buffer.from(e.type === 'dir' ? `${e.name}/` : e.name, 'utf8');
  const link = Buffer.from(e.link ?? '', 'utf8');
  const size = e.type === 'file' ? (e.size ?? 0) : 0;
  const out: Buffer[] = [];
  if (name.length > 100 || link.length > 100) {
    const data = Buffer.concat([
      ...(name.length > 100 ? [paxRecord('path', name.toString('utf8'))] : []),
      ...(link.length > 100 ? [paxRecord('linkpath', e.link ?? '')] : []),
    ]);
    out.push(header(Buffer.from('PaxHeader'), { name: '', type: 'file' }, data.length, 'x', Buffer.alloc(0)), data, pad(data.length));
  }
  out.push(header(name.subarray(0, 100), e, size, FLAGS[e.type], link.subarray(0, 100)));
  if (size > 0) out.push(Buffer.alloc(size, 0x78), pad(size));
  return out;
}

/** A tar stream of the entries an iterable yields, ending with the two zero blocks. */
export function tarStream(entries: Iterable<GenEntry>): Readable {
  function* blocks(): Generator<Buffer> {
    let batch: Buffer[] = [];
    let bytes = 0;
    for (const e of entries) {
      for (const b of entryBlocks(e)) {
        batch.push(b);
        bytes += b.length;
      }
      if (bytes >= 1 << 20) {
        yield Buffer.concat(batch);
        batch = [];
        bytes = 0;
      }
    }
    batch.push(Buffer.alloc(1024));
    yield Buffer.concat(batch);
  }
  return Readable.from(blocks(), { objectMode: false });
}

/** `count` empty files in directories of 1 000: d000/f000000 … */
export function* manyFiles(count: number, root = 'many'): Generator<GenEntry> {
  yield { name: root, type: 'dir' };
  for (let i = 0; i < count; i++) {
    const dir = `${root}/d${String(Math.floor(i / 1000)).padStart(3, '0')}`;
    if (i % 1000 === 0) yield { name: dir, type: 'dir' };
    yield { name: `${dir}/f${String(i).padStart(6, '0')}`, type: 'file', size: 0 };
  }
}
