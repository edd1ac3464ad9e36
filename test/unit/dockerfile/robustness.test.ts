import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { codeLensTitle, describeInstructionLayer, describeNoImage } from '../../../src/core/dockerfile/describe';
import { escapeMarkdown } from '../../../src/shared/text';
import { HistoryEntry, assignLayers, parseCreatedBy } from '../../../src/core/dockerfile/history';
import { findImageForDockerfile, matchDockerfileToHistory } from '../../../src/core/dockerfile/match';
import { finalStage, parseDockerfile, stageChain } from '../../../src/core/dockerfile/parse';
import type { ImageLayer, LayerReport } from '../../../src/shared/model';
import { readDockerfile } from './fixtures';

const KEYWORDS = ['FROM', 'RUN', 'COPY', 'ADD', 'WORKDIR', 'ENV', 'ARG', 'CMD', 'LABEL', 'SHELL', 'ONBUILD', 'HEALTHCHECK', 'EXPOSE'];

/** Dockerfile-ish text: keywords, continuations, JSON, heredocs, variables and junk. */
const dockerfileText = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom(...KEYWORDS), fc.string()).map(([k, a]) => `${k} ${a}`),
      fc.constantFrom('RUN a \\', '  # c', '', 'RUN <<EOF', 'EOF', 'COPY ["a", "b"]', 'FROM x AS y', 'ENV A=$B', '# escape=`'),
      fc.string(),
    ),
    { maxLength: 20 },
  )
  .map((lines) => lines.join('\n'));

const createdBy = fc.oneof(
  fc.string(),
  fc.constantFrom('', '/bin/sh -c #(nop) ', '|2 A=1', 'RUN # buildkit', '/bin/sh -c #(nop) COPY file:ab in ', 'WORKDIR', 'ENV'),
  fc.tuple(fc.constantFrom(...KEYWORDS), fc.string()).map(([k, a]) => `${k} ${a}`),
);

const historyEntry: fc.Arbitrary<HistoryEntry> = fc.record({
  Id: fc.string(),
  Created: fc.oneof(fc.integer(), fc.constant(Number.NaN)),
  CreatedBy: createdBy,
  Tags: fc.constant(null),
  Size: fc.oneof(fc.nat(), fc.constant(-1), fc.constant(Number.POSITIVE_INFINITY)),
  Comment: fc.constantFrom('', 'buildkit.dockerfile.v0'),
});

describe('dockerfile: never throws (property tests)', () => {
  it('parseDockerfile, matchDockerfileToHistory and findImageForDockerfile accept anything', () => {
    fc.assert(
      fc.property(
        dockerfileText,
        fc.array(historyEntry, { maxLength: 12 }),
        fc.option(fc.integer({ min: -2, max: 20 })),
        (text, history, count) => {
          const parsed = parseDockerfile(text);
          assert.ok(Array.isArray(parsed.stages));
          const m = matchDockerfileToHistory(parsed, history, count);
          if (m) {
            assert.ok(m.score >= 0 && m.score <= 1);
            assert.ok(finalStage(parsed));
            assert.equal(
              m.instructions.length,
              stageChain(parsed).reduce((a, st) => a + st.instructions.length, 0),
            );
          }
          findImageForDockerfile(text, [{ id: 'x', tags: [], created: 0, history, layerCount: count }]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('assignLayers keeps indexes unique, in order and within the layer count', () => {
    fc.assert(
      fc.property(fc.array(historyEntry, { maxLength: 15 }), fc.integer({ min: 0, max: 15 }), (history, count) => {
        const a = assignLayers(history, count);
        const idx = a.layerIndex.filter((x): x is number => x !== null);
        // Newest first: indexes fall from the top entry down to 0.
        assert.deepEqual(
          idx,
          [...idx].sort((x, y) => y - x),
        );
        assert.equal(new Set(idx).size, idx.length);
        if (a.consistent) assert.equal(idx.length, count);
        parseCreatedBy(history[0]?.CreatedBy);
      }),
      { numRuns: 300 },
    );
  });

  it('descriptions escape every generated name', () => {
    const ins = finalStage(parseDockerfile(readDockerfile('kitchen-sink.Dockerfile')))?.instructions.find((i) => i.keyword === 'RUN');
    assert.ok(ins);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'binary' }), fc.nat()), { maxLength: 8 }),
        fc.string({ unit: 'binary' }),
        (files, tag) => {
          const layer: ImageLayer = {
            index: 0,
            diffId: 'sha256:0123456789abcdef',
            chainId: '',
            createdBy: tag,
            createdAt: null,
            comment: null,
            sizeBytes: files.reduce((a, [, n]) => a + n, 0),
            metadataAbove: [],
            changes: files.map(([path, sizeBytes]) => ({ path, kind: 'added', type: 'file', sizeBytes })),
            wastedBytes: 0,
            source: 'tar-split',
          };
          const report = { image: { id: tag, tags: [tag], ref: tag }, layers: [layer] } as unknown as LayerReport;
          for (const text of [describeInstructionLayer(ins, layer, report), describeNoImage(tag)]) {
            for (const line of text.split('  \n')) {
              assert.ok(!/[\n\r]/.test(line));
              // Removing escaped pairs leaves no special character behind.
              assert.ok(!/[\\`*_{}[\]()#+\-.!|<>&:@~$]/.test(line.replace(/\\[!-/:-@[-`{-~]/g, '')), line);
            }
          }
          assert.ok(!codeLensTitle(layer).slice(9).includes('$('));
          assert.equal(escapeMarkdown(''), '');
        },
      ),
      { numRuns: 200 },
    );
  });
});
