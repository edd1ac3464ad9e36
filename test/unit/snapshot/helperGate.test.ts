// Through the helper, which answers one request after another, containers are read two at a time and
// each one's deadline starts with its turn: a snapshot of many containers through a slow helper arrives
// whole instead of cut by deadlines spent waiting in the helper's queue.
import * as assert from 'node:assert/strict';
import {
  CONTAINER_LIMITS,
  Gate,
  HELPER_CONTAINER_READS,
  HELPER_DEADLINE_MS,
  SnapshotCache,
  containerLimitsFor,
  readContainer,
} from '../../../src/core/snapshot';
import { ConfinedFile, HostFileError, HostFiles } from '../../../src/core/util/hostFiles';
import { HOST_MOUNTS, MOUNTS, NO_DAEMON, containerFiles, runningContainer as info } from './fakeContainers';

/** One container's /proc and cgroup files, served one request at a time, each taking `stepMs`, like the helper. */
class SerialFiles implements HostFiles {
  readonly files = new Map<string, string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly kind: 'direct' | 'helper',
    private readonly stepMs: number,
  ) {}

  add(id: string, pid: number): void {
    for (const [k, v] of containerFiles(id, [pid])) this.files.set(k, v);
  }

  private serve<T>(_file: string, answer: () => T): Promise<T> {
    const turn = this.queue.then(
      () =>
        new Promise<T>((resolve, reject) =>
          setTimeout(() => {
            try {
              resolve(answer());
            } catch (err) {
              reject(err as Error);
            }
          }, this.stepMs),
        ),
    );
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private text(file: string): string {
    const text = this.files.get(file);
    if (text === undefined) throw new HostFileError('ENOENT', file, `ENOENT: ${file}`);
    return text;
  }

  readText(file: string): Promise<string> {
    return this.serve(file, () => this.text(file));
  }

  readBytes(file: string): Promise<Buffer> {
    return this.serve(file, () => Buffer.from(this.text(file)));
  }

  readLink(file: string): Promise<string> {
    return this.serve(file, () => {
      const m = /^\/proc\/(\d+)\/ns\/(\w+)$/.exec(file);
      if (!m || !this.files.has(`/proc/${m[1]}/status`)) throw new HostFileError('ENOENT', file, `ENOENT: ${file}`);
      return `${m[2]}:[${4026531000 + Number(m[1])}]`;
    });
  }

  listDir(dir: string): Promise<string[]> {
    return this.serve(dir, () => {
      throw new HostFileError('ENOENT', dir, `ENOENT: ${dir}`);
    });
  }

  readConfined(_root: unknown, relPath: string): Promise<ConfinedFile> {
    return this.serve(relPath, () => {
      throw new HostFileError('ENOENT', relPath, `ENOENT: ${relPath}`);
    });
  }
}

/** How long one container takes alone, and how long a snapshot of six does, with a deadline of three times the first (two at a time take about twice as long; six at once, six times). */
async function snapshotOfSix(kind: 'direct' | 'helper'): Promise<{ alone: number; errors: string[] }> {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'].map((ch) => ch.repeat(64));
  const files = new SerialFiles(kind, 2);
  ids.forEach((id, i) => files.add(id, 100 + i));
  const t0 = performance.now();
  const first = await readContainer(
    { runtime: NO_DAEMON, files, cache: new SnapshotCache(), limits: { deadlineMs: 60000 } },
    info(ids[0]),
    MOUNTS,
    HOST_MOUNTS,
  );
  const alone = performance.now() - t0;
  assert.deepEqual(
    first.errors.filter((e) => !e.field.startsWith('cgroup.')),
    [],
  );
  const cache = new SnapshotCache();
  const all = await Promise.all(
    ids.map((id) =>
      readContainer({ runtime: NO_DAEMON, files, cache, limits: { deadlineMs: Math.ceil(alone * 3) } }, info(id), MOUNTS, HOST_MOUNTS),
    ),
  );
  return { alone, errors: all.flatMap((c) => c.errors.filter((e) => /not read within/.test(e.reason)).map((e) => `${c.name} ${e.field}`)) };
}

describe('container reads through the helper', () => {
  it('get a longer deadline than direct reads, and the caller still decides', () => {
    assert.equal(containerLimitsFor('direct').deadlineMs, CONTAINER_LIMITS.deadlineMs);
    assert.equal(containerLimitsFor('helper').deadlineMs, HELPER_DEADLINE_MS);
    assert.ok(HELPER_DEADLINE_MS > CONTAINER_LIMITS.deadlineMs);
    assert.equal(containerLimitsFor('helper', { deadlineMs: 300 }).deadlineMs, 300);
    assert.equal(containerLimitsFor('helper').maxProcesses, CONTAINER_LIMITS.maxProcesses);
  });

  it('go two at a time, each deadline starting with its turn, so a serial helper cuts none of six', async () => {
    const helper = await snapshotOfSix('helper');
    assert.deepEqual(helper.errors, [], `one container alone took ${helper.alone.toFixed(0)} ms`);
  });

  it('while six direct reads through the same serial files, all at once, run out of their deadlines (what the gate prevents)', async () => {
    const direct = await snapshotOfSix('direct');
    assert.ok(direct.errors.length > 0, 'reads queued behind each other miss the deadline');
  });

  it('the gate lets in at most its size and hands each place on in order', async () => {
    const gate = new Gate(HELPER_CONTAINER_READS);
    assert.equal(HELPER_CONTAINER_READS, 2);
    const order: number[] = [];
    const leaves = await Promise.all([gate.enter(), gate.enter()]);
    assert.equal(gate.inside, 2);
    const third = gate.enter().then((leave) => {
      order.push(3);
      return leave;
    });
    const fourth = gate.enter().then((leave) => {
      order.push(4);
      return leave;
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [], 'both wait while two are inside');
    leaves[0]();
    leaves[0](); // leaving twice frees one place only
    const l3 = await third;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [3]);
    leaves[1]();
    const l4 = await fourth;
    assert.deepEqual(order, [3, 4]);
    l3();
    l4();
    assert.equal(gate.inside, 0);
  });
});
