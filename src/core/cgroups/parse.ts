// Pure parsers for cgroup v1 and v2 files, /proc/PID/cgroup and cgroup mounts. Text in, typed value or
// typed error out: nothing here touches the filesystem or throws, whatever the input.
import type { CgroupDriver, CgroupVersion, PressureLine, PressureStat } from '../../shared/model';
import type { MountinfoEntry } from '../procfs/mountinfo';
import { Parsed, fail, ok, quoteInput } from '../util/result';

// ---- /proc/PID/cgroup ----

/** One line of /proc/PID/cgroup: `hierarchy-ID:controller-list:cgroup-path` (see cgroups(7)). */
export interface ProcCgroupEntry {
  /** 0 for the unified (v2) hierarchy. */
  hierarchyId: number;
  /** v1 controllers bound to the hierarchy (`cpu`, `cpuacct`, `name=systemd`); empty for v2. */
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): Parsed<ProcCgroupEntry[]> {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // The path is everything after the second colon: it may itself hold colons.
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) return fail(`malformed /proc/PID/cgroup line ${quoteInput(line)}: expected ID:CONTROLLERS:PATH`);
    const hierarchyId = Number(m[1]);
    const controllers = m[2] === '' ? [] : m[2].split(',');
    if (!Number.isSafeInteger(hierarchyId) || controllers.some((c) => c === '')) {
      return fail(`malformed /proc/PID/cgroup line ${quoteInput(line)}: bad hierarchy id or controller list`);
    }
    if (!m[3].startsWith('/')) return fail(`malformed /proc/PID/cgroup line ${quoteInput(line)}: path is not absolute`);
    out.push({ hierarchyId, controllers, path: m[3] });
  }
  if (out.length === 0) return fail('empty /proc/PID/cgroup: no cgroup lines');
  return ok(out);
}

// ---- single values ----

const UNLIMITED_FROM = 2n ** 62n;

/**
 * A limit: null when unlimited. v2 writes `max`; v1 writes -1 (cfs quota) or PAGE_COUNTER_MAX in bytes
 * (9223372036854771712 with 4 KiB pages, other values with other page sizes), so anything ≥ 2^62 is
 * unlimited. Compared as BigInt because those values are beyond a double's exact range.
 */
export function parseLimit(text: string): Parsed<number | null> {
  const s = text.trim();
  if (s === 'max' || s === '-1') return ok(null);
  if (!/^\d+$/.test(s)) return fail(`expected a number or "max", got ${quoteInput(s)}`);
  if (BigInt(s) >= UNLIMITED_FROM) return ok(null);
  return ok(Number(s));
}

/** A kernel value is at most a 64-bit integer (20 digits): longer digit runs are not numbers it wrote (nor finite doubles). */
const UINT = /^\d{1,20}$/;

/** A non-negative integer counter or setting. Counters past 2^53 lose exactness but stay close. */
export function parseUint(text: string): Parsed<number> {
  const s = text.trim();
  if (!UINT.test(s)) return fail(`expected a non-negative integer, got ${quoteInput(s)}`);
  return ok(Number(s));
}

/** v1 cpu.cfs_quota_us: microseconds per period, -1 for no quota. */
export function parseCfsQuota(text: string): Parsed<number | null> {
  const s = text.trim();
  if (s === '-1') return ok(null);
  if (!UINT.test(s) || Number(s) === 0) return fail(`expected a positive quota in µs or -1, got ${quoteInput(s)}`);
  return ok(Number(s));
}

/** v2 cpu.max: `$MAX $PERIOD`, `max` meaning no quota. */
export function parseCpuMax(text: string): Parsed<{ quotaUs: number | null; periodUs: number }> {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 2) return fail(`expected "QUOTA PERIOD" (e.g. "max 100000"), got ${quoteInput(text.trim())}`);
  const [q, p] = fields;
  if (!UINT.test(p) || Number(p) === 0) return fail(`bad period in cpu.max ${quoteInput(text.trim())}`);
  if (q === 'max') return ok({ quotaUs: null, periodUs: Number(p) });
  if (!UINT.test(q) || Number(q) === 0) return fail(`bad quota in cpu.max ${quoteInput(text.trim())}`);
  return ok({ quotaUs: Number(q), periodUs: Number(p) });
}

