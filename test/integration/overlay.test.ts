import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import { LayerStack } from '../../src/core/layers/stack';
import { walkLayerDir } from '../../src/core/layers/walk';
import { Target, engineOptions, inspectOn, openTarget, removeOn, rootMountOn, runOn, suiteTargets } from '../support/targets';

/**
 * Local only, as it mounts in this process's own mount namespace and walks the dirs with this process's
 * reads; the suite below checks the same kernel-made whiteouts and opaque directory on every target.
 * A real overlayfs, mounted by the kernel in a temp dir: the whiteouts and the opaque directory in its upper
 * dir are the kernel's own, and the oracles are stat(1) (device 0:0) and the trusted.overlay.opaque xattr.
 */
if (suiteTargets().includes('local')) {
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
      execFileSync('mount', [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work`,
        merged,
      ]);
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
}

/**
 * The same changes made in a running container on every target: the kernel writes the whiteout and the
 * opaque directory into the container's upper dir (overlay2's diff/ or a containerd snapshot's fs/), and
 * the engine reads them where the daemon runs. Oracles on the daemon's machine: stat(1) of the whiteout
 * (character device 0:0), the trusted.overlay.opaque xattr (getxattr by syscall from perl, which the
 * guest has), the merged view inside the container, and `docker diff`.
 */
for (const target of suiteTargets()) {
  describe(`overlayfs upper dir of a running container (${target})`, function () {
    this.timeout(target === 'local' ? 120000 : 900000);
    const suffix = `${process.pid}-${Date.now().toString(36)}`;
    const image = `xray-it-ovl:${suffix}`;
    let t: Target;
    let base = '';
    let id = '';
    let engine: Engine;

    before(async () => {
      t = await openTarget(target);
      // An image layer with /a/keep, /a/gone and /d/x, made on that daemon (docker commit needs no builder).
      base = await runOn(t, [
        '--network',
        'none',
        t.helperImage,
        'sh',
        '-c',
        'mkdir -p /a /d && echo keep > /a/keep && echo gone > /a/gone && echo x > /d/x',
      ]);
      await t.docker(['wait', base]);
      await t.docker(['commit', base, image]);
      id = await runOn(t, ['--network', 'none', image, 'sleep', '900']);
      await t.docker([
        'exec',
        id,
        'sh',
        '-c',
        'rm /a/gone && rm -r /d && mkdir /d && echo new > /d/new && echo more >> /a/keep && mkdir /newdir',
      ]);
      engine = await Engine.create(engineOptions(t));
    });

    after(async () => {
      await engine?.dispose();
      if (!t) return;
      await removeOn(t, [id, base].filter(Boolean));
      await t.docker(['rmi', '-f', image]).catch(() => undefined);
    });

    it('reads the whiteout and the opaque directory the kernel wrote, with sizes, as the oracles on that machine see them', async () => {
      const pid = (await inspectOn<{ State: { Pid: number } }>(t, id)).State.Pid;
      const mount = await rootMountOn(t, pid);
      const upper = mount.upperDir!;
      assert.equal((await t.sh(`stat -c '%F %t:%T' '${upper}/a/gone'`)).trim(), 'character special file 0:0');
      // An overlay mounted in a user namespace (rootless Podman: `userxattr`) keeps its marks in user.overlay.*.
      const key = mount.userXattr ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
      const xattr = await t.sh(
        `perl -e '($p, $k, $v) = ($ARGV[0], "${key}", "\\0" x 8); $n = syscall(192, $p, $k, $v, 8); print $n < 0 ? "none" : substr($v, 0, $n)' '${upper}/d'`,
      );
      assert.equal(xattr, 'y', `lgetxattr ${key} on the upper /d`);
      assert.equal(mount.userXattr, t.rootless, 'the overlay is mounted with userxattr exactly when the daemon is rootless');
      assert.deepEqual((await t.docker(['exec', id, 'ls', '/d'])).split('\n').filter(Boolean), ['new'], 'd/x is hidden in the merged view');
      const diff = new Set((await t.docker(['diff', id])).split('\n').filter(Boolean));
      for (const line of ['D /a/gone', 'C /a/keep', 'A /d/new', 'A /newdir']) assert.ok(diff.has(line), `docker diff lists ${line}`);

      const report = await engine.layers(id);
      assert.ok(report.upper, 'the writable layer is read');
      assert.equal(report.upper.dir, upper, 'the upper dir mountinfo names');
      const changes = new Map(report.upper.changes.map((c) => [c.path, c]));
      assert.equal(changes.get('/a/gone')?.kind, 'deleted');
      assert.equal(changes.get('/a/keep')?.kind, 'modified');
      assert.equal(changes.get('/a/keep')?.sizeBytes, 'keep\nmore\n'.length);
      assert.equal(changes.get('/d')?.opaque, true, 'the directory the kernel marked opaque');
      assert.equal(changes.get('/d/new')?.kind, 'added');
      assert.equal(changes.get('/d/new')?.sizeBytes, 'new\n'.length);
      assert.equal(changes.get('/newdir')?.kind, 'added');
      assert.equal(changes.get('/a')?.opaque, undefined, 'a copied-up directory is not opaque');
    });
  });
}
