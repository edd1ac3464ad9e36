// Reads the real cgroup of containers this test starts and checks it against `docker inspect`.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { CgroupMounts, findCgroupMounts } from '../../src/core/cgroups/parse';
import { readContainerCgroup } from '../../src/core/cgroups/read';
import { parseMountinfo } from '../../src/core/procfs/mountinfo';
import { DirectHostFiles } from '../../src/core/util/hostFiles';
import { CgroupInfo } from '../../src/shared/model';
import { ensureBaseImage, requireDocker } from '../support/docker';

const SUFFIX = `${process.pid}-${Date.now().toString(36)}`;
const LIMITED = `cgtest-limited-${SUFFIX}`;
const FREE = `cgtest-free-${SUFFIX}`;
const SUB = 'xray-sub';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

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

function inspect(name: string): Inspect {
  return (JSON.parse(docker('inspect', name)) as Inspect[])[0];
}

/** A disk Docker can throttle, as /dev/NAME with its major:minor, if this machine has one. */
function findDisk(): { path: string; device: string } | null {
  for (const line of readFileSync('/proc/partitions', 'utf8').split('\n').slice(2)) {
    const [major, minor, , name] = line.trim().split(/\s+/);
    if (name && !/^(loop|ram|zram|sr)/.test(name) && existsSync(`/dev/${name}`))
      return { path: `/dev/${name}`, device: `${major}:${minor}` };
  }
  return null;
}

function cg(r: { cgroup: CgroupInfo | null }): CgroupInfo {
  assert.ok(r.cgroup, 'expected a cgroup');
  return r.cgroup;
}

