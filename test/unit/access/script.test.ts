// The helper's script, run by this machine's shells (dash as /bin/sh, busybox ash) against a temp dir:
// the protocol end to end without Docker.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HelperOp, HelperReply, ReplyParser, decodeListing, encodeRequest, linkTarget, parseWalk } from '../../../src/core/access/protocol';
import { HELPER_SCRIPT } from '../../../src/core/access/script';

/** Runs the script once with these requests; resolves with every reply, keyed by id. */
function runScript(shell: string[], requests: [HelperOp, string][]): Promise<Map<number, HelperReply>> {
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
          ['w', `${dir}/missing`],
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
        assert.deepEqual(decodeListing(ok(r.get(1))[0]).sort(), ['bytes', 'empty', 'nl-link', 'sub', weird, 'ä%s\\n'].sort());
      });

      it('walks a tree: find and stat agree entry for entry', async () => {
        const r = await runScript(shell, [['w', dir]]);
        const [names, stats, errors] = ok(r.get(1));
        const walked = parseWalk(dir, names, stats, errors ?? Buffer.alloc(0));
        assert.equal(walked.error, null);
        const byName = new Map(walked.entries.map((e) => [e.name, e]));
        assert.deepEqual([...byName.keys()].sort(), ['bytes', 'empty', 'nl-link', 'sub', 'sub/f', 'sub/link', weird, 'ä%s\\n'].sort());
        assert.equal(byName.get('bytes')?.size, 256);
        assert.equal(byName.get(weird)?.type, 'file');
        assert.equal(byName.get('sub')?.type, 'dir');
        assert.equal(byName.get('sub/link')?.type, 'symlink');
        assert.equal(byName.get('sub/f')?.mode, fs.statSync(path.join(dir, 'sub', 'f')).mode & 0o7777);
      });
    });
  }
});
