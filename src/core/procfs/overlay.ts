import * as path from 'node:path';
import { FieldError, OverlayLayerDir, OverlayMount } from '../../shared/model';
import { HostFiles, describeReadError, isGone } from '../util/hostFiles';
import { Parsed, fail, ok } from '../util/result';
import { MountinfoEntry, parseMountinfo } from './mountinfo';

export interface OverlayOptions {
  /** Top first, as the kernel lists them. */
  lowerDirs: string[];
  upperDir: string | null;
  workDir: string | null;
  other: string[];
}

/** Splits an overlay `lowerdir=` value on unescaped colons. */
export function splitLowerDirs(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) {
      cur += value[i + 1];
      i++;
    } else if (c === ':') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur !== '' || out.length > 0) out.push(cur);
  return out.filter((d) => d !== '');
}

function unescapeOption(value: string): string {
  return value.replace(/\\([,:\\])/g, '$1');
}

export function parseOverlayOptions(superOptions: string[]): Parsed<OverlayOptions> {
  let lowerDirs: string[] | null = null;
  let upperDir: string | null = null;
  let workDir: string | null = null;
  const other: string[] = [];
  for (const opt of superOptions) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    if (key === 'lowerdir') lowerDirs = splitLowerDirs(value);
    else if (key === 'upperdir') upperDir = unescapeOption(value);
    else if (key === 'workdir') workDir = unescapeOption(value);
    else if (key !== 'rw' && key !== 'ro') other.push(opt);
  }
  if (lowerDirs === null || lowerDirs.length === 0) return fail('overlay mount has no lowerdir option');
  return ok({ lowerDirs, upperDir, workDir, other });
}

/** The container's root filesystem entry: the mount at `/` of its own mount namespace. */
export function findRootMount(entries: MountinfoEntry[]): MountinfoEntry | null {
  // A process may see several mounts stacked at '/'; the last one listed is on top.
  let found: MountinfoEntry | null = null;
  for (const e of entries) if (e.mountPoint === '/') found = e;
  return found;
}

/** Where the overlay with this upper dir is mounted in the given (host-side) mount table. */
export function findMergedDir(hostEntries: MountinfoEntry[], upperDir: string): string | null {
  return hostOverlaysOf(hostEntries).get(upperDir)?.mountPoint ?? null;
}

/** The host-side overlay mount with this upper dir: one the runtime made, which no container can forge. */
export function findHostOverlay(hostEntries: MountinfoEntry[], upperDir: string): MountinfoEntry | null {
  return hostOverlaysOf(hostEntries).get(upperDir) ?? null;
}

/** Upper dir → overlay mount of a mount table, built once per table (one per snapshot). */
const overlayIndex = new WeakMap<MountinfoEntry[], Map<string, MountinfoEntry>>();

function hostOverlaysOf(hostEntries: MountinfoEntry[]): Map<string, MountinfoEntry> {
  let index = overlayIndex.get(hostEntries);
  if (!index) {
    index = new Map();
    for (const e of hostEntries) {
      if (e.fsType !== 'overlay') continue;
      const opts = parseOverlayOptions(e.superOptions);
      if (opts.ok && opts.value.upperDir && !index.has(opts.value.upperDir)) index.set(opts.value.upperDir, e);
    }
    overlayIndex.set(hostEntries, index);
  }
  return index;
}

/** The role of a lower dir: Docker's `<id>-init` layer or an image layer. */
export function lowerDirRole(resolved: string): OverlayLayerDir['role'] {
  return /-init(\/diff)?\/?$/.test(resolved) ? 'init' : 'image';
}

/** The containerd snapshot ID of a snapshotter's directory (`…/io.containerd.snapshotter.v1.X/snapshots/<id>/fs`). */
export function snapshotIdOf(dir: string): string | null {
  return /\/io\.containerd\.snapshotter\.v1\.[^/]+\/snapshots\/(\d+)\/fs\/?$/.exec(dir)?.[1] ?? null;
}

/**
 * On the containerd image store snapshots are named by numbers only: Docker's init layers are the ones
 * holding the `/.dockerenv` Docker puts there. The container's own is the top one; an image built by the
 * legacy builder there also carries its build containers' init snapshots between its layers.
 */
