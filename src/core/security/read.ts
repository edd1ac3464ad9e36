// Reads a container's security posture from the kernel's files of its init process: the rights lines of
// /proc/PID/status, its LSM label, its user namespace's id maps and its own mount table. Every file is the
// kernel's; what the container chose in them (mount points, profile names) is bounded, printable text.
import { FieldError, SecurityPosture } from '../../shared/model';
import { MountinfoEntry, parseMountinfo } from '../procfs/mountinfo';
import { findRootMount } from '../procfs/overlay';
import { HostFiles, describeReadError, errorCode, isGone } from '../util/hostFiles';
import { CAPABILITY_NAMES, capabilityNames, holdsAll, sortCapabilities } from './capabilities';
import { isIdentityMap, parseIdMap, parseLsmLabel, parseStatusRights } from './parse';
import { findSensitiveMounts, sharedMounts } from './mounts';

/** The most mounts of a container traced to host paths. */
export const MOUNTS_TRACED_MAX = 10000;

export type PostureRead =
  | { posture: Omit<SecurityPosture, 'verdicts'>; errors: FieldError[]; gone: false }
  | { posture: null; errors: FieldError[]; gone: boolean };

/** The kernel's highest capability number (/proc/sys/kernel/cap_last_cap); the names table's when unreadable. */
export async function readLastCap(files: HostFiles): Promise<number> {
  try {
    const text = (await files.readText('/proc/sys/kernel/cap_last_cap')).trim();
    // Number('') is 0: an empty answer would make every container look privileged.
    if (/^\d{1,2}$/.test(text) && Number(text) < 64) return Number(text);
  } catch {
    // Not readable: the table's last capability stands in.
  }
  return CAPABILITY_NAMES.length - 1;
}

/** The kernel bounds these files (an id map has at most 340 lines, a label a page); the mount table is read as the overlay reader reads it. */
function read(files: HostFiles, file: string): Promise<string> {
  return files.readText(file);
}

/**
 * The posture of the process `pid` (a container's init). `hostMounts` is the mount table that host paths are
 * traced through; `defaultSet` the runtime's default capabilities. `user` is left for the caller to name.
 */
export async function readPosture(
  files: HostFiles,
  pid: number,
  hostMounts: readonly MountinfoEntry[] | null,
  defaultSet: readonly string[],
  lastCap: number,
): Promise<PostureRead> {
  const errors: FieldError[] = [];
  let statusText: string;
  try {
    statusText = await files.readText(`/proc/${pid}/status`);
  } catch (err) {
    return {
      posture: null,
      errors: isGone(err) ? [] : [{ field: 'security', reason: describeReadError(err, `/proc/${pid}/status`, files.kind) }],
      gone: isGone(err),
    };
  }
  const rights = parseStatusRights(statusText);
  if (!rights.ok) return { posture: null, errors: [{ field: 'security', reason: rights.error }], gone: false };
  const r = rights.value;

  const [lsm, uidMap, gidMap, mounts] = await Promise.all([
    readLsm(files, pid),
    readMap(files, `/proc/${pid}/uid_map`),
    readMap(files, `/proc/${pid}/gid_map`),
    read(files, `/proc/${pid}/mountinfo`).then(
      (text) => parseMountinfo(text).entries,
      (err: unknown) => {
        errors.push({ field: 'security.mounts', reason: describeReadError(err, `/proc/${pid}/mountinfo`, files.kind) });
        return null;
      },
    ),
  ]);
  if (lsm.error) errors.push(lsm.error);
  if (uidMap.error) errors.push({ field: 'security.uidMap', reason: uidMap.error });
  if (gidMap.error) errors.push({ field: 'security.gidMap', reason: gidMap.error });

  // Tracing every mount through the host's table costs both tables' lengths multiplied: a container that made
  // more mounts than any real one has is not traced, and says so.
  if (mounts && mounts.length > MOUNTS_TRACED_MAX)
    errors.push({
      field: 'security.mounts',
      reason: `${mounts.length} mounts, more than the ${MOUNTS_TRACED_MAX} traced: host paths not looked for`,
    });
  else if (mounts && !hostMounts)
    errors.push({ field: 'security.mounts', reason: "the host's mount table was not read: host paths not looked for" });
  const traced = mounts !== null && hostMounts !== null && mounts.length <= MOUNTS_TRACED_MAX ? mounts : null;
  const bounding = capabilityNames(r.capBnd);
  const defaults = new Set(defaultSet);
  const root = mounts ? findRootMount(mounts) : null;
  const uid = r.uids[0] ?? null;
  return {
    posture: {
      uid,
      gid: r.gids[0] ?? null,
      user: null,
      capabilities: {
        effective: capabilityNames(r.capEff),
        permitted: capabilityNames(r.capPrm),
        bounding,
        masks: r.masks,
      },
      added: sortCapabilities(bounding.filter((c) => !defaults.has(c))),
      dropped: sortCapabilities([...defaults].filter((c) => !bounding.includes(c))),
      defaultSet: sortCapabilities(defaultSet),
      allCapabilities: holdsAll(r.capBnd, lastCap),
      seccompMode: r.seccompMode,
      seccompFilters: r.seccompFilters,
      noNewPrivs: r.noNewPrivs,
      lsmLabel: lsm.label,
      lsm: lsm.lsm,
      uidMap: uidMap.map,
      gidMap: gidMap.map,
      hostUserNamespace: uidMap.map ? isIdentityMap(uidMap.map) : null,
      readOnlyRoot: root ? root.mountOptions.includes('ro') : null,
      sensitiveMounts: traced ? findSensitiveMounts(traced, hostMounts) : [],
      mountsRead: traced !== null,
      sharedMounts: traced ? sharedMounts(traced) : [],
    },
    errors,
    gone: false,
  };
}

async function readMap(files: HostFiles, file: string): Promise<{ map: SecurityPosture['uidMap']; error?: string }> {
  try {
    const parsed = parseIdMap(await read(files, file));
    return parsed.ok ? { map: parsed.value } : { map: null, error: parsed.error };
  } catch (err) {
    return { map: null, error: describeReadError(err, file, files.kind) };
  }
}

/**
 * The LSM label: AppArmor's own attr file first (Linux 5.8+, beside other modules), then attr/current. A
 * host without an LSM answers EINVAL (or nothing): no label, and no error.
 */
async function readLsm(files: HostFiles, pid: number): Promise<{ label: string | null; lsm: SecurityPosture['lsm']; error?: FieldError }> {
  const tries: [string, 'apparmor' | 'generic'][] = [
    [`/proc/${pid}/attr/apparmor/current`, 'apparmor'],
    [`/proc/${pid}/attr/current`, 'generic'],
  ];
  let lastError: FieldError | undefined;
  for (const [file, from] of tries) {
    try {
      const parsed = parseLsmLabel(await read(files, file), from);
      if (parsed) return { label: parsed.label, lsm: parsed.lsm };
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'EINVAL' || code === 'ENOTDIR') continue;
      lastError = { field: 'security.lsm', reason: describeReadError(err, file, files.kind) };
    }
  }
  return { label: null, lsm: null, error: lastError };
}
