// The security posture of containers on every target: what rights each container's init process holds
// (capability sets, seccomp, no_new_privs, ids, user namespace maps, LSM label, read-only root, sensitive
// host mounts) and the CIS Docker Benchmark v1.6 section 5 verdicts decided on them, by the engine's
// snapshot and by `container-xray audit`. Every container is made with one risky (or safe) setting, and
// every check is against oracles that do not go through the engine: `docker inspect` (what the runtime
// was asked for) and the kernel's own files read by the root shell on the daemon's machine (/proc/PID/status,
// attr, uid_map, mountinfo, readlink of the namespace links), capability bits named here from capabilities(7).
//
// Per target: `--privileged` runs on the VM targets only: on this machine runc fails it ("runc create
// failed: unable to apply caps"), the engine never sees it. The runtime socket mounted is the daemon's own
// (Docker: /var/run/docker.sock, rootful Podman: /run/podman/podman.sock, rootless Podman: the user's
// /run/user/1000/podman/podman.sock, which it owns); the VM's Podman serves its API on tcp, so the suite
// starts podman.socket (root's, or the user's) for the run when that socket is not there, and stops it after.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import type { CisVerdict, ContainerSnapshot, FieldError, SecurityPosture, Snapshot } from '../../src/shared/model';
import {
  ROOTLESS_USER,
  Target,
  TargetName,
  cgroupFilesOn,
  cliArgs,
  eachLimit,
  engineOptions,
  hostNamespacesOn,
  inspectOn,
  openTarget,
  readlinkNamespacesOn,
  removeOn,
  runAllOn,
  runtimeTargets,
} from '../support/targets';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Capability bit numbers as capabilities(7) and linux/capability.h give them (0 … 40, CAP_LAST_CAP of Linux 5.9+). */
const CAP_BITS: readonly string[] = [
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE', // 1
  'CAP_DAC_READ_SEARCH', // 2
  'CAP_FOWNER', // 3
  'CAP_FSETID', // 4
  'CAP_KILL', // 5
  'CAP_SETGID', // 6
  'CAP_SETUID', // 7
  'CAP_SETPCAP', // 8
  'CAP_LINUX_IMMUTABLE', // 9
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST', // 11
  'CAP_NET_ADMIN', // 12
  'CAP_NET_RAW', // 13
  'CAP_IPC_LOCK', // 14
  'CAP_IPC_OWNER', // 15
  'CAP_SYS_MODULE', // 16
  'CAP_SYS_RAWIO', // 17
  'CAP_SYS_CHROOT', // 18
  'CAP_SYS_PTRACE', // 19
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN', // 21
  'CAP_SYS_BOOT', // 22
  'CAP_SYS_NICE', // 23
  'CAP_SYS_RESOURCE', // 24
  'CAP_SYS_TIME', // 25
  'CAP_SYS_TTY_CONFIG', // 26
  'CAP_MKNOD', // 27
  'CAP_LEASE', // 28
  'CAP_AUDIT_WRITE', // 29
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP', // 31
  'CAP_MAC_OVERRIDE', // 32
  'CAP_MAC_ADMIN', // 33
  'CAP_SYSLOG', // 34
  'CAP_WAKE_ALARM', // 35
  'CAP_BLOCK_SUSPEND', // 36
  'CAP_AUDIT_READ', // 37
  'CAP_PERFMON', // 38
  'CAP_BPF', // 39
  'CAP_CHECKPOINT_RESTORE', // 40
];

/** Docker's default capability set (moby's oci/caps/defaults.go). */
const DOCKER_DEFAULT = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];
/** Podman's (containers.conf default_capabilities): Docker's without MKNOD, NET_RAW and AUDIT_WRITE. */
const PODMAN_DEFAULT = DOCKER_DEFAULT.filter((c) => !['CAP_MKNOD', 'CAP_NET_RAW', 'CAP_AUDIT_WRITE'].includes(c));

/** The section 5 recommendations the engine decides, each once per container. */
const VERDICT_IDS = [
  '5.1',
  '5.2',
  '5.3',
  '5.4',
  '5.5',
  '5.9',
  '5.10',
  '5.11',
  '5.12',
  '5.15',
  '5.16',
  '5.17',
  '5.19',
  '5.20',
  '5.21',
  '5.25',
  '5.28',
  '5.30',
  '5.31',
];
/** The host-namespace recommendations and the namespace each is about. */
const HOST_NS_RULES: [id: string, ns: string][] = [
  ['5.9', 'net'],
  ['5.15', 'pid'],
  ['5.16', 'ipc'],
  ['5.20', 'uts'],
  ['5.30', 'user'],
];

/** A verdict row of `audit`'s text: status, `(not gating)` when the rules leave it out, the id, title and evidence. */
const ROW = /^\s*(PASS|FAIL|\?)( \(not gating\))?\s+(5\.\d+)\s+\S/;

/** The runtime's bind mounts of its own files into every container: never a sensitive mount. */
const RUNTIME_OWN = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/run/.containerenv', '/run/secrets'];

/** Characters a terminal would act on: C0 (but newline), DEL, C1, bidi overrides. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = `<img src=x onerror=alert(1)>\u001b[31m\u202e\r\n\u0007<script>alert(2)</script>${'h'.repeat(300)}`;

/** The socket of the daemon behind a target, as the containers on it would mount it. */
function socketOf(name: TargetName): string {
  if (name === 'vm-podman') return '/run/podman/podman.sock';
  if (name === 'vm-podman-rootless') return '/run/user/1000/podman/podman.sock';
  return '/var/run/docker.sock';
}

