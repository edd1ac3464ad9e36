// The helper's script, run by this machine's shells (dash as /bin/sh, busybox ash) against a temp dir:
// the protocol end to end without Docker.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  HelperOp,
  HelperReply,
  ReplyParser,
  confinedArg,
  decodeListing,
  encodeRequest,
  linkTarget,
  readArg,
} from '../../../src/core/access/protocol';
import { HELPER_SCRIPT } from '../../../src/core/access/script';

/** Runs the script once with these requests; resolves with every reply, keyed by id. */
function runScript(shell: string[], requests: [HelperOp, string | Buffer][]): Promise<Map<number, HelperReply>> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell[0], [...shell.slice(1), '-c', HELPER_SCRIPT, 'helper'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const parser = new ReplyParser();
    const replies = new Map<number, HelperReply>();
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const r of parser.push(chunk)) replies.set(r.id, r);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(replies) : reject(new Error(`${shell.join(' ')} exited ${code}: ${stderr}`))));
    // Pipelined: every request at once, as the engine sends them.
    child.stdin.end(requests.map(([op, p], i) => encodeRequest(i + 1, op, p)).join(''));
  });
}

function ok(r: HelperReply | undefined): Buffer[] {
  assert.ok(r, 'a reply');
  assert.ok(r.ok, `expected success, got ${r.ok ? '' : `${r.code} ${r.message}`}`);
  return r.parts;
}

function failed(r: HelperReply | undefined): string {
  assert.ok(r && !r.ok, 'expected a failure');
  return r.code;
}

const shells: string[][] = [['/bin/sh']];
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
if (busybox) shells.push([busybox, 'sh']);
if (fs.existsSync('/bin/bash')) shells.push(['/bin/bash']);

