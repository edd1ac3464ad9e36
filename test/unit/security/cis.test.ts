// The CIS Docker Benchmark (section 5) verdicts decided for one container from its posture, its namespaces
// against the host's and its cgroup limits: each rule's status, and evidence that names what it was decided on.
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { DOCKER_DEFAULT_CAPABILITIES, PODMAN_DEFAULT_CAPABILITIES, sortCapabilities } from '../../../src/core/security/capabilities';
import { CIS_RULES, CIS_RULE_IDS, decideVerdicts } from '../../../src/core/security/cis';
import type {
  CgroupInfo,
  CgroupLimits,
  CisVerdict,
  NamespaceInodes,
  SecurityPosture,
  SensitiveMount,
  VerdictStatus,
} from '../../../src/shared/model';
import { HOST_NS } from '../support/snapshotParts';

type Posture = Omit<SecurityPosture, 'verdicts'>;

/** A default `docker run` on an AppArmor host: Docker's 14 capabilities, seccomp filter, rw root, no userns. */
function posture(over: Partial<Posture> = {}): Posture {
  return {
    uid: 0,
    gid: 0,
    user: 'root',
    capabilities: {
      effective: sortCapabilities(DOCKER_DEFAULT_CAPABILITIES),
      permitted: sortCapabilities(DOCKER_DEFAULT_CAPABILITIES),
      bounding: sortCapabilities(DOCKER_DEFAULT_CAPABILITIES),
      masks: { effective: '00000000a80425fb', permitted: '00000000a80425fb', bounding: '00000000a80425fb' },
    },
    added: [],
    dropped: [],
    defaultSet: sortCapabilities(DOCKER_DEFAULT_CAPABILITIES),
    allCapabilities: false,
    seccompMode: 2,
    seccompFilters: 1,
    noNewPrivs: false,
    lsmLabel: 'docker-default (enforce)',
    lsm: 'apparmor',
    uidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
    gidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
    hostUserNamespace: true,
    readOnlyRoot: false,
    sensitiveMounts: [],
    sharedMounts: [],
    mountsRead: true,
    ...over,
  };
}

function limits(over: Partial<CgroupLimits> = {}): CgroupLimits {
  return {
    memoryBytes: null,
    memorySwapBytes: null,
    memorySwapMeaning: 'swap',
    memoryReservationBytes: null,
    cpus: null,
    cpuQuotaUs: null,
    cpuPeriodUs: null,
    cpuShares: null,
    cpuWeight: 100,
    cpusetCpus: null,
    cpusetMems: null,
    hostCpus: '0-3',
    pidsMax: null,
    blkioWeight: null,
    blkioThrottles: [],
    ...over,
  };
}

function cgroup(l: CgroupLimits): CgroupInfo {
  return {
    version: 2,
    driver: 'systemd',
    path: '/system.slice/docker-x.scope',
    dirs: { unified: '/sys/fs/cgroup/system.slice/docker-x.scope' },
    rootless: false,
    limits: l,
    usage: {
      memoryBytes: null,
      memoryPeakBytes: null,
      workingSetBytes: null,
      cacheBytes: null,
      rssBytes: null,
      swapBytes: null,
      memoryLimitHits: null,
      oomKills: null,
      oomEvents: null,
      memoryHighHits: null,
      underOom: null,
      pressure: null,
      cpuUsageNs: null,
      cpuUserNs: null,
      cpuSystemNs: null,
      cpuPeriods: null,
      cpuThrottledPeriods: null,
      cpuThrottledNs: null,
      pidsCurrent: null,
      ioReadBytes: null,
      ioWriteBytes: null,
    },
  };
}

/** The container's own namespaces except the user namespace (Docker without userns-remap), and what the test changes. */
function namespaces(over: Partial<NamespaceInodes> = {}): NamespaceInodes {
  return { mnt: 101, pid: 102, net: 103, ipc: 104, uts: 105, user: HOST_NS.user, cgroup: 107, time: HOST_NS.time, ...over };
}

interface Case {
  ns?: NamespaceInodes | null;
  limits?: CgroupLimits | null;
  posture?: Partial<Posture>;
  host?: NamespaceInodes | null;
  runtime?: string;
}

