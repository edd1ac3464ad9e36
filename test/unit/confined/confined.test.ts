// The confined reader and walker on real temp trees: links of every kind (absolute, relative, chained,
// intermediate, `..` beyond the root, loops, /proc magic links), non-regular files, caps, deadlines, fd
// bounds, and a directory swapped with a link to a host directory while it is walked.
import * as assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { existsConfinedAt, readConfinedAt } from '../../../src/core/confined/read';
import { WALK_WINDOW, walkTreeConfined } from '../../../src/core/confined/walk';
import { ConfinedReadError, ConfinedRefusal } from '../../../src/core/util/hostFiles';

const LIMITS = { maxBytes: 1024 * 1024, deadlineMs: 2000 };
const SECRET = 'host-secret-0600';

async function refusal(p: Promise<unknown>): Promise<ConfinedReadError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfinedReadError, `a ConfinedReadError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** This process's fds on something below `dir` (one too deep to name counts: its path is over PATH_MAX). */
function fdsUnder(dir: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`)) n++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') n++;
    }
  }
  return n;
}

describe('confined reads inside a root', () => {
  let base: string;
  let root: string;
  let outside: string;

  before(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-confined-'));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(root, 'sub', 'deeper'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), SECRET, { mode: 0o600 });
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    fs.writeFileSync(path.join(root, 'secret'), 'inside');
    const link = (target: string, name: string) => fs.symlinkSync(target, path.join(root, name));
    link(path.join(outside, 'secret'), 'abs-out'); // absolute, to a host file
    link(outside, 'dir-out'); // absolute, to a host dir (used as an intermediate)
    link('/etc/passwd', 'abs-in'); // absolute, meant inside the root
    link('../../../../../../../secret', 'sub/deeper/rel-up'); // relative, climbing above the root
    link('../../../outside/secret', 'rel-out'); // relative, to the host file beside the root
    link('sub/deeper', 'mid'); // an intermediate link inside
    link('/proc/self/root' + path.join(outside, 'secret'), 'magic'); // through a magic link
    link('loop-b', 'loop-a');
    link('loop-a', 'loop-b');
    link('self', 'self');
    fs.writeFileSync(path.join(root, 'chain-0'), 'end of chain');
    for (let i = 1; i <= 41; i++) link(`chain-${i - 1}`, `chain-${i}`);
    link('missing', 'dangling');
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    fs.writeFileSync(path.join(root, 'big'), '');
    fs.truncateSync(path.join(root, 'big'), 10 * 1024 * 1024 * 1024);
    fs.writeFileSync(path.join(root, 'ten'), '0123456789');
  });

  after(() => fs.rmSync(base, { recursive: true, force: true }));

  const read = (rel: string, limits = LIMITS) => readConfinedAt(root, rel, limits);

  it('reads a regular file, and `..` and `.` stay inside', async () => {
    assert.equal((await read('/etc/passwd')).data.toString(), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal((await read('/../../../etc/./passwd')).data.toString(), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal((await read('etc/passwd')).truncated, false);
  });

  it('resolves an absolute link inside the root, never on the host', async () => {
    assert.equal((await read('/abs-in')).data.toString(), 'root:x:0:0::/root:/bin/sh\n');
    const e = await refusal(read('/abs-out'));
    assert.equal(e.code, 'ENOENT', 'the host path is looked up inside the root, where it does not exist');
    assert.equal(e.refusal, 'link-escape');
    assert.equal(e.message, '/abs-out is a link to a path the root does not have: not read');
  });

  it('does not follow an intermediate link out of the root', async () => {
    const e = await refusal(read('/dir-out/secret'));
    assert.equal(e.code, 'ENOENT');
    assert.equal((await read('/mid/rel-up')).data.toString(), 'inside', 'an intermediate link inside the root is followed');
  });

  it('clamps a relative link climbing above the root at the root', async () => {
    assert.equal((await read('/sub/deeper/rel-up')).data.toString(), 'inside');
    assert.equal((await refusal(read('/rel-out'))).code, 'ENOENT');
  });

  it('never follows a /proc magic link', async () => {
    assert.equal((await refusal(read('/magic'))).code, 'ENOENT');
  });

  it('stops link loops and chains over 40 links', async () => {
    for (const p of ['/loop-a', '/self', '/chain-41'])
      assert.equal((await refusal(read(p))).refusal, 'link-loop' satisfies ConfinedRefusal, p);
    assert.equal((await read('/chain-40')).data.toString(), 'end of chain', '40 links are allowed');
  });

  it('refuses a FIFO, a directory and a device without opening them', async () => {
    const fifo = await refusal(read('/fifo'));
    assert.equal(fifo.refusal, 'not-regular');
    assert.equal(fifo.message, '/fifo is a FIFO: not read');
    assert.equal((await refusal(read('/sub'))).message, '/sub is a directory: not read');
    assert.equal((await refusal(readConfinedAt('/', '/dev/null', LIMITS))).message, '/dev/null is a character device: not read');
  });

  it('refuses a kernel file (procfs) reached inside a root', async () => {
    const e = await refusal(readConfinedAt('/', '/proc/self/environ', LIMITS));
    assert.equal(e.refusal, 'not-regular');
    assert.match(e.message, /kernel file \(on procfs\)/);
  });

  it('caps what it reads: a 10 GiB sparse file costs maxBytes', async () => {
    const before = process.memoryUsage().rss;
    const big = await read('/big');
    assert.equal(big.truncated, true);
    assert.equal(big.data.length, LIMITS.maxBytes);
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'memory stays bounded');
    const ten = await read('/ten', { maxBytes: 4, deadlineMs: 1000 });
    assert.deepEqual([ten.data.toString(), ten.truncated], ['0123', true]);
    const exact = await read('/ten', { maxBytes: 10, deadlineMs: 1000 });
    assert.deepEqual([exact.data.toString(), exact.truncated], ['0123456789', false]);
  });

  it('gives up at the deadline', async () => {
    const e = await refusal(read('/etc/passwd', { maxBytes: 10, deadlineMs: 0 }));
    assert.equal(e.refusal, 'timeout');
  });

  it('checks existence as lstat would, confined', async () => {
    assert.equal(await existsConfinedAt(root, '/dangling', 1000), true, 'a dangling link exists (not followed)');
    assert.equal(await existsConfinedAt(root, '/etc/passwd', 1000), true);
    assert.equal(await existsConfinedAt(root, '/dir-out/secret', 1000), false, 'not through a link out of the root');
    assert.equal(await existsConfinedAt(root, '/etc/passwd/x', 1000), false);
    assert.equal((await refusal(existsConfinedAt(root, '/loop-a/x', 1000))).refusal, 'link-loop');
  });

  it('leaves no fd open, whatever the outcome', async () => {
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      for (const p of ['/etc/passwd', '/abs-out', '/loop-a', '/fifo', '/sub', '/big', '/dir-out/secret', '/chain-41'])
        await read(p).catch(() => undefined);
      await read('/etc/passwd', { maxBytes: 10, deadlineMs: 0 }).catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(openFds(), before);
  });
});