describe('access/script (run by local shells)', () => {
  let dir: string;
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const weird = 'we ird\nname ';
  // /tmp is where walks keep their lists; the helper has a tmpfs there, the tests share this machine's.

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-script-'));
    fs.writeFileSync(path.join(dir, 'bytes'), allBytes);
    fs.writeFileSync(path.join(dir, weird), 'abc');
    fs.writeFileSync(path.join(dir, 'empty'), '');
    fs.writeFileSync(path.join(dir, 'ä%s\\n'), 'x');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'f'), 'hello');
    fs.symlinkSync(`../${weird}`, path.join(dir, 'sub', 'link'));
    fs.symlinkSync('target\nwith newline\n', path.join(dir, 'nl-link'));
    fs.writeFileSync(path.join(dir, '.hidden'), '');
    fs.writeFileSync(path.join(dir, '..dots'), '');
    fs.mkdirSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x62, 0x61, 0x64, 0xff])]));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const shell of shells) {
    describe(shell.join(' '), () => {
      it('reads files byte for byte, whatever their name holds', async () => {
        const r = await runScript(shell, [
          ['r', `${dir}/bytes`],
          ['r', `${dir}/${weird}`],
          ['r', `${dir}/empty`],
          ['r', `${dir}/ä%s\\n`],
        ]);
        assert.deepEqual(ok(r.get(1))[0], allBytes);
        assert.equal(ok(r.get(2))[0].toString(), 'abc');
        assert.equal(ok(r.get(3))[0].length, 0);
        assert.equal(ok(r.get(4))[0].toString(), 'x');
      });

      it('answers read errors with the errno a direct read would get', async () => {
        const r = await runScript(shell, [
          ['r', `${dir}/missing`],
          ['r', `${dir}/sub`],
          ['r', `${dir}/bytes/x`],
          ['l', `${dir}/bytes`],
          ['d', `${dir}/bytes`],
          ['d', `${dir}/missing`],
          ['s', `${dir}/missing`],
          ['t', confinedArg(`${dir}/missing`, [])],
        ]);
        assert.equal(failed(r.get(1)), 'ENOENT');
        assert.equal(failed(r.get(2)), 'EISDIR');
        assert.equal(failed(r.get(3)), 'ENOTDIR');
        assert.equal(failed(r.get(4)), 'EINVAL');
        assert.equal(failed(r.get(5)), 'ENOTDIR');
        assert.equal(failed(r.get(6)), 'ENOENT');
        assert.equal(failed(r.get(7)), 'ENOENT');
        assert.equal(failed(r.get(8)), 'ENOENT');
      });

      it('reads link targets exactly, trailing newlines included, and lstat-checks paths', async () => {
        const r = await runScript(shell, [
          ['l', `${dir}/sub/link`],
          ['l', `${dir}/nl-link`],
          ['s', `${dir}/sub/link`],
          ['l', '/proc/self/ns/net'],
        ]);
        const target = (id: number) => {
          const reply = r.get(id);
          ok(reply);
          return linkTarget(reply as HelperReply & { ok: true }).toString();
        };
        assert.equal(target(1), `../${weird}`);
        assert.equal(target(2), 'target\nwith newline\n');
        ok(r.get(3));
        assert.match(target(4), /^net:\[\d+\]$/);
      });

      it('lists a directory with every name intact', async () => {
        const r = await runScript(shell, [['d', dir]]);
        assert.deepEqual(
          decodeListing(ok(r.get(1))[0]).sort(),
          ['bytes', 'empty', 'fifo', 'nl-link', 'sub', weird, 'ä%s\\n', '.hidden', '..dots', 'bad\ufffd'].sort(),
        );
      });

      it('lists a pinned directory raw: the directory first, then every name intact', async () => {
        const names = (cs: string[]) => cs.map((c) => Buffer.from(c, 'latin1'));
        const r = await runScript(shell, [
          ['t', confinedArg(dir, [])],
          ['t', confinedArg(dir, names(['sub']))],
          ['t', confinedArg(dir, names(['bad\xff']))],
          ['t', confinedArg(dir, names(['sub', 'link']))],
        ]);
        const top = r.get(1);
        assert.ok(top?.ok && top.records, 'a listing');
        assert.equal(top.records[0].name.toString(), '.');
        assert.equal(top.records[0].identity, `${fs.statSync(dir).dev}:${fs.statSync(dir).ino}`);
        const byName = new Map(top.records.slice(1).map((e) => [e.name.toString('latin1'), e]));
        assert.deepEqual(
          [...byName.keys()].sort(),
          [
            'bad\xff',
            'bytes',
            'empty',
            'fifo',
            'nl-link',
            'sub',
            Buffer.from(weird).toString('latin1'),
            Buffer.from('ä%s\\n').toString('latin1'),
            '.hidden',
            '..dots',
          ].sort(),
        );
        assert.equal(byName.get('bytes')?.size, 256);
        assert.equal(byName.get('sub')?.identity, `${fs.statSync(path.join(dir, 'sub')).dev}:${fs.statSync(path.join(dir, 'sub')).ino}`);
        const sub = r.get(2);
        assert.ok(sub?.ok && sub.records);
        assert.deepEqual(sub.records.map((e) => e.name.toString()).sort(), ['.', 'f', 'link']);
        assert.ok(r.get(3)?.ok, 'a name with invalid UTF-8 is gone down');
        // A link where a directory was to be is not followed: it goes back with its target.
        const link = r.get(4);
        assert.ok(link && !link.ok && link.status === 3 && link.at === 1);
        assert.equal(link.parts[0].toString(), `../${weird}\n`);
      });

      it('reads only regular files, within the byte cap, and says what it refused', async () => {
        const read = (comps: string[], max = 1000) =>
          readArg(
            max,
            2,
            confinedArg(
              dir,
              comps.map((c) => Buffer.from(c)),
            ),
          );
        const started = Date.now();
        const r = await runScript(shell, [
          ['c', read(['sub', 'f'])],
          ['c', read(['bytes'], 10)],
          ['c', read(['fifo'])],
          ['c', read(['sub'])],
          ['c', read(['sub', 'link'])],
          ['c', readArg(100, 2, confinedArg('/proc/self', [Buffer.from('status')]))],
          ['c', read(['sub', 'missing'])],
          ['c', read(['bytes', 'x'])],
        ]);
        assert.ok(Date.now() - started < 5000, 'a FIFO is never opened');
        assert.equal(ok(r.get(1))[0].toString(), 'hello');
        assert.deepEqual(ok(r.get(2))[0], allBytes.subarray(0, 10));
        const status = (id: number) => {
          const reply = r.get(id);
          assert.ok(reply && !reply.ok, `request ${id} refused`);
          return [reply.status, reply.at, reply.text];
        };
        assert.deepEqual(status(3), [5, 0, '11a4']);
        assert.deepEqual(status(4), [5, 0, '41ed']);
        assert.deepEqual(status(5).slice(0, 2), [3, 1]);
        // /proc's files are interfaces, not data.
        assert.deepEqual(status(6), [6, 0, '9fa0']);
        assert.deepEqual(status(7), [1, 1, 'No such file or directory']);
        assert.deepEqual(status(8), [1, 0, 'Not a directory']);
      });

      it('readlinks and lstats inside the root without following the last link', async () => {
        const comps = (cs: string[]) =>
          confinedArg(
            dir,
            cs.map((c) => Buffer.from(c)),
          );
        const r = await runScript(shell, [
          ['k', comps(['nl-link'])],
          ['k', comps(['bytes'])],
          ['e', comps(['sub', 'link'])],
          ['e', comps(['sub', 'nothing'])],
          ['p', comps(['sub'])],
        ]);
        const target = r.get(1);
        assert.ok(target?.ok);
        assert.equal(linkTarget(target).toString(), 'target\nwith newline\n');
        assert.equal(failed(r.get(2)), 'EINVAL');
        ok(r.get(3));
        assert.equal(failed(r.get(4)), 'ENOENT');
        ok(r.get(5));
      });
    });
  }

  for (const shell of shells) {
    const dash = shell[0] === '/bin/sh' && fs.realpathSync('/bin/sh').endsWith('dash');
    it(`${shell.join(' ')}: its ready line says ${dash ? 'nothing of' : '"idle":'} ending by idle time (the engine parks only such a helper)`, async () => {
      const first = await new Promise<string>((resolve, reject) => {
        const child = spawn(shell[0], [...shell.slice(1), '-c', HELPER_SCRIPT, 'helper'], {
          stdio: ['pipe', 'pipe', 'ignore'],
          env: { ...process.env, XRAY_IDLE_S: '60' },
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
        child.on('error', reject);
        child.on('close', () => resolve(out.split('\n')[0]));
        child.stdin.end();
      });
      assert.equal(first, dash ? '!0 0 ready' : '!0 0 ready idle');
      const parsed = new ReplyParser().push(Buffer.from(`${first}\n`));
      assert.deepEqual(
        parsed.map((r) => (r.ok ? (r.note ?? null) : 'failed')),
        [dash ? 'ready' : 'ready idle'],
      );
    });
  }

  for (const shell of shells.filter((sh) => sh[0] !== '/bin/sh' || !fs.realpathSync('/bin/sh').endsWith('dash'))) {
    it(`${shell.join(' ')}: ends by itself when no request comes for XRAY_IDLE_S seconds, and on EOF`, async () => {
      const run = (input: 'open' | 'closed') =>
        new Promise<number>((resolve, reject) => {
          const started = Date.now();
          const child = spawn(shell[0], [...shell.slice(1), '-c', HELPER_SCRIPT, 'helper'], {
            stdio: ['pipe', 'ignore', 'ignore'],
            env: { ...process.env, XRAY_IDLE_S: '1' },
          });
          const guard = setTimeout(() => child.kill('SIGKILL'), 10000);
          child.on('error', reject);
          child.on('close', (_code, signal) => {
            clearTimeout(guard);
            if (signal) reject(new Error(`killed: still running after 10 s (${input} stdin)`));
            else resolve(Date.now() - started);
          });
          if (input === 'closed') child.stdin.end();
          else child.stdin.write(encodeRequest(1, 's', '/'));
        });
      const idle = await run('open');
      assert.ok(idle >= 900 && idle < 6000, `exited after ${idle} ms idle`);
      assert.ok((await run('closed')) < 3000);
    });
  }
});