function decide(c: Case = {}): CisVerdict[] {
  const l = c.limits === undefined ? limits() : c.limits;
  const verdicts = decideVerdicts(
    { namespaces: c.ns === undefined ? namespaces() : c.ns, cgroup: l === null ? null : cgroup(l) },
    posture(c.posture),
    c.host === undefined ? HOST_NS : c.host,
    c.runtime ?? 'Docker',
  );
  // Every rule, once, in the benchmark's order, with its title.
  assert.deepEqual(
    verdicts.map((v) => v.id),
    [...CIS_RULE_IDS],
  );
  for (const [i, v] of verdicts.entries()) {
    assert.equal(v.title, CIS_RULES[i].title);
    assert.ok(v.evidence.length > 0, `${v.id} has evidence`);
  }
  return verdicts;
}

function rule(vs: CisVerdict[], id: string): CisVerdict {
  const v = vs.find((x) => x.id === id);
  assert.ok(v, `no verdict ${id}`);
  return v;
}

function expectRule(vs: CisVerdict[], id: string, status: VerdictStatus, evidence: RegExp): void {
  const v = rule(vs, id);
  assert.equal(v.status, status, `${id}: ${v.evidence}`);
  assert.match(v.evidence, evidence, id);
}

const statuses = (vs: CisVerdict[]) => Object.fromEntries(vs.map((v) => [v.id, v.status]));

const mount = (over: Partial<SensitiveMount> & Pick<SensitiveMount, 'kind'>): SensitiveMount => ({
  mountPoint: '/m',
  hostPath: '/h',
  readOnly: false,
  shared: false,
  ...over,
});

