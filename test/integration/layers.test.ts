import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import { DirectHostFiles, HostFiles } from '../../src/core/util/hostFiles';
import { LayerChange, LayerReport } from '../../src/shared/model';
import { BASE_IMAGE } from '../support/docker';
import { TarListingEntry, buildOn, savedLayerListingsOn } from '../support/images';
import {
  Target,
  TargetName,
  buildersOf,
  engineOptions,
  isPodman,
  inspectOn,
  openTarget,
  removeOn,
  runOn,
  suiteTargets,
} from '../support/targets';

const PASSWD_LINE = 'extra:x:1000:1000::/home/extra:/bin/sh';

/** Layers that add, modify, delete, hard- and symlink, and make an opaque directory. */
function dockerfile(base: string): string {
  return `FROM ${base}
RUN mkdir -p /data/sub /app && dd if=/dev/zero of=/data/big.bin bs=1k count=512 && echo hello > /data/sub/a.txt && echo keep > /data/keep.txt
COPY note.txt /app/note.txt
WORKDIR /work
ENV GREETING=hi
RUN echo '${PASSWD_LINE}' >> /etc/passwd && rm /data/big.bin && ln -s /data/keep.txt /app/link && ln /data/keep.txt /app/hard
RUN rm -rf /data/sub && mkdir /data/sub && echo new > /data/sub/b.txt
CMD ["sleep", "3600"]
`;
}

