// The machine a run happened on, printed with the results (a number means little without it).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { docker } from '../../test/support/docker';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  dockerServer: string;
  dockerClient: string;
  storageDriver: string;
  cgroupVersion: string;
  node: string;
  date: string;
  virtual: boolean;
  /** 1-minute load average when the run started and ended: other work on the machine skews the numbers. */
  loadAverage?: { start: number; end?: number };
}

export async function machineInfo(): Promise<MachineInfo> {
  let cpuModel = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
  let virtual = false;
  try {
    const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpuModel;
    virtual = /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo);
  } catch {
    // os.cpus() serves.
  }
  const fmt = async (f: string) => (await docker(['version', '--format', f]).catch(() => 'unknown')).trim();
  const info = async (f: string) => (await docker(['info', '--format', f]).catch(() => '?')).trim();
  return {
    cpuModel: virtual ? `${cpuModel} (virtual machine)` : cpuModel,
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    kernel: os.release(),
    dockerServer: await fmt('{{.Server.Version}}'),
    dockerClient: await fmt('{{.Client.Version}}'),
    storageDriver: await info('{{.Driver}}'),
    cgroupVersion: await info('{{.CgroupVersion}}'),
    node: process.version,
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    virtual,
    loadAverage: { start: os.loadavg()[0] },
  };
}

let ticksPerS: number | null = null;

/** utime + stime of a process so far, in ms (/proc/PID/stat fields 14 and 15, in clock ticks). */
export function processCpuMs(pid: number): number {
  ticksPerS ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerS;
}
