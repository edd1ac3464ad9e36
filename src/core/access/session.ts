// How the engine reads the daemon's files: directly, or through a helper container, and why (the access
// policy: planAccess), with the helper's lifecycle (which image, its approval, its start, the record of the
// helpers this user's engines made, and the fall back when an auto-picked one cannot run). The engine's
// operations run inside `withFiles`, which gives each one the files to read.
import * as os from 'node:os';
import type { AccessPath } from '../../shared/model';
import type { EngineOptions } from '../engine';
import { NotFoundError, type DaemonInfo } from '../runtime/docker/client';
import { isLocalEndpoint } from '../runtime/docker/context';
import type { Runtime } from '../runtime/types';
import { daemonFacts } from '../host/hostFacts';
import type { HostFiles } from '../util/hostFiles';
import { AccessPlan, accessReason, describeUser, planAccess, probeDirectAccess } from './choose';
import {
  HELPER_IMAGE_HINT,
  HelperDeclinedError,
  HelperSession,
  HelperSpec,
  HelperUnavailableError,
  NotTheParkedHelperError,
  helperFingerprint,
  removeHelperContainer,
} from './helper';
import { HelperHostFiles } from './helperFiles';
import { HelperImage, pickOfficialHelperImage } from './helperImage';
import { HelperRegistry, defaultHelperRegistryDir } from './registry';

/** Long enough that a view's follow-up reads share the refresh's helper, short enough to be gone soon after. */
export const DEFAULT_HELPER_IDLE_MS = 1500;

export class AccessSession {
  /** The way chosen for host files (decided on first use, see ensureAccess). */
  private plan: AccessPlan | null = null;
  /** Why the daemon's files are not this machine's, when they are not. */
  private runsElsewhere: string | null = null;
  private deciding: Promise<void> | null = null;
  private helper: HelperHostFiles | null = null;
  /** Set when an auto-picked helper image could not run, or its image was declined, and the engine fell back. */
  private fallback: AccessPath | null = null;
  /** The image (name and ID) the last helper ran from. */
  private ranHelper: HelperImage | null = null;
  /** Image IDs approved (approveHelperImage) in this engine. */
  private readonly approved = new Set<string>();
  /** The helper containers this engine and this user's other runs created: how helpers are told apart. */
  readonly helpers: HelperRegistry;
  private readFiles: HostFiles;

  constructor(
    private readonly runtime: Runtime,
    private readonly directFiles: HostFiles,
    private readonly opts: EngineOptions,
    private readonly daemon: () => Promise<DaemonInfo>,
  ) {
    this.readFiles = directFiles;
    const registryDir =
      opts.helperRegistryDir === undefined ? (opts.diskCache === false ? null : defaultHelperRegistryDir()) : opts.helperRegistryDir;
    this.helpers = new HelperRegistry(registryDir, runtime.endpoint.host);
  }

  /** Where host files come from now: direct reads, or the helper container once access chose it. */
  get files(): HostFiles {
    return this.readFiles;
  }

  /** Decides once how host files are read (see planAccess); again later if the daemon did not answer. */
  private ensureAccess(): Promise<void> {
    if (this.opts.files) return Promise.resolve();
    this.deciding ??= this.decideAccess().catch((err: unknown) => {
      this.deciding = null;
      throw err;
    });
    return this.deciding;
  }

  private async decideAccess(): Promise<void> {
    const info = await this.daemon().catch(() => null);
    if (!info) {
      // Nothing to decide against: try again on the next use, reading as before meanwhile.
      this.deciding = null;
      return;
    }
    const runsElsewhere = daemonFacts(info, this.runtime.endpoint.host, {
      kernel: os.release(),
      hostname: os.hostname(),
    }).runsElsewhereReason;
    this.runsElsewhere = runsElsewhere;
    const probe = runsElsewhere ? null : await probeDirectAccess(this.directFiles, this.runtime.accessProbeDir(info));
    const plan = planAccess({ setting: this.opts.access ?? 'auto', runsElsewhere, probe, user: await describeUser(), osType: info.OSType });
    this.plan = plan;
    if (plan.mode !== 'helper') return;
    this.helper = new HelperHostFiles(() => this.startHelper(info), this.opts.helperIdleMs ?? DEFAULT_HELPER_IDLE_MS);
    this.readFiles = this.helper;
  }

