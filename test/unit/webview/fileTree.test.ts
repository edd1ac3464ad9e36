import * as assert from 'node:assert/strict';
import type { LayerChange } from '../../../src/shared/model';
import { buildTree, changeMark, flatten, isDir, sortedChildren } from '../../../webview/lib/fileTree';

const c = (
  path: string,
  kind: LayerChange['kind'],
  type: LayerChange['type'],
  sizeBytes = 0,
  extra: Partial<LayerChange> = {},
): LayerChange => ({ path, kind, type, sizeBytes, ...extra });

const SAMPLE: LayerChange[] = [
  c('/app', 'added', 'dir'),
  c('/app/server.js', 'added', 'file', 300),
  c('/app/lib/a.js', 'added', 'file', 100),
  c('/app/lib/b.js', 'modified', 'file', 50),
  c('/etc/passwd', 'modified', 'file', 1000),
  c('/tmp/cache', 'deleted', 'dir'),
  c('/var/cache/apk', 'added', 'dir', 0, { opaque: true }),
];

describe('webview file tree', () => {
  it('builds directories from flat paths, with implied parents and sizes summed upwards', () => {
    const t = buildTree(SAMPLE);
    assert.deepEqual(
      t.nodes.map((n) => n.path),
      [
        '/app',
        '/app/server.js',
        '/app/lib',
        '/app/lib/a.js',
        '/app/lib/b.js',
        '/etc',
        '/etc/passwd',
        '/tmp',
        '/tmp/cache',
        '/var',
        '/var/cache',
        '/var/cache/apk',
      ],
    );
    assert.equal(t.byPath.get('/app')!.size, 450);
    assert.equal(t.byPath.get('/app/lib')!.size, 150);
    assert.equal(t.byPath.get('/app/lib')!.change, null, 'an implied parent has no change');
    assert.equal(t.byPath.get('/app')!.changeCount, 4);
    assert.equal(t.root.size, 1450);
    assert.equal(t.root.changeCount, SAMPLE.length);
    assert.equal(t.byPath.get('/tmp/cache')!.size, 0, 'a deletion holds no bytes');
    assert.ok(isDir(t.byPath.get('/var/cache/apk')!));
    assert.deepEqual(changeMark(t.byPath.get('/var/cache/apk')!), { mark: 'A', kind: 'added', opaque: true });
    assert.deepEqual(changeMark(t.byPath.get('/tmp/cache')!), { mark: 'D', kind: 'deleted', opaque: false });
    assert.deepEqual(changeMark(t.byPath.get('/etc')!), { mark: '', kind: 'none', opaque: false });
  });

  it('tolerates odd paths: duplicates (last wins), trailing slashes, no leading slash, dot segments', () => {
    const t = buildTree([
      c('/a/b', 'added', 'file', 1),
      c('/a/b', 'modified', 'file', 5),
      c('x/y/', 'added', 'dir'),
      c('/./z', 'added', 'file', 2),
      c('/', 'added', 'dir'),
    ]);
    assert.equal(t.byPath.get('/a/b')!.change!.kind, 'modified');
    assert.equal(t.byPath.get('/a')!.size, 5);
    assert.ok(t.byPath.has('/x/y'));
    assert.ok(t.byPath.has('/z'));
    assert.equal(t.nodes.length, 5);
  });

  it('shows only the children of open directories, directories first by name, or biggest first', () => {
    const t = buildTree(SAMPLE);
    const paths = (opts: Parameters<typeof flatten>[1]) => flatten(t, opts).rows.map((r) => r.node.path);
    assert.deepEqual(paths({ sort: 'name', expanded: new Set(), filter: '' }), ['/app', '/etc', '/tmp', '/var']);
    assert.deepEqual(paths({ sort: 'name', expanded: new Set(['/app']), filter: '' }), [
      '/app',
      '/app/lib',
      '/app/server.js',
      '/etc',
      '/tmp',
      '/var',
    ]);
    assert.deepEqual(paths({ sort: 'size', expanded: new Set(['/app']), filter: '' }), [
      '/etc',
      '/app',
      '/app/server.js',
      '/app/lib',
      '/tmp',
      '/var',
    ]);
    // A closed parent hides an open child.
    assert.deepEqual(paths({ sort: 'name', expanded: new Set(['/app/lib']), filter: '' }), ['/app', '/etc', '/tmp', '/var']);
    const rows = flatten(t, { sort: 'name', expanded: new Set(['/app']), filter: '' }).rows;
    assert.deepEqual(
      rows.slice(0, 3).map((r) => [r.expandable, r.expanded]),
      [
        [true, true],
        [true, false],
        [false, false],
      ],
    );
    assert.equal(sortedChildren(t.root, 'name'), sortedChildren(t.root, 'name'), 'sorted lists are cached');
  });

  it('filters by a case-insensitive substring of the path, opening the way to every match', () => {
    const t = buildTree(SAMPLE);
    const f = flatten(t, { sort: 'name', expanded: new Set(), filter: 'LIB/' });
    assert.deepEqual(
      f.rows.map((r) => r.node.path),
      ['/app', '/app/lib', '/app/lib/a.js', '/app/lib/b.js'],
    );
    assert.equal(f.matches, 2);
    const collapsed = flatten(t, { sort: 'name', expanded: new Set(), filter: 'lib/', collapsed: new Set(['/app/lib']) });
    assert.deepEqual(
      collapsed.rows.map((r) => r.node.path),
      ['/app', '/app/lib'],
    );
    assert.equal(flatten(t, { sort: 'name', expanded: new Set(), filter: 'nothing-like-this' }).rows.length, 0);
  });

  it('handles 100 000 paths and very deep paths without recursion', () => {
    const many: LayerChange[] = [];
    for (let i = 0; i < 100_000; i++) many.push(c(`/d${i % 100}/s${i % 7}/f${i}`, 'added', 'file', i % 10));
    const t0 = Date.now();
    const t = buildTree(many);
    const rows = flatten(t, { sort: 'size', expanded: new Set(['/d1', '/d1/s1']), filter: '' }).rows;
    const filtered = flatten(t, { sort: 'name', expanded: new Set(), filter: 'f9999' });
    const ms = Date.now() - t0;
    assert.equal(t.nodes.length, 100_000 + 100 + 700);
    assert.equal(rows.length, 100 + 7 + Math.ceil(1000 / 7));
    assert.ok(filtered.matches >= 1);
    assert.ok(ms < 5000, `took ${ms} ms`);

    const deep = `/${Array.from({ length: 20_000 }, (_, i) => `d${i}`).join('/')}`;
    const dt = buildTree([c(deep, 'added', 'file', 7)]);
    assert.equal(dt.root.size, 7);
    const all = new Set(dt.nodes.map((n) => n.path));
    assert.equal(flatten(dt, { sort: 'name', expanded: all, filter: '' }).rows.length, 20_000);
  });
});
