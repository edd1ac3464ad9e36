// Podman's layer store (containers/storage, overlay driver): layers.json parsed and resolved to an image's
// layers, and the layers' listings read from their tar-split files through a HostFiles.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chainIds } from '../../../src/core/layers/history';
import { parseLayersJson, podmanLayerStore, resolveImageLayers } from '../../../src/core/runtime/podman/store';
import type { RuntimeImage } from '../../../src/core/runtime/types';
import type { HostFiles } from '../../../src/core/util/hostFiles';
import { LayerFile, expectedEntries, tarSplitGz } from './tarSplitFixture';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');
const digest = (seed: string) => `sha256:${hex(`diff ${seed}`)}`;

// Three image layers, bottom first, and their storage layer IDs.
const D1 = digest('base');
const D2 = digest('apk add');
const D3 = digest('copy app');
const L1 = hex('layer 1');
const L2 = hex('layer 2');
const L3 = hex('layer 3');
const CONTAINER = hex('container layer');
const STRAY = hex('stray layer');

/** layers.json as containers/storage writes it (fields the engine ignores included). */
function layersJson(opts: { withoutMiddle?: boolean } = {}): unknown[] {
  const common = { created: '2025-03-01T10:00:00.000000000Z', compression: 2, uidset: [0], gidset: [0] };
  return [
    {
      id: L1,
      ...common,
      'compressed-diff-digest': `sha256:${hex('c1')}`,
      'compressed-size': 3_600_000,
      'diff-digest': D1,
      'diff-size': 8_800_000,
    },
    ...(opts.withoutMiddle
      ? []
      : [{ id: L2, parent: L1, ...common, 'compressed-diff-digest': `sha256:${hex('c2')}`, 'diff-digest': D2, 'diff-size': 4_200_000 }]),
    { id: L3, parent: L2, ...common, 'diff-digest': D3, 'diff-size': 12_345 },
    // A container's writable layer: named, on top of the image, no diff digest.
    { id: CONTAINER, names: ['x-layer'], parent: L3, created: '2025-03-01T10:05:00Z', flags: { MountLabel: '' } },
    // Someone else's layer that carries the image's third diff ID on another parent: not the image's.
    { id: STRAY, parent: L1, 'diff-digest': D3, 'diff-size': 999 },
    // Hostile entries: not layer records, or no plain ID to make a file name of.
    'not a layer',
    42,
    null,
    [L1],
    { id: `../../../../etc/${'a'.repeat(40)}`, 'diff-digest': D1, 'diff-size': 1 },
    { id: `${L1}/../x`, 'diff-digest': D1 },
    { id: L1.toUpperCase(), 'diff-digest': D1 },
    { 'diff-digest': D1, 'diff-size': 1 },
    { id: 12345, 'diff-digest': D1 },
  ];
}

const GRAPH_ROOT = '/var/lib/containers/storage';
const DIR = `${GRAPH_ROOT}/overlay-layers`;

const image: RuntimeImage = {
  id: `sha256:${hex('image config')}`,
  repoTags: ['localhost/app:latest'],
  repoDigests: [],
  created: 1740823200,
  sizeBytes: 13_012_345,
  diffIds: [D1, D2, D3],
};

const FILES1: LayerFile[] = [
  { name: 'bin/', type: 'dir', mode: 0o755 },
  { name: 'bin/busybox', type: 'file', mode: 0o755, content: 'ELF'.repeat(300) },
  { name: 'bin/sh', type: 'symlink', mode: 0o777, linkTarget: '/bin/busybox' },
  { name: 'etc/', type: 'dir', mode: 0o755 },
  { name: 'etc/hostname', type: 'file', mode: 0o644, content: 'box\n' },
];
const FILES2: LayerFile[] = [
  { name: 'etc/', type: 'dir', mode: 0o755 },
  { name: 'etc/apk/world', type: 'file', mode: 0o644, content: 'curl\n' },
];
const FILES3: LayerFile[] = [
  { name: 'app/', type: 'dir', mode: 0o750 },
  { name: 'app/main.js', type: 'file', mode: 0o600, content: 'console.log(1);\n' },
];

type Content = string | Buffer | Error;

