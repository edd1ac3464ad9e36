// Resolution of a path inside a root someone else wrote, component by component from open fds, the way
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) and filepath-securejoin do it:
// - every component is opened with O_PATH|O_NOFOLLOW from the fd of its parent, so the kernel never
//   follows a link the container wrote (not an intermediate one, not a /proc/…/root magic link);
// - a link is read and its target resolved here, inside the root: an absolute target starts again at the
//   root, `..` goes back to the directory it came from (our own stack of fds) and stops at the root. So a
//   link cannot lead out: `/etc/passwd -> /root/secret` names the container's /root/secret, as the
//   container itself sees it, and `../../../../secret` clamps to the container's /secret;
// - more than MAX_LINKS links on one resolution is a loop.
import type * as fs from 'node:fs';
import { ConfinedReadError } from '../util/hostFiles';
import {
  MAX_LINKS,
  O_PATH,
  O_NOFOLLOW,
  childPath,
  closeQuietly,
  fdPath,
  fstatAsync,
  ioError,
  openAsync,
  readlinkBufferAsync,
  refuse,
} from './fd';

const SLASH = 0x2f;
const DOT = 0x2e;

/** The deadline of one confined operation; every step checks it, so a stuck one is given up on its next step. */
export class Deadline {
  readonly at: number;
  expired = false;

  constructor(
    readonly ms: number,
    readonly file: string,
  ) {
    this.at = Date.now() + ms;
  }

  error(): ConfinedReadError {
    return refuse('timeout', 'ETIMEDOUT', this.file, `${this.file}: not read within ${this.ms} ms`);
  }

  check(): void {
    if (this.expired || Date.now() >= this.at) {
      this.expired = true;
      throw this.error();
    }
  }
}

/** Splits a byte path into its components (empty ones dropped). */
export function splitPath(p: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === SLASH) {
      if (i > start) parts.push(p.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

function isDot(name: Buffer): boolean {
  return name.length === 1 && name[0] === DOT;
}

function isDotDot(name: Buffer): boolean {
  return name.length === 2 && name[0] === DOT && name[1] === DOT;
}

export interface Resolved {
  /** An O_PATH fd of what the path names; the caller closes it. */
  fd: number;
  /** Its fstat (a link's own stat when the final link was not followed). */
  st: fs.Stats;
}

export interface ResolveOptions {
  /** Follow a link in the last component too (read), or stop at it (lstat). */
  followFinal: boolean;
  deadline: Deadline;
  /** What the root is, for messages: "the container", "the layer directory". */
  rootLabel?: string;
}

/**
 * Resolves `relPath` (read as absolute inside the root) from `rootFd`, an fd of the root directory that
 * stays the caller's. Rejects with a ConfinedReadError: 'link-escape' (a link that leads to nothing
 * inside the root, e.g. one aimed at a host path), 'link-loop', 'swapped' (a link that stopped
 * being one between two looks), 'timeout', or 'io' with the errno code (ENOENT, ENOTDIR …).
 */
export async function resolveInRoot(rootFd: number, relPath: string, opts: ResolveOptions): Promise<Resolved> {
  const file = relPath;
  const { deadline } = opts;
  // Directories below the root on the current path, each an O_PATH fd owned here.
  const stack: number[] = [];
  const top = () => (stack.length > 0 ? stack[stack.length - 1] : rootFd);
  let queue = splitPath(Buffer.from(relPath));
  let links = 0;
  let cur: number | null = null;
  try {
    while (queue.length > 0) {
      deadline.check();
      const name = queue.shift()!;
      if (isDot(name)) continue;
      if (isDotDot(name)) {
        // Back to where we came from; at the root `..` is the root (the container cannot see above it).
        const up = stack.pop();
        if (up !== undefined) closeQuietly(up);
        continue;
      }
      const at = childPath(top(), name);
      cur = await openAsync(at, O_PATH | O_NOFOLLOW);
      deadline.check();
      const st = await fstatAsync(cur);
      deadline.check();
      const last = queue.length === 0;
      if (st.isSymbolicLink() && (!last || opts.followFinal)) {
        closeQuietly(cur);
        cur = null;
        if (++links > MAX_LINKS) {
          throw refuse('link-loop', 'ELOOP', file, `${file}: more than ${MAX_LINKS} links on the way (a loop): not read`);
        }
        let target: Buffer;
        try {
          target = await readlinkBufferAsync(at);
        } catch (err) {
          // EINVAL: no longer a link (swapped since the open above).
          if ((err as NodeJS.ErrnoException).code === 'EINVAL')
            throw refuse('swapped', 'EINVAL', file, `${file} changed while it was read: not read`);
          throw err;
        }
        deadline.check();
        if (target.length === 0) throw ioError({ code: 'ENOENT' }, file);
        if (target[0] === SLASH) while (stack.length > 0) closeQuietly(stack.pop()!);
        queue = [...splitPath(target), ...queue];
        continue;
      }
      if (last) {
        const resolved = { fd: cur, st };
        cur = null;
        return resolved;
      }
      if (!st.isDirectory()) throw ioError({ code: 'ENOTDIR' }, file);
      stack.push(cur);
      cur = null;
    }
    // The path named a directory on the way (`/`, `a/..`): hand out an fd of its own.
    const fd = await openAsync(fdPath(top()), O_PATH);
    try {
      deadline.check();
      return { fd, st: await fstatAsync(fd) };
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (links > 0 && (code === 'ENOENT' || code === 'ENOTDIR') && !(err instanceof ConfinedReadError && err.refusal !== 'io')) {
      // A link that leads nowhere inside: most often one written to point a reader at the host's files.
      throw refuse('link-escape', code, file, `${file} is a link to a path ${opts.rootLabel ?? 'the root'} does not have: not read`);
    }
    throw ioError(err, file);
  } finally {
    if (cur !== null) closeQuietly(cur);
    for (const fd of stack) closeQuietly(fd);
  }
}
