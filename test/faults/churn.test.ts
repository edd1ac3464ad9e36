// Containers starting and dying during snapshots: 100 short-lived containers (0–300 ms each, several at
// once) while the in-process engine snapshots in a loop. No crash, no unhandled rejection, every container
// of every snapshot fully read or `gone` with a reason, and once the churn settles no ghost entries.
import * as assert from 'node:assert/strict';
import type { ContainerSnapshot, Snapshot } from '../../src/shared/model';
import { Engine } from '../../src/core/engine';
import { BASE_IMAGE, TEST_LABEL, docker, ensureBaseImage, requireDocker } from '../support/docker';
import { waitFor } from './support';

const RUN_LABEL = `container-xray.fault-churn=${process.pid}`;
const TOTAL = 100;
const PARALLEL = 6;
const LIFETIMES = ['0', '0.05', '0.1', '0.2', '0.3'];

/** What "fully read" means for a running container read directly on the daemon's machine. */
function problem(c: ContainerSnapshot): string | null {
  if (c.state === 'gone') {
    if (c.errors.length === 0 || !c.errors.some((e) => e.reason.trim() !== '')) return 'gone without a reason';
    if (c.pid !== null || c.namespaces !== null || c.cgroup !== null || c.processes.length > 0)
      return 'gone, yet carrying data of a process';
    return null;
  }
  if (c.state !== 'running') return null; // paused/restarting: not made here
  const missing = [
    c.pid === null && 'pid',
    c.namespaces === null && 'namespaces',
    c.cgroup === null && 'cgroup',
    c.overlay === null && 'overlay',
    c.processes.length === 0 && 'processes',
  ].filter(Boolean);
  if (missing.length > 0) return `running but without ${missing.join(', ')} (errors: ${JSON.stringify(c.errors)})`;
  if (c.errors.length > 0) return `running, read with errors: ${JSON.stringify(c.errors)}`;
  return null;
}

describe('faults: containers starting and dying during snapshots', function () {
  this.timeout(150000);
  const rejections: unknown[] = [];
  const trap = (reason: unknown) => rejections.push(reason);

  before(async () => {
    requireDocker();
    await ensureBaseImage();
    process.on('unhandledRejection', trap);
  });

  after(async () => {
    process.off('unhandledRejection', trap);
    const ids = (await docker(['ps', '-aq', '--filter', `label=${RUN_LABEL}`])).split('\n').filter(Boolean);
    if (ids.length > 0) await docker(['rm', '-f', ...ids]).catch(() => undefined);
  });

  it(`${TOTAL} containers living 0–300 ms, ${PARALLEL} at a time, while snapshotting in a loop (bounded to 90 s)`, async () => {
    const engine = await Engine.create({ diskCache: false });
    const deadline = Date.now() + 90000;
    let started = 0;
    let runFailures = 0;
    const seen = new Set<string>();
    const churn = async () => {
      while (started < TOTAL && Date.now() < deadline) {
        const n = started++;
        try {
          const id = (
            await docker(
              [
                'run',
                '-d',
                '--rm',
                '--network',
                'none',
                '--label',
                TEST_LABEL,
                '--label',
                RUN_LABEL,
                BASE_IMAGE,
                'sleep',
                LIFETIMES[n % LIFETIMES.length],
              ],
              { timeout: 30000 },
            )
          ).trim();
          seen.add(id);
        } catch {
          runFailures++;
        }
      }
    };
    let churning = true;
    const runners = Promise.all(Array.from({ length: PARALLEL }, churn)).finally(() => (churning = false));

    const snaps: Snapshot[] = [];
    const problems: string[] = [];
    let churnContainersSeen = 0;
    let gone = 0;
    while (churning && Date.now() < deadline) {
      const snap = await engine.snapshot();
      snaps.push(snap);
      for (const c of snap.containers) {
        if (c.labels['container-xray.fault-churn'] !== String(process.pid)) continue;
        churnContainersSeen++;
        if (c.state === 'gone') gone++;
        const p = problem(c);
        if (p) problems.push(`${c.id.slice(0, 12)}: ${p}`);
      }
    }
    await runners;
    assert.ok(Date.now() < deadline, `the churn finished within 90 s (${started} started)`);
    assert.equal(runFailures, 0, 'every docker run succeeded');

    // Settle: every churn container has exited and been removed (--rm).
    await waitFor(
      async () => ((await docker(['ps', '-aq', '--filter', `label=${RUN_LABEL}`])).trim() === '' ? true : undefined),
      30000,
      'the short-lived containers to be gone',
      250,
    );
    // `docker ps -q --no-trunc`, less the engine's own helper containers (which it never lists).
    const running = async () =>
      new Set(
        (await docker(['ps', '--no-trunc', '--format', '{{.ID}} {{.Label "container-xray.helper"}}']))
          .split('\n')
          .map((l) => l.trim().split(' '))
          .filter(([id, helper]) => id && !helper)
          .map(([id]) => id),
      );
    const before = await running();
    const final = await engine.snapshot();
    const afterIds = await running();
    const ids = final.containers.map((c) => c.id);
    // Other tests may start or stop containers meanwhile: what runs both before and after must be listed,
    // and nothing may be listed that ran at neither moment.
    const ghosts = ids.filter((id) => !before.has(id) && !afterIds.has(id));
    const missed = [...before].filter((id) => afterIds.has(id) && !ids.includes(id));
    assert.deepEqual(ghosts, [], 'no ghost entries in the final snapshot');
    assert.deepEqual(missed, [], 'every running container is in the final snapshot');
    assert.equal(final.containers.filter((c) => seen.has(c.id)).length, 0, 'none of the churned containers is left');
    const live = new Set(ids);
    const stale = [...engine.cache.pids.keys()].filter((id) => !live.has(id));
    assert.deepEqual(stale, [], 'the engine caches no PID of a container that is gone');

    console.log(
      `      ${snaps.length} snapshots during the churn of ${started} containers; ${churnContainersSeen} churn containers seen in them, ${gone} as gone`,
    );
    assert.ok(snaps.length >= 5, `snapshots kept coming during the churn (${snaps.length})`);
    assert.ok(churnContainersSeen > 0, 'the snapshots caught some of the short-lived containers');
    assert.deepEqual(problems, [], 'every container of every snapshot was fully read or gone with a reason');
    assert.deepEqual(rejections.map(String), [], 'no unhandled rejection');
  });
});
