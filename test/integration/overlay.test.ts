import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LayerStack } from '../../src/core/layers/stack';
import { walkLayerDir } from '../../src/core/layers/walk';

/**
 * A real overlayfs, mounted by the kernel in a temp dir: the whiteouts and the opaque directory in its upper
 * dir are the kernel's own, and the oracles are stat(1) (device 0:0) and the trusted.overlay.opaque xattr.
 */
describe('overlayfs upper dirs made by the kernel', function () {
  this.timeout(60000);
  let base = '';
  let merged = '';

  before(() => {
    if (process.getuid?.() !== 0) throw new Error('mounting overlayfs needs root: run the tests as root (CI does)');
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-ovl-'));
    for (const d of ['lower/a', 'lower/d', 'upper', 'work', 'merged']) fs.mkdirSync(path.join(base, d), { recursive: true });
    fs.writeFileSync(path.join(base, 'lower/a/keep'), 'keep\n');
    fs.writeFileSync(path.join(base, 'lower/a/gone'), 'gone\n');
    fs.writeFileSync(path.join(base, 'lower/d/x'), 'x\n');
    merged = path.join(base, 'merged');
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work`, merged]);
    fs.rmSync(path.join(merged, 'a/gone'));
    fs.rmSync(path.join(merged, 'd'), { recursive: true });
    fs.mkdirSync(path.join(merged, 'd'));
    fs.writeFileSync(path.join(merged, 'd/new'), 'new\n');
    fs.appendFileSync(path.join(merged, 'a/keep'), 'more\n');
    fs.mkdirSync(path.join(merged, 'newdir'));
  });

  after(() => {
    if (merged) execFileSync('umount', [merged], { stdio: 'ignore' });
    if (base) fs.rmSync(base, { recursive: true, force: true });
  });

  it('reads whiteouts and the opaque directory the kernel wrote, and classifies the changes', async () => {
    const upper = path.join(base, 'upper');
    // Oracles: the whiteout is a character device 0:0; the opaque mark is an xattr (read with Python's os.getxattr).
    assert.equal(
      execFileSync('stat', ['-c', '%F %t:%T', path.join(upper, 'a/gone')], { encoding: 'utf8' }).trim(),
      'character special file 0:0',
    );
    const xattr = execFileSync(
      'python3',
      ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())', path.join(upper, 'd')],
      {
        encoding: 'utf8',
      },
    ).trim();
    assert.equal(xattr, 'y');

    const stack = new LayerStack();
    stack.apply(await walkLayerDir(path.join(base, 'lower')));
    const entries = await walkLayerDir(upper, {
      isOpaque: (rel, present, whiteouts) => {
        const hidden = (stack.childrenOf(rel) ?? []).find((n) => !present.has(n) && !whiteouts.has(n));
        return hidden !== undefined && !fs.existsSync(path.join(merged, rel, hidden));
      },
    });
    const changes = new Map(stack.apply(entries).changes.map((c) => [c.path, c]));
    assert.equal(changes.get('/a/gone')?.kind, 'deleted');
    assert.equal(changes.get('/a/keep')?.kind, 'modified');
    assert.equal(changes.get('/a/keep')?.sizeBytes, 'keep\nmore\n'.length);
    assert.equal(changes.get('/d')?.opaque, true, 'the directory the kernel marked opaque');
    assert.equal(changes.get('/d/new')?.kind, 'added');
    assert.equal(changes.get('/newdir')?.kind, 'added');
    assert.equal(changes.get('/a')?.opaque, undefined, 'a copied-up directory is not opaque');
    assert.deepEqual(stack.childrenOf('d'), ['new'], 'd/x is hidden');
  });
});
