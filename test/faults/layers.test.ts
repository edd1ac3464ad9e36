// Layers that strain the reader: 200 000 files (in an image layer and in a container's writable layer), a
// 300-level tree, symlink loops, device nodes, a sparse 1 TiB file. Memory stays bounded (measured in a
// process of its own), long work reports progress and can be cancelled, nothing is followed or read whole.
import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import type { LayerChange } from '../../src/shared/model';
import {
  BASE_IMAGE,
  TEST_LABEL,
  docker,
  ensureBaseImage,
  imageExists,
  inspect,
  removeContainers,
  requireDocker,
  runContainer,
} from '../support/docker';
import type { ChildResult } from './layersChild';
import { mib, within } from './support';
import { GenEntry, manyFiles, tarStream } from './tarGen';

const MANY = 200_000;
/** Built once and kept: making it takes ~15 s. `docker rmi xray-fault-200k:1` to rebuild. */
const MANY_IMAGE = 'xray-fault-200k:1';
const ODD_IMAGE = 'xray-fault-odd:1';
const MANY_CONTAINER = 'xray-fault-200k';
const ODD_CONTAINER = 'xray-fault-odd';
const TIB = 2 ** 40;
/**
 * Peak RSS allowed for 200 000 entries: each entry is held about four times over (the raw listing, the
 * stacked tree, the change list, the sorted copy) at roughly 250–400 bytes each, ~300 MB at worst, on a
 * Node baseline of ~50 MB. Twice the ~240 MB measured here; ten times less than holding file contents.
 */
const MAX_RSS_MB = 600;

/** Files the shell cannot make quickly or at all without privileges: one imported layer of them. */
function* oddEntries(): Generator<GenEntry> {
  yield { name: 'odd', type: 'dir' };
  yield { name: 'odd/file', type: 'file', size: 5 };
  yield { name: 'odd/hard', type: 'hardlink', link: 'odd/file' };
  yield { name: 'odd/a', type: 'symlink', link: 'b' };
  yield { name: 'odd/b', type: 'symlink', link: 'a' };
  yield { name: 'odd/loop', type: 'symlink', link: '.' };
  yield { name: 'odd/up', type: 'symlink', link: '..' };
  yield { name: 'odd/self', type: 'symlink', link: 'self' };
  yield { name: 'odd/null', type: 'char', major: 1, minor: 3, mode: 0o666 };
  yield { name: 'odd/loop0', type: 'block', major: 7, minor: 0, mode: 0o660 };
  yield { name: 'odd/fifo', type: 'fifo', mode: 0o644 };
  let p = 'odd/deep';
  yield { name: p, type: 'dir' };
  for (let i = 1; i < 300; i++) yield { name: (p = `${p}/d`), type: 'dir' };
  yield { name: `${p}/bottom`, type: 'file', size: 6 };
}

const ODD_SHELL = String.raw`set -e
mkdir -p /w && cd /w
echo file > file && ln file hard
ln -s b a && ln -s a b && ln -s . loop && ln -s .. up && ln -s self self
mknod null c 1 3 && mknod loop0 b 7 0 && mkfifo fifo
truncate -s ${TIB} sparse
p=deep; for i in $(seq 2 300); do p=$p/d; done
mkdir -p $p && echo bottom > $p/bottom
`;

function importTar(entries: Iterable<GenEntry>, ref: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', ['import', '--change', `LABEL ${TEST_LABEL}`, '-', ref], { timeout: 300000 }, (err, _o, stderr) =>
      err ? reject(new Error(`docker import ${ref}: ${stderr || err.message}`)) : resolve(),
    );
    tarStream(entries).pipe(child.stdin!);
  });
}

/**
 * Puts `count` names (directories of 1 000) straight into a container's upper dir from the host: each
 * directory's first name a file, the rest hard links to it. The engine walks directory entries, so 200 000
 * names are 200 000 entries to it; links cost no inode, which matters here: ext4 slows inode allocation for
 * minutes after many deletions (find_inode_bit → recently_deleted), so making and removing 200 000 files on
 * every run made each run pay for the previous run's cleanup (15 s became 60–120 s). busybox tar is no
 * help either: it searches its hard-link list linearly.
 */
async function fillUpperDir(container: string, count: number): Promise<string> {
  const upper = (await inspect<{ GraphDriver: { Data: { UpperDir?: string } } }>(container)).GraphDriver.Data.UpperDir;
  if (!upper) throw new Error(`${container} has no overlay2 upper dir (storage driver overlay2 is needed)`);
  fs.mkdirSync(path.join(upper, 'many'));
  for (let i = 0; i < count; i += 1000) {
    const dir = path.join(upper, 'many', `d${String(i / 1000).padStart(3, '0')}`);
    fs.mkdirSync(dir);
    const first = path.join(dir, `f${String(i).padStart(6, '0')}`);
    fs.writeFileSync(first, '');
    for (let j = i + 1; j < Math.min(count, i + 1000); j++) fs.linkSync(first, path.join(dir, `f${String(j).padStart(6, '0')}`));
  }
  return upper;
}