/**
 * The VM's Podman runs its API on tcp only (scripts/vm: `podman system service tcp://…`): the daemon's unix
 * socket exists once its systemd socket unit listens, root's or the rootless user's. Starts that unit when
 * the socket is not there, and returns how to put it back (stop the unit, remove the socket file it left).
 */
async function ensurePodmanSocket(t: Target, socket: string): Promise<() => Promise<void>> {
  const systemctl = t.rootless ? `systemctl --user -M ${ROOTLESS_USER}@` : 'systemctl';
  const started = (await t.sh(`if [ -S ${socket} ]; then echo there; else ${systemctl} start podman.socket && echo started; fi`)).trim();
  if (started !== 'started') return async () => undefined;
  const present = (await t.sh(`[ -S ${socket} ] && echo yes || echo no`)).trim();
  if (present !== 'yes') throw new Error(`${t.name}: podman.socket started but ${socket} is not there`);
  return async () => {
    await t.sh(`${systemctl} stop podman.socket podman.service; rm -f ${socket}; rmdir ${path.posix.dirname(socket)} 2>/dev/null || true`);
  };
}

/** A mask as /proc/PID/status prints it (hex), to names; bits beyond the table as `bit N` (none on these kernels). */
function decode(mask: string): string[] {
  const v = BigInt(`0x${mask}`);
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) if ((v >> BigInt(bit)) & 1n) names.push(CAP_BITS[bit] ?? `bit ${bit}`);
  return names.sort();
}

const sorted = (xs: readonly string[]) => [...xs].sort();

/** `CAP_X` from docker inspect's `X`, `cap_x` or `CAP_X`. */
function capName(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

interface MountLine {
  mountPoint: string;
  root: string;
  device: string;
  options: string[];
  optional: string[];
  fstype: string;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function parseMountinfo(text: string): MountLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const f = l.split(' ');
      const dash = f.indexOf('-');
      return {
        device: f[2],
        root: unescapeMount(f[3]),
        mountPoint: unescapeMount(f[4]),
        options: f[5].split(','),
        optional: f.slice(6, dash),
        fstype: f[dash + 1],
      };
    });
}

/** What the kernel says of one process, read by the root shell on the daemon's machine. */
interface KernelOracle {
  status: Record<string, string>;
  /** /proc/PID/attr/current without its trailing NUL and newline; null when the read fails or is empty (no LSM). */
  attr: string | null;
  uidMap: { inside: number; outside: number; count: number }[];
  gidMap: { inside: number; outside: number; count: number }[];
  mounts: MountLine[];
  /** The container's /etc/passwd as the process sees it (through /proc/PID/root). */
  passwd: string;
  namespaces: Record<string, number>;
}

async function kernelOracle(t: Target, pid: number): Promise<KernelOracle> {
  const p = `/proc/${pid}`;
  const out = await t.sh(
    [
      `echo '=== status'; cat ${p}/status`,
      `echo '=== attr'; cat ${p}/attr/current 2>/dev/null | tr -d '\\000'; echo`,
      `echo '=== uid_map'; cat ${p}/uid_map`,
      `echo '=== gid_map'; cat ${p}/gid_map`,
      `echo '=== mountinfo'; cat ${p}/mountinfo`,
      `echo '=== passwd'; cat ${p}/root/etc/passwd 2>/dev/null || true`,
    ].join('\n'),
  );
  const parts: Record<string, string> = {};
  for (const part of out.split(/^=== /m).slice(1)) {
    const nl = part.indexOf('\n');
    parts[part.slice(0, nl)] = part.slice(nl + 1);
  }
  const status: Record<string, string> = {};
  for (const line of parts.status.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) status[m[1]] = m[2].trim();
  }
  const maps = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const [inside, outside, count] = l.trim().split(/\s+/).map(Number);
        return { inside, outside, count };
      });
  const attr = parts.attr.replace(/\n+$/, '').trim();
  return {
    status,
    attr: attr === '' ? null : attr,
    uidMap: maps(parts.uid_map),
    gidMap: maps(parts.gid_map),
    mounts: parseMountinfo(parts.mountinfo),
    passwd: parts.passwd,
    namespaces: await readlinkNamespacesOn(t, pid),
  };
}

interface Inspected {
  Id: string;
  Name: string;
  State: { Pid: number };
  Config: { Labels: Record<string, string> };
  HostConfig: {
    CapAdd: string[] | null;
    CapDrop: string[] | null;
    Privileged: boolean;
    SecurityOpt: string[] | null;
    ReadonlyRootfs: boolean;
    Memory: number;
    NanoCpus: number;
    CpuQuota: number;
    CpuShares: number;
    PidsLimit: number | null;
  };
  /** Podman only: the sets it gave the container's init. */
  EffectiveCaps?: string[] | null;
  BoundingCaps?: string[] | null;
}

function cli(args: string[], timeout: number) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 256 * 1024 * 1024, timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface AuditReport {
  takenAt: string;
  rules: string[];
  passed: boolean;
  containers: { id: string; name: string; image: string; security: SecurityPosture | null; failed: string[]; errors: FieldError[] }[];
}

