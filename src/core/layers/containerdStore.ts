// Docker's containerd image store: images live in containerd's content store (manifests, configs and the
// layer blobs, by digest) and are unpacked into the snapshotter's numbered snapshot dirs. Image layers are
// listed from the layer blobs' tar headers, each checked against its diff ID, without `docker save`.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DaemonInfo } from '../runtime/docker/client';
import { HostFileError, HostFiles, isGone } from '../util/hostFiles';
import { ImageConfig, listLayerTar } from './imageTar';
import { RawEntry } from './tarHeader';

const CONTENT_DIR = 'io.containerd.content.v1.content/blobs/sha256';

/** Whether the daemon keeps images in containerd (Docker's containerd image store) rather than a graph driver. */
export function usesContainerdStore(info: DaemonInfo): boolean {
  return (info.DriverStatus ?? []).some(([k, v]) => k === 'driver-type' && v === 'io.containerd.snapshotter.v1');
}

/**
 * Where containerd's root may be on the daemon's machine: a system containerd's, or the one dockerd runs
 * itself under its root dir.
 */
export function containerdRoots(info: DaemonInfo): string[] {
  return ['/var/lib/containerd', `${info.DockerRootDir ?? '/var/lib/docker'}/containerd/daemon`];
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface ManifestOrIndex {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

/** What the image looks like from inspect: its id (a manifest's or an index's digest here), platform, diff IDs. */
export interface StoreImage {
  Id: string;
  Os?: string;
  Architecture?: string;
  Variant?: string;
  RootFS?: { Layers?: string[] };
}

export interface StoreLayers {
  /** The containerd root the content was found under. */
  root: string;
  config: ImageConfig;
  /** Per layer, bottom first: its entries, or null where it was not asked for. */
  layers: (RawEntry[] | null)[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function blobPath(root: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new HostFileError('EINVAL', digest, `${digest} is not a sha256 digest`);
  return `${root}/${CONTENT_DIR}/${digest.slice('sha256:'.length)}`;
}

async function readJson<T>(files: HostFiles, file: string): Promise<T> {
  const text = await files.readText(file);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** The image's own blob (manifest or index) and the content root it was found under (the first of `roots`). */
async function findImageBlob(files: HostFiles, roots: string[], digest: string): Promise<{ root: string; top: ManifestOrIndex }> {
  let first: unknown = null;
  for (const root of roots) {
    try {
      return { root, top: await readJson<ManifestOrIndex>(files, blobPath(root, digest)) };
    } catch (err) {
      if (!isGone(err)) first ??= err;
    }
  }
  if (first) throw first;
  throw new HostFileError('ENOENT', digest, `no content store under ${roots.join(' or ')} holds ${digest}`);
}

function sameList(a: string[] | undefined, b: string[] | undefined): boolean {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The image's manifest: its id's blob, or, for an index, the manifest of the image's platform whose config
 * names the same diff IDs as inspect.
 */
async function resolveManifest(
  files: HostFiles,
  root: string,
  top: ManifestOrIndex,
  image: StoreImage,
): Promise<{ manifest: ManifestOrIndex; config: ImageConfig }> {
  const diffIds = image.RootFS?.Layers ?? [];
  const candidates: ManifestOrIndex[] = [];
  if (Array.isArray(top.manifests)) {
    const platform = (d: Descriptor) =>
      (!image.Os || d.platform?.os === image.Os) &&
      (!image.Architecture || d.platform?.architecture === image.Architecture) &&
      (!image.Variant || !d.platform?.variant || d.platform.variant === image.Variant);
    // The image's platform first; an index may also hold attestations and other platforms' manifests.
    const ordered = [...top.manifests.filter(platform), ...top.manifests.filter((d) => !platform(d))];
    for (const d of ordered) {
      if (!d.digest) continue;
      const m = await readJson<ManifestOrIndex>(files, blobPath(root, d.digest)).catch((err: unknown) => {
        // Only the pulled platform's blobs are there: the others' are missing.
        if (isGone(err)) return null;
        throw err;
      });
      if (m?.config?.digest && Array.isArray(m.layers)) candidates.push(m);
    }
  } else candidates.push(top);
  for (const m of candidates) {
    if (!m.config?.digest || !Array.isArray(m.layers)) continue;
    const config = await readJson<ImageConfig>(files, blobPath(root, m.config.digest));
    if (sameList(config.rootfs?.diff_ids, diffIds) && m.layers.length === diffIds.length) return { manifest: m, config };
  }
  throw new Error(`the content store holds no manifest of ${image.Id} whose layers are the image's ${diffIds.length} diff IDs`);
}

/** Lists one layer blob (plain or gzip tar), checking its uncompressed bytes against the layer's diff ID. */
async function listBlob(files: HostFiles, file: string, diffId: string, mediaType: string | undefined): Promise<RawEntry[]> {
  if (mediaType && /zstd/.test(mediaType)) throw new Error(`${file} is zstd-compressed (${mediaType}): not read here`);
  const blob = await files.readBytes(file);
  const hash = createHash('sha256');
  const entries = await listLayerTar(Readable.from([blob]), (chunk) => hash.update(chunk));
  const digest = `sha256:${hash.digest('hex')}`;
  if (digest !== diffId) throw new Error(`${file} unpacks to ${digest}, not the layer's diff ID ${diffId}`);
  return entries;
}

/**
 * Reads the image's config and the layers `want` asks for (indexes, bottom first) from the content store.
 * Rejects when the image is not found there or a blob cannot be read: the caller falls back to `docker save`.
 */
export async function readStoreLayers(
  files: HostFiles,
  roots: string[],
  image: StoreImage,
  want: number[],
  opts: { signal?: AbortSignal; onLayer?: (index: number, entries: number) => void } = {},
): Promise<StoreLayers> {
  if (!DIGEST.test(image.Id)) throw new Error(`${image.Id} is not a content digest`);
  const { root, top } = await findImageBlob(files, roots, image.Id);
  const { manifest, config } = await resolveManifest(files, root, top, image);
  const diffIds = image.RootFS?.Layers ?? [];
  const layers: (RawEntry[] | null)[] = diffIds.map(() => null);
  // One at a time: each blob is held in memory while it is listed.
  for (const i of want) {
    if (opts.signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    const d = manifest.layers![i];
    if (!d.digest) throw new Error(`layer ${i} of ${image.Id} has no digest in its manifest`);
    layers[i] = await listBlob(files, blobPath(root, d.digest), diffIds[i], d.mediaType);
    opts.onLayer?.(i, layers[i]!.length);
  }
  return { root, config, layers };
}
