import * as assert from 'node:assert/strict';
import {
  finalStage,
  instructionAtLine,
  joinLogicalLine,
  parseDockerfile,
  parseJsonArray,
  stageChain,
} from '../../../src/core/dockerfile/parse';
import { readDockerfile } from './fixtures';

describe('dockerfile/parse', () => {
  describe('kitchen-sink fixture', () => {
    const parsed = parseDockerfile(readDockerfile('kitchen-sink.Dockerfile'));
    const final = finalStage(parsed);

    it('finds both stages, their names, FROM images and the global ARG', () => {
      assert.deepEqual(parsed.errors, []);
      assert.equal(parsed.stages.length, 2);
      assert.equal(parsed.stages[0].name, 'base');
      assert.equal(parsed.stages[0].from, '${BASE}');
      assert.equal(parsed.stages[1].name, 'final');
      assert.equal(parsed.stages[1].from, 'xray-busybox:latest');
      assert.equal(parsed.stages[1].parentStage, null);
      assert.equal(parsed.finalStageIndex, 1);
      assert.deepEqual(
        parsed.globalArgs.map((a) => a.pairs),
        [[{ key: 'BASE', value: 'xray-busybox:latest' }]],
      );
      assert.ok(final);
      assert.equal(final.instructions.length, 25);
    });

    it('gives 0-based line ranges, including continuations', () => {
      assert.ok(final);
      const env = final.instructions.find((i) => i.keyword === 'ENV');
      assert.ok(env);
      assert.deepEqual([env.startLine, env.endLine], [8, 9]);
      assert.deepEqual(env.pairs, [
        { key: 'FOO', value: 'bar' },
        { key: 'BAZ', value: 'q r' },
      ]);
      const dd = final.instructions.find((i) => i.keyword === 'RUN' && i.args.startsWith('dd'));
      assert.ok(dd);
      assert.deepEqual([dd.startLine, dd.endLine], [17, 18]);
      // Docker keeps the whitespace of the continuation line; `args` collapses it.
      assert.equal(dd.text, 'dd if=/dev/zero of=/app/big bs=1k count=64 &&     echo done');
      assert.equal(dd.args, 'dd if=/dev/zero of=/app/big bs=1k count=64 && echo done');
      assert.equal(dd.form, 'shell');
    });

    it('reads exec forms with the whitespace inside JSON strings intact', () => {
      assert.ok(final);
      const runs = final.instructions.filter((i) => i.keyword === 'RUN' && i.form === 'exec');
      assert.deepEqual(
        runs.map((r) => r.argv),
        [
          ['/bin/sh', '-c', 'echo exec > /app/e'],
          ['echo', 'hi'],
        ],
      );
      const cmd = final.instructions.find((i) => i.keyword === 'CMD');
      assert.deepEqual(cmd?.argv, ['-c', 'echo hi']);
      assert.equal(cmd?.form, 'exec');
    });

    it('classifies what each instruction does to the image', () => {
      assert.ok(final);
      const effects = new Map(final.instructions.map((i) => [i.keyword, i.effect]));
      assert.equal(effects.get('RUN'), 'layer');
      assert.equal(effects.get('COPY'), 'layer');
      assert.equal(effects.get('ADD'), 'layer');
      assert.equal(effects.get('WORKDIR'), 'maybe-layer');
      for (const k of ['ENV', 'LABEL', 'ARG', 'CMD', 'ENTRYPOINT', 'EXPOSE', 'USER', 'VOLUME', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']) {
        assert.equal(effects.get(k), 'metadata', k);
      }
      assert.equal(parsed.stages[1].fromInstruction.effect, 'stage');
    });

    it('keeps flags apart from the arguments (COPY --from, HEALTHCHECK --interval)', () => {
      assert.ok(final);
      const copyFrom = final.instructions.find((i) => i.flags.some((f) => f.name === 'from'));
      assert.ok(copyFrom);
      assert.deepEqual(copyFrom.flags, [{ name: 'from', value: 'base' }]);
      assert.equal(copyFrom.text, '/base /from-base');
      const hc = final.instructions.find((i) => i.keyword === 'HEALTHCHECK');
      assert.equal(hc?.text, 'CMD echo ok');
      assert.deepEqual(hc?.flags, [{ name: 'interval', value: '30s' }]);
    });

    it('finds the instruction at a line', () => {
      assert.equal(instructionAtLine(parsed, 18)?.keyword, 'RUN');
      assert.equal(instructionAtLine(parsed, 4)?.keyword, 'FROM');
      assert.equal(instructionAtLine(parsed, 0)?.keyword, 'ARG');
      assert.equal(instructionAtLine(parsed, 3), null); // blank line
      assert.equal(instructionAtLine(parsed, 999), null);
    });
  });

  it('builds the stage chain of a stage FROM an earlier stage', () => {
    const parsed = parseDockerfile(readDockerfile('multistage.Dockerfile'));
    assert.equal(parsed.stages[1].parentStage, 0);
    assert.deepEqual(
      stageChain(parsed).map((s) => s.name),
      ['base', 'final'],
    );
    const shell = finalStage(parsed)?.instructions.find((i) => i.keyword === 'SHELL');
    assert.deepEqual(shell?.argv, ['/bin/sh', '-e', '-c']);
  });

  it('drops comment and blank lines inside continuations, as Docker does', () => {
    const text = ['FROM x', 'RUN echo   a \\', '  # a comment', '', '  && echo b \\   ', '    && echo c', 'RUN echo d'].join('\n');
    const parsed = parseDockerfile(text);
    const [run1, run2] = finalStage(parsed)?.instructions ?? [];
    assert.equal(run1.text, 'echo   a   && echo b     && echo c');
    assert.deepEqual([run1.startLine, run1.endLine], [1, 5]);
    assert.equal(run2.startLine, 6);
  });

  it('honours the escape directive (backtick)', () => {
    const text = '# escape=`\nFROM x\nRUN echo a `\n  b\nCOPY c:\\src d:\\dst\n';
    const parsed = parseDockerfile(text);
    assert.equal(parsed.escapeChar, '`');
    const [run, copy] = finalStage(parsed)?.instructions ?? [];
    assert.equal(run.text, 'echo a   b');
    assert.equal(copy.text, 'c:\\src d:\\dst');
  });

  it('parses heredocs with their full line range', () => {
    const text = ['FROM x', 'RUN <<EOT bash', '  set -ex', '  echo hi', 'EOT', 'COPY <<-EOF /app/x.conf', '  hello', 'EOF', 'CMD sh'].join(
      '\n',
    );
    const ins = finalStage(parseDockerfile(text))?.instructions ?? [];
    assert.equal(ins[0].form, 'heredoc');
    assert.deepEqual(ins[0].heredocs, ['EOT']);
    assert.deepEqual([ins[0].startLine, ins[0].endLine], [1, 4]);
    assert.equal(ins[0].text, '<<EOT bash\n  set -ex\n  echo hi\nEOT');
    assert.equal(ins[1].form, 'heredoc');
    assert.deepEqual([ins[1].startLine, ins[1].endLine], [5, 7]);
    assert.deepEqual([ins[2].keyword, ins[2].startLine, ins[2].form, ins[2].argv], ['CMD', 8, 'shell', null]);
  });

  it('selects a --target stage by name (case-insensitive) or index, and reports an unknown one', () => {
    const text = readDockerfile('kitchen-sink.Dockerfile');
    assert.equal(parseDockerfile(text, { target: 'BASE' }).finalStageIndex, 0);
    assert.equal(parseDockerfile(text, { target: '1' }).finalStageIndex, 1);
    const bad = parseDockerfile(text, { target: 'nope' });
    assert.equal(bad.finalStageIndex, null);
    assert.match(bad.errors.join('\n'), /no build stage named "nope"/);
  });

  it('accepts lower-case keywords and CRLF line ends', () => {
    const parsed = parseDockerfile('from x as b\r\nrun echo hi \\\r\n  there\r\nworkdir /w\r\n');
    const ins = finalStage(parsed)?.instructions ?? [];
    assert.equal(parsed.stages[0].name, 'b');
    assert.deepEqual(
      ins.map((i) => [i.keyword, i.text, i.startLine, i.endLine]),
      [
        ['RUN', 'echo hi   there', 1, 2],
        ['WORKDIR', '/w', 3, 3],
      ],
    );
  });

  it('never throws on bad input', () => {
    for (const bad of ['', '\u0000\u0001\ufffd', 'RUN before from', 'FROM', '[[[', 'FROM x\nRUN ["unterminated', 'x'.repeat(200_000)]) {
      const parsed = parseDockerfile(bad);
      assert.ok(Array.isArray(parsed.stages));
    }
    assert.match(parseDockerfile('').errors.join(), /no FROM/);
    assert.match(parseDockerfile('RUN x\nFROM y').errors.join(), /RUN before the first FROM/);
    assert.deepEqual(parseDockerfile(42 as unknown as string).stages, []);
    // Broken JSON falls back to shell form, as Docker does.
    const run = finalStage(parseDockerfile('FROM x\nRUN ["a", b]'))?.instructions[0];
    assert.equal(run?.form, 'shell');
  });

  it('joinLogicalLine and parseJsonArray follow Docker', () => {
    assert.deepEqual(joinLogicalLine(['  RUN a \\', '# c', '  b'], 0, 2), { text: 'RUN a   b', nextLine: 3 });
    assert.deepEqual(parseJsonArray('["a b", "c"]'), ['a b', 'c']);
    assert.equal(parseJsonArray('[1, 2]'), null);
    assert.equal(parseJsonArray('echo [x]'), null);
  });
});
