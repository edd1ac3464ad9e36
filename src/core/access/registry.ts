// The helper containers this user's engines started, as they recorded them: how the engine tells its own
// helpers from other containers. A label cannot do that (any container can carry one); the container IDs
// the engine got back from the daemon can. Each engine process keeps its IDs in memory and, when given a
// directory, in one file of its own there (`<pid>-<start>.json`, written only by that process), so another
// run of the CLI hides them too and removes those whose owner was killed before it could.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where the CLI and the extension record their helpers: per user, beside the layer cache. */
export function defaultHelperRegistryDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'container-xray', 'helpers');
}

/** One owner file: which process (uid, pid, start time) created which helpers on which daemon. */
export interface OwnerRecord {
  version: 1;
  uid: number;
  pid: number;
  /** `ticks:N` (the kernel's start time of the process, /proc/PID/stat) or `time:S` (unix seconds, elsewhere). */
  start: string;
  endpoint: string;
  helpers: string[];
}

/** A process as the registry names it; `start` tells a reused PID from the process that wrote a file. */
export interface ProcessIdentity {
  uid: number;
  pid: number;
  start: string;
}

/**
 * A helper left running for reuse (the CLI's, between runs): `parked-<id>.json`. Whoever renames the file
 * first takes the helper over; until then it counts as this user's, and once `until` has passed it is an
 * orphan (its script has ended by its idle time, and the daemon removed it).
 */
