// Image history text is written by whoever built the image. The scans that read it must (1) say what the
// regular expressions they replaced said, on every short input, and (2) take linear time on long hostile
// input: runs of spaces, `$`, `${`, `#(nop)`, `|2 `, `/` that made the old expressions backtrack.
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { DOCKERFILE_KEYWORDS } from '../../../src/core/dockerfile/parse';
import { assignLayers, parseCreatedBy, splitBuildArgs } from '../../../src/core/dockerfile/history';
import {
  MAX_HISTORY_TEXT,
  copyDestination,
  globMatch,
  legacyCopyDest,
  shellScript,
  trimEndChar,
  wildcardPieces,
} from '../../../src/core/dockerfile/scan';
import { entry } from '../dockerfile/fixtures';

// ---- the regular expressions the scans replaced, as oracles on short input ----

function oracleSplitBuildArgs(body: string): { buildArgs: string | null; command: string } {
  const m = /^\|(\d+)(?:\s+|$)/.exec(body);
  if (!m) return { buildArgs: null, command: body };
  const n = Number(m[1]);
  let rest = body.slice(m[0].length);
  let consumed = m[0];
  for (let i = 0; i < n; i++) {
    const kv = /^[A-Za-z_][A-Za-z0-9_]*=\S*(?:\s+|$)/.exec(rest);
    if (!kv) break;
    consumed += kv[0];
    rest = rest.slice(kv[0].length);
  }
  return { buildArgs: consumed.trim(), command: rest };
}

function oracleParse(createdBy: string, comment?: string): unknown {
  let s = createdBy.replace(/\s+$/, '');
  let builder: string | null = comment === 'buildkit.dockerfile.v0' ? 'buildkit' : null;
  const none = { keyword: null, body: s.trim(), builder, nop: false, shell: null, buildArgs: null, command: null };
  if (s.trim() === '') return none;
  let bkSuffix = false;
  if (/(^|\s)# buildkit$/.test(s)) {
    s = s.replace(/\s*# buildkit$/, '');
    bkSuffix = true;
    builder = 'buildkit';
  }
  const nop = /^(.*?)\s*#\(nop\)\s*([\s\S]*)$/.exec(s);
  if (nop && !bkSuffix) {
    const rest = nop[2];
    const kw = /^(\S+)\s*([\s\S]*)$/.exec(rest);
    const keyword = kw ? kw[1].toUpperCase() : null;
    return {
      keyword: keyword && DOCKERFILE_KEYWORDS.has(keyword) ? keyword : null,
      body: kw ? kw[2].trim() : rest.trim(),
      builder: builder ?? 'legacy',
      nop: true,
      shell: nop[1].trim() || null,
      buildArgs: null,
      command: null,
    };
  }
  const first = /^([A-Z]+)(?:\s+([\s\S]*))?$/.exec(s);
  if (first && DOCKERFILE_KEYWORDS.has(first[1]) && first[1] !== 'FROM') {
    const body = (first[2] ?? '').trim();
    const run = first[1] === 'RUN' ? oracleSplitBuildArgs(body) : null;
    return {
      keyword: first[1],
      body,
      builder: builder ?? 'other',
      nop: false,
      shell: null,
      buildArgs: run ? run.buildArgs : null,
      command: run ? run.command : null,
    };
  }
  const body = s.trim();
  const run = oracleSplitBuildArgs(body);
  return { keyword: 'RUN', body, builder: builder ?? 'legacy', nop: false, shell: null, ...run };
}

function oracleShellScript(command: string): string {
  return command.replace(/^\S*\/?(?:ba|da)?sh\s+(?:-\S+\s+)*-c\s+/, '');
}

function oracleCopyDestination(body: string): string | null {
  return / in (\/[^\s]*)\s*$/.exec(body.trim())?.[1] ?? null;
}

function oracleLegacyCopyDest(body: string): string | null {
  const m = /(?:^|\S*?)(?:file|dir|multi):[0-9a-f]+ in ([\s\S]*)$/.exec(body) ?? / in ([\s\S]*)$/.exec(body);
  return m ? m[1] : null;
}

/** The regular expression matchesWithVars built from written text. */
function oracleVars(written: string, glob: boolean): RegExp {
  let pattern = '';
  let i = 0;
  while (i < written.length) {
    const v = /^\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)/.exec(written.slice(i));
    if (v) {
      pattern += '.*?';
      i += v[0].length;
    } else if (glob && written[i] === '*') {
      pattern += '.*?';
      i++;
    } else if (written[i] === '\\' && written[i + 1] === '$') {
      pattern += '\\$';
      i += 2;
    } else {
      pattern += written[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  return new RegExp(`^${pattern}$`, 's');
}

// ---- generators ----

/** Pieces the history forms are made of, and the characters that made the old expressions backtrack. */
const PIECES = [
  ' ',
  '  ',
  '\t',
  '\n',
  '\u00a0',
  '\u2028',
  '/bin/sh -c ',
  '/bin/bash -e -c ',
  'sh',
  '-c',
  '-c ',
  ' -c ',
  '-',
  ' - ',
  ' -x ',
  'sh ',
  'bash ',
  '#(nop)',
  '#(nop) ',
  ' # buildkit',
  '# buildkit',
  '|2 ',
  '|0',
  '|',
  'A=1 ',
  'B=two',
  '_x=',
  '=',
  'RUN ',
  'COPY ',
  'ADD',
  'ENV',
  'FROM ',
  'WORKDIR /app',
  'run ',
  'file:0af9 in /app/x ',
  'dir:ab in /d/',
  'multi:',
  '--chown=1:1',
  ' in ',
  ' in /',
  'xin /',
  'in',
  '/',
  '//',
  'x',
  '$',
  '${',
  '}',
  '$A',
  '\\$',
  '*',
  'echo hi',
  '&&',
  '>',
];

const shortText = fc
  .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PIECES) }, { weight: 1, arbitrary: fc.string({ maxLength: 3 }) }), {
    maxLength: 14,
  })
  .map((a) => a.join(''));

