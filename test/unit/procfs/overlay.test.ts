// A container's overlay mount on the containerd image store: snapshot IDs from the snapshotter's dirs,
// Docker's init snapshot told by its /.dockerenv, and read errors phrased for the reader that met them.
import * as assert from 'node:assert/strict';
import { parseMountinfo } from '../../../src/core/procfs/mountinfo';
import { readOverlayMount, snapshotIdOf } from '../../../src/core/procfs/overlay';
import { HostFileError, HostFiles, describeReadError } from '../../../src/core/util/hostFiles';

const SNAP = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots';
const MOUNTINFO =
  `190 161 0:42 / / rw,relatime - overlay overlay rw,lowerdir=${SNAP}/2/fs:${SNAP}/1/fs,` +
  `upperdir=${SNAP}/3/fs,workdir=${SNAP}/3/work\n`;

/** A legacy-built image's chain on the containerd store: build containers' init snapshots between its layers. */
const LEGACY_BUILT =
  `190 161 0:42 / / rw,relatime - overlay overlay rw,lowerdir=${SNAP}/9/fs:${SNAP}/7/fs:${SNAP}/6/fs:${SNAP}/1/fs,` +
  `upperdir=${SNAP}/10/fs,workdir=${SNAP}/10/work\n`;

/** The host-side mount the runtime made for a container's root: same superblock options, its own mount point. */
function hostTable(...rootLines: string[]) {
  return parseMountinfo(rootLines.map((l, i) => l.replace(' / / ', ` / /var/lib/docker/rootfs/overlayfs/c${i} `)).join('')).entries;
}

function filesWith(opts: { kind: HostFiles['kind']; present?: string[]; deny?: boolean; mountinfo?: string }): HostFiles {
  const fail = (f: string): never => {
    throw new HostFileError('ENOENT', f, `ENOENT: ${f}`);
  };
  return {
    kind: opts.kind,
    readText: async (f) => {
      if (opts.deny) throw new HostFileError('EACCES', f, `EACCES: permission denied, open '${f}'`);
      return f === '/proc/42/mountinfo' ? (opts.mountinfo ?? MOUNTINFO) : fail(f);
    },
    readBytes: async (f) => fail(f),
    readLink: async (f) => fail(f),
    listDir: async (f) => fail(f),
    exists: async (f) => (opts.present ?? []).includes(f),
    readConfined: async () => fail('confined'),
  };
}

describe('overlay mounts on the containerd image store', () => {
  it('reads snapshot IDs from snapshotter dirs, and none from overlay2 dirs', () => {
    assert.equal(snapshotIdOf(`${SNAP}/17/fs`), '17');
    assert.equal(snapshotIdOf('/var/lib/docker/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots/5/fs'), '5');
    assert.equal(snapshotIdOf('/var/lib/docker/overlay2/abc/diff'), null);
    assert.equal(snapshotIdOf(`${SNAP}/17/work`), null);
  });

  it("names each layer's snapshot and tells Docker's init snapshot by its /.dockerenv", async () => {
    const { overlay, errors } = await readOverlayMount(
      filesWith({ kind: 'helper', present: [`${SNAP}/2/fs/.dockerenv`] }),
      42,
      hostTable(MOUNTINFO),
    );
    assert.deepEqual(errors, []);
    assert.ok(overlay);
    assert.deepEqual(
      overlay.stack.map((l) => [l.snapshotId, l.role]),
      [
        ['1', 'image'],
        ['2', 'init'],
      ],
    );
    assert.equal(overlay.upperSnapshotId, '3');
    assert.equal(overlay.upperDir, `${SNAP}/3/fs`);
  });

  it("marks the init snapshots of the build containers a legacy-built image carries, and the container's own on top", async () => {
    const files = filesWith({ kind: 'direct', mountinfo: LEGACY_BUILT, present: [`${SNAP}/9/fs/.dockerenv`, `${SNAP}/6/fs/.dockerenv`] });
    const { overlay } = await readOverlayMount(files, 42, hostTable(LEGACY_BUILT));
    assert.deepEqual(
      overlay?.stack.map((l) => `${l.snapshotId}:${l.role}`),
      ['1:image', '6:init', '7:image', '9:init'],
    );
  });

  it('keeps the top layer an image layer when it holds no /.dockerenv (a container run without one)', async () => {
    const { overlay } = await readOverlayMount(filesWith({ kind: 'direct' }), 42, hostTable(MOUNTINFO));
    assert.deepEqual(
      overlay?.stack.map((l) => l.role),
      ['image', 'image'],
    );
  });

  it('names the host-side mount point as the merged dir', async () => {
    const { overlay } = await readOverlayMount(filesWith({ kind: 'direct' }), 42, hostTable(MOUNTINFO));
    assert.equal(overlay?.mergedDir, '/var/lib/docker/rootfs/overlayfs/c0');
  });

  it('refuses a root mount the container made itself: an upper dir no host-side overlay has', async () => {
    const forged = `190 161 0:99 / / rw - overlay o rw,lowerdir=/l,upperdir=/root,workdir=/w\n`;
    const { overlay, errors } = await readOverlayMount(filesWith({ kind: 'direct', mountinfo: forged }), 42, hostTable(MOUNTINFO));
    assert.equal(overlay, null);
    assert.match(errors[0].reason, /upperdir=\/root\) is not an overlay the runtime mounted on the host: its directories are not read/);
  });

  it('refuses a real upper dir paired with lower dirs of the container’s choosing', async () => {
    const forged = MOUNTINFO.replace(`lowerdir=${SNAP}/2/fs:${SNAP}/1/fs`, 'lowerdir=/root:/etc');
    const { overlay, errors } = await readOverlayMount(filesWith({ kind: 'direct', mountinfo: forged }), 42, hostTable(MOUNTINFO));
    assert.equal(overlay, null);
    assert.match(errors[0].reason, /is not an overlay the runtime mounted on the host/);
  });

  it('refuses to trust the container’s own mount table when the host’s is not readable', async () => {
    const { overlay, errors } = await readOverlayMount(filesWith({ kind: 'direct' }), 42, null);
    assert.equal(overlay, null);
    assert.match(errors[0].reason, /host's mount table is not readable/);
  });

  it('never tells a reader that is the helper to use the helper', async () => {
    const viaHelper = await readOverlayMount(filesWith({ kind: 'helper', deny: true }), 42, null);
    assert.match(viaHelper.errors[0].reason, /permission denied reading \/proc\/42\/mountinfo in the helper container/);
    assert.doesNotMatch(viaHelper.errors[0].reason, /or the helper container|containerXray\.access/);
    const direct = await readOverlayMount(filesWith({ kind: 'direct', deny: true }), 42, null);
    assert.match(direct.errors[0].reason, /or the helper container, setting containerXray\.access/);
    const upper = `${SNAP}/11/fs`;
    const eacces = Object.assign(new Error(`${upper} is outside what the helper container is given`), { code: 'EACCES' });
    assert.doesNotMatch(describeReadError(eacces, upper, 'helper'), /or the helper container/);
    assert.match(describeReadError(eacces, upper), /needs root or CAP_DAC_READ_SEARCH \(or the helper container/);
  });
});