describe('cgroups against a real container (integration)', function () {
  this.timeout(60000);
  const files = new DirectHostFiles('/');
  let mounts: CgroupMounts;
  let cpus = 1;
  const disk = findDisk();
  const subDirs: string[] = [];

  let IMAGE = '';

  before(async () => {
    requireDocker();
    IMAGE = await ensureBaseImage();
    mounts = findCgroupMounts(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).entries);
    cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
    const args = ['run', '-d', '--rm', '--network', 'none', '--name', LIMITED, '--memory', '64m', '--memory-swap', '128m'];
    args.push('--memory-reservation', '32m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '50');
    if (cpus > 1) args.push('--cpuset-cpus', `${cpus - 1}`);
    if (disk) args.push('--device-read-bps', `${disk.path}:1mb`);
    // busybox sh execs its last command: PID 1 is a sleep, with one more sleep as its child.
    docker(...args, IMAGE, 'sh', '-c', 'sleep 600 & sleep 600');
    docker('run', '-d', '--rm', '--network', 'none', '--name', FREE, IMAGE, 'sleep', '600');
  });

  after(async () => {
    for (const name of [LIMITED, FREE]) {
      try {
        docker('rm', '-f', name);
      } catch {
        // already gone
      }
    }
    // runc removes child cgroups with the container; this only sweeps up after an aborted run.
    for (const d of subDirs) await fsp.rmdir(d).catch(() => undefined);
  });

  async function readOf(name: string) {
    const info = inspect(name);
    const procCgroup = await fsp.readFile(`/proc/${info.State.Pid}/cgroup`, 'utf8');
    return { info, procCgroup, read: await readContainerCgroup(files, procCgroup, mounts) };
  }

  it('reads the limits docker inspect reports', async () => {
    const { info, read } = await readOf(LIMITED);
    assert.deepEqual(read.errors, []);
    const c = cg(read);
    const hc = info.HostConfig;
    assert.equal(c.version, mounts.v1.has('memory') ? 1 : 2);
    assert.equal(c.driver, docker('info', '--format', '{{.CgroupDriver}}'));
    assert.ok(c.path.includes(info.Id), `${c.path} names the container`);
    assert.equal(c.limits.memoryBytes, hc.Memory);
    assert.equal(c.limits.memoryBytes, 67108864);
    // v1 counts memory+swap together, as Docker's MemorySwap does; v2 counts swap alone.
    assert.equal(c.limits.memorySwapBytes, c.version === 1 ? hc.MemorySwap : hc.MemorySwap - hc.Memory);
    assert.equal(c.limits.memoryReservationBytes, hc.MemoryReservation);
    assert.equal(c.limits.cpus, hc.NanoCpus / 1e9);
    assert.equal(c.limits.cpus, 0.5);
    if (c.version === 1) assert.equal(c.limits.cpuShares, hc.CpuShares);
    assert.equal(c.limits.pidsMax, hc.PidsLimit);
    assert.equal(c.limits.pidsMax, 50);
    assert.equal(c.limits.cpusetCpus, hc.CpusetCpus === '' ? null : hc.CpusetCpus);
    assert.equal(c.limits.hostCpus, cpus === 1 ? '0' : `0-${cpus - 1}`);
    if (disk) {
      assert.deepEqual(c.limits.blkioThrottles, [
        { device: disk.device, readBps: hc.BlkioDeviceReadBps?.[0]?.Rate ?? null, writeBps: null, readIops: null, writeIops: null },
      ]);
    }
  });

  it('reads live usage consistent with the processes', async () => {
    const { info, read } = await readOf(LIMITED);
    const u = cg(read).usage;
    const top = docker('top', LIMITED, '-o', 'pid')
      .split('\n')
      .slice(1)
      .map(Number)
      .sort((a, b) => a - b);
    assert.deepEqual(read.pids, top);
    assert.ok(read.pids.includes(info.State.Pid));
    assert.equal(u.pidsCurrent, top.length);
    assert.ok((u.memoryBytes ?? 0) > 0 && (u.memoryBytes ?? 0) <= 67108864);
    assert.ok(u.workingSetBytes !== null && u.workingSetBytes <= (u.memoryBytes ?? 0));
    assert.ok((u.cpuUsageNs ?? 0) > 0);
    assert.notEqual(u.cpuPeriods, null);
    assert.equal(u.oomKills, 0);
  });

  it('includes the pids of a child cgroup the container created', async () => {
    const { info, read } = await readOf(LIMITED);
    const c = cg(read);
    const procsDir = c.dirs.pids ?? c.dirs.memory ?? c.dirs.unified;
    const child = read.pids.find((p) => p !== info.State.Pid);
    assert.ok(child, 'the container runs a second process');
    const sub = `${procsDir}/${SUB}`;
    await fsp.mkdir(sub);
    subDirs.push(sub);
    await fsp.writeFile(`${sub}/cgroup.procs`, `${child}\n`);
    const own = (await fsp.readFile(`${procsDir}/cgroup.procs`, 'utf8')).split('\n').filter(Boolean).map(Number);
    assert.ok(!own.includes(child), 'the child left the top cgroup.procs');
    const again = await readContainerCgroup(files, (await readOf(LIMITED)).procCgroup, mounts);
    assert.deepEqual(again.pids, read.pids);
  });

  it('reads an unlimited container as nulls', async () => {
    const { read } = await readOf(FREE);
    assert.deepEqual(read.errors, []);
    const l = cg(read).limits;
    assert.equal(l.memoryBytes, null);
    assert.equal(l.memorySwapBytes, null);
    assert.equal(l.memoryReservationBytes, null);
    assert.equal(l.cpus, null);
    assert.equal(l.cpuQuotaUs, null);
    assert.equal(l.pidsMax, null);
    assert.equal(l.cpusetCpus, null);
    assert.deepEqual(l.blkioThrottles, []);
  });

  it('reports a container removed after its /proc/PID/cgroup was read as exited', async () => {
    const { procCgroup } = await readOf(FREE);
    docker('rm', '-f', FREE);
    const r = await readContainerCgroup(files, procCgroup, mounts);
    assert.equal(r.cgroup, null);
    assert.match(r.errors[0].reason, /container exited/);
  });
});