  /**
   * The image the helper is to run: the configured one, else the best official image found locally by its
   * exact name. Only that one: when it cannot run, the helper fails naming it (no other image is tried).
   */
  private async chooseHelperImage(): Promise<HelperImage> {
    const configured = this.opts.helperImage?.trim();
    this.runtime.calls.helper = (this.runtime.calls.helper ?? 0) + 1;
    if (configured) {
      try {
        const img = await this.runtime.inspectImage(configured);
        return { image: configured, imageId: img.id, source: 'configured' };
      } catch (err) {
        if (err instanceof NotFoundError)
          throw new HelperUnavailableError(
            configured,
            `the helper image ${configured} is not on the daemon's machine (\`docker pull ${configured}\` or build it first): ${HELPER_IMAGE_HINT}`,
          );
        throw new HelperUnavailableError(configured, `cannot look up the helper image ${configured}: ${(err as Error).message}`);
      }
    }
    const found = pickOfficialHelperImage(
      (await this.runtime.listImages()).map((i) => ({ Id: i.id, RepoTags: i.repoTags, Size: i.sizeBytes })),
    );
    if (!found)
      throw new HelperUnavailableError(
        null,
        `no helper image is set and no official busybox, alpine, debian or ubuntu image is on the daemon's machine: ${HELPER_IMAGE_HINT}`,
      );
    return found;
  }

  /** How long an idle helper waits for a request before it exits by itself (a backstop: its owner may hang). */
  private helperIdleTimeoutS(): number {
    return Math.max(60, Math.ceil((this.opts.helperIdleMs ?? DEFAULT_HELPER_IDLE_MS) / 1000) + 60);
  }

  /** Starts a helper container from the chosen image, once it is approved (when approval is asked for). */
  private async startHelper(info: DaemonInfo): Promise<HelperSession> {
    const chosen = await this.chooseHelperImage();
    if (this.opts.approveHelperImage && !this.approved.has(chosen.imageId)) {
      const ok = await this.opts.approveHelperImage({ ...chosen, endpoint: this.runtime.endpoint.host });
      if (!ok) throw new HelperDeclinedError(chosen);
      this.approved.add(chosen.imageId);
    }
    await this.ownHelpers();
    // Only where the helper can be found again (a registry this user alone writes) and attached to again.
    const wanted = Math.max(0, Math.ceil(this.opts.helperReuseS ?? 0));
    const reuseS = wanted > 0 && this.runtime.helpers.reattachable && (await this.helpers.usable()) ? wanted : 0;
    const spec: HelperSpec = {
      image: chosen.image,
      imageId: chosen.imageId,
      idleTimeoutS: this.helperIdleTimeoutS(),
      binds: this.runtime.helperBinds(info),
      forceRecursiveReadOnly: this.runtime.forcesRecursiveReadOnly(info),
      securityOptions: info.SecurityOptions ?? [],
      serverVersion: info.ServerVersion ?? '',
      dockerRootDir: info.DockerRootDir ?? '/var/lib/docker',
      onCreated: (id) => this.helpers.add(id),
      onRemoved: (id) => this.helpers.remove(id),
    };
    let session: HelperSession | null = null;
    if (reuseS > 0) {
      const key = helperFingerprint({ ...spec, reuse: { idleS: reuseS, key: '', park: async () => undefined } }, this.runtime);
      spec.reuse = { idleS: reuseS, key, park: (id, missing, until) => this.helpers.park(id, key, missing, until) };
      session = await this.adoptHelper(key, spec);
    }
    session ??= await HelperSession.start(this.runtime, spec);
    this.ranHelper = { image: chosen.image, imageId: chosen.imageId, source: chosen.source };
    return session;
  }

