// Dockerfile lines ↔ image history ↔ layers, on the real engine: one Dockerfile built with the legacy
// builder and with BuildKit; every instruction must map to the right history entry and layer, checked
// against the image config's empty_layer flags and the layer tars of `docker save`, and sizes against
// `docker history`. Built on each target's daemon (in the guest for a VM), the oracles read from that daemon.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import Docker from 'dockerode';
import { extract } from 'tar-stream';
import { Engine } from '../../src/core/engine';
import { HistoryEntry, assignLayers, enrichHistoryLayerCounts } from '../../src/core/dockerfile/history';
import {
  ImageCandidate,
  findImageForDockerfile,
  layerForInstruction,
  matchAtLine,
  matchDockerfileToHistory,
} from '../../src/core/dockerfile/match';
import { codeLensTitle, describeInstructionLayer } from '../../src/core/dockerfile/describe';
import { finalStage, parseDockerfile } from '../../src/core/dockerfile/parse';
import type { ImageLayer, LayerChange, LayerReport } from '../../src/shared/model';
import { BASE_IMAGE } from '../support/docker';
import { buildOn, saveOn } from '../support/images';
import { Target, TargetName, buildersOf, engineOptions, isPodman, openTarget, suiteTargets } from '../support/targets';

const BASE = BASE_IMAGE;
const TAGS = { legacy: 'xray-dftest-legacy:1', buildkit: 'xray-dftest-bk:1' } as const;
/**
 * Targets whose daemon keeps images in containerd: there `docker history` gives each layer's Size as its
 * snapshot's disk usage (blocks, directories included), not the bytes of the files it holds.
 */
const CONTAINERD_STORE = new Set(['vm-containerd']);

/**
 * A history Size against its layer tar, as the target's runtime counts it: the bytes of the files it
 * holds (Docker's graph drivers), their disk usage (the containerd store), the tar's own length
 * (containers/storage keeps each layer's uncompressed size).
 */
function assertHistorySize(target: TargetName, size: number, content: number, tarBytes: number, what: string): void {
  if (isPodman(target)) return assert.equal(size, tarBytes, `${what}: Size = length of the layer tar`);
  if (!CONTAINERD_STORE.has(target)) return assert.equal(size, content, `${what}: Size = bytes in the layer tar`);
  assert.ok(size >= content && size % 512 === 0, `${what}: Size ${size} is the disk usage of ${content} bytes`);
}
type BuilderName = keyof typeof TAGS;

const DOCKERFILE = `FROM ${BASE}
ARG SIZE_KB=48
ENV APP_HOME=/srv/app \\
    MODE=test
WORKDIR $APP_HOME
COPY payload.txt ./payload.txt
COPY conf/ /etc/xray/
RUN mkdir -p data && \\
    dd if=/dev/zero of=data/blob bs=1k count=$SIZE_KB && \\
    echo built > data/marker
RUN ["/bin/sh", "-c", "dd if=/dev/zero of=/srv/app/second bs=1k count=16"]
RUN rm data/blob
RUN echo "no files change here"
WORKDIR /srv/app
LABEL org.example.test="dockerfile match"
CMD ["sh"]
`;

/** What each line's layer must hold (0-based start line → a path in the layer tar), or null: no layer content. */
const EXPECTED: Record<number, { keyword: string; path: string | null; size?: number }> = {
  1: { keyword: 'ARG', path: null },
  2: { keyword: 'ENV', path: null },
  4: { keyword: 'WORKDIR', path: 'srv/app/' },
  5: { keyword: 'COPY', path: 'srv/app/payload.txt', size: 12 },
  6: { keyword: 'COPY', path: 'etc/xray/a.conf', size: 7 },
  7: { keyword: 'RUN', path: 'srv/app/data/blob', size: 48 * 1024 },
  10: { keyword: 'RUN', path: 'srv/app/second', size: 16 * 1024 },
  11: { keyword: 'RUN', path: 'srv/app/data/.wh.blob' },
  12: { keyword: 'RUN', path: null },
  13: { keyword: 'WORKDIR', path: null },
  14: { keyword: 'LABEL', path: null },
  15: { keyword: 'CMD', path: null },
};

interface TarEntry {
  name: string;
  size: number;
  type: string;
}

