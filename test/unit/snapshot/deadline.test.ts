// One hostile container costs only itself: a container whose reads never return arrives within its
// deadline with what was read and an error on each field that was not, every other container arrives
// complete, and a 1 MB command line is read only as far as the 64 KiB cap.
import * as assert from 'node:assert/strict';
import { CMDLINE_MAX_BYTES } from '../../../src/core/procfs/read';
import { SnapshotCache, SnapshotContext, choosePids, readContainer } from '../../../src/core/snapshot';
import { ConfinedFile, HostFileError, HostFiles } from '../../../src/core/util/hostFiles';
import type { ContainerSnapshot, ProcessInfo } from '../../../src/shared/model';
import { commandText, withCommandsCut } from '../../../src/shared/processText';
import { HOST_MOUNTS, MOUNTS, NO_DAEMON, OVERLAY_MOUNT, containerFiles, runningContainer as info } from './fakeContainers';

const DEADLINE_MS = 300;

interface FakeContainer {
  id: string;
  init: number;
  pids: number[];
  /** Paths whose reads never settle. */
  hang?: (file: string) => boolean;
  cmdline?: (pid: number) => string;
}

/** /proc, cgroupfs and the runtime's init.pid files of a few containers, in memory. */
class FakeFiles implements HostFiles {
  readonly kind = 'direct' as const;
  readonly files = new Map<string, string>();
  /** Bytes of command lines handed out, per path. */
  readonly served = new Map<string, number>();
  /** Whole-file reads of command lines (there should be none: they are read through readHead). */
  readonly wholeCmdlineReads: string[] = [];
  private readonly hangs: ((file: string) => boolean)[] = [];

  add(c: FakeContainer): void {
    // The host-side overlay the runtime mounted (every fake container's root is that one superblock).
    this.files.set('/proc/self/mountinfo', `2 1 ${OVERLAY_MOUNT}\n`);
    for (const [k, v] of containerFiles(c.id, c.pids, c.cmdline)) this.files.set(k, v);
    if (c.hang) this.hangs.push(c.hang);
  }

  private get(file: string): Promise<string> {
    if (this.hangs.some((h) => h(file))) return new Promise<string>(() => undefined);
    const text = this.files.get(file);
    if (text === undefined) return Promise.reject(new HostFileError('ENOENT', file, `ENOENT: no such file or directory, open '${file}'`));
    return Promise.resolve(text);
  }

  readText(file: string): Promise<string> {
    if (file.endsWith('/cmdline')) this.wholeCmdlineReads.push(file);
    return this.get(file);
  }

  async readBytes(file: string): Promise<Buffer> {
    return Buffer.from(await this.readText(file));
  }

  async readHead(file: string, maxBytes: number): Promise<ConfinedFile> {
    const all = Buffer.from(await this.get(file));
    const data = all.subarray(0, maxBytes);
    this.served.set(file, (this.served.get(file) ?? 0) + data.length);
    return { data, truncated: all.length > maxBytes };
  }

  async readLink(file: string): Promise<string> {
    if (this.hangs.some((h) => h(file))) return new Promise<string>(() => undefined);
    const m = /^\/proc\/(\d+)\/ns\/(\w+)$/.exec(file);
    if (!m || !this.files.has(`/proc/${m[1]}/status`)) throw new HostFileError('ENOENT', file, `ENOENT: ${file}`);
    return `${m[2]}:[${4026531000 + Number(m[1])}]`;
  }

  listDir(dir: string): Promise<string[]> {
    return Promise.reject(new HostFileError('ENOENT', dir, `ENOENT: ${dir}`));
  }

  readConfined(_root: unknown, relPath: string): Promise<ConfinedFile> {
    // No container here has an /etc/passwd (FROM scratch): users show as numbers.
    return Promise.reject(new HostFileError('ENOENT', relPath, `ENOENT: ${relPath}`));
  }
}

function context(files: FakeFiles, cache = new SnapshotCache()): SnapshotContext {
  return { runtime: NO_DAEMON, files, cache, limits: { deadlineMs: DEADLINE_MS } };
}

const id = (ch: string) => ch.repeat(64);

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