describe('confined tree walks', () => {
  let base: string;

  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-cwalk-'));
  });
  afterEach(() => execFileSync('rm', ['-rf', base]));

  it('lists in sorted depth-first order, links read not followed, names as bytes', async () => {
    const root = path.join(base, 'r');
    fs.mkdirSync(path.join(root, 'b', 'c'), { recursive: true });
    fs.writeFileSync(path.join(root, 'b', 'c', 'f'), 'abc');
    fs.writeFileSync(path.join(root, 'a'), '');
    fs.symlinkSync('/etc', path.join(root, 'b', 'link'));
    fs.writeFileSync(Buffer.from(`${root}/bad\xff`, 'latin1'), '');
    const tree = await walkTreeConfined(root);
    assert.deepEqual(
      tree.map((e) => [e.name, e.type]),
      [
        ['a', 'file'],
        ['b', 'dir'],
        ['b/c', 'dir'],
        ['b/c/f', 'file'],
        ['b/link', 'symlink'],
        ['bad\ufffd', 'file'],
      ],
    );
    assert.equal(tree.find((e) => e.name === 'b/link')?.linkTarget, '/etc');
    assert.equal(tree.find((e) => e.name === 'b/c/f')?.size, 3);
    assert.deepEqual(await walkTreeConfined(path.join(base, 'missing')), []);
  });

  it('walks 3 000 deep with 1 500 siblings at depth 2 000 holding at most 64 fds', async () => {
    const root = path.join(base, 'deep');
    fs.mkdirSync(root);
    // Built from fds: the path is far longer than PATH_MAX.
    let fd = fs.openSync(root, 'r');
    for (let i = 1; i <= 3000; i++) {
      fs.writeFileSync(`/proc/self/fd/${fd}/f`, '');
      if (i === 2000) for (let j = 0; j < 1500; j++) fs.mkdirSync(`/proc/self/fd/${fd}/s${j}`);
      fs.mkdirSync(`/proc/self/fd/${fd}/d`);
      const next = fs.openSync(`/proc/self/fd/${fd}/d`, 'r');
      fs.closeSync(fd);
      fd = next;
    }
    fs.closeSync(fd);
    let peak = 0;
    const tree = await walkTreeConfined(root, { onProgress: () => (peak = Math.max(peak, fdsUnder(root))) });
    assert.equal(tree.length, 3000 * 2 + 1500);
    assert.ok(peak > 0 && peak <= 64, `at most 64 fds open during the walk (peak ${peak}, window ${WALK_WINDOW})`);
    assert.equal(fdsUnder(root), 0, 'all closed afterwards');
    // And in a process limited to 1 024 fds, as `ulimit -n 1024` leaves many shells.
    const walker = require.resolve('../../../src/core/confined/walk');
    const code = `require(${JSON.stringify(walker)}).walkTreeConfined(${JSON.stringify(root)}).then((t) => console.log(t.length), (e) => { console.log(e.code); process.exit(1); })`;
    const out = execFileSync('sh', ['-c', 'ulimit -n 1024 && exec "$0" -e "$1"', process.execPath, code], { encoding: 'utf8' });
    assert.equal(out.trim(), String(3000 * 2 + 1500));
    const deepest = tree.filter((e) => e.name.endsWith('/f')).reduce((a, e) => Math.max(a, e.name.length), 0);
    assert.equal(deepest, 'd/'.length * 2999 + 1, 'the deepest file is listed with its full path');
  });

  it('never lists a host directory swapped in for a directory while it is walked', async function () {
    this.timeout(120000);
    const root = path.join(base, 'upper');
    const host = path.join(base, 'host-root');
    fs.mkdirSync(path.join(root, 'race', 'd'), { recursive: true });
    fs.mkdirSync(host);
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(host, `host-entry-${i}`), SECRET);
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(root, 'race', 'd', `own-${i}`), '');
    // Siblings listed after `d` widen a path-based walker's window between its lstat of `d` and its readdir.
    for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(root, 'race', `e${i}`), '');
    // `d` is a directory for 2 ms, then a link to the host directory for 2 ms, and so on.
    const swap = `const fs = require('fs'); process.chdir(process.argv[1]);
      const hold = () => { const t = Date.now() + 2; while (Date.now() < t); };
      for (;;) { try { fs.renameSync('d', 'x'); fs.symlinkSync(process.argv[2], 'd'); hold(); fs.unlinkSync('d'); fs.renameSync('x', 'd'); hold(); } catch {} }`;
    const swapper: ChildProcess = spawn(process.execPath, ['-e', swap, path.join(root, 'race'), host], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    try {
      let leaked = 0;
      let sawLink = 0;
      for (let i = 0; i < 300; i++) {
        const tree = await walkTreeConfined(root);
        leaked += tree.filter((e) => e.name.includes('host-entry')).length;
        if (tree.some((e) => e.name === 'race/d' && e.type === 'symlink')) sawLink++;
      }
      assert.equal(leaked, 0, 'no host entry listed');
      assert.ok(sawLink > 0, 'the swapper really raced the walks');
    } finally {
      swapper.kill('SIGKILL');
    }
  });
});
