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
  linkTarget,
  parseWalk,
  typeFromMode,
} from '../../../src/core/access/protocol';

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
      assert.equal(encodeRequest(4, 'w', '/ä%\\'), '4 W /\\303\\244\\045\\134|\n');
      // A line never holds a newline or a raw % or \ the script's printf would read as a directive.
      for (const line of [encodeRequest(1, 'r', '/%s\\n\n'), encodeRequest(2, 's', '/\t\r')]) {
        assert.equal(line.indexOf('\n'), line.length - 1);
        assert.doesNotMatch(line.slice(0, -1).replace(/\\[0-7]{3}/g, ''), /[%\\]/);
      }
    });

    it('round-trips any path through the escaping', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', minLength: 1 }), fc.constantFrom('r', 'l', 'd', 'w', 's'), (name, op) => {
          const path = `/${name.replace(/\0/g, '')}`;
          const decoded = decodeRequest(encodeRequest(5, op as 'r', path));
          assert.ok(decoded);
          assert.equal(decoded.id, 5);
          assert.equal(decoded.op, op);
          assert.deepEqual(decoded.path, Buffer.from(path, 'utf8'));
        }),
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
        { id: 0, ok: true, parts: [] },
        { id: 1, ok: true, parts: [Buffer.from('hello')] },
        { id: 2, ok: true, parts: [Buffer.from('net:[4026531840]')], raw: true },
        { id: 3, ok: false, code: 'EACCES', message: 'Permission denied' },
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
      assert.deepEqual(replies, [{ id: 5, ok: false, code: 'EISDIR', message: 'base64: read error: Is a directory' }]);
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
      assert.deepEqual(parseInPieces('!0 127 missing base64\n'), [{ id: 0, ok: false, code: 'ENOEXEC', message: 'missing base64' }]);
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

    it('pairs stat lines with find names byte for byte, skipping entries that vanished in between', () => {
      const root = '/host/var/lib/docker/overlay2/x/diff';
      const names = ['a', 'gone', 'we ird\nname ', 'd', 'd/f', 'wh'].map((n) => `${root}/${n}`);
      const stats = [
        `81a4 3 0 0 ${root}/a`,
        // `gone` was removed between find and stat: no line.
        `81a4 5 0 0 ${root}/we ird\nname `,
        `41ed 4096 0 0 ${root}/d`,
        `8180 0 0 0 ${root}/d/f`,
        `21a4 0 0 0 ${root}/wh`,
      ];
      const parsed = parseWalk(
        root,
        Buffer.from(`${names.join('\0')}\0`),
        Buffer.from(`${stats.join('\n')}\n`),
        Buffer.from(`find: ${root}/gone: No such file or directory\n`),
      );
      assert.equal(parsed.error, null);
      assert.deepEqual(parsed.entries, [
        { name: 'a', type: 'file', size: 3, mode: 0o644, major: 0, minor: 0 },
        { name: 'we ird\nname ', type: 'file', size: 5, mode: 0o644, major: 0, minor: 0 },
        { name: 'd', type: 'dir', size: 4096, mode: 0o755, major: 0, minor: 0 },
        { name: 'd/f', type: 'file', size: 0, mode: 0o600, major: 0, minor: 0 },
        { name: 'wh', type: 'char', size: 0, mode: 0o644, major: 0, minor: 0 },
      ]);
    });

    it('fails a walk on the first error that is not a vanished entry, as the direct walker throws', () => {
      const parsed = parseWalk(
        '/r',
        Buffer.alloc(0),
        Buffer.alloc(0),
        Buffer.from('find: /r/x: No such file or directory\nfind: /r/private: Permission denied\n'),
      );
      assert.deepEqual(parsed.error, { code: 'EACCES', message: 'find: /r/private: Permission denied' });
    });
  });
});
