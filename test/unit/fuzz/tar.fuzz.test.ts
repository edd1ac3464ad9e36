// Fuzzing the layer readers: tar headers, PAX records, Docker's tar-split files and `docker save` archives.
// Whatever the bytes, each returns a value, or rejects with an Error, in bounded time.
import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import * as fc from 'fast-check';
import * as tar from 'tar-stream';
import { readSavedImage } from '../../../src/core/layers/imageTar';
import { RawEntry, parsePaxRecords, parseTarHeader, readTarNumber, typeFromFlag } from '../../../src/core/layers/tarHeader';
import { readTarSplitStream } from '../../../src/core/layers/tarSplit';

const RUNS = 1000;
const FILE_TYPES = new Set(['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo', 'socket', 'other']);

/** Writes the header checksum the way tar does (the field counts as eight spaces). */
function withChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i];
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

interface HeaderSpec {
  name: Buffer;
  mode: number;
  size: string;
  typeflag: string;
  linkname: Buffer;
}

function headerBlock(h: HeaderSpec): Buffer {
  const b = Buffer.alloc(512);
  h.name.copy(b, 0, 0, 100);
  b.write(`${h.mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  b.write(h.size, 124, 12, 'latin1');
  b.write(h.typeflag, 156, 1, 'latin1');
  h.linkname.copy(b, 157, 0, 100);
  b.write('ustar\x0000', 257, 'latin1');
  return withChecksum(b);
}

/** Octal size fields as tar writes them, and the broken ones a hostile or damaged file may hold. */
const sizeField = fc.oneof(
  fc.nat({ max: 2 ** 33 - 1 }).map((n) => `${n.toString(8).padStart(11, '0')}\0`),
  fc.integer({ min: -(2 ** 20), max: -1 }).map((n) => `-${(-n).toString(8)}\0`),
  fc.constantFrom('', '\0', '   ', '99999999999', '-1', '-1000', '+7', ' 17 ', '7777777777777'),
  fc.string({ unit: 'binary-ascii', maxLength: 12 }),
);
const nameBytes = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => Buffer.from(s, 'utf8')),
  fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
);
const headerSpec: fc.Arbitrary<HeaderSpec> = fc.record({
  name: nameBytes,
  mode: fc.nat({ max: 0o7777 }),
  size: sizeField,
  typeflag: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', 'x', 'g', 'L', 'K', '\0', 'Z'),
  linkname: nameBytes,
});

/** Runs a property in a worker thread so that an endless loop fails the test instead of hanging the run. */
function inWorker(modulePaths: Record<string, string>, body: string, timeoutMs: number): Promise<void> {
  const requires = Object.entries(modulePaths)
    .map(([name, p]) => `const ${name} = require(${JSON.stringify(p)});`)
    .join('\n');
  const code = `const { parentPort } = require('node:worker_threads');\n${requires}\n(async () => {\n${body}\n})().then(() => parentPort.postMessage({ ok: true }), (err) => parentPort.postMessage({ ok: false, error: String(err && err.stack || err) }));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`the property did not finish within ${timeoutMs} ms: an input makes the parser loop forever`));
    }, timeoutMs);
    worker.on('message', (m: { ok: boolean; error?: string }) => {
      clearTimeout(timer);
      void worker.terminate();
      if (m.ok) resolve();
      else reject(new Error(m.error));
    });
    worker.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Settles or fails after `ms`: a reader that never settles is a hang. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} neither resolved nor rejected within ${ms} ms`)), ms);
    }),
  ]);
}

function assertEntries(entries: RawEntry[]): void {
  assert.ok(Array.isArray(entries));
  for (const e of entries) {
    assert.equal(typeof e.name, 'string');
    assert.notEqual(e.name, '');
    assert.ok(FILE_TYPES.has(e.type), `type ${e.type}`);
    assert.ok(Number.isFinite(e.size) && e.size >= 0, `size ${e.size} of ${JSON.stringify(e.name)}`);
    if (e.mode !== undefined) assert.ok(Number.isInteger(e.mode) && e.mode >= 0 && e.mode <= 0o7777);
  }
}

describe('fuzz: tar headers', () => {
  it('parseTarHeader on random blocks: null or a header, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        const h = parseTarHeader(Buffer.from(bytes));
        if (h) assert.equal(typeof h.name, 'string');
      }),
      { numRuns: RUNS },
    );
  });

  it('parseTarHeader on random blocks with a valid checksum: sizes and modes are non-negative integers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (bytes) => {
        const h = parseTarHeader(withChecksum(Buffer.from(bytes)));
        assert.ok(h, 'a block with a valid checksum is a header');
        assert.ok(Number.isSafeInteger(h.size) || (Number.isFinite(h.size) && h.size > Number.MAX_SAFE_INTEGER), `size ${h.size}`);
        assert.ok(h.size >= 0, `a header never has a negative size (got ${h.size})`);
        assert.ok(h.mode >= 0, `mode ${h.mode}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('parseTarHeader reads back generated ustar headers', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 99 }).filter((s) => !s.includes('\0')),
        fc.nat({ max: 0o7777 }),
        fc.nat({ max: 2 ** 33 - 1 }),
        fc.constantFrom('0', '2', '5', '3', '6'),
        fc.string({ unit: 'grapheme-ascii', maxLength: 99 }).filter((s) => !s.includes('\0')),
        (name, mode, size, typeflag, linkname) => {
          const h = parseTarHeader(
            headerBlock({
              name: Buffer.from(name),
              mode,
              size: `${size.toString(8).padStart(11, '0')}\0`,
              typeflag,
              linkname: Buffer.from(linkname),
            }),
          );
          assert.deepEqual(h, { name, mode, size, typeflag, linkname });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('readTarNumber: a finite non-negative number for any 8- or 12-byte field (octal or base-256)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.constantFrom(8, 12), (bytes, len) => {
        const n = readTarNumber(Buffer.from(bytes), 0, len);
        assert.ok(Number.isFinite(n) && n >= 0, `${Buffer.from(bytes).toString('hex')} → ${n}`);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(sizeField, (field) => {
        const b = Buffer.alloc(12);
        b.write(field, 0, 'latin1');
        const n = readTarNumber(b, 0, 12);
        assert.ok(Number.isFinite(n) && n >= 0, `${JSON.stringify(field)} → ${n}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('parsePaxRecords: never throws; generated records read back (UTF-8 values, newlines, "=" inside)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
          fc.array(fc.constantFrom('1', '9', '12 ', ' ', '=', 'path', '\n', 'x'), { maxLength: 60 }).map((a) => Buffer.from(a.join(''))),
        ),
        (buf) => {
          const m = parsePaxRecords(buf);
          for (const [k, v] of m) assert.ok(typeof k === 'string' && k !== '' && typeof v === 'string');
        },
      ),
      { numRuns: RUNS },
    );
    const record = (key: string, value: string): Buffer => {
      const body = Buffer.from(` ${key}=${value}\n`, 'utf8');
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len = String(len).length + body.length;
      return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
    };
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(
            fc.constantFrom('path', 'linkpath', 'size', 'uname', 'SCHILY.xattr.user.x', 'mtime'),
            fc.string({ unit: 'binary', maxLength: 300 }),
          ),
          { selector: ([k]) => k, maxLength: 6 },
        ),
        (records) => {
          const m = parsePaxRecords(Buffer.concat(records.map(([k, v]) => record(k, v))));
          assert.deepEqual(m, new Map(records));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: tar-split (layerdb/<chain>/tar-split.json.gz)', () => {
  const modules = {
    fc: require.resolve('fast-check'),
    tarSplit: require.resolve('../../../src/core/layers/tarSplit'),
  };

  it('headerFromSegment terminates on any segment of valid-checksum headers with any sizes, and on random bytes', async function () {
    this.timeout(60000);
    // Runs in a worker: an endless loop must fail the test, not hang the run.
    await inWorker(
      modules,
      `
      function withChecksum(b) { b.fill(0x20, 148, 156); let s = 0; for (let i = 0; i < 512; i++) s += b[i]; b.write(s.toString(8).padStart(6, '0') + '\\0 ', 148, 'latin1'); return b; }
      const block = fc.record({
        size: fc.oneof(fc.nat({ max: 4096 }).map((n) => n.toString(8)), fc.integer({ min: -100000, max: -1 }).map((n) => '-' + (-n).toString(8)), fc.constantFrom('', 'zz', '7777777777')),
        typeflag: fc.constantFrom('x', 'g', 'L', 'K', '0', '5', '2', '\\0'),
        data: fc.uint8Array({ maxLength: 40 }),
      }).map(({ size, typeflag, data }) => {
        const b = Buffer.alloc(512);
        b.write('name', 0);
        b.write(size, 124, 12, 'latin1');
        b.write(typeflag, 156, 1, 'latin1');
        b.write('ustar\\x0000', 257, 'latin1');
        withChecksum(b);
        return Buffer.concat([b, Buffer.from(data)]);
      });
      fc.assert(fc.property(fc.array(block, { maxLength: 6 }), fc.integer({ min: -5000, max: 5000 }), (blocks, prev) => {
        const r = tarSplit.headerFromSegment(Buffer.concat(blocks), prev);
        if (r !== null && (typeof r.typeflag !== 'string' || typeof r.linkname !== 'string')) throw new Error('bad header ' + JSON.stringify(r));
      }), { numRuns: ${RUNS} });
      fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat({ max: 100000 }), (bytes, prev) => {
        tarSplit.headerFromSegment(Buffer.from(bytes), prev);
      }), { numRuns: ${RUNS} });
      `,
      30000,
    );
  });

  /** Splits a tar the way tar-split stores it: everything but file contents as segments, and one line per entry. */
  function toTarSplit(tarBytes: Buffer, names: Buffer[]): string[] {
    const lines: string[] = [];
    let segStart = 0;
    let pos = 0;
    let entry = 0;
    while (pos + 512 <= tarBytes.length) {
      const block = tarBytes.subarray(pos, pos + 512);
      if (block.every((b) => b === 0)) break;
      const flag = String.fromCharCode(block[156]);
      const size = parseInt(block.subarray(124, 136).toString('latin1').replace(/\0.*$/, '').trim() || '0', 8);
      pos += 512;
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        pos += Math.ceil(size / 512) * 512;
        continue;
      }
      lines.push(JSON.stringify({ type: 2, payload: tarBytes.subarray(segStart, pos).toString('base64') }));
      const name = names[entry++];
      const valid = Buffer.from(name.toString('utf8'), 'utf8').equals(name);
      // Go's tar-split stores a name that is not valid UTF-8 as bytes, in name_raw (base64).
      lines.push(
        JSON.stringify(
          valid
            ? { type: 1, name: name.toString('utf8'), size, position: entry }
            : { type: 1, name_raw: name.toString('base64'), size, position: entry },
        ),
      );
      pos += size;
      segStart = pos;
      pos += (512 - (size % 512)) % 512;
    }
    lines.push(JSON.stringify({ type: 2, payload: tarBytes.subarray(segStart).toString('base64') }));
    return lines;
  }

  const tarEntry = fc.record({
    name: fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).map((s) => Buffer.from(`f/${s.replace(/\0/g, '')}`, 'utf8')),
      fc.stringMatching(/^[a-z]{1,8}$/).map((s) => Buffer.from(s)),
      fc.constant(Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74])), // bad\xff\xfe.txt
      fc.nat({ max: 3000 }).map((n) => Buffer.from(`long/${'d'.repeat(200)}/${'x'.repeat(n % 250)}${n}`)),
    ),
    type: fc.constantFrom('file', 'directory', 'symlink', 'character-device', 'fifo'),
    size: fc.nat({ max: 1500 }),
    linkname: fc.oneof(
      fc.constant(Buffer.from('target')),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 150 }).map((s) => Buffer.from(s.replace(/\0/g, '') || 't')),
    ),
    mode: fc.nat({ max: 0o7777 }),
    long: fc.constantFrom('pax' as const, 'gnu' as const),
  });

  /** A PAX record (`<len> key=value\n`, the length counting itself), over raw bytes. */
  function paxRecord(key: string, value: Buffer): Buffer {
    const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  }

  function padded(data: Buffer): Buffer {
    return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
  }

  /** Writes a tar by hand so that names keep their raw bytes (tar-stream would encode them as UTF-8): PAX or GNU long names. */
  function rawTar(entries: { name: Buffer; type: string; size: number; linkname: Buffer; mode: number; long: 'pax' | 'gnu' }[]): Buffer {
    const flags: Record<string, string> = { file: '0', directory: '5', symlink: '2', 'character-device': '3', fifo: '6' };
    const parts: Buffer[] = [];
    for (const e of entries) {
      const size = e.type === 'file' ? e.size : 0;
      const link = e.type === 'symlink' ? e.linkname : Buffer.alloc(0);
      if (e.name.length > 100 || link.length > 100) {
        if (e.long === 'pax') {
          const data = Buffer.concat([
            ...(e.name.length > 100 ? [paxRecord('path', e.name)] : []),
            ...(link.length > 100 ? [paxRecord('linkpath', link)] : []),
          ]);
          parts.push(
            headerBlock({
              name: Buffer.from('PaxHeaders/x'),
              mode: 0o644,
              size: `${data.length.toString(8).padStart(11, '0')}\0`,
              typeflag: 'x',
              linkname: Buffer.alloc(0),
            }),
            padded(data),
          );
        } else {
          for (const [flag, value] of [
            ['L', e.name],
            ['K', link],
          ] as const) {
            if (value.length <= 100) continue;
            const data = Buffer.concat([value, Buffer.from([0])]);
            parts.push(
              headerBlock({
                name: Buffer.from('././@LongLink'),
                mode: 0o644,
                size: `${data.length.toString(8).padStart(11, '0')}\0`,
                typeflag: flag,
                linkname: Buffer.alloc(0),
              }),
              padded(data),
            );
          }
        }
      }
      parts.push(
        headerBlock({
          name: e.name.subarray(0, 100),
          mode: e.mode,
          size: `${size.toString(8).padStart(11, '0')}\0`,
          typeflag: flags[e.type],
          linkname: link.subarray(0, 100),
        }),
      );
      parts.push(padded(Buffer.alloc(size, 0x61)));
    }
    parts.push(Buffer.alloc(1024));
    return Buffer.concat(parts);
  }

  it('readTarSplitStream lists exactly what the layer tar holds: names (invalid UTF-8 ones too), types, sizes, links', async function () {
    this.timeout(60000);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(tarEntry, { selector: (e) => e.name.toString('latin1'), minLength: 1, maxLength: 6 }),
        async (entries) => {
          const tarBytes = rawTar(entries);
          const lines = toTarSplit(
            tarBytes,
            entries.map((e) => e.name),
          );
          const got = await within(readTarSplitStream(Readable.from([gzipSync(`${lines.join('\n')}\n`)])), 5000, 'readTarSplitStream');
          assertEntries(got);
          const expected = entries.map((e) => {
            const type = { file: 'file', directory: 'dir', symlink: 'symlink', 'character-device': 'char', fifo: 'fifo' }[e.type]!;
            return {
              name: e.name.toString('utf8').replace(/\/+$/, ''),
              type,
              size: type === 'file' ? e.size : 0,
              mode: e.mode,
              ...(type === 'symlink' ? { linkTarget: e.linkname.toString('utf8') } : {}),
            };
          });
          assert.deepEqual(
            got.map((g) => ({ ...g })),
            expected.filter((e) => e.name !== ''),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('readTarSplitStream on random gzip’d JSON lines, garbage and truncated gzip: resolves or rejects with an Error', async function () {
    this.timeout(60000);
    const line = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            type: fc.oneof(fc.constantFrom(1, 2), fc.jsonValue()),
            name: fc.oneof(fc.string(), fc.jsonValue()),
            size: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.jsonValue()),
            payload: fc.oneof(fc.base64String(), fc.jsonValue()),
            name_raw: fc.oneof(fc.base64String(), fc.jsonValue()),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
      headerSpec.map((h) => JSON.stringify({ type: 2, payload: headerBlock(h).toString('base64') })),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 12 }),
        fc.oneof(fc.constant(-1), fc.nat({ max: 400 })),
        fc.boolean(),
        async (lines, cut, gz) => {
          let bytes = gz ? gzipSync(`${lines.join('\n')}\n`) : Buffer.from(lines.join('\n'));
          if (cut >= 0) bytes = bytes.subarray(0, cut);
          try {
            assertEntries(await within(readTarSplitStream(Readable.from([bytes])), 5000, 'readTarSplitStream'));
          } catch (err) {
            assert.ok(err instanceof Error, `rejects with an Error, not ${String(err)}`);
            assert.doesNotMatch(err.message, /neither resolved nor rejected/);
            assert.doesNotMatch(
              err.message,
              /Cannot read properties|is not a function|must be of type/,
              `a typed message, not a TypeError from inside: ${err.message}`,
            );
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: docker save archives (readSavedImage)', () => {
  /** Collects a pack's output while it is written (a pack left unread stops accepting entries). */
  function collect(pack: tar.Pack): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      pack.on('data', (c: unknown) => {
        if (Buffer.isBuffer(c)) parts.push(c);
      });
      pack.on('end', () => resolve(Buffer.concat(parts)));
      pack.on('error', reject);
    });
  }

  async function savedImage(layers: { name: string; size: number }[][], legacy: boolean): Promise<Buffer> {
    const pack = tar.pack();
    const whole = collect(pack);
    const add = (name: string, body: Buffer) =>
      new Promise<void>((resolve, reject) =>
        pack.entry({ name, size: body.length, type: 'file', mode: 0o644 } as tar.Header, body, (err) => (err ? reject(err) : resolve())),
      );
    const members: string[] = [];
    for (const [i, files] of layers.entries()) {
      const inner = tar.pack();
      const layerTar = collect(inner);
      for (const f of files)
        inner.entry({ name: f.name, size: f.size, type: 'file', mode: 0o644 } as tar.Header, Buffer.alloc(f.size, 0x62));
      inner.finalize();
      const member = legacy ? `${String(i).padStart(64, 'a')}/layer.tar` : `blobs/sha256/${String(i).padStart(64, 'b')}`;
      await add(member, await layerTar);
      members.push(member);
    }
    await add(
      `${'c'.repeat(64)}.json`,
      Buffer.from(JSON.stringify({ rootfs: { diff_ids: layers.map((_, i) => `sha256:${i}`) }, history: [] })),
    );
    await add('manifest.json', Buffer.from(JSON.stringify([{ Config: `${'c'.repeat(64)}.json`, RepoTags: ['x:1'], Layers: members }])));
    pack.finalize();
    return whole;
  }

  const layers = fc.array(
    fc.array(fc.record({ name: fc.stringMatching(/^[a-z]{1,10}(\/[a-z]{1,10}){0,2}$/), size: fc.nat({ max: 2000 }) }), { maxLength: 4 }),
    { minLength: 1, maxLength: 3 },
  );

  it('reads back generated archives (legacy and OCI layouts)', async function () {
    this.timeout(60000);
    await fc.assert(
      fc.asyncProperty(layers, fc.boolean(), async (ls, legacy) => {
        const saved = await within(readSavedImage(Readable.from([await savedImage(ls, legacy)])), 5000, 'readSavedImage');
        assert.deepEqual(
          saved.layers.map((l) => l.map((e) => [e.name, e.size])),
          ls.map((l) => l.map((f) => [f.name, f.size])),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('random, truncated and corrupted archives: resolve or reject with an Error, in bounded time', async function () {
    this.timeout(120000);
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }),
      }),
      fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 3000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(layers, fc.boolean(), damage, fc.nat({ max: 4096 }), async (ls, legacy, d, chunk) => {
        let bytes = await savedImage(ls, legacy);
        if (d.kind === 'cut') bytes = bytes.subarray(0, Math.floor(d.at * bytes.length));
        else if (d.kind === 'flip') for (const [at, v] of d.at) bytes[Math.floor(at * (bytes.length - 1))] = v;
        else bytes = Buffer.from(d.bytes);
        // Deliver in chunks of random size, as a socket would.
        const size = chunk + 1;
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
        try {
          const saved = await within(readSavedImage(Readable.from(chunks)), 5000, 'readSavedImage');
          for (const l of saved.layers) assertEntries(l);
        } catch (err) {
          assert.ok(err instanceof Error, `rejects with an Error, not ${String(err)}`);
          assert.doesNotMatch(err.message, /neither resolved nor rejected/);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('readSavedImage and readTarSplitStream stop when their signal aborts, and report progress', async () => {
    const image = await savedImage([[{ name: 'a', size: 10 }]], true);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(readSavedImage(Readable.from([image]), { signal: ac.signal }), { name: 'AbortError' });
    const lines = [...Array(25000).keys()].map((i) => JSON.stringify({ type: 1, name: `f${i}`, size: 0 })).join('\n');
    const seen: number[] = [];
    const entries = await readTarSplitStream(Readable.from([gzipSync(lines)]), { onProgress: (n) => seen.push(n) });
    assert.equal(entries.length, 25000);
    assert.deepEqual(seen, [10000, 20000]);
    const mid = new AbortController();
    const reading = readTarSplitStream(Readable.from([gzipSync(lines)]), { signal: mid.signal, onProgress: () => mid.abort() });
    await assert.rejects(reading, { name: 'AbortError' });
  });

  it('typeFromFlag maps every byte to a known type', () => {
    for (let i = 0; i < 256; i++) assert.ok(FILE_TYPES.has(typeFromFlag(String.fromCharCode(i))));
  });
});
