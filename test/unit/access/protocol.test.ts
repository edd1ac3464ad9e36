import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import {
  AttachDemuxer,
  HelperReply,
  ReplyParser,
  decodeListing,
  decodeRequest,
  encodeRequest,
  errnoFromMessage,
  StatRecord,
  confinedArg,
  linkTarget,
  parseRecord,
  readArg,
  typeFromMode,
} from '../../../src/core/access/protocol';
import { InRootResolver, TooManyLinks } from '../../../src/core/access/confinedPath';

/** Feeds `text` to a fresh parser cut at the given offsets. */
function parseInPieces(text: string | Buffer, cuts: number[] = []): HelperReply[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
  const parser = new ReplyParser();
  const out: HelperReply[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(...parser.push(bytes.subarray(at, cut)));
    at = cut;
  }
  out.push(...parser.push(bytes.subarray(at)));
  return out;
}

function frame(type: 1 | 2, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = type;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

describe('access/protocol', () => {
  describe('requests', () => {
    it('sends printable ASCII paths as they are, with a bar that keeps trailing spaces', () => {
      assert.equal(encodeRequest(7, 'r', '/proc/12/status'), '7 r /proc/12/status|\n');
      assert.equal(encodeRequest(8, 'd', '/a b/ '), '8 d /a b/ |\n');
    });

    it('escapes every other byte as a printf octal escape and marks it with an upper-case op', () => {
      assert.equal(encodeRequest(3, 'l', '/a\nb'), '3 L /a\\012b|\n');
      assert.equal(encodeRequest(4, 't', '/ä%\\'), '4 T /\\303\\244\\045\\134|\n');
      // A line never holds a newline or a raw % or \ the script's printf would read as a directive.
      for (const line of [encodeRequest(1, 'r', '/%s\\n\n'), encodeRequest(2, 's', '/\t\r')]) {
        assert.equal(line.indexOf('\n'), line.length - 1);
        assert.doesNotMatch(line.slice(0, -1).replace(/\\[0-7]{3}/g, ''), /[%\\]/);
      }
    });

    it('round-trips any path through the escaping', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary', minLength: 1 }),
          fc.constantFrom('r', 'l', 'd', 's', 'c', 't', 'k', 'e', 'p'),
          (name, op) => {
            const path = `/${name.replace(/\0/g, '')}`;
            const decoded = decodeRequest(encodeRequest(5, op as 'r', path));
            assert.ok(decoded);
            assert.equal(decoded.id, 5);
            assert.equal(decoded.op, op);
            assert.deepEqual(decoded.path, Buffer.from(path, 'utf8'));
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('replies', () => {
    const sample = [
      '!0 0 ready',
      '>1',
      'aGVs',
      'bG8=',
      '!1 0',
      '~2 net:[4026531840]',
      '>3',
      '!3 1 Permission denied',
      '>4',
      'YQ==',
      '+',
      'Yg==',
      '+',
      '!4 0',
      '',
    ].join('\n');

    it('parses data, raw text, errors and parts', () => {
      const replies = parseInPieces(sample);
      assert.deepEqual(replies, [
        { id: 0, ok: true, parts: [], note: 'ready' },
        { id: 1, ok: true, parts: [Buffer.from('hello')] },
        { id: 2, ok: true, parts: [Buffer.from('net:[4026531840]')], raw: true },
        { id: 3, ok: false, code: 'EACCES', message: 'Permission denied', status: 1, parts: [] },
        { id: 4, ok: true, parts: [Buffer.from('a'), Buffer.from('b'), Buffer.alloc(0)] },
      ]);
    });

    it('gives the same replies however the stream is cut', () => {
      const whole = parseInPieces(sample);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: sample.length }), { maxLength: 12 }), (cuts) => {
          assert.deepEqual(parseInPieces(sample, cuts), whole);
        }),
        { numRuns: 300 },
      );
      for (let i = 0; i <= sample.length; i++) assert.deepEqual(parseInPieces(sample, [i]), whole);
    });

    it('carries binary data byte for byte (a gzip file, every byte value)', () => {
      const bytes = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 37) % 256));
      const b64 = bytes.toString('base64').replace(/.{76}/g, '$&\n');
      const [reply] = parseInPieces(`>9\n${b64}\n!9 0\n`);
      assert.ok(reply.ok);
      assert.deepEqual(reply.parts[0], bytes);
    });

    it('drops the data of a reply that ends in an error, and keeps stray lines aside', () => {
      const parser = new ReplyParser();
      const replies = parser.push(Buffer.from('noise before\n>5\nYWJj\n!5 1 base64: read error: Is a directory\n'));
      assert.deepEqual(replies, [
        { id: 5, ok: false, code: 'EISDIR', message: 'base64: read error: Is a directory', status: 1, parts: [] },
      ]);
      assert.deepEqual(parser.stray, ['noise before']);
    });

    it('reads a raw link target with spaces and non-ASCII bytes as UTF-8', () => {
      const [reply] = parseInPieces(Buffer.concat([Buffer.from('~6 '), Buffer.from('../a b/ä'), Buffer.from('\n')]));
      assert.ok(reply.ok);
      assert.equal(reply.parts[0].toString('utf8'), '../a b/ä');
    });

    it('takes a link target as sent when raw, and without readlink’s own newline when in base64', () => {
      const [raw, coded, empty] = parseInPieces(`~1 a\n>2\n${Buffer.from('x\ny\n\n').toString('base64')}\n!2 0\n~3 \n`);
      assert.ok(raw.ok && coded.ok && empty.ok);
      assert.equal(linkTarget(raw).toString(), 'a');
      assert.equal(linkTarget(coded).toString(), 'x\ny\n');
      assert.equal(linkTarget(empty).toString(), '');
    });

    it('names a missing tool (exit 127) ENOEXEC', () => {
      assert.deepEqual(parseInPieces('!0 127 missing base64\n'), [
        { id: 0, ok: false, code: 'ENOEXEC', message: 'missing base64', status: 127, parts: [] },
      ]);
    });
  });

  describe('errno names from tool messages', () => {
    const cases: [string, string][] = [
      ['No such file or directory', 'ENOENT'],
      ["stat: can't stat '/x': No such file or directory", 'ENOENT'],
      ['Permission denied', 'EACCES'],
      ['Operation not permitted', 'EPERM'],
      ['No such process', 'ESRCH'],
      ['Not a directory', 'ENOTDIR'],
      ['Is a directory', 'EISDIR'],
      ['Invalid argument', 'EINVAL'],
      ['readlink: /etc/passwd: not a symlink', 'EINVAL'],
      ['Too many levels of symbolic links', 'ELOOP'],
      ['Symbolic link loop', 'ELOOP'],
      ['something else entirely', 'EIO'],
    ];
    for (const [message, code] of cases) it(`${message} → ${code}`, () => assert.equal(errnoFromMessage(message), code));
  });

  describe('attach stream frames', () => {
    it('splits stdout from stderr across any chunking', () => {
      const stream = Buffer.concat([
        frame(1, Buffer.from('>1\n')),
        frame(2, Buffer.from('oops')),
        frame(1, Buffer.from('!1 0\n')),
        frame(1, Buffer.alloc(0)),
      ]);
      for (let cut = 0; cut <= stream.length; cut++) {
        const d = new AttachDemuxer();
        const a = d.push(stream.subarray(0, cut));
        const b = d.push(stream.subarray(cut));
        assert.equal(Buffer.concat([...a.stdout, ...b.stdout]).toString(), '>1\n!1 0\n');
        assert.equal(Buffer.concat([...a.stderr, ...b.stderr]).toString(), 'oops');
      }
    });
  });

  describe('listings and walks', () => {
    it('takes the names after the last slash of a NUL-separated find listing', () => {
      const listing = Buffer.from('/host/d/a\0/host/d//b c\0/host/d/new\nline\0', 'utf8');
      assert.deepEqual(decodeListing(listing), ['a', 'b c', 'new\nline']);
      assert.deepEqual(decodeListing(Buffer.alloc(0)), []);
    });

    it('maps st_mode to file types', () => {
      assert.equal(typeFromMode(0x81a4), 'file');
      assert.equal(typeFromMode(0x41ed), 'dir');
      assert.equal(typeFromMode(0xa1ff), 'symlink');
      assert.equal(typeFromMode(0x21a4), 'char');
      assert.equal(typeFromMode(0x61b0), 'block');
      assert.equal(typeFromMode(0x11a4), 'fifo');
      assert.equal(typeFromMode(0xc1ed), 'socket');
    });

    it('reads listing records whatever bytes a name holds, its end found at the first slash', () => {
      const names = ['.', 'a', 'we ird\nname ', 'bad\xff\xfe', '!bang', '12:3 4 5 6 7 x'];
      const body = Buffer.concat(
        names.map((n, i) =>
          Buffer.concat([
            Buffer.from(`2049:${100 + i} ${i === 0 ? '41ed' : '81a4'} ${i} 0 0 `),
            Buffer.from(n, 'latin1'),
            Buffer.from('/\n'),
          ]),
        ),
      );
      // find passes names as ./name: the prefix is dropped.
      const viaFind = Buffer.from('2049:200 21a4 0 0 0 ./wh/\n');
      const text = Buffer.concat([Buffer.from('=9\n'), body, viaFind, Buffer.from('!9 0\n')]);
      for (const cuts of [[], [1], [5, 40], Array.from({ length: text.length - 1 }, (_, i) => i + 1)]) {
        const [reply] = parseInPieces(text, cuts);
        assert.ok(reply && reply.ok && reply.records, `cut at ${cuts.length} places`);
        assert.deepEqual(
          reply.records.map((r) => r.name.toString('latin1')),
          [...names, 'wh'],
        );
        assert.deepEqual(reply.records[2], {
          name: Buffer.from('we ird\nname '),
          identity: '2049:102',
          ino: 102,
          rawMode: 0x81a4,
          size: 2,
          major: 0,
          minor: 0,
        });
        assert.equal(reply.records[6].identity, '2049:200');
        assert.equal(typeFromMode(reply.records[6].rawMode), 'char');
      }
    });

    it('tells an incomplete record from a malformed one', () => {
      const into: StatRecord[] = [];
      assert.equal(parseRecord(Buffer.from('2049:1 81a4 3 0 0 nam'), 0, into), 0);
      assert.equal(parseRecord(Buffer.from('2049:1 81a4 3 0'), 0, into), 0);
      assert.equal(parseRecord(Buffer.from('2049:1 81a4 3 0 0 name/x'), 0, into), -1);
      assert.equal(parseRecord(Buffer.from('2049:1 81a4 3 0 0 name/'), 0, into), 0);
      assert.equal(parseRecord(Buffer.from('zz 81a4 3 0 0 name/\n'), 0, into), -1);
      assert.equal(parseRecord(Buffer.from('2049:1 81a4 3 0 0 /\n'), 0, into), -1);
      assert.equal(into.length, 0);
      assert.equal(parseRecord(Buffer.from('xx2049:1 81a4 3 0 0 n/\nrest'), 2, into), 21);
      assert.equal(into[0].name.toString(), 'n');
    });

    it('drops the records of a listing that fails, and keeps the component and text of a confined failure', () => {
      const replies = parseInPieces(
        '=3\n2049:1 41ed 0 0 0 ./\n2049:2 81a4 1 0 0 a/\n!3 1 -1 Permission denied\n>4\nL2V0Yy9wYXNzd2QK\n!4 3 1 link\n!5 5 0 11a4\n',
      );
      assert.equal(replies.length, 3);
      const [list, link, fifo] = replies;
      assert.ok(!list.ok && list.code === 'EACCES' && list.at === -1 && list.text === 'Permission denied');
      assert.ok(!link.ok && link.status === 3 && link.at === 1);
      assert.equal(link.parts[0].toString(), '/etc/passwd\n');
      assert.ok(!fifo.ok && fifo.status === 5 && fifo.text === '11a4' && fifo.code === 'EINVAL');
    });

    it('builds confined arguments from plain names only', () => {
      assert.deepEqual(confinedArg('/proc/7/root', [Buffer.from('etc'), Buffer.from('pass wd')]), Buffer.from('/proc/7/root//etc/pass wd'));
      assert.deepEqual(confinedArg('/host/x/diff/', []), Buffer.from('/host/x/diff//'));
      for (const bad of ['', '.', '..', 'a/b', 'a\0'])
        assert.throws(() => confinedArg('/r', [Buffer.from(bad)]), /not a plain name/, JSON.stringify(bad));
      const line = encodeRequest(2, 'c', readArg(1048577, 1.5, confinedArg('/proc/7/root', [Buffer.from('ä')])));
      assert.equal(line, '2 C 1048577\\0401.5\\040/proc/7/root//\\303\\244|\n');
      assert.deepEqual(decodeRequest(line)?.path, Buffer.from('1048577 1.5 /proc/7/root//ä'));
    });
  });

  describe('resolution inside a root', () => {
    const names = (cs: Buffer[]) => cs.map((c) => c.toString()).join('/');

    it('asks for the whole path at once when no link is met', () => {
      const r = new InRootResolver('/etc/./passwd');
      const step = r.next();
      assert.equal(step.kind, 'final');
      assert.equal(names(step.components), 'etc/passwd');
    });

    it('re-roots an absolute target and clamps .. at the root, as RESOLVE_IN_ROOT', () => {
      const r = new InRootResolver('/etc/passwd');
      r.next();
      r.link(1, Buffer.from('/proc/1/root/root/secret'));
      assert.equal(names(r.next().components), 'proc/1/root/root/secret');
      r.link(2, Buffer.from('/'));
      assert.equal(names(r.next().components), 'root/secret');
      const rel = new InRootResolver('/etc/passwd');
      rel.next();
      rel.link(1, Buffer.from('../../../../root/secret'));
      // `..` only over components the reader went down: `etc` was, so it is popped; above the root stays there.
      assert.equal(names(rel.next().components), 'root/secret');
    });

    it('goes down components before applying .. to them (a/b/.. is a only when b is no link)', () => {
      const r = new InRootResolver('/a/b/../c');
      const first = r.next();
      assert.equal(first.kind, 'descend');
      assert.equal(names(first.components), 'a/b');
      r.link(1, Buffer.from('x/y'));
      const again = r.next();
      assert.equal(again.kind, 'descend');
      assert.equal(names(again.components), 'a/x/y');
      r.descended();
      const last = r.next();
      assert.equal(last.kind, 'final');
      assert.equal(names(last.components), 'a/x/c');
    });

    it('calls more than 40 links a loop', () => {
      const r = new InRootResolver('/loop');
      assert.throws(() => {
        for (let i = 0; i < 100; i++) {
          r.next();
          r.link(0, Buffer.from('loop'));
        }
      }, TooManyLinks);
      assert.equal(r.links, 41);
    });
  });
});
