// Reads a container's cgroup (v1 or v2) through HostFiles into the one model of src/shared/model.ts.
// Every field is read on its own: a missing file is null, an unreadable or malformed one is a
// FieldError on that field, and the other fields still arrive.
import type { BlkioThrottle, CgroupInfo, CgroupLimits, CgroupPressure, CgroupUsage, FieldError } from '../../shared/model';
import { HostFiles, describeReadError, errorCode, isGone } from '../util/hostFiles';
import { Parsed, ok } from '../util/result';
import {
  BlkioRwstat,
  CgroupMounts,
  ProcCgroupEntry,
  cgroupDir,
  compareDevices,
  decideCgroupVersion,
  detectCgroupDriver,
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
} from './parse';

export interface ContainerCgroupRead {
  cgroup: CgroupInfo | null;
  /** Host PIDs of every process in the container's cgroup and its descendants, sorted. */
  pids: number[];
  errors: FieldError[];
}

export interface ReadCgroupOptions {
  /** The host's CPUs (`0-3`) when the caller knows them; else read from the cpuset root. */
  hostCpus?: string;
  /** Limits known to be current (nothing changed them since they were read): usage is read, limits are not. */
  knownLimits?: CgroupLimits;
}

/** v1 controllers the reader uses. */
const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio'] as const;

/** Nanoseconds per USER_HZ tick of cpuacct.stat (USER_HZ is 100 on every Linux ABI Docker runs on). */
const NS_PER_USER_HZ_TICK = 1e7;

// Weights that mean "not set": CFQ's blkio.weight, BFQ's and v2's io weights.
const DEFAULT_BLKIO_WEIGHT = 500;
const DEFAULT_BFQ_WEIGHT = 100;
const DEFAULT_IO_WEIGHT = 100;

type Outcome = { state: 'ok'; text: string } | { state: 'missing' } | { state: 'error'; reason: string };
type Got<T> = { state: 'ok'; value: T } | { state: 'missing' } | { state: 'error' };

/** Reads each file once, however many fields need it, and collects field errors. */
class FieldReader {
  private readonly cache = new Map<string, Promise<Outcome>>();
  private readonly parsed = new Map<string, Map<unknown, Parsed<unknown>>>();
  readonly errors: FieldError[] = [];
  /** A file vanished: the container may have exited mid-read. */
  sawMissing = false;

  constructor(private readonly files: HostFiles) {}

  read(file: string): Promise<Outcome> {
    let p = this.cache.get(file);
    if (!p) {
      p = this.files.readText(file).then(
        (text): Outcome => ({ state: 'ok', text }),
        (err: unknown): Outcome => {
          if (isGone(err)) {
            this.sawMissing = true;
            return { state: 'missing' };
          }
          return { state: 'error', reason: describeReadError(err, file) };
        },
      );
      this.cache.set(file, p);
    }
    return p;
  }

  addError(field: string, reason: string): void {
    if (!this.errors.some((e) => e.field === field && e.reason === reason)) this.errors.push({ field, reason });
  }

  /** `file` parsed for `field`; missing when the directory or file is absent. */
  async get<T>(field: string, file: string | null, parse: (text: string) => Parsed<T>): Promise<Got<T>> {
    if (file === null) return { state: 'missing' };
    const o = await this.read(file);
    if (o.state === 'missing') return o;
    if (o.state === 'error') {
      this.addError(field, o.reason);
      return { state: 'error' };
    }
    // Several fields come from one file (memory.stat, cpu.stat): parse it once per parser.
    let byParser = this.parsed.get(file);
    if (!byParser) this.parsed.set(file, (byParser = new Map()));
    let r = byParser.get(parse) as Parsed<T> | undefined;
    if (!r) {
      r = parse(o.text);
      byParser.set(parse, r);
    }
    if (!r.ok) {
      this.addError(field, `${file}: ${r.error}`);
      return { state: 'error' };
    }
    return { state: 'ok', value: r.value };
  }