export interface ParkedRecord {
  version: 1;
  uid: number;
  endpoint: string;
  helper: string;
  /** What the helper container was made of (helperFingerprint): only the same spec takes it over. */
  key: string;
  /** Host paths of optional binds the daemon's machine lacked when it was made. */
  missing: string[];
  /** Unix ms after which its script may have ended by itself: not taken over after that. */
  until: number;
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;
const OWNER_FILE = /^(\d+)-([A-Za-z0-9:.]+)\.json$/;
const PARKED_FILE = /^parked-([0-9a-f]{64})\.json$/;
/** A parked helper is taken over only with this much of its idle time left. */
const ADOPT_MARGIN_MS = 3000;
/** Bounds on what is read back: a few owners with a few helpers each is all there ever is. */
const MAX_FILES = 256;
const MAX_FILE_BYTES = 64 * 1024;

/** The kernel's start time of a process (clock ticks since boot), or null where /proc has none. */
export async function processStartTicks(pid: number): Promise<string | null> {
  try {
    const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks && /^\d+$/.test(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** This process: uid, pid and its start time. */
export async function currentProcess(): Promise<ProcessIdentity> {
  const ticks = await processStartTicks(process.pid);
  return {
    uid: process.getuid?.() ?? -1,
    pid: process.pid,
    start: ticks !== null ? `ticks:${ticks}` : `time:${Math.round(Date.now() / 1000 - process.uptime())}`,
  };
}

/** Whether the process that wrote `rec` still runs (a PID reused by another process counts as gone). */
export async function ownerAlive(rec: Pick<OwnerRecord, 'pid' | 'start'>): Promise<boolean> {
  try {
    process.kill(rec.pid, 0);
  } catch {
    // ESRCH: gone. EPERM: another user's process has the PID now; the writer was this user's.
    return false;
  }
  if (rec.start.startsWith('ticks:')) {
    const ticks = await processStartTicks(rec.pid);
    if (ticks !== null) return `ticks:${ticks}` === rec.start;
  }
  return true;
}

function parseOwner(text: string): OwnerRecord | null {
  try {
    const v = JSON.parse(text) as Partial<OwnerRecord>;
    if (v.version !== 1 || !Number.isInteger(v.uid) || !Number.isInteger(v.pid) || typeof v.start !== 'string') return null;
    if (typeof v.endpoint !== 'string' || !Array.isArray(v.helpers)) return null;
    const helpers = v.helpers.filter((h): h is string => typeof h === 'string' && CONTAINER_ID.test(h));
    return { version: 1, uid: v.uid!, pid: v.pid!, start: v.start, endpoint: v.endpoint, helpers };
  } catch {
    return null;
  }
}

function parseParked(text: string): ParkedRecord | null {
  try {
    const v = JSON.parse(text) as Partial<ParkedRecord>;
    if (v.version !== 1 || !Number.isInteger(v.uid) || typeof v.endpoint !== 'string') return null;
    if (typeof v.helper !== 'string' || !CONTAINER_ID.test(v.helper) || typeof v.key !== 'string' || !/^[0-9a-f]{64}$/.test(v.key))
      return null;
    if (!Array.isArray(v.missing) || !v.missing.every((m) => typeof m === 'string') || typeof v.until !== 'number') return null;
    return { version: 1, uid: v.uid!, endpoint: v.endpoint, helper: v.helper, key: v.key, missing: v.missing, until: v.until };
  } catch {
    return null;
  }
}

/** Whether a registry entry is this user's own and nobody else may write it (owner, no group or other write). */
function ownedByMe(stat: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
}

/** A small regular file of the registry this user alone wrote, or null (a link, a directory, another's, huge). */
async function readSmall(file: string): Promise<string | null> {
  try {
    const stat = await fsp.lstat(file);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES || !ownedByMe(stat)) return null;
    return await fsp.readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/** Helpers whose owner is gone: found in `file`, to be removed through the daemon. */
export interface OrphanedHelpers {
  file: string;
  owner: OwnerRecord;
}

export class HelperRegistry {
  /** The helpers this engine created and has not seen removed. */
  private readonly created = new Set<string>();
  private self: Promise<ProcessIdentity> | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    /** The per-user directory, or null to keep the record in memory only. */
    private readonly dir: string | null,
    /** The daemon endpoint: helpers are recorded and removed per daemon. */
    private readonly endpoint: string,
    private readonly identity: () => Promise<ProcessIdentity> = currentProcess,
  ) {}

  private me(): Promise<ProcessIdentity> {
    this.self ??= this.identity();
    return this.self;
  }

  /**
   * Whether the directory is there (made 0700 if not), a directory of this user's that only it may write,
   * and writable: what a helper kept for another run needs. Records in any other directory are not read.
   */
  async usable(): Promise<boolean> {
    if (!this.dir) return false;
    try {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      return (await this.trusted()) && (await fsp.access(this.dir, fsConstants.W_OK).then(() => true));
    } catch {
      return false;
    }
  }

  private async trusted(): Promise<boolean> {
    try {
      const stat = await fsp.lstat(this.dir!);
      return stat.isDirectory() && ownedByMe(stat);
    } catch {
      return false;
    }
  }

  /** The helpers this engine created and has not seen removed. */
  mine(): string[] {
    return [...this.created];
  }

  /** Records a helper at once in memory and, before it is started, in this process's file. */
  async add(id: string): Promise<void> {
    this.created.add(id);
    await this.save();
  }

  /** Forgets a helper once it is removed. */
  async remove(id: string): Promise<void> {
    if (!this.created.delete(id)) return;
    await this.save();
  }

  private async ownFile(): Promise<string | null> {
    if (!this.dir) return null;
    const me = await this.me();
    return path.join(this.dir, `${me.pid}-${me.start}.json`);
  }

  /**
   * Leaves a helper running for a later run of this user to take over (adopt), until `until`: its parked
   * file is written first, then it leaves this process's own record, so it is always recorded somewhere.
   */
  async park(id: string, key: string, missing: string[], until: number): Promise<void> {
    if (!this.dir) throw new Error('no registry directory to park the helper in');
    const me = await this.me();
    const rec: ParkedRecord = { version: 1, uid: me.uid, endpoint: this.endpoint, helper: id, key, missing, until };
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `parked-${id}.json`);
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
    await fsp.rename(tmp, file);
    await this.remove(id);
  }

  /**
   * Takes over a parked helper of this user on this daemon made from the same spec (`key`) with enough idle
   * time left: renaming its file is the claim, so of two runs only one gets it. Recorded as this engine's
   * before it is returned. Null when there is none.
   */
  async adopt(key: string, now = Date.now()): Promise<{ id: string; missing: string[] } | null> {
    if (!this.dir || !(await this.trusted())) return null;
    const me = await this.me();
    let names: string[];
    try {
      names = (await fsp.readdir(this.dir)).filter((n) => PARKED_FILE.test(n)).slice(0, MAX_FILES);
    } catch {
      return null;
    }
    for (const name of names) {
      const file = path.join(this.dir, name);
      const text = await readSmall(file);
      const rec = text === null ? null : parseParked(text);
      if (!rec || rec.uid !== me.uid || rec.endpoint !== this.endpoint || rec.key !== key) continue;
      if (rec.helper !== PARKED_FILE.exec(name)![1] || rec.until < now + ADOPT_MARGIN_MS) continue;
      const claim = `${file}.${me.pid}-${randomBytes(4).toString('hex')}.claim`;
      // Recorded as this engine's before the claim, so it is never in no record at all.
      await this.add(rec.helper);
      try {
        await fsp.rename(file, claim);
      } catch {
        await this.remove(rec.helper);
        continue; // another run took it first
      }
      await fsp.rm(claim, { force: true });
      return { id: rec.helper, missing: rec.missing };
    }
    return null;
  }

  /** Writes this process's file (or removes it when no helper is left); writes run one after another. */
  private save(): Promise<void> {
    const next = this.writing.then(async () => {
      const file = await this.ownFile();
      if (!file || !this.dir) return;
      try {
        if (this.created.size === 0) {
          await fsp.rm(file, { force: true });
          return;
        }
        const me = await this.me();
        const rec: OwnerRecord = {
          version: 1,
          uid: me.uid,
          pid: me.pid,
          start: me.start,
          endpoint: this.endpoint,
          helpers: [...this.created],
        };
        await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
        await fsp.writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
        await fsp.rename(tmp, file);
      } catch {
        // The record on disk is a convenience for other runs; this engine still knows its helpers in memory.
      }
    });
    this.writing = next;
    return next;
  }

  /**
   * Every helper this user's engines recorded on this daemon: this engine's, those of other live
   * processes, and those whose owner is gone (returned in `orphans` too, for `reap`).
   */
  async known(): Promise<{ ids: Set<string>; orphans: OrphanedHelpers[] }> {
    const ids = new Set(this.created);
    const orphans: OrphanedHelpers[] = [];
    if (!this.dir) return { ids, orphans };
    const own = await this.ownFile();
    const me = await this.me();
    if (!(await this.trusted())) return { ids, orphans };
    let all: string[];
    try {
      all = await fsp.readdir(this.dir);
    } catch {
      return { ids, orphans };
    }
    const names = all.filter((n) => OWNER_FILE.test(n)).slice(0, MAX_FILES);
    const parked = all.filter((n) => PARKED_FILE.test(n)).slice(0, MAX_FILES);
    const now = Date.now();
    await Promise.all(
      parked.map(async (name) => {
        const file = path.join(this.dir!, name);
        const text = await readSmall(file);
        const rec = text === null ? null : parseParked(text);
        if (!rec || rec.endpoint !== this.endpoint || rec.uid !== me.uid || rec.helper !== PARKED_FILE.exec(name)![1]) return;
        ids.add(rec.helper);
        // Past its idle time (and a grace for the daemon's removal): its script has ended; make sure it is gone.
        if (rec.until + 60_000 < now)
          orphans.push({
            file,
            owner: { version: 1, uid: rec.uid, pid: 0, start: 'parked', endpoint: rec.endpoint, helpers: [rec.helper] },
          });
      }),
    );
    await Promise.all(
      names.map(async (name) => {
        const file = path.join(this.dir!, name);
        if (file === own) return;
        const text = await readSmall(file);
        const rec = text === null ? null : parseOwner(text);
        if (!rec || rec.endpoint !== this.endpoint || rec.uid !== me.uid) return;
        for (const id of rec.helpers) ids.add(id);
        if (!(await ownerAlive(rec))) orphans.push({ file, owner: rec });
      }),
    );
    return { ids, orphans };
  }

  /**
   * Removes the helpers of owners that are gone (a CLI killed before it could stop its helper) and then
   * their files. `removeContainer` resolves once the container is gone (or was already); a failure keeps the
   * file for a later run.
   */
  async reap(orphans: OrphanedHelpers[], removeContainer: (id: string) => Promise<void>): Promise<string[]> {
    const removed: string[] = [];
    for (const o of orphans) {
      try {
        for (const id of o.owner.helpers) {
          await removeContainer(id);
          removed.push(id);
        }
        await fsp.rm(o.file, { force: true });
      } catch {
        // The daemon did not answer: the next run tries again.
      }
    }
    return removed;
  }

  /** Waits for pending writes (the engine is done). */
  async flush(): Promise<void> {
    await this.writing;
  }
}
