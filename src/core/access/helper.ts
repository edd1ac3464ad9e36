// The helper container: started through the daemon when the engine cannot read the daemon's /proc,
// cgroupfs and /var/lib/docker itself (a docker-group user, Docker Desktop, a remote daemon). It runs
// HELPER_SCRIPT and answers read requests over its attached stdin/stdout; see protocol.ts.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { HelperContainerSpec, Runtime } from '../runtime/types';
import { HelperImage, describeHelperImage } from './helperImage';
import { HelperBind, PathTranslator } from './paths';
import { AttachDemuxer, HelperOp, HelperReply, ReplyParser, encodeRequest } from './protocol';
import { HELPER_SCRIPT } from './script';

/**
 * Every helper container carries this label, so a person can find them (`docker ps --filter label=…`). The
 * engine does not go by it: any container can carry a label. It knows its helpers by the IDs it recorded
 * when it created them (registry.ts).
 */
export const HELPER_LABEL = 'container-xray.helper';
/** A helper kept for reuse carries the hash of what it was made of (helperFingerprint) in this label. */
export const HELPER_REUSE_LABEL = 'container-xray.helper.reuse';
/** Every helper container's name starts so. */
export const HELPER_NAME_PREFIX = 'container-xray-helper-';

/** What to do when the helper image cannot run. */
export const HELPER_IMAGE_HINT =
  'set containerXray.helperImage (CLI: --helper-image) to a local image you trust with a POSIX shell, base64, find, head, stat, readlink and timeout, or `docker pull busybox` (an official image is used by its exact name)';

/** Seconds a helper waits for its next request before it exits by itself, unless the engine says otherwise. */
export const DEFAULT_HELPER_IDLE_S = 120;

/** The helper could not run: no such image, no shell in it, or the daemon refused the container. */
export class HelperUnavailableError extends Error {
  constructor(
    readonly image: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'HelperUnavailableError';
  }
}

/** The user declined to run the chosen image as the helper (the extension asks before it runs one). */
export class HelperDeclinedError extends HelperUnavailableError {
  constructor(readonly chosen: Pick<HelperImage, 'image' | 'imageId'>) {
    super(
      chosen.image,
      `running the helper image ${describeHelperImage(chosen)} with root's read rights on the host was declined (to be asked again, reload the window or set containerXray.helperImage)`,
    );
    this.name = 'HelperDeclinedError';
  }
}

export interface HelperSpec {
  /** The image's name, for messages. */
  image: string;
  /** The image ID the name resolved to when it was chosen (and approved): the container runs exactly this. */
  imageId?: string;
  /** XRAY_IDLE_S: the script exits after this many seconds without a request (its owner may hang). */
  idleTimeoutS?: number;
  /** Called with each container's ID once it is created and before it starts (the engine records it). */
  onCreated?: (id: string) => Promise<void> | void;
  /** Called once a container the session created is removed. */
  onRemoved?: (id: string) => Promise<void> | void;
  binds: HelperBind[];
  /** The daemon's SecurityOptions from GET /info: AppArmor and SELinux confinement need lifting. */
  securityOptions: string[];
  /** The daemon's version: from Docker 25.0 (API 1.44) read-only binds can be made read-only recursively. */
  serverVersion: string;
  /** Whether the runtime makes read-only binds recursive; from serverVersion (Docker's rule) when absent. */
  forceRecursiveReadOnly?: boolean;
  /** The daemon's root dir (DockerRootDir): binds inside it need slave propagation. */
  dockerRootDir: string;
  /** How long the container may take to start and answer `ready`. */
  startTimeoutMs?: number;
  /**
   * Keep the helper for a later run of this user instead of removing it when the session closes (the CLI):
   * its stdin stays open, its script ends after `idleS` seconds without a request, and `park` records it
   * for whoever takes it over (registry.ts). Absent: the helper goes with its session (and its owner).
   */
  reuse?: { idleS: number; key: string; park: (id: string, missing: string[], untilMs: number) => Promise<void> };
}