function notFinished(c: ContainerSnapshot): string[] {
  return c.errors.filter((e) => /not read within/.test(e.reason)).map((e) => e.field);
}

describe('snapshot: one hostile container costs only itself', () => {
  const files = new FakeFiles();
  // A: ordinary. B: its namespace links never answer. D: one of its processes never answers.
  // C: a 1 MB command line.
  files.add({ id: id('a'), init: 100, pids: [100, 101, 102] });
  files.add({ id: id('b'), init: 200, pids: [200, 201], hang: (f) => f.startsWith('/proc/200/ns/') });
  files.add({ id: id('d'), init: 400, pids: [400, 401, 402], hang: (f) => f === '/proc/401/status' });
  files.add({ id: id('c'), init: 300, pids: [300], cmdline: () => `sh\u0000${'x'.repeat(1024 * 1024)}\u0000` });
  const cache = new SnapshotCache();
  const all = [id('a'), id('b'), id('c'), id('d')].map(info);

  let first: { value: ContainerSnapshot[]; ms: number };
  before(async () => {
    first = await timed(() => Promise.all(all.map((c) => readContainer(context(files, cache), c, MOUNTS, HOST_MOUNTS))));
  });

  it('arrives within the deadline although two containers never answer', () => {
    assert.ok(first.ms < DEADLINE_MS + 500, `${first.ms.toFixed(0)} ms`);
    assert.ok(first.ms >= DEADLINE_MS - 20, 'the hung containers were waited for up to the deadline');
  });

  it('the other containers are complete, without errors', () => {
    const [a, , c] = first.value;
    assert.deepEqual(notFinished(a), []);
    assert.deepEqual(
      a.processes.map((p) => p.hostPid),
      [100, 101, 102],
    );
    assert.deepEqual(
      a.processes.map((p) => p.command),
      ['sleep 600', 'sleep 601', 'sleep 602'],
    );
    assert.equal(a.processes[0].commandTruncated, undefined);
    assert.ok(a.namespaces && a.overlay && a.cgroup);
    assert.deepEqual(notFinished(c), []);
  });

  it('the container whose namespace reads hang arrives with what was read and an error on namespaces only', () => {
    const b = first.value[1];
    assert.equal(b.pid, 200);
    assert.equal(b.state, 'running');
    assert.deepEqual(notFinished(b), ['namespaces']);
    assert.equal(b.namespaces, null);
    assert.ok(b.overlay, 'the overlay mount was read before the deadline');
    assert.ok(b.cgroup, 'the cgroup was read before the deadline');
    assert.match(b.errors.find((e) => e.field === 'namespaces')?.reason ?? '', /not read within 300 ms: the read did not finish/);
  });

  it('the container with one hung process lists the processes read by then', () => {
    const d = first.value[3];
    assert.deepEqual(notFinished(d), ['processes']);
    assert.deepEqual(d.processes.map((p) => p.hostPid).sort(), [400, 402]);
    assert.ok(d.namespaces && d.overlay && d.cgroup);
    assert.match(d.errors.find((e) => e.field === 'processes')?.reason ?? '', /2 read by then/);
  });

  it('a 1 MB command line is read only up to 64 KiB and marked truncated', () => {
    const p = first.value[2].processes[0];
    assert.equal(p.commandTruncated, true);
    assert.ok(p.command.startsWith('sh xxxx'));
    assert.equal(Buffer.byteLength(p.command), CMDLINE_MAX_BYTES);
    assert.ok((files.served.get('/proc/300/cmdline') ?? 0) <= CMDLINE_MAX_BYTES);
    assert.deepEqual(files.wholeCmdlineReads, []);
  });

  it('the next refresh does not wait on the hung container again, nor read it a second time', async () => {
    const next = await timed(() => Promise.all(all.map((c) => readContainer(context(files, cache), c, MOUNTS, HOST_MOUNTS))));
    // D's hung process read is still running too, so both are skipped at once: no new deadline to wait for.
    assert.ok(next.ms < DEADLINE_MS, `${next.ms.toFixed(0)} ms`);
    const [a, b, , d] = next.value;
    assert.deepEqual(notFinished(a), []);
    assert.equal(a.processes.length, 3);
    for (const hung of [b, d]) {
      assert.match(hung.errors[0]?.reason ?? '', /previous read is still running after the 300 ms deadline/);
      assert.equal(hung.errors[0]?.field, 'container');
    }
  });

  it('the snapshot returned at the deadline is not changed by reads that end later', async () => {
    const own = new FakeFiles();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    own.add({ id: id('e'), init: 500, pids: [500] });
    const slow: HostFiles = Object.assign(Object.create(own) as FakeFiles, {
      readLink: async (file: string) => {
        await gate;
        return own.readLink(file);
      },
    });
    const ctx: SnapshotContext = { runtime: NO_DAEMON, files: slow, cache: new SnapshotCache(), limits: { deadlineMs: 100 } };
    const e = await readContainer(ctx, info(id('e')), MOUNTS, HOST_MOUNTS);
    const copy = JSON.stringify(e);
    release();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(JSON.stringify(e), copy);
    assert.deepEqual(notFinished(e), ['namespaces']);
    // Its read ended: the container is read again, completely.
    const again = await readContainer(ctx, info(id('e')), MOUNTS, HOST_MOUNTS);
    assert.deepEqual(notFinished(again), []);
    assert.ok(again.namespaces);
  });
});