  /** Like get, null for anything but a value. */
  async value<T>(field: string, file: string | null, parse: (text: string) => Parsed<T>): Promise<T | null> {
    const g = await this.get(field, file, parse);
    return g.state === 'ok' ? g.value : null;
  }

  /** One key of a flat keyed file; null when the file or key is absent. */
  async key(field: string, file: string | null, key: string): Promise<number | null> {
    const m = await this.value(field, file, parseFlatKeyed);
    return m?.get(key) ?? null;
  }
}

const L = (name: keyof CgroupLimits): string => `cgroup.limits.${name}`;
const U = (name: keyof CgroupUsage): string => `cgroup.usage.${name}`;

function at(dir: string | null, file: string): string | null {
  return dir === null ? null : `${dir}/${file}`;
}

/**
 * The cgroup's pressure stall information. A kernel built without PSI, or booted with psi=0, has no
 * pressure files (or refuses to read them): null then, and no error.
 */
async function readPressure(r: FieldReader, f: (name: string) => string): Promise<CgroupPressure | null> {
  const one = async (kind: 'cpu' | 'memory' | 'io') => {
    const file = f(`${kind}.pressure`);
    const o = await r.read(file);
    if (o.state !== 'ok') {
      if (o.state === 'error' && !/not supported|EOPNOTSUPP/i.test(o.reason)) r.addError(U('pressure'), o.reason);
      return null;
    }
    const parsed = parsePressure(o.text);
    if (!parsed.ok) {
      r.addError(U('pressure'), `${file}: ${parsed.error}`);
      return null;
    }
    return parsed.value;
  };
  const [cpu, memory, io] = await Promise.all([one('cpu'), one('memory'), one('io')]);
  return cpu || memory || io ? { cpu, memory, io } : null;
}

function exited(dir: string): ContainerCgroupRead {
  return {
    cgroup: null,
    pids: [],
    errors: [{ field: 'cgroup', reason: `the container exited: its cgroup directory ${dir} no longer exists` }],
  };
}

/**
 * Reads the cgroup of a container's init process.
 * @param procCgroupText the text of /proc/PID/cgroup of that process
 * @param mounts the host's cgroup mounts (findCgroupMounts on /proc/1/mountinfo or the engine's own)
 */
export async function readContainerCgroup(
  files: HostFiles,
  procCgroupText: string,
  mounts: CgroupMounts,
  opts: ReadCgroupOptions = {},
): Promise<ContainerCgroupRead> {
  const parsed = parseProcCgroup(procCgroupText);
  if (!parsed.ok) return { cgroup: null, pids: [], errors: [{ field: 'cgroup', reason: parsed.error }] };
  const entries = parsed.value;
  const version = decideCgroupVersion(entries, mounts);
  if (version === null) {
    return {
      cgroup: null,
      pids: [],
      errors: [
        { field: 'cgroup', reason: 'no cgroup filesystem holding this process is mounted here (no cgroup or cgroup2 entry in mountinfo)' },
      ],
    };
  }
  return version === 1 ? readV1(files, entries, mounts, opts) : readV2(files, entries, mounts, opts);
}

