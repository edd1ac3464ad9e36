// HostFiles through a helper container: the same readers and parsers as direct reads, fed by the helper.
//
// What a container controls (its root through /proc/PID/root, a layer or writable-layer directory) is
// read only with the confined ops of script.ts: the script goes down plain names from the root, pinning
// each directory, and stops at any link; the link's target is resolved here, inside the root
// (confinedPath.ts), and the script asked again. Walks list one pinned directory per request, and each
// listed directory must come back with the identity (dev:ino) its parent's listing gave it. Host paths
// a container cannot write (cgroupfs, the daemon's metadata, /proc/PID/{status,ns,…}) use the plain ops.
import { Deadline } from '../confined/resolve';
import { MAX_LINKS, ioError, kernelFilesystem, refuse } from '../confined/fd';
import { WalkCancelled } from '../confined/walk';
import {
  ConfinedFile,
  ConfinedReadError,
  ConfinedRoot,
  HostFileError,
  HostFiles,
  ReadLimits,
  TreeEntry,
  TreeWalkOptions,
} from '../util/hostFiles';
import { InRootResolver, TooManyLinks } from './confinedPath';
import { HelperSession, WALK_TIMEOUT_MS } from './helper';
import { HelperOp, HelperReply, StatRecord, confinedArg, decodeListing, linkTarget, readArg, typeFromMode } from './protocol';

const NODE_SYSCALL: Record<HelperOp, string> = {
  r: 'open',
  h: 'open',
  l: 'readlink',
  d: 'scandir',
  s: 'lstat',
  c: 'open',
  t: 'scandir',
  k: 'readlink',
  e: 'lstat',
  p: 'open',
};

/** Listing requests of one walk in flight at once: the pipe stays full, other readers still get a turn. */
export const HELPER_WALK_WINDOW = 16;
/** Bounds on a read of a container's file through readText/readBytes (callers that set none). */
const ROUTED_LIMITS: ReadLimits = { maxBytes: 32 * 1024 * 1024, deadlineMs: 20_000 };
/** How much longer than a confined op's own deadline the session waits before it gives up on the helper. */
const BACKSTOP_MS = 3_000;

type Ok = Extract<HelperReply, { ok: true }>;
type Failed = Extract<HelperReply, { ok: false }>;

/** A reply's failure as Node's fs would have thrown it (code, path), so describeReadError reads the same. */
function replyError(reply: Failed, op: HelperOp, file: string): HostFileError {
  const text = reply.text ?? reply.message;
  return new HostFileError(
    reply.code,
    file,
    `${reply.code}: ${text.toLowerCase()}, ${NODE_SYSCALL[op]} '${file}' (in the helper container)`,
  );
}

/** A path under a root the container writes (`/proc/PID/root/…`, an overlay dir), split at that root. */
export function containerPath(file: string): { root: ConfinedRoot; rel: string } | null {
  const proc = /^\/proc\/(\d+)\/root(\/.*)?$/.exec(file);
  // PID 1 is the host's init (the helper runs in the host's PID namespace): its root is the host's, no container's.
  if (proc && proc[1] !== '1') return { root: { kind: 'process', pid: Number(proc[1]) }, rel: proc[2] ?? '/' };
  const overlay = /^(\/.+\/overlay2\/[^/]+\/(?:diff|merged))(\/.*)?$/.exec(file);
  if (overlay) return { root: { kind: 'dir', dir: overlay[1] }, rel: overlay[2] ?? '/' };
  return null;
}

function describeMode(rawMode: number): string {
  switch (typeFromMode(rawMode)) {
    case 'fifo':
      return 'a FIFO';
    case 'char':
      return 'a character device';
    case 'block':
      return 'a block device';
    case 'socket':
      return 'a socket';
    case 'dir':
      return 'a directory';
    case 'symlink':
      return 'a symbolic link';
    default:
      return 'not a regular file';
  }
}

/**
 * Host files read by a helper container. One container serves everything between `hold` and its end (one
 * per refresh); reads outside a hold start one that stops `idleMs` after the last read.
 */
export class HelperHostFiles implements HostFiles {
  readonly kind = 'helper' as const;
  private session: Promise<HelperSession> | null = null;
  private live: HelperSession | null = null;
  private users = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private disposed = false;
  private seq = 0;
  /** Helpers being stopped (a stop ends with the container removed). */
  private readonly stopping = new Set<Promise<void>>();
  /** The image of the helper that ran last (for the access reason). */
  image: string | null = null;

