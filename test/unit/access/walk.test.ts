// Layer walks through HostFiles: the direct tree walker and the conversion to tar-like entries that the
// helper's walks share with it.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { layerEntriesFromTree, walkLayerDir } from '../../../src/core/layers/walk';
import { DirectHostFiles, TreeEntry } from '../../../src/core/util/hostFiles';

describe('layer walks through HostFiles', () => {
  let dir: string;
  let canMknod = false;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-walk-'));
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    fs.mkdirSync(path.join(dir, 'opaque'));
    fs.writeFileSync(path.join(dir, 'opaque', 'new'), 'n');
    fs.symlinkSync('/etc/passwd', path.join(dir, 'link'));
    try {
      // A whiteout: char device 0/0 (needs CAP_MKNOD, as root has).
      execFileSync('mknod', [path.join(dir, 'etc', 'shadow'), 'c', '0', '0'], { stdio: 'pipe' });
      canMknod = true;
    } catch {
      canMknod = false;
    }
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('walks a tree without following links, whiteouts marked', async () => {
    const tree = await new DirectHostFiles().walkTree(dir);
    const byName = new Map(tree.map((e) => [e.name, e]));
    assert.deepEqual(
      [...byName.keys()].sort(),
      ['etc', 'etc/passwd', ...(canMknod ? ['etc/shadow'] : []), 'link', 'opaque', 'opaque/new'].sort(),
    );
    assert.equal(byName.get('link')?.type, 'symlink');
    assert.equal(byName.get('link')?.linkTarget, '/etc/passwd');
    assert.equal(byName.get('etc/passwd')?.size, 26);
    if (canMknod) assert.equal(byName.get('etc/shadow')?.whiteout, true);
    assert.deepEqual(await new DirectHostFiles().walkTree(path.join(dir, 'missing')), [], 'a dir that is not there lists nothing');
  });

  it('lists a layer as tar would: .wh. entries for whiteouts, .wh..wh..opq for opaque dirs', async () => {
    const asked: string[] = [];
    const entries = await walkLayerDir(dir, {
      isOpaque: (rel, present, whiteouts) => {
        asked.push(`${rel}:${[...present].sort().join(',')}:${[...whiteouts].join(',')}`);
        return rel === 'opaque';
      },
    });
    const names = entries.map((e) => e.name).sort();
    assert.deepEqual(
      names,
      ['etc', 'etc/passwd', ...(canMknod ? ['etc/.wh.shadow'] : []), 'link', 'opaque', 'opaque/.wh..wh..opq', 'opaque/new'].sort(),
    );
    assert.deepEqual(asked.sort(), [`etc:passwd:${canMknod ? 'shadow' : ''}`, 'opaque:new:'].sort());
    assert.equal(entries.find((e) => e.name === 'link')?.linkTarget, '/etc/passwd');
  });

  it('converts a helper-made tree the same way (any order, names with any byte)', async () => {
    const tree: TreeEntry[] = [
      { name: 'a b\nc', type: 'file', size: 3, mode: 0o644, whiteout: false },
      { name: 'd', type: 'dir', size: 4096, mode: 0o755, whiteout: false },
      { name: 'd/gone', type: 'char', size: 0, mode: 0, whiteout: true },
      { name: 'd/l', type: 'symlink', size: 0, mode: 0o777, whiteout: false, linkTarget: '../a b\nc' },
      { name: 'dev', type: 'char', size: 0, mode: 0o666, whiteout: false },
    ];
    const entries = await layerEntriesFromTree(tree, { isOpaque: async () => true });
    assert.deepEqual(entries, [
      { name: 'a b\nc', size: 3, type: 'file', mode: 0o644 },
      { name: 'd', size: 0, type: 'dir', mode: 0o755 },
      { name: 'd/.wh.gone', size: 0, type: 'char' },
      { name: 'd/l', size: 0, type: 'symlink', mode: 0o777, linkTarget: '../a b\nc' },
      { name: 'dev', size: 0, type: 'char', mode: 0o666 },
      { name: 'd/.wh..wh..opq', size: 0, type: 'file' },
    ]);
  });
});