async function readV1(
  files: HostFiles,
  entries: ProcCgroupEntry[],
  mounts: CgroupMounts,
  opts: ReadCgroupOptions,
): Promise<ContainerCgroupRead> {
  const r = new FieldReader(files);
  const dirs: Record<string, string> = {};
  const pathOf = (c: string): string | null => entries.find((e) => e.hierarchyId !== 0 && e.controllers.includes(c))?.path ?? null;
  for (const c of V1_CONTROLLERS) {
    const mount = mounts.v1.get(c);
    const p = pathOf(c);
    if (!mount || p === null) continue;
    const dir = cgroupDir(mount, p);
    if (dir === null) r.addError('cgroup', `cgroup path ${p} of the ${c} controller lies outside its mount's root ${mount.root}`);
    else dirs[c] = dir;
  }
  const path = pathOf('memory') ?? pathOf('pids') ?? entries.find((e) => e.hierarchyId !== 0)?.path ?? '/';
  const procsDir = dirs.pids ?? dirs.memory ?? Object.values(dirs)[0];
  if (procsDir === undefined) {
    return {
      cgroup: null,
      pids: [],
      errors: [...r.errors, { field: 'cgroup', reason: 'none of the v1 controllers of this process is mounted here' }],
    };
  }
  if ((await r.read(`${procsDir}/cgroup.procs`)).state === 'missing') return exited(procsDir);

  const d = (c: string): string | null => dirs[c] ?? null;
  const mem = d('memory');
  const cpu = d('cpu');
  const acct = d('cpuacct');
  const cpuset = d('cpuset');
  const pidsDir = d('pids');
  const blkio = d('blkio');
  const cpusetRoot = mounts.v1.get('cpuset')?.mountPoint ?? null;

  const [limits, usage, pids] = await Promise.all([
    opts.knownLimits ??
      (async (): Promise<CgroupLimits> => {
        const [
          memoryBytes,
          memorySwapBytes,
          memoryReservationBytes,
          quota,
          period,
          cpuShares,
          cpusets,
          pidsMax,
          blkioWeight,
          blkioThrottles,
        ] = await Promise.all([
          r.value(L('memoryBytes'), at(mem, 'memory.limit_in_bytes'), parseLimit),
          r.value(L('memorySwapBytes'), at(mem, 'memory.memsw.limit_in_bytes'), parseLimit),
          r.value(L('memoryReservationBytes'), at(mem, 'memory.soft_limit_in_bytes'), parseLimit),
          r.value(L('cpuQuotaUs'), at(cpu, 'cpu.cfs_quota_us'), parseCfsQuota),
          r.value(L('cpuPeriodUs'), at(cpu, 'cpu.cfs_period_us'), parseUint),
          r.value(L('cpuShares'), at(cpu, 'cpu.shares'), parseCpuShares),
          readV1Cpusets(r, cpuset, cpusetRoot, opts),
          r.value(L('pidsMax'), at(pidsDir, 'pids.max'), parseLimit),
          readV1BlkioWeight(r, blkio),
          readV1Throttles(r, blkio),
        ]);
        if (quota !== null && period === null) r.addError(L('cpus'), 'the CPU quota is set but cpu.cfs_period_us could not be read');
        return {
          memoryBytes,
          memorySwapBytes,
          memorySwapMeaning: 'memory+swap',
          memoryReservationBytes,
          cpus: quota !== null && period ? quota / period : null,
          cpuQuotaUs: quota,
          cpuPeriodUs: period,
          cpuShares,
          cpuWeight: null,
          ...cpusets,
          pidsMax,
          blkioWeight,
          blkioThrottles,
        };
      })(),
    (async (): Promise<CgroupUsage> => {
      const stat = (field: string, key: string): Promise<number | null> =>
        r.value(field, at(mem, 'memory.stat'), parseFlatKeyed).then((m) => m?.get(`total_${key}`) ?? m?.get(key) ?? null);
      const cpuStat = (field: string, key: string): Promise<number | null> => r.key(field, at(cpu, 'cpu.stat'), key);
      const [memoryBytes, memoryPeakBytes, workingSetBytes, cacheBytes, rssBytes, swapBytes, memoryLimitHits, oomKills] = await Promise.all(
        [
          r.value(U('memoryBytes'), at(mem, 'memory.usage_in_bytes'), parseUint),
          r.value(U('memoryPeakBytes'), at(mem, 'memory.max_usage_in_bytes'), parseUint),
          workingSet(r, at(mem, 'memory.usage_in_bytes'), at(mem, 'memory.stat'), 'total_inactive_file', 'inactive_file'),
          stat(U('cacheBytes'), 'cache'),
          stat(U('rssBytes'), 'rss'),
          stat(U('swapBytes'), 'swap'),
          r.value(U('memoryLimitHits'), at(mem, 'memory.failcnt'), parseUint),
          r.key(U('oomKills'), at(mem, 'memory.oom_control'), 'oom_kill'),
        ],
      );
      const underOom = await r.key(U('underOom'), at(mem, 'memory.oom_control'), 'under_oom');
      const [cpuUsageNs, cpuUserNs, cpuSystemNs, cpuPeriods, cpuThrottledPeriods, cpuThrottledNs] = await Promise.all([
        r.value(U('cpuUsageNs'), at(acct, 'cpuacct.usage'), parseUint),
        cpuacctSplit(r, acct, 'user'),
        cpuacctSplit(r, acct, 'sys'),
        cpuStat(U('cpuPeriods'), 'nr_periods'),
        cpuStat(U('cpuThrottledPeriods'), 'nr_throttled'),
        cpuStat(U('cpuThrottledNs'), 'throttled_time'),
      ]);
      const [pidsCurrent, io] = await Promise.all([
        r.value(U('pidsCurrent'), at(pidsDir, 'pids.current'), parseUint),
        readV1IoBytes(r, blkio),
      ]);
      return {
        memoryBytes,
        memoryPeakBytes,
        workingSetBytes,
        cacheBytes,
        rssBytes,
        swapBytes,
        memoryLimitHits,
        oomKills,
        oomEvents: null,
        memoryHighHits: null,
        underOom: underOom === null ? null : underOom !== 0,
        // Pressure stall information exists per cgroup on v2 only.
        pressure: null,
        cpuUsageNs,
        cpuUserNs,
        cpuSystemNs,
        cpuPeriods,
        cpuThrottledPeriods,
        cpuThrottledNs,
        pidsCurrent,
        ioReadBytes: io ? sumBlkioOp(io, 'read') : null,
        ioWriteBytes: io ? sumBlkioOp(io, 'write') : null,
      };
    })(),
    collectPids(files, r, procsDir),
  ]);

  if (r.sawMissing && (await stillThere(files, procsDir)) === false) return exited(procsDir);
  const cgroup: CgroupInfo = { version: 1, driver: detectCgroupDriver(path), path, dirs, rootless: isRootlessPath(path), limits, usage };
  return { cgroup, pids, errors: r.errors };
}

