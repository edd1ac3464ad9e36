import { FieldError, NAMESPACE_TYPES, NamespaceInodes, ProcessInfo } from '../../shared/model';
import { ConfinedReadError, HostFiles, describeReadError, isGone, readHead } from '../util/hostFiles';
import { parseCmdline, parseNamespaceLink, parsePasswd, parseProcStatus } from './parse';

export interface NamespaceRead {
  namespaces: NamespaceInodes | null;
  errors: FieldError[];
  /** The process no longer exists. */
  gone: boolean;
}

/** Reads the inodes of /proc/PID/ns/* for the eight namespace types (and the *_for_children links). */
export async function readNamespaces(files: HostFiles, pid: number): Promise<NamespaceRead> {
  const ns: NamespaceInodes = { mnt: null, pid: null, net: null, ipc: null, uts: null, user: null, cgroup: null, time: null };
  const errors: FieldError[] = [];
  let gone = false;
  let denied: string | null = null;
  const names = [...NAMESPACE_TYPES, 'pid_for_children', 'time_for_children'] as const;
  await Promise.all(
    names.map(async (name) => {
      const file = `/proc/${pid}/ns/${name}`;
      try {
        const parsed = parseNamespaceLink(await files.readLink(file));
        if (!parsed.ok) {
          errors.push({ field: `namespaces.${name}`, reason: parsed.error });
          return;
        }
        ns[name] = parsed.value.inode;
      } catch (err) {
        if (isGone(err)) {
          // The time namespace is missing on kernels before 5.6; a missing pid dir means the process left.
          if (name === 'time' || name === 'time_for_children') return;
          gone = true;
        } else if (denied === null) {
          denied = describeReadError(err, file, files.kind);
        }
      }
    }),
  );
  // The *_for_children links are kept only where they differ (a process that unshared).
  if (ns.pid_for_children === ns.pid || ns.pid_for_children === undefined) delete ns.pid_for_children;
  if (ns.time_for_children === ns.time || ns.time_for_children === undefined) delete ns.time_for_children;
  if (gone) return { namespaces: null, errors: [{ field: 'namespaces', reason: `process ${pid} exited while it was read` }], gone };
  if (denied !== null) {
    errors.push({ field: 'namespaces', reason: denied });
    if (NAMESPACE_TYPES.every((t) => ns[t] === null)) return { namespaces: null, errors, gone };
  }
  return { namespaces: ns, errors, gone };
}

/** The most of a process's command line read (/proc/PID/cmdline); a longer one is cut and marked. */
export const CMDLINE_MAX_BYTES = 64 * 1024;