function parseRanged(text: string, what: string, min: number, max: number): Parsed<number> {
  const r = parseUint(text);
  if (!r.ok) return r;
  if (r.value < min || r.value > max) return fail(`${what} ${r.value} is outside ${min}..${max}`);
  return r;
}

/** v2 cpu.weight: 1..10000, 100 by default. */
export function parseCpuWeight(text: string): Parsed<number> {
  return parseRanged(text, 'cpu.weight', 1, 10000);
}

/** v1 cpu.shares: the kernel clamps to 2..262144; 1024 by default. */
export function parseCpuShares(text: string): Parsed<number> {
  return parseRanged(text, 'cpu.shares', 2, 262144);
}

/** v1 blkio.weight (CFQ, 10..1000) or blkio.bfq.weight (1..1000). */
export function parseBlkioWeight(text: string): Parsed<number> {
  return parseRanged(text, 'blkio weight', 1, 1000);
}

/** cgroup.procs: one PID a line (unsorted; may repeat across reads). */
export function parseProcs(text: string): Parsed<number[]> {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const s = line.trim();
    if (s === '') continue;
    if (!UINT.test(s) || Number(s) === 0) return fail(`expected one PID a line, got ${quoteInput(s)}`);
    out.push(Number(s));
  }
  return ok(out);
}

// ---- keyed files ----

/** Flat keyed files (memory.stat, cpu.stat, memory.events, pids.events, cpuacct.stat, memory.oom_control). */
export function parseFlatKeyed(text: string): Parsed<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 2 || !/^-?\d{1,20}$/.test(fields[1])) {
      return fail(`malformed line ${quoteInput(line)}: expected "KEY VALUE"`);
    }
    out.set(fields[0], Number(fields[1]));
  }
  return ok(out);
}

/**
 * Nested keyed files (v2 io.stat, io.max): `8:0 rbytes=1 wbytes=2 …`, `max` meaning unlimited (null).
 * io.stat may carry decimals from io.cost (`cost.vrate=135.04`), so values are any finite number.
 */
export function parseNestedKeyed(text: string): Parsed<Map<string, Map<string, number | null>>> {
  const out = new Map<string, Map<string, number | null>>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [key, ...pairs] = line.trim().split(/\s+/);
    const values = new Map<string, number | null>();
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const v = pair.slice(eq + 1);
      if (eq <= 0 || !(v === 'max' || /^-?\d{1,20}(\.\d{1,20})?$/.test(v))) {
        return fail(`malformed line ${quoteInput(line)}: expected "KEY NAME=VALUE …", got ${quoteInput(pair)}`);
      }
      values.set(name, v === 'max' ? null : Number(v));
    }
    out.set(key, values);
  }
  return ok(out);
}

/** Adds one key across the devices of a nested keyed file (absent keys count 0). */
export function sumNestedKey(map: Map<string, Map<string, number | null>>, key: string): number {
  let sum = 0;
  for (const values of map.values()) sum += values.get(key) ?? 0;
  return sum;
}

/** v2 io.weight / io.bfq.weight: `default 100` then optional `MAJ:MIN WEIGHT` lines. */
export function parseIoWeight(text: string): Parsed<{ defaultWeight: number; devices: Map<string, number> }> {
  let defaultWeight: number | null = null;
  const devices = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 2 || !UINT.test(fields[1])) return fail(`malformed io weight line ${quoteInput(line)}`);
    if (fields[0] === 'default') defaultWeight = Number(fields[1]);
    else if (/^\d+:\d+$/.test(fields[0])) devices.set(fields[0], Number(fields[1]));
    else return fail(`malformed io weight line ${quoteInput(line)}`);
  }
  if (defaultWeight === null) return fail('io weight file has no "default" line');
  return ok({ defaultWeight, devices });
}

// ---- v1 blkio ----

/** Per-device byte or op counts from blkio.*io_service_bytes* / *io_serviced*, keyed by lower-cased op. */
export interface BlkioRwstat {
  devices: Map<string, Map<string, number>>;
  /** The closing `Total N` line, when present. */
  total: number | null;
}

const BLKIO_OPS = new Set(['Read', 'Write', 'Sync', 'Async', 'Discard', 'Total']);

