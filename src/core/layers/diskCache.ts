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

/**
 * Layer listings on disk, by chain ID. A chain ID names a layer's content and everything below it, so an
 * entry never goes stale: a later run of the CLI lists a layer it has seen without decompressing its
 * tar-split again. Bounded by a number of files, oldest dropped first; a damaged file is a miss.
 */
export class DiskLayerCache {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    readonly dir: string,
    private readonly maxFiles = 2000,
  ) {}

  private file(chainId: string): string {
    return path.join(this.dir, `${chainId.replace(/^sha256:/, '').replace(/[^0-9a-f]/g, '')}.v${VERSION}.json`);
  }

  async get(chainId: string): Promise<{ entries: RawEntry[]; source: ImageLayer['source'] } | null> {
    let text: string;
    try {
      text = await fsp.readFile(this.file(chainId), 'utf8');
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
      return { entries, source: head.source };
    } catch {
      return null;
    }
  }

  /** Stores a listing in the background; `flush` waits for the writes. */
  put(chainId: string, entries: RawEntry[], source: ImageLayer['source']): void {
    const p = this.write(chainId, entries, source).catch(() => undefined);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async write(chainId: string, entries: RawEntry[], source: ImageLayer['source']): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const rows: Row[] = entries.map((e) => {
      const row: Row = [e.name, e.size, Math.max(0, TYPES.indexOf(e.type)), e.mode ?? -1];
      if (e.linkTarget !== undefined) row.push(e.linkTarget);
      return row;
    });
    const file = this.file(chainId);
    const tmp = `${file}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, `${JSON.stringify({ v: VERSION, chainId, source, count: rows.length })}\n${JSON.stringify(rows)}`, {
      mode: 0o600,
    });
    await fsp.rename(tmp, file);
    await this.prune();
  }

  private async prune(): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => n.endsWith('.json'));
    if (names.length <= this.maxFiles) return;
    const stats = await Promise.all(
      names.map(async (n) => ({ n, t: (await fsp.stat(path.join(this.dir, n)).catch(() => null))?.mtimeMs ?? 0 })),
    );
    stats.sort((a, b) => a.t - b.t);
    await Promise.all(stats.slice(0, names.length - this.maxFiles).map((s) => fsp.rm(path.join(this.dir, s.n), { force: true })));
  }
}