for (const target of runtimeTargets()) {
  describe(`security posture (${target})`, function () {
    // A VM guest runs under emulation: a container start takes seconds there.
    this.timeout(target === 'local' ? 180000 : 900000);
    const cliTimeout = target === 'local' ? 120000 : 600000;
    let t: Target;
    const socket = socketOf(target);
    /** The containers, by what each is about; `privileged` on the VM targets only (see the head comment). */
    const specs: Record<string, string[]> = {
      default: ['--network', 'none'],
      capadd: ['--network', 'none', '--cap-add', 'NET_ADMIN'],
      capdrop: ['--network', 'none', '--cap-drop', 'ALL', '--cap-add', 'CHOWN'],
      nnp: ['--network', 'none', '--security-opt', 'no-new-privileges'],
      noseccomp: ['--network', 'none', '--security-opt', 'seccomp=unconfined'],
      readonly: ['--network', 'none', '--read-only'],
      socket: ['--network', 'none', '-v', `${socket}:/var/run/docker.sock`],
      user: ['--network', 'none', '--user', '1000'],
      hostnet: ['--network', 'host'],
      hostpid: ['--network', 'none', '--pid', 'host', '--ipc', 'host', '--uts', 'host'],
      etc: ['--network', 'none', '-v', '/etc:/hostetc:ro'],
      // A host device no runtime gives a container by default (a bind of /dev/null elsewhere grants nothing
      // new, and the engine rightly leaves the runtime-spec default devices out).
      device: ['--network', 'none', '-v', '/dev/kmsg:/dev/hostkmsg:ro'],
      limits: ['--network', 'none', '--memory', '64m', '--pids-limit', '50', '--cpus', '0.5'],
      hostile: ['--network', 'none', '--label', `com.docker.compose.project=${HOSTILE}`, '--label', `xray.hostile=${HOSTILE}`],
      ...(target === 'local' ? {} : { privileged: ['--network', 'none', '--privileged'] }),
    };
    const ids: Record<string, string> = {};
    const inspected: Record<string, Inspected> = {};
    const kernel: Record<string, KernelOracle> = {};
    let hostNs: { from: string; namespaces: Record<string, number> };
    let capLastCap: number;
    let lsms: string;
    let socketReal: string;
    let snap: Snapshot;
    let engine: Engine | undefined;
    let restoreSocket: (() => Promise<void>) | undefined;

    const defaults = (): string[] => (t.runtime === 'podman' ? PODMAN_DEFAULT : DOCKER_DEFAULT);
    const nameOf = (key: string) => `xray-it-sec-${key}`;
    const containerOf = (key: string): ContainerSnapshot => {
      const c = snap.containers.find((x) => x.id === ids[key]);
      assert.ok(c, `${key} is in the snapshot`);
      return c;
    };
    const postureOf = (key: string): SecurityPosture => {
      const c = containerOf(key);
      assert.deepEqual(c.errors, [], `${key} was read whole`);
      assert.ok(c.security, `${key} has a security posture`);
      return c.security;
    };
    const verdictOf = (key: string, id: string): CisVerdict => {
      const v = postureOf(key).verdicts.find((x) => x.id === id);
      assert.ok(v, `${key} has a verdict on ${id}`);
      return v;
    };
    const expectVerdict = (key: string, id: string, status: CisVerdict['status'], why: string): CisVerdict => {
      const v = verdictOf(key, id);
      assert.equal(v.status, status, `${key} ${id} (${why}): ${v.status}: ${v.evidence}`);
      return v;
    };
    /** The bounding set the runtime was asked for: its default set, with CapAdd and without CapDrop (ALL drops all). */
    const askedBounding = (i: Inspected): string[] => {
      const drop = (i.HostConfig.CapDrop ?? []).map(capName);
      const add = (i.HostConfig.CapAdd ?? []).map(capName);
      const base = drop.includes('CAP_ALL') ? [] : defaults().filter((c) => !drop.includes(c));
      return sorted([...new Set([...base, ...add])]);
    };

    before(async () => {
      t = await openTarget(target);
      if (t.runtime === 'podman') restoreSocket = await ensurePodmanSocket(t, socket);
      Object.assign(
        ids,
        await runAllOn(
          t,
          Object.fromEntries(
            Object.entries(specs).map(([key, args]) => [key, ['--name', nameOf(key), ...args, t.helperImage, 'sleep', '3600']]),
          ),
        ),
      );
      await eachLimit(Object.entries(ids), 4, async ([key, id]) => {
        inspected[key] = await inspectOn<Inspected>(t, id);
        kernel[key] = await kernelOracle(t, inspected[key].State.Pid);
      });
      hostNs = await hostNamespacesOn(t);
      capLastCap = Number((await t.sh('cat /proc/sys/kernel/cap_last_cap')).trim());
      lsms = (await t.sh('cat /sys/kernel/security/lsm 2>/dev/null || true')).trim();
      socketReal = (await t.sh(`readlink -f ${socket}`)).trim();
      engine = await Engine.create(engineOptions(t));
      snap = await engine.snapshot({ containers: Object.values(ids) });
    });

    after(async () => {
      await engine?.dispose();
      // By name: a start that failed beside the others leaves no ID behind.
      if (t) await removeOn(t, Object.keys(specs).map(nameOf));
      await restoreSocket?.();
    });

    it('reads every container whole, each with the same set of section 5 verdicts, once each', () => {
      assert.ok(
        capLastCap >= 40 && capLastCap < CAP_BITS.length,
        `this table names bits up to ${CAP_BITS.length - 1}; cap_last_cap is ${capLastCap}`,
      );
      for (const key of Object.keys(ids)) {
        const s = postureOf(key);
        assert.deepEqual(
          sorted(s.verdicts.map((v) => v.id)),
          sorted(VERDICT_IDS),
          `${key}: the verdicts decided (${s.verdicts.map((v) => v.id).join(', ')})`,
        );
        for (const v of s.verdicts) {
          assert.ok(['pass', 'fail', 'unknown'].includes(v.status), `${key} ${v.id} status ${v.status}`);
          assert.ok(v.title.trim() !== '', `${key} ${v.id} has a title`);
          assert.ok(v.evidence.trim() !== '', `${key} ${v.id} says what it was decided on`);
        }
      }
    });

    it('reads the capability masks exactly as /proc/PID/status prints them, and names each bit as capabilities(7) does', () => {
      for (const key of Object.keys(ids)) {
        const caps = postureOf(key).capabilities;
        assert.ok(caps, `${key}: capabilities read`);
        const st = kernel[key].status;
        assert.deepEqual(caps.masks, { effective: st.CapEff, permitted: st.CapPrm, bounding: st.CapBnd }, `${key}: raw masks`);
        assert.deepEqual(sorted(caps.effective), decode(st.CapEff), `${key}: CapEff ${st.CapEff}`);
        assert.deepEqual(sorted(caps.permitted), decode(st.CapPrm), `${key}: CapPrm ${st.CapPrm}`);
        assert.deepEqual(sorted(caps.bounding), decode(st.CapBnd), `${key}: CapBnd ${st.CapBnd}`);
      }
    });

    it('has the bounding set the runtime was asked for (its default set, plus CapAdd, minus CapDrop) and names what was added and dropped', () => {
      for (const key of Object.keys(ids).filter((k) => k !== 'privileged')) {
        const s = postureOf(key);
        const i = inspected[key];
        const want = askedBounding(i);
        assert.deepEqual(
          sorted(s.capabilities!.bounding),
          want,
          `${key}: bounding vs inspect CapAdd ${JSON.stringify(i.HostConfig.CapAdd)} CapDrop ${JSON.stringify(i.HostConfig.CapDrop)}`,
        );
        assert.deepEqual(sorted(s.defaultSet), sorted(defaults()), `${key}: ${t.runtime}'s default set`);
        assert.deepEqual(
          sorted(s.added),
          want.filter((c) => !defaults().includes(c)),
          `${key}: added`,
        );
        assert.deepEqual(sorted(s.dropped), sorted(defaults().filter((c) => !want.includes(c))), `${key}: dropped`);
        if (t.runtime === 'podman' && i.BoundingCaps)
          assert.deepEqual(sorted(s.capabilities!.bounding), sorted(i.BoundingCaps.map(capName)), `${key}: podman inspect BoundingCaps`);
        if (t.runtime === 'podman' && i.EffectiveCaps)
          assert.deepEqual(sorted(s.capabilities!.effective), sorted(i.EffectiveCaps.map(capName)), `${key}: podman inspect EffectiveCaps`);
      }
      // The cases themselves, spelled out.
      assert.deepEqual(postureOf('default').added, []);
      assert.deepEqual(postureOf('default').dropped, []);
      assert.deepEqual(sorted(postureOf('default').capabilities!.bounding), sorted(defaults()));
      assert.deepEqual(postureOf('capadd').added, ['CAP_NET_ADMIN']);
      assert.deepEqual(postureOf('capadd').dropped, []);
      assert.deepEqual(postureOf('capdrop').capabilities!.bounding, ['CAP_CHOWN']);
      assert.deepEqual(postureOf('capdrop').added, []);
      assert.deepEqual(sorted(postureOf('capdrop').dropped), sorted(defaults().filter((c) => c !== 'CAP_CHOWN')));
    });

    it('5.3 fails for a container with a capability beyond the default set, naming it, and passes for the default and a dropped set', () => {
      const v = expectVerdict('capadd', '5.3', 'fail', '--cap-add NET_ADMIN');
      assert.match(v.evidence, /CAP_NET_ADMIN/);
      expectVerdict('default', '5.3', 'pass', 'the default set');
      expectVerdict('capdrop', '5.3', 'pass', '--cap-drop ALL --cap-add CHOWN: CHOWN is in the default set');
      for (const key of Object.keys(ids))
        expectVerdict(
          key,
          '5.3',
          postureOf(key).added.length > 0 ? 'fail' : 'pass',
          `added ${postureOf(key).added.join(', ') || 'nothing'}`,
        );
    });

    it('5.4 and 5.17: only a container holding every capability the kernel has is privileged', () => {
      const all = (mask: string) => {
        const v = BigInt(`0x${mask}`);
        for (let bit = 0; bit <= capLastCap; bit++) if (!((v >> BigInt(bit)) & 1n)) return false;
        return true;
      };
      for (const key of Object.keys(ids)) {
        const s = postureOf(key);
        const everything = all(kernel[key].status.CapBnd);
        assert.equal(s.allCapabilities, everything, `${key}: CapBnd ${kernel[key].status.CapBnd} vs cap_last_cap ${capLastCap}`);
        assert.equal(everything, inspected[key].HostConfig.Privileged, `${key}: the oracle agrees with inspect's Privileged`);
        expectVerdict(key, '5.4', everything ? 'fail' : 'pass', `Privileged ${inspected[key].HostConfig.Privileged}`);
      }
      if (ids.privileged) {
        assert.equal(postureOf('privileged').allCapabilities, true);
        expectVerdict('privileged', '5.4', 'fail', '--privileged');
        expectVerdict('privileged', '5.17', 'fail', '--privileged reaches every host device');
      }
      expectVerdict('default', '5.4', 'pass', 'the default set');
      expectVerdict('capadd', '5.4', 'pass', 'one capability added is not privileged');
    });

    it('reads seccomp mode and filters, and no_new_privs, as /proc/PID/status has them; 5.21 and 5.25 follow', () => {
      for (const key of Object.keys(ids)) {
        const s = postureOf(key);
        const st = kernel[key].status;
        assert.equal(s.seccompMode, Number(st.Seccomp), `${key}: Seccomp`);
        assert.equal(s.seccompFilters, Number(st.Seccomp_filters), `${key}: Seccomp_filters`);
        assert.equal(s.noNewPrivs, st.NoNewPrivs === '1', `${key}: NoNewPrivs`);
        expectVerdict(key, '5.21', st.Seccomp === '0' ? 'fail' : 'pass', `Seccomp ${st.Seccomp}`);
        expectVerdict(key, '5.25', st.NoNewPrivs === '1' ? 'pass' : 'fail', `NoNewPrivs ${st.NoNewPrivs}`);
      }
      assert.equal(postureOf('default').seccompMode, 2, "the runtime's default profile is a filter");
      assert.ok(postureOf('default').seccompFilters! >= 1);
      expectVerdict('default', '5.21', 'pass', 'the default profile');
      assert.equal(postureOf('noseccomp').seccompMode, 0);
      assert.ok(
        inspected.noseccomp.HostConfig.SecurityOpt?.some((o) => /^seccomp[=:]unconfined$/.test(o)),
        JSON.stringify(inspected.noseccomp.HostConfig.SecurityOpt),
      );
      expectVerdict('noseccomp', '5.21', 'fail', 'seccomp=unconfined');
      assert.equal(postureOf('nnp').noNewPrivs, true);
      expectVerdict('nnp', '5.25', 'pass', 'no-new-privileges');
      assert.equal(postureOf('default').noNewPrivs, false);
      expectVerdict('default', '5.25', 'fail', 'no-new-privileges not set');
    });

    it("reads uid, gid, the user name and the user namespace maps as the kernel and the container's /etc/passwd have them", () => {
      /** A host id (as the root shell on the daemon's machine reads /proc/PID/status) in the container's user namespace. */
      const inside = (map: KernelOracle['uidMap'], outside: number): number | null => {
        const r = map.find((x) => outside >= x.outside && outside < x.outside + x.count);
        return r ? r.inside + (outside - r.outside) : null;
      };
      for (const key of Object.keys(ids)) {
        const s = postureOf(key);
        const k = kernel[key];
        // The maps as the host reads them (ids outside are the host's): the identity for a rootful runtime.
        assert.deepEqual(s.uidMap, k.uidMap, `${key}: uid_map`);
        assert.deepEqual(s.gidMap, k.gidMap, `${key}: gid_map`);
        const identity = (m: KernelOracle['uidMap']) => m.length > 0 && m.every((r) => r.inside === r.outside);
        assert.equal(s.hostUserNamespace, identity(k.uidMap) && identity(k.gidMap), `${key}: uid_map ${JSON.stringify(k.uidMap)}`);
        const hostUid = Number(k.status.Uid.split(/\s+/)[0]);
        const hostGid = Number(k.status.Gid.split(/\s+/)[0]);
        assert.equal(
          s.uid,
          inside(k.uidMap, hostUid),
          `${key}: real uid in the container (host's Uid: ${k.status.Uid}, uid_map ${JSON.stringify(k.uidMap)})`,
        );
        assert.equal(s.gid, inside(k.gidMap, hostGid), `${key}: real gid in the container (host's Gid: ${k.status.Gid})`);
        const entry = k.passwd.split('\n').find((l) => l.split(':')[2] === String(s.uid));
        assert.equal(s.user, entry ? entry.split(':')[0] : null, `${key}: the name of uid ${s.uid} in the container's /etc/passwd`);
      }
      assert.equal(postureOf('default').uid, 0);
      assert.equal(postureOf('default').user, 'root');
      const u = postureOf('user');
      assert.equal(u.uid, 1000, '--user 1000');
      // The test image has no user 1000; Podman adds one to the container's /etc/passwd (its --passwd default),
      // which the loop above holds the name to.
      if (t.runtime === 'docker') assert.equal(u.user, null, 'the test image has no user 1000');
      assert.deepEqual(u.capabilities!.effective, [], 'a non-root init holds no effective capability');
      assert.deepEqual(u.capabilities!.permitted, []);
      assert.deepEqual(sorted(u.capabilities!.bounding), sorted(defaults()), 'its bounding set is still the default set');
      // Rootful runtimes share the host's user namespace; rootless Podman maps root inside to the user outside.
      assert.equal(postureOf('default').hostUserNamespace, !t.rootless);
    });

    it('reads the LSM label as /proc/PID/attr/current has it; 5.1 (AppArmor) and 5.2 (SELinux) pass on a confining label, and are unknown where the host runs neither', () => {
      const lsmOf = (label: string): string =>
        /^(unconfined|[\w.-]+ \((enforce|complain|kill|unconfined)\))$/.test(label)
          ? 'apparmor'
          : /^\w+_u:\w+_r:\w+_t(:|$)/.test(label)
            ? 'selinux'
            : 'other';
      for (const key of Object.keys(ids)) {
        const s = postureOf(key);
        const label = kernel[key].attr;
        assert.equal(s.lsmLabel, label, `${key}: attr/current`);
        const module = label === null ? null : lsmOf(label);
        if (label === null) assert.doesNotMatch(lsms, /apparmor|selinux/, `${key}: attr/current is empty though the host runs ${lsms}`);
        assert.equal(s.lsm, module, `${key}: the module of ${JSON.stringify(label)}`);
        if (module === 'apparmor') expectVerdict(key, '5.1', /^unconfined\b/.test(label!) ? 'fail' : 'pass', `AppArmor label "${label}"`);
        else expectVerdict(key, '5.1', 'unknown', `no AppArmor label (${JSON.stringify(label)}; lsm "${lsms}")`);
        if (module === 'selinux')
          expectVerdict(key, '5.2', /:(unconfined_t|spc_t)(:|$)/.test(label!) ? 'fail' : 'pass', `SELinux label "${label}"`);
        else expectVerdict(key, '5.2', 'unknown', `no SELinux label (${JSON.stringify(label)}; lsm "${lsms}")`);
      }
      if (target === 'local') {
        // This machine runs no AppArmor and no SELinux: nothing confines, nothing can be said.
        assert.equal(postureOf('default').lsmLabel, null);
        expectVerdict('default', '5.1', 'unknown', 'no LSM here');
      }
      if (ids.privileged && kernel.privileged.attr !== null)
        expectVerdict('privileged', lsmOf(kernel.privileged.attr) === 'selinux' ? '5.2' : '5.1', 'fail', '--privileged runs unconfined');
    });

    it('says the root filesystem is read-only as mountinfo and inspect say; 5.12 follows', () => {
      for (const key of Object.keys(ids)) {
        const root = kernel[key].mounts.filter((m) => m.mountPoint === '/').pop();
        assert.ok(root, `${key}: a root mount in mountinfo`);
        const ro = root.options.includes('ro');
        assert.equal(ro, inspected[key].HostConfig.ReadonlyRootfs, `${key}: mountinfo and inspect agree`);
        assert.equal(postureOf(key).readOnlyRoot, ro, `${key}: readOnlyRoot (${root.options.join(',')})`);
        expectVerdict(key, '5.12', ro ? 'pass' : 'fail', `root mounted ${ro ? 'ro' : 'rw'}`);
      }
      assert.equal(postureOf('readonly').readOnlyRoot, true);
      expectVerdict('readonly', '5.12', 'pass', '--read-only');
      assert.equal(postureOf('default').readOnlyRoot, false);
      expectVerdict('default', '5.12', 'fail', 'a writable root');
    });

    it('reports the runtime socket mounted in, at its real host path; 5.31 fails for it alone', () => {
      const s = postureOf('socket');
      const m = s.sensitiveMounts.filter((x) => x.mountPoint === '/var/run/docker.sock');
      assert.equal(m.length, 1, JSON.stringify(s.sensitiveMounts));
      assert.equal(m[0].kind, 'runtime-socket');
      assert.equal(m[0].hostPath, socketReal, `the host path of ${socket} (readlink -f on the daemon's machine)`);
      assert.equal(m[0].readOnly, false);
      expectVerdict('socket', '5.31', 'fail', `${socket} mounted`);
      for (const key of Object.keys(ids).filter((k) => k !== 'socket' && k !== 'privileged')) {
        assert.ok(!postureOf(key).sensitiveMounts.some((x) => x.kind === 'runtime-socket'), `${key}: no runtime socket`);
        expectVerdict(key, '5.31', 'pass', 'no socket mounted');
      }
    });

    it('reports a bind of the host /etc as a read-only host-dir mount (5.5 fails) and a host device bind (5.17 fails)', () => {
      const etc = postureOf('etc').sensitiveMounts.filter((x) => x.mountPoint === '/hostetc');
      assert.equal(etc.length, 1, JSON.stringify(postureOf('etc').sensitiveMounts));
      assert.equal(etc[0].kind, 'host-dir');
      assert.equal(etc[0].hostPath, '/etc');
      assert.equal(etc[0].readOnly, true);
      expectVerdict('etc', '5.5', 'fail', '-v /etc:/hostetc:ro');
      const dev = postureOf('device').sensitiveMounts.filter((x) => x.mountPoint === '/dev/hostkmsg');
      assert.equal(dev.length, 1, JSON.stringify(postureOf('device').sensitiveMounts));
      assert.equal(dev[0].kind, 'host-device');
      assert.equal(dev[0].hostPath, '/dev/kmsg');
      assert.equal(dev[0].readOnly, true);
      expectVerdict('device', '5.17', 'fail', '-v /dev/kmsg:/dev/hostkmsg:ro');
      for (const key of Object.keys(ids).filter((k) => k !== 'privileged')) {
        const kinds = postureOf(key).sensitiveMounts.map((x) => x.kind);
        expectVerdict(key, '5.5', kinds.includes('host-dir') || kinds.includes('host-root') ? 'fail' : 'pass', `kinds ${kinds.join(', ')}`);
        expectVerdict(key, '5.17', kinds.includes('host-device') ? 'fail' : 'pass', `kinds ${kinds.join(', ')}`);
      }
      expectVerdict('default', '5.5', 'pass', 'no host dir');
      expectVerdict('default', '5.17', 'pass', 'no host device');
    });

    it("reports no sensitive mount for a default container, never the runtime's own binds, and each one's ro and shared flags as mountinfo has them (5.19)", () => {
      for (const key of Object.keys(ids)) {
        const s = postureOf(key);
        for (const m of s.sensitiveMounts) {
          assert.ok(!RUNTIME_OWN.includes(m.mountPoint), `${key}: the runtime's own ${m.mountPoint} is no sensitive mount`);
          assert.ok(
            m.hostPath === null || !/^\/var\/lib\/docker\/containers\/|\/userdata\//.test(m.hostPath),
            `${key}: the runtime's own ${m.hostPath} is no sensitive mount`,
          );
          const line = kernel[key].mounts.filter((x) => x.mountPoint === m.mountPoint).pop();
          assert.ok(line, `${key}: ${m.mountPoint} is a mount in mountinfo`);
          assert.equal(m.readOnly, line.options.includes('ro'), `${key}: ${m.mountPoint} options ${line.options.join(',')}`);
          assert.equal(
            m.shared,
            line.optional.some((o) => o.startsWith('shared:')),
            `${key}: ${m.mountPoint} optional fields ${line.optional.join(' ')}`,
          );
        }
        // No mount of these containers propagates (the runtimes bind rprivate unless told): 5.19 passes.
        const shared = kernel[key].mounts.filter((x) => x.optional.some((o) => o.startsWith('shared:')));
        expectVerdict(
          key,
          '5.19',
          shared.length > 0 ? 'fail' : 'pass',
          `shared mounts: ${shared.map((x) => x.mountPoint).join(', ') || 'none'}`,
        );
        if (shared.length === 0) assert.deepEqual(s.sharedMounts, [], `${key}: mountinfo has no shared mount`);
      }
      // Last, so that the checks above run for every target whatever this says: a default container's
      // mounts are the runtime's own (its /dev, its masked /proc paths, its /etc files), nothing of the host's.
      assert.deepEqual(postureOf('default').sensitiveMounts, [], 'a default container mounts nothing sensitive');
    });

    it("decides the host-namespace rules (5.9, 5.15, 5.16, 5.20, 5.30) by the namespace links readlink shows against the host's", () => {
      for (const key of Object.keys(ids)) {
        for (const [id, ns] of HOST_NS_RULES) {
          const mine = kernel[key].namespaces[ns];
          assert.ok(mine !== undefined && hostNs.namespaces[ns] !== undefined, `${key}: ${ns} links read`);
          const shared = mine === hostNs.namespaces[ns];
          expectVerdict(key, id, shared ? 'fail' : 'pass', `${ns}:[${mine}] vs ${hostNs.from}'s ${ns}:[${hostNs.namespaces[ns]}]`);
        }
      }
      expectVerdict('hostnet', '5.9', 'fail', '--network host');
      expectVerdict('default', '5.9', 'pass', '--network none');
      expectVerdict('hostpid', '5.15', 'fail', '--pid host');
      expectVerdict('hostpid', '5.16', 'fail', '--ipc host');
      expectVerdict('hostpid', '5.20', 'fail', '--uts host');
      expectVerdict('default', '5.15', 'pass', 'a pid namespace of its own');
      expectVerdict('default', '5.16', 'pass', 'an ipc namespace of its own');
      expectVerdict('default', '5.20', 'pass', 'a uts namespace of its own');
      // Rootful runtimes leave every container in the host's user namespace (no userns-remap here). A rootless
      // container never is in it: its uid_map is not the identity, which only the initial namespace's must be,
      // so the engine has what it needs to say pass even where its helper may not read PID 1's user link.
      expectVerdict(
        'default',
        '5.30',
        t.rootless ? 'pass' : 'fail',
        t.rootless ? 'rootless: a user namespace of its own' : 'the host user namespace',
      );
    });

    it('5.10, 5.11 and 5.28 pass with memory, CPU and pids limits, and 5.10, 5.11 fail without', async () => {
      const i = inspected.limits.HostConfig;
      assert.equal(i.Memory, 64 * 1024 * 1024);
      assert.equal(i.NanoCpus, 0.5e9);
      assert.equal(i.PidsLimit, 50);
      expectVerdict('limits', '5.10', 'pass', '--memory 64m');
      expectVerdict('limits', '5.11', 'pass', '--cpus 0.5');
      expectVerdict('limits', '5.28', 'pass', '--pids-limit 50');
      const d = inspected.default.HostConfig;
      assert.equal(d.Memory, 0);
      assert.ok(!d.NanoCpus && !d.CpuQuota && (!d.CpuShares || d.CpuShares === 1024), JSON.stringify(d));
      expectVerdict('default', '5.10', 'fail', 'no memory limit');
      expectVerdict('default', '5.11', 'fail', 'no CPU quota, default shares');
      // 5.28 without --pids-limit: asked for nothing, and the kernel enforces nothing, where both agree
      // (cgroupfs: pids.max is `max`). Under the systemd driver the scope's TasksMax is a pids.max the
      // kernel enforces, and Podman sets containers.conf's pids_limit: those are real limits.
      const pidsMax = (await cgroupFilesOn(t, inspected.default.State.Pid, [['pids', 'pids.max']]))['pids.max'];
      const asked = !!d.PidsLimit && d.PidsLimit > 0;
      if (!asked && pidsMax === 'max') expectVerdict('default', '5.28', 'fail', 'pids.max is max, no --pids-limit');
      else if (asked) expectVerdict('default', '5.28', 'pass', `the runtime's default pids limit ${d.PidsLimit}`);
      else assert.notEqual(verdictOf('default', '5.28').status, 'unknown', `pids.max ${pidsMax} is read`);
    });

    it('audit --json of one container: the documented shape, every verdict gating, and the posture the snapshot has', async () => {
      const r = cli(['audit', nameOf('limits'), '--json', ...cliArgs(t)], cliTimeout);
      const report = JSON.parse(r.stdout) as AuditReport;
      assert.equal(typeof report.takenAt, 'string');
      assert.ok(!Number.isNaN(Date.parse(report.takenAt)), `takenAt ${report.takenAt} is a time`);
      assert.ok(Array.isArray(report.rules));
      assert.equal(report.containers.length, 1);
      const c = report.containers[0];
      assert.equal(c.id, ids.limits);
      assert.equal(c.name, nameOf('limits'));
      assert.equal(c.image, t.helperImage);
      assert.deepEqual(c.errors, []);
      assert.ok(c.security);
      // Without --rules every verdict gates.
      assert.deepEqual(sorted(report.rules), sorted(VERDICT_IDS));
      const failing = c.security.verdicts.filter((v) => v.status === 'fail').map((v) => v.id);
      assert.deepEqual(sorted(c.failed), sorted(failing));
      assert.equal(report.passed, failing.length === 0);
      // The limits container still has a writable root: it fails 5.12, so the audit fails.
      assert.ok(failing.includes('5.12'), failing.join(', '));
      assert.equal(report.passed, false);
      assert.equal(r.code, 1, r.stderr);
      // The same kernel state read by the CLI's own engine: the same posture.
      assert.deepEqual(c.security, postureOf('limits'));
    });

    // How a rules file gates and how the text is laid out do not depend on the runtime: once, with the local
    // target (every target runs `audit --json` above and the not-found case below).
    if (target === 'local')
      it('audit --rules gates on the listed rules only: 5.3 fails a cap-add container (exit 1), 5.4 alone passes it (exit 0)', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-sec-rules-'));
        try {
          const capRules = path.join(dir, 'caps.rules');
          fs.writeFileSync(capRules, '# capabilities only\n\n5.3\n\n# end\n');
          const fail = cli(['audit', nameOf('capadd'), '--json', '--rules', capRules, ...cliArgs(t)], cliTimeout);
          assert.equal(fail.code, 1, fail.stdout + fail.stderr);
          const report = JSON.parse(fail.stdout) as AuditReport;
          assert.deepEqual(report.rules, ['5.3']);
          assert.equal(report.passed, false);
          assert.deepEqual(report.containers[0].failed, ['5.3']);

          const privRules = path.join(dir, 'priv.rules');
          fs.writeFileSync(privRules, '# privileged only\n5.4\n');
          const pass = cli(['audit', nameOf('capadd'), '--json', '--rules', privRules, ...cliArgs(t)], cliTimeout);
          assert.equal(pass.code, 0, pass.stdout + pass.stderr);
          const ok = JSON.parse(pass.stdout) as AuditReport;
          assert.deepEqual(ok.rules, ['5.4']);
          assert.equal(ok.passed, true);
          assert.deepEqual(ok.containers[0].failed, []);

          // The text: a heading for the container, then one line per verdict, 5.3 failing on CAP_NET_ADMIN.
          const text = cli(['audit', nameOf('capadd'), '--rules', capRules, ...cliArgs(t)], cliTimeout);
          assert.equal(text.code, 1, text.stderr);
          const lines = text.stdout.split('\n');
          const rows = lines.filter((l) => ROW.test(l));
          assert.equal(rows.length, VERDICT_IDS.length, text.stdout);
          const row = (id: string) => rows.find((l) => ROW.exec(l)![3] === id);
          assert.match(row('5.3') ?? '', /^\s*FAIL\s+5\.3\s.*CAP_NET_ADMIN/, text.stdout);
          // Only the listed rule gates; every other row says it does not.
          assert.equal(rows.filter((l) => !ROW.exec(l)![2]).length, 1, text.stdout);
          for (const id of VERDICT_IDS.filter((x) => x !== '5.3'))
            assert.ok(ROW.exec(row(id) ?? '')?.[2], `${id} is marked not gating: ${row(id)}`);
          const heading = lines.findIndex((l) => l.includes(nameOf('capadd')));
          assert.ok(heading >= 0 && heading < lines.indexOf(rows[0]), `a heading names the container before its rows: ${text.stdout}`);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });

    it('audit of a container that does not exist exits 3 naming it', () => {
      const r = cli(['audit', 'xray-it-sec-no-such-container-4242', ...cliArgs(t)], cliTimeout);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stderr, /xray-it-sec-no-such-container-4242/);
    });

    it('a container whose labels carry markup and control characters is audited like any other, and no raw control character reaches the terminal', () => {
      assert.equal(inspected.hostile.Config.Labels['xray.hostile'], HOSTILE, 'the daemon kept the label as given');
      const s = postureOf('hostile');
      assert.deepEqual(sorted(s.capabilities!.bounding), sorted(defaults()));
      // The CLI's rendering of it does not depend on the runtime: once, with the local target.
      if (target !== 'local') return;
      const json = cli(['audit', nameOf('hostile'), '--json', ...cliArgs(t)], cliTimeout);
      assert.ok(json.code === 0 || json.code === 1, json.stderr);
      const report = JSON.parse(json.stdout) as AuditReport;
      assert.equal(report.containers.length, 1);
      assert.equal(report.containers[0].id, ids.hostile);
      assert.deepEqual(report.containers[0].security, s);
      const text = cli(['audit', nameOf('hostile'), ...cliArgs(t)], cliTimeout);
      assert.equal(text.code, json.code);
      assert.doesNotMatch(text.stdout, RAW_CONTROL, 'no raw control character reaches the terminal');
      assert.equal(text.stdout.split('\n').filter((l) => ROW.test(l)).length, VERDICT_IDS.length, text.stdout);
    });
  });
}
