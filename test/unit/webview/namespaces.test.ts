import * as assert from 'node:assert/strict';
import type { NamespaceGroup } from '../../../src/shared/model';
import { components, indexGroups, shareEdges, sharedWithText } from '../../../webview/lib/namespaces';

const groups: NamespaceGroup[] = [
  { type: 'net', inode: 1, members: ['host', 'c3'] },
  { type: 'net', inode: 2, members: ['c1', 'c2'] },
  { type: 'net', inode: 3, members: ['c4'] },
  { type: 'net', inode: 4, members: ['c5', 'c6', 'c7'] },
  { type: 'pid', inode: 9, members: ['c1', 'c2'] },
  { type: 'user', inode: 5, members: ['host', 'c1', 'c2', 'c3', 'c4'] },
];
const names = { c1: 'web', c2: 'sidecar', c3: 'hostnet', c4: 'db', c5: 'a', c6: 'b', c7: 'c' };

describe('webview namespace groups', () => {
  it('tells the host’s group, shared groups (numbered per type) and namespaces of one apart', () => {
    const idx = indexGroups(groups);
    assert.equal(idx.net.get(1)!.kind, 'host');
    assert.deepEqual([idx.net.get(2)!.kind, idx.net.get(2)!.index], ['shared', 0]);
    assert.deepEqual([idx.net.get(3)!.kind, idx.net.get(3)!.index], ['solo', -1]);
    assert.deepEqual([idx.net.get(4)!.kind, idx.net.get(4)!.index], ['shared', 1]);
    assert.deepEqual([idx.pid.get(9)!.kind, idx.pid.get(9)!.index], ['shared', 0]);
    assert.equal(sharedWithText(idx.net.get(2), 'c1', names), 'shared with sidecar');
    assert.equal(sharedWithText(idx.net.get(1), 'c3', names), 'shared with the host');
    assert.equal(sharedWithText(idx.net.get(3), 'c4', names), 'private (no one else)');
    assert.equal(sharedWithText(idx.user.get(5), 'c1', names, 2), 'shared with the host, sidecar and 2 more');
  });

  it('draws n − 1 edges per group, to the host when it is a member', () => {
    const ids = new Set(['host', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    const edges = shareEdges(groups, ids);
    assert.equal(edges.length, 1 + 1 + 0 + 2 + 1 + 4);
    assert.ok(edges.filter((e) => e.type === 'user').every((e) => e.source === 'host'));
    assert.deepEqual(
      edges.filter((e) => e.inode === 4).map((e) => [e.source, e.target]),
      [
        ['c5', 'c6'],
        ['c5', 'c7'],
      ],
    );
    // Members not drawn are left out.
    assert.equal(shareEdges(groups, new Set(['c1'])).length, 0);
    const comp = components(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'], edges, new Set(['net', 'pid']));
    assert.equal(comp.get('c1'), comp.get('c2'));
    assert.equal(comp.get('c5'), comp.get('c7'));
    assert.notEqual(comp.get('c3'), comp.get('c4'), 'sharing with the host does not join components');
  });
});