interface Built {
  tag: string;
  id: string;
  created: number;
  layerCount: number;
  imageSize: number;
  history: HistoryEntry[];
  /** The config's empty_layer, newest first. */
  emptyLayer: boolean[];
  /** docker history rows (newest first). */
  cliHistory: { CreatedBy: string; Size: number }[];
  /** Layer tar listings, bottom first. */
  layerTars: TarEntry[][];
  /** Each layer tar's length in the export, bottom first. */
  layerTarBytes: number[];
  diffIds: string[];
}

/** A layer tar's entries, plain or gzip-compressed (the containerd image store exports compressed blobs). */
async function listTar(file: string): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    out.push({ name: header.name, size: header.size ?? 0, type: header.type ?? 'file' });
    stream.on('end', next);
    stream.resume();
  });
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 2, 0);
  fs.closeSync(fd);
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    const raw = fs.createReadStream(file).on('error', reject);
    (head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip().on('error', reject)) : raw).pipe(ex);
  });
  return out;
}

/** A dockerode client for the target's daemon (the VM's plain tcp port of Docker or Podman, on loopback). */
function clientFor(t: Target): Docker {
  return t.host ? new Docker({ host: '127.0.0.1', port: Number(new URL(t.host).port), protocol: 'http' }) : new Docker();
}

async function inspectBuilt(t: Target, client: Docker, tag: string, work: string): Promise<Built> {
  const info = (await client.getImage(tag).inspect()) as unknown as {
    Id: string;
    Created: string;
    Size: number;
    RootFS: { Layers?: string[] };
  };
  const history = (await client.getImage(tag).history()) as unknown as HistoryEntry[];
  const cliHistory = (await t.docker(['history', '--no-trunc', '--human=false', '--format', '{{json .}}', tag]))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { CreatedBy?: string; Size: string })
    // podman history leaves out an empty CreatedBy (an imported base layer's).
    .map((r) => ({ CreatedBy: r.CreatedBy ?? '', Size: Number(r.Size) }));

  // docker save: the config's history (with empty_layer) and the layer tars, the oracles.
  const dir = fs.mkdtempSync(path.join(work, 'save-'));
  const manifest = await saveOn(t, tag, dir);
  const config = JSON.parse(fs.readFileSync(path.join(dir, manifest.Config), 'utf8')) as {
    history: { created_by?: string; empty_layer?: boolean }[];
    rootfs: { diff_ids: string[] };
  };
  const layerTars: TarEntry[][] = [];
  for (const l of manifest.Layers) layerTars.push(await listTar(path.join(dir, l)));
  const layerTarBytes = manifest.Layers.map((l) => fs.statSync(path.join(dir, l)).size);
  return {
    tag,
    id: info.Id,
    created: Date.parse(info.Created) / 1000,
    layerCount: info.RootFS.Layers?.length ?? 0,
    imageSize: info.Size,
    history,
    emptyLayer: config.history.map((h) => h.empty_layer === true).reverse(),
    cliHistory,
    layerTars,
    layerTarBytes,
    diffIds: config.rootfs.diff_ids,
  };
}

/**
 * Files (not directories, not whiteouts) a layer tar holds that no layer below holds: blob and marker for
 * the dd step; Buildah's RUN layers also hold the empty /etc/hostname it mounts over.
 */
