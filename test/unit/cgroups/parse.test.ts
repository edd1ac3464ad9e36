import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import {
  cgroupDir,
  decideCgroupVersion,
  detectCgroupDriver,
  findCgroupMounts,
  formatCpuList,
  isRootlessPath,
  parseBlkioDeviceValues,
  parseBlkioRwstat,
  parseBlkioWeight,
  parseCfsQuota,
  parseCpuList,
  parseCpuMax,
  parseCpuShares,
  parseCpuWeight,
  parseFlatKeyed,
  parseIoWeight,
  parseLimit,
  parseNestedKeyed,
  parsePressure,
  parseProcCgroup,
  parseProcs,
  parseUint,
  sameCpuList,
  sumBlkioOp,
  sumNestedKey,
  v1MountControllers,
} from '../../../src/core/cgroups/parse';
import { parseMountinfo } from '../../../src/core/procfs/mountinfo';
import { Parsed } from '../../../src/core/util/result';

const ID = '92d5cfe8331745c4996d41012a11604d58619ea4b3fdf8df554321cbaeeb011f';

function value<T>(r: Parsed<T>): T {
  if (!r.ok) assert.fail(`expected a value, got error: ${r.error}`);
  return r.value;
}

function error<T>(r: Parsed<T>): string {
  if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('cgroups/parse', () => {
  describe('parseProcCgroup', () => {
    it('reads v1 lines, named hierarchies, co-mounted controllers and the v2 line', () => {
      const text = [`9:name=systemd:/docker/${ID}`, `4:memory:/docker/${ID}`, `2:cpu,cpuacct:/docker/${ID}`, `0::/docker/${ID}`, ''].join(
        '\n',
      );
      assert.deepEqual(value(parseProcCgroup(text)), [
        { hierarchyId: 9, controllers: ['name=systemd'], path: `/docker/${ID}` },
        { hierarchyId: 4, controllers: ['memory'], path: `/docker/${ID}` },
        { hierarchyId: 2, controllers: ['cpu', 'cpuacct'], path: `/docker/${ID}` },
        { hierarchyId: 0, controllers: [], path: `/docker/${ID}` },
      ]);
    });

    it('reads a pure v2 file and keeps colons inside the path', () => {
      assert.deepEqual(value(parseProcCgroup('0::/system.slice/docker-abc.scope\n')), [
        { hierarchyId: 0, controllers: [], path: '/system.slice/docker-abc.scope' },
      ]);
      assert.equal(value(parseProcCgroup('0::/a:b/c\n'))[0].path, '/a:b/c');
    });

    it('rejects garbage, empty input, relative paths and empty controller names', () => {
      assert.match(error(parseProcCgroup('')), /empty/);
      assert.match(error(parseProcCgroup('banana\n')), /malformed/);
      assert.match(error(parseProcCgroup('x:memory:/a')), /malformed/);
      assert.match(error(parseProcCgroup('4:memory:docker/x')), /not absolute/);
      assert.match(error(parseProcCgroup('2:cpu,,cpuacct:/')), /controller/);
    });
  });

  describe('parseLimit', () => {
    it('reads byte limits exactly', () => {
      assert.equal(value(parseLimit('67108864\n')), 67108864);
      assert.equal(value(parseLimit('0')), 0);
    });

    it('treats max, -1 and v1 page-counter maxima (≥ 2^62) as unlimited', () => {
      assert.equal(value(parseLimit('max\n')), null);
      assert.equal(value(parseLimit('-1\n')), null);
      assert.equal(value(parseLimit('9223372036854771712\n')), null); // 4 KiB pages
      assert.equal(value(parseLimit('9223372036854710272\n')), null); // 64 KiB pages
      assert.equal(value(parseLimit('4611686018427387904')), null); // exactly 2^62
      assert.equal(value(parseLimit('99999999999999999999999999')), null);
    });

    it('keeps values just under 2^62 (compared as BigInt, not as a rounded double)', () => {
      assert.equal(value(parseLimit('4611686018427387903')), 2 ** 62); // nearest double, but a limit
    });

    it('rejects words, negative numbers other than -1 and empty text', () => {
      assert.match(error(parseLimit('banana')), /banana/);
      assert.ok(!parseLimit('-5').ok);
      assert.ok(!parseLimit('').ok);
      assert.ok(!parseLimit('1.5').ok);
    });
  });

  describe('single values', () => {
    it('parseUint', () => {
      assert.equal(value(parseUint('323584\n')), 323584);
      assert.ok(!parseUint('-1').ok);
      assert.ok(!parseUint('x').ok);
    });

    it('parseCfsQuota: -1 is no quota', () => {
      assert.equal(value(parseCfsQuota('50000\n')), 50000);
      assert.equal(value(parseCfsQuota('-1\n')), null);
      assert.ok(!parseCfsQuota('0').ok);
      assert.ok(!parseCfsQuota('max').ok);
    });

    it('parseCpuMax: quota and period, max meaning none', () => {
      assert.deepEqual(value(parseCpuMax('max 100000\n')), { quotaUs: null, periodUs: 100000 });
      assert.deepEqual(value(parseCpuMax('50000 100000\n')), { quotaUs: 50000, periodUs: 100000 });
      assert.match(error(parseCpuMax('50000 100000 7\n')), /QUOTA PERIOD/);
      assert.ok(!parseCpuMax('50000').ok);
      assert.ok(!parseCpuMax('50000 max').ok);
      assert.ok(!parseCpuMax('50000 0').ok);
      assert.ok(!parseCpuMax('').ok);
    });

    it('parseCpuWeight, parseCpuShares and parseBlkioWeight check the kernel ranges', () => {
      assert.equal(value(parseCpuWeight('100\n')), 100);
      assert.ok(!parseCpuWeight('0').ok);
      assert.ok(!parseCpuWeight('10001').ok);
      assert.equal(value(parseCpuShares('512\n')), 512);
      assert.ok(!parseCpuShares('1').ok);
      assert.equal(value(parseBlkioWeight('300\n')), 300);
      assert.ok(!parseBlkioWeight('1001').ok);
    });

    it('parseProcs reads one PID a line', () => {
      assert.deepEqual(value(parseProcs('10861\n10893\n')), [10861, 10893]);
      assert.deepEqual(value(parseProcs('')), []);
      assert.ok(!parseProcs('12\nabc\n').ok);
      assert.ok(!parseProcs('0\n').ok);
    });
  });

  describe('keyed files', () => {
    it('parseFlatKeyed reads memory.stat, cpu.stat and events files', () => {
      const m = value(parseFlatKeyed('cache 0\nrss 49152\ntotal_inactive_file 8462336\n'));
      assert.equal(m.get('rss'), 49152);
      assert.equal(m.get('total_inactive_file'), 8462336);
      assert.equal(value(parseFlatKeyed('low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n')).get('max'), 12);
      assert.equal(value(parseFlatKeyed('max 0\n')).get('max'), 0);
      assert.equal(value(parseFlatKeyed('')).size, 0);
    });

    it('parseFlatKeyed does not mistake prototype names for keys', () => {
      const m = value(parseFlatKeyed('__proto__ 5\nconstructor 6\n'));
      assert.equal(m.get('__proto__'), 5);
      assert.equal(m.get('toString'), undefined);
    });

    it('parseFlatKeyed rejects non-numeric values and extra fields', () => {
      assert.match(error(parseFlatKeyed('anon 1\nfile lots\n')), /file lots/);
      assert.ok(!parseFlatKeyed('a 1 2\n').ok);
    });

    it('parseNestedKeyed reads io.stat and io.max, max as null', () => {
      const stat = value(
        parseNestedKeyed(
          '8:0 rbytes=4562944 wbytes=1228800 rios=143 wios=35 dbytes=0 dios=0\n8:16 rbytes=1048576 wbytes=0 rios=16 wios=0 dbytes=0 dios=0\n',
        ),
      );
      assert.equal(stat.get('8:0')?.get('rbytes'), 4562944);
      assert.equal(sumNestedKey(stat, 'rbytes'), 5611520);
      assert.equal(sumNestedKey(stat, 'wbytes'), 1228800);
      const max = value(parseNestedKeyed('8:0 rbps=1048576 wbps=max riops=max wiops=100\n'));
      assert.deepEqual(
        [...(max.get('8:0') ?? [])],
        [
          ['rbps', 1048576],
          ['wbps', null],
          ['riops', null],
          ['wiops', 100],
        ],
      );
      assert.equal(value(parseNestedKeyed('')).size, 0);
    });

    it('parseNestedKeyed accepts io.cost decimals and rejects bad pairs', () => {
      assert.equal(value(parseNestedKeyed('8:0 rbytes=1 cost.vrate=135.04\n')).get('8:0')?.get('cost.vrate'), 135.04);
      assert.ok(!parseNestedKeyed('8:0 rbytes=abc\n').ok);
      assert.ok(!parseNestedKeyed('8:0 rbytes\n').ok);
      assert.ok(!parseNestedKeyed('8:0 =5\n').ok);
    });

    it('parseIoWeight reads the default and per-device weights', () => {
      const w = value(parseIoWeight('default 100\n8:0 200\n'));
      assert.equal(w.defaultWeight, 100);
      assert.equal(w.devices.get('8:0'), 200);
      assert.ok(!parseIoWeight('8:0 200\n').ok);
      assert.ok(!parseIoWeight('default x\n').ok);
    });
  });

  describe('pressure stall information', () => {
    it('reads the some and full lines of a PSI file as the kernel writes them', () => {
      const r = parsePressure(
        'some avg10=12.50 avg60=3.04 avg300=0.71 total=91234567\nfull avg10=1.00 avg60=0.25 avg300=0.05 total=853210\n',
      );
      assert.ok(r.ok);
      assert.deepEqual(r.value, {
        some: { avg10: 12.5, avg60: 3.04, avg300: 0.71, totalUs: 91234567 },
        full: { avg10: 1, avg60: 0.25, avg300: 0.05, totalUs: 853210 },
      });
    });

    it('has no full line for cpu before Linux 5.13', () => {
      const r = parsePressure('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n');
      assert.ok(r.ok);
      assert.equal(r.value.full, null);
    });

    it('refuses anything else', () => {
      for (const bad of [
        '',
        'full avg10=0.00 avg60=0.00 avg300=0.00 total=0',
        'some avg10=x avg60=0.00 avg300=0.00 total=0',
        'some total=1',
      ]) {
        assert.equal(parsePressure(bad).ok, false, bad);
      }
    });
  });

  describe('v1 blkio', () => {
    it('parseBlkioRwstat reads per-device ops and the Total line', () => {
      const s = value(
        parseBlkioRwstat(
          '254:0 Read 323584\n254:0 Write 4096\n254:0 Sync 323584\n254:0 Async 4096\n254:0 Discard 0\n254:0 Total 327680\n8:0 Read 10\n8:0 Write 0\nTotal 327690\n',
        ),
      );
      assert.equal(s.total, 327690);
      assert.equal(s.devices.get('254:0')?.get('read'), 323584);
      assert.equal(sumBlkioOp(s, 'read'), 323594);
      assert.equal(sumBlkioOp(s, 'write'), 4096);
    });

    it('parseBlkioRwstat reads an idle cgroup (only "Total 0") and rejects garbage', () => {
      const s = value(parseBlkioRwstat('Total 0\n'));
      assert.equal(s.total, 0);
      assert.equal(s.devices.size, 0);
      assert.ok(!parseBlkioRwstat('254:0 Frobnicate 1\n').ok);
      assert.ok(!parseBlkioRwstat('Read 1\n').ok);
    });

    it('parseBlkioDeviceValues reads throttle files, empty when none is set', () => {
      assert.deepEqual([...value(parseBlkioDeviceValues('254:0 1048576\n'))], [['254:0', 1048576]]);
      assert.equal(value(parseBlkioDeviceValues('')).size, 0);
      assert.ok(!parseBlkioDeviceValues('254:0\n').ok);
      assert.ok(!parseBlkioDeviceValues('vda 5\n').ok);
    });
  });

  describe('cpu lists', () => {
    it('parses, formats and compares lists', () => {
      assert.deepEqual(value(parseCpuList('0-1,3\n')), [0, 1, 3]);
      assert.deepEqual(value(parseCpuList('\n')), []);
      assert.deepEqual(value(parseCpuList('3,0-1,1')), [0, 1, 3]);
      assert.equal(formatCpuList([3, 0, 1, 5, 6, 7]), '0-1,3,5-7');
      assert.equal(formatCpuList([]), '');
      assert.ok(sameCpuList('0-1', '0,1'));
      assert.ok(!sameCpuList('0-1', '0-2'));
      assert.ok(!sameCpuList('0-', '0'));
    });

    it('rejects reversed, open and absurd ranges', () => {
      assert.ok(!parseCpuList('3-1').ok);
      assert.ok(!parseCpuList('0-').ok);
      assert.ok(!parseCpuList('a').ok);
      assert.ok(!parseCpuList('0-4294967295').ok);
    });
  });

  describe('mounts', () => {
    // This machine's mounts: v1 controllers each on their own, an empty v2 tree at unified.
    const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
    const COMOUNTED = `29 28 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
32 28 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
31 28 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,net_cls,net_prio
34 28 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
`;
    const PURE_V2 =
      '0 0 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
    const mounts = (text: string) => findCgroupMounts(parseMountinfo(text).entries);

    it('finds separately mounted v1 controllers, name=systemd and the hybrid v2 tree', () => {
      const m = mounts(HYBRID);
      assert.deepEqual(m.v1.get('cpu'), { mountPoint: '/sys/fs/cgroup/cpu', root: '/' });
      assert.deepEqual(m.v1.get('cpuacct'), { mountPoint: '/sys/fs/cgroup/cpuacct', root: '/' });
      assert.deepEqual(m.v1.get('name=systemd'), { mountPoint: '/sys/fs/cgroup/systemd', root: '/' });
      assert.deepEqual(m.v2, { mountPoint: '/sys/fs/cgroup/unified', root: '/' });
      assert.equal(m.v1.has('rw'), false);
      assert.equal(m.v1.size, 7);
    });

    it('maps co-mounted controllers to one mount and skips xattr/release_agent options', () => {
      const m = mounts(COMOUNTED);
      assert.equal(m.v1.get('cpu')?.mountPoint, '/sys/fs/cgroup/cpu,cpuacct');
      assert.equal(m.v1.get('cpuacct')?.mountPoint, '/sys/fs/cgroup/cpu,cpuacct');
      assert.equal(m.v1.get('net_prio')?.mountPoint, '/sys/fs/cgroup/net_cls,net_prio');
      assert.ok(m.v1.has('name=systemd'));
      assert.ok(!m.v1.has('xattr'));
      assert.deepEqual(v1MountControllers(['rw', 'xattr', 'release_agent=/x', 'name=systemd']), ['name=systemd']);
      assert.equal(m.v2, null);
    });

    it('finds a pure v2 mount', () => {
      const m = mounts(PURE_V2);
      assert.equal(m.v1.size, 0);
      assert.deepEqual(m.v2, { mountPoint: '/sys/fs/cgroup', root: '/' });
    });

    it('prefers the mount of the hierarchy root over a bind of a sub-cgroup', () => {
      const m = mounts(
        `50 31 0:32 /docker/${ID} /mnt/mem rw - cgroup cgroup rw,memory\n35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n`,
      );
      assert.deepEqual(m.v1.get('memory'), { mountPoint: '/sys/fs/cgroup/memory', root: '/' });
    });

    it('cgroupDir accounts for the mount root', () => {
      assert.equal(cgroupDir({ mountPoint: '/sys/fs/cgroup/memory', root: '/' }, `/docker/${ID}`), `/sys/fs/cgroup/memory/docker/${ID}`);
      assert.equal(cgroupDir({ mountPoint: '/sys/fs/cgroup/memory', root: `/docker/${ID}` }, `/docker/${ID}`), '/sys/fs/cgroup/memory');
      assert.equal(cgroupDir({ mountPoint: '/sys/fs/cgroup', root: '/docker' }, `/docker/${ID}/sub`), `/sys/fs/cgroup/${ID}/sub`);
      assert.equal(cgroupDir({ mountPoint: '/sys/fs/cgroup', root: '/' }, '/'), '/sys/fs/cgroup');
      assert.equal(cgroupDir({ mountPoint: '/sys/fs/cgroup', root: '/docker/a' }, '/docker/ab'), null);
      assert.equal(cgroupDir({ mountPoint: '/sys/fs/cgroup', root: '/' }, '/../..'), null);
    });

    it('decides the version: v1 on a hybrid host, v2 on a pure v2 host', () => {
      const hybridLines = value(parseProcCgroup(`8:pids:/docker/${ID}\n4:memory:/docker/${ID}\n0::/docker/${ID}\n`));
      assert.equal(decideCgroupVersion(hybridLines, mounts(HYBRID)), 1);
      const v2Lines = value(parseProcCgroup(`0::/docker/${ID}\n`));
      assert.equal(decideCgroupVersion(v2Lines, mounts(PURE_V2)), 2);
      // A v2 host that still mounts a named v1 hierarchy for old tools is v2.
      const named = value(parseProcCgroup(`1:name=systemd:/\n0::/docker/${ID}\n`));
      assert.equal(decideCgroupVersion(named, mounts(`${PURE_V2}40 31 0:37 / /run/systemd rw - cgroup cgroup rw,name=systemd\n`)), 2);
      assert.equal(decideCgroupVersion(v2Lines, mounts(HYBRID.replace(/.*cgroup2.*\n/, ''))), null);
    });
  });

  describe('driver and rootless', () => {
    it('detects the systemd driver from the leaf', () => {
      assert.equal(detectCgroupDriver(`/system.slice/docker-${ID}.scope`), 'systemd');
      assert.equal(detectCgroupDriver(`/kubepods.slice/kubepods-burstable.slice/cri-containerd-${ID}.scope`), 'systemd');
      assert.equal(detectCgroupDriver(`/docker/${ID}`), 'cgroupfs');
      assert.equal(detectCgroupDriver(`/my-parent/${ID}`), 'cgroupfs');
      // Podman under systemd: the processes sit in a `container` child of the container's scope.
      assert.equal(detectCgroupDriver(`/machine.slice/libpod-${ID}.scope/container`), 'systemd');
      assert.equal(detectCgroupDriver(`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container`), 'systemd');
      assert.equal(detectCgroupDriver(`/machine.slice/libpod_parent/libpod-${ID}`), 'cgroupfs');
      // Rootless with cgroupfs passes through user.slice yet is not systemd's naming.
      assert.equal(detectCgroupDriver(`/user.slice/user-1000.slice/user@1000.service/app.slice/docker.service/docker/${ID}`), 'cgroupfs');
    });

    it('detects rootless paths', () => {
      assert.ok(isRootlessPath(`/user.slice/user-1000.slice/user@1000.service/app.slice/docker.service/docker/${ID}`));
      assert.ok(isRootlessPath(`/user.slice/user-1000.slice/user@1000.service/user.slice/docker-${ID}.scope`));
      assert.ok(!isRootlessPath(`/system.slice/docker-${ID}.scope`));
      assert.ok(!isRootlessPath(`/docker/${ID}`));
    });
  });

  describe('never throws', () => {
    const parsers: ((t: string) => Parsed<unknown>)[] = [
      parseProcCgroup,
      parseLimit,
      parseUint,
      parseCfsQuota,
      parseCpuMax,
      parseCpuWeight,
      parseCpuShares,
      parseBlkioWeight,
      parseProcs,
      parseFlatKeyed,
      parseNestedKeyed,
      parseIoWeight,
      parseBlkioRwstat,
      parseBlkioDeviceValues,
      parseCpuList,
      parsePressure,
    ];
    const garbage = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc
        .array(
          fc.constantFrom('0', '1', '9', ':', '-', ',', '=', ' ', '\n', 'max', 'Total', 'Read', '8:0', 'rbytes', '/', '\t', 'default'),
          {
            maxLength: 60,
          },
        )
        .map((a) => a.join('')),
    );

    it('every parser returns a value or an error on arbitrary text', () => {
      fc.assert(
        fc.property(garbage, (text) => {
          for (const p of parsers) {
            const r = p(text);
            assert.equal(typeof r.ok, 'boolean');
            if (!r.ok) assert.equal(typeof r.error, 'string');
          }
          detectCgroupDriver(text);
          isRootlessPath(text);
          cgroupDir({ mountPoint: '/sys/fs/cgroup', root: text }, text);
        }),
        { numRuns: 500 },
      );
    });
  });
});
