import * as assert from 'node:assert/strict';
import { LayerStack, computeEfficiency } from '../../../src/core/layers/stack';
import type { RawEntry } from '../../../src/core/layers/tarHeader';

const file = (name: string, size: number): RawEntry => ({ name, size, type: 'file' });
const dir = (name: string): RawEntry => ({ name, size: 0, type: 'dir' });
const whiteout = (name: string): RawEntry => {
  const i = name.lastIndexOf('/');
  return { name: i < 0 ? `.wh.${name}` : `${name.slice(0, i)}/.wh.${name.slice(i + 1)}`, size: 0, type: 'file' };
};
const opaque = (d: string): RawEntry => ({ name: `${d}/.wh..wh..opq`, size: 0, type: 'file' });

describe('stacking layers', () => {
  it('classifies added, modified and deleted against the layers below', () => {
    const s = new LayerStack();
    const base = s.apply([dir('etc'), file('etc/passwd', 30), dir('app'), file('app/a', 10)]);
    assert.deepEqual(
      base.changes.map((c) => `${c.kind} ${c.path}`),
      ['added /etc', 'added /etc/passwd', 'added /app', 'added /app/a'],
    );
    assert.equal(base.sizeBytes, 40);
    const next = s.apply([dir('etc'), file('etc/passwd', 69), dir('app'), whiteout('app/a'), file('app/b', 5)]);
    const byPath = new Map(next.changes.map((c) => [c.path, c]));
    assert.equal(byPath.get('/etc')?.kind, 'modified');
    assert.equal(byPath.get('/etc/passwd')?.kind, 'modified');
    assert.equal(byPath.get('/app/a')?.kind, 'deleted');
    assert.equal(byPath.get('/app/a')?.type, 'file', 'a deletion names what it deleted');
    assert.equal(byPath.get('/app/b')?.kind, 'added');
    assert.deepEqual(s.childrenOf('app'), ['b']);
  });

  it('marks an opaque directory and hides what is below it', () => {
    const s = new LayerStack();
    s.apply([dir('data'), dir('data/sub'), file('data/sub/a.txt', 6), file('data/keep', 5)]);
    const l = s.apply([dir('data'), dir('data/sub'), opaque('data/sub'), file('data/sub/b.txt', 4)]);
    const sub = l.changes.find((c) => c.path === '/data/sub')!;
    assert.equal(sub.opaque, true);
    assert.deepEqual(s.childrenOf('data/sub'), ['b.txt'], 'a.txt is hidden by the opaque directory');
    assert.deepEqual(s.childrenOf('data')?.sort(), ['keep', 'sub']);
    // An opaque marker for a directory the layer does not list still marks it.
    const t = new LayerStack();
    t.apply([dir('x'), file('x/old', 1)]);
    const m = t.apply([opaque('x')]);
    assert.deepEqual(m.changes, [{ path: '/x', kind: 'modified', type: 'dir', sizeBytes: 0, opaque: true }]);
  });

  it("computes dive's efficiency: Σ smallest / Σ cumulative, and wasted bytes of paths held twice", () => {
    const s = new LayerStack();
    const layers = [
      s.apply([dir('data'), file('data/big', 1000), file('data/small', 10), file('etc-passwd', 30)]),
      s.apply([file('etc-passwd', 70)]),
      s.apply([whiteout('data/big')]),
    ];
    const eff = computeEfficiency(layers);
    // Paths: /data/big 1000 + 0 (deleted), /data/small 10, /etc-passwd 30 + 70.
    // Σ smallest = 0 + 10 + 30 = 40; Σ cumulative = 1000 + 10 + 100 = 1110.
    assert.equal(eff.efficiency, 40 / 1110);
    assert.equal(eff.wastedBytes, 1000 + 100);
    assert.deepEqual(eff.inefficiencies, [
      { path: '/data/big', count: 2, cumulativeSizeBytes: 1000 },
      { path: '/etc-passwd', count: 2, cumulativeSizeBytes: 100 },
    ]);
    assert.deepEqual(eff.layerWastedBytes, [1000 + 30, 0, 0], 'the first layer held what later layers replaced or deleted');
  });

  it('counts every path a deleted directory hides, where dive counts only the directory', () => {
    const s = new LayerStack();
    const layers = [s.apply([dir('cache'), file('cache/a', 300), file('cache/b', 200)]), s.apply([whiteout('cache')])];
    const eff = computeEfficiency(layers);
    assert.equal(eff.wastedBytes, 500);
    assert.deepEqual(eff.inefficiencies.map((i) => i.path).sort(), ['/cache/a', '/cache/b']);
    assert.equal(eff.layerWastedBytes[0], 500);
  });

  it('is 1 when no path is held twice, and 1 for an empty image', () => {
    const s = new LayerStack();
    assert.equal(computeEfficiency([s.apply([file('a', 5)]), s.apply([file('b', 7)])]).efficiency, 1);
    assert.equal(computeEfficiency([]).efficiency, 1);
  });

  it('replaces a directory by a file and a file by a directory', () => {
    const s = new LayerStack();
    s.apply([dir('p'), file('p/x', 1), file('q', 2)]);
    s.apply([file('p', 3), dir('q'), file('q/y', 4)]);
    assert.equal(s.lookup('p')?.type, 'file');
    assert.equal(s.lookup('p/x'), null);
    assert.equal(s.lookup('q')?.type, 'dir');
    assert.equal(s.lookup('q/y')?.size, 4);
  });
});