const DEFAULT_TIMEOUT_MS = 20_000;
/** Milliseconds of idle time a helper must have left to be parked (a later run needs some of it). */
const PARK_MARGIN_MS = 10_000;
/** How long a helper may take to start and say `ready`: a busy daemon, or one in a VM, needs more than a read. */
const START_TIMEOUT_MS = 60_000;
/** The helper container's memory limit (no swap beyond it). */
export const HELPER_MEMORY_BYTES = 256 * 1024 * 1024;
/** A tree walk answers only when it is done; a large writable layer takes a while. */
export const WALK_TIMEOUT_MS = 300_000;

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The daemon's own words from an API error ("(HTTP code 404) no such container - No such image: x"). */
function daemonMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | undefined)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return err instanceof Error ? err.message : String(err);
}

function within(p: string, dir: string): boolean {
  const d = dir.replace(/\/+$/, '');
  return p === d || p.startsWith(`${d}/`);
}

function majorVersion(version: string): number {
  const m = /^(\d+)\./.exec(version);
  return m ? Number(m[1]) : 0;
}

/** The helper container as every runtime is asked for it: least privilege that still reads what root reads. */
export function helperContainerSpec(spec: HelperSpec, binds: HelperBind[], name: string): HelperContainerSpec {
  const forceReadOnly = spec.forceRecursiveReadOnly ?? majorVersion(spec.serverVersion) >= 25;
  return {
    name,
    // The ID, not the name: a retag after the image was chosen cannot change what runs.
    image: spec.imageId ?? spec.image,
    entrypoint: ['/bin/sh', '-c'],
    cmd: [HELPER_SCRIPT, 'container-xray-helper'],
    env: ['LC_ALL=C', `XRAY_IDLE_S=${Math.max(1, Math.ceil(spec.reuse?.idleS ?? spec.idleTimeoutS ?? DEFAULT_HELPER_IDLE_S))}`],
    labels: { [HELPER_LABEL]: '1', ...(spec.reuse ? { [HELPER_REUSE_LABEL]: spec.reuse.key } : {}) },
    // As `docker run -v` picks: the daemon demands rslave under its root dir (overlays mounted later show up
    // too); rslave elsewhere fails where / is a private mount. Before Docker 25.0 a read-only bind leaves
    // sub-mounts (cgroup v1 controllers) writable; nothing here writes.
    binds: binds.map((b) => ({
      host: b.host,
      helper: b.helper,
      propagation: within(b.host, spec.dockerRootDir) ? 'rslave' : 'rprivate',
      forceRecursiveReadOnly: forceReadOnly,
    })),
    memoryBytes: HELPER_MEMORY_BYTES,
    pidsLimit: 64,
    tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=64m,mode=700' },
    apparmorUnconfined: spec.securityOptions.some((o) => /(^|,)name=apparmor(,|$)/.test(o)),
    selinuxDisabled: spec.securityOptions.some((o) => /(^|,)name=selinux(,|$)/.test(o)),
    keepStdin: spec.reuse !== undefined,
  };
}

/**
 * What a helper container is made of, as a hash: everything the runtime is asked for but its name. A parked
 * helper is taken over only by a run that would have made the same one (same image ID, script, binds, idle
 * time, limits), so a new version or other settings never inherit an older helper.
 */