async function readV2(
  files: HostFiles,
  entries: ProcCgroupEntry[],
  mounts: CgroupMounts,
  opts: ReadCgroupOptions,
): Promise<ContainerCgroupRead> {
  const r = new FieldReader(files);
  const mount = mounts.v2;
  const line = entries.find((e) => e.hierarchyId === 0);
  if (!mount || !line)
    return { cgroup: null, pids: [], errors: [{ field: 'cgroup', reason: 'no cgroup2 mount or 0:: line for this process' }] };
  const path = line.path;
  const dir = cgroupDir(mount, path);
  if (dir === null) {
    return {
      cgroup: null,
      pids: [],
      errors: [{ field: 'cgroup', reason: `cgroup path ${path} lies outside the cgroup2 mount's root ${mount.root}` }],
    };
  }
  if ((await r.read(`${dir}/cgroup.procs`)).state === 'missing') return exited(dir);
  const f = (name: string): string => `${dir}/${name}`;
  const rootDir = mount.mountPoint.replace(/\/+$/, '') || '';

  const [limits, usage, pids] = await Promise.all([
    opts.knownLimits ??
      (async (): Promise<CgroupLimits> => {
        const [memoryBytes, memorySwapBytes, low, cpuMax, cpuWeight, cpusets, pidsMax, blkioWeight, ioMax] = await Promise.all([
          r.value(L('memoryBytes'), f('memory.max'), parseLimit),
          r.value(L('memorySwapBytes'), f('memory.swap.max'), parseLimit),
          r.value(L('memoryReservationBytes'), f('memory.low'), parseLimit),
          r.value(L('cpuQuotaUs'), f('cpu.max'), parseCpuMax),
          r.value(L('cpuWeight'), f('cpu.weight'), parseCpuWeight),
          readV2Cpusets(r, dir, rootDir, opts),
          r.value(L('pidsMax'), f('pids.max'), parseLimit),
          readV2IoWeight(r, dir),
          r.value(L('blkioThrottles'), f('io.max'), parseNestedKeyed),
        ]);
        // cpu.max carries quota and period together: an error there concerns all three fields.
        for (const e of r.errors.filter((x) => x.field === L('cpuQuotaUs'))) {
          r.addError(L('cpuPeriodUs'), e.reason);
          r.addError(L('cpus'), e.reason);
        }
        const blkioThrottles: BlkioThrottle[] = [];
        for (const [device, v] of ioMax ?? []) {
          blkioThrottles.push({
            device,
            readBps: v.get('rbps') ?? null,
            writeBps: v.get('wbps') ?? null,
            readIops: v.get('riops') ?? null,
            writeIops: v.get('wiops') ?? null,
          });
        }
        blkioThrottles.sort((a, b) => compareDevices(a.device, b.device));
        return {
          memoryBytes,
          memorySwapBytes,
          memorySwapMeaning: 'swap',
          // memory.low 0 protects nothing: no reservation.
          memoryReservationBytes: low === 0 ? null : low,
          cpus: cpuMax && cpuMax.quotaUs !== null ? cpuMax.quotaUs / cpuMax.periodUs : null,
          cpuQuotaUs: cpuMax?.quotaUs ?? null,
          cpuPeriodUs: cpuMax?.periodUs ?? null,
          cpuShares: null,
          cpuWeight,
          ...cpusets,
          pidsMax,
          blkioWeight,
          blkioThrottles,
        };
      })(),
    (async (): Promise<CgroupUsage> => {
      const usec = (field: string, key: string): Promise<number | null> =>
        r.key(field, f('cpu.stat'), key).then((v) => (v === null ? null : v * 1000));
      const [memoryBytes, memoryPeakBytes, workingSetBytes, cacheBytes, rssBytes, swapBytes, memoryLimitHits, oomKills] = await Promise.all(
        [
          r.value(U('memoryBytes'), f('memory.current'), parseUint),
          r.value(U('memoryPeakBytes'), f('memory.peak'), parseUint),
          workingSet(r, f('memory.current'), f('memory.stat'), 'inactive_file'),
          r.key(U('cacheBytes'), f('memory.stat'), 'file'),
          r.key(U('rssBytes'), f('memory.stat'), 'anon'),
          r.value(U('swapBytes'), f('memory.swap.current'), parseUint),
          r.key(U('memoryLimitHits'), f('memory.events'), 'max'),
          r.key(U('oomKills'), f('memory.events'), 'oom_kill'),
        ],
      );
      const [oomEvents, memoryHighHits, pressure] = await Promise.all([
        r.key(U('oomEvents'), f('memory.events'), 'oom'),
        r.key(U('memoryHighHits'), f('memory.events'), 'high'),
        readPressure(r, f),
      ]);
      const [cpuUsageNs, cpuUserNs, cpuSystemNs, cpuPeriods, cpuThrottledPeriods, cpuThrottledNs, pidsCurrent, ioStat] = await Promise.all([
        usec(U('cpuUsageNs'), 'usage_usec'),
        usec(U('cpuUserNs'), 'user_usec'),
        usec(U('cpuSystemNs'), 'system_usec'),
        r.key(U('cpuPeriods'), f('cpu.stat'), 'nr_periods'),
        r.key(U('cpuThrottledPeriods'), f('cpu.stat'), 'nr_throttled'),
        usec(U('cpuThrottledNs'), 'throttled_usec'),
        r.value(U('pidsCurrent'), f('pids.current'), parseUint),
        r.get(U('ioReadBytes'), f('io.stat'), parseNestedKeyed),
      ]);
      if (ioStat.state === 'error') {
        for (const e of r.errors.filter((x) => x.field === U('ioReadBytes'))) r.addError(U('ioWriteBytes'), e.reason);
      }
      return {
        memoryBytes,
        memoryPeakBytes,
        workingSetBytes,
        cacheBytes,
        rssBytes,
        swapBytes,
        memoryLimitHits,
        oomKills,
        oomEvents,
        memoryHighHits,
        underOom: null,
        pressure,
        cpuUsageNs,
        cpuUserNs,
        cpuSystemNs,
        cpuPeriods,
        cpuThrottledPeriods,
        cpuThrottledNs,
        pidsCurrent,
        ioReadBytes: ioStat.state === 'ok' ? sumNestedKey(ioStat.value, 'rbytes') : null,
        ioWriteBytes: ioStat.state === 'ok' ? sumNestedKey(ioStat.value, 'wbytes') : null,
      };
    })(),
    collectPids(files, r, dir),
  ]);

  if (r.sawMissing && (await stillThere(files, dir)) === false) return exited(dir);
  const cgroup: CgroupInfo = {
    version: 2,
    driver: detectCgroupDriver(path),
    path,
    dirs: { unified: dir },
    rootless: isRootlessPath(path),
    limits,
    usage,
  };
  return { cgroup, pids, errors: r.errors };
}

