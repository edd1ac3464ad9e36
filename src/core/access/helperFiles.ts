// HostFiles through a helper container: the same readers and parsers as direct reads, fed by the helper.
import { WalkCancelled } from '../layers/walk';
import { HostFileError, HostFiles, TreeEntry, TreeWalkOptions } from '../util/hostFiles';
import { HelperSession, WALK_TIMEOUT_MS } from './helper';
import { HelperOp, HelperReply, decodeListing, linkTarget, parseWalk } from './protocol';

const NODE_SYSCALL: Record<HelperOp, string> = { r: 'open', l: 'readlink', d: 'scandir', w: 'scandir', s: 'lstat' };

/** A reply's failure as Node's fs would have thrown it (code, path), so describeReadError reads the same. */
function replyError(reply: Extract<HelperReply, { ok: false }>, op: HelperOp, file: string): HostFileError {
  return new HostFileError(
    reply.code,
    file,
    `${reply.code}: ${reply.message.toLowerCase()}, ${NODE_SYSCALL[op]} '${file}' (in the helper container)`,
  );
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

  /** The running session, started on first use and again after one ended. */
  private current(): Promise<HelperSession> {
    if (this.disposed) return Promise.reject(new Error('the engine was disposed'));
    if (this.live && !this.live.alive) {
      this.live = null;
      this.session = null;
    }
    if (!this.session) {
      const started = this.launch().then((s) => {
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

  /** One request; resolves with the reply's parts and the path the helper was asked for. */
  private async ask(
    op: HelperOp,
    file: string,
    timeoutMs?: number,
  ): Promise<{ reply: HelperReply & { ok: true }; parts: Buffer[]; helperPath: string }> {
    this.acquire();
    try {
      const session = await this.current();
      const where = session.translator.toHelper(file);
      if (!where.ok) throw new HostFileError(where.code, file, where.reason);
      const reply = await session.request(op, where.path, file, timeoutMs).catch((err: Error & { code?: string }) => {
        throw new HostFileError(err.code ?? 'EIO', file, `${file}: ${err.message}`);
      });
      if (!reply.ok) throw replyError(reply, op, file);
      return { reply, parts: reply.parts, helperPath: where.path };
    } finally {
      this.release();
    }
  }

  async readBytes(file: string): Promise<Buffer> {
    return (await this.ask('r', file)).parts[0] ?? Buffer.alloc(0);
  }

  async readText(file: string): Promise<string> {
    return (await this.readBytes(file)).toString('utf8');
  }

  async readLink(file: string): Promise<string> {
    return linkTarget((await this.ask('l', file)).reply).toString('utf8');
  }

  async listDir(dir: string): Promise<string[]> {
    return decodeListing((await this.ask('d', dir)).parts[0] ?? Buffer.alloc(0));
  }

  async exists(file: string): Promise<boolean> {
    try {
      await this.ask('s', file);
      return true;
    } catch (err) {
      if ((err as HostFileError).code === 'ENOENT') return false;
      throw err;
    }
  }

  async walkTree(dir: string, opts: TreeWalkOptions = {}): Promise<TreeEntry[]> {
    this.acquire();
    try {
      let reply: { parts: Buffer[]; helperPath: string };
      try {
        reply = await this.ask('w', dir, WALK_TIMEOUT_MS);
      } catch (err) {
        // As the direct walker: a directory that is not there lists nothing.
        if ((err as HostFileError).code === 'ENOENT') return [];
        throw err;
      }
      if (opts.signal?.aborted) throw new WalkCancelled();
      const [names, stats, errors] = [0, 1, 2].map((i) => reply.parts[i] ?? Buffer.alloc(0));
      const walked = parseWalk(reply.helperPath, names, stats, errors);
      if (walked.error)
        throw new HostFileError(
          walked.error.code,
          dir,
          `${walked.error.code}: ${walked.error.message} (walking ${dir} in the helper container)`,
        );
      const entries: TreeEntry[] = walked.entries.map((e) => ({
        name: e.name,
        type: e.type,
        size: e.type === 'file' ? e.size : 0,
        mode: e.mode,
        whiteout: e.type === 'char' && e.major === 0 && e.minor === 0,
      }));
      // Link targets in one more pipelined batch; an unreadable one is empty, as the direct walker leaves it.
      await Promise.all(
        entries
          .filter((e) => e.type === 'symlink')
          .map(async (e) => {
            e.linkTarget = await this.readLink(`${dir}/${e.name}`).catch(() => '');
          }),
      );
      opts.onProgress?.(entries.length);
      return entries;
    } finally {
      this.release();
    }
  }
}
