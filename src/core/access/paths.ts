// Which host paths the helper container can see, and where: the engine asks for host paths (/proc/…,
// /sys/fs/cgroup/…, /var/lib/docker/…), the helper sees the bound ones under HELPER_PREFIX and the host's
// /proc at /proc (it runs in the host's PID namespace).
import * as path from 'node:path';

/** Where the helper container finds the host directories bound into it. */
export const HELPER_PREFIX = '/host';

export interface HelperBind {
  /** The path on the daemon's machine. */
  host: string;
  /** Where the helper sees it. */
  helper: string;
  /** Why the engine needs it (for messages and the report). */
  purpose: string;
  /** A bind the daemon's machine may lack (the helper starts without it, and reads under it are ENOENT). */
  optional: boolean;
}

/** One host path bound into the helper under HELPER_PREFIX. */
export function bind(host: string, purpose: string, optional: boolean): HelperBind {
  return { host, helper: `${HELPER_PREFIX}${host}`, purpose, optional };
}

/**
 * The host paths the engine reads besides /proc: the cgroup mount root (limits and usage), the daemon's
 * root dir (layer metadata, overlay dirs), the runtimes' state dirs holding each container's init.pid, and
 * dockerd's pid file (a stand-in for PID 1's namespaces where PID 1 is not readable even so).
 */
export function helperBinds(dockerRootDir: string): HelperBind[] {
  const root = path.posix.normalize(dockerRootDir || '/var/lib/docker');
  return [
    bind('/sys/fs/cgroup', 'cgroup limits, usage and member processes', false),
    bind(root, 'image layer metadata (tar-split) and the overlay upper dirs', false),
    bind('/var/lib/containerd', "containerd's content store and snapshots (the containerd image store)", true),
    bind('/run/docker', "dockerd's containerd state: each container's init.pid", true),
    bind('/run/containerd', "a system containerd's state: each container's init.pid", true),
    bind('/run/docker.pid', "dockerd's PID, standing in for PID 1 where that is not readable", true),
  ];
}

export type Translation = { ok: true; path: string } | { ok: false; code: 'EACCES' | 'ENOENT'; reason: string };

/** Maps host paths to the helper's view of them. */
export class PathTranslator {
  private readonly binds: HelperBind[];

  /**
   * @param binds every bind the helper was asked for
   * @param missing host paths of optional binds the daemon's machine lacks (reads under them are ENOENT)
   */
  constructor(
    binds: HelperBind[],
    private readonly missing: ReadonlySet<string> = new Set(),
  ) {
    // Longest first, so a daemon root inside another bound dir still maps to its own bind.
    this.binds = [...binds].sort((a, b) => b.host.length - a.host.length);
  }

  toHelper(hostPath: string): Translation {
    if (!hostPath.startsWith('/'))
      return { ok: false, code: 'EACCES', reason: `${hostPath} is not an absolute path: the helper container reads host paths only` };
    let p = path.posix.normalize(hostPath);
    if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
    // /var/run is a link to /run on every distribution Docker supports.
    if (p === '/var/run' || p.startsWith('/var/run/')) p = p.slice('/var'.length);
    // The engine's own mount table stands for the host's; in the helper, "self" would be the helper.
    const self = /^\/proc\/(self|thread-self)(?=\/|$)/.exec(p);
    if (self) p = `/proc/1${p.slice(self[0].length)}`;
    if (p === '/proc' || p.startsWith('/proc/')) return { ok: true, path: p };
    // The helper's own sysfs shows the machine's DMI (firmware facts are not namespaced): no bind needed.
    if (p.startsWith('/sys/class/dmi/id/')) return { ok: true, path: p };
    for (const b of this.binds) {
      if (p === b.host || p.startsWith(`${b.host}/`)) {
        if (this.missing.has(b.host)) return { ok: false, code: 'ENOENT', reason: `${hostPath} does not exist on the daemon's machine` };
        return { ok: true, path: `${b.helper}${p.slice(b.host.length)}` };
      }
    }
    return {
      ok: false,
      code: 'EACCES',
      reason: `${hostPath} is outside what the helper container is given (/proc and ${this.binds.map((b) => b.host).join(', ')})`,
    };
  }

  /** The helper path's host path (for messages): the inverse of toHelper for bound paths. */
  toHost(helperPath: string): string {
    for (const b of this.binds)
      if (helperPath === b.helper || helperPath.startsWith(`${b.helper}/`)) return `${b.host}${helperPath.slice(b.helper.length)}`;
    return helperPath;
  }
}
