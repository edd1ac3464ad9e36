// Why a container struggles or died, on every target: a container whose processes run past its memory
// limit and are OOM-killed while it runs on, one whose init is OOM-killed, and the pressure stall figures of
// cgroup v2. Oracles: the kernel's own cgroup files read on the daemon's machine (memory.events on v2,
// memory.oom_control on v1, *.pressure), the runtime's `inspect` (State.ExitCode, OOMKilled), and the daemon's
// event stream (the `oom` event the extension's notification listens for).
import * as assert from 'node:assert/strict';
import { Engine } from '../../src/core/engine';
import { DockerEvent, DockerEventWatcher } from '../../src/core/runtime/docker/events';
import { ContainerSnapshot } from '../../src/shared/model';
import { Target, cgroupFilesOn, engineOptions, inspectOn, keyedFile, openTarget, removeOn, runOn, suiteTargets } from '../support/targets';

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** busybox `tail` keeps a line whole: 64 MiB of zeros without a newline grows it past a 32 MiB limit. */
const ALLOCATE_64M = 'head -c 67108864 /dev/zero | tail > /dev/null';
/**
 * The same in a subshell that asks to be the OOM killer's first choice (raising one's own oom_score_adj needs
 * no privilege), so the container's init shell is never the one killed and the container runs on.
 */
const ALLOCATE_64M_AS_VICTIM = `(echo 1000 > /proc/self/oom_score_adj; ${ALLOCATE_64M})`;

