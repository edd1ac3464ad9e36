// Reads the real cgroup of containers this test starts, on every target (cgroup v1 with cgroupfs here,
// v2 with the systemd driver in the VM), through the files the engine reads there (directly, or through
// its helper container), and checks it against `docker inspect` and the cgroup files read on the daemon's
// machine by the oracle channel.
import * as assert from 'node:assert/strict';
import { CgroupMounts } from '../../src/core/cgroups/parse';
import { readContainerCgroup } from '../../src/core/cgroups/read';
import { Engine } from '../../src/core/engine';
import { readHostMounts } from '../../src/core/snapshot';
import { HostFiles } from '../../src/core/util/hostFiles';
import { CgroupInfo } from '../../src/shared/model';
import {
  Target,
  cgroupFilesOn,
  delegatedControllersOn,
  engineOptions,
  inspectOn,
  keyedFile,
  openTarget,
  removeOn,
  runtimeTargets,
} from '../support/targets';

const SUB = 'xray-sub';

interface Inspect {
  Id: string;
  State: { Pid: number };
  HostConfig: {
    Memory: number;
    MemorySwap: number;
    MemoryReservation: number;
    NanoCpus: number;
    CpuShares: number;
    PidsLimit: number | null;
    CpusetCpus: string;
    BlkioDeviceReadBps: { Path: string; Rate: number }[] | null;
  };
}

function cg(r: { cgroup: CgroupInfo | null }): CgroupInfo {
  assert.ok(r.cgroup, 'expected a cgroup');
  return r.cgroup;
}

/** `max` or a number, as cgroup limit files hold them. */
function limit(text: string | null): number | null {
  assert.notEqual(text, null, 'the limit file exists');
  return text === 'max' || text === '-1' ? null : Number(text);
}

/** runc's conversion of Docker's CPU shares to a cgroup v2 cpu.weight. */
function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