/** Usage minus inactive file pages, floored at 0 (cAdvisor's and kubelet's working set). */
async function workingSet(
  r: FieldReader,
  usageFile: string | null,
  statFile: string | null,
  ...inactiveKeys: string[]
): Promise<number | null> {
  const field = U('workingSetBytes');
  const [usage, stat] = await Promise.all([r.get(field, usageFile, parseUint), r.get(field, statFile, parseFlatKeyed)]);
  if (usage.state !== 'ok') return null;
  if (stat.state === 'error') return null;
  const inactive = stat.state === 'ok' ? inactiveKeys.map((k) => stat.value.get(k)).find((v) => v !== undefined) : undefined;
  return Math.max(0, usage.value - (inactive ?? 0));
}

/** cpuacct.usage_user/_sys (ns), else cpuacct.stat (USER_HZ ticks) on kernels before 4.7. */
async function cpuacctSplit(r: FieldReader, acct: string | null, which: 'user' | 'sys'): Promise<number | null> {
  const field = U(which === 'user' ? 'cpuUserNs' : 'cpuSystemNs');
  const ns = await r.get(field, at(acct, `cpuacct.usage_${which}`), parseUint);
  if (ns.state === 'ok') return ns.value;
  if (ns.state === 'error') return null;
  const ticks = await r.key(field, at(acct, 'cpuacct.stat'), which === 'user' ? 'user' : 'system');
  return ticks === null ? null : ticks * NS_PER_USER_HZ_TICK;
}