/** `8:0 Read 123` … `8:0 Total 123` per device, then `Total N`. */
export function parseBlkioRwstat(text: string): Parsed<BlkioRwstat> {
  const devices = new Map<string, Map<string, number>>();
  let total: number | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    if (f.length === 2 && f[0] === 'Total' && UINT.test(f[1])) {
      total = Number(f[1]);
      continue;
    }
    if (f.length !== 3 || !/^\d+:\d+$/.test(f[0]) || !BLKIO_OPS.has(f[1]) || !UINT.test(f[2])) {
      return fail(`malformed blkio stat line ${quoteInput(line)}: expected "MAJ:MIN OP VALUE"`);
    }
    let ops = devices.get(f[0]);
    if (!ops) devices.set(f[0], (ops = new Map()));
    ops.set(f[1].toLowerCase(), Number(f[2]));
  }
  return ok({ devices, total });
}

/** Adds one op (`read`, `write`) across devices. */
export function sumBlkioOp(stat: BlkioRwstat, op: string): number {
  let sum = 0;
  for (const ops of stat.devices.values()) sum += ops.get(op) ?? 0;
  return sum;
}

/** blkio.throttle.{read,write}_{bps,iops}_device: `MAJ:MIN VALUE` lines (empty when none set). */
export function parseBlkioDeviceValues(text: string): Parsed<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    if (f.length !== 2 || !/^\d+:\d+$/.test(f[0]) || !UINT.test(f[1])) {
      return fail(`malformed device line ${quoteInput(line)}: expected "MAJ:MIN VALUE"`);
    }
    out.set(f[0], Number(f[1]));
  }
  return ok(out);
}

/** Orders `major:minor` strings numerically. */
export function compareDevices(a: string, b: string): number {
  const [am, an] = a.split(':').map(Number);
  const [bm, bn] = b.split(':').map(Number);
  return am - bm || an - bn;
}

// ---- cpuset lists ----

/** More CPUs than any machine has; bounds the work a hostile `0-4294967295` can cause. */
const MAX_CPU_ID = 1 << 16;

