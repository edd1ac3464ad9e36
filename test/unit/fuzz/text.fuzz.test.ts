// Fuzzing the escapers every face uses (terminal, HTML, Markdown), the CLI table, the daemon event reader,
// dive's CI rules and size parsing: properties a user relies on, over generated hostile text.
import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import * as fc from 'fast-check';
import { table } from '../../../src/cli/table';
import { parseDiveCi, parseRuleValue } from '../../../src/core/ci/rules';
import type { DockerClient } from '../../../src/core/runtime/docker/client';
import { DockerEvent, DockerEventWatcher, parseEventLine } from '../../../src/core/runtime/docker/events';
import { parseSize } from '../../../src/shared/format';
import { escapeHtml, escapeMarkdown, printable } from '../../../src/shared/text';

const RUNS = 2000;

/** C0, DEL, C1, and the Unicode bidi controls (Bidi_Control: ALM, LRM, RLM, LRE…RLO, LRI…PDI). */
const DANGEROUS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE_PIECES = [
  '\x1b[31m',
  '\x1b]8;;http://x\x07',
  '\n',
  '\r',
  '\t',
  '\u202e',
  '\u2066',
  '\u061c',
  '\u200f',
  '\u0085',
  '\x9b',
  '\x00',
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  '[x](command:workbench.action.terminal.new)',
  '`',
  '``',
  '\\',
  '"',
  "'",
  '&amp;',
  '*_~',
  '\ufffd',
  '\ud800',
  'é',
  '🐳',
];
const hostile = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.constantFrom(...HOSTILE_PIECES), { maxLength: 30 }).map((a) => a.join('')),
);