type Cpusets = Pick<CgroupLimits, 'cpusetCpus' | 'cpusetMems' | 'hostCpus'>;

/** v1: a cpuset equal to the hierarchy root's is no restriction (Docker copies the parent's in). */
async function readV1Cpusets(r: FieldReader, dir: string | null, rootDir: string | null, opts: ReadCgroupOptions): Promise<Cpusets> {
  const [cpus, mems, rootCpus, rootMems] = await Promise.all([
    r.value(L('cpusetCpus'), at(dir, 'cpuset.cpus'), parseCpusetText),
    r.value(L('cpusetMems'), at(dir, 'cpuset.mems'), parseCpusetText),
    r.value(L('hostCpus'), at(rootDir, 'cpuset.cpus'), parseCpusetText),
    r.value(L('cpusetMems'), at(rootDir, 'cpuset.mems'), parseCpusetText),
  ]);
  const hostCpus = opts.hostCpus ?? rootCpus;
  const restricted = (own: string | null, all: string | null): string | null =>
    own === null || own === '' || (all !== null && sameCpuList(own, all)) ? null : own;
  return { cpusetCpus: restricted(cpus, rootCpus ?? opts.hostCpus ?? null), cpusetMems: restricted(mems, rootMems), hostCpus };
}

/**
 * v2: cpuset.cpus is empty unless set; a parent's restriction still shows in cpuset.cpus.effective,
 * so an effective set narrower than the root's is reported too.
 */
