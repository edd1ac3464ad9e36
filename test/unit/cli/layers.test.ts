// The layer table and the overlay view on the containerd image store: snapshot IDs beside the layers.
import * as assert from 'node:assert/strict';
import { renderLayers } from '../../../src/cli/main';
import { overlayNodes } from '../../../src/extension/tree/nodes';
import type { ContainerSnapshot, ImageLayer, LayerReport } from '../../../src/shared/model';

function layer(index: number, snapshotId?: string): ImageLayer {
  return {
    index,
    diffId: `sha256:${String(index).repeat(64)}`,
    chainId: `sha256:${String(index).repeat(64)}`,
    createdBy: `RUN step ${index}`,
    createdAt: null,
    comment: null,
    sizeBytes: 10,
    metadataAbove: [],
    changes: [{ path: `/f${index}`, kind: 'added', type: 'file', sizeBytes: 10 }],
    wastedBytes: 0,
    source: 'content-store',
    ...(snapshotId !== undefined ? { snapshotId } : {}),
  };
}

function report(layers: ImageLayer[], upperSnapshot?: string): LayerReport {
  return {
    image: { id: `sha256:${'a'.repeat(64)}`, tags: ['img:1'], ref: 'img:1' },
    container: { id: 'c'.repeat(64), name: 'box' },
    layers,
    metadataBelow: [],
    upper: { dir: '/snap/3/fs', changes: [], sizeBytes: 0, ...(upperSnapshot ? { snapshotId: upperSnapshot } : {}) },
    efficiency: 1,
    wastedBytes: 0,
    userWastedPercent: 0,
    sizeBytes: 20,
    userSizeBytes: 10,
    inefficiencies: [],
    errors: [],
  };
}

describe('snapshot IDs in the CLI and the tree', () => {
  it("adds a SNAPSHOT column and the writable layer's snapshot where the mount named them", () => {
    const text = renderLayers(report([layer(0, '1'), layer(1, '4')], '7'), false);
    const rows = text.split('\n');
    assert.match(rows[1], /^#\s+SNAPSHOT\s+SIZE\s+WASTED\s+CHANGES\s+CREATED BY$/);
    assert.match(rows[2], /^0\s+1\s+10 B/);
    assert.match(rows[3], /^1\s+4\s+10 B/);
    assert.match(text, /Writable layer: .* snapshot 7 {2}\/snap\/3\/fs/);
  });

  it('shows no SNAPSHOT column on a graph driver', () => {
    const text = renderLayers(report([layer(0), layer(1)]), false);
    assert.doesNotMatch(text, /SNAPSHOT|snapshot/);
  });

  it("names each lower dir's snapshot and the upper dir's in the overlay view", () => {
    const c = {
      id: 'c'.repeat(64),
      overlay: {
        lowerDirs: ['/s/2/fs', '/s/1/fs'],
        stack: [
          { dir: '/s/1/fs', resolved: '/s/1/fs', role: 'image', snapshotId: '1' },
          { dir: '/s/2/fs', resolved: '/s/2/fs', role: 'init', snapshotId: '2' },
        ],
        upperDir: '/s/3/fs',
        upperSnapshotId: '3',
        workDir: '/s/3/work',
        mergedDir: null,
        source: 'mountinfo',
        inspectAgrees: null,
        options: [],
      },
    } as unknown as ContainerSnapshot;
    const nodes = overlayNodes('x', c);
    const lower = nodes.find((n) => n.label === 'lowerdir');
    assert.equal(lower?.description, '1 image layer + init layer');
    assert.equal(lower?.tooltip, '1: init snapshot 2 /s/2/fs\n0: image snapshot 1 /s/1/fs');
    assert.equal(nodes.find((n) => n.label === 'upperdir')?.description, 'snapshot 3  /s/3/fs');
  });
});
