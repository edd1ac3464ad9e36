// Reading one file a container or an image controls, confined to its root (see resolve.ts for how a path
// is resolved). Only a regular file is read: its O_PATH fd is fstat'ed first, and a FIFO, device, socket
// or directory is refused without ever being opened for reading (open(2) of a FIFO blocks, of a device
// runs its driver). A regular file on a kernel filesystem (the container's /proc or /sys) is refused too.
// The file is then re-opened through /proc/self/fd/<its O_PATH fd>: the same inode, so nothing can be
// swapped in between; non-blocking; at most maxBytes read. Every step is asynchronous (a stuck
// filesystem holds a libuv thread, not the event loop) and the whole runs under one deadline.
import type * as fs from 'node:fs';
import type { ConfinedFile, ReadLimits } from '../util/hostFiles';
import {
  O_DIRECTORY,
  O_NOCTTY,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  closeQuietly,
  describeType,
  fdPath,
  fstatAsync,
  ioError,
  kernelFilesystem,
  openAsync,
  readAsync,
  refuse,
  sameInode,
  statfsAsync,
} from './fd';
import { Deadline, resolveInRoot } from './resolve';

/**
 * Runs `work` under a deadline of `ms`: rejects with a 'timeout' ConfinedReadError when it passes. `work`
 * keeps its own fds and closes them when its current step returns (an fd is never closed under a read
 * still in flight); what it returns after the deadline is dropped.
 */
export function withDeadline<T>(file: string, ms: number, work: (d: Deadline) => Promise<T>): Promise<T> {
  const deadline = new Deadline(ms, file);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      deadline.expired = true;
      reject(deadline.error());
    }, ms);
    work(deadline).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}

/** Opens a root directory: the engine's own path (a layer dir, /proc/PID/root), so it is followed. */
async function openRoot(rootPath: string, file: string, deadline: Deadline): Promise<number> {
  let fd: number;
  try {
    fd = await openAsync(rootPath, O_PATH | O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') {
      throw refuse('io', code, file, `${file}: ${rootPath} does not exist (the process or container may have exited)`);
    }
    throw ioError(err, file);
  }
  if (deadline.expired) {
    closeQuietly(fd);
    deadline.check();
  }
  return fd;
}

/** Reads at most `maxBytes` from `fd` (one more byte tells whether the file is longer). */
async function readCapped(fd: number, size: number, maxBytes: number, deadline: Deadline): Promise<ConfinedFile> {
  const want = maxBytes + 1;
  // Sized by fstat, grown if the file grows meanwhile; never above the cap (a 10 GiB sparse file costs maxBytes).
  let buf = Buffer.allocUnsafe(Math.max(1, Math.min(want, size + 1)));
  let off = 0;
  for (;;) {
    if (off === buf.length) {
      if (buf.length >= want) break;
      const bigger = Buffer.allocUnsafe(Math.min(want, buf.length * 2));
      buf.copy(bigger, 0, 0, off);
      buf = bigger;
    }
    const n = await readAsync(fd, buf, off, buf.length - off, off);
    deadline.check();
    if (n === 0) break;
    off += n;
  }
  const truncated = off > maxBytes;
  return { data: Buffer.from(buf.subarray(0, Math.min(off, maxBytes))), truncated };
}

/** Refuses anything but a regular file of an ordinary filesystem. */
async function requireRegular(pathFd: number, st: fs.Stats, file: string, deadline: Deadline): Promise<void> {
  if (!st.isFile()) throw refuse('not-regular', st.isDirectory() ? 'EISDIR' : 'EINVAL', file, `${file} is ${describeType(st)}: not read`);
  const { type } = await statfsAsync(fdPath(pathFd));
  deadline.check();
  const kernel = kernelFilesystem(type);
  if (kernel) throw refuse('not-regular', 'EINVAL', file, `${file} is a kernel file (on ${kernel}): not read`);
}

/**
 * Reads `relPath` inside the directory `rootPath` (followed: it is the engine's own path), confined as
 * the file comment says. Rejects with a ConfinedReadError; `rootLabel` names the root in its messages.
 */
export function readConfinedAt(rootPath: string, relPath: string, limits: ReadLimits, rootLabel?: string): Promise<ConfinedFile> {
  const file = relPath;
  return withDeadline(file, limits.deadlineMs, async (deadline) => {
    const root = await openRoot(rootPath, file, deadline);
    try {
      const { fd: pathFd, st } = await resolveInRoot(root, relPath, { followFinal: true, deadline, rootLabel });
      try {
        await requireRegular(pathFd, st, file, deadline);
        // Not O_NOFOLLOW: /proc/self/fd/N is itself a (magic) link, to the very inode fstat'ed above.
        const fd = await openAsync(fdPath(pathFd), O_RDONLY | O_NONBLOCK | O_NOCTTY);
        try {
          deadline.check();
          const again = await fstatAsync(fd);
          if (!sameInode(st, again) || !again.isFile())
            throw refuse('swapped', 'ESTALE', file, `${file} changed while it was read: not read`);
          return await readCapped(fd, again.size, limits.maxBytes, deadline);
        } finally {
          closeQuietly(fd);
        }
      } finally {
        closeQuietly(pathFd);
      }
    } catch (err) {
      throw ioError(err, file);
    } finally {
      closeQuietly(root);
    }
  });
}

/**
 * Whether `relPath` exists inside `rootPath`, resolved confined and without following a final link (as
 * lstat). A component that is missing or not a directory means no; other failures reject.
 */
export function existsConfinedAt(rootPath: string, relPath: string, deadlineMs: number): Promise<boolean> {
  return withDeadline(relPath, deadlineMs, async (deadline) => {
    const root = await openRoot(rootPath, relPath, deadline);
    try {
      const { fd } = await resolveInRoot(root, relPath, { followFinal: false, deadline });
      closeQuietly(fd);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw ioError(err, relPath);
    } finally {
      closeQuietly(root);
    }
  });
}