async function readV2Cpusets(r: FieldReader, dir: string, rootDir: string, opts: ReadCgroupOptions): Promise<Cpusets> {
  const [cpus, mems, effCpus, effMems, rootCpus, rootMems] = await Promise.all([
    r.value(L('cpusetCpus'), `${dir}/cpuset.cpus`, parseCpusetText),
    r.value(L('cpusetMems'), `${dir}/cpuset.mems`, parseCpusetText),
    r.value(L('cpusetCpus'), `${dir}/cpuset.cpus.effective`, parseCpusetText),
    r.value(L('cpusetMems'), `${dir}/cpuset.mems.effective`, parseCpusetText),
    r.value(L('hostCpus'), `${rootDir}/cpuset.cpus.effective`, parseCpusetText),
    r.value(L('cpusetMems'), `${rootDir}/cpuset.mems.effective`, parseCpusetText),
  ]);
  const all = rootCpus ?? opts.hostCpus ?? null;
  const pick = (own: string | null, eff: string | null, root: string | null): string | null => {
    if (own) return own;
    if (eff && root && !sameCpuList(eff, root)) return eff;
    return null;
  };
  return { cpusetCpus: pick(cpus, effCpus, all), cpusetMems: pick(mems, effMems, rootMems), hostCpus: opts.hostCpus ?? rootCpus };
}

/** A cpuset file's text, checked to be a list. */
function parseCpusetText(text: string): Parsed<string> {
  const t = text.trim();
  const r = parseCpuList(t);
  return r.ok ? ok(t) : r;
}

async function readV1BlkioWeight(r: FieldReader, blkio: string | null): Promise<number | null> {
  // CFQ's blkio.weight is gone since 5.0; BFQ's blkio.bfq.weight replaces it where BFQ is built.
  const cfq = await r.get(L('blkioWeight'), at(blkio, 'blkio.weight'), parseBlkioWeight);
  if (cfq.state === 'ok') return cfq.value === DEFAULT_BLKIO_WEIGHT ? null : cfq.value;
  if (cfq.state === 'error') return null;
  const bfq = await r.value(L('blkioWeight'), at(blkio, 'blkio.bfq.weight'), parseBlkioWeight);
  return bfq === null || bfq === DEFAULT_BFQ_WEIGHT ? null : bfq;
}

async function readV2IoWeight(r: FieldReader, dir: string): Promise<number | null> {
  // runc writes io.bfq.weight where BFQ exists, else io.weight.
  for (const file of ['io.bfq.weight', 'io.weight']) {
    const w = await r.value(L('blkioWeight'), `${dir}/${file}`, parseIoWeight);
    if (w && w.defaultWeight !== DEFAULT_IO_WEIGHT) return w.defaultWeight;
  }
  return null;
}

async function readV1Throttles(r: FieldReader, blkio: string | null): Promise<BlkioThrottle[]> {
  const field = L('blkioThrottles');
  const [rb, wb, ri, wi] = await Promise.all(
    ['read_bps_device', 'write_bps_device', 'read_iops_device', 'write_iops_device'].map((n) =>
      r.value(field, at(blkio, `blkio.throttle.${n}`), parseBlkioDeviceValues),
    ),
  );
  const devices = new Set<string>();
  for (const m of [rb, wb, ri, wi]) for (const k of m?.keys() ?? []) devices.add(k);
  return [...devices].sort(compareDevices).map((device) => ({
    device,
    readBps: rb?.get(device) ?? null,
    writeBps: wb?.get(device) ?? null,
    readIops: ri?.get(device) ?? null,
    writeIops: wi?.get(device) ?? null,
  }));
}