describe('security/cis', () => {
  it('lists the section 5 recommendations once each, in the benchmark order', () => {
    assert.equal(new Set(CIS_RULE_IDS).size, CIS_RULE_IDS.length);
    const key = (id: string) => id.split('.').map(Number);
    const sorted = [...CIS_RULE_IDS].sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
    assert.deepEqual([...CIS_RULE_IDS], sorted);
    assert.deepEqual(
      CIS_RULE_IDS,
      CIS_RULES.map((r) => r.id),
    );
  });

  it('decides a default docker run on an AppArmor host', () => {
    const vs = decide({ limits: limits({ memoryBytes: 536870912 }) });
    assert.deepEqual(statuses(vs), {
      '5.1': 'pass',
      '5.2': 'unknown',
      '5.3': 'pass',
      '5.4': 'pass',
      '5.5': 'pass',
      '5.9': 'pass',
      '5.10': 'pass',
      '5.11': 'fail',
      '5.12': 'fail',
      '5.15': 'pass',
      '5.16': 'pass',
      '5.17': 'pass',
      '5.19': 'pass',
      '5.20': 'pass',
      '5.21': 'pass',
      '5.25': 'fail',
      '5.28': 'fail',
      '5.30': 'fail',
      '5.31': 'pass',
    });
    expectRule(vs, '5.1', 'pass', /AppArmor label "docker-default \(enforce\)"/);
    expectRule(vs, '5.3', 'pass', /within Docker's default set$/);
    expectRule(vs, '5.4', 'pass', /holds 14 capabilities/);
    expectRule(vs, '5.9', 'pass', /own net namespace \(inode 103; the host's is 3\)/);
    expectRule(vs, '5.12', 'fail', /mounted rw/);
    expectRule(
      vs,
      '5.30',
      'fail',
      new RegExp(`user namespace is the host's \\(inode ${HOST_NS.user}\\).*uid 0 inside is uid 0 on the host`),
    );
  });

  describe('5.1, 5.2: the LSM label', () => {
    it('fails an unconfined AppArmor process and passes a profile', () => {
      expectRule(decide({ posture: { lsmLabel: 'unconfined', lsm: 'apparmor' } }), '5.1', 'fail', /"unconfined"/);
      expectRule(decide({ posture: { lsmLabel: 'my-profile (complain)', lsm: 'apparmor' } }), '5.1', 'pass', /"my-profile \(complain\)"/);
      // A profile loaded in unconfined mode confines nothing; a profile merely named unconfined-… does.
      expectRule(decide({ posture: { lsmLabel: 'my-profile (unconfined)', lsm: 'apparmor' } }), '5.1', 'fail', /my-profile/);
      expectRule(decide({ posture: { lsmLabel: 'unconfined-web (enforce)', lsm: 'apparmor' } }), '5.1', 'pass', /unconfined-web/);
    });

    it('fails spc_t and unconfined_t under SELinux, passes container_t, and says AppArmor is unknown there', () => {
      const spc = decide({ posture: { lsmLabel: 'system_u:system_r:spc_t:s0', lsm: 'selinux' } });
      expectRule(spc, '5.2', 'fail', /SELinux context "system_u:system_r:spc_t:s0"/);
      expectRule(spc, '5.1', 'unknown', /not an AppArmor host.*selinux/);
      // Without an MLS level the type is the context's last field.
      expectRule(decide({ posture: { lsmLabel: 'system_u:system_r:spc_t', lsm: 'selinux' } }), '5.2', 'fail', /spc_t/);
      expectRule(
        decide({ posture: { lsmLabel: 'unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023', lsm: 'selinux' } }),
        '5.2',
        'fail',
        /unconfined_t/,
      );
      expectRule(decide({ posture: { lsmLabel: 'system_u:system_r:container_t:s0:c1,c2', lsm: 'selinux' } }), '5.2', 'pass', /container_t/);
    });

    it('is unknown for both without a label', () => {
      const vs = decide({ posture: { lsmLabel: null, lsm: null } });
      expectRule(vs, '5.1', 'unknown', /no AppArmor label/);
      expectRule(vs, '5.2', 'unknown', /no SELinux context/);
      const other = decide({ posture: { lsmLabel: 'smack-label', lsm: 'other' } });
      expectRule(other, '5.1', 'unknown', /other/);
      expectRule(other, '5.2', 'unknown', /other/);
    });
  });

  describe('5.3, 5.4, 5.17: capabilities', () => {
    it('fails an added capability, naming it and the runtime, and names what was dropped', () => {
      const vs = decide({ posture: { added: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'], dropped: ['CAP_NET_RAW'] } });
      expectRule(vs, '5.3', 'fail', /^bounding set adds CAP_NET_ADMIN, CAP_SYS_ADMIN to Docker's default set; drops CAP_NET_RAW$/);
      const dropOnly = decide({ posture: { dropped: ['CAP_MKNOD', 'CAP_NET_RAW'] }, runtime: 'Podman' });
      expectRule(dropOnly, '5.3', 'pass', /^bounding set within Podman's default set; drops CAP_MKNOD, CAP_NET_RAW$/);
    });

    it('fails a privileged container (every capability the kernel has) on 5.4 and 5.17, naming the mask', () => {
      const vs = decide({
        posture: {
          allCapabilities: true,
          added: ['CAP_SYS_ADMIN'],
          capabilities: {
            effective: [],
            permitted: [],
            bounding: ['CAP_SYS_ADMIN'],
            masks: { effective: '000001ffffffffff', permitted: '000001ffffffffff', bounding: '000001ffffffffff' },
          },
        },
      });
      expectRule(vs, '5.4', 'fail', /CapBnd 000001ffffffffff.*privileged/);
      expectRule(vs, '5.17', 'fail', /privileged/);
      expectRule(vs, '5.3', 'fail', /CAP_SYS_ADMIN/);
    });

    it('is unknown on 5.3 and 5.4 when the sets were not read', () => {
      const vs = decide({ posture: { capabilities: null } });
      expectRule(vs, '5.3', 'unknown', /not read/);
      expectRule(vs, '5.4', 'unknown', /not read/);
    });

    it('passes Podman defaults counted against Podman', () => {
      const bounding = sortCapabilities(PODMAN_DEFAULT_CAPABILITIES);
      const vs = decide({
        runtime: 'Podman',
        posture: {
          defaultSet: bounding,
          capabilities: {
            effective: bounding,
            permitted: bounding,
            bounding,
            masks: { effective: '800405fb', permitted: '800405fb', bounding: '800405fb' },
          },
        },
      });
      expectRule(vs, '5.3', 'pass', /Podman's default set/);
      expectRule(vs, '5.4', 'pass', /holds 11 capabilities/);
    });
  });

  describe('5.5, 5.17, 5.19, 5.31: mounts', () => {
    it("fails 5.5 on the host's root or a system directory, naming host path, mount point and ro", () => {
      const vs = decide({
        posture: {
          sensitiveMounts: [
            mount({ kind: 'host-dir', hostPath: '/etc', mountPoint: '/hostetc', readOnly: true }),
            mount({ kind: 'host-root', hostPath: '/', mountPoint: '/host' }),
          ],
        },
      });
      expectRule(vs, '5.5', 'fail', /^mounts \/etc at \/hostetc \(ro\), \/ at \/host$/);
      expectRule(vs, '5.17', 'pass', /no host device/);
      expectRule(vs, '5.31', 'pass', /no runtime socket/);
    });

    it('fails 5.31 on a runtime socket, and only 5.31', () => {
      const vs = decide({
        posture: { sensitiveMounts: [mount({ kind: 'runtime-socket', hostPath: '/run/docker.sock', mountPoint: '/var/run/docker.sock' })] },
      });
      expectRule(vs, '5.31', 'fail', /runtime socket mounted: \/run\/docker.sock at \/var\/run\/docker.sock$/);
      expectRule(vs, '5.5', 'pass', /no host system directory/);
      expectRule(vs, '5.17', 'pass', /no host device/);
    });

    it('fails 5.17 on a host device, naming it', () => {
      const vs = decide({ posture: { sensitiveMounts: [mount({ kind: 'host-device', hostPath: '/dev/kmsg', mountPoint: '/dev/kmsg' })] } });
      expectRule(vs, '5.17', 'fail', /mounts host devices: \/dev\/kmsg at \/dev\/kmsg/);
      expectRule(vs, '5.5', 'pass', /no host system directory/);
    });

    it('counts a writable /sys on no mount rule, and a hostless path as "?"', () => {
      const vs = decide({ posture: { sensitiveMounts: [mount({ kind: 'writable-kernel-fs', hostPath: null, mountPoint: '/sys' })] } });
      for (const id of ['5.5', '5.17', '5.31']) assert.equal(rule(vs, id).status, 'pass', id);
      expectRule(
        decide({ posture: { sensitiveMounts: [mount({ kind: 'host-dir', hostPath: null, mountPoint: '/x' })] } }),
        '5.5',
        'fail',
        /\? at \/x/,
      );
    });

    it('fails 5.19 on a shared mount, naming it', () => {
      expectRule(decide({ posture: { sharedMounts: ['/shared', '/b'] } }), '5.19', 'fail', /shared propagation on \/shared, \/b$/);
      expectRule(decide(), '5.19', 'pass', /no mount propagates/);
    });
  });

  describe('5.9, 5.15, 5.16, 5.20, 5.30: namespaces', () => {
    it("fails each namespace that is the host's, naming the inode", () => {
      const vs = decide({ ns: namespaces({ net: HOST_NS.net, pid: HOST_NS.pid, ipc: HOST_NS.ipc, uts: HOST_NS.uts }) });
      expectRule(vs, '5.9', 'fail', new RegExp(`^net namespace is the host's \\(inode ${HOST_NS.net}\\)$`));
      expectRule(vs, '5.15', 'fail', /pid namespace is the host's \(inode 2\): it sees and can signal the host's processes/);
      expectRule(vs, '5.16', 'fail', /ipc namespace is the host's \(inode 4\)/);
      expectRule(vs, '5.20', 'fail', /uts namespace is the host's \(inode 5\)/);
    });

    it('passes own namespaces, naming both inodes', () => {
      const vs = decide({ ns: namespaces({ user: 206 }) });
      expectRule(vs, '5.15', 'pass', /own pid namespace \(inode 102; the host's is 2\)/);
      expectRule(vs, '5.16', 'pass', /inode 104/);
      expectRule(vs, '5.20', 'pass', /inode 105/);
      expectRule(vs, '5.30', 'pass', /own user namespace \(inode 206; the host's is 6\)/);
    });

    it("is unknown when the host's namespaces are not known", () => {
      const vs = decide({ host: null });
      for (const [id, type] of [
        ['5.9', 'net'],
        ['5.15', 'pid'],
        ['5.16', 'ipc'],
        ['5.20', 'uts'],
        ['5.30', 'user'],
      ])
        expectRule(vs, id, 'unknown', new RegExp(`the host's ${type} namespace was not read`));
    });

    it("is unknown when the container's namespaces were not read, or one type is missing on either side", () => {
      const vs = decide({ ns: null });
      expectRule(vs, '5.9', 'unknown', /the container's net namespace was not read/);
      expectRule(decide({ ns: namespaces({ net: null }) }), '5.9', 'unknown', /the container's net/);
      const hostWithoutUts = { ...HOST_NS, uts: null };
      const vs2 = decide({ host: hostWithoutUts });
      expectRule(vs2, '5.20', 'unknown', /the host's uts namespace/);
      expectRule(vs2, '5.9', 'pass', /own net namespace/);
    });
  });

  describe('5.10, 5.11, 5.28: cgroup limits', () => {
    it('is unknown on all three without limits', () => {
      const vs = decide({ limits: null });
      for (const id of ['5.10', '5.11', '5.28']) expectRule(vs, id, 'unknown', /cgroup limits were not read/);
    });

    it('passes a memory limit, naming it, and fails none', () => {
      expectRule(decide({ limits: limits({ memoryBytes: 536870912 }) }), '5.10', 'pass', /memory limit 536870912 bytes/);
      expectRule(decide({ limits: limits({ memoryBytes: null }) }), '5.10', 'fail', /no memory limit/);
    });

    it('fails the default CPU weight (cgroup v2: 100) and passes another, a quota, or non-default shares (v1)', () => {
      expectRule(decide({ limits: limits({ cpuWeight: 100 }) }), '5.11', 'fail', /no CPU quota and the default CPU weight/);
      expectRule(decide({ limits: limits({ cpuWeight: 50 }) }), '5.11', 'pass', /^cpu\.weight 50$/);
      expectRule(
        decide({ limits: limits({ cpus: 1.5, cpuQuotaUs: 150000, cpuPeriodUs: 100000 }) }),
        '5.11',
        'pass',
        /^CPU quota 1\.5 CPUs$/,
      );
      expectRule(decide({ limits: limits({ cpus: 2, cpuWeight: 200 }) }), '5.11', 'pass', /^CPU quota 2 CPUs, cpu\.weight 200$/);
      const v1 = (cpuShares: number) => limits({ cpuWeight: null, cpuShares, memorySwapMeaning: 'memory+swap' });
      expectRule(decide({ limits: v1(1024) }), '5.11', 'fail', /default CPU weight/);
      expectRule(decide({ limits: v1(512) }), '5.11', 'pass', /^cpu\.shares 512$/);
      expectRule(decide({ limits: limits({ cpuWeight: null, cpuShares: null }) }), '5.11', 'fail', /no CPU quota/);
    });

    it('passes a pids limit, naming it, and fails max', () => {
      expectRule(decide({ limits: limits({ pidsMax: 100 }) }), '5.28', 'pass', /^pids\.max 100$/);
      expectRule(decide({ limits: limits({ pidsMax: null }) }), '5.28', 'fail', /pids\.max is max/);
    });
  });

  describe('5.12, 5.21, 5.25: root, seccomp, no_new_privs', () => {
    it('decides 5.12 on the root mount', () => {
      expectRule(decide({ posture: { readOnlyRoot: true } }), '5.12', 'pass', /mounted ro/);
      expectRule(decide({ posture: { readOnlyRoot: false } }), '5.12', 'fail', /mounted rw/);
      expectRule(decide({ posture: { readOnlyRoot: null } }), '5.12', 'unknown', /not read/);
    });

    it('decides 5.21 on the seccomp mode', () => {
      expectRule(decide({ posture: { seccompMode: 0, seccompFilters: 0 } }), '5.21', 'fail', /^Seccomp 0: no seccomp filter$/);
      expectRule(decide({ posture: { seccompMode: 1, seccompFilters: 0 } }), '5.21', 'pass', /^Seccomp 1 \(strict\)$/);
      expectRule(decide({ posture: { seccompMode: 2, seccompFilters: 3 } }), '5.21', 'pass', /^Seccomp 2 \(filter\), 3 filter\(s\)$/);
      expectRule(decide({ posture: { seccompMode: 2, seccompFilters: null } }), '5.21', 'pass', /Seccomp 2 \(filter\), \? filter/);
      expectRule(decide({ posture: { seccompMode: null, seccompFilters: null } }), '5.21', 'unknown', /Seccomp line was not read/);
    });

    it('decides 5.25 on NoNewPrivs', () => {
      expectRule(decide({ posture: { noNewPrivs: true } }), '5.25', 'pass', /^NoNewPrivs 1$/);
      expectRule(decide({ posture: { noNewPrivs: false } }), '5.25', 'fail', /^NoNewPrivs 0/);
      expectRule(decide({ posture: { noNewPrivs: null } }), '5.25', 'unknown', /NoNewPrivs line was not read/);
    });
  });

  it('gives every rule once, in order, with a known status and evidence, for any posture', () => {
    const inode = fc.option(fc.integer({ min: 1, max: 8 }), { nil: null });
    const nsArb = fc.record({ mnt: inode, pid: inode, net: inode, ipc: inode, uts: inode, user: inode, cgroup: inode, time: inode });
    const kind = fc.constantFrom<SensitiveMount['kind']>('runtime-socket', 'host-root', 'host-dir', 'host-device', 'writable-kernel-fs');
    const limitsArb = fc.option(
      fc.record({
        memoryBytes: fc.option(fc.nat(), { nil: null }),
        cpus: fc.option(fc.double({ min: 0.01, max: 64, noNaN: true }), { nil: null }),
        cpuShares: fc.option(fc.nat({ max: 262144 }), { nil: null }),
        cpuWeight: fc.option(fc.integer({ min: 1, max: 10000 }), { nil: null }),
        pidsMax: fc.option(fc.nat(), { nil: null }),
      }),
      { nil: null },
    );
    fc.assert(
      fc.property(
        fc.option(nsArb, { nil: null }),
        fc.option(nsArb, { nil: null }),
        limitsArb,
        fc.record({
          allCapabilities: fc.boolean(),
          added: fc.subarray(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_45']),
          seccompMode: fc.constantFrom<0 | 1 | 2 | null>(0, 1, 2, null),
          noNewPrivs: fc.option(fc.boolean(), { nil: null }),
          lsm: fc.constantFrom<Posture['lsm']>('apparmor', 'selinux', 'other', null),
          lsmLabel: fc.option(fc.string({ maxLength: 30 }), { nil: null }),
          readOnlyRoot: fc.option(fc.boolean(), { nil: null }),
          sensitiveMounts: fc.array(
            fc.record({ kind, readOnly: fc.boolean() }).map((m) => mount(m)),
            { maxLength: 4 },
          ),
          sharedMounts: fc.array(fc.constantFrom('/a', '/b'), { maxLength: 2 }),
        }),
        (ns, host, l, p) => {
          const vs = decide({ ns, host, limits: l === null ? null : limits(l), posture: p });
          for (const v of vs) assert.ok(['pass', 'fail', 'unknown'].includes(v.status));
          // A few invariants across rules.
          if (p.allCapabilities) assert.equal(rule(vs, '5.17').status, 'fail');
          assert.equal(rule(vs, '5.31').status, p.sensitiveMounts.some((m) => m.kind === 'runtime-socket') ? 'fail' : 'pass');
          assert.equal(rule(vs, '5.19').status, p.sharedMounts.length > 0 ? 'fail' : 'pass');
          if (host === null) for (const id of ['5.9', '5.15', '5.16', '5.20', '5.30']) assert.equal(rule(vs, id).status, 'unknown');
        },
      ),
      { numRuns: 500 },
    );
  });
});