/** What a layer tar lists, in the engine's terms: whiteouts become deletions, the opaque marker marks its directory. */
function fromTar(listing: TarListingEntry[]) {
  const held = new Map<string, { type: string; size: number; link: string }>();
  const deleted = new Set<string>();
  const opaque = new Set<string>();
  for (const e of listing) {
    const name = e.name.replace(/^\.\//, '');
    if (name === '' || name === '.') continue;
    const slash = name.lastIndexOf('/');
    const dir = slash < 0 ? '' : name.slice(0, slash);
    const base = name.slice(slash + 1);
    if (base === '.wh..wh..opq') opaque.add(`/${dir}`);
    else if (base.startsWith('.wh.')) deleted.add(`/${dir ? `${dir}/` : ''}${base.slice(4)}`);
    else held.set(`/${name}`, e);
  }
  return { held, deleted, opaque };
}

const TYPE_LETTER: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' };

function assertLayerMatchesTar(changes: LayerChange[], listing: TarListingEntry[], what: string): void {
  const tar = fromTar(listing);
  const notDeleted = changes.filter((c) => c.kind !== 'deleted');
  assert.deepEqual(notDeleted.map((c) => c.path).sort(), [...tar.held.keys()].sort(), `${what}: held paths equal the layer tar`);
  for (const c of notDeleted) {
    const t = tar.held.get(c.path)!;
    assert.equal(TYPE_LETTER[c.type], t.type, `${what}: type of ${c.path}`);
    if (c.type === 'file') assert.equal(c.sizeBytes, t.size, `${what}: size of ${c.path}`);
    if (c.type === 'symlink' || c.type === 'hardlink') assert.equal(c.linkTarget, t.link, `${what}: link of ${c.path}`);
  }
  assert.deepEqual(
    changes
      .filter((c) => c.kind === 'deleted')
      .map((c) => c.path)
      .sort(),
    [...tar.deleted].sort(),
    `${what}: deletions equal the whiteouts`,
  );
  assert.deepEqual(
    changes
      .filter((c) => c.opaque)
      .map((c) => c.path)
      .sort(),
    [...tar.opaque].sort(),
    `${what}: opaque dirs equal the opaque markers`,
  );
}

/** Where each target's image layers are read from without `docker save`. */
const EXPECTED_SOURCE: Record<string, LayerReport['layers'][number]['source']> = {
  local: 'tar-split',
  'vm-docker': 'tar-split',
  'vm-containerd': 'content-store',
  // containers/storage keeps each layer's tar headers in overlay-layers/<id>.tar-split.gz.
  'vm-podman': 'tar-split',
  'vm-podman-rootless': 'tar-split',
};

/** A message that tells someone already reading through the helper to use it. */
const SUGGESTS_HELPER = /or the helper container|setting containerXray\.access/;

/**
 * The image's layers by the step that made them. Buildah commits no layer for WORKDIR: the directory
 * is made in the layer of the next step that writes (here the RUN that edits /etc/passwd).
 */
function layersBySteps(name: TargetName, layers: LayerReport['layers']) {
  const [, first, copy] = layers;
  if (isPodman(name)) return { first, copy, workdir: layers[3], edit: layers[3], rewrite: layers[4], top: layers[4] };
  return { first, copy, workdir: layers[3], edit: layers[4], rewrite: layers[5], top: layers[5] };
}

/**
 * What libpod writes into every container's root and `podman diff` leaves out by design (its list of the
 * container's own mounts and files): they are in the writable layer, and the engine lists them.
 */
const PODMAN_OWN_FILES = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/etc/mtab', '/run/.containerenv', '/run/secrets']);

/**
 * The builders whose images this suite reads: a layer is stored alike whoever built it, so on Docker 26 one
 * builder (BuildKit, its default) is enough; the Dockerfile suite covers each builder's history.
 */
function layerBuilders(name: TargetName): ('legacy' | 'buildkit')[] {
  return name === 'vm-docker' || name === 'vm-containerd' ? ['buildkit'] : buildersOf(name);
}

for (const name of suiteTargets()) {
  describe(`layer reports on the real engine (${name})`, function () {
    this.timeout(900_000);
    const reports: Record<string, LayerReport> = {};
    const containers: string[] = [];
    const tags = { legacy: 'xray-it-layers:legacy', buildkit: 'xray-it-layers:buildkit' } as const;
    let t: Target;
    let engine: Engine | null = null;
    let basePasswdBytes: number;

    before(async function () {
      this.timeout(1_800_000);
      t = await openTarget(name);
      // The base image's /etc/passwd, as its layer tar in that daemon's export lists it.
      const base = await savedLayerListingsOn(t, BASE_IMAGE);
      basePasswdBytes = base.layers[0].find((e) => e.name.replace(/^\.\//, '') === 'etc/passwd')!.size;
      // Built on the target's daemon (in the guest for a VM), by each builder.
      for (const b of layerBuilders(name)) await buildOn(t, tags[b], dockerfile(BASE_IMAGE), { 'note.txt': 'note\n' }, b);
      engine = await Engine.create(engineOptions(t));
      for (const b of layerBuilders(name)) reports[b] = await engine.layers(tags[b]);
    });

    after(async function () {
      this.timeout(300_000);
      await engine?.dispose();
      if (!t) return;
      await removeOn(t, containers);
      await t.docker(['rmi', '-f', tags.legacy, tags.buildkit]).catch(() => undefined);
    });

    for (const builder of layerBuilders(name)) {
      describe(`an image built by the ${builder === 'legacy' && isPodman(name) ? 'Buildah (legacy-form)' : builder} builder`, () => {
        it('has one layer per RootFS layer, each equal to its layer tar in docker save', async () => {
          const report = reports[builder];
          const saved = await savedLayerListingsOn(t, tags[builder]);
          assert.equal(report.layers.length, saved.layers.length);
          assert.deepEqual(
            report.layers.map((l) => l.diffId),
            saved.diffIds,
          );
          report.layers.forEach((l, i) => assertLayerMatchesTar(l.changes, saved.layers[i], `layer ${i}`));
          report.layers.forEach((l, i) => {
            const tarBytes = saved.layers[i].filter((e) => e.type === '-').reduce((s, e) => s + e.size, 0);
            assert.equal(l.sizeBytes, tarBytes, `layer ${i} size is the sum of its files`);
          });
        });

        it("reads every layer from the daemon's storage, without docker save", () => {
          const report = reports[builder];
          assert.deepEqual(
            report.layers.map((l) => l.source),
            report.layers.map(() => EXPECTED_SOURCE[name]),
          );
          assert.deepEqual(report.errors, []);
        });

        it('classifies added, modified and deleted against the layers below, with opaque directories and links', () => {
          const { first, copy, workdir, edit, rewrite } = layersBySteps(name, reports[builder].layers);
          const at = (l: { changes: LayerChange[] }, p: string) => l.changes.find((c) => c.path === p);
          assert.equal(at(first, '/data/big.bin')?.kind, 'added');
          assert.equal(at(first, '/data/big.bin')?.sizeBytes, 512 * 1024);
          assert.equal(at(copy, '/app/note.txt')?.kind, 'added');
          assert.equal(at(copy, '/app')?.kind, 'modified');
          assert.equal(at(workdir, '/work')?.kind, 'added');
          assert.equal(at(workdir, '/work')?.type, 'dir');
          assert.equal(at(edit, '/etc/passwd')?.kind, 'modified');
          assert.equal(at(edit, '/etc/passwd')?.sizeBytes, basePasswdBytes + PASSWD_LINE.length + 1);
          assert.equal(at(edit, '/data/big.bin')?.kind, 'deleted');
          assert.equal(at(edit, '/data/big.bin')?.type, 'file');
          assert.equal(at(edit, '/app/link')?.type, 'symlink');
          assert.equal(at(edit, '/app/link')?.linkTarget, '/data/keep.txt');
          assert.ok(at(edit, '/app/hard'), 'the hard link is held');
          if (name === 'vm-containerd') {
            // containerd's differ whites out each removed file where a graph driver marks the directory opaque
            // (the first check holds either way: it is what that daemon's docker save holds).
            assert.equal(at(rewrite, '/data/sub')?.opaque, undefined);
            assert.equal(at(rewrite, '/data/sub/a.txt')?.kind, 'deleted');
          } else assert.equal(at(rewrite, '/data/sub')?.opaque, true, 'rm -rf + mkdir makes an opaque directory');
          assert.equal(at(rewrite, '/data/sub/b.txt')?.kind, 'added');
        });

        it('matches each layer to the history entry that made it', async () => {
          const report = reports[builder];
          const history = (await t.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', tags[builder]]))
            .split('\n')
            .filter((l, i, a) => i < a.length - 1 || l !== '');
          const steps = layersBySteps(name, report.layers);
          assert.match(steps.first.createdBy, /dd if=\/dev\/zero/);
          assert.match(steps.copy.createdBy, /COPY/);
          assert.match(steps.edit.createdBy, /extra:x:1000/);
          assert.match(steps.rewrite.createdBy, /rm -rf \/data\/sub/);
          for (const by of report.layers.slice(1).map((l) => l.createdBy))
            assert.ok(history.includes(by), `"${by}" is a ${t.runtime} history entry`);
          const metadata = (l: LayerReport['layers'][number]) =>
            l.metadataAbove.map((m) => m.createdBy.replace(/^\/bin\/sh -c #\(nop\)\s+/, ''));
          if (isPodman(name)) {
            // Buildah: the WORKDIR is metadata above the COPY's layer.
            assert.deepEqual(metadata(steps.copy), ['WORKDIR /work', 'ENV GREETING=hi']);
          } else {
            assert.match(steps.workdir.createdBy, /WORKDIR \/work/);
            assert.deepEqual(metadata(steps.workdir), ['ENV GREETING=hi']);
          }
          assert.match(steps.top.metadataAbove[0].createdBy, /CMD/);
        });

        it("computes dive's efficiency figures from what the layers hold", () => {
          const r = reports[builder];
          const ineff = new Map(r.inefficiencies.map((i) => [i.path, i]));
          assert.deepEqual(
            ineff.get('/data/big.bin'),
            { path: '/data/big.bin', count: 2, cumulativeSizeBytes: 512 * 1024 },
            'written then deleted',
          );
          assert.equal(ineff.get('/etc/passwd')?.cumulativeSizeBytes, basePasswdBytes + basePasswdBytes + PASSWD_LINE.length + 1);
          assert.equal(ineff.get('/data/sub/a.txt')?.cumulativeSizeBytes, 'hello\n'.length, 'hidden by the opaque directory');
          const wasted = r.inefficiencies.reduce((s, i) => s + i.cumulativeSizeBytes, 0);
          assert.equal(r.wastedBytes, wasted);
          const userSize = r.layers.slice(1).reduce((s, l) => s + l.sizeBytes, 0);
          assert.equal(r.userSizeBytes, userSize);
          assert.ok(Math.abs(r.userWastedPercent - wasted / userSize) < 1e-12);
          assert.ok(r.efficiency > 0.5 && r.efficiency < 1, `efficiency ${r.efficiency}`);
          assert.equal(r.layers[1].wastedBytes >= 512 * 1024, true, 'the layer that wrote big.bin carries its waste');
        });
      });
    }

    // Local only: the fault is injected into the engine's own file reader, and only this machine's engine
    // reads directly; a VM target's reads go through the helper container, which runs as root in the guest.
    if (name === 'local')
      it('reads the same layers through docker save when /var/lib/docker is not readable', async () => {
        const direct = new DirectHostFiles();
        const deny = (f: string) => {
          if (f.startsWith('/var/lib/docker/'))
            throw Object.assign(new Error(`EACCES: permission denied, open '${f}'`), { code: 'EACCES' });
        };
        const noDockerRoot: HostFiles = {
          kind: 'direct',
          readText: async (f) => (deny(f), direct.readText(f)),
          readBytes: async (f) => (deny(f), direct.readBytes(f)),
          readLink: (f) => direct.readLink(f),
          listDir: (f) => direct.listDir(f),
          readConfined: async (root, p, limits) => (root.kind === 'dir' && deny(`${root.dir}/`), direct.readConfined(root, p, limits)),
        };
        const e = await Engine.create({ files: noDockerRoot, diskCache: false });
        const viaSave = await e.layers(tags.legacy);
        assert.ok(viaSave.layers.every((l) => l.source === 'image-tar'));
        assert.ok(reports.legacy.layers.every((l) => l.source === 'tar-split'));
        const strip = (r: LayerReport) => r.layers.map(({ source: _s, ...rest }) => rest);
        assert.deepEqual(strip(viaSave), strip(reports.legacy));
        assert.equal(viaSave.efficiency, reports.legacy.efficiency);
        assert.equal(viaSave.wastedBytes, reports.legacy.wastedBytes);
        assert.match(viaSave.errors[0].reason, /docker save/);
      });

    it("lists a container's writable layer as docker diff does, with sizes and opaque directories", async function () {
      this.timeout(900_000);
      const id = await runOn(t, ['--network', 'none', tags[layerBuilders(name)[0]]]);
      containers.push(id);
      await t.docker([
        'exec',
        id,
        'sh',
        '-c',
        'rm -rf /data/sub && mkdir /data/sub && echo x > /data/sub/c && rm /app/note.txt && echo more >> /etc/passwd && ' +
          'mkdir -p /new/deep && dd if=/dev/zero of=/new/deep/z bs=1k count=3 2>/dev/null && rm /bin/vi && ln -s /nowhere /new/dangling',
      ]);
      const report = await engine!.layers(id);
      assert.equal(report.container?.id, id);
      assert.deepEqual(
        report.errors.filter((e) => SUGGESTS_HELPER.test(e.reason)),
        [],
        'no message suggests the helper container',
      );
      assert.deepEqual(report.errors, []);
      const upper = report.upper!;
      // The upper dir: as inspect names it (overlay2), else as the kernel mounted the container's root.
      const info = await inspectOn<{ State: { Pid: number }; GraphDriver: { Data: { UpperDir?: string } | null } }>(t, id);
      const mounted = /upperdir=([^,\s]+)/.exec(await t.sh(`awk '$5 == "/"' /proc/${info.State.Pid}/mountinfo`))?.[1];
      assert.equal(upper.dir, info.GraphDriver.Data?.UpperDir ?? mounted);
      assert.equal(upper.dir, mounted);
      const diff = (await t.docker(['diff', id]))
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ kind: l[0], path: l.slice(2) }));
      const kindLetter = { added: 'A', modified: 'C', deleted: 'D' } as const;
      const mine = new Map(upper.changes.map((c) => [c.path, c]));
      const opaqueDirs = upper.changes.filter((c) => c.opaque).map((c) => c.path);
      for (const d of diff) {
        const c = mine.get(d.path);
        if (isPodman(name) && c?.opaque && d.kind === 'D') {
          // podman diff words a directory removed and made again as D, then lists what it holds now as A;
          // docker diff as C, with what it hid as D. The directory is there, and opaque.
          assert.equal(c.kind, 'modified', `${d.path} is re-made`);
          assert.equal((await t.docker(['exec', id, 'stat', '-c', '%F', d.path])).trim(), 'directory');
          continue;
        }
        if (!c) {
          // docker diff lists what an opaque directory hides as deleted; the engine marks the directory opaque.
          assert.equal(d.kind, 'D', `${d.path} is missing from the writable layer`);
          assert.ok(
            opaqueDirs.some((o) => d.path.startsWith(`${o}/`)),
            `${d.path} lies under an opaque directory`,
          );
          continue;
        }
        assert.equal(kindLetter[c.kind], d.kind, `kind of ${d.path}`);
      }
      const runtimeOwn = upper.changes.filter((c) => isPodman(name) && PODMAN_OWN_FILES.has(c.path));
      for (const c of upper.changes) {
        if (!diff.some((d) => d.path === c.path) && !runtimeOwn.includes(c))
          assert.equal(c.type, 'dir', `${c.path} is only extra when it is a directory ${t.runtime} diff saw unchanged`);
      }
      if (isPodman(name))
        assert.ok(
          runtimeOwn.some((c) => c.path === '/run/.containerenv'),
          "libpod's /run/.containerenv is listed",
        );
      assert.deepEqual(opaqueDirs, ['/data/sub']);
      assert.equal(mine.get('/new/dangling')?.linkTarget, '/nowhere');
      assert.equal(mine.get('/bin/vi')?.kind, 'deleted');
      assert.equal(mine.get('/bin/vi')?.type, 'symlink', 'the deleted path was a symlink in the image');
      // Every file's size as the guest's own stat tells it, in the upper dir the kernel mounted.
      const files = upper.changes.filter((c) => c.type === 'file' && c.kind !== 'deleted');
      const stat = await t.sh(files.map((c) => `stat -c '%s %n' '${path.posix.join(mounted!, c.path)}'`).join('; '));
      const sizes = new Map(
        stat
          .split('\n')
          .filter(Boolean)
          .map((l) => [l.slice(l.indexOf(' ') + 1).slice(mounted!.length), Number(l.slice(0, l.indexOf(' ')))] as const),
      );
      assert.equal(sizes.size, files.length);
      for (const c of files) assert.equal(c.sizeBytes, sizes.get(c.path), `size of ${c.path}`);
      assert.equal(mine.get('/new/deep/z')?.sizeBytes, 3 * 1024);
      // The runtime's own files count too (their sizes checked against stat above).
      const runtimeBytes = runtimeOwn.filter((c) => c.type === 'file').reduce((sum, c) => sum + c.sizeBytes, 0);
      assert.equal(upper.sizeBytes, 3 * 1024 + 2 + basePasswdBytes + PASSWD_LINE.length + 1 + 'more\n'.length + runtimeBytes);
      if (name === 'vm-containerd') {
        // The snapshot IDs, against containerd's own record of the container's snapshot (its key is the container ID).
        const mounts = await t.sh(`ctr -n moby snapshots --snapshotter overlayfs mounts /xray-layers-unused ${id}`);
        const ids = (dir: string) => /\/snapshots\/(\d+)\/fs$/.exec(dir)?.[1];
        assert.equal(upper.snapshotId, ids(/upperdir=([^,\s]+)/.exec(mounts)![1]));
        const lowers = /lowerdir=([^,\s]+)/.exec(mounts)![1].split(':');
        const parent = (JSON.parse(await t.sh(`ctr -n moby snapshots --snapshotter overlayfs info ${id}`)) as { Parent: string }).Parent;
        assert.equal(parent, `${id}-init`, "the container's snapshot sits on Docker's init snapshot");
        const overlay = (await engine!.snapshot()).containers.find((c) => c.id === id)?.overlay;
        assert.ok(overlay, 'the snapshot has the container overlay');
        assert.equal(overlay.upperSnapshotId, upper.snapshotId);
        const top = overlay.stack[overlay.stack.length - 1];
        assert.equal(top.role, 'init');
        assert.equal(top.snapshotId, ids(lowers[0]), 'the init snapshot is the top lower dir');
        assert.deepEqual(
          overlay.stack.map((l) => l.snapshotId),
          lowers.map(ids).reverse(),
        );
        // The image's layers, by snapshot: each one's tree, as the guest lists it, is what the layer holds.
        const imageDirs = overlay.stack.filter((l) => l.role === 'image');
        assert.deepEqual(
          report.layers.map((l) => l.snapshotId),
          imageDirs.map((l) => l.snapshotId),
        );
        // Whiteouts are character devices in a snapshot dir: they are the layer's deletions.
        const listed = (await t.sh(`cd ${imageDirs[5].dir} && find . -mindepth 1 -printf '%y /%P\\n'`))
          .split('\n')
          .filter(Boolean)
          .map((l) => `${l[0] === 'c' ? 'deleted' : 'held'} ${l.slice(2)}`);
        const byPath = (a: string, b: string) => {
          const [pa, pb] = [a.slice(a.indexOf(' ') + 1), b.slice(b.indexOf(' ') + 1)];
          return pa < pb ? -1 : pa > pb ? 1 : 0;
        };
        assert.deepEqual(
          listed.sort(byPath),
          report.layers[5].changes.map((c) => `${c.kind === 'deleted' ? 'deleted' : 'held'} ${c.path}`).sort(byPath),
          'the top image layer snapshot holds what the layer report lists',
        );
      }
    });
  });
}