/** A long run of one hostile piece (100 000 characters and more), with something around it. */
const hostileText = fc
  .tuple(
    fc.constantFrom('', 'RUN ', '/bin/sh -c ', '/bin/sh -c #(nop) ', 'COPY ', '|2 ', 'LABEL a='),
    fc.constantFrom(' ', '\t ', '$', '${', '$A', '#(nop)', '|2 ', '/', 'A=', ' in ', 'file:', 'sh -c ', '-x ', '\\'),
    fc.integer({ min: 100_000, max: 200_000 }),
    fc.constantFrom('x', '', ' # buildkit', '}', ' in /x'),
  )
  .map(([head, piece, length, tail]) => head + piece.repeat(Math.ceil(length / piece.length)) + tail);

function cpuMs(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

describe('image history text: linear scans (property tests)', () => {
  it('parseCreatedBy says what the regular expressions said, on short generated text', () => {
    fc.assert(
      fc.property(shortText, fc.constantFrom(undefined, '', 'buildkit.dockerfile.v0'), (text, comment) => {
        assert.deepEqual(parseCreatedBy(text, comment), oracleParse(text, comment));
      }),
      { numRuns: 4000 },
    );
  });

  it('splitBuildArgs, the shell script, and COPY destinations agree with the expressions they replaced', () => {
    fc.assert(
      fc.property(shortText, (text) => {
        assert.deepEqual(splitBuildArgs(text), oracleSplitBuildArgs(text));
        assert.equal(shellScript(text), oracleShellScript(text));
        assert.equal(copyDestination(text.trim()), oracleCopyDestination(text));
        assert.equal(legacyCopyDest(text), oracleLegacyCopyDest(text));
        assert.equal(trimEndChar(text, '/'), text.replace(/\/+$/, ''));
      }),
      { numRuns: 4000 },
    );
  });

  it('the script of a shell command line is what the old expression left', () => {
    const word = fc.constantFrom('sh', '/bin/sh', 'bash', 'xsh', 's', '-c', '-', '-x', '-e', '--', '-cx', 'x', 'echo');
    const gap = fc.constantFrom(' ', '  ', '\t', '\n', '');
    fc.assert(
      fc.property(fc.array(fc.tuple(word, gap), { maxLength: 7 }), (parts) => {
        const command = parts.map(([w, g]) => w + g).join('');
        assert.equal(shellScript(command), oracleShellScript(command));
      }),
      { numRuns: 4000 },
    );
  });

  it('$VAR, ${VAR} and * stand for any text exactly as the old expression had them', () => {
    const small = fc.array(fc.constantFrom('a', 'b', ' ', '$', '${', '}', '$A', 'A', '\\$', '*', '\n', '.'), { maxLength: 8 });
    fc.assert(
      fc.property(small, small, fc.boolean(), (w, r, glob) => {
        const written = w.join('');
        const recorded = r.join('');
        assert.equal(
          globMatch(wildcardPieces(written, glob), recorded),
          oracleVars(written, glob).test(recorded),
          `${written} ~ ${recorded}`,
        );
      }),
      { numRuns: 6000 },
    );
  });

  it('hostile CreatedBy text of 100 000+ characters parses in linear time (a few ms, not seconds)', () => {
    fc.assert(
      fc.property(hostileText, fc.constantFrom(undefined, 'buildkit.dockerfile.v0'), (text, comment) => {
        let parsed: ReturnType<typeof parseCreatedBy> | null = null;
        const ms = cpuMs(() => {
          parsed = parseCreatedBy(text, comment);
          assignLayers([entry(text, 0, { Comment: comment ?? '' })], 1);
          shellScript(text);
          legacyCopyDest(text);
          globMatch(wildcardPieces(text.slice(0, MAX_HISTORY_TEXT), true), text.slice(0, MAX_HISTORY_TEXT));
        });
        assert.ok(parsed !== null && (parsed as { body: string }).body.length <= MAX_HISTORY_TEXT, 'the text is cut before matching');
        assert.ok(ms < 100, `${ms.toFixed(1)} ms of CPU for ${text.length} characters`);
      }),
      { numRuns: 150 },
    );
  });

  it('the time grows linearly: 4× the text costs far less than 16× the time', () => {
    const time = (n: number) => {
      const texts = [
        'RUN ' + ' '.repeat(n) + 'x',
        '/bin/sh -c ' + '$'.repeat(n),
        '#(nop)'.repeat(n / 6) + ' x',
        '|2 ' + 'A= '.repeat(n / 3),
      ];
      let best = Infinity;
      for (let k = 0; k < 5; k++)
        best = Math.min(
          best,
          cpuMs(() => texts.forEach((t) => parseCreatedBy(t))),
        );
      return best;
    };
    time(8_000); // warm up
    const small = time(16_000);
    const big = time(64_000);
    assert.ok(big < Math.max(8 * small, 5), `16 000 chars: ${small.toFixed(2)} ms, 64 000 chars: ${big.toFixed(2)} ms`);
  });
});