  constructor(
    private readonly launch: () => Promise<HelperSession>,
    private readonly idleMs = 0,
  ) {}

  /** Runs `fn` with one helper container kept for its whole duration; starts it first (and throws if it cannot run). */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    this.acquire();
    try {
      await this.current();
    } catch (err) {
      this.release();
      throw err;
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(): void {
    this.users++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private release(): void {
    if (--this.users > 0) return;
    const stop = () => {
      this.idleTimer = null;
      if (this.users === 0) void this.stop();
    };
    if (this.idleMs <= 0) {
      stop();
      return;
    }
    this.idleTimer = setTimeout(stop, this.idleMs);
    this.idleTimer.unref?.();
  }

  private async held<T>(fn: () => Promise<T>): Promise<T> {
    this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** The running session, started on first use and again after one ended. */
  private current(): Promise<HelperSession> {
    if (this.disposed) return Promise.reject(new Error('the engine was disposed'));
    if (this.live && !this.live.alive) {
      this.live = null;
      this.session = null;
    }
    if (!this.session) {
      // A helper being stopped is parked (or removed) first: the next one may be that very helper.
      const stopping = [...this.stopping];
      const started = (stopping.length > 0 ? Promise.all(stopping).then(() => this.launch()) : this.launch()).then((s) => {
        this.live = s;
        this.image = s.image;
        return s;
      });
      this.session = started;
      started.catch(() => {
        if (this.session === started) this.session = null;
      });
    }
    return this.session;
  }

  private stop(): Promise<void> {
    const s = this.session;
    this.session = null;
    this.live = null;
    if (!s) return Promise.resolve();
    const stopped = s.then(
      (session) => session.close(),
      () => undefined,
    );
    this.stopping.add(stopped);
    void stopped.finally(() => this.stopping.delete(stopped));
    return stopped;
  }

  /** Stops the helper now (the engine is done) and waits until every helper it ran is removed; later reads fail. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    void this.stop();
    await Promise.all([...this.stopping]);
  }

  /**
   * Sends one request. When the session ends under it for another request's sake (one that timed out
   * replaced the helper, or the helper exited), it is sent once more to the next helper: one stuck read
   * costs only its own answer. Its own timeout rejects with code ETIMEDOUT.
   */
  private async send(op: HelperOp, arg: (s: HelperSession) => string | Buffer, file: string, timeoutMs?: number): Promise<HelperReply> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.current();
      const label = `${file} [${++this.seq}]`;
      try {
        return await session.request(op, arg(session), label, timeoutMs);
      } catch (err) {
        const e = err as Error & { code?: string };
        if (e instanceof HostFileError) throw e;
        const own = e.code === 'ETIMEDOUT' && e.message.includes(`for ${label} within`);
        if (own || attempt >= 1 || this.disposed) {
          throw Object.assign(new Error(e.message.replace(label, file)), { code: e.code ?? 'EIO' });
        }
      }
    }
  }

  /** One request on a host path; resolves with the reply and the path the helper was asked for. */
  private async ask(op: HelperOp, file: string, timeoutMs?: number): Promise<{ reply: Ok; parts: Buffer[] }> {
    return this.held(async () => {
      const reply = await this.send(
        op,
        (session) => {
          const where = session.translator.toHelper(file);
          if (!where.ok) throw new HostFileError(where.code, file, where.reason);
          return where.path;
        },
        file,
        timeoutMs,
      ).catch((err: Error & { code?: string }) => {
        if (err instanceof HostFileError) throw err;
        throw new HostFileError(err.code ?? 'EIO', file, `${file}: ${err.message}`);
      });
      if (!reply.ok) throw replyError(reply, op, file);
      return { reply, parts: reply.parts };
    });
  }

  /** The helper's path of a confined root: /proc is the host's (pid=host), directories go through the binds. */
  private static rootPath(session: HelperSession, root: ConfinedRoot, file: string): string {
    if (root.kind === 'process') return `/proc/${root.pid}/root`;
    const where = session.translator.toHelper(root.dir);
    if (!where.ok) throw refuse('io', where.code, file, where.reason);
    return where.path;
  }

  /**
   * A confined op on `components` (plain names) of `root`: the raw reply, or a ConfinedReadError when the
   * helper could not be asked or did not answer in time.
   */
  private async confinedAsk(
    op: HelperOp,
    root: ConfinedRoot,
    components: Buffer[],
    file: string,
    timeoutMs: number,
    bounds?: { maxBytes: number; seconds: number },
  ): Promise<HelperReply> {
    try {
      return await this.send(
        op,
        (session) => {
          const arg = confinedArg(HelperHostFiles.rootPath(session, root, file), components);
          return bounds ? readArg(bounds.maxBytes, bounds.seconds, arg) : arg;
        },
        file,
        timeoutMs,
      );
    } catch (err) {
      if (err instanceof ConfinedReadError) throw err;
      const e = err as Error & { code?: string };
      if (e.code === 'ETIMEDOUT')
        throw refuse('timeout', 'ETIMEDOUT', file, `${file}: not read within ${timeoutMs} ms (the helper did not answer)`);
      throw refuse('io', e.code ?? 'EIO', file, `${file}: ${e.message}`);
    }
  }

  /** The error a confined op's failure stands for. */
  private static confinedError(reply: Failed, root: ConfinedRoot, file: string, deadline: Deadline): ConfinedReadError {
    switch (reply.status) {
      case 2:
        return deadline.error();
      case 4:
        return refuse('swapped', 'ESTALE', file, `${file} changed while it was read: not read`);
      case 5: {
        const mode = parseInt(reply.text ?? '', 16) || 0;
        const isDir = typeFromMode(mode) === 'dir';
        return refuse('not-regular', isDir ? 'EISDIR' : 'EINVAL', file, `${file} is ${describeMode(mode)}: not read`);
      }
      case 6: {
        const fs = kernelFilesystem(parseInt(reply.text ?? '', 16)) ?? `filesystem 0x${reply.text ?? '?'}`;
        return refuse('not-regular', 'EINVAL', file, `${file} is a kernel file (on ${fs}): not read`);
      }
      default:
        if (reply.at === -1 && (reply.code === 'ENOENT' || reply.code === 'ESRCH')) {
          const where = root.kind === 'process' ? `/proc/${root.pid}/root` : root.dir;
          return refuse('io', reply.code, file, `${file}: ${where} does not exist (the process or container may have exited)`);
        }
        return ioError({ code: reply.code, message: reply.text ?? reply.message }, file);
    }
  }

  /**
   * Resolves `relPath` inside `root` step by step and ends with `op` on what it names: `c` reads it, `k`
   * readlinks it and `e` lstats it (a final link is then not followed), `t` lists it.
   */
  private async resolveConfined(
    op: 'c' | 'k' | 'e' | 't',
    root: ConfinedRoot,
    relPath: string,
    deadline: Deadline,
    maxBytes = 0,
  ): Promise<Ok> {
    const file = relPath;
    const resolver = new InRootResolver(relPath);
    for (;;) {
      deadline.check();
      const step = resolver.next();
      const stepOp: HelperOp = step.kind === 'descend' ? 'p' : op;
      const left = Math.max(1, deadline.at - Date.now());
      const reply = await this.confinedAsk(
        stepOp,
        root,
        step.components,
        file,
        left + BACKSTOP_MS,
        stepOp === 'c' ? { maxBytes: maxBytes + 1, seconds: Math.max(0.1, left / 1000) } : undefined,
      );
      if (reply.ok) {
        if (step.kind === 'final') return reply;
        resolver.descended();
        continue;
      }
      if (reply.status === 3 && reply.at !== undefined) {
        const raw = reply.parts[0] ?? Buffer.alloc(0);
        const target = raw.length > 0 && raw[raw.length - 1] === 0x0a ? raw.subarray(0, raw.length - 1) : raw;
        if (target.length === 0) throw refuse('io', 'ENOENT', file, `${file} does not exist`);
        try {
          resolver.link(reply.at, target);
        } catch (err) {
          if (err instanceof TooManyLinks) {
            throw refuse('link-loop', 'ELOOP', file, `${file}: more than ${MAX_LINKS} links on the way (a loop): not read`);
          }
          throw err;
        }
        continue;
      }
      const err = HelperHostFiles.confinedError(reply, root, file, deadline);
      if (resolver.links > 0 && err.refusal === 'io' && (err.code === 'ENOENT' || err.code === 'ENOTDIR') && reply.at !== -1) {
        // As the direct path: a link that leads nowhere inside is most often one aimed at the host's files.
        const label = root.kind === 'process' ? 'the container' : 'the directory';
        throw refuse('link-escape', err.code, file, `${file} is a link to a path ${label} does not have: not read`);
      }
      throw err;
    }
  }

  readConfined(root: ConfinedRoot, relPath: string, limits: ReadLimits): Promise<ConfinedFile> {
    return this.held(async () => {
      const deadline = new Deadline(limits.deadlineMs, relPath);
      const reply = await this.resolveConfined('c', root, relPath, deadline, limits.maxBytes);
      const data = reply.parts[0] ?? Buffer.alloc(0);
      const truncated = data.length > limits.maxBytes;
      return { data: truncated ? Buffer.from(data.subarray(0, limits.maxBytes)) : data, truncated };
    });
  }

  existsConfined(root: ConfinedRoot, relPath: string): Promise<boolean> {
    return this.held(async () => {
      try {
        await this.resolveConfined('e', root, relPath, new Deadline(ROUTED_LIMITS.deadlineMs, relPath));
        return true;
      } catch (err) {
        const code = (err as ConfinedReadError).code;
        if (
          err instanceof ConfinedReadError &&
          (err.refusal === 'io' || err.refusal === 'link-escape') &&
          (code === 'ENOENT' || code === 'ENOTDIR')
        )
          return false;
        throw err;
      }
    });
  }

  async readBytes(file: string): Promise<Buffer> {
    const inside = containerPath(file);
    if (!inside) return (await this.ask('r', file)).parts[0] ?? Buffer.alloc(0);
    // Whoever asks for a container's file by path gets it confined all the same.
    const read = await this.readConfined(inside.root, inside.rel, ROUTED_LIMITS);
    if (read.truncated) throw new HostFileError('EFBIG', file, `${file} is larger than ${ROUTED_LIMITS.maxBytes} bytes: not read`);
    return read.data;
  }

  async readText(file: string): Promise<string> {
    return (await this.readBytes(file)).toString('utf8');
  }

  /** At most `maxBytes` of a kernel file (a process's cmdline): the helper sends no more than that. */
  async readHead(file: string, maxBytes: number): Promise<ConfinedFile> {
    if (!file.startsWith('/proc/') || containerPath(file))
      throw new HostFileError('EINVAL', file, `${file}: not a kernel file (only /proc files are read by their head)`);
    return this.held(async () => {
      // One byte more than asked tells whether there was more.
      const reply = await this.send(
        'h',
        (session) => {
          const where = session.translator.toHelper(file);
          if (!where.ok) throw new HostFileError(where.code, file, where.reason);
          return `${maxBytes + 1} ${where.path}`;
        },
        file,
      ).catch((err: Error & { code?: string }) => {
        if (err instanceof HostFileError) throw err;
        throw new HostFileError(err.code ?? 'EIO', file, `${file}: ${err.message}`);
      });
      if (!reply.ok) throw replyError(reply, 'h', file);
      const data = reply.parts[0] ?? Buffer.alloc(0);
      return data.length > maxBytes ? { data: Buffer.from(data.subarray(0, maxBytes)), truncated: true } : { data, truncated: false };
    });
  }

  async readLink(file: string): Promise<string> {
    const inside = containerPath(file);
    if (!inside) return linkTarget((await this.ask('l', file)).reply).toString('utf8');
    return this.held(async () => {
      const reply = await this.resolveConfined('k', inside.root, inside.rel, new Deadline(ROUTED_LIMITS.deadlineMs, inside.rel));
      return linkTarget(reply).toString('utf8');
    });
  }

  async listDir(dir: string): Promise<string[]> {
    const inside = containerPath(dir);
    if (!inside) return decodeListing((await this.ask('d', dir)).parts[0] ?? Buffer.alloc(0));
    return this.held(async () => {
      const reply = await this.resolveConfined('t', inside.root, inside.rel, new Deadline(ROUTED_LIMITS.deadlineMs, inside.rel));
      return (reply.records ?? []).slice(1).map((r) => r.name.toString('utf8'));
    });
  }

  async exists(file: string): Promise<boolean> {
    const inside = containerPath(file);
    if (inside) return this.existsConfined(inside.root, inside.rel);
    try {
      await this.ask('s', file);
      return true;
    } catch (err) {
      if ((err as HostFileError).code === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Every entry below `dir`, a layer or writable-layer directory, listed one pinned directory per request
   * (HELPER_WALK_WINDOW in flight). A directory whose listing does not come back with the identity its
   * parent's listing gave it, or that became a link or vanished meanwhile, was changed by the container
   * while it was walked: it is listed without what it holds, as the direct walker leaves out what vanished.
   */
  walkTree(dir: string, opts: TreeWalkOptions = {}): Promise<TreeEntry[]> {
    return this.held(async () => {
      const root: ConfinedRoot = { kind: 'dir', dir };
      const entries: TreeEntry[] = [];
      const links: { entry: TreeEntry; components: Buffer[] }[] = [];
      interface Pending {
        components: Buffer[];
        rel: string;
        identity: string | null;
      }
      const list = async (item: Pending): Promise<Pending[]> => {
        const reply = await this.confinedAsk('t', root, item.components, dir, WALK_TIMEOUT_MS).catch((err: ConfinedReadError) => {
          throw new HostFileError(err.code, dir, `${err.message} (walking ${dir} in the helper container)`);
        });
        if (!reply.ok) {
          const changed = reply.status === 3 || reply.status === 4 || reply.code === 'ENOENT' || reply.code === 'ENOTDIR';
          if (item.identity === null) {
            // The walked directory itself: one that is not there lists nothing, as the direct walker.
            if (reply.code === 'ENOENT') return [];
          } else if (changed) return [];
          throw replyError(reply, 't', item.rel ? `${dir}/${item.rel}` : dir);
        }
        const records = reply.records ?? [];
        const self = records[0];
        if (!self || self.name.toString('latin1') !== '.') {
          throw new HostFileError('EIO', dir, `the helper's listing of ${dir}/${item.rel} did not start with the directory itself`);
        }
        if (item.identity !== null && self.identity !== item.identity) return [];
        const more: Pending[] = [];
        for (let i = 1; i < records.length; i++) {
          const r: StatRecord = records[i];
          const name = r.name.toString('utf8');
          const rel = item.rel ? `${item.rel}/${name}` : name;
          const type = typeFromMode(r.rawMode);
          const entry: TreeEntry = {
            name: rel,
            type,
            size: type === 'file' ? r.size : 0,
            mode: r.rawMode & 0o7777,
            whiteout: type === 'char' && r.major === 0 && r.minor === 0,
          };
          entries.push(entry);
          const components = [...item.components, r.name];
          if (type === 'dir') more.push({ components, rel, identity: r.identity });
          else if (type === 'symlink') links.push({ entry, components });
        }
        return more;
      };
      await pool([{ components: [], rel: '', identity: null }], list, HELPER_WALK_WINDOW, opts, () => entries.length);
      // Link targets, pipelined the same way; an unreadable one is empty, as the direct walker leaves it.
      await pool(
        links,
        async ({ entry, components }) => {
          const reply = await this.confinedAsk('k', root, components, dir, WALK_TIMEOUT_MS).catch(() => null);
          entry.linkTarget = reply?.ok ? linkTarget(reply).toString('utf8') : '';
          return [];
        },
        HELPER_WALK_WINDOW * 2,
        opts,
        () => entries.length,
      );
      opts.onProgress?.(entries.length);
      return entries;
    });
  }
}

/**
 * Runs `work` on every item and on the items it returns, `window` at a time; stops at the first error or
 * when `opts.signal` is aborted.
 */
function pool<T>(start: T[], work: (item: T) => Promise<T[]>, window: number, opts: TreeWalkOptions, count: () => number): Promise<void> {
  const queue = [...start];
  let active = 0;
  let done = false;
  let reported = 0;
  return new Promise<void>((resolve, reject) => {
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (err) reject(err as Error);
      else resolve();
    };
    const pump = () => {
      if (done) return;
      if (opts.signal?.aborted) return finish(new WalkCancelled());
      while (active < window && queue.length > 0) {
        const item = queue.shift()!;
        active++;
        work(item).then(
          (more) => {
            active--;
            for (const m of more) queue.push(m);
            const n = count();
            if (n - reported >= 2000) {
              reported = n;
              opts.onProgress?.(n);
            }
            pump();
          },
          (err: unknown) => finish(err),
        );
      }
      if (active === 0 && queue.length === 0) finish();
    };
    pump();
  });
}
