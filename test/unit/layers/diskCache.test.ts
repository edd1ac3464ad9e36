// The on-disk layer cache in a temp dir: bounded in bytes, least recently used out first, a hit touching
// its file itself (reads alone do not move mtime, and noatime mounts do not move atime).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_LAYER_CACHE_MAX_BYTES, DiskLayerCache, layerCacheMaxBytes } from '../../../src/core/layers/diskCache';
import type { RawEntry } from '../../../src/core/layers/tarHeader';

const chain = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

/** A listing whose file is about `bytes` long. */
function listing(bytes: number, tag = 'f'): RawEntry[] {
  const entries: RawEntry[] = [];
  for (let i = 0; entries.length * 40 < bytes; i++)
    entries.push({ name: `${tag}/${String(i).padStart(24, '0')}`, size: i, type: 'file', mode: 0o644 });
  return entries;
}

describe('layers/diskCache (bounded in bytes, LRU)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-layer-cache-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const onDisk = () =>
    fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => ({ n, size: fs.statSync(path.join(dir, n)).size, mtime: fs.statSync(path.join(dir, n)).mtimeMs }));
  const fileOf = (n: number) => path.join(dir, `${chain(n).slice('sha256:'.length)}.v1.json`);
  /** Sets a file's times to `secondsAgo` in the past, so the order does not hang on clock resolution. */
  const age = (n: number, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(fileOf(n), t, t);
  };

  it('gives back what it stored, entry for entry', async () => {
    const cache = new DiskLayerCache(dir, { maxBytes: 1 << 20 });
    const entries: RawEntry[] = [
      { name: 'etc/', size: 0, type: 'dir', mode: 0o755 },
      { name: 'etc/passwd', size: 12, type: 'file', mode: 0o644 },
      { name: 'bin/sh', size: 0, type: 'symlink', linkTarget: '/bin/busybox' },
      { name: 'odd', size: 0, type: 'fifo' },
    ];
    cache.put(chain(1), entries, 'tar-split');
    await cache.flush();
    assert.deepEqual(await cache.get(chain(1)), { entries, source: 'tar-split' });
    assert.equal(await cache.get(chain(2)), null);
  });

  it('drops the least recently used listings first when the bytes run over, a hit counting as a use', async () => {
    const cache = new DiskLayerCache(dir, { maxBytes: 10 * 1024 });
    for (const n of [1, 2, 3]) cache.put(chain(n), listing(3000, `l${n}`), 'tar-split');
    await cache.flush();
    const sizes = onDisk().map((f) => f.size);
    assert.equal(sizes.length, 3);
    assert.ok(
      sizes.every((s) => s > 2900 && s < 3400),
      `sizes ${sizes.join(', ')}`,
    );
    age(1, 300);
    age(2, 200);
    age(3, 100);
    // Listing 1 is the oldest write but read now: listing 2 becomes the least recently used.
    const before = fs.statSync(fileOf(1)).mtimeMs;
    assert.ok(await cache.get(chain(1)));
    await cache.flush();
    assert.ok(fs.statSync(fileOf(1)).mtimeMs > before + 250_000, 'a hit sets the file’s mtime to now');
    cache.put(chain(4), listing(3000, 'l4'), 'tar-split');
    await cache.flush();
    assert.equal(await cache.get(chain(2)), null, 'least recently used: gone');
    for (const n of [1, 3, 4]) assert.ok(await cache.get(chain(n)), `listing ${n} kept`);
    const total = onDisk().reduce((s, f) => s + f.size, 0);
    assert.ok(total <= 10 * 1024, `${total} bytes on disk`);
  });

  it('keeps the bound through a burst of concurrent writes', async () => {
    const cache = new DiskLayerCache(dir, { maxBytes: 20 * 1024 });
    for (let n = 1; n <= 40; n++) cache.put(chain(n), listing(1500, `b${n}`), 'tar-split');
    await cache.flush();
    const files = onDisk();
    const total = files.reduce((s, f) => s + f.size, 0);
    assert.ok(total <= 20 * 1024, `${total} bytes in ${files.length} files`);
    assert.ok(files.length >= 10, `the bound is used, not emptied: ${files.length} files`);
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')).length, 0, 'no temp files left');
  });

  it('does not store a listing bigger than the whole bound, and stores nothing with a bound of 0', async () => {
    const cache = new DiskLayerCache(dir, { maxBytes: 4096 });
    cache.put(chain(1), listing(1000), 'tar-split');
    cache.put(chain(2), listing(8000), 'tar-split');
    await cache.flush();
    assert.ok(await cache.get(chain(1)), 'the small one stays');
    assert.equal(await cache.get(chain(2)), null);
    const none = new DiskLayerCache(path.join(dir, 'zero'), { maxBytes: 0 });
    none.put(chain(3), listing(10), 'tar-split');
    await none.flush();
    assert.equal(fs.existsSync(path.join(dir, 'zero')), false);
  });

  it('still bounds the number of files, and removes temp files a dead writer left', async () => {
    const tmpOld = path.join(dir, `${'a'.repeat(64)}.v1.json.99999.tmp`);
    const tmpNew = path.join(dir, `${'b'.repeat(64)}.v1.json.99998.tmp`);
    fs.writeFileSync(tmpOld, 'x'.repeat(100));
    fs.writeFileSync(tmpNew, 'x');
    const old = new Date(Date.now() - 3600 * 1000);
    fs.utimesSync(tmpOld, old, old);
    const cache = new DiskLayerCache(dir, { maxBytes: 1 << 20, maxFiles: 3 });
    for (let n = 1; n <= 5; n++) {
      cache.put(chain(n), listing(200, `c${n}`), 'tar-split');
      await cache.flush();
      age(n, 100 - n);
    }
    assert.deepEqual(
      onDisk()
        .map((f) => f.n)
        .sort(),
      [3, 4, 5].map((n) => path.basename(fileOf(n))).sort(),
    );
    assert.equal(fs.existsSync(tmpOld), false, 'an hour-old temp file is removed');
    assert.equal(fs.existsSync(tmpNew), true, 'a fresh one may be another process mid-write');
  });

  it(`reads its bound from XRAY_LAYER_CACHE_MAX_BYTES, 512 MiB by default`, () => {
    assert.equal(DEFAULT_LAYER_CACHE_MAX_BYTES, 512 * 1024 * 1024);
    assert.equal(layerCacheMaxBytes({}), DEFAULT_LAYER_CACHE_MAX_BYTES);
    assert.equal(layerCacheMaxBytes({ XRAY_LAYER_CACHE_MAX_BYTES: '' }), DEFAULT_LAYER_CACHE_MAX_BYTES);
    assert.equal(layerCacheMaxBytes({ XRAY_LAYER_CACHE_MAX_BYTES: '1048576' }), 1048576);
    assert.equal(layerCacheMaxBytes({ XRAY_LAYER_CACHE_MAX_BYTES: '64M' }), 64 * 1024 * 1024);
    assert.equal(layerCacheMaxBytes({ XRAY_LAYER_CACHE_MAX_BYTES: ' 2 GiB ' }), 2 * 1024 ** 3);
    assert.equal(layerCacheMaxBytes({ XRAY_LAYER_CACHE_MAX_BYTES: '16k' }), 16 * 1024);
    assert.equal(layerCacheMaxBytes({ XRAY_LAYER_CACHE_MAX_BYTES: '0' }), 0);
    for (const bad of ['-1', '1.5G', 'lots', '12T', `${'9'.repeat(40)}`])
      assert.throws(() => layerCacheMaxBytes({ XRAY_LAYER_CACHE_MAX_BYTES: bad }), /XRAY_LAYER_CACHE_MAX_BYTES=.* is not a size/, bad);
  });
});