describe('fuzz: text escaping (src/shared/text.ts)', () => {
  it('printable output holds no C0/C1 control and no bidi control, and leaves other text alone', () => {
    fc.assert(
      fc.property(hostile, (t) => {
        const p = printable(t);
        assert.doesNotMatch(p, DANGEROUS, `printable(${JSON.stringify(t)}) = ${JSON.stringify(p)}`);
        if (!DANGEROUS.test(t)) assert.equal(p, t);
      }),
      { numRuns: RUNS },
    );
  });

  it('escapeHtml output holds none of < > & " \' ` except in entities, and decodes back to the input', () => {
    const decode = (s: string) => s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
    fc.assert(
      fc.property(hostile, (t) => {
        const h = escapeHtml(t);
        assert.doesNotMatch(h.replace(/&#\d+;/g, ''), /[<>&"'`]/);
        assert.equal(decode(h), t);
      }),
      { numRuns: RUNS },
    );
  });

  it('escapeMarkdown: every Markdown-active character is backslash-escaped, no control character survives', () => {
    const ACTIVE = '\\`*_{}[]()#+-.!|<>&~:@"\'=$';
    fc.assert(
      fc.property(hostile, (t) => {
        const m = escapeMarkdown(t);
        assert.doesNotMatch(m, DANGEROUS);
        for (let i = 0; i < m.length; i++) {
          if (m[i] === '\\') {
            assert.ok(ACTIVE.includes(m[i + 1] ?? ''), `a backslash escapes an active character at ${i} in ${JSON.stringify(m)}`);
            i++;
          } else assert.ok(!ACTIVE.includes(m[i]), `unescaped ${JSON.stringify(m[i])} at ${i} in ${JSON.stringify(m)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('table: a cell that ends in white space keeps it, whatever follows it', () => {
    for (const cell of ['a ', 'a\u00a0', 'a\u3000', 'a\ufeff', 'a\u2028'])
      for (const rest of [
        ['', ''],
        ['b', ''],
        ['', 'c'],
      ]) {
        const line = table(['A', 'B', 'C'], [[cell, ...rest]]).split('\n')[1];
        assert.ok(line.startsWith(cell), `${JSON.stringify(cell)} then ${JSON.stringify(rest)}: ${JSON.stringify(line)}`);
        if (rest[1]) assert.ok(line.endsWith(rest[1]));
      }
    assert.equal(table(['A', 'B'], [['x', '']]), 'A  B\nx', 'no padding after the last cell that holds something');
  });

  it('table: no raw control reaches the terminal, one line per row, columns never exceed their maximum', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(hostile, hostile, hostile), { maxLength: 8 }), fc.nat({ max: 50 }), (rows, max) => {
        const out = table(['A', 'B', 'C'], rows, [max + 2]);
        const lines = out.split('\n');
        assert.equal(lines.length, rows.length + 1, 'no cell breaks a line');
        for (const line of lines) assert.doesNotMatch(line, DANGEROUS);
        for (const [i, r] of rows.entries()) {
          const cell = printable(r[0]);
          const shown = cell.length > max + 2 ? `${cell.slice(0, max + 1)}…` : cell;
          assert.ok(lines[i + 1].startsWith(shown), `row ${i} starts with its first cell`);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('fuzz: daemon events (src/core/docker/events.ts)', () => {
  const event = fc.record({
    Type: fc.constantFrom('container', 'image', 'network', 'volume'),
    Action: fc.oneof(
      fc.constantFrom('start', 'die', 'destroy', 'create', 'pull', 'tag', 'health_status: healthy'),
      fc.string({ maxLength: 20 }).map((s) => `exec_start: ${s}`),
    ),
    Actor: fc.record({
      ID: fc.stringMatching(/^[0-9a-f]{64}$/),
      Attributes: fc.record({ name: fc.string({ unit: 'binary', maxLength: 30 }), image: fc.string() }),
    }),
    time: fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }),
    timeNano: fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }).map((s) => s * 1e9 + 123),
  });

  it('parseEventLine: null or a well-typed event for any text and any JSON, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostile,
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc
            .record(
              {
                Type: fc.jsonValue(),
                Action: fc.jsonValue(),
                status: fc.jsonValue(),
                id: fc.jsonValue(),
                Actor: fc.jsonValue(),
                time: fc.jsonValue(),
                timeNano: fc.jsonValue(),
              },
              { requiredKeys: [] },
            )
            .map((o) => JSON.stringify(o)),
        ),
        (line) => {
          const ev = parseEventLine(line);
          if (ev === null) return;
          assert.equal(typeof ev.type, 'string');
          assert.equal(typeof ev.action, 'string');
          assert.equal(typeof ev.id, 'string');
          assert.equal(typeof ev.name, 'string');
          assert.ok(Number.isFinite(ev.timeNano), `timeNano ${ev.timeNano}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('parseEventLine reads generated daemon events', () => {
    fc.assert(
      fc.property(event, (e) => {
        assert.deepEqual(parseEventLine(JSON.stringify(e)), {
          type: e.Type,
          action: e.Action.split(':')[0],
          id: e.Actor.ID,
          name: e.Actor.Attributes.name,
          timeNano: e.timeNano,
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("reads Podman's compatible stream, whose `remove` is Docker's `destroy`", () => {
    // Lines of Podman 5.4.2's /v1.41/events for `podman run -d … && podman rm -f …` (IDs shortened).
    const line = (type: string, action: string) =>
      JSON.stringify({
        status: action,
        id: 'f35306cf1668',
        from: 'localhost/xray-test-busybox:1',
        Type: type,
        Action: action,
        Actor: { ID: 'f35306cf1668', Attributes: { image: 'localhost/xray-test-busybox:1', name: 'xray-probe-ev' } },
        scope: 'local',
        time: 1796140000,
        timeNano: 1796140000123456000,
      });
    assert.deepEqual(
      ['create', 'init', 'start', 'stop', 'die', 'remove'].map((a) => parseEventLine(line('container', a))?.action),
      ['create', 'init', 'start', 'stop', 'die', 'destroy'],
    );
    assert.equal(parseEventLine(line('container', 'remove'))?.name, 'xray-probe-ev');
    // Only a container's: an image is deleted, never removed, but a `remove` of anything else stays one.
    assert.equal(parseEventLine(line('volume', 'remove'))?.action, 'remove');
  });

  it('DockerEventWatcher delivers the same events however the stream is chunked, and survives garbage lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            event.map((e) => ({ e, line: JSON.stringify(e) })),
            fc
              .oneof(
                hostile,
                fc.jsonValue().map((v) => JSON.stringify(v)),
              )
              .map((g) => ({ e: null, line: g.replace(/\n/g, ' ') })),
          ),
          { maxLength: 10 },
        ),
        fc.array(fc.nat({ max: 400 }), { maxLength: 10 }),
        async (items, cuts) => {
          const stream = new PassThrough();
          const client = { events: async () => stream } as unknown as DockerClient;
          const watcher = new DockerEventWatcher(client, 60000);
          const got: DockerEvent[] = [];
          const errors: unknown[] = [];
          watcher.on('event', (ev) => got.push(ev));
          watcher.on('disconnected', () => undefined);
          const connected = new Promise<void>((resolve) => watcher.once('connected', () => resolve()));
          watcher.start();
          await connected;
          const text = items.map((i) => `${i.line}\n`).join('');
          let pos = 0;
          for (const c of [...cuts, text.length]) {
            const next = Math.min(text.length, pos + c);
            try {
              stream.write(text.slice(pos, next));
            } catch (err) {
              errors.push(err);
            }
            pos = next;
          }
          stream.write(text.slice(pos));
          await new Promise((r) => setImmediate(r));
          watcher.stop();
          assert.deepEqual(errors, []);
          const expected = items.filter((i) => i.e !== null).map((i) => i.e!.Actor.ID);
          // Garbage lines that happen to be event-shaped JSON are events too; the generated ones must all arrive, in order.
          const ids = got.map((g) => g.id).filter((id) => expected.includes(id));
          assert.deepEqual(ids, expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('fuzz: CI rules and sizes', () => {
  it('parseDiveCi: a value or a typed error on any text; a value holds exactly the three rules', () => {
    const soup = [
      'rules:',
      '\n',
      '  ',
      'lowestEfficiency',
      'highestWastedBytes',
      'highestUserWastedPercent',
      'constructor',
      'toString',
      ':',
      ' ',
      '0.9',
      '20MB',
      'disabled',
      '#',
      '"',
      "'",
      '1e400',
      '-1',
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          hostile,
          fc.array(fc.constantFrom(...soup), { maxLength: 40 }).map((a) => a.join('')),
        ),
        (t) => {
          const r = parseDiveCi(t);
          assert.equal(typeof r.ok, 'boolean');
          if (!r.ok) return;
          assert.deepEqual(
            Object.keys(r.value).sort(),
            ['highestUserWastedPercent', 'highestWastedBytes', 'lowestEfficiency'],
            `parseDiveCi(${JSON.stringify(t)}) = ${JSON.stringify(r.value)}`,
          );
          for (const v of Object.values(r.value)) assert.ok(v === null || (Number.isFinite(v) && v >= 0));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('parseDiveCi rejects a rule named like an Object.prototype member (constructor, toString)', () => {
    for (const key of ['constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
      const r = parseDiveCi(`rules:\n  ${key}: 0.5\n`);
      assert.ok(!r.ok, `"${key}" is not one of dive's rules, yet parseDiveCi accepted it: ${JSON.stringify(r)}`);
    }
  });

  it('parseRuleValue: null, a finite non-negative number, or a typed error', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('lowestEfficiency' as const, 'highestWastedBytes' as const, 'highestUserWastedPercent' as const),
        fc.oneof(
          hostile,
          fc.double().map(String),
          fc.stringMatching(/^\d{1,30}(\.\d{0,5})?\s?[kmgtpKMGTP]?i?[bB]?$/),
          fc.integer({ min: 290, max: 400 }).map((n) => `${'9'.repeat(n)}MB`),
        ),
        (rule, t) => {
          const r = parseRuleValue(rule, t);
          if (r.ok) assert.ok(r.value === null || (Number.isFinite(r.value) && r.value >= 0), `${rule}: ${JSON.stringify(t)} → ${r.value}`);
          else assert.equal(typeof r.error, 'string');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('parseSize: null or a finite non-negative integer for any text; exact on generated sizes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostile,
          fc.stringMatching(/^\s?\d{1,30}(\.\d{1,4})?\s?[kmgtpKMGTP]?(i?[bB])?\s?$/),
          fc.tuple(fc.integer({ min: 290, max: 400 }), fc.constantFrom('', 'PiB', 'k')).map(([n, u]) => `${'9'.repeat(n)}${u}`),
        ),
        (t) => {
          const n = parseSize(t);
          assert.ok(
            n === null || (Number.isSafeInteger(n) && n >= 0) || (Number.isFinite(n) && n > Number.MAX_SAFE_INTEGER),
            `parseSize(${JSON.stringify(t)}) = ${n}`,
          );
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000_000 }),
        fc.constantFrom(['', 1], ['k', 1000], ['KiB', 1024], ['MB', 1e6], ['Mi', 1024 ** 2], ['GiB', 1024 ** 3], ['g', 1e9]),
        (n, [unit, mult]) => {
          assert.equal(parseSize(`${n}${unit as string}`), n * (mult as number));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
