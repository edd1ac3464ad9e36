// Which way the engine reaches the daemon's host files, and a reason a person can check.
import { promises as fsp } from 'node:fs';
import type { AccessPath } from '../../shared/model';
import { HostFiles, errorCode } from '../util/hostFiles';

/** The setting (containerXray.access) and CLI flag (--access). */
export type AccessSetting = 'auto' | 'direct' | 'helper';

export const ACCESS_SETTINGS: readonly AccessSetting[] = ['auto', 'direct', 'helper'];

/** Whether this process can read what the engine needs, found by trying the two reads that need root. */
export type DirectProbe = { ok: true; checked: string[] } | { ok: false; file: string; code: string };

/**
 * Reads the daemon's network namespace link (ptrace access to a root process) and lists the daemon's
 * image metadata (a root-only directory): what a docker-group user cannot, and root can.
 */
export async function probeDirectAccess(files: HostFiles, storageDir: string): Promise<DirectProbe> {
  let pid = 1;
  for (const pidFile of ['/var/run/docker.pid', '/run/docker.pid']) {
    const n = Number((await files.readText(pidFile).catch(() => '')).trim());
    if (Number.isInteger(n) && n > 0) {
      pid = n;
      break;
    }
  }
  const checked = [`/proc/${pid}/ns/net`, storageDir.replace(/\/+$/, '')];
  try {
    await files.readLink(checked[0]);
  } catch (err) {
    return { ok: false, file: checked[0], code: errorCode(err) ?? 'EIO' };
  }
  try {
    await files.listDir(checked[1]);
  } catch (err) {
    return { ok: false, file: checked[1], code: errorCode(err) ?? 'EIO' };
  }
  return { ok: true, checked };
}

/** "uid 1001 (in the docker group)": who the engine runs as, for reasons. */
export async function describeUser(): Promise<string> {
  const uid = process.getuid?.();
  if (uid === undefined) return 'this user';
  if (uid === 0) return 'root';
  let group = '';
  try {
    const line = (await fsp.readFile('/etc/group', 'utf8')).split('\n').find((l) => l.startsWith('docker:'));
    const gid = line ? Number(line.split(':')[2]) : NaN;
    if (Number.isInteger(gid) && (process.getgroups?.() ?? []).includes(gid)) group = ' (in the docker group)';
  } catch {
    // No group file: the uid alone says enough.
  }
  return `uid ${uid}${group}`;
}

function failedRead(code: string): string {
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied reading';
  if (code === 'ENOENT' || code === 'ESRCH') return 'cannot find';
  return `${code} reading`;
}

export interface AccessInputs {
  setting: AccessSetting;
  /** Why the daemon's files are not this machine's (another kernel, reached over tcp/ssh), or null. */
  runsElsewhere: string | null;
  /** The direct-read probe; null when not tried (the daemon runs elsewhere). */
  probe: DirectProbe | null;
  /** describeUser() */
  user: string;
  /** The daemon's OSType: a helper runs a POSIX shell on Linux only. */
  osType?: string;
}

export interface AccessPlan {
  mode: AccessPath['mode'];
  /** Why, without the helper's image (known once it runs). */
  why: string;
}

/**
 * auto: direct when the daemon is on this machine and the probe reads; else the helper container.
 * direct/helper: as asked, except that direct reads of a daemon elsewhere would read the wrong machine.
 */
export function planAccess(i: AccessInputs): AccessPlan {
  if (i.osType && i.osType !== 'linux')
    return { mode: 'daemon-only', why: `the daemon runs ${i.osType} containers: there is no /proc or cgroupfs to read` };
  if (i.setting === 'helper') return { mode: 'helper', why: 'a helper container was asked for (containerXray.access / --access helper)' };
  if (i.setting === 'direct') {
    if (i.runsElsewhere)
      return { mode: 'daemon-only', why: `direct reads were asked for, but ${i.runsElsewhere}: this machine's files are not the daemon's` };
    if (i.probe && !i.probe.ok) {
      return {
        mode: 'direct',
        why: `direct reads were asked for (containerXray.access / --access direct): ${failedRead(i.probe.code)} ${i.probe.file} as ${i.user}, so namespaces and layers may be missing`,
      };
    }
    return { mode: 'direct', why: 'direct reads were asked for (containerXray.access / --access direct)' };
  }
  if (i.runsElsewhere) return { mode: 'helper', why: i.runsElsewhere };
  if (i.probe && !i.probe.ok) return { mode: 'helper', why: `${failedRead(i.probe.code)} ${i.probe.file} as ${i.user}` };
  if (i.user === 'root')
    return { mode: 'direct', why: 'running as root on the daemon’s machine: /proc, cgroupfs and /var/lib/docker are read directly' };
  const checked = i.probe?.ok ? ` (${i.probe.checked.join(' and ')} are readable)` : '';
  return { mode: 'direct', why: `${i.user} reads /proc, cgroupfs and /var/lib/docker directly${checked}` };
}

/** The reason shown for a plan once the helper ran (naming its image and image ID), or could not. */
export function accessReason(plan: AccessPlan, helper: { image: string; imageId: string | null } | { error: string } | null): AccessPath {
  if (plan.mode !== 'helper' || helper === null) return { mode: plan.mode, reason: plan.why };
  if ('image' in helper) {
    const id = helper.imageId ? `, ID ${helper.imageId}` : '';
    return {
      mode: 'helper',
      reason: `${plan.why}: reading through a helper container (image ${helper.image}${id})`,
      helper: { image: helper.image, imageId: helper.imageId },
    };
  }
  return { mode: 'helper', reason: `${plan.why}: no helper container could run: ${helper.error}` };
}