/**
 * Bytes read and written. The throttle layer counts every bio of the cgroup on current kernels and
 * exists everywhere; CFQ's and BFQ's own counters only count devices using that scheduler.
 */
async function readV1IoBytes(r: FieldReader, blkio: string | null): Promise<BlkioRwstat | null> {
  const candidates = [
    'blkio.throttle.io_service_bytes_recursive',
    'blkio.throttle.io_service_bytes',
    'blkio.io_service_bytes_recursive',
    'blkio.bfq.io_service_bytes_recursive',
  ];
  for (const name of candidates) {
    const file = at(blkio, name);
    const g = await r.get(U('ioReadBytes'), file, parseBlkioRwstat);
    if (g.state === 'missing') continue;
    if (g.state === 'error') {
      for (const e of r.errors.filter((x) => x.field === U('ioReadBytes'))) r.addError(U('ioWriteBytes'), e.reason);
      return null;
    }
    return g.value;
  }
  return null;
}

// Names in a cgroup directory that are interface files, never child cgroups: `<prefix>.<anything>`.
const FILE_PREFIXES = new Set([
  'cgroup',
  'memory',
  'cpu',
  'cpuacct',
  'cpuset',
  'io',
  'blkio',
  'pids',
  'hugetlb',
  'rdma',
  'misc',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'perf_event',
  'irq',
  'dmem',
]);
const FILE_NAMES = new Set(['tasks', 'notify_on_release', 'release_agent']);
/** Bounds the walk: no container has more nested cgroups than this. */
const MAX_DIRS = 4096;
const MAX_DEPTH = 32;

/** The PIDs in `dir`'s cgroup.procs and every descendant cgroup's, deduplicated and sorted. */
async function collectPids(files: HostFiles, r: FieldReader, dir: string): Promise<number[]> {
  const pids = new Set<number>();
  let visited = 0;
  // `names` is the directory's listing when the caller already has it (children are listed to learn
  // that they are directories at all).
  const visit = async (d: string, depth: number, names: string[] | null): Promise<void> => {
    if (++visited > MAX_DIRS) return;
    const g = await r.get('cgroup.procs', `${d}/cgroup.procs`, parseProcs);
    if (g.state === 'ok') for (const p of g.value) pids.add(p);
    if (g.state === 'missing' || depth >= MAX_DEPTH) return;
    if (names === null) {
      try {
        names = await files.listDir(d);
      } catch (err) {
        // A cgroup that left meanwhile is no loss; anything else hides descendants.
        if (!isGone(err)) r.addError('cgroup.procs', describeReadError(err, d));
        return;
      }
    }
    const candidates = names.filter((n) => !FILE_NAMES.has(n) && !(n.includes('.') && FILE_PREFIXES.has(n.slice(0, n.indexOf('.')))));
    await Promise.all(
      candidates.map(async (n) => {
        const child = `${d}/${n}`;
        let sub: string[];
        try {
          sub = await files.listDir(child);
        } catch (err) {
          // ENOTDIR: a stray file, not a cgroup; ENOENT: removed meanwhile.
          if (!isGone(err) && errorCode(err) !== 'ENOTDIR') r.addError('cgroup.procs', describeReadError(err, child));
          return;
        }
        await visit(child, depth + 1, sub);
      }),
    );
  };
  await visit(dir, 0, null);
  return [...pids].sort((a, b) => a - b);
}

/** Whether a cgroup directory still exists (read afresh, not from the cache). */
async function stillThere(files: HostFiles, dir: string): Promise<boolean> {
  try {
    await files.readText(`${dir}/cgroup.procs`);
    return true;
  } catch (err) {
    return !isGone(err);
  }
}
