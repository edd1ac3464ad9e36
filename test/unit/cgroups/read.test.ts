import * as assert from 'node:assert/strict';
import { readContainerCgroup } from '../../../src/core/cgroups/read';
import { CgroupMounts, findCgroupMounts } from '../../../src/core/cgroups/parse';
import { DirectHostFiles, HostFileError, HostFiles } from '../../../src/core/util/hostFiles';
import { CgroupInfo, CgroupLimits, CgroupUsage } from '../../../src/shared/model';
import { Fixture, OverrideFiles, fixtureId, gatherBatch, loadFixture } from './fixtures';

async function read(f: Fixture, files: HostFiles = f.files, mounts: CgroupMounts = f.mounts, hostCpus?: string) {
  return readContainerCgroup(files, f.procCgroup, mounts, hostCpus === undefined ? {} : { hostCpus });
}

function cg(r: { cgroup: CgroupInfo | null }): CgroupInfo {
  assert.ok(r.cgroup, 'expected a cgroup');
  return r.cgroup;
}

describe('cgroups/read', () => {
  describe('v1-cgroupfs (copied from this machine: separate cpu/cpuacct mounts, hybrid empty v2)', () => {
    const f = loadFixture('v1-cgroupfs');
    const id = fixtureId(f);

    it('reads every limit', async () => {
      const r = await read(f);
      assert.deepEqual(r.errors, []);
      const expected: CgroupLimits = {
        memoryBytes: 67108864,
        memorySwapBytes: 134217728,
        memorySwapMeaning: 'memory+swap',
        memoryReservationBytes: null, // 9223372036854771712: unlimited
        cpus: 0.5,
        cpuQuotaUs: 50000,
        cpuPeriodUs: 100000,
        cpuShares: 512,
        cpuWeight: null,
        cpusetCpus: null, // 0-1, the same as the root's
        cpusetMems: null,
        hostCpus: '0-1',
        pidsMax: null, // max
        blkioWeight: null, // only blkio.bfq.weight 100, the default
        blkioThrottles: [{ device: '254:0', readBps: 1048576, writeBps: null, readIops: null, writeIops: 100 }],
      };
      assert.deepEqual(cg(r).limits, expected);
    });

    it('reads every usage figure; working set = usage − total_inactive_file', async () => {
      const expected: CgroupUsage = {
        memoryBytes: 9547776,
        memoryPeakBytes: 10506240,
        workingSetBytes: 9547776 - 8462336,
        cacheBytes: 8687616,
        rssBytes: 98304,
        swapBytes: 0,
        memoryLimitHits: 0,
        oomKills: 0,
        oomEvents: null,
        memoryHighHits: null,
        underOom: false,
        pressure: null,
        cpuUsageNs: 237832983,
        cpuUserNs: 223981993,
        cpuSystemNs: 16000000,
        cpuPeriods: 10,
        cpuThrottledPeriods: 4,
        cpuThrottledNs: 169802367,
        pidsCurrent: 2,
        ioReadBytes: 323584,
        ioWriteBytes: 0,
      };
      assert.deepEqual(cg(await read(f)).usage, expected);
    });

    it('is v1 although the hybrid unified tree holds the same path, with cgroupfs naming', async () => {
      const c = cg(await read(f));
      assert.equal(c.version, 1);
      assert.equal(c.driver, 'cgroupfs');
      assert.equal(c.rootless, false);
      assert.equal(c.path, `/docker/${id}`);
      assert.deepEqual(c.dirs, {
        memory: `/sys/fs/cgroup/memory/docker/${id}`,
        cpu: `/sys/fs/cgroup/cpu/docker/${id}`,
        cpuacct: `/sys/fs/cgroup/cpuacct/docker/${id}`,
        cpuset: `/sys/fs/cgroup/cpuset/docker/${id}`,
        pids: `/sys/fs/cgroup/pids/docker/${id}`,
        blkio: `/sys/fs/cgroup/blkio/docker/${id}`,
      });
    });

    it('includes the pids of descendant cgroups (a process moved into sub/)', async () => {
      assert.deepEqual((await read(f)).pids, [10861, 10893]);
    });

    it('uses the caller-given host CPUs for hostCpus', async () => {
      assert.equal(cg(await read(f, f.files, f.mounts, '0-1')).limits.hostCpus, '0-1');
    });

    it('maps paths through a mount whose root is the container cgroup itself', async () => {
      const mounts: CgroupMounts = {
        v1: new Map([...f.mounts.v1].map(([c, m]) => [c, { mountPoint: `${m.mountPoint}/docker/${id}`, root: `/docker/${id}` }])),
        v2: null,
      };
      const r = await read(f, f.files, mounts);
      assert.equal(cg(r).dirs.memory, `/sys/fs/cgroup/memory/docker/${id}`);
      assert.equal(cg(r).limits.memoryBytes, 67108864);
      assert.deepEqual(r.pids, [10861, 10893]);
    });

    it('turns an unreadable file into a FieldError on that field and keeps the rest', async () => {
      const files = new OverrideFiles(f.dir, new Map([[`/sys/fs/cgroup/memory/docker/${id}/memory.limit_in_bytes`, { code: 'EACCES' }]]));
      const r = await read(f, files);
      assert.deepEqual(
        r.errors.map((e) => e.field),
        ['cgroup.limits.memoryBytes'],
      );
      assert.match(r.errors[0].reason, /permission denied reading .*memory\.limit_in_bytes/);
      assert.equal(cg(r).limits.memoryBytes, null);
      assert.equal(cg(r).limits.memorySwapBytes, 134217728);
      assert.equal(cg(r).limits.cpus, 0.5);
    });

    it('turns a malformed v1 value into a FieldError (quota, stat, throttle)', async () => {
      const d = (c: string) => `/sys/fs/cgroup/${c}/docker/${id}`;
      const files = new OverrideFiles(
        f.dir,
        new Map([
          [`${d('cpu')}/cpu.cfs_quota_us`, 'banana\n'],
          [`${d('memory')}/memory.stat`, 'total_inactive_file many\n'],
          [`${d('blkio')}/blkio.throttle.read_bps_device`, '254:0\n'],
        ]),
      );
      const r = await read(f, files);
      const fields = r.errors.map((e) => e.field).sort();
      assert.deepEqual(fields, [
        'cgroup.limits.blkioThrottles',
        'cgroup.limits.cpuQuotaUs',
        'cgroup.usage.cacheBytes',
        'cgroup.usage.rssBytes',
        'cgroup.usage.swapBytes',
        'cgroup.usage.workingSetBytes',
      ]);
      assert.match(r.errors.find((e) => e.field === 'cgroup.limits.cpuQuotaUs')?.reason ?? '', /cpu\.cfs_quota_us.*banana/);
      const c = cg(r);
      assert.equal(c.limits.cpus, null);
      assert.equal(c.limits.cpuPeriodUs, 100000);
      assert.equal(c.usage.memoryBytes, 9547776);
      assert.equal(c.usage.workingSetBytes, null);
      // The write-iops throttle on the same device still arrives.
      assert.deepEqual(c.limits.blkioThrottles, [{ device: '254:0', readBps: null, writeBps: null, readIops: null, writeIops: 100 }]);
    });

    it('falls back to cpuacct.stat ticks when usage_user/_sys are absent', async () => {
      const d = `/sys/fs/cgroup/cpuacct/docker/${id}`;
      const files = new OverrideFiles(
        f.dir,
        new Map([
          [`${d}/cpuacct.usage_user`, { code: 'ENOENT' }],
          [`${d}/cpuacct.usage_sys`, { code: 'ENOENT' }],
        ]),
      );
      const c = cg(await read(f, files));
      assert.equal(c.usage.cpuUserNs, 22 * 1e7);
      assert.equal(c.usage.cpuSystemNs, 1 * 1e7);
    });

    it('works from texts gathered in one batch alone (as a helper hands them over)', async () => {
      const { texts, listings } = gatherBatch(f.dir);
      const miss = (file: string): never => {
        throw new HostFileError('ENOENT', file, `ENOENT: ${file}`);
      };
      const batch: HostFiles = {
        kind: 'helper',
        readText: async (file) => texts.get(file) ?? miss(file),
        readBytes: async (file) => Buffer.from(texts.get(file) ?? miss(file)),
        readLink: async (file) => miss(file),
        listDir: async (dir) => listings.get(dir) ?? miss(dir),
        readConfined: async (_root, file) => miss(file),
      };
      const r = await read(f, batch);
      assert.deepEqual(r.errors, []);
      assert.equal(cg(r).limits.memoryBytes, 67108864);
      assert.deepEqual(r.pids, [10861, 10893]);
    });
  });

  describe('v1-systemd (older kernel: co-mounted cpu,cpuacct, no swap accounting, CFQ weight)', () => {
    const f = loadFixture('v1-systemd');
    const id = fixtureId(f);

    it('reads limits: unlimited memory, reservation, no quota, a cpuset, a blkio weight', async () => {
      const r = await read(f);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(cg(r).limits, {
        memoryBytes: null,
        memorySwapBytes: null, // no memsw files without swap accounting: null, no error
        memorySwapMeaning: 'memory+swap',
        memoryReservationBytes: 268435456,
        cpus: null,
        cpuQuotaUs: null,
        cpuPeriodUs: 100000,
        cpuShares: 1024,
        cpuWeight: null,
        cpusetCpus: '2-3',
        cpusetMems: null,
        hostCpus: '0-3',
        pidsMax: 100,
        blkioWeight: 300,
        blkioThrottles: [],
      } satisfies CgroupLimits);
    });

    it('reads usage: cpuacct.stat ticks as ns, no oom_kill line → null, throttle io bytes', async () => {
      assert.deepEqual(cg(await read(f)).usage, {
        memoryBytes: 52428800,
        memoryPeakBytes: 60817408,
        workingSetBytes: 52428800 - 20971520,
        cacheBytes: 31457280,
        rssBytes: 18874368,
        swapBytes: null,
        memoryLimitHits: 0,
        oomKills: null,
        oomEvents: null,
        memoryHighHits: null,
        underOom: false,
        pressure: null,
        cpuUsageNs: 5234567890,
        cpuUserNs: 401 * 1e7,
        cpuSystemNs: 98 * 1e7,
        cpuPeriods: 0,
        cpuThrottledPeriods: 0,
        cpuThrottledNs: 0,
        pidsCurrent: 5,
        ioReadBytes: 1052672,
        ioWriteBytes: 4096,
      } satisfies CgroupUsage);
    });

    it('detects the systemd driver and reads co-mounted controllers from one directory', async () => {
      const r = await read(f);
      const c = cg(r);
      assert.equal(c.version, 1);
      assert.equal(c.driver, 'systemd');
      assert.equal(c.path, `/system.slice/docker-${id}.scope`);
      assert.equal(c.dirs.cpu, `/sys/fs/cgroup/cpu,cpuacct/system.slice/docker-${id}.scope`);
      assert.equal(c.dirs.cpuacct, c.dirs.cpu);
      assert.deepEqual(r.pids, [3101, 3150, 3151]);
    });
  });

  describe('v2-cgroupfs (pure v2 host, Docker cgroupfs driver)', () => {
    const f = loadFixture('v2-cgroupfs');
    const id = fixtureId(f);

    it('reads every limit', async () => {
      const r = await read(f);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(cg(r).limits, {
        memoryBytes: 67108864,
        memorySwapBytes: 67108864,
        memorySwapMeaning: 'swap',
        memoryReservationBytes: null, // memory.low 0
        cpus: 0.5,
        cpuQuotaUs: 50000,
        cpuPeriodUs: 100000,
        cpuShares: null,
        cpuWeight: 100,
        cpusetCpus: '0',
        cpusetMems: null, // cpuset.mems empty
        hostCpus: '0-3',
        pidsMax: 50,
        blkioWeight: null,
        blkioThrottles: [{ device: '8:0', readBps: 1048576, writeBps: null, readIops: null, writeIops: 100 }],
      } satisfies CgroupLimits);
    });

    it('reads every usage figure (µs → ns, io summed over devices)', async () => {
      assert.deepEqual(cg(await read(f)).usage, {
        memoryBytes: 10297344,
        memoryPeakBytes: 13045760,
        workingSetBytes: 10297344 - 6144000,
        cacheBytes: 8192000,
        rssBytes: 1232896,
        swapBytes: 0,
        memoryLimitHits: 12,
        oomKills: 1,
        oomEvents: 1,
        memoryHighHits: 0,
        underOom: null,
        pressure: {
          cpu: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 912345 }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 853210 } },
          memory: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 } },
          io: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 } },
        },
        cpuUsageNs: 1523456000,
        cpuUserNs: 1023456000,
        cpuSystemNs: 500000000,
        cpuPeriods: 120,
        cpuThrottledPeriods: 17,
        cpuThrottledNs: 853211000,
        pidsCurrent: 3,
        ioReadBytes: 4562944 + 1048576,
        ioWriteBytes: 1228800,
      } satisfies CgroupUsage);
    });

    it('names version, driver, path and directory; includes the child cgroup pid', async () => {
      const r = await read(f);
      const c = cg(r);
      assert.equal(c.version, 2);
      assert.equal(c.driver, 'cgroupfs');
      assert.equal(c.rootless, false);
      assert.equal(c.path, `/docker/${id}`);
      assert.deepEqual(c.dirs, { unified: `/sys/fs/cgroup/docker/${id}` });
      assert.deepEqual(r.pids, [4242, 4301, 4350]);
    });

    it('reports an exited container (its cgroup directory is gone) as cgroup null', async () => {
      const r = await readContainerCgroup(f.files, `0::/docker/${'0'.repeat(64)}\n`, f.mounts);
      assert.equal(r.cgroup, null);
      assert.deepEqual(r.pids, []);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].field, 'cgroup');
      assert.match(r.errors[0].reason, /container exited/);
    });

    it('reports a container that exits mid-read as cgroup null, not as a cgroup of nulls', async () => {
      const dir = `/sys/fs/cgroup/docker/${id}`;
      // The first cgroup.procs read succeeds, then the directory vanishes.
      let procsReads = 0;
      const gone = (): never => {
        throw new HostFileError('ENOENT', dir, 'ENOENT');
      };
      class Vanishing extends DirectHostFiles {
        override async readText(file: string): Promise<string> {
          if (file === `${dir}/cgroup.procs` && procsReads++ === 0) return super.readText(file);
          return file.startsWith(`${dir}/`) ? gone() : super.readText(file);
        }
        override async listDir(d: string): Promise<string[]> {
          return d.startsWith(dir) ? gone() : super.listDir(d);
        }
      }
      const files = new Vanishing(f.dir);
      const r = await read(f, files);
      assert.equal(r.cgroup, null);
      assert.match(r.errors[0].reason, /container exited/);
    });

    it('reports a cgroup path outside the mount root instead of reading the wrong directory', async () => {
      const mounts: CgroupMounts = { v1: new Map(), v2: { mountPoint: '/sys/fs/cgroup', root: '/other' } };
      const r = await read(f, f.files, mounts);
      assert.equal(r.cgroup, null);
      assert.match(r.errors[0].reason, /outside/);
    });

    it('rejects a garbage /proc/PID/cgroup without throwing', async () => {
      const r = await readContainerCgroup(f.files, 'banana', f.mounts);
      assert.equal(r.cgroup, null);
      assert.equal(r.errors[0].field, 'cgroup');
    });

    it('says so when no cgroup filesystem is mounted', async () => {
      const r = await readContainerCgroup(f.files, f.procCgroup, findCgroupMounts([]));
      assert.equal(r.cgroup, null);
      assert.match(r.errors[0].reason, /no cgroup/);
    });
  });

  describe('v2-systemd (everything unlimited, memory.peak, io.bfq.weight)', () => {
    const f = loadFixture('v2-systemd');
    const id = fixtureId(f);

    it('reads unlimited limits as null', async () => {
      const r = await read(f);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(cg(r).limits, {
        memoryBytes: null,
        memorySwapBytes: null,
        memorySwapMeaning: 'swap',
        memoryReservationBytes: null,
        cpus: null,
        cpuQuotaUs: null,
        cpuPeriodUs: 100000,
        cpuShares: null,
        cpuWeight: 100,
        cpusetCpus: null,
        cpusetMems: null,
        hostCpus: '0-7',
        pidsMax: null,
        blkioWeight: 300,
        blkioThrottles: [],
      } satisfies CgroupLimits);
    });

    it('reads usage with memory.peak and an empty io.stat (no I/O yet: 0)', async () => {
      const u = cg(await read(f)).usage;
      assert.equal(u.memoryBytes, 5345280);
      assert.equal(u.memoryPeakBytes, 7340032);
      assert.equal(u.workingSetBytes, 5345280 - 1212416);
      assert.equal(u.cacheBytes, 3047424);
      assert.equal(u.rssBytes, 1888256);
      assert.equal(u.cpuUsageNs, 88234000);
      assert.equal(u.cpuThrottledPeriods, 0);
      assert.equal(u.oomKills, 0);
      assert.equal(u.pidsCurrent, 1);
      assert.equal(u.ioReadBytes, 0);
      assert.equal(u.ioWriteBytes, 0);
    });

    it('detects the systemd driver', async () => {
      const r = await read(f);
      assert.equal(cg(r).driver, 'systemd');
      assert.equal(cg(r).path, `/system.slice/docker-${id}.scope`);
      assert.deepEqual(cg(r).dirs, { unified: `/sys/fs/cgroup/system.slice/docker-${id}.scope` });
      assert.deepEqual(r.pids, [7781]);
    });

    it('reports a parent-imposed cpuset from cpuset.cpus.effective', async () => {
      const dir = `/sys/fs/cgroup/system.slice/docker-${id}.scope`;
      const files = new OverrideFiles(f.dir, new Map([[`${dir}/cpuset.cpus.effective`, '2-3\n']]));
      assert.equal(cg(await read(f, files)).limits.cpusetCpus, '2-3');
    });
  });

  describe('v2-rootless (user@1000.service; cpuset and io not delegated)', () => {
    const f = loadFixture('v2-rootless');
    const id = fixtureId(f);

    it('detects rootless and reads what is delegated; absent controllers are null without errors', async () => {
      const r = await read(f);
      assert.deepEqual(r.errors, []);
      const c = cg(r);
      assert.equal(c.rootless, true);
      assert.equal(c.driver, 'systemd');
      assert.equal(c.path, `/user.slice/user-1000.slice/user@1000.service/user.slice/docker-${id}.scope`);
      assert.equal(c.limits.memoryBytes, 134217728);
      assert.equal(c.limits.cpus, 1.5);
      assert.equal(c.limits.pidsMax, null);
      assert.equal(c.limits.cpusetCpus, null);
      assert.equal(c.limits.cpusetMems, null);
      assert.equal(c.limits.hostCpus, '0-7');
      assert.equal(c.limits.blkioWeight, null);
      assert.deepEqual(c.limits.blkioThrottles, []);
      assert.equal(c.usage.ioReadBytes, null);
      assert.equal(c.usage.ioWriteBytes, null);
      assert.equal(c.usage.memoryPeakBytes, null); // kernel before 5.19
      assert.equal(c.usage.memoryBytes, 3117056);
      assert.equal(c.usage.workingSetBytes, 3117056 - 1081344);
      assert.equal(c.usage.pidsCurrent, 2);
      assert.deepEqual(r.pids, [52011, 52040]);
    });
  });

  describe('v2-malformed (garbage in files)', () => {
    const f = loadFixture('v2-malformed');

    it('turns each malformed value into a FieldError and still delivers the rest', async () => {
      const r = await read(f);
      const byField = new Map(r.errors.map((e) => [e.field, e.reason]));
      assert.deepEqual([...byField.keys()].sort(), [
        'cgroup.limits.cpuPeriodUs',
        'cgroup.limits.cpuQuotaUs',
        'cgroup.limits.cpuWeight',
        'cgroup.limits.cpus',
        'cgroup.limits.cpusetCpus',
        'cgroup.limits.memoryBytes',
        'cgroup.usage.cacheBytes',
        'cgroup.usage.ioReadBytes',
        'cgroup.usage.ioWriteBytes',
        'cgroup.usage.rssBytes',
        'cgroup.usage.workingSetBytes',
      ]);
      assert.match(byField.get('cgroup.limits.memoryBytes') ?? '', /memory\.max.*banana/);
      assert.match(byField.get('cgroup.limits.cpuQuotaUs') ?? '', /cpu\.max.*50000 100000 7/);
      const c = cg(r);
      assert.equal(c.limits.memoryBytes, null);
      assert.equal(c.limits.cpus, null);
      assert.equal(c.limits.pidsMax, 50);
      assert.equal(c.usage.memoryBytes, 1048576);
      assert.equal(c.usage.memoryPeakBytes, 2097152);
      assert.equal(c.usage.cpuUsageNs, 5000000);
      assert.equal(c.usage.workingSetBytes, null);
      assert.deepEqual(r.pids, [99]);
    });
  });
});