for (const target of runtimeTargets()) {
  describe(`cgroups against a real container (${target})`, function () {
    this.timeout(target === 'local' ? 60000 : 900000);
    const suffix = `${process.pid}-${Date.now().toString(36)}`;
    const LIMITED = `xray-it-cg-limited-${suffix}`;
    const FREE = `xray-it-cg-free-${suffix}`;
    let t: Target;
    let engine: Engine;
    let files: HostFiles;
    let mounts: CgroupMounts;
    let cpus = 1;
    let version = 0;
    let driver = '';
    let disk: { path: string; device: string } | null = null;
    const subDirs: string[] = [];

    before(async () => {
      t = await openTarget(target);
      // The engine decides how it reads the daemon's files (a helper on a VM target, kept for the suite).
      engine = await Engine.create(engineOptions(t, { helperIdleMs: 300000 }));
      await engine.host();
      files = engine.files;
      assert.equal(files.kind, t.access === 'helper' ? 'helper' : 'direct');
      const hostMounts = await readHostMounts(files);
      assert.deepEqual(hostMounts.errors, []);
      mounts = hostMounts.cgroupMounts;
      cpus = Number((await t.sh('nproc')).trim());
      const [v, d] = (await t.docker(['info', '--format', '{{.CgroupVersion}} {{.CgroupDriver}}'])).trim().split(' ');
      version = Number(v);
      driver = d;
      // A disk Docker can throttle, as /dev/NAME with its major:minor, if the daemon's machine has one.
      // Rootless Podman's containers get only the controllers systemd delegates to the user (no cpuset, no io by default).
      const delegated = await delegatedControllersOn(t);
      const partitions = await t.sh('cat /proc/partitions; echo ---; ls /dev');
      const [table, dev] = partitions.split('\n---\n');
      const devs = new Set(dev.split('\n'));
      for (const line of table.split('\n').slice(2)) {
        const [major, minor, , name] = line.trim().split(/\s+/);
        if (name && !/^(loop|ram|zram|sr)/.test(name) && devs.has(name) && (!delegated || delegated.has('io'))) {
          disk = { path: `/dev/${name}`, device: `${major}:${minor}` };
          break;
        }
      }
      const args = ['run', '-d', '--rm', '--network', 'none', '--name', LIMITED, '--memory', '64m', '--memory-swap', '128m'];
      args.push('--memory-reservation', '32m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '50');
      if (cpus > 1 && (!delegated || delegated.has('cpuset'))) args.push('--cpuset-cpus', `${cpus - 1}`);
      if (disk) args.push('--device-read-bps', `${disk.path}:1mb`);
      // busybox sh execs its last command: PID 1 is a sleep, with one more sleep as its child.
      await t.docker([...args, t.helperImage, 'sh', '-c', 'sleep 600 & sleep 600']);
      await t.docker(['run', '-d', '--rm', '--network', 'none', '--name', FREE, t.helperImage, 'sleep', '600']);
      // Two seconds of a busy loop at half a CPU: the quota throttles it, so the counters are not zero. The
      // shell reaps the loop itself (an orphan would stay a zombie under the sleep that is PID 1, and the
      // kernel counts zombies in pids.current).
      await t.docker(['exec', LIMITED, 'sh', '-c', 'sh -c "while :; do :; done" & p=$!; sleep 2; kill $p; wait $p; true']);
    });

    after(async () => {
      await engine?.dispose();
      if (!t) return;
      await removeOn(t, [LIMITED, FREE]);
      // The container's cgroup goes with it; this only sweeps up after an aborted run.
      for (const d of subDirs) await t.sh(`rmdir '${d}' 2>/dev/null; true`).catch(() => undefined);
    });

    async function readOf(name: string) {
      const info = await inspectOn<Inspect>(t, name);
      const procCgroup = await files.readText(`/proc/${info.State.Pid}/cgroup`);
      return { info, procCgroup, read: await readContainerCgroup(files, procCgroup, mounts) };
    }

    it("reads the limits docker inspect reports and the daemon machine's cgroup files hold", async () => {
      const { info, read } = await readOf(LIMITED);
      assert.deepEqual(read.errors, []);
      const c = cg(read);
      const hc = info.HostConfig;
      assert.equal(c.version, version);
      assert.equal(c.driver, driver);
      assert.ok(c.path.includes(info.Id), `${c.path} names the container`);
      assert.equal(c.limits.memoryBytes, hc.Memory);
      assert.equal(c.limits.memoryBytes, 67108864);
      // v1 counts memory+swap together, as Docker's MemorySwap does; v2 counts swap alone.
      assert.equal(c.limits.memorySwapBytes, c.version === 1 ? hc.MemorySwap : hc.MemorySwap - hc.Memory);
      assert.equal(c.limits.memoryReservationBytes, hc.MemoryReservation);
      assert.equal(c.limits.cpus, hc.NanoCpus / 1e9);
      assert.equal(c.limits.cpus, 0.5);
      if (c.version === 1) assert.equal(c.limits.cpuShares, hc.CpuShares);
      else assert.equal(c.limits.cpuWeight, sharesToWeight(hc.CpuShares), 'cpu.weight as runc converts --cpu-shares');
      assert.equal(c.limits.pidsMax, hc.PidsLimit);
      assert.equal(c.limits.pidsMax, 50);
      assert.equal(c.limits.cpusetCpus, hc.CpusetCpus === '' ? null : hc.CpusetCpus);
      assert.equal(c.limits.hostCpus, cpus === 1 ? '0' : `0-${cpus - 1}`);
      const hcThrottles = (hc.BlkioDeviceReadBps ?? []).map((b) => ({ readBps: b.Rate }));
      assert.deepEqual(
        c.limits.blkioThrottles.map((b) => ({ readBps: b.readBps })),
        hcThrottles,
      );
      if (disk) {
        assert.deepEqual(c.limits.blkioThrottles, [
          { device: disk.device, readBps: hc.BlkioDeviceReadBps?.[0]?.Rate ?? null, writeBps: null, readIops: null, writeIops: null },
        ]);
      }

      // The same limits as the kernel holds them, read on the daemon's machine.
      const pid = info.State.Pid;
      if (version === 2) {
        const f = await cgroupFilesOn(t, pid, [
          ['', 'memory.max'],
          ['', 'memory.swap.max'],
          ['', 'memory.low'],
          ['', 'cpu.max'],
          ['', 'cpu.weight'],
          ['', 'pids.max'],
          ['', 'cpuset.cpus'],
          ['', 'io.max'],
        ]);
        assert.equal(c.limits.memoryBytes, limit(f['memory.max']));
        assert.equal(c.limits.memorySwapBytes, limit(f['memory.swap.max']));
        assert.equal(c.limits.memoryReservationBytes, limit(f['memory.low']));
        const [quota, period] = f['cpu.max']!.split(' ');
        assert.equal(c.limits.cpuQuotaUs, limit(quota));
        assert.equal(c.limits.cpuPeriodUs, Number(period));
        assert.equal(c.limits.cpuWeight, Number(f['cpu.weight']));
        assert.equal(c.limits.pidsMax, limit(f['pids.max']));
        assert.equal(c.limits.cpusetCpus, f['cpuset.cpus'] || null);
        const ioMax = (f['io.max'] ?? '').split('\n').filter(Boolean);
        assert.deepEqual(
          c.limits.blkioThrottles.map((b) => `${b.device} rbps=${b.readBps ?? 'max'}`),
          ioMax.map((l) => l.split(' ').slice(0, 2).join(' ')),
        );
      } else {
        const f = await cgroupFilesOn(t, pid, [
          ['memory', 'memory.limit_in_bytes'],
          ['memory', 'memory.memsw.limit_in_bytes'],
          ['memory', 'memory.soft_limit_in_bytes'],
          ['cpu', 'cpu.cfs_quota_us'],
          ['cpu', 'cpu.cfs_period_us'],
          ['cpu', 'cpu.shares'],
          ['pids', 'pids.max'],
          ['cpuset', 'cpuset.cpus'],
          ['blkio', 'blkio.throttle.read_bps_device'],
        ]);
        assert.equal(c.limits.memoryBytes, Number(f['memory.limit_in_bytes']));
        if (f['memory.memsw.limit_in_bytes'] !== null) assert.equal(c.limits.memorySwapBytes, Number(f['memory.memsw.limit_in_bytes']));
        assert.equal(c.limits.memoryReservationBytes, Number(f['memory.soft_limit_in_bytes']));
        assert.equal(c.limits.cpuQuotaUs, Number(f['cpu.cfs_quota_us']));
        assert.equal(c.limits.cpuPeriodUs, Number(f['cpu.cfs_period_us']));
        assert.equal(c.limits.cpuShares, Number(f['cpu.shares']));
        assert.equal(c.limits.pidsMax, limit(f['pids.max']));
        if (cpus > 1) assert.equal(c.limits.cpusetCpus, f['cpuset.cpus']);
        assert.deepEqual(
          c.limits.blkioThrottles.map((b) => `${b.device} ${b.readBps}`),
          (f['blkio.throttle.read_bps_device'] ?? '').split('\n').filter(Boolean),
        );
      }
    });

    it("reads live usage consistent with the processes and with the daemon machine's counters", async () => {
      const info = await inspectOn<Inspect>(t, LIMITED);
      const pid = info.State.Pid;
      const counters: [string, string][] =
        version === 2
          ? [
              ['', 'cpu.stat'],
              ['', 'memory.events'],
            ]
          : [
              ['cpuacct', 'cpuacct.usage'],
              ['cpu', 'cpu.stat'],
              ['memory', 'memory.failcnt'],
              ['memory', 'memory.oom_control'],
            ];
      // Counters only grow: what the engine read lies between the oracle's reads before and after.
      const before = await cgroupFilesOn(t, pid, counters);
      const { read } = await readOf(LIMITED);
      const after = await cgroupFilesOn(t, pid, counters);
      assert.deepEqual(read.errors, []);
      const u = cg(read).usage;
      const between = (value: number | null, lo: number, hi: number, what: string) => {
        assert.notEqual(value, null, what);
        assert.ok(lo <= value! && value! <= hi, `${what}: ${lo} <= ${value} <= ${hi}`);
      };
      const [b, a] = [before, after].map((x) => keyedFile(x['cpu.stat']));
      if (version === 2) {
        between(u.cpuUsageNs, b.get('usage_usec')! * 1000, a.get('usage_usec')! * 1000, 'cpu.stat usage_usec');
        between(u.cpuPeriods, b.get('nr_periods')!, a.get('nr_periods')!, 'cpu.stat nr_periods');
        between(u.cpuThrottledPeriods, b.get('nr_throttled')!, a.get('nr_throttled')!, 'cpu.stat nr_throttled');
        between(u.cpuThrottledNs, b.get('throttled_usec')! * 1000, a.get('throttled_usec')! * 1000, 'cpu.stat throttled_usec');
        const [eb, ea] = [before, after].map((x) => keyedFile(x['memory.events']));
        between(u.memoryLimitHits, eb.get('max')!, ea.get('max')!, 'memory.events max');
        between(u.oomKills, eb.get('oom_kill')!, ea.get('oom_kill')!, 'memory.events oom_kill');
      } else {
        between(u.cpuUsageNs, Number(before['cpuacct.usage']), Number(after['cpuacct.usage']), 'cpuacct.usage');
        between(u.cpuPeriods, b.get('nr_periods')!, a.get('nr_periods')!, 'cpu.stat nr_periods');
        between(u.cpuThrottledPeriods, b.get('nr_throttled')!, a.get('nr_throttled')!, 'cpu.stat nr_throttled');
        between(u.cpuThrottledNs, b.get('throttled_time')!, a.get('throttled_time')!, 'cpu.stat throttled_time');
        between(u.memoryLimitHits, Number(before['memory.failcnt']), Number(after['memory.failcnt']), 'memory.failcnt');
        const [ob, oa] = [before, after].map((x) => keyedFile(x['memory.oom_control']));
        between(u.oomKills, ob.get('oom_kill') ?? 0, oa.get('oom_kill') ?? 0, 'memory.oom_control oom_kill');
      }
      assert.ok(u.cpuThrottledPeriods! > 0, 'the busy loop at half a CPU was throttled');
      assert.equal(u.oomKills, 0);
      const top = (await t.docker(['top', LIMITED, '-o', 'pid']))
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map(Number)
        .sort((x, y) => x - y);
      assert.deepEqual(read.pids, top);
      assert.ok(read.pids.includes(pid));
      assert.equal(u.pidsCurrent, top.length);
      assert.ok((u.memoryBytes ?? 0) > 0 && (u.memoryBytes ?? 0) <= 67108864);
      assert.ok(u.workingSetBytes !== null && u.workingSetBytes <= (u.memoryBytes ?? 0));
      assert.ok((u.cpuUsageNs ?? 0) > 0);
    });

    it('includes the pids of a child cgroup the container created', async () => {
      const { info, read } = await readOf(LIMITED);
      const c = cg(read);
      const procsDir = c.dirs.pids ?? c.dirs.memory ?? c.dirs.unified;
      const child = read.pids.find((p) => p !== info.State.Pid);
      assert.ok(child, 'the container runs a second process');
      const sub = `${procsDir}/${SUB}`;
      await t.sh(`mkdir '${sub}'`);
      subDirs.push(sub);
      await t.sh(`echo ${child} > '${sub}/cgroup.procs'`);
      const own = (await t.sh(`cat '${procsDir}/cgroup.procs'`)).split('\n').filter(Boolean).map(Number);
      assert.ok(!own.includes(child), 'the child left the top cgroup.procs');
      assert.deepEqual((await t.sh(`cat '${sub}/cgroup.procs'`)).trim(), String(child));
      const again = await readContainerCgroup(files, (await readOf(LIMITED)).procCgroup, mounts);
      assert.deepEqual(again.pids, read.pids);
    });

    it('reads an unlimited container as nulls, and pids.max as the kernel enforces it', async () => {
      const { info, read } = await readOf(FREE);
      assert.deepEqual(read.errors, []);
      const l = cg(read).limits;
      assert.equal(l.memoryBytes, null);
      assert.equal(l.memorySwapBytes, null);
      assert.equal(l.memoryReservationBytes, null);
      assert.equal(l.cpus, null);
      assert.equal(l.cpuQuotaUs, null);
      assert.equal(l.cpusetCpus, null);
      assert.deepEqual(l.blkioThrottles, []);
      // Docker sets no pids limit unless asked; Podman sets containers.conf's pids_limit (2048 by default).
      if (t.runtime === 'docker') assert.ok(!info.HostConfig.PidsLimit, 'docker sets no pids limit');
      else assert.equal(l.pidsMax, info.HostConfig.PidsLimit || null, "Podman's default pids limit, as inspect reports it");
      // Under the systemd driver the scope gets systemd's TasksMax all the same (4676-ish on the test VM):
      // the kernel enforces it, so the engine reports it; under cgroupfs pids.max is `max`, no limit.
      const f = await cgroupFilesOn(t, info.State.Pid, [['pids', 'pids.max']]);
      assert.equal(l.pidsMax, limit(f['pids.max']));
      if (driver === 'systemd') assert.ok(l.pidsMax !== null && l.pidsMax > 1000, `TasksMax ${l.pidsMax}`);
      else assert.equal(l.pidsMax, null);
    });

    it('reports a container removed after its /proc/PID/cgroup was read as exited', async () => {
      const { procCgroup } = await readOf(FREE);
      await t.docker(['rm', '-f', FREE]);
      const r = await readContainerCgroup(files, procCgroup, mounts);
      assert.equal(r.cgroup, null);
      assert.match(r.errors[0].reason, /container exited/);
    });
  });
}
