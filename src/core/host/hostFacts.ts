import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AccessPath, CgroupVersion, DaemonFacts, FieldError, HostFacts } from '../../shared/model';
import type { DaemonInfo } from '../docker/client';
import { findCgroupMounts } from '../cgroups/parse';
import { MountinfoEntry } from '../procfs/mountinfo';

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

/** Daemon facts from GET /info, compared with this machine to tell whether the daemon runs elsewhere. */
export function daemonFacts(info: DaemonInfo, endpoint: string, local: { kernel: string; hostname: string }): DaemonFacts {
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

export function buildHostFacts(
  stat: StaticHostFacts,
  cgroup: { version: CgroupVersion | null; hybrid: boolean },
  daemon: DaemonFacts | null,
  access: AccessPath,
  errors: FieldError[],
): HostFacts {
  return {
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
