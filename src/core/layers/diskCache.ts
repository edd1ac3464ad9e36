import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FileType, ImageLayer } from '../../shared/model';
import type { RawEntry } from './tarHeader';

const VERSION = 1;
const TYPES: FileType[] = ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo', 'socket', 'other'];

/** One entry as stored: [name, size, type index, mode or -1, link target?]. */
type Row = [string, number, number, number, string?];

export function defaultLayerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'container-xray', 'layers');
}

export const DEFAULT_LAYER_CACHE_MAX_BYTES = 512 * 1024 * 1024;
export const LAYER_CACHE_MAX_BYTES_ENV = 'XRAY_LAYER_CACHE_MAX_BYTES';

/**
 * The byte bound of the cache: XRAY_LAYER_CACHE_MAX_BYTES (bytes, or with a K, M or G suffix for KiB, MiB,
 * GiB; 0 keeps nothing), else 512 MiB. A value that is not a size is an error that names the variable.
 */
export function layerCacheMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[LAYER_CACHE_MAX_BYTES_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_LAYER_CACHE_MAX_BYTES;
  const m = /^(\d{1,15}) ?([kmg]?)i?b?$/i.exec(raw.trim());
  if (!m) throw new Error(`${LAYER_CACHE_MAX_BYTES_ENV}=${JSON.stringify(raw)} is not a size: give bytes, or a number with K, M or G`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

/** A temp file this old is left from a process that died mid-write. */
const STALE_TMP_MS = 10 * 60 * 1000;

export interface DiskLayerCacheOptions {
  /** Total bytes of the cache files; least recently used out first. Default: layerCacheMaxBytes(). */
  maxBytes?: number;
  /** And at most this many files. */
  maxFiles?: number;
}

/**
 * Layer listings on disk, by chain ID. A chain ID names a layer's content and everything below it, so an
 * entry never goes stale: a later run of the CLI lists a layer it has seen without decompressing its
 * tar-split again. Bounded in bytes (and files), least recently used out first: a hit sets the file's
 * times itself, since caches often live on noatime mounts. A damaged file is a miss.
 */
export class DiskLayerCache {
  private readonly pending = new Set<Promise<void>>();
  readonly maxBytes: number;
  readonly maxFiles: number;
  private pruning: Promise<void> = Promise.resolve();
  private pruneQueued: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    opts: DiskLayerCacheOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? layerCacheMaxBytes();
    this.maxFiles = opts.maxFiles ?? 2000;
  }

  private file(chainId: string): string {
    return path.join(this.dir, `${chainId.replace(/^sha256:/, '').replace(/[^0-9a-f]/g, '')}.v${VERSION}.json`);
  }

  async get(chainId: string): Promise<{ entries: RawEntry[]; source: ImageLayer['source'] } | null> {
    const file = this.file(chainId);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return null;
    }
    try {
      const nl = text.indexOf('\n');
      const head = JSON.parse(text.slice(0, nl)) as { v: number; chainId: string; source: ImageLayer['source']; count: number };
      if (head.v !== VERSION || head.chainId !== chainId) return null;
      const rows = JSON.parse(text.slice(nl + 1)) as Row[];
      if (!Array.isArray(rows) || rows.length !== head.count) return null;
      const entries = rows.map((r): RawEntry => {
        const e: RawEntry = { name: r[0], size: r[1], type: TYPES[r[2]] ?? 'other' };
        if (r[3] >= 0) e.mode = r[3];
        if (r[4] !== undefined) e.linkTarget = r[4];
        return e;
      });
      // Used now: last out when the cache is pruned.
      const now = new Date();
      this.track(fsp.utimes(file, now, now));
      return { entries, source: head.source };
    } catch {
      return null;
    }
  }

  /** Stores a listing in the background; `flush` waits for the writes. */
  put(chainId: string, entries: RawEntry[], source: ImageLayer['source']): void {
    this.track(this.write(chainId, entries, source));
  }

  /** Waits for the writes, touches and prunes under way. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private track(work: Promise<unknown>): void {
    const p = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async write(chainId: string, entries: RawEntry[], source: ImageLayer['source']): Promise<void> {
    const rows: Row[] = entries.map((e) => {
      const row: Row = [e.name, e.size, Math.max(0, TYPES.indexOf(e.type)), e.mode ?? -1];
      if (e.linkTarget !== undefined) row.push(e.linkTarget);
      return row;
    });
    const text = `${JSON.stringify({ v: VERSION, chainId, source, count: rows.length })}\n${JSON.stringify(rows)}`;
    // A listing bigger than the whole cache would only push everything else out and then go itself.
    if (Buffer.byteLength(text) > this.maxBytes) return;
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(chainId);
    const tmp = `${file}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, text, { mode: 0o600 });
    await fsp.rename(tmp, file);
    await this.schedulePrune();
  }

  /** One prune after a burst of writes, never two at once. */
  private schedulePrune(): Promise<void> {
    if (this.pruneQueued) return this.pruneQueued;
    const next = this.pruning.then(() => {
      this.pruneQueued = null;
      return this.prune();
    });
    this.pruneQueued = next;
    this.pruning = next.catch(() => undefined);
    return next;
  }

  /** Drops the least recently used files until the cache fits both bounds; stale temp files go first. */
  async prune(): Promise<void> {
    const names = await fsp.readdir(this.dir).catch(() => [] as string[]);
    const now = Date.now();
    const files: { name: string; size: number; used: number }[] = [];
    await Promise.all(
      names.map(async (name) => {
        const isTmp = name.endsWith('.tmp');
        if (!isTmp && !name.endsWith('.json')) return;
        const st = await fsp.lstat(path.join(this.dir, name)).catch(() => null);
        if (!st || !st.isFile()) return;
        if (isTmp) {
          if (now - st.mtimeMs > STALE_TMP_MS) await fsp.rm(path.join(this.dir, name), { force: true });
          return;
        }
        // mtime, not atime: reads alone never move it, only a hit's own touch does.
        files.push({ name, size: st.size, used: st.mtimeMs });
      }),
    );
    let total = files.reduce((n, f) => n + f.size, 0);
    let count = files.length;
    if (total <= this.maxBytes && count <= this.maxFiles) return;
    files.sort((a, b) => a.used - b.used || a.name.localeCompare(b.name));
    const drop: string[] = [];
    for (const f of files) {
      if (total <= this.maxBytes && count <= this.maxFiles) break;
      drop.push(f.name);
      total -= f.size;
      count--;
    }
    await Promise.all(drop.map((n) => fsp.rm(path.join(this.dir, n), { force: true })));
  }
}
