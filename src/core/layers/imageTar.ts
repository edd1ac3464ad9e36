import { Readable, Transform, TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Readable as StreamxReadable } from 'streamx';
import * as tar from 'tar-stream';
import { RawEntry, normaliseTarName, typeFromTarStream } from './tarHeader';

/** What `docker save` holds for one image: its layers' entries in order, and its config (history with empty_layer). */
export interface SavedImage {
  /** Bottom layer first, as manifest.json orders them. */
  layers: RawEntry[][];
  config: ImageConfig | null;
  repoTags: string[];
}

export interface ImageConfig {
  rootfs?: { diff_ids?: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

interface ManifestEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

/** A Node stream or a tar entry's (streamx) body. */
type ByteStream = Readable | StreamxReadable;

const MAX_JSON_BYTES = 64 * 1024 * 1024;
const SMALL_BLOB_BYTES = 1024 * 1024;

/** Collects a small JSON member of the archive (manifest, config) into memory, bounded. */
function readSmall(stream: ByteStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    stream.on('data', (b: unknown) => {
      if (!Buffer.isBuffer(b)) return;
      total += b.length;
      if (total <= MAX_JSON_BYTES) parts.push(b);
    });
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

/**
 * Passes a layer blob on as a plain tar: a gzip-compressed one (as the containerd image store keeps pulled
 * and BuildKit-built layers, and its `docker save` exports them) is inflated on the way.
 */
class PlainTar extends Transform {
  private gunzip: zlib.Gunzip | null = null;
  private decided = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.decided) {
      this.decided = true;
      if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
        this.gunzip = zlib.createGunzip();
        this.gunzip.on('data', (d: Buffer) => this.push(d));
        this.gunzip.on('error', (err) => this.destroy(err));
      }
    }
    if (this.gunzip) this.gunzip.write(chunk, () => cb());
    else cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.gunzip) return cb();
    this.gunzip.once('end', () => cb());
    this.gunzip.end();
  }
}

/**
 * Lists one layer tar's headers from its stream (plain or gzip), skipping file contents (never held in
 * memory); `onTar` sees the plain tar's bytes (to check them against the layer's diff ID).
 */
export function listLayerTar(source: ByteStream, onTar?: (chunk: Buffer) => void): Promise<RawEntry[]> {
  const stream = new PlainTar();
  source.on('error', (err: Error) => stream.destroy(err));
  if (onTar) stream.on('data', onTar);
  (source as Readable).pipe(stream);
  return new Promise((resolve, reject) => {
    const entries: RawEntry[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, body, next) => {
      const name = normaliseTarName(header.name);
      if (name !== '') {
        const type = typeFromTarStream(header.type);
        const entry: RawEntry = { name, size: type === 'file' ? (header.size ?? 0) : 0, type };
        if ((type === 'symlink' || type === 'hardlink') && header.linkname) entry.linkTarget = header.linkname;
        if (header.mode !== undefined) entry.mode = header.mode & 0o7777;
        entries.push(entry);
      }
      body.on('end', () => next());
      body.on('error', reject);
      body.resume();
    });
    extract.on('finish', () => resolve(entries));
    extract.on('error', reject);
    stream.on('error', reject);
    (stream as Readable).pipe(extract);
  });
}

/**
 * Reads a `docker save` stream (legacy `<id>/layer.tar` layout or OCI `blobs/sha256/<hex>`), listing every
 * layer's headers while streaming: only headers and the small JSON members are kept.
 */
export function readSavedImage(stream: Readable, opts: { signal?: AbortSignal } = {}): Promise<SavedImage> {
  return new Promise((resolveAll, rejectAll) => {
    const onAbort = () => {
      const err = Object.assign(new Error('cancelled'), { name: 'AbortError' });
      stream.destroy();
      extract.destroy(err);
      reject(err);
    };
    const settle = () => opts.signal?.removeEventListener('abort', onAbort);
    const resolve = (v: SavedImage) => (settle(), resolveAll(v));
    const reject = (err: unknown) => (settle(), rejectAll(err));
    const layersByMember = new Map<string, RawEntry[]>();
    const links = new Map<string, string>();
    const jsonMembers = new Map<string, Buffer>();
    const extract = tar.extract();
    const pending: Promise<void>[] = [];
    extract.on('entry', (header, body, next) => {
      const name = normaliseTarName(header.name);
      const done = (p: Promise<void>) => {
        pending.push(p);
        p.then(
          () => next(),
          (err: unknown) => extract.destroy(err as Error),
        );
      };
      if (header.type === 'symlink' && header.linkname) {
        links.set(name, normaliseTarName(joinRelative(name, header.linkname)));
        body.resume();
        body.on('end', () => next());
        return;
      }
      if (name.endsWith('.json') || name === 'repositories' || name === 'oci-layout' || name === 'index.json') {
        done(readSmall(body).then((b) => void jsonMembers.set(name, b)));
        return;
      }
      if (header.type === 'file' && name.startsWith('blobs/') && (header.size ?? 0) < SMALL_BLOB_BYTES) {
        // OCI layouts keep configs and manifests as blobs too: small blobs are read whole and sorted out by content.
        done(
          readSmall(body).then(async (buf) => {
            if (buf[0] === 0x7b /* { */) {
              jsonMembers.set(name, buf);
              return;
            }
            layersByMember.set(name, await listLayerTar(Readable.from([buf])).catch(() => []));
          }),
        );
        return;
      }
      if (header.type === 'file' && (name.endsWith('/layer.tar') || name.startsWith('blobs/'))) {
        done(listLayerTar(body).then((entries) => void layersByMember.set(name, entries)));
        return;
      }
      body.on('end', () => next());
      body.resume();
    });
    extract.on('finish', () => {
      Promise.all(pending)
        .then(() => {
          const manifestBuf = jsonMembers.get('manifest.json');
          if (!manifestBuf) throw new Error('docker save output has no manifest.json');
          const manifest = JSON.parse(manifestBuf.toString('utf8')) as ManifestEntry[];
          const first = manifest[0];
          if (!first || !Array.isArray(first.Layers)) throw new Error('docker save manifest.json lists no layers');
          const resolveMember = (m: string) => {
            let n = normaliseTarName(m);
            for (let i = 0; i < 8 && links.has(n); i++) n = links.get(n)!;
            return n;
          };
          const layers = first.Layers.map((m) => {
            const entries = layersByMember.get(resolveMember(m));
            if (!entries) throw new Error(`docker save output lacks layer ${m}`);
            return entries;
          });
          let config: ImageConfig | null = null;
          if (first.Config) {
            const buf = jsonMembers.get(resolveMember(first.Config));
            if (buf) config = JSON.parse(buf.toString('utf8')) as ImageConfig;
          }
          resolve({ layers, config, repoTags: first.RepoTags ?? [] });
        })
        .catch(reject);
    });
    extract.on('error', reject);
    stream.on('error', reject);
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    stream.pipe(extract);
  });
}

function joinRelative(from: string, target: string): string {
  if (target.startsWith('/')) return target;
  const parts = from.split('/').slice(0, -1);
  for (const seg of target.split('/')) {
    if (seg === '..') parts.pop();
    else if (seg !== '.' && seg !== '') parts.push(seg);
  }
  return parts.join('/');
}
