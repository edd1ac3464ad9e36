// A container that makes its processes' command lines huge costs the engine a bounded amount: 300
// processes with command lines of ~1 MB each (which made 315 MB of JSON and 2 GB of RSS) come back as
// 300 command lines of 64 KiB, marked truncated, within the per-container deadline, and the processes
// are those `docker top` lists.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import { CMDLINE_MAX_BYTES } from '../../src/core/procfs/read';
import { CONTAINER_LIMITS } from '../../src/core/snapshot';
import { docker, ensureBaseImage, removeContainers, requireDocker, runContainer } from '../support/docker';
import { ROOT, waitFor } from './support';

const NAME = 'xray-bounds';
const PROCESSES = 300;
/** One argument may be 128 KiB at most (MAX_ARG_STRLEN): eight of 120 000 make a ~960 KB command line. */
const ARG = 120_000;
const ARGS = 8;

// Each waiter blocks opening a FIFO no one writes: one process each, asleep, with the long arguments.
const SCRIPT = [
  'mkfifo /tmp/f',
  `A=$(head -c ${ARG} /dev/zero | tr '\\0' x)`,
  'i=0',
  `while [ $i -lt ${PROCESSES} ]; do sh -c 'read x </tmp/f' waiter ${'$A '.repeat(ARGS).trim()} & i=$((i+1)); done`,
  'wait',
].join('\n');

async function dockerTopPids(id: string): Promise<number[]> {
  const out = await docker(['top', id, '-eo', 'pid']);
  return out
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);
}

/** The first bytes of a process's command line (only to wait for the forks to exec). */
function cmdlineHead(pid: number): string {
  try {
    const fd = fs.openSync(`/proc/${pid}/cmdline`, 'r');
    try {
      const buf = Buffer.alloc(64);
      return buf.toString('latin1', 0, fs.readSync(fd, buf, 0, 64, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

describe('faults: huge command lines stay bounded (real engine, direct reads and the helper)', function () {
  this.timeout(180000);
  let id = '';
  let engine: Engine | null = null;
  let helperEngine: Engine | null = null;

  before(async () => {
    requireDocker();
    const base = await ensureBaseImage();
    await docker(['rm', '-f', NAME]).catch(() => undefined);
    id = await runContainer(['--name', NAME, '--network', 'none', base, 'sh', '-c', SCRIPT]);
    // Until every forked shell has exec'd its waiter (before, it shows the parent's command line).
    const waiting = async () => (await dockerTopPids(id)).filter((pid) => cmdlineHead(pid).includes('</tmp/f\0waiter')).length;
    await waitFor(async () => ((await waiting()) === PROCESSES ? true : undefined), 60000, `${PROCESSES} waiters`, 250);
    engine = await Engine.create({ access: 'direct', diskCache: false });
    helperEngine = await Engine.create({ access: 'helper', helperImage: base, diskCache: false, helperIdleMs: 60_000 });
  });

  after(async () => {
    await engine?.dispose();
    await helperEngine?.dispose();
    await removeContainers([id]);
  });

  it('lists every process docker top lists, each long command line cut at 64 KiB and marked, in bounded JSON and memory', async () => {
    assert.ok(engine);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const snap = await engine.snapshot({ containers: [id] });
    const ms = performance.now() - started;
    const json = JSON.stringify(snap);
    const rssAfter = process.memoryUsage().rss;

    const c = snap.containers.find((x) => x.id === id);
    assert.ok(c, 'the container is in the snapshot');
    assert.deepEqual(
      c.errors.filter((e) => /not read within/.test(e.reason)),
      [],
    );
    assert.ok(ms < CONTAINER_LIMITS.deadlineMs + 1000, `snapshot took ${ms.toFixed(0)} ms`);

    // The same processes as docker top (an oracle that reads /proc through ps on the host).
    const top = await dockerTopPids(id);
    assert.deepEqual(
      c.processes.map((p) => p.hostPid).sort((a, b) => a - b),
      top,
    );
    assert.equal(c.processesNotListed, undefined);

    const waiters = c.processes.filter((p) => p.command.startsWith('sh -c read x </tmp/f waiter '));
    assert.equal(waiters.length, PROCESSES);
    for (const p of waiters) {
      assert.equal(p.commandTruncated, true, `process ${p.hostPid}`);
      assert.equal(Buffer.byteLength(p.command), CMDLINE_MAX_BYTES, `process ${p.hostPid}`);
      assert.match(p.command.slice(-16), /^x+$/);
    }
    const init = c.processes.find((p) => p.hostPid === c.pid);
    assert.ok(init && !init.commandTruncated, 'the short command line of the init is whole');

    // ~300 × 64 KiB: about 20 MB, where the whole command lines made ~290 MB.
    assert.ok(json.length < 30 * 1024 * 1024, `${(json.length / 1048576).toFixed(1)} MiB of JSON`);
    assert.ok(rssAfter - rssBefore < 300 * 1024 * 1024, `RSS grew by ${((rssAfter - rssBefore) / 1048576).toFixed(0)} MiB`);
  });

  it('through the helper container, the helper itself sends at most 64 KiB of each command line', async () => {
    assert.ok(helperEngine);
    const rssBefore = process.memoryUsage().rss;
    const snap = await helperEngine.snapshot({ containers: [id] });
    const rssAfter = process.memoryUsage().rss;
    assert.equal(snap.host.access.mode, 'helper');
    const c = snap.containers.find((x) => x.id === id);
    assert.ok(c, 'the container is in the snapshot');
    assert.deepEqual(
      c.errors.filter((e) => /not read within/.test(e.reason)),
      [],
    );
    assert.deepEqual(
      c.processes.map((p) => p.hostPid).sort((a, b) => a - b),
      await dockerTopPids(id),
    );
    const waiters = c.processes.filter((p) => p.command.startsWith('sh -c read x </tmp/f waiter '));
    assert.equal(waiters.length, PROCESSES);
    for (const p of waiters) {
      assert.equal(p.commandTruncated, true, `process ${p.hostPid}`);
      assert.equal(Buffer.byteLength(p.command), CMDLINE_MAX_BYTES, `process ${p.hostPid}`);
    }
    // The whole command lines would be ~290 MB through the helper's stream (~390 MB as base64).
    assert.ok(rssAfter - rssBefore < 300 * 1024 * 1024, `RSS grew by ${((rssAfter - rssBefore) / 1048576).toFixed(0)} MiB`);
  });

  it('the schema describes the mark', () => {
    // The field is optional and `true` only: what a reader of --json output checks for.
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'snapshot.schema.json'), 'utf8')) as {
      definitions: { process: { properties: Record<string, unknown> }; container: { properties: Record<string, unknown> } };
    };
    assert.deepEqual((schema.definitions.process.properties.commandTruncated as { const: unknown }).const, true);
    assert.ok(schema.definitions.container.properties.processesNotListed);
  });
});