/** Reads one process; null when it exited in the meantime. */
export async function readProcess(files: HostFiles, hostPid: number, users?: Map<number, string>): Promise<ProcessInfo | null> {
  let statusText: string;
  try {
    statusText = await files.readText(`/proc/${hostPid}/status`);
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
  const status = parseProcStatus(statusText);
  if (!status.ok) return null;
  let args: string[] = [];
  let truncated = false;
  try {
    // The process writes its own arguments (and can make them megabytes long): read a bounded head only.
    const head = await readHead(files, `/proc/${hostPid}/cmdline`, CMDLINE_MAX_BYTES);
    truncated = head.truncated;
    let text = head.data.toString('utf8');
    // A character cut at the cap decodes as U+FFFD: drop it rather than show a character never there.
    if (truncated && text.endsWith('\ufffd')) text = text.slice(0, -1);
    args = parseCmdline(text);
  } catch (err) {
    if (isGone(err)) return null;
  }
  const s = status.value;
  const uid = s.uids.length > 0 ? s.uids[0] : null;
  const nspid = s.nspid;
  return {
    hostPid,
    containerPid: nspid.length > 1 ? nspid[nspid.length - 1] : nspid.length === 1 ? nspid[0] : null,
    ppid: s.ppid,
    uid,
    user: uid === null ? '?' : (users?.get(uid) ?? String(uid)),
    name: s.name,
    command: args.length > 0 ? args.join(' ') : `[${s.name}]`,
    ...(truncated ? { commandTruncated: true as const } : {}),
    threads: s.threads,
    rssBytes: s.vmRssBytes,
  };
}

/** Reads several processes in parallel, dropping those that exited; errors other than "gone" are collected. */
export async function readProcesses(
  files: HostFiles,
  pids: number[],
  users?: Map<number, string>,
): Promise<{ processes: ProcessInfo[]; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  const results = await Promise.all(
    pids.map(async (pid) => {
      try {
        return await readProcess(files, pid, users);
      } catch (err) {
        errors.push({ field: `processes.${pid}`, reason: describeReadError(err, `/proc/${pid}/status`, files.kind) });
        return null;
      }
    }),
  );
  return { processes: results.filter((p): p is ProcessInfo => p !== null), errors };
}

/** Bounds on reading a container's /etc/passwd: it is the container's to make as large or slow as it likes. */
export const PASSWD_LIMITS = { maxBytes: 1024 * 1024, deadlineMs: 1000 };

export interface UsersRead {
  /** uid → name; undefined when the container has no /etc/passwd or it could not be read. */
  users: Map<number, string> | undefined;
  /** Why it was not read (a FIFO, a device, a link loop, too slow …) or read only in part; field `users`. */
  errors: FieldError[];
  /** A timeout: worth trying again next time, not worth remembering. */
  transient: boolean;
}

/**
 * The user names a container knows, from its own /etc/passwd, read confined to its root (no link of
 * the container's followed out of it, only a regular file, at most 1 MiB, within 1 s). What was refused
 * becomes an error on `users`; a container without /etc/passwd (FROM scratch) simply has no names.
 */
export async function readContainerUsers(files: HostFiles, pid: number): Promise<UsersRead> {
  const file = '/etc/passwd';
  try {
    const { data, truncated } = await files.readConfined({ kind: 'process', pid }, file, PASSWD_LIMITS);
    let text = data.toString('utf8');
    const errors: FieldError[] = [];
    if (truncated) {
      // The last line may be cut in the middle of its uid: keep whole lines only.
      text = text.slice(0, text.lastIndexOf('\n') + 1);
      errors.push({
        field: 'users',
        reason: `${file} is longer than ${PASSWD_LIMITS.maxBytes} bytes: only the first ${PASSWD_LIMITS.maxBytes} read`,
      });
    }
    return { users: parsePasswd(text), errors, transient: false };
  } catch (err) {
    // No /etc/passwd (FROM scratch) means no names; a process that exited says so on other fields.
    if (isGone(err) && !(err instanceof ConfinedReadError && err.refusal === 'link-escape'))
      return { users: undefined, errors: [], transient: false };
    const reason = err instanceof Error ? err.message : String(err);
    return {
      users: undefined,
      errors: [{ field: 'users', reason: `${reason} (user names shown as numbers)` }],
      transient: err instanceof ConfinedReadError && err.refusal === 'timeout',
    };
  }
}

/**
 * The host's namespaces: PID 1's. Where PID 1 is not readable (a sandbox whose init holds more privileges,
 * a user without CAP_SYS_PTRACE), the daemon's process and then this process stand in, and the answer says so.
 */
export async function readHostNamespaces(files: HostFiles): Promise<{ read: NamespaceRead; from: string }> {
  const first = await readNamespaces(files, 1);
  if (first.namespaces && first.errors.length === 0) return { read: first, from: 'PID 1' };
  const why = first.errors[0]?.reason ?? 'PID 1 is not readable';
  const candidates: [number, string][] = [];
  for (const pidFile of ['/var/run/docker.pid', '/run/docker.pid']) {
    try {
      const pid = Number((await files.readText(pidFile)).trim());
      if (Number.isInteger(pid) && pid > 1) {
        candidates.push([pid, `dockerd (PID ${pid})`]);
        break;
      }
    } catch {
      // Not there or not readable: try the next stand-in.
    }
  }
  if (files.kind === 'direct') candidates.push([process.pid, `this process (PID ${process.pid})`]);
  for (const [pid, label] of candidates) {
    const r = await readNamespaces(files, pid);
    if (r.namespaces && r.errors.length === 0) return { read: r, from: `${label}, standing in for PID 1: ${why}` };
  }
  return { read: first, from: `PID 1 (${why})` };
}

/**
 * The parent of a process as /proc/PID/status tells it (the kernel's account, which the process cannot
 * change); null when it cannot be read, or the parent is PID 1 or none (the process was re-parented).
 */
export async function readParentPid(files: HostFiles, pid: number): Promise<number | null> {
  try {
    const status = parseProcStatus(await files.readText(`/proc/${pid}/status`));
    return status.ok && status.value.ppid > 1 ? status.value.ppid : null;
  } catch {
    return null;
  }
}