// Against this machine's engine (cgroup v1: no PSI, so pressure is checked as absent there): the VM targets'
// runs of this suite are the next step (they add minutes per target under emulation; the README says so).
for (const target of suiteTargets().filter((x) => x === 'local')) {
  describe(`why a container struggles or died (${target})`, function () {
    this.timeout(target === 'local' ? 180_000 : 900_000);
    let t: Target;
    let engine: Engine;
    let watcher: DockerEventWatcher | null = null;
    const events: DockerEvent[] = [];
    const ids: Record<string, string> = {};
    let v2 = false;

    const read = async (id: string): Promise<ContainerSnapshot> => {
      const snap = await engine.snapshot({ containers: [id] });
      const c = snap.containers.find((x) => x.id === id);
      assert.ok(c, `${id} is in the snapshot`);
      return c;
    };

    before(async function () {
      this.timeout(900_000);
      t = await openTarget(target);
      engine = await Engine.create(engineOptions(t, { helperIdleMs: 300_000 }));
      watcher = new DockerEventWatcher(engine.runtime);
      watcher.on('event', (ev) => events.push(ev));
      watcher.start();
      await waitFor('the event stream', 60_000, () => (watcher?.connected ? true : undefined));
      const limit = ['--memory', '32m', '--memory-swap', '32m'];
      // Its init (a shell) lives on while each child that allocates past the limit is killed.
      ids.struggling = await runOn(t, [
        '--name',
        `xray-it-oom-child-${process.pid}`,
        '--network',
        'none',
        ...limit,
        t.helperImage,
        'sh',
        '-c',
        `while :; do ${ALLOCATE_64M_AS_VICTIM}; sleep 1; done`,
      ]);
      // Its init is what runs past the limit: the container ends, OOM-killed.
      ids.died = await runOn(t, [
        '--name',
        `xray-it-oom-init-${process.pid}`,
        '--network',
        'none',
        ...limit,
        t.helperImage,
        'sh',
        '-c',
        ALLOCATE_64M,
      ]);
      // Ends by itself after the engine has read it running.
      ids.brief = await runOn(t, [
        '--name',
        `xray-it-brief-${process.pid}`,
        '--network',
        'none',
        t.helperImage,
        'sh',
        '-c',
        'sleep 8; exit 3',
      ]);
      v2 = (await t.sh('test -f /sys/fs/cgroup/cgroup.controllers && echo v2 || echo v1')).trim() === 'v2';
    });

    after(async function () {
      this.timeout(300_000);
      watcher?.stop();
      await engine?.dispose();
      if (t) await removeOn(t, Object.values(ids));
    });

    it("counts the OOM kills of a container that runs on as the kernel's memory cgroup does", async () => {
      // Wait until the kernel has killed a child at least once.
      const c = await waitFor('an OOM kill in the struggling container', 240_000, async () => {
        const got = await read(ids.struggling);
        return (got.cgroup?.usage.oomKills ?? 0) > 0 ? got : undefined;
      });
      assert.equal(c.state, 'running', 'the container runs on: only its children were killed');
      const usage = c.cgroup!.usage;
      const file = v2 ? 'memory.events' : 'memory.oom_control';
      const files = await cgroupFilesOn(t, c.pid!, [
        ['memory', file],
        ['memory', 'memory.failcnt'],
      ]);
      const oracle = keyedFile(files[file]);
      // The counter only grows: the kernel's figure read after the engine's is at least the engine's.
      assert.ok(oracle.get('oom_kill')! >= usage.oomKills!, `engine ${usage.oomKills}, kernel ${oracle.get('oom_kill')}`);
      assert.ok(usage.oomKills! >= 1);
      if (v2) {
        assert.ok(usage.oomEvents !== null && usage.oomEvents >= 1, 'memory.events oom counts the allocations refused');
        assert.ok(oracle.get('oom')! >= usage.oomEvents);
        assert.equal(typeof usage.memoryHighHits, 'number');
        assert.equal(usage.underOom, null, 'under_oom is v1 only');
      } else {
        assert.equal(usage.oomEvents, null, 'memory.events is v2 only');
        assert.equal(usage.underOom, false, 'the OOM killer is enabled, so the cgroup does not stay under OOM');
      }
      // Times the limit was hit: v2 memory.events max; v1 memory.failcnt (which some kernels leave at 0).
      const hits = v2 ? oracle.get('max')! : Number(files['memory.failcnt']);
      assert.ok(usage.memoryLimitHits !== null && usage.memoryLimitHits <= hits, `engine ${usage.memoryLimitHits}, kernel ${hits}`);
      if (v2) assert.ok(usage.memoryLimitHits >= 1, 'memory.events max counts the limit hit');
    });

    it("sees the daemon's oom event for it: what the extension's notification listens for", async function () {
      if (t.runtime === 'podman') {
        // Podman's compatible event stream has no `oom` action; there the notification comes from the
        // oom_kill counter rising between two reads (the case above, and the OomWatch unit tests).
        const oom = events.find((e) => e.id === ids.struggling && e.action === 'oom');
        assert.equal(oom, undefined, "Podman's compatible stream sends no oom event (if it starts to, this suite should listen for it)");
        return;
      }
      const ev = await waitFor('an oom event', 120_000, () =>
        events.find((e) => e.type === 'container' && e.action === 'oom' && e.id === ids.struggling),
      );
      assert.equal(ev.name, `xray-it-oom-child-${process.pid}`);
    });

    it('says how a container whose init was OOM-killed ended, as inspect records it', async () => {
      const info = await waitFor('the OOM-killed container to stop', 240_000, async () => {
        const i = await inspectOn<{ State: { Running: boolean; ExitCode: number; OOMKilled: boolean; FinishedAt: string } }>(t, ids.died);
        return i.State.Running ? undefined : i;
      });
      const snap = await engine.snapshot({ containers: [ids.died], all: true });
      const c = snap.containers.find((x) => x.id === ids.died);
      assert.ok(c?.exit, 'a stopped container is in snapshot --all, with how it ended');
      assert.equal(c.state, 'exited');
      assert.equal(c.exit.exitCode, info.State.ExitCode);
      assert.equal(c.exit.oomKilled, info.State.OOMKilled);
      assert.equal(c.exit.exitCode, 137, 'SIGKILL from the OOM killer');
      assert.ok(c.exit.finishedAt && Date.parse(c.exit.finishedAt) > 0);
      assert.equal(c.pid, null);
      // Without all, only running containers are listed.
      const running = await engine.snapshot({ containers: [ids.died] });
      assert.equal(running.containers.length, 0);
    });

    it('keeps the counters last read while a container ran, for when it has stopped', async () => {
      const running = await read(ids.brief);
      assert.equal(running.state, 'running');
      const pids = running.cgroup?.usage.pidsCurrent;
      assert.ok(pids !== null && pids !== undefined && pids >= 1);
      await waitFor('the brief container to exit', 120_000, async () => {
        const i = await inspectOn<{ State: { Running: boolean } }>(t, ids.brief);
        return i.State.Running ? undefined : true;
      });
      const exit = await engine.exitInfo(ids.brief);
      assert.equal(exit.exitCode, 3);
      assert.equal(exit.oomKilled, false);
      assert.ok(exit.lastUsage, 'the usage last read before it stopped');
      assert.equal(exit.lastUsage.pidsCurrent, pids);
    });

    it('reads pressure stall information where the kernel keeps it per cgroup (v2 with PSI), as the kernel does', async () => {
      const c = await read(ids.struggling);
      const files = await cgroupFilesOn(t, c.pid!, [
        ['cpu', 'cpu.pressure'],
        ['memory', 'memory.pressure'],
        ['io', 'io.pressure'],
      ]);
      const psi = c.cgroup!.usage.pressure;
      if (!v2 || files['memory.pressure'] === null) {
        // cgroup v1 has no per-cgroup PSI, and a kernel booted with psi=0 has no files: none is shown.
        assert.equal(psi, null, `no pressure files on this ${v2 ? 'v2 host without PSI' : 'v1 host'}, and none shown`);
        return;
      }
      assert.ok(psi, 'pressure is read');
      for (const kind of ['cpu', 'memory', 'io'] as const) {
        const text = files[`${kind}.pressure`]!;
        const total = Number(/^some .* total=(\d+)$/m.exec(text)![1]);
        const mine = psi[kind];
        assert.ok(mine, `${kind}.pressure is read`);
        // Stall time only grows: the kernel's total read after the engine's is at least the engine's.
        assert.ok(mine.some.totalUs <= total, `${kind}: engine ${mine.some.totalUs} µs, kernel ${total} µs`);
        for (const v of [mine.some.avg10, mine.some.avg60, mine.some.avg300]) assert.ok(v >= 0 && v <= 100);
      }
      // A container that keeps hitting its memory limit stalls on memory.
      assert.ok(psi.memory!.some.totalUs > 0, 'memory stalls were counted');
    });
  });
}
