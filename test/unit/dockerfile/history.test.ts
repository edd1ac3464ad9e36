import * as assert from 'node:assert/strict';
import {
  assignLayers,
  enrichHistoryLayerCounts,
  historyFromLayerReport,
  parseCreatedBy,
  splitBuildArgs,
} from '../../../src/core/dockerfile/history';
import type { LayerReport } from '../../../src/shared/model';
import { bk, entry, newestFirst, readHistory, truthLayerIndex } from './fixtures';

describe('dockerfile/history', () => {
  describe('parseCreatedBy', () => {
    it('reads the legacy builder forms', () => {
      assert.deepEqual(parseCreatedBy('/bin/sh -c #(nop)  ENV FOO=bar BAZ=q r'), {
        keyword: 'ENV',
        body: 'FOO=bar BAZ=q r',
        builder: 'legacy',
        nop: true,
        shell: '/bin/sh -c',
        buildArgs: null,
        command: null,
      });
      const copy = parseCreatedBy(
        '/bin/sh -c #(nop) COPY file:00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda in /app/a.txt ',
      );
      assert.equal(copy.keyword, 'COPY');
      assert.equal(copy.body, 'file:00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda in /app/a.txt');
      assert.equal(parseCreatedBy('/bin/sh -e -c #(nop)  CMD ["/bin/sh" "-e" "-c" "echo shell form"]').shell, '/bin/sh -e -c');
      assert.equal(parseCreatedBy('/bin/sh -c #(nop) WORKDIR /app').keyword, 'WORKDIR');
      const run = parseCreatedBy('|2 A=1 B=two /bin/sh -c echo "$A $B" > /app/args');
      assert.deepEqual(
        [run.keyword, run.builder, run.buildArgs, run.command],
        ['RUN', 'legacy', '|2 A=1 B=two', '/bin/sh -c echo "$A $B" > /app/args'],
      );
      const exec = parseCreatedBy('|2 A=1 B=two echo hi');
      assert.deepEqual([exec.keyword, exec.command], ['RUN', 'echo hi']);
      assert.deepEqual(parseCreatedBy('/bin/sh -c apt-get update').command, '/bin/sh -c apt-get update');
    });

    it('reads the BuildKit forms', () => {
      const run = parseCreatedBy('RUN |2 A=1 B=two /bin/sh -c true # buildkit', 'buildkit.dockerfile.v0');
      assert.deepEqual([run.keyword, run.builder, run.buildArgs, run.command], ['RUN', 'buildkit', '|2 A=1 B=two', '/bin/sh -c true']);
      const copy = parseCreatedBy('COPY a.txt /app/a.txt # buildkit', 'buildkit.dockerfile.v0');
      assert.deepEqual([copy.keyword, copy.body, copy.nop], ['COPY', 'a.txt /app/a.txt', false]);
      assert.deepEqual(
        [parseCreatedBy('WORKDIR /app', 'buildkit.dockerfile.v0').keyword, parseCreatedBy('EXPOSE map[8080/tcp:{}]').body],
        ['WORKDIR', 'map[8080/tcp:{}]'],
      );
      // Without the comment, `# buildkit` alone says BuildKit.
      assert.equal(parseCreatedBy('RUN /bin/sh -c x # buildkit').builder, 'buildkit');
    });

    it('handles imports, blanks and garbage without throwing', () => {
      assert.equal(parseCreatedBy('').keyword, null);
      assert.equal(parseCreatedBy(undefined).keyword, null);
      assert.equal(parseCreatedBy(42).keyword, null);
      assert.equal(parseCreatedBy('/bin/sh -c #(nop) ').keyword, null);
      assert.equal(parseCreatedBy('# buildkit').keyword, 'RUN'); // an empty RUN body
      assert.deepEqual(splitBuildArgs('|0 /bin/sh -c x'), { buildArgs: '|0', command: '/bin/sh -c x' });
      assert.deepEqual(splitBuildArgs('|3 A=1'), { buildArgs: '|3 A=1', command: '' });
    });
  });

  describe('assignLayers on real histories', () => {
    for (const name of ['kitchen-sink', 'multistage']) {
      for (const builder of ['legacy', 'buildkit', 'buildah']) {
        const fx = readHistory(`${name}.${builder}.json`);
        const truth = truthLayerIndex(fx);

        it(`${name} (${builder}): empty_layer flags from the config give the exact layers`, () => {
          const withFlags = fx.history.map((h, i) => ({ ...h, emptyLayer: fx.emptyLayer[i] }));
          const a = assignLayers(withFlags, fx.layerCount);
          assert.deepEqual(a.layerIndex, truth);
          assert.ok(a.certain.every(Boolean));
          assert.ok(a.consistent);
        });

        it(`${name} (${builder}): the API history alone, counted against RootFS.Layers`, () => {
          const a = assignLayers(fx.history, fx.layerCount);
          assert.ok(a.consistent, a.warnings.join());
          assert.equal(a.makesLayer.filter(Boolean).length, fx.layerCount);
          // Entries said to be certain are right.
          a.certain.forEach((c, i) => {
            if (c) assert.equal(a.layerIndex[i], truth[i], `entry ${i} ${fx.history[i].CreatedBy}`);
          });
          // Every Size > 0 entry made a layer.
          fx.history.forEach((h, i) => {
            if (h.Size > 0) assert.equal(a.makesLayer[i], true);
          });
          if (builder !== 'legacy') {
            // BuildKit 20.10 commits a layer for every RUN/COPY/ADD/WORKDIR, Buildah gives every layer's
            // entry the Size of its tar: nothing left to guess.
            assert.deepEqual(a.layerIndex, truth);
            assert.ok(a.certain.every(Boolean));
          }
          // The heuristic (legacy: a read-only RUN or a repeated WORKDIR makes no layer) gets these right.
          assert.deepEqual(a.layerIndex, truth);
        });
      }
    }

    it('legacy: a Size-0 RUN may or may not make a layer, so the guesses are marked uncertain', () => {
      const fx = readHistory('kitchen-sink.legacy.json');
      const a = assignLayers(fx.history, fx.layerCount);
      const rm = fx.history.findIndex((h) => h.CreatedBy.endsWith('rm /app/big'));
      const noop = fx.history.findIndex((h) => h.CreatedBy.endsWith('/bin/sh -c true'));
      assert.equal(fx.emptyLayer[rm], false); // rm wrote a whiteout: a layer of Size 0
      assert.equal(fx.emptyLayer[noop], true); // `true` changed nothing: no layer
      assert.equal(a.certain[rm], false);
      assert.equal(a.certain[noop], false);
      // The COPY layers sit between guessed entries, so their indexes are guesses too…
      const copy = fx.history.findIndex((h) => h.CreatedBy.includes('COPY file:'));
      assert.equal(a.certain[copy], false);
      // …while the newest RUN is above every guess: counted from the top it is the top layer, for sure.
      const top = fx.history.findIndex((h) => h.CreatedBy.endsWith('> /app/args'));
      assert.equal(a.certain[top], true);
      assert.equal(a.layerIndex[top], fx.layerCount - 1);
    });

    it('legacy: intermediate images’ layer counts settle every entry', async () => {
      for (const name of ['kitchen-sink', 'multistage']) {
        const fx = readHistory(`${name}.legacy.json`);
        const counts = fx.intermediateLayerCounts ?? {};
        const enriched = await enrichHistoryLayerCounts(fx.history, async (id) => counts[id] ?? null);
        const a = assignLayers(enriched, fx.layerCount);
        assert.deepEqual(a.layerIndex, truthLayerIndex(fx));
        assert.ok(a.certain.every(Boolean), name);
      }
      // A failing lookup leaves the entry alone.
      const fx = readHistory('kitchen-sink.legacy.json');
      const failed = await enrichHistoryLayerCounts(fx.history, async () => {
        throw new Error('gone');
      });
      assert.ok(failed.every((e) => e.layerCount === undefined));
    });
  });

  it('reports a layer count the history cannot explain, without throwing', () => {
    const h = newestFirst([entry('', 100), bk('ENV A=b'), bk('RUN /bin/sh -c x # buildkit', 5)]);
    const tooMany = assignLayers(h, 5);
    assert.equal(tooMany.consistent, false);
    assert.match(tooMany.warnings.join(), /image has 5 layers/);
    const tooFew = assignLayers(h, 1);
    assert.equal(tooFew.consistent, false);
    assert.deepEqual(assignLayers([], 0).layerIndex, []);
    assert.deepEqual(assignLayers(null as unknown as [], 3).makesLayer, []);
    // Unknown layer count: a best guess, never certain for Size-0 entries.
    const unknown = assignLayers(newestFirst([entry('', 100), bk('RUN /bin/sh -c true # buildkit')]), null);
    assert.deepEqual(unknown.layerIndex, [1, 0]);
    assert.equal(unknown.certain[0], false);
  });

  it('rebuilds the history from a LayerReport', () => {
    const report: LayerReport = {
      image: { id: 'sha256:abc', tags: [], ref: 'x' },
      container: null,
      layers: [
        {
          index: 0,
          diffId: 'sha256:d0',
          chainId: 'sha256:d0',
          createdBy: '',
          createdAt: '2024-01-01T00:00:00Z',
          comment: 'Imported from -',
          sizeBytes: 100,
          metadataAbove: [{ createdBy: '/bin/sh -c #(nop)  ENV A=b', createdAt: null }],
          changes: [],
          wastedBytes: 0,
          source: 'tar-split',
        },
        {
          index: 1,
          diffId: 'sha256:d1',
          chainId: 'sha256:c1',
          createdBy: '/bin/sh -c rm /x',
          createdAt: null,
          comment: null,
          sizeBytes: 0,
          metadataAbove: [],
          changes: [],
          wastedBytes: 0,
          source: 'tar-split',
        },
      ],
      metadataBelow: [],
      upper: null,
      efficiency: 1,
      wastedBytes: 0,
      userWastedPercent: 0,
      sizeBytes: 100,
      userSizeBytes: 0,
      inefficiencies: [],
      errors: [],
    };
    const h = historyFromLayerReport(report);
    assert.deepEqual(
      h.map((e) => [e.CreatedBy, e.emptyLayer, e.Size]),
      [
        ['/bin/sh -c rm /x', false, 0],
        ['/bin/sh -c #(nop)  ENV A=b', true, 0],
        ['', false, 100],
      ],
    );
    assert.equal(h[2].Created, 1704067200);
    const a = assignLayers(h, 2);
    assert.deepEqual(a.layerIndex, [1, null, 0]);
    assert.ok(a.certain.every(Boolean));
  });
});
