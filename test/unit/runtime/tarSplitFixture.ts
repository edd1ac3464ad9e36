// A tar-split file as containers/storage (and Docker's layerdb) writes it: the layer tar's headers and
// padding as base64 segments (type 2), one line per entry (type 1, Go's field order: name, size, payload,
// position), gzipped. Made from plain ustar headers, so the test knows exactly what the tar held.
import { gzipSync } from 'node:zlib';
import type { RawEntry } from '../../../src/core/layers/tarHeader';

export interface LayerFile {
  /** As tar writes it: `etc/`, `etc/hostname`. */
  name: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  content?: string;
  linkTarget?: string;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function ustarHeader(f: LayerFile, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(f.name, 0, 100, 'utf8');
  b.write(octal(f.mode, 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  b.write(octal(size, 12), 124, 'latin1');
  b.write(octal(1700000000, 12), 136, 'latin1');
  b.write(f.type === 'dir' ? '5' : f.type === 'symlink' ? '2' : '0', 156, 'latin1');
  if (f.linkTarget) b.write(f.linkTarget, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i];
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** The gzipped tar-split of a layer holding `files`, in that order. */
export function tarSplitGz(files: LayerFile[]): Buffer {
  const lines: string[] = [];
  let position = 0;
  let previousSize = 0;
  const padding = (size: number) => Buffer.alloc(size % 512 === 0 ? 0 : 512 - (size % 512));
  for (const f of files) {
    const size = f.type === 'file' ? Buffer.byteLength(f.content ?? '') : 0;
    const segment = Buffer.concat([padding(previousSize), ustarHeader(f, size)]);
    lines.push(JSON.stringify({ type: 2, payload: segment.toString('base64'), position: position++ }));
    // Go's encoding/json omits a zero size and a nil payload (omitempty); a file's payload is its CRC-64.
    lines.push(
      JSON.stringify(
        size > 0
          ? { type: 1, name: f.name, size, payload: Buffer.alloc(8, 7).toString('base64'), position: position++ }
          : { type: 1, name: f.name, position: position++ },
      ),
    );
    previousSize = size;
  }
  lines.push(JSON.stringify({ type: 2, payload: Buffer.concat([padding(previousSize), Buffer.alloc(1024)]).toString('base64'), position }));
  return gzipSync(`${lines.join('\n')}\n`);
}

/** The entries the engine should list for `files`. */
export function expectedEntries(files: LayerFile[]): RawEntry[] {
  return files.map((f) => ({
    name: f.name.replace(/\/+$/, ''),
    size: f.type === 'file' ? Buffer.byteLength(f.content ?? '') : 0,
    type: f.type,
    ...(f.type === 'symlink' ? { linkTarget: f.linkTarget } : {}),
    mode: f.mode,
  }));
}