async function markContainerdInit(files: HostFiles, stack: OverlayLayerDir[]): Promise<void> {
  if (stack.some((l) => l.role === 'init')) return;
  const snapshots = stack.filter((l) => l.snapshotId !== undefined);
  const marked = await Promise.all(
    snapshots.map((l) => (files.exists ? files.exists(`${l.resolved ?? l.dir}/.dockerenv`).catch(() => false) : Promise.resolve(false))),
  );
  snapshots.forEach((l, i) => {
    if (marked[i]) l.role = 'init';
  });
}

/**
 * Reads a container's overlay mount from its root entry in /proc/PID/mountinfo. Lower dirs that are short
 * links under overlay2/l/ are resolved; the merged dir comes from the host's mount table.
 */
export async function readOverlayMount(
  files: HostFiles,
  pid: number,
  hostMounts: MountinfoEntry[] | null,
): Promise<{ overlay: OverlayMount | null; errors: FieldError[]; gone: boolean }> {
  const file = `/proc/${pid}/mountinfo`;
  let text: string;
  try {
    text = await files.readText(file);
  } catch (err) {
    return { overlay: null, errors: [{ field: 'overlay', reason: describeReadError(err, file, files.kind) }], gone: isGone(err) };
  }
  const { entries, errors: lineErrors } = parseMountinfo(text);
  const errors: FieldError[] = lineErrors.map((reason) => ({ field: 'overlay.mountinfo', reason }));
  const root = findRootMount(entries);
  if (!root) return { overlay: null, errors: [...errors, { field: 'overlay', reason: `${file} has no root mount` }], gone: false };
  if (root.fsType !== 'overlay') {
    return {
      overlay: null,
      errors: [...errors, { field: 'overlay', reason: `the root filesystem is ${root.fsType}, not overlay` }],
      gone: false,
    };
  }
  const claimed = parseOverlayOptions(root.superOptions);
  if (!claimed.ok) return { overlay: null, errors: [...errors, { field: 'overlay', reason: claimed.error }], gone: false };
  // The container's own mount table is the container's to change: one allowed to mount can put an overlay
  // on its "/" whose options name any host directory. Only the host-side mount the runtime made, with the
  // same superblock options, says where its layers are; its options are what gets read.
  const refuse = (reason: string) => ({ overlay: null, errors: [...errors, { field: 'overlay', reason }], gone: false });
  if (!hostMounts) return refuse("the host's mount table is not readable, so the container's own root mount cannot be checked: not read");
  const claimedUpper = claimed.value.upperDir;
  const host = claimedUpper ? findHostOverlay(hostMounts, claimedUpper) : null;
  if (!host || host.superOptions.join(',') !== root.superOptions.join(','))
    return refuse(
      `the container's root mount (upperdir=${claimedUpper ?? 'none'}) is not an overlay the runtime mounted on the host: its directories are not read (a container that mounts over its own root)`,
    );
  const opts = parseOverlayOptions(host.superOptions);
  if (!opts.ok) return refuse(opts.error);
  const { lowerDirs, upperDir, workDir, other } = opts.value;
  const resolved = await Promise.all(lowerDirs.map((d) => resolveLowerDir(files, d)));
  const stack: OverlayLayerDir[] = lowerDirs
    .map((dir, i) => {
      const layer: OverlayLayerDir = { dir, resolved: resolved[i], role: lowerDirRole(resolved[i] ?? dir) };
      const snapshotId = snapshotIdOf(dir);
      if (snapshotId !== null) layer.snapshotId = snapshotId;
      return layer;
    })
    .reverse();
  await markContainerdInit(files, stack);
  const mergedDir: string | null = host.mountPoint;
  const overlay: OverlayMount = {
    lowerDirs,
    stack,
    upperDir,
    workDir,
    mergedDir,
    source: 'mountinfo',
    inspectAgrees: null,
    options: other,
  };
  const upperSnapshotId = upperDir ? snapshotIdOf(upperDir) : null;
  if (upperSnapshotId !== null) overlay.upperSnapshotId = upperSnapshotId;
  return { overlay, errors, gone: false };
}

async function resolveLowerDir(files: HostFiles, dir: string): Promise<string | null> {
  // overlay2 names lower dirs by short links (l/ABC → ../<cache-id>/diff) to keep mount options short.
  if (path.basename(path.dirname(dir)) !== 'l') return dir;
  try {
    const target = await files.readLink(dir);
    return path.resolve(path.dirname(dir), target);
  } catch {
    return null;
  }
}