/** Engine.layers in a child process: peak RSS and bytes read are that process's alone. */
function measure(ref: string, full = false, timeoutMs = 120000): Promise<ChildResult> {
  const script = path.join(__dirname, 'layersChild.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ref, ...(full ? ['--full'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0)
        reject(
          new Error(
            `layers of ${ref} in a child process: ${signal ? `killed (${signal}) after ${timeoutMs} ms` : `exit ${code}`}: ${err.slice(0, 2000)}`,
          ),
        );
      else resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as ChildResult);
    });
  });
}

function assertOdd(changes: LayerChange[], root: string, what: string): void {
  const at = new Map(changes.map((c) => [c.path, c]));
  const type = (p: string) => at.get(`${root}/${p}`)?.type;
  for (const [p, target] of [
    ['a', 'b'],
    ['b', 'a'],
    ['loop', '.'],
    ['up', '..'],
    ['self', 'self'],
  ]) {
    assert.equal(type(p), 'symlink', `${what}: ${p} is a symlink`);
    assert.equal(at.get(`${root}/${p}`)?.linkTarget, target, `${what}: ${p} → ${target}`);
    assert.ok(!changes.some((c) => c.path.startsWith(`${root}/${p}/`)), `${what}: ${p} is never followed`);
  }
  assert.equal(type('null'), 'char', `${what}: a character device`);
  assert.equal(type('loop0'), 'block', `${what}: a block device`);
  assert.equal(type('fifo'), 'fifo', `${what}: a fifo`);
  assert.equal(at.get(`${root}/null`)?.sizeBytes, 0);
  const deep = changes.filter((c) => c.path === `${root}/deep` || c.path.startsWith(`${root}/deep/`));
  assert.equal(deep.filter((c) => c.type === 'dir').length, 300, `${what}: 300 directories deep`);
  const bottom = deep.find((c) => c.path.endsWith('/bottom'));
  assert.ok(bottom, `${what}: the file at the bottom of the 300-level tree`);
  assert.equal(bottom.path.split('/').length - root.split('/').length, 301);
}