describe('snapshot: process lists are capped', () => {
  it('lists the init and the lowest PIDs, and counts the rest', () => {
    assert.deepEqual(choosePids([5, 3, 9, 1], 9, 10), { listed: [5, 3, 9, 1], notListed: 0 });
    assert.deepEqual(choosePids([5, 3, 9, 1], 9, 2), { listed: [9, 1], notListed: 2 });
    assert.deepEqual(choosePids([5, 3, 9, 1], 1, 2), { listed: [3, 1], notListed: 2 });
  });

  it('a container with more processes than the cap lists the cap and says how many are not listed', async () => {
    const files = new FakeFiles();
    const pids = Array.from({ length: 30 }, (_, i) => 600 + i);
    files.add({ id: id('f'), init: 600, pids });
    const ctx: SnapshotContext = { runtime: NO_DAEMON, files, cache: new SnapshotCache(), limits: { deadlineMs: 2000, maxProcesses: 10 } };
    const f = await readContainer(ctx, info(id('f')), MOUNTS, HOST_MOUNTS);
    assert.equal(f.processes.length, 10);
    assert.equal(f.processesNotListed, 20);
    assert.deepEqual(
      f.processes.map((p) => p.hostPid),
      pids.slice(0, 10),
    );
  });
});

describe('command lines as views show them', () => {
  const proc = (command: string, truncated = false): ProcessInfo => ({
    hostPid: 1,
    containerPid: 1,
    ppid: 0,
    uid: 0,
    user: 'root',
    name: 'sh',
    command,
    ...(truncated ? { commandTruncated: true as const } : {}),
    threads: 1,
    rssBytes: null,
  });

  it('a cut command line ends in …, a whole one does not', () => {
    assert.equal(commandText(proc('sleep 600')), 'sleep 600');
    assert.equal(commandText(proc('sh xxxx', true)), 'sh xxxx…');
  });

  it('the dashboard is sent no more of a command line than it shows, marked; short ones as they are', () => {
    const c = { processes: [proc('a'.repeat(64 * 1024), true), proc('short')] } as ContainerSnapshot;
    const cut = withCommandsCut(c, 4096);
    assert.equal(cut.processes[0].command.length, 4096);
    assert.equal(cut.processes[0].commandTruncated, true);
    assert.equal(cut.processes[1], c.processes[1]);
    assert.equal(c.processes[0].command.length, 64 * 1024, 'the snapshot itself is not changed');
    assert.ok(
      JSON.stringify(withCommandsCut({ processes: Array.from({ length: 500 }, () => c.processes[0]) } as ContainerSnapshot, 4096)).length <
        2.2e6,
    );
    const whole = { processes: [proc('short')] } as ContainerSnapshot;
    assert.equal(withCommandsCut(whole, 4096), whole);
  });
});