export function helperFingerprint(spec: HelperSpec, runtime: Pick<Runtime, 'helpers'>): string {
  const forKey: HelperSpec = spec.reuse ? { ...spec, reuse: { ...spec.reuse, key: '' } } : spec;
  const body = runtime.helpers.config(helperContainerSpec(forKey, forKey.binds, ''));
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/** A parked helper that is not the container its record says (another name, label or image): not touched. */
export class NotTheParkedHelperError extends Error {}

interface Pending {
  id: number;
  file: string;
  timeoutMs: number;
  resolve: (reply: HelperReply) => void;
  reject: (err: Error) => void;
}

/** One running helper container and its request pipeline. */
export class HelperSession {
  private readonly parser = new ReplyParser();
  private readonly demux = new AttachDemuxer();
  private readonly pending = new Map<number, Pending>();
  /** Ids in the order sent: the script answers in that order, so the first one is the one being worked on. */
  private readonly queue: number[] = [];
  /**
   * Request ids start anywhere in a large range: a session that takes over a parked helper never matches an
   * id of the session before it.
   */
  private nextId = randomInt(1, 2 ** 30);
  /** When the script last answered (ms): its idle time runs from there. */
  private lastActive = Date.now();
  /** The script said `ready`, or answered this session's probe: only such a helper is parked. */
  private verified = false;
  /** The script's shell ends it after XRAY_IDLE_S without a request (`read -t`; dash has none). */
  private idleExits = false;
  private timer: NodeJS.Timeout | null = null;
  private stderrTail = '';
  private ended: Error | null = null;
  private closing: Promise<void> | null = null;
  private ready: { resolve: () => void; reject: (err: Error) => void } | null = null;

  readonly image: string;
  readonly translator: PathTranslator;
  /** The image ID the container was created from. */
  readonly imageId: string | null;
  private readonly onRemoved?: (id: string) => Promise<void> | void;
  private readonly reuse?: HelperSpec['reuse'];

  private constructor(
    private readonly runtime: Runtime,
    private readonly containerId: string,
    private readonly stream: NodeJS.ReadWriteStream,
    spec: HelperSpec,
    /** Host paths of optional binds the daemon's machine lacked (kept with a parked helper). */
    private readonly missing: string[],
  ) {
    this.image = spec.image;
    this.translator = new PathTranslator(spec.binds, new Set(missing));
    this.imageId = spec.imageId ?? null;
    this.onRemoved = spec.onRemoved;
    this.reuse = spec.reuse;
  }

  get id(): string {
    return this.containerId;
  }

  get alive(): boolean {
    return this.ended === null && this.closing === null;
  }

  /**
   * Creates, attaches and starts a helper container and waits for its script to answer. An optional bind
   * whose source the daemon's machine lacks is dropped and the container made again without it.
   */
  static async start(runtime: Runtime, given: HelperSpec): Promise<HelperSession> {
    let spec = given;
    let binds = spec.binds;
    for (;;) {
      const name = `${HELPER_NAME_PREFIX}${randomBytes(4).toString('hex')}`;
      let container: string;
      try {
        container = await runtime.helpers.create(helperContainerSpec(spec, binds, name));
      } catch (err) {
        const msg = daemonMessage(err);
        const absent = missingOptionalBind(binds, msg);
        if (absent) {
          binds = binds.filter((b) => b !== absent);
          continue;
        }
        if (statusOf(err) === 404 || /no such image/i.test(msg)) {
          throw new HelperUnavailableError(
            spec.image,
            `the helper image ${spec.image} is not on the daemon's machine (${msg}): ${HELPER_IMAGE_HINT}`,
          );
        }
        throw new HelperUnavailableError(spec.image, `the daemon refused to create the helper container from ${spec.image}: ${msg}`);
      }
      const discard = async () => {
        await removeQuietly(runtime, container);
        await spec.onRemoved?.(container);
      };
      await spec.onCreated?.(container);
      let stream: NodeJS.ReadWriteStream;
      try {
        stream = await runtime.helpers.attach(container);
      } catch (err) {
        await discard();
        throw new HelperUnavailableError(spec.image, `cannot attach to the helper container: ${daemonMessage(err)}`);
      }
      const missing = spec.binds.filter((b) => !binds.includes(b)).map((b) => b.host);
      const session = new HelperSession(runtime, container, stream, spec, missing);
      // Podman's attach hands the attach call's JSON body to the script's stdin before anything the engine
      // writes: a newline ends that line, which the script skips (no request id), before the first request.
      stream.write('\n');
      const ready = session.waitReady(spec.startTimeoutMs ?? START_TIMEOUT_MS);
      // Awaited below, once started; the container may exit before that.
      ready.catch(() => undefined);
      try {
        await runtime.helpers.start(container);
      } catch (err) {
        session.detach();
        await discard();
        const msg = daemonMessage(err);
        const absent = missingOptionalBind(binds, msg);
        if (absent) {
          binds = binds.filter((b) => b !== absent);
          continue;
        }
        if (/\/bin\/sh|executable file not found|no such file or directory/i.test(msg)) {
          throw new HelperUnavailableError(spec.image, `the helper image ${spec.image} has no /bin/sh (${msg}): ${HELPER_IMAGE_HINT}`);
        }
        throw new HelperUnavailableError(spec.image, `the helper container from ${spec.image} did not start: ${msg}`);
      }
      try {
        await ready;
      } catch (err) {
        await session.close();
        throw err instanceof HelperUnavailableError ? err : new HelperUnavailableError(spec.image, (err as Error).message);
      }
      if (spec.reuse && !session.idleExits) {
        // Its shell cannot end the script by idle time (dash), so it must not outlive this run: made again,
        // ending with its client.
        await session.close();
        spec = { ...spec, reuse: undefined };
        continue;
      }
      return session;
    }
  }

  /**
   * Takes over a helper an earlier run of this user parked (its ID from the registry, already claimed): it
   * must still run from the image this run chose; the session attaches and asks one harmless question
   * (lstat of the helper's own `/`) before it is used. Throws when any of that fails; the caller removes it.
   */
  static async resume(runtime: Runtime, id: string, spec: HelperSpec, missing: string[]): Promise<HelperSession> {
    const detail = await runtime.inspectContainer(id);
    // Its identity first: a record names a container, and only this run's kind of helper is ever touched.
    if (
      detail.id !== id ||
      !detail.name.startsWith(HELPER_NAME_PREFIX) ||
      detail.labels?.[HELPER_LABEL] !== '1' ||
      !spec.reuse ||
      detail.labels?.[HELPER_REUSE_LABEL] !== spec.reuse.key ||
      (spec.imageId !== undefined && detail.imageId !== spec.imageId)
    )
      throw new NotTheParkedHelperError(`the container ${id.slice(0, 12)} is not the helper its record says`);
    if (!detail.running) throw new Error(`the parked helper ${id.slice(0, 12)} is not running`);
    const stream = await runtime.helpers.attach(id);
    const session = new HelperSession(runtime, id, stream, spec, missing);
    // No `ready` comes from a script that runs already (none is awaited); the reply to the probe says it
    // answers this session.
    session.listen();
    stream.write('\n');
    try {
      const reply = await session.request('s', '/', 'the parked helper', 10_000);
      if (!reply.ok) throw new Error(`the parked helper did not answer as expected: ${reply.message}`);
    } catch (err) {
      session.detach();
      throw err;
    }
    // It was parked, so it had said it ends by its idle time.
    session.verified = true;
    session.idleExits = true;
    return session;
  }

  private listen(): void {
    this.stream.on('data', (chunk: Buffer) => this.onData(chunk));
    this.stream.on('end', () => this.fail(this.exitError()));
    this.stream.on('close', () => this.fail(this.exitError()));
    this.stream.on('error', (err: Error) => this.fail(new Error(`the helper container's stream broke: ${err.message}`)));
  }

  private waitReady(timeoutMs: number): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.ready = { resolve, reject };
    });
    const timer = setTimeout(
      () => this.fail(new Error(`the helper container from ${this.image} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    this.listen();
    return promise.finally(() => clearTimeout(timer));
  }

  private exitError(): Error {
    const tail = this.stderrTail.trim();
    return new Error(`the helper container (${this.image}) exited${tail ? `: ${tail}` : ''}`);
  }

  private onData(chunk: Buffer): void {
    const { stdout, stderr } = this.demux.push(chunk);
    for (const e of stderr) this.stderrTail = (this.stderrTail + e.toString('utf8')).slice(-500);
    for (const o of stdout) {
      for (const reply of this.parser.push(o)) this.onReply(reply);
    }
  }

  private onReply(reply: HelperReply): void {
    if (reply.id === 0) {
      const ready = this.ready;
      this.ready = null;
      if (!ready) return;
      if (reply.ok) {
        this.verified = true;
        this.idleExits = /(^| )idle( |$)/.test(reply.note ?? '');
        ready.resolve();
      } else
        ready.reject(
          new HelperUnavailableError(
            this.image,
            `the helper image ${this.image} lacks a tool the helper needs (${reply.message}): ${HELPER_IMAGE_HINT}`,
          ),
        );
      return;
    }
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.lastActive = Date.now();
    this.pending.delete(reply.id);
    const at = this.queue.indexOf(reply.id);
    if (at >= 0) this.queue.splice(at, 1);
    p.resolve(reply);
    this.armTimer();
  }

  /** Times the request the script works on now; a stuck helper fails everything and is stopped. */
  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const head = this.queue.length > 0 ? this.pending.get(this.queue[0]) : undefined;
    if (!head) return;
    this.timer = setTimeout(() => {
      this.fail(
        Object.assign(new Error(`the helper container did not answer for ${head.file} within ${head.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
      );
      void this.close();
    }, head.timeoutMs);
    this.timer.unref?.();
  }

  /** Ends the session: every request still waiting fails with `err`. */
  private fail(err: Error): void {
    if (this.ready) {
      const ready = this.ready;
      this.ready = null;
      ready.reject(err);
    }
    if (this.ended) return;
    this.ended = err;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.queue.length = 0;
  }

  private detach(): void {
    this.fail(new Error('the helper container did not start'));
    (this.stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();
  }

  /** Sends one request; requests are pipelined (sent at once, answered in order, matched by id). */
  request(op: HelperOp, helperPath: string | Buffer, file: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HelperReply> {
    if (this.ended) return Promise.reject(this.ended);
    if (this.closing) return Promise.reject(new Error('the helper container is shutting down'));
    const id = this.nextId++;
    return new Promise<HelperReply>((resolve, reject) => {
      this.pending.set(id, { id, file, timeoutMs, resolve, reject });
      this.queue.push(id);
      if (this.queue.length === 1) this.armTimer();
      this.stream.write(encodeRequest(id, op, helperPath));
    });
  }

  /**
   * Leaves a healthy, quiet helper running for a later run (when the session was made for reuse): the
   * connection goes, its stdin stays open, and the registry records it until its idle time is nearly over.
   * False when it cannot be parked (not for reuse, ended, a request still out, too little time left, the
   * record not written): then it is stopped as any other.
   */
  private async park(): Promise<boolean> {
    const reuse = this.reuse;
    if (!reuse || !this.verified || !this.idleExits || this.ended || this.pending.size > 0) return false;
    const until = this.lastActive + reuse.idleS * 1000 - PARK_MARGIN_MS / 2;
    if (until - Date.now() < PARK_MARGIN_MS) return false;
    this.fail(new Error('the helper container was left for the next run'));
    (this.stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();
    try {
      await reuse.park(this.containerId, this.missing, until);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops the helper: closing its stdin ends the script, the container exits and the daemon removes it
   * (AutoRemove). Waits for the removal; kills and removes it itself when that does not happen in time.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (await this.park()) return;
      this.fail(new Error('the helper container was stopped'));
      try {
        this.stream.end();
      } catch {
        // Already closed.
      }
      // A helper that keeps its stdin does not end at EOF: it is removed at once.
      const removed = this.reuse
        ? Promise.resolve(false)
        : this.runtime.helpers.waitRemoved(this.containerId).then(
            () => true,
            (err: unknown) => statusOf(err) === 404,
          );
      const inTime = await Promise.race([removed, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref?.())]);
      if (!inTime) await removeQuietly(this.runtime, this.containerId);
      (this.stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();
      await this.onRemoved?.(this.id);
    })();
    return this.closing;
  }
}

/** The optional bind a daemon error says has no source on its machine (checked at create or at start). */
export function missingOptionalBind(binds: HelperBind[], daemonError: string): HelperBind | undefined {
  const source = /bind source path does not exist: (\S+)/.exec(daemonError)?.[1]?.replace(/\/+$/, '');
  return source ? binds.find((b) => b.optional && b.host === source) : undefined;
}

/** Kills and removes a helper container, ignoring "already gone" and "removal in progress". */
async function removeQuietly(runtime: Runtime, id: string): Promise<void> {
  await runtime.helpers.remove(id).catch(() => undefined);
}

/** Kills and removes a helper container by ID (one an earlier run recorded); "no such container" is done. */
export async function removeHelperContainer(runtime: Runtime, id: string): Promise<void> {
  try {
    await runtime.helpers.remove(id);
  } catch (err) {
    const status = statusOf(err);
    // 404: gone already; 409: its removal is under way (AutoRemove).
    if (status !== 404 && status !== 409) throw err;
  }
}