describe('faults: huge and odd layers', function () {
  this.timeout(300000);
  const figures: Record<string, number | string> = {};
  let manyImage: ChildResult;
  let manyContainer: ChildResult;

  before(async function () {
    this.timeout(300000);
    requireDocker();
    await ensureBaseImage();
    await removeContainers([MANY_CONTAINER, ODD_CONTAINER]);
    const t0 = Date.now();
    if (!(await imageExists(MANY_IMAGE))) await importTar(manyFiles(MANY), MANY_IMAGE);
    figures.manyImageReadyMs = Date.now() - t0;
    await importTar(oddEntries(), ODD_IMAGE);
    await runContainer(['--name', MANY_CONTAINER, '--network', 'none', BASE_IMAGE, 'sleep', '3600']);
    await runContainer(['--name', ODD_CONTAINER, '--network', 'none', BASE_IMAGE, 'sleep', '3600']);
    const t1 = Date.now();
    await fillUpperDir(MANY_CONTAINER, MANY);
    await docker(['exec', ODD_CONTAINER, 'sh', '-c', ODD_SHELL]);
    figures.manyContainerFillMs = Date.now() - t1;
  });

  after(async () => {
    await removeContainers([MANY_CONTAINER, ODD_CONTAINER]);
    await docker(['rmi', '-f', ODD_IMAGE]).catch(() => undefined);
    console.log(`      figures: ${JSON.stringify(figures)}`);
  });

  it(`an image layer of ${MANY} files: every entry listed, peak RSS below ${MAX_RSS_MB} MB`, async () => {
    manyImage = await measure(MANY_IMAGE);
    figures.manyImageMs = manyImage.ms;
    figures.manyImagePeakRssMiB = mib(manyImage.maxRssKb);
    assert.equal(manyImage.changes, MANY + MANY / 1000 + 1, 'one change per file and directory');
    assert.deepEqual(manyImage.errors, []);
    assert.ok(manyImage.maxRssKb / 1024 < MAX_RSS_MB, `peak RSS ${mib(manyImage.maxRssKb)} MiB`);
  });

  it(`a writable layer of ${MANY} files: every entry listed, peak RSS below ${MAX_RSS_MB} MB, progress as it walks`, async () => {
    manyContainer = await measure(MANY_CONTAINER);
    figures.manyContainerMs = manyContainer.ms;
    figures.manyContainerPeakRssMiB = mib(manyContainer.maxRssKb);
    figures.manyContainerProgressCalls = manyContainer.progress.length;
    assert.ok(
      manyContainer.upperChanges !== null && manyContainer.upperChanges >= MANY + MANY / 1000 + 1,
      `upper changes ${manyContainer.upperChanges}`,
    );
    assert.ok(manyContainer.maxRssKb / 1024 < MAX_RSS_MB, `peak RSS ${mib(manyContainer.maxRssKb)} MiB`);
    const counts = manyContainer.progress
      .map((p) => Number(/^(\d+) entries of the writable layer/.exec(p.message)?.[1] ?? NaN))
      .filter((n) => !Number.isNaN(n));
    assert.ok(counts.length >= MANY / 10000, `progress every few thousand entries (${counts.length} reports)`);
    assert.ok(
      counts.every((n, i) => i === 0 || n >= counts[i - 1]),
      'progress counts only grow',
    );
    assert.ok(counts[counts.length - 1] >= MANY, `the last report counts every entry (${counts[counts.length - 1]})`);
  });

  it(`an image layer of ${MANY} files reports progress while it is read`, () => {
    assert.ok(manyImage, 'measured by the test above');
    figures.manyImageProgressCalls = manyImage.progress.length;
    assert.ok(
      manyImage.progress.length >= 2,
      `Engine.layers on an image of ${MANY} files (${manyImage.ms} ms of work) called onProgress ${manyImage.progress.length} times: ${JSON.stringify(manyImage.progress.slice(0, 3))}`,
    );
  });

  it('cancelling the walk of a 200 000-file writable layer stops it promptly', async () => {
    const engine = await Engine.create({ diskCache: false });
    const ac = new AbortController();
    let abortedAt = 0;
    const started = Date.now();
    const work = engine.layers(MANY_CONTAINER, {
      signal: ac.signal,
      onProgress: (m) => {
        if (abortedAt === 0 && /writable layer/.test(m)) {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    });
    await assert.rejects(
      within(work, 30000, 'the cancelled walk'),
      (err: Error) => /cancel/i.test(err.message) || err.name === 'AbortError',
    );
    figures.cancelWritableLatencyMs = Date.now() - abortedAt;
    figures.cancelWritableAfterStartMs = abortedAt - started;
    assert.ok(abortedAt > 0, 'the walk reported progress, and was cancelled then');
    assert.ok(figures.cancelWritableLatencyMs < 1000, `stopped ${figures.cancelWritableLatencyMs} ms after the abort`);
  });

  it('cancelling the read of a 200 000-file image layer stops it promptly', async () => {
    const engine = await Engine.create({ diskCache: false });
    const ac = new AbortController();
    let abortedAt = 0;
    const timer = setTimeout(() => {
      abortedAt = Date.now();
      ac.abort();
    }, 150);
    const work = engine.layers(MANY_IMAGE, { signal: ac.signal });
    let outcome = 'resolved';
    try {
      await within(work, 60000, 'the cancelled image read');
    } catch (err) {
      outcome = (err as Error).message;
    } finally {
      clearTimeout(timer);
    }
    figures.cancelImageLatencyMs = abortedAt ? Date.now() - abortedAt : 'never aborted';
    assert.ok(abortedAt > 0, 'aborted while reading');
    assert.match(outcome, /cancel/i, 'the call rejects as cancelled');
    assert.ok(Number(figures.cancelImageLatencyMs) < 1000, `stopped ${figures.cancelImageLatencyMs} ms after the abort`);
  });

  it('an imported layer with symlink loops, device nodes, a hard link and a 300-level tree: right types, nothing followed', async () => {
    const r = await measure(ODD_IMAGE, true, 60000);
    const layer = r.report!.layers[0];
    assertOdd(layer.changes, '/odd', 'image');
    const hard = layer.changes.find((c) => c.path === '/odd/hard');
    assert.equal(hard?.type, 'hardlink');
    assert.equal(hard?.linkTarget, 'odd/file');
  });

  it('a writable layer with the same and a sparse 1 TiB file: 1 TiB reported, no byte of it read', async () => {
    const r = await measure(ODD_CONTAINER, true, 60000);
    figures.oddContainerMs = r.ms;
    figures.oddContainerReadMiB = Math.round(r.readBytes / 2 ** 20);
    const changes = r.report!.upper!.changes;
    assertOdd(changes, '/w', 'writable layer');
    const sparse = changes.find((c) => c.path === '/w/sparse');
    assert.equal(sparse?.type, 'file');
    assert.equal(sparse?.sizeBytes, TIB, 'the size is the file’s length, 1 TiB');
    assert.ok(r.report!.upper!.sizeBytes >= TIB);
    assert.ok(r.readBytes >= 0 && r.readBytes < 256 * 2 ** 20, `the engine read ${r.readBytes} bytes in all (rchar), not the file`);
    assert.ok(r.ms < 30000, `done in ${r.ms} ms`);
  });
});
