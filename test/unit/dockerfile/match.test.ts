import * as assert from 'node:assert/strict';
import {
  DockerfileImageMatch,
  ImageCandidate,
  findImageForDockerfile,
  layerForInstruction,
  matchAtLine,
  matchDockerfileToHistory,
} from '../../../src/core/dockerfile/match';
import type { HistoryEntry } from '../../../src/core/dockerfile/history';
import type { ImageLayer, LayerReport } from '../../../src/shared/model';
import { bk, entry, newestFirst, readDockerfile, readHistory, truthLayerIndex } from './fixtures';

const IMPORT = entry('', 1_984_162, { Comment: 'Imported from -' });

function summary(m: DockerfileImageMatch): string[] {
  return m.instructions.map((p) => `${p.instruction.startLine}:${p.instruction.keyword}→${p.historyIndex}:${p.quality}:${p.layerIndex}`);
}

describe('dockerfile/match', () => {
  describe('real histories of both builders', () => {
    for (const name of ['kitchen-sink', 'multistage']) {
      // Buildah (Podman 5.4.2's `podman build`, OCI format) writes the legacy builder's forms, with its own turns.
      for (const builder of ['legacy', 'buildkit', 'buildah'] as const) {
        it(`${name} built with ${builder}: every instruction maps to its entry and layer`, () => {
          const fx = readHistory(`${name}.${builder}.json`);
          const text = readDockerfile(fx.dockerfile);
          const withFlags = fx.history.map((h, i) => ({ ...h, emptyLayer: fx.emptyLayer[i] }));
          const m = matchDockerfileToHistory(text, withFlags, fx.layerCount);
          assert.ok(m, 'a match');
          assert.equal(m.full, true, summary(m).join('\n'));
          assert.equal(m.score, 1);
          assert.equal(m.builder, builder === 'buildah' ? 'legacy' : builder);
          assert.deepEqual(m.unexplainedHistory, []);
          assert.equal(m.baseHistoryIndex, fx.history.length - 1); // only the import is left: the base image
          const truth = truthLayerIndex(fx);
          let expectedIndex = 0;
          // The chain's instructions, last first, take the history entries newest first, one each.
          for (const p of [...m.instructions].reverse()) {
            if (p.instruction.keyword === 'ONBUILD' && builder === 'buildkit') {
              assert.equal(p.historyIndex, null); // BuildKit does not record ONBUILD
              continue;
            }
            assert.equal(p.historyIndex, expectedIndex, `line ${p.instruction.startLine + 1}`);
            // The OCI format has no SHELL: Buildah runs and records a RUN after one with /bin/sh -c, which the
            // file alone cannot tell from a changed line.
            const underIgnoredShell = builder === 'buildah' && name === 'multistage' && p.instruction.startLine === 13;
            assert.equal(p.quality, underIgnoredShell ? 'close' : 'exact', `line ${p.instruction.startLine + 1}: ${p.createdBy}`);
            assert.equal(p.layerIndex, truth[expectedIndex]);
            assert.equal(p.layerCertain, true);
            assert.equal(p.sizeBytes, fx.history[expectedIndex].Size);
            if (p.instruction.effect === 'metadata') assert.equal(p.makesLayer, false);
            if (p.instruction.effect === 'layer' && builder !== 'legacy')
              assert.equal(p.makesLayer, p.instruction.keyword !== 'WORKDIR', `line ${p.instruction.startLine + 1}`);
            expectedIndex++;
          }
          // From the API alone (no empty_layer), the same entries; layers by counting.
          const apiOnly = matchDockerfileToHistory(text, fx.history, fx.layerCount);
          assert.ok(apiOnly);
          assert.deepEqual(
            apiOnly.instructions.map((p) => p.historyIndex),
            m.instructions.map((p) => p.historyIndex),
          );
          for (const p of apiOnly.instructions) {
            if (p.layerCertain && p.historyIndex !== null) assert.equal(p.layerIndex, truth[p.historyIndex]);
          }
        });
      }
    }

    it('kitchen-sink: the 64 KiB dd step is line 18 in both builds, one layer below `echo exec`', () => {
      for (const builder of ['legacy', 'buildkit']) {
        const fx = readHistory(`kitchen-sink.${builder}.json`);
        const m = matchDockerfileToHistory(readDockerfile(fx.dockerfile), fx.history, fx.layerCount);
        assert.ok(m);
        const dd = matchAtLine(m, 18);
        assert.equal(dd?.instruction.startLine, 17);
        assert.equal(dd?.sizeBytes, 65536);
        const exec = matchAtLine(m, 19);
        assert.equal(exec?.sizeBytes, 5);
        assert.equal((exec?.layerIndex ?? -1) - (dd?.layerIndex ?? -9), 1);
        assert.equal(matchAtLine(m, 3), null);
      }
    });

    it('multistage: lines of the parent stage map too (the final stage is FROM base)', () => {
      const fx = readHistory('multistage.legacy.json');
      const m = matchDockerfileToHistory(readDockerfile('multistage.Dockerfile'), fx.history, fx.layerCount);
      assert.ok(m);
      assert.equal(m.stage.name, 'final');
      const baseRun = matchAtLine(m, 2);
      assert.equal(baseRun?.createdBy, '/bin/sh -c mkdir -p /base');
      assert.equal(baseRun?.layerIndex, 1);
      // `WORKDIR $HOME2/app` and the relative `WORKDIR sub` as the builder resolved them.
      assert.equal(matchAtLine(m, 7)?.createdBy, '/bin/sh -c #(nop) WORKDIR /home2/app');
      assert.equal(matchAtLine(m, 8)?.createdBy, '/bin/sh -c #(nop) WORKDIR /home2/app/sub');
      // The SHELL of the file is used for later RUN, CMD and ENTRYPOINT.
      assert.equal(matchAtLine(m, 13)?.quality, 'exact');
      assert.equal(matchAtLine(m, 16)?.quality, 'exact');
    });
  });

  describe('synthetic histories', () => {
    it("Buildah's forms: an exec-form RUN under the shell matches its own argv only; ARG names, not values", () => {
      const text = ['FROM busybox', 'ARG A=1', 'ARG B=2', 'RUN ["echo", "a  b"]', 'RUN [ -f /x ] || echo no'].join('\n');
      const buildah = (run: string, args = 'A B') =>
        newestFirst([
          IMPORT,
          entry('/bin/sh -c #(nop) ARG A'),
          entry(`/bin/sh -c #(nop) ARG ${args}`),
          entry(run, 1536),
          entry('|2 A=1 B=2 /bin/sh -c [ -f /x ] || echo no', 1536),
        ]);
      const qualities = (h: HistoryEntry[]) => matchDockerfileToHistory(text, h, 3)?.instructions.map((p) => p.quality);
      assert.deepEqual(qualities(buildah('|2 A=1 B=2 /bin/sh -c ["echo", "a  b"]')), ['exact', 'exact', 'exact', 'exact']);
      // Another argv, or text that is no JSON array, is not this line.
      assert.deepEqual(qualities(buildah('|2 A=1 B=2 /bin/sh -c ["echo", "a", "b"]')), ['exact', 'exact', 'keyword', 'exact']);
      assert.deepEqual(qualities(buildah('|2 A=1 B=2 /bin/sh -c ["echo", "a  b"')), ['exact', 'exact', 'keyword', 'exact']);
      // Names must end with this ARG's, and a list holding a value is no list of names.
      assert.equal(qualities(buildah('|2 A=1 B=2 /bin/sh -c ["echo", "a  b"]', 'A C'))?.[1], 'keyword');
      assert.equal(qualities(buildah('|2 A=1 B=2 /bin/sh -c ["echo", "a  b"]', 'A=1 B'))?.[1], 'keyword');
    });

    it('matches exec-form RUN/CMD, ARGs in scope, ENV and WORKDIR (legacy forms)', () => {
      const text = [
        'FROM debian:bookworm',
        'ARG VERSION=1.2',
        'ENV PATH=/opt/bin:$PATH',
        'WORKDIR /srv/app',
        'RUN ["/bin/sh", "-c", "echo  two  spaces > f"]',
        'RUN apt-get update && \\',
        '    apt-get install -y curl',
        'COPY ["my file.txt", "./"]',
        'CMD ["python3", "-m", "http.server"]',
      ].join('\n');
      const h = newestFirst([
        IMPORT,
        entry('/bin/sh -c #(nop)  CMD ["bash"]'),
        entry('/bin/sh -c #(nop)  ARG VERSION=1.2'),
        entry('/bin/sh -c #(nop)  ENV PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
        entry('/bin/sh -c #(nop) WORKDIR /srv/app'),
        entry('|1 VERSION=1.2 /bin/sh -c echo  two  spaces > f', 4),
        entry('|1 VERSION=1.2 /bin/sh -c apt-get update &&     apt-get install -y curl', 12_000_000),
        entry('/bin/sh -c #(nop) COPY file:2a8b6e0e8d6f5c0c1a7a9b1b1e0a3d4c5b6a7980a1b2c3d4e5f60718293a4b5c in ./ ', 10),
        entry('/bin/sh -c #(nop)  CMD ["python3" "-m" "http.server"]'),
      ]);
      const m = matchDockerfileToHistory(text, h, 5);
      assert.ok(m);
      assert.equal(m.full, true, summary(m).join('\n'));
      assert.deepEqual(summary(m), [
        '1:ARG→6:exact:null',
        '2:ENV→5:exact:null',
        '3:WORKDIR→4:exact:1',
        '4:RUN→3:exact:2',
        '5:RUN→2:exact:3',
        '7:COPY→1:exact:4',
        '8:CMD→0:exact:null',
      ]);
      assert.equal(m.baseHistoryIndex, 7);
    });

    it('matches the BuildKit forms, a base image SHELL and a heredoc', () => {
      const text = [
        'FROM mcr.example/base',
        'ARG A=1',
        'RUN echo "$A"',
        'RUN <<EOF',
        'echo hi > /x',
        'EOF',
        'COPY --chown=1:1 --from=builder /out/app /usr/local/bin/',
        'EXPOSE 443 80/tcp',
        'ENTRYPOINT ["app"]',
      ].join('\n');
      const h = newestFirst([
        IMPORT,
        bk('SHELL [/bin/bash -o pipefail -c]'),
        bk('ARG A=1'),
        bk('RUN |1 A=1 /bin/bash -o pipefail -c echo "$A" # buildkit', 0),
        // What the dockerfile 1.4+ frontend writes for a simple heredoc: the body, run by the shell.
        bk('RUN |1 A=1 /bin/bash -o pipefail -c echo hi > /x\n # buildkit', 3),
        bk('COPY /out/app /usr/local/bin/ # buildkit', 5_000_000),
        bk('EXPOSE map[443/tcp:{} 80/tcp:{}]'),
        bk('ENTRYPOINT ["app"]'),
      ]);
      const m = matchDockerfileToHistory(text, h, 4);
      assert.ok(m);
      assert.equal(m.full, true, summary(m).join('\n'));
      assert.equal(m.builder, 'buildkit');
      assert.deepEqual(summary(m), [
        '1:ARG→5:exact:null',
        '2:RUN→4:exact:1',
        '3:RUN→3:exact:2',
        '6:COPY→2:exact:3',
        '7:EXPOSE→1:exact:null',
        '8:ENTRYPOINT→0:exact:null',
      ]);
    });

    it('still maps the other lines of a Dockerfile edited since the build, and says it is not a full match', () => {
      const fx = readHistory('kitchen-sink.buildkit.json');
      const edited = readDockerfile('kitchen-sink.Dockerfile')
        .replace('RUN true\n', 'RUN true\nRUN echo added-later\n')
        .replace('USER root', 'USER nobody');
      const m = matchDockerfileToHistory(edited, fx.history, fx.layerCount);
      assert.ok(m);
      assert.equal(m.full, false);
      assert.ok(m.score > 0.8 && m.score < 1, String(m.score));
      const added = m.instructions.find((p) => p.instruction.args === 'echo added-later');
      assert.equal(added?.historyIndex, null);
      const user = m.instructions.find((p) => p.instruction.keyword === 'USER');
      assert.equal(user?.quality, 'keyword');
      assert.equal(user?.createdBy, 'USER root');
      const cmd = m.instructions.find((p) => p.instruction.keyword === 'CMD');
      assert.equal(cmd?.historyIndex, 0);
      assert.equal(matchAtLine(m, 18)?.sizeBytes, 65536);
    });

    it('returns null when the top of the history is not this Dockerfile', () => {
      const fx = readHistory('kitchen-sink.legacy.json');
      const other = 'FROM xray-busybox:latest\nRUN echo something else\nCOPY x /y\nCMD ["other"]\n';
      assert.equal(matchDockerfileToHistory(other, fx.history, fx.layerCount), null);
      // The base image alone.
      assert.equal(matchDockerfileToHistory(readDockerfile('kitchen-sink.Dockerfile'), [IMPORT], 1), null);
      // An image built FROM the Dockerfile's image: its own entries on top hide ours.
      const child = [
        entry('/bin/sh -c #(nop)  CMD ["x"]'),
        entry('/bin/sh -c echo child', 5),
        entry('/bin/sh -c echo child2', 5),
        entry('/bin/sh -c echo child3', 5),
        ...readHistory('multistage.legacy.json').history,
      ];
      // Most of it corresponds, so the lines still map (the layers are the same), but it is no full match.
      const m = matchDockerfileToHistory(readDockerfile('multistage.Dockerfile'), child, 12);
      assert.ok(m);
      assert.equal(m.full, false);
      assert.deepEqual(m.unexplainedHistory, [0, 1, 2, 3]);
      assert.equal(matchDockerfileToHistory(readDockerfile('multistage.Dockerfile'), child, 12, { minScore: 0.9 }), null);
    });

    it('never throws on bad input', () => {
      const text = readDockerfile('kitchen-sink.Dockerfile');
      const garbage: unknown[] = [null, undefined, 42, 'x', [null], [{}], [{ CreatedBy: 7, Size: 'big' }], [{ CreatedBy: null }]];
      for (const g of garbage) {
        assert.equal(matchDockerfileToHistory(text, g as HistoryEntry[], 3), null);
      }
      assert.equal(matchDockerfileToHistory('', [IMPORT], 1), null);
      assert.equal(matchDockerfileToHistory('FROM x', [IMPORT], 1), null);
      assert.equal(matchDockerfileToHistory('\u0000garbage', [IMPORT], 1), null);
      assert.equal(findImageForDockerfile(text, null as unknown as ImageCandidate[]), null);
    });

    it('--target matches an intermediate stage', () => {
      const h = newestFirst([IMPORT, entry('/bin/sh -c mkdir -p /base && echo b > /base/b', 2)]);
      const text = readDockerfile('kitchen-sink.Dockerfile');
      const m = matchDockerfileToHistory(text, h, 2, { target: 'base' });
      assert.ok(m);
      assert.equal(m.full, true);
      assert.equal(m.stage.name, 'base');
      assert.equal(matchDockerfileToHistory(text, h, 2), null);
    });
  });

  describe('findImageForDockerfile', () => {
    const fx = readHistory('kitchen-sink.legacy.json');
    const fxBk = readHistory('kitchen-sink.buildkit.json');
    const text = readDockerfile('kitchen-sink.Dockerfile');
    const unrelated: ImageCandidate = {
      id: 'sha256:unrelated',
      tags: ['other:1'],
      created: 1_900_000_000,
      history: newestFirst([IMPORT, entry('/bin/sh -c echo nope', 3)]),
      layerCount: 2,
    };

    it('prefers the newest of two full matches', () => {
      const older: ImageCandidate = { id: 'sha256:old', tags: ['a:1'], created: 1_000, history: fx.history, layerCount: fx.layerCount };
      const newer: ImageCandidate = { id: 'sha256:new', tags: ['b:1'], created: 2_000, history: fxBk.history, layerCount: fxBk.layerCount };
      assert.equal(findImageForDockerfile(text, [older, unrelated, newer])?.candidate.id, 'sha256:new');
      assert.equal(findImageForDockerfile(text, [newer, older, unrelated])?.candidate.id, 'sha256:new');
      const swapped = [
        { ...older, created: 3_000 },
        { ...newer, created: 2_000 },
      ];
      const best = findImageForDockerfile(text, swapped);
      assert.equal(best?.candidate.id, 'sha256:old');
      assert.equal(best?.match.builder, 'legacy');
    });

    it('prefers a full match to a newer partial one, and takes a partial one when nothing else matches', () => {
      const full: ImageCandidate = { id: 'sha256:full', tags: [], created: 1_000, history: fx.history, layerCount: fx.layerCount };
      const partialHistory = [entry('/bin/sh -c #(nop)  CMD ["changed"]'), ...fx.history.slice(1)];
      const partial: ImageCandidate = {
        id: 'sha256:partial',
        tags: [],
        created: 5_000,
        history: partialHistory,
        layerCount: fx.layerCount,
      };
      assert.equal(findImageForDockerfile(text, [partial, full])?.candidate.id, 'sha256:full');
      const onlyPartial = findImageForDockerfile(text, [partial, unrelated]);
      assert.equal(onlyPartial?.candidate.id, 'sha256:partial');
      assert.equal(onlyPartial?.match.full, false);
    });

    it('returns null when no candidate matches', () => {
      assert.equal(findImageForDockerfile(text, [unrelated]), null);
      assert.equal(findImageForDockerfile(text, []), null);
    });
  });

  it('layerForInstruction checks the report layer was made by the matched entry', () => {
    const fx = readHistory('kitchen-sink.buildkit.json');
    const m = matchDockerfileToHistory(readDockerfile('kitchen-sink.Dockerfile'), fx.history, fx.layerCount);
    assert.ok(m);
    const dd = matchAtLine(m, 17);
    assert.ok(dd && dd.layerIndex !== null && dd.createdBy !== null);
    const layer = (index: number, createdBy: string): ImageLayer => ({
      index,
      diffId: `sha256:${'ab'.repeat(32)}`,
      chainId: 'sha256:c',
      createdBy,
      createdAt: null,
      comment: null,
      sizeBytes: 65536,
      metadataAbove: [],
      changes: [],
      wastedBytes: 0,
      source: 'tar-split',
    });
    const report = (layers: ImageLayer[]): LayerReport => ({
      image: { id: 'sha256:x', tags: [], ref: 'x' },
      container: null,
      layers,
      metadataBelow: [],
      upper: null,
      efficiency: 1,
      wastedBytes: 0,
      userWastedPercent: 0,
      sizeBytes: 0,
      userSizeBytes: 0,
      inefficiencies: [],
      errors: [],
    });
    const layers = Array.from({ length: fx.layerCount }, (_, i) => layer(i, i === dd.layerIndex ? (dd.createdBy ?? '') : 'other'));
    assert.equal(layerForInstruction(dd, report(layers))?.index, dd.layerIndex);
    const wrong = layers.map((l) => ({ ...l, createdBy: 'something else' }));
    assert.equal(layerForInstruction(dd, report(wrong)), null);
    const env = matchAtLine(m, 8);
    assert.ok(env);
    assert.equal(layerForInstruction(env, report(layers)), null);
  });
});