function newFiles(b: Built, index: number): number {
  const name = (e: TarEntry) => e.name.replace(/^\.?\//, '');
  const below = new Set(b.layerTars.slice(0, index).flatMap((l) => l.map(name)));
  return b.layerTars[index].filter((e) => e.type !== 'directory' && !/(^|\/)\.wh\./.test(e.name) && !below.has(name(e))).length;
}

function truthLayerIndex(b: Built): (number | null)[] {
  const out = new Array<number | null>(b.history.length).fill(null);
  let idx = 0;
  for (let i = b.history.length - 1; i >= 0; i--) if (!b.emptyLayer[i]) out[i] = idx++;
  return out;
}

/** An ImageLayer (the model) from a layer tar listing, enough to describe it. */
function layerFromTar(b: Built, index: number, createdBy: string): ImageLayer {
  const changes: LayerChange[] = [];
  for (const e of b.layerTars[index]) {
    const name = `/${e.name.replace(/^\.?\//, '').replace(/\/$/, '')}`;
    const base = name.slice(name.lastIndexOf('/') + 1);
    if (base.startsWith('.wh.')) changes.push({ path: name.replace(/\.wh\.([^/]*)$/, '$1'), kind: 'deleted', type: 'other', sizeBytes: 0 });
    else
      changes.push({ path: name, kind: 'added', type: e.type === 'directory' ? 'dir' : 'file', sizeBytes: e.type === 'file' ? e.size : 0 });
  }
  return {
    index,
    diffId: b.diffIds[index],
    chainId: '',
    createdBy,
    createdAt: null,
    comment: null,
    sizeBytes: changes.reduce((a, c) => a + c.sizeBytes, 0),
    metadataAbove: [],
    changes,
    wastedBytes: 0,
    source: 'image-tar',
  };
}

// Buildah writes the same history rootful or rootless: Podman's builds are checked once, rootless (its
// layers are read on both Podman targets by the layers suite).
for (const name of suiteTargets().filter((n) => n !== 'vm-podman')) {
  describe(`Dockerfile ↔ image layers on the real engine (${name})`, function () {
    this.timeout(900_000);
    const built: Partial<Record<BuilderName, Built>> = {};
    const reports: Partial<Record<BuilderName, LayerReport>> = {};
    let t: Target;
    let client: Docker;
    let work = '';
    const files = { 'payload.txt': 'payload 123\n', 'conf/a.conf': 'x=1\ny\n\n' };

    before(async function () {
      this.timeout(1_800_000);
      t = await openTarget(name);
      client = clientFor(t);
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-dftest-'));
      // On the target's daemon, each builder it is tested with (buildersOf): the legacy builder (said explicitly),
      // then BuildKit through the 20.10 client.
      // Podman has Buildah alone, which writes the legacy builder's forms.
      if (buildersOf(name).includes('legacy'))
        await buildOn(t, TAGS.legacy, DOCKERFILE, files, 'legacy', { extra: ['--no-cache'], label: false });
      if (buildersOf(name).includes('buildkit')) {
        await new Promise((r) => setTimeout(r, 1100)); // the BuildKit image is the newer one
        await buildOn(t, TAGS.buildkit, DOCKERFILE, files, 'buildkit', { extra: ['--no-cache'], label: false });
      }
      for (const b of buildersOf(name)) built[b] = await inspectBuilt(t, client, TAGS[b], work);
      // The engine's own report of each image, as the hover reads it.
      const engine = await Engine.create(engineOptions(t));
      try {
        for (const b of buildersOf(name)) reports[b] = await engine.layers(TAGS[b]);
      } finally {
        await engine.dispose();
      }
    });

    after(async function () {
      this.timeout(300_000);
      if (t) await t.docker(['rmi', '-f', TAGS.legacy, TAGS.buildkit]).catch(() => '');
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it('the conf fixture sizes are what the expectations say', () => {
      assert.equal(Buffer.byteLength(files['payload.txt']), EXPECTED[5].size);
      assert.equal(Buffer.byteLength(files['conf/a.conf']), EXPECTED[6].size);
    });

    for (const builder of buildersOf(name)) {
      describe(`built with ${builder === 'buildkit' ? 'BuildKit' : isPodman(name) ? 'Buildah' : 'the legacy builder'}`, () => {
        it('writes the CreatedBy forms this module parses', () => {
          const b = built[builder];
          assert.ok(b);
          const top = b.history.slice(0, 13).map((h) => h.CreatedBy);
          if (isPodman(name)) {
            // Buildah: the legacy builder's forms, metadata as written (variables unexpanded, an ARG by its
            // name), an exec-form RUN as the shell followed by its JSON array.
            assert.ok(top.includes('/bin/sh -c #(nop) CMD ["sh"]'), top.join('\n'));
            assert.ok(top.includes('/bin/sh -c #(nop) WORKDIR $APP_HOME'), top.join('\n'));
            assert.ok(top.includes('/bin/sh -c #(nop) ARG SIZE_KB'), top.join('\n'));
            assert.ok(
              top.some((c) => /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \.\/payload\.txt $/.test(c)),
              top.join('\n'),
            );
            assert.ok(top.includes('|1 SIZE_KB=48 /bin/sh -c rm data/blob'), top.join('\n'));
            assert.ok(
              top.includes('|1 SIZE_KB=48 /bin/sh -c ["/bin/sh", "-c", "dd if=/dev/zero of=/srv/app/second bs=1k count=16"]'),
              top.join('\n'),
            );
          } else if (builder === 'legacy') {
            assert.ok(top.includes('/bin/sh -c #(nop)  CMD ["sh"]'), top.join('\n'));
            assert.ok(top.includes('/bin/sh -c #(nop) WORKDIR /srv/app'), top.join('\n'));
            assert.ok(
              top.some((c) => /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \.\/payload\.txt $/.test(c)),
              top.join('\n'),
            );
            assert.ok(
              top.some((c) => /^\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \/etc\/xray\/ $/.test(c)),
              top.join('\n'),
            );
            assert.ok(top.includes('|1 SIZE_KB=48 /bin/sh -c rm data/blob'), top.join('\n'));
            assert.ok(top.includes('|1 SIZE_KB=48 /bin/sh -c dd if=/dev/zero of=/srv/app/second bs=1k count=16'), top.join('\n'));
          } else {
            assert.ok(top.includes('CMD ["sh"]'), top.join('\n'));
            assert.ok(top.includes('WORKDIR /srv/app'), top.join('\n'));
            assert.ok(top.includes('COPY payload.txt ./payload.txt # buildkit'), top.join('\n'));
            assert.ok(top.includes('RUN |1 SIZE_KB=48 /bin/sh -c rm data/blob # buildkit'), top.join('\n'));
            assert.ok(b.history.slice(0, 12).every((h) => h.Comment === 'buildkit.dockerfile.v0'));
          }
        });

        it('maps every instruction to the right history entry and layer index', () => {
          const b = built[builder];
          assert.ok(b);
          const truth = truthLayerIndex(b);
          const withFlags = b.history.map((h, i) => ({ ...h, emptyLayer: b.emptyLayer[i] }));
          const exact = matchDockerfileToHistory(DOCKERFILE, withFlags, b.layerCount);
          const apiOnly = matchDockerfileToHistory(DOCKERFILE, b.history, b.layerCount);
          for (const m of [exact, apiOnly]) {
            assert.ok(m, 'a match');
            assert.equal(m.full, true);
            assert.equal(m.score, 1);
            assert.equal(m.builder, builder);
            assert.equal(m.instructions.length, 12);
            assert.equal(m.baseHistoryIndex, b.history.length - 1); // the base image: one imported entry
            m.instructions.forEach((p, k) => {
              const want = EXPECTED[p.instruction.startLine];
              assert.ok(want, `line ${p.instruction.startLine}`);
              assert.equal(p.instruction.keyword, want.keyword);
              // Instructions, last first, are the history entries, newest first.
              assert.equal(p.historyIndex, m.instructions.length - 1 - k, `line ${p.instruction.startLine + 1}`);
              assert.equal(p.quality, 'exact');
              assert.equal(p.createdBy, b.history[p.historyIndex ?? -1].CreatedBy);
            });
          }
          assert.ok(exact && apiOnly);
          for (const p of exact.instructions) {
            assert.equal(p.layerIndex, truth[p.historyIndex ?? -1], `line ${p.instruction.startLine + 1} (config)`);
            assert.equal(p.layerCertain, true);
          }
          // From the API alone: whatever it calls certain is right; and here every guess is right too.
          for (const p of apiOnly.instructions) {
            assert.equal(p.layerIndex, truth[p.historyIndex ?? -1], `line ${p.instruction.startLine + 1} (API only)`);
          }
          if (builder === 'buildkit') assert.ok(apiOnly.instructions.every((p) => p.layerCertain));
        });

        it('each layer-producing line’s layer tar holds what that line wrote', () => {
          const b = built[builder];
          assert.ok(b);
          const m = matchDockerfileToHistory(DOCKERFILE, b.history, b.layerCount);
          assert.ok(m);
          for (const p of m.instructions) {
            const want = EXPECTED[p.instruction.startLine];
            if (p.instruction.effect === 'metadata') {
              assert.equal(p.layerIndex, null);
              continue;
            }
            // Buildah commits no layer for WORKDIR (the directory goes into the next layer), one for every RUN.
            const buildah = isPodman(name);
            if (buildah && p.instruction.keyword === 'WORKDIR') {
              assert.equal(p.layerIndex, null, `line ${p.instruction.startLine + 1}`);
              continue;
            }
            if (want.path === null) {
              // `RUN echo` and the second `WORKDIR /srv/app` change nothing: no layer (legacy) or an empty one (BuildKit, Buildah).
              if (builder === 'legacy' && !buildah) assert.equal(p.layerIndex, null, `line ${p.instruction.startLine + 1}`);
              else {
                assert.ok(p.layerIndex !== null);
                // BuildKit's RUN layer may still list `etc/` (the mount points it set up); no file content.
                const files: TarEntry[] = b.layerTars[p.layerIndex].filter((e) => e.type !== 'directory');
                assert.deepEqual(files, [], `line ${p.instruction.startLine + 1}: an empty layer`);
                assertHistorySize(name, p.sizeBytes ?? -1, 0, b.layerTarBytes[p.layerIndex], `line ${p.instruction.startLine + 1}`);
              }
              continue;
            }
            assert.ok(p.layerIndex !== null, `line ${p.instruction.startLine + 1}`);
            const tar: TarEntry[] = b.layerTars[p.layerIndex];
            const hit: TarEntry | undefined = tar.find((e) => e.name === want.path || e.name === `./${want.path}`);
            assert.ok(
              hit,
              `line ${p.instruction.startLine + 1}: layer ${p.layerIndex} holds ${want.path}: ${tar.map((e) => e.name).join(', ')}`,
            );
            if (want.size !== undefined) assert.equal(hit.size, want.size);
            // The history Size of the entry is the layer's content bytes (its disk usage on the containerd store).
            const content: number = tar.filter((e) => e.type === 'file').reduce((a, e) => a + e.size, 0);
            assertHistorySize(name, p.sizeBytes ?? -1, content, b.layerTarBytes[p.layerIndex], `line ${p.instruction.startLine + 1}`);
          }
        });

        it('cross-checks sizes with docker history and docker image inspect', () => {
          const b = built[builder];
          assert.ok(b);
          assert.equal(b.cliHistory.length, b.history.length);
          b.cliHistory.forEach((row, i) => {
            assert.equal(row.Size, b.history[i].Size, `entry ${i}`);
            assert.equal(row.CreatedBy, b.history[i].CreatedBy, `entry ${i}`);
          });
          const a = assignLayers(b.history, b.layerCount);
          assert.ok(a.consistent);
          const layerBytes = b.history.reduce((sum, h, i) => sum + (a.makesLayer[i] ? h.Size : 0), 0);
          // On the containerd store the image's Size counts its content blobs too: no sum to compare with.
          // Podman's counts the layer tars, which its export holds.
          if (isPodman(name))
            assert.equal(
              layerBytes,
              b.layerTarBytes.reduce((sum, n) => sum + n, 0),
              'the layers’ sizes add up to their tars',
            );
          else if (!CONTAINERD_STORE.has(name)) assert.equal(layerBytes, b.imageSize, 'the layers’ sizes add up to the image size');
          const m = matchDockerfileToHistory(DOCKERFILE, b.history, b.layerCount);
          const dd = matchAtLine(m ?? (null as never), 8);
          assertHistorySize(name, dd?.sizeBytes ?? -1, 48 * 1024 + 'built\n'.length, b.layerTarBytes[dd?.layerIndex ?? -1], 'line 9');
        });

        it('describes a line from its layer (hover and CodeLens text)', () => {
          const b = built[builder];
          assert.ok(b);
          const m = matchDockerfileToHistory(DOCKERFILE, b.history, b.layerCount);
          assert.ok(m);
          const dd = matchAtLine(m, 7);
          assert.ok(dd && dd.layerIndex !== null && dd.createdBy !== null);
          const layers = b.diffIds.map((_, i) => layerFromTar(b, i, i === dd.layerIndex ? (dd.createdBy ?? '') : `layer ${i}`));
          const report: LayerReport = {
            image: { id: b.id, tags: [b.tag], ref: b.tag },
            container: null,
            layers,
            metadataBelow: [],
            upper: null,
            efficiency: 1,
            wastedBytes: 0,
            userWastedPercent: 0,
            sizeBytes: b.imageSize,
            userSizeBytes: 0,
            inefficiencies: [],
            errors: [],
          };
          const layer = layerForInstruction(dd, report);
          assert.ok(layer);
          const text = describeInstructionLayer(dd.instruction, layer, report, dd, { markdown: false });
          assert.match(
            text,
            new RegExp(
              `^RUN \\(lines 8–10\\): layer ${dd.layerIndex + 1} of ${b.layerCount}, 48\\.0 KiB, digest ${b.diffIds[dd.layerIndex].slice(7, 19)}( \\(matched by counting layers; may be off by one\\))?\\.`,
            ),
          );
          // BuildKit: every index is certain; legacy: the RUN sits between Size-0 guesses, so it says so.
          // Where every layer's history Size is above 0 (the containerd store's disk usage, the tar length
          // containers/storage keeps) nothing is a guess.
          assert.equal(text.includes('may be off by one'), builder === 'legacy' && !CONTAINERD_STORE.has(name) && !isPodman(name));
          assert.match(text, /• \/srv\/app\/data\/blob \(48\.0 KiB, added\)/);
          assert.equal(codeLensTitle(layer, dd), `$(layers) 48.0 KiB · +${newFiles(b, dd.layerIndex)} ~0 -0 files`);
          const env = matchAtLine(m, 3);
          assert.ok(env);
          assert.match(
            describeInstructionLayer(env.instruction, null, report, env, { markdown: false }),
            /only sets image metadata; it produced no layer/,
          );
        });

        it("describes a line from the engine's own report of the image built there (the hover as the editor shows it)", () => {
          const b = built[builder];
          const report = reports[builder];
          assert.ok(b && report);
          const m = matchDockerfileToHistory(DOCKERFILE, b.history, b.layerCount);
          assert.ok(m);
          const dd = matchAtLine(m, 7);
          assert.ok(dd && dd.layerIndex !== null);
          const layer = layerForInstruction(dd, report);
          assert.ok(layer);
          assert.equal(layer.diffId, b.diffIds[dd.layerIndex], 'the layer the line made, by the docker save config');
          const text = describeInstructionLayer(dd.instruction, layer, report, dd, { markdown: false });
          assert.match(
            text,
            new RegExp(
              `^RUN \\(lines 8–10\\): layer ${dd.layerIndex + 1} of ${b.layerCount}, 48\\.0 KiB, digest ${b.diffIds[dd.layerIndex].slice(7, 19)}`,
            ),
          );
          assert.match(text, /• \/srv\/app\/data\/blob \(48\.0 KiB, added\)/);
          assert.equal(codeLensTitle(layer, dd), `$(layers) 48.0 KiB · +${newFiles(b, dd.layerIndex)} ~0 -0 files`);
          const rm = matchAtLine(m, 11);
          assert.ok(rm);
          const rmLayer = layerForInstruction(rm, report);
          assert.deepEqual(
            rmLayer?.changes.filter((c) => c.kind === 'deleted').map((c) => c.path),
            ['/srv/app/data/blob'],
          );
        });
      });
    }

    if (buildersOf(name).includes('legacy'))
      it('legacy: the intermediate images’ layer counts make every layer index certain', async () => {
        const b = built.legacy;
        assert.ok(b);
        const enriched = await enrichHistoryLayerCounts(b.history, async (id) => {
          const info = (await client.getImage(id).inspect()) as unknown as { RootFS: { Layers?: string[] } };
          return info.RootFS.Layers?.length ?? null;
        });
        const a = assignLayers(enriched, b.layerCount);
        assert.deepEqual(a.layerIndex, truthLayerIndex(b));
        assert.ok(a.certain.every(Boolean));
      });

    it('findImageForDockerfile picks the newest of the images built from the file', () => {
      const candidates: ImageCandidate[] = buildersOf(name).map((k) => {
        const b = built[k];
        assert.ok(b);
        return { id: b.id, tags: [b.tag], created: b.created, history: b.history, layerCount: b.layerCount };
      });
      const best = findImageForDockerfile(DOCKERFILE, candidates);
      assert.equal(best?.candidate.tags[0], TAGS[buildersOf(name).at(-1)!]);
      assert.equal(best?.match.full, true);
      // A different Dockerfile matches neither.
      assert.equal(findImageForDockerfile(`FROM ${BASE}\nRUN echo other\n`, candidates), null);
      // The Dockerfile's final stage: 12 instructions after FROM.
      assert.equal(finalStage(parseDockerfile(DOCKERFILE))?.instructions.length, 12);
    });
  });
}