  /**
   * A helper an earlier run of this user parked, made from the same spec, taken over; null when there is
   * none or it no longer answers (then it is removed, and a new one starts).
   */
  private async adoptHelper(key: string, spec: HelperSpec): Promise<HelperSession | null> {
    for (let tries = 0; tries < 3; tries++) {
      const parked = await this.helpers.adopt(key);
      if (!parked) return null;
      try {
        return await HelperSession.resume(this.runtime, parked.id, spec, parked.missing);
      } catch (err) {
        // Our helper that no longer answers goes; a container that is not (a stale or forged record) is left alone.
        if (!(err instanceof NotTheParkedHelperError)) await removeHelperContainer(this.runtime, parked.id).catch(() => undefined);
        await this.helpers.remove(parked.id);
      }
    }
    return null;
  }

  /**
   * The IDs of the helper containers this user's engines created on this daemon (what the engine leaves
   * out of snapshots and image users). Helpers whose owner is gone (a killed CLI) are removed on the way.
   */
  async ownHelpers(): Promise<Set<string>> {
    const { ids, orphans } = await this.helpers.known();
    if (orphans.length > 0) await this.helpers.reap(orphans, (id) => removeHelperContainer(this.runtime, id));
    return ids;
  }

  /**
   * Runs one engine operation with the chosen files: through the helper, one container serves the whole
   * operation (one per refresh). An auto-picked helper that cannot run falls back to what works without it.
   */
  async withFiles<T>(fn: () => Promise<T>): Promise<T> {
    await this.ensureAccess();
    const helper = this.helper;
    if (!helper || this.readFiles !== helper) return fn();
    try {
      return await helper.hold(fn);
    } catch (err) {
      if (!(err instanceof HelperUnavailableError)) throw err;
      // A declined image never fails the operation: the user said no, and the reason says what is missing.
      const declined = err instanceof HelperDeclinedError;
      const explicit = this.opts.access === 'helper' || Boolean(this.opts.helperImage);
      if (!declined && (explicit || helper.image !== null)) throw err;
      const why = this.plan?.why ?? 'the helper container was needed';
      this.fallback = declined
        ? {
            mode: this.runsElsewhere ? 'daemon-only' : 'direct',
            reason: `${why}; ${err.message}: ${this.runsElsewhere ? 'only what the Docker API tells is shown' : 'reading directly, so what needs root is missing'}`,
          }
        : !this.runsElsewhere
          ? {
              mode: 'direct',
              reason: `${why}; no helper container could run (${err.message}): reading directly, so what needs root is missing`,
            }
          : {
              mode: 'daemon-only',
              reason: `${why}; no helper container could run (${err.message}): only what the Docker API tells is shown`,
            };
      this.readFiles = this.directFiles;
      this.helper = null;
      await helper.dispose();
      return fn();
    }
  }

  /** Whether host files can be read at all (directly or through the helper). */
  readsFiles(): boolean {
    return this.access().mode !== 'daemon-only';
  }

  /** Which way host files are read and why (shown in the Host view and by the CLI). */
  access(): AccessPath {
    if (this.fallback) return this.fallback;
    if (this.plan && !this.opts.files) {
      const ran = this.ranHelper;
      return accessReason(this.plan, this.plan.mode === 'helper' && ran ? { image: ran.image, imageId: ran.imageId } : null);
    }
    if (!isLocalEndpoint(this.runtime.endpoint.host))
      return {
        mode: 'daemon-only',
        reason: `the daemon at ${this.runtime.endpoint.host} is not on this machine: only what the Docker API tells is shown`,
      };
    if (this.readFiles.kind === 'helper') return { mode: 'helper', reason: 'host files are read by a helper container through the daemon' };
    return {
      mode: 'direct',
      reason:
        process.getuid?.() === 0
          ? 'running as root on the daemon’s machine: /proc, cgroupfs and /var/lib/docker are read directly'
          : 'reading /proc, cgroupfs and /var/lib/docker directly',
    };
  }

  /** Stops the helper container, if one runs; files are read directly (or not at all) afterwards. */
  async dispose(): Promise<void> {
    const helper = this.helper;
    this.helper = null;
    await helper?.dispose();
    // A helper that exited by itself (idle) was never closed: make sure it is gone, then drop the record.
    for (const id of this.helpers.mine()) {
      await removeHelperContainer(this.runtime, id).catch(() => undefined);
      await this.helpers.remove(id);
    }
    await this.helpers.flush();
  }
}
