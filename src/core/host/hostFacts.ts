import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AccessPath, CgroupVersion, DaemonFacts, FieldError, HostFacts } from '../../shared/model';
import type { DaemonInfo } from '../runtime/docker/client';
import { findCgroupMounts } from '../cgroups/parse';
import { MountinfoEntry } from '../procfs/mountinfo';
import type { HostFiles } from '../util/hostFiles';

/** What does not change while the machine is up: cached per boot (boot_id), on disk for the CLI. */
interface StaticHostFacts {
  bootId: string;
  hostname: string;
  kernel: string;
  os: HostFacts['os'];
  cpus: number;
  memoryBytes: number;
  virtualization: HostFacts['virtualization'];
}

const CACHE_VERSION = 1;

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'container-xray', `host-facts-v${CACHE_VERSION}.json`);
}

async function readBootId(): Promise<string> {
  try {
    return (await fsp.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  } catch {
    return '';
  }
}

/** Reads the static facts with systeminformation (kernel, OS, virtualization), at most once per boot. */
export async function readStaticHostFacts(useDiskCache = true): Promise<StaticHostFacts> {
  const bootId = await readBootId();
  if (useDiskCache && bootId) {
    try {
      const cached = JSON.parse(await fsp.readFile(cacheFile(), 'utf8')) as StaticHostFacts;
      if (cached.bootId === bootId && cached.hostname === os.hostname()) return cached;
    } catch {
      // No cache yet.
    }
  }
  // systeminformation is loaded only here, on a cache miss: most runs never pay for it.
  const { default: si } = await import('systeminformation');
  const [osInfo, system, cpuFlags] = await Promise.all([
    si.osInfo().catch(() => null),
    si.system().catch(() => null),
    fsp.readFile('/proc/cpuinfo', 'utf8').catch(() => ''),
  ]);
  const hypervisorFlag = /^flags\s*:.*\bhypervisor\b/m.test(cpuFlags);
  const isVirtual = Boolean(system?.virtual) || hypervisorFlag;
  let evidence = 'no hypervisor flag in /proc/cpuinfo and no VM vendor in DMI';
  if (system?.virtual) evidence = `systeminformation: model "${system.model}", manufacturer "${system.manufacturer}"`;
  else if (hypervisorFlag) evidence = 'the CPU reports the "hypervisor" flag in /proc/cpuinfo';
  const facts: StaticHostFacts = {
    bootId,
    hostname: os.hostname(),
    kernel: os.release(),
    os: {
      platform: osInfo?.platform ?? os.platform(),
      distro: osInfo?.distro ?? os.type(),
      release: osInfo?.release ?? '',
      codename: osInfo?.codename ?? '',
      arch: osInfo?.arch ?? os.arch(),
    },
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    virtualization: {
      isVirtual,
      hypervisor: isVirtual ? system?.virtualHost || (hypervisorFlag ? 'unknown hypervisor' : null) : null,
      evidence,
    },
  };
  if (useDiskCache && bootId) {
    try {
      await fsp.mkdir(path.dirname(cacheFile()), { recursive: true });
      await fsp.writeFile(cacheFile(), JSON.stringify(facts));
    } catch {
      // A read-only home only costs the next run the same work.
    }
  }
  return facts;
}

/** Hypervisors by the DMI system vendor and product a guest's firmware reports (/sys/class/dmi/id). */
const DMI_HYPERVISORS: [RegExp, string][] = [
  [/^QEMU$/i, 'QEMU'],
  [/^innotek GmbH$|VirtualBox/i, 'VirtualBox'],
  [/^VMware/i, 'VMware'],
  [/^Microsoft Corporation$/i, 'Hyper-V'],
  [/^Xen$/i, 'Xen'],
  [/^Amazon EC2$/i, 'Amazon EC2 (Nitro/KVM)'],
  [/^Google$/i, 'Google Compute Engine (KVM)'],
  [/^Parallels/i, 'Parallels'],
  [/^Apple Inc\.$/i, 'Apple Virtualization'],
];

/** What a guest's DMI vendor and product say about its hypervisor, or null for real hardware. */
export function hypervisorFromDmi(vendor: string, product: string): string | null {
  const v = vendor.trim();
  const p = product.trim();
  for (const [re, name] of DMI_HYPERVISORS) if (re.test(v)) return name;
  if (/^(KVM|Bochs|Standard PC|Virtual Machine|VirtualBox|VMware)/i.test(p)) return p.split(/[\s(]/)[0] || p;
  return null;
}

/** The fields of an os-release file (`ID`, `VERSION_ID`, `VERSION_CODENAME`, `PRETTY_NAME` …), unquoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0 || line.startsWith('#')) continue;
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    out[line.slice(0, eq).trim()] = value.replace(/\\(.)/g, '$1');
  }
  return out;
}

/** One DMI field of the daemon's machine ('' where it has none: no DMI on most ARM boards, WSL). */
async function readDmi(files: HostFiles, field: string, errors: FieldError[]): Promise<string> {
  try {
    return await files.readText(`/sys/class/dmi/id/${field}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      errors.push({ field: 'host.virtualization', reason: `the daemon machine's DMI ${field}: ${(err as Error).message}` });
    return '';
  }
}

/**
 * The static facts of the daemon's machine when it is not this one (a remote host, Docker Desktop's VM):
 * name, kernel, CPUs and memory from GET /info; the OS from its PID 1's os-release and the hypervisor from
 * its /proc/cpuinfo and DMI, read through the helper container, which sees that machine. Without a helper
 * only /info is used, and the virtualization evidence says so.
 */
export async function readDaemonMachineFacts(
  info: DaemonInfo,
  files: HostFiles | null,
): Promise<{ facts: Omit<StaticHostFacts, 'bootId'>; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  const pretty = info.OperatingSystem ?? '';
  let os_: HostFacts['os'] = { platform: info.OSType ?? 'linux', distro: pretty, release: '', codename: '', arch: info.Architecture ?? '' };
  let virtualization: HostFacts['virtualization'] = {
    isVirtual: /Docker Desktop|boot2docker|Rancher Desktop|colima|lima|OrbStack|WSL/i.test(pretty),
    hypervisor: null,
    evidence: `from the daemon's /info only ("${pretty}"): no helper container read that machine's /proc/cpuinfo or DMI`,
  };
  if (files && files.kind === 'helper') {
    const limits = { maxBytes: 64 * 1024, deadlineMs: 2000 };
    const [osRelease, cpuinfo, vendor, product] = await Promise.all([
      files.readConfined({ kind: 'process', pid: 1 }, '/etc/os-release', limits).then(
        (f) => f.data.toString('utf8'),
        (err: Error) => {
          errors.push({ field: 'host.os', reason: `the daemon machine's /etc/os-release: ${err.message}` });
          return null;
        },
      ),
      files.readText('/proc/cpuinfo').catch((err: Error) => {
        errors.push({ field: 'host.virtualization', reason: `the daemon machine's /proc/cpuinfo: ${err.message}` });
        return '';
      }),
      readDmi(files, 'sys_vendor', errors),
      readDmi(files, 'product_name', errors),
    ]);
    if (osRelease !== null) {
      const r = parseOsRelease(osRelease);
      os_ = { ...os_, distro: r.NAME || r.PRETTY_NAME || pretty, release: r.VERSION_ID ?? '', codename: r.VERSION_CODENAME ?? '' };
    }
    const flag = /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo);
    const dmi = hypervisorFromDmi(vendor, product);
    const isVirtual = flag || dmi !== null || virtualization.isVirtual;
    virtualization = {
      isVirtual,
      hypervisor: isVirtual ? (dmi ?? 'unknown hypervisor') : null,
      evidence:
        dmi !== null
          ? `the daemon machine's DMI: vendor "${vendor.trim()}", product "${product.trim()}"${flag ? '; its CPU reports the "hypervisor" flag' : ''}`
          : flag
            ? `the daemon machine's CPU reports the "hypervisor" flag in /proc/cpuinfo`
            : `no hypervisor flag in the daemon machine's /proc/cpuinfo and no VM vendor in its DMI`,
    };
  }
  return {
    facts: {
      hostname: info.Name ?? '',
      kernel: info.KernelVersion ?? '',
      os: os_,
      cpus: info.NCPU ?? 0,
      memoryBytes: info.MemTotal ?? 0,
      virtualization,
    },
    errors,
  };
}

/** Daemon facts from GET /info, compared with this machine to tell whether the daemon runs elsewhere. */
export function daemonFacts(
  info: DaemonInfo,
  endpoint: string,
  local: { kernel: string; hostname: string },
  runtime: Pick<DaemonFacts, 'runtime' | 'runtimeKind' | 'storageLayout'> = {
    runtime: `Docker ${info.ServerVersion ?? '?'}`,
    runtimeKind: 'docker',
    storageLayout: 'unknown',
  },
): DaemonFacts {
  const driverStatus = info.DriverStatus ?? [];
  const os_ = info.OperatingSystem ?? '';
  const kernel = info.KernelVersion ?? '';
  const rootless = (info.SecurityOptions ?? []).some((o) => o.includes('rootless'));
  const containerdSnapshotter = driverStatus.some(([k, v]) => k === 'driver-type' && String(v).includes('containerd.snapshotter'));
  let runsElsewhereReason: string | null = null;
  if (!endpoint.startsWith('unix://') && !endpoint.startsWith('/'))
    runsElsewhereReason = `the daemon is reached over ${endpoint.split(':')[0]}`;
  else if (kernel && kernel !== local.kernel)
    runsElsewhereReason = `the daemon's kernel (${kernel}) is not this machine's (${local.kernel})`;
  else if (/Docker Desktop/i.test(os_)) runsElsewhereReason = `the daemon reports "${os_}"`;
  const runsInVm =
    /Docker Desktop|boot2docker|Rancher Desktop|colima|lima|OrbStack|WSL/i.test(os_) ||
    (kernel !== '' && kernel !== local.kernel && endpoint.startsWith('unix://'));
  return {
    endpoint,
    ...runtime,
    serverVersion: info.ServerVersion ?? '',
    apiVersion: '',
    storageDriver: info.Driver ?? '',
    cgroupDriver: info.CgroupDriver ?? '',
    cgroupVersion: info.CgroupVersion ?? '',
    kernel,
    operatingSystem: os_,
    osType: info.OSType ?? '',
    architecture: info.Architecture ?? '',
    cpus: info.NCPU ?? 0,
    memoryBytes: info.MemTotal ?? 0,
    rootDir: info.DockerRootDir ?? '/var/lib/docker',
    rootless,
    containerdSnapshotter,
    runsElsewhere: runsElsewhereReason !== null,
    runsInVm,
    runsElsewhereReason,
  };
}

/** The cgroup version of this machine from its mount table. */
export function hostCgroupVersion(mounts: MountinfoEntry[]): { version: CgroupVersion | null; hybrid: boolean } {
  const m = findCgroupMounts(mounts);
  const hasV1 = m.v1.size > 0;
  if (hasV1) return { version: 1, hybrid: m.v2 !== null };
  if (m.v2) return { version: 2, hybrid: false };
  return { version: null, hybrid: false };
}

/** The cgroup version the daemon reports in /info (`1` or `2`), for a daemon machine whose mounts are not read. */
export function daemonCgroupVersion(info: DaemonInfo): { version: CgroupVersion | null; hybrid: boolean } {
  const v = info.CgroupVersion;
  return { version: v === '2' ? 2 : v === '1' ? 1 : null, hybrid: false };
}

export function buildHostFacts(
  stat: Omit<StaticHostFacts, 'bootId'>,
  cgroup: { version: CgroupVersion | null; hybrid: boolean },
  daemon: DaemonFacts | null,
  access: AccessPath,
  errors: FieldError[],
  thisMachine: HostFacts['thisMachine'] = null,
): HostFacts {
  return {
    thisMachine,
    hostname: stat.hostname,
    kernel: stat.kernel,
    os: stat.os,
    cpus: stat.cpus,
    memoryBytes: stat.memoryBytes,
    virtualization: stat.virtualization,
    cgroupVersion: cgroup.version,
    cgroupHybrid: cgroup.hybrid,
    daemon,
    access,
    errors,
  };
}
