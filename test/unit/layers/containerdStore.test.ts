// The containerd content store read directly: a store laid out as containerd keeps it (blobs by digest),
// with layer tars made by tar(1), plain and gzip-compressed, behind a manifest and a multi-platform index.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readStoreLayers, usesContainerdStore } from '../../../src/core/layers/containerdStore';
import { DirectHostFiles } from '../../../src/core/util/hostFiles';

const ROOT = '/var/lib/containerd';
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('the containerd content store, read directly', () => {
  let dir: string;
  let files: DirectHostFiles;
  let blobs: string;
  let diffIds: string[];
  let indexId: string;
  let manifestId: string;

  const put = (content: Buffer | string): string => {
    const digest = sha(content);
    fs.writeFileSync(path.join(blobs, digest.slice(7)), content);
    return digest;
  };

  /** A layer tar of a directory tree made by tar(1). */
  const layerTar = (tree: Record<string, string>): Buffer => {
    const src = fs.mkdtempSync(path.join(dir, 'layer-'));
    for (const [name, content] of Object.entries(tree)) {
      fs.mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
      fs.writeFileSync(path.join(src, name), content);
    }
    return execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '-C', src, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-ctd-'));
    blobs = path.join(dir, ROOT, 'io.containerd.content.v1.content', 'blobs', 'sha256');
    fs.mkdirSync(blobs, { recursive: true });
    files = new DirectHostFiles(dir);
    const base = layerTar({ 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'data/sub/a.txt': 'hello\n' });
    const top = layerTar({ 'data/.wh.gone': '', 'data/sub/.wh..wh..opq': '', 'data/sub/b.txt': 'new\n', 'app/big': 'x'.repeat(5000) });
    diffIds = [sha(base), sha(top)];
    const config = put(
      JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds }, history: [{ created_by: 'base' }, { created_by: 'top' }] }),
    );
    const baseBlob = put(base);
    const topBlob = put(gzipSync(top));
    manifestId = put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: baseBlob },
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: topBlob },
        ],
      }),
    );
    // Only the amd64 manifest was pulled: the arm64 one, listed first, has no blob here.
    indexId = put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { digest: sha('not here'), platform: { os: 'linux', architecture: 'arm64' } },
          { digest: manifestId, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('tells the containerd image store by the driver type docker info reports', () => {
    assert.equal(usesContainerdStore({ Driver: 'overlayfs', DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] }), true);
    assert.equal(usesContainerdStore({ Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs']] }), false);
  });

  it('lists plain and gzip layer blobs of an index, through the pulled platform, with whiteouts and opaque markers', async () => {
    const image = { Id: indexId, Os: 'linux', Architecture: 'amd64', RootFS: { Layers: diffIds } };
    const store = await readStoreLayers(files, ['/nowhere', ROOT], image, [0, 1]);
    assert.equal(store.root, ROOT, 'the first root holding the image');
    assert.deepEqual(store.config.rootfs?.diff_ids, diffIds);
    const names = (i: number) => store.layers[i]!.map((e) => e.name).sort();
    assert.deepEqual(names(0), ['data', 'data/sub', 'data/sub/a.txt', 'etc', 'etc/passwd']);
    assert.deepEqual(names(1), ['app', 'app/big', 'data', 'data/.wh.gone', 'data/sub', 'data/sub/.wh..wh..opq', 'data/sub/b.txt']);
    assert.equal(store.layers[1]!.find((e) => e.name === 'app/big')?.size, 5000);
    assert.equal(store.layers[1]!.find((e) => e.name === 'app/big')?.type, 'file');
  });

  it('reads only the layers asked for', async () => {
    const store = await readStoreLayers(files, [ROOT], { Id: manifestId, RootFS: { Layers: diffIds } }, [1]);
    assert.equal(store.layers[0], null);
    assert.ok(store.layers[1]);
  });

  it('refuses a manifest whose config names other diff IDs than inspect', async () => {
    const other = [diffIds[0], sha('something else')];
    await assert.rejects(
      readStoreLayers(files, [ROOT], { Id: manifestId, RootFS: { Layers: other } }, [0, 1]),
      /whose layers are the image's 2 diff IDs/,
    );
  });

  it("refuses a blob that does not unpack to the layer's diff ID", async () => {
    const bad = layerTar({ x: 'y' });
    const config = put(JSON.stringify({ rootfs: { diff_ids: [diffIds[0]] } }));
    const manifest = put(
      JSON.stringify({ config: { digest: config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: put(bad) }] }),
    );
    await assert.rejects(
      readStoreLayers(files, [ROOT], { Id: manifest, RootFS: { Layers: [diffIds[0]] } }, [0]),
      /not the layer's diff ID/,
    );
  });

  it('says when no root holds the image, and leaves zstd layers to docker save', async () => {
    await assert.rejects(
      readStoreLayers(files, ['/nowhere'], { Id: manifestId, RootFS: { Layers: diffIds } }, [0]),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ENOENT');
        assert.match(err.message, /no content store under \/nowhere holds/);
        return true;
      },
    );
    const config = put(JSON.stringify({ rootfs: { diff_ids: [diffIds[0]] } }));
    const manifest = put(
      JSON.stringify({
        config: { digest: config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha('z') }],
      }),
    );
    await assert.rejects(readStoreLayers(files, [ROOT], { Id: manifest, RootFS: { Layers: [diffIds[0]] } }, [0]), /zstd-compressed/);
  });
});