/** A cpuset list (`0-1,3`, or empty) as sorted, distinct numbers. */
export function parseCpuList(text: string): Parsed<number[]> {
  const s = text.trim();
  if (s === '') return ok([]);
  const set = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return fail(`malformed cpu list ${quoteInput(s)}: expected e.g. "0-1,3"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > MAX_CPU_ID) return fail(`malformed cpu list ${quoteInput(s)}: bad range ${quoteInput(part)}`);
    for (let i = lo; i <= hi; i++) set.add(i);
  }
  return ok([...set].sort((a, b) => a - b));
}

/** The kernel's canonical form of a list: ranges joined by commas. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Whether two lists name the same CPUs (`0-1` and `0,1` do); false when either is malformed. */
export function sameCpuList(a: string, b: string): boolean {
  const pa = parseCpuList(a);
  const pb = parseCpuList(b);
  return pa.ok && pb.ok && pa.value.length === pb.value.length && pa.value.every((v, i) => v === pb.value[i]);
}

// ---- mounts ----

export interface CgroupMount {
  mountPoint: string;
  /** The cgroup that forms the root of the mount (`/` on the host; the container's own path inside one). */
  root: string;
}

export interface CgroupMounts {
  /** v1 hierarchies by controller (`cpu`, `memory`, `name=systemd` …); co-mounted controllers share one. */
  v1: Map<string, CgroupMount>;
  v2: CgroupMount | null;
}

// Mount options of the cgroup v1 filesystem that are not controllers.
const V1_NON_CONTROLLER_OPTIONS = new Set([
  'rw',
  'ro',
  'xattr',
  'noprefix',
  'clone_children',
  'cpuset_v2_mode',
  'favordynmods',
  'nofavordynmods',
  'none',
  'all',
  'sane_behavior',
  '__DEVEL__sane_behavior',
]);

/** Which controllers a v1 cgroup mount carries, from its super options. */
export function v1MountControllers(superOptions: readonly string[]): string[] {
  return superOptions.filter((o) => o.startsWith('name=') || (o !== '' && !o.includes('=') && !V1_NON_CONTROLLER_OPTIONS.has(o)));
}

/**
 * The cgroup filesystems in a mountinfo. When one hierarchy is mounted twice (a bind mount, a
 * container's view), the mount of the hierarchy root wins, else the first seen.
 */
export function findCgroupMounts(entries: readonly MountinfoEntry[]): CgroupMounts {
  const v1 = new Map<string, CgroupMount>();
  let v2: CgroupMount | null = null;
  const better = (old: CgroupMount | null | undefined, root: string): boolean => !old || (old.root !== '/' && root === '/');
  for (const e of entries) {
    const mount = { mountPoint: e.mountPoint, root: e.root };
    if (e.fsType === 'cgroup2') {
      if (better(v2, e.root)) v2 = mount;
    } else if (e.fsType === 'cgroup') {
      for (const c of v1MountControllers(e.superOptions)) if (better(v1.get(c), e.root)) v1.set(c, mount);
    }
  }
  return { v1, v2 };
}

/**
 * The directory holding a cgroup's files: the mount point plus the path below the mount's root.
 * null when the path does not lie under the mount's root (another cgroup namespace's view) or climbs
 * out with `..`.
 */
export function cgroupDir(mount: CgroupMount, cgroupPath: string): string | null {
  if (cgroupPath.split('/').some((seg) => seg === '..' || seg === '.')) return null;
  const root = mount.root.replace(/\/+$/, '');
  const path = cgroupPath.replace(/\/+$/, '');
  let rest: string;
  if (root === '') rest = path;
  else if (path === root) rest = '';
  else if (path.startsWith(`${root}/`)) rest = path.slice(root.length);
  else return null;
  const base = mount.mountPoint.replace(/\/+$/, '');
  return `${base}${rest}` || '/';
}

// ---- what kind of cgroup ----

/** v1 controllers whose place decides the version: Docker's limits live where these are. */
const DECIDING_CONTROLLERS = ['memory', 'pids'];

/**
 * v1 when the process's memory or pids controller lives on a mounted v1 hierarchy (a v1 or hybrid
 * host, whose unified tree holds no controllers); v2 when the process sits in the unified hierarchy
 * only. null when neither is mounted here.
 */
export function decideCgroupVersion(entries: readonly ProcCgroupEntry[], mounts: CgroupMounts): CgroupVersion | null {
  const v1Lines = entries.filter((e) => e.hierarchyId !== 0);
  if (v1Lines.some((e) => e.controllers.some((c) => DECIDING_CONTROLLERS.includes(c) && mounts.v1.has(c)))) return 1;
  if (mounts.v2 && entries.some((e) => e.hierarchyId === 0)) return 2;
  if (v1Lines.some((e) => e.controllers.some((c) => mounts.v1.has(c)))) return 1;
  return null;
}

/**
 * systemd names a container's cgroup `docker-<id>.scope` (in a `.slice`); cgroupfs uses plain
 * directories (`/docker/<id>`). Only the leaf counts: rootless cgroupfs paths also pass through
 * `user.slice`.
 */
export function detectCgroupDriver(path: string): CgroupDriver {
  const parts = path.replace(/\/+$/, '').split('/');
  const leaf = parts.pop() ?? '';
  if (leaf.endsWith('.scope') || leaf.endsWith('.slice')) return 'systemd';
  // Podman under systemd puts the processes in a `container` child of its `libpod-<id>.scope`.
  return parts.some((p) => p.endsWith('.scope')) ? 'systemd' : 'cgroupfs';
}

/** Rootless Docker runs under a user's systemd instance: `/user.slice/user-1000.slice/user@1000.service/…`. */
export function isRootlessPath(path: string): boolean {
  return path.startsWith('/user.slice/') || /\/user@\d+\.service(\/|$)/.test(path);
}

// ---- pressure stall information ----

const PSI_LINE = /^(some|full) avg10=(\d+(?:\.\d+)?) avg60=(\d+(?:\.\d+)?) avg300=(\d+(?:\.\d+)?) total=(\d{1,20})$/;

/** A PSI file (cpu.pressure, memory.pressure, io.pressure): a `some` line and, since Linux 5.13 for cpu, a `full` one. */
export function parsePressure(text: string): Parsed<PressureStat> {
  let some: PressureLine | null = null;
  let full: PressureLine | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = PSI_LINE.exec(line.trim());
    if (!m) return fail(`malformed pressure line ${quoteInput(line)}: expected "some|full avg10=… avg60=… avg300=… total=…"`);
    const value: PressureLine = { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), totalUs: Number(m[5]) };
    if (m[1] === 'some') some = value;
    else full = value;
  }
  if (!some) return fail(`no "some" line in ${quoteInput(text)}`);
  return ok({ some, full });
}
