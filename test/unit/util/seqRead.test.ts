// Kernel seq files (mountinfo, cgroup.procs, memory.stat) hand out about a page of whole records per read:
// a direct read must go on until the end, or a long mount table loses the overlays mounted last.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirectHostFiles } from '../../../src/core/util/hostFiles';

describe('direct reads of kernel files longer than a page', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-seqread-'));
  const mounted: string[] = [];

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('this test mounts tmpfs to make a long mount table: run it as root (CI does)');
    // Forty mounts with long paths put the table well past a 4 KiB page.
    for (let i = 0; i < 40; i++) {
      const m = path.join(dir, `m-${i}-${'x'.repeat(60)}`);
      fs.mkdirSync(m);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'xray-seqread', m]);
      mounted.push(m);
    }
  });

  after(() => {
    for (const m of mounted.reverse()) execFileSync('umount', [m]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the whole of /proc/self/mountinfo, the last mount included', async () => {
    const text = await new DirectHostFiles().readText('/proc/self/mountinfo');
    assert.ok(Buffer.byteLength(text) > 4096, `the table is longer than a page (${Buffer.byteLength(text)} bytes)`);
    assert.equal(text, fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    assert.ok(text.includes(mounted[mounted.length - 1]), 'the mount made last is listed');
  });
});