/** A HostFiles holding the given files, recording what was read. */
function fakeFiles(content: Record<string, Content>, kind: HostFiles['kind'] = 'direct') {
  const read: string[] = [];
  const get = (file: string): string | Buffer => {
    read.push(file);
    const c = content[file];
    if (c === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT' });
    if (c instanceof Error) throw c;
    return c;
  };
  const files = {
    kind,
    readText: async (file: string) => get(file).toString(),
    readBytes: async (file: string) => {
      const c = get(file);
      return Buffer.isBuffer(c) ? c : Buffer.from(c);
    },
  } as unknown as HostFiles;
  return { files, read };
}

function store(content: Record<string, Content> = {}, opts: { withoutMiddle?: boolean } = {}): Record<string, Content> {
  return {
    [`${DIR}/layers.json`]: JSON.stringify(layersJson(opts)),
    [`${DIR}/${L1}.tar-split.gz`]: tarSplitGz(FILES1),
    [`${DIR}/${L2}.tar-split.gz`]: tarSplitGz(FILES2),
    [`${DIR}/${L3}.tar-split.gz`]: tarSplitGz(FILES3),
    [`${DIR}/${STRAY}.tar-split.gz`]: tarSplitGz([{ name: 'stray', type: 'file', mode: 0o644, content: 'not this image' }]),
    ...content,
  };
}

describe('runtime/podman store', () => {
  describe('parseLayersJson', () => {
    it('keeps the layer records and drops entries that are not records or name no plain ID', () => {
      const layers = parseLayersJson(JSON.stringify(layersJson()));
      assert.deepEqual(
        layers.map((l) => l.id),
        [L1, L2, L3, CONTAINER, STRAY],
      );
      assert.equal(layers[1].parent, L1);
      assert.equal(layers[1]['diff-digest'], D2);
      assert.equal(layers[1]['diff-size'], 4_200_000);
    });

    it('rejects a file that is not a list of layers, or not JSON', () => {
      assert.throws(() => parseLayersJson('{"layers":[]}'), /not a list of layers/);
      assert.throws(() => parseLayersJson('null'), /not a list of layers/);
      assert.throws(() => parseLayersJson('[{"id": "'), SyntaxError);
      assert.deepEqual(parseLayersJson('[]'), []);
    });
  });

  describe('resolveImageLayers', () => {
    const layers = parseLayersJson(JSON.stringify(layersJson()));

    it('finds each diff ID on the layer above the one found below it, bottom first', () => {
      assert.deepEqual(
        resolveImageLayers(layers, [D1, D2, D3]).map((l) => l?.id),
        [L1, L2, L3],
      );
    });

    it('does not take a layer with the diff ID that sits on another parent', () => {
      // STRAY carries D3 on top of L1; the image's D3 sits on L2.
      assert.equal(resolveImageLayers(layers, [D1, D2, D3])[2]?.id, L3);
      const withoutL3 = layers.filter((l) => l.id !== L3);
      assert.deepEqual(
        resolveImageLayers(withoutL3, [D1, D2, D3]).map((l) => l?.id ?? null),
        [L1, L2, null],
      );
      // Nor a layer that has a parent for an image's bottom layer.
      assert.deepEqual(resolveImageLayers(layers, [D3]), [null]);
      assert.deepEqual(resolveImageLayers(layers, [D2]), [null]);
    });

    it('leaves every layer above a missing one unresolved', () => {
      const gap = parseLayersJson(JSON.stringify(layersJson({ withoutMiddle: true })));
      const resolved = resolveImageLayers(gap, [D1, D2, D3]);
      assert.equal(resolved[0]?.id, L1);
      assert.equal(resolved[1], null);
      assert.equal(resolved[2], null, 'L3 still names L2 as its parent, but L2 is not in the store');
    });

    it('never takes the container layer, and resolves nothing from an empty store', () => {
      const resolved = resolveImageLayers(layers, [D1, D2, D3, digest('writable')]);
      assert.equal(resolved[3], null);
      assert.ok(!resolved.some((l) => l?.id === CONTAINER));
      assert.deepEqual(resolveImageLayers([], [D1, D2]), [null, null]);
      assert.deepEqual(resolveImageLayers(layers, []), []);
    });
  });

  describe('podmanLayerStore', () => {
    it('reads the wanted layers from their tar-split files', async () => {
      const { files, read } = fakeFiles(store());
      const seen: [number, number][] = [];
      const ls = podmanLayerStore(GRAPH_ROOT, 'overlay');
      assert.equal(ls.layout, 'podman-overlay');
      const r = await ls.read(files, image, [0, 2], { config: true, onLayer: (i, n) => seen.push([i, n]) });
      assert.equal(r.source, 'tar-split');
      assert.equal(r.denied, undefined);
      assert.equal(r.config, null);
      assert.deepEqual([...r.layers.keys()].sort(), [0, 2]);
      assert.deepEqual(r.layers.get(0), expectedEntries(FILES1));
      assert.deepEqual(r.layers.get(2), expectedEntries(FILES3));
      assert.deepEqual(seen, [
        [0, FILES1.length],
        [2, FILES3.length],
      ]);
      assert.ok(!read.includes(`${DIR}/${L2}.tar-split.gz`), 'a layer not asked for is not read');
      assert.ok(!read.includes(`${DIR}/${STRAY}.tar-split.gz`));
    });

    it('names the tar-split file it may not read, and still reads the other layers', async () => {
      const denial = Object.assign(new Error(`EACCES: permission denied, open '${DIR}/${L2}.tar-split.gz'`), { code: 'EACCES' });
      const { files } = fakeFiles(store({ [`${DIR}/${L2}.tar-split.gz`]: denial }));
      const r = await podmanLayerStore(GRAPH_ROOT, 'overlay').read(files, image, [0, 1, 2], { config: false });
      assert.deepEqual([...r.layers.keys()].sort(), [0, 2]);
      assert.deepEqual(r.layers.get(0), expectedEntries(FILES1));
      assert.deepEqual(r.layers.get(2), expectedEntries(FILES3));
      assert.ok(r.denied, 'denied says why a layer is missing');
      assert.match(r.denied, /permission denied/);
      assert.ok(r.denied.includes(`${DIR}/${L2}.tar-split.gz`), r.denied);
    });

    it('leaves out, without a denial, layers the store lacks or cannot decode', async () => {
      const { files } = fakeFiles(store({ [`${DIR}/${L3}.tar-split.gz`]: Buffer.from('not gzip') }, { withoutMiddle: true }));
      const r = await podmanLayerStore(GRAPH_ROOT, 'overlay').read(files, image, [0, 1, 2, 7], { config: false });
      assert.deepEqual([...r.layers.keys()], [0]);
      assert.equal(r.denied, undefined);
    });

    it('rejects when layers.json cannot be read (the caller exports the image instead)', async () => {
      const { files } = fakeFiles({});
      await assert.rejects(podmanLayerStore(GRAPH_ROOT, 'overlay').read(files, image, [0], { config: false }), /ENOENT/);
    });

    it('reads a rootless store under its own graph root', async () => {
      const root = '/home/alice/.local/share/containers/storage';
      const moved = Object.fromEntries(Object.entries(store()).map(([k, v]) => [k.replace(GRAPH_ROOT, root), v]));
      const { files, read } = fakeFiles(moved);
      const r = await podmanLayerStore(root, 'overlay').read(files, image, [1], { config: false });
      assert.deepEqual(r.layers.get(1), expectedEntries(FILES2));
      assert.ok(read.every((f) => f.startsWith(`${root}/overlay-layers/`)));
    });

    it('sizes: maps each image layer’s chain ID to its diff size', async () => {
      const { files } = fakeFiles(store());
      const other: RuntimeImage = { ...image, id: `sha256:${hex('other')}`, diffIds: [D1, digest('not in the store')] };
      const ls = podmanLayerStore(GRAPH_ROOT, 'overlay');
      assert.ok(ls.sizes);
      const sizes = await ls.sizes(files, [image, other]);
      const chains = chainIds(image.diffIds);
      assert.deepEqual(
        sizes,
        new Map([
          [chains[0], 8_800_000],
          [chains[1], 4_200_000],
          [chains[2], 12_345],
        ]),
      );
      assert.equal(chains[0], D1);
    });

    it('sizes: none when layers.json cannot be read, and none above a missing layer', async () => {
      const ls = podmanLayerStore(GRAPH_ROOT, 'overlay');
      assert.deepEqual(await ls.sizes!(fakeFiles({}).files, [image]), new Map());
      const gap = await ls.sizes!(fakeFiles(store({}, { withoutMiddle: true })).files, [image]);
      assert.deepEqual(gap, new Map([[D1, 8_800_000]]));
    });
  });
});
