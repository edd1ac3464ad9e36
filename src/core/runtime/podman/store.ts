// Podman's storage (containers/storage with the overlay driver) as a layer store: every layer is a
// record in <graph root>/overlay-layers/layers.json (its ID, its parent's, its uncompressed diff digest
// and size), and an image layer's tar headers are kept beside it as <ID>.tar-split.gz: the same
// tar-split format Docker's layerdb keeps. Rootful and rootless stores have the same layout; only the
// graph root differs (/var/lib/containers/storage, ~/.local/share/containers/storage).
import * as path from 'node:path';
import { chainIds } from '../../layers/history';
import type { RawEntry } from '../../layers/tarHeader';
import { readTarSplitFile } from '../../layers/tarSplit';
import type { HostFiles } from '../../util/hostFiles';
import type { LayerStore, RuntimeImage, StoreRead } from '../types';

/** One record of layers.json, as far as the engine uses it. */
export interface PodmanLayer {
  id: string;
  parent?: string;
  'diff-digest'?: string;
  'diff-size'?: number;
}

const LAYER_ID = /^[0-9a-f]{64}$/;

/** Parses layers.json; entries that are not layer records (or name no plain ID) are dropped. */
export function parseLayersJson(text: string): PodmanLayer[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('layers.json is not a list of layers');
  return parsed.filter(
    (l): l is PodmanLayer =>
      typeof l === 'object' && l !== null && typeof (l as PodmanLayer).id === 'string' && LAYER_ID.test((l as PodmanLayer).id),
  );
}

/**
 * The storage layer of each of the image's layers, bottom first: the layer whose diff digest is the diff
 * ID, on top of the one below. null where the store has no such layer.
 */
export function resolveImageLayers(layers: PodmanLayer[], diffIds: string[]): (PodmanLayer | null)[] {
  const byParent = new Map<string, PodmanLayer[]>();
  for (const l of layers) {
    const key = l.parent ?? '';
    byParent.set(key, [...(byParent.get(key) ?? []), l]);
  }
  const out: (PodmanLayer | null)[] = [];
  let parent: string | null = '';
  for (const diffId of diffIds) {
    const found: PodmanLayer | undefined =
      parent === null ? undefined : (byParent.get(parent) ?? []).find((l) => l['diff-digest'] === diffId);
    out.push(found ?? null);
    parent = found ? found.id : null;
  }
  return out;
}

export function podmanLayerStore(graphRoot: string, driver: string): LayerStore {
  const dir = path.posix.join(graphRoot, `${driver || 'overlay'}-layers`);
  const loadLayers = async (files: HostFiles) => parseLayersJson(await files.readText(`${dir}/layers.json`));
  return {
    layout: 'podman-overlay',
    async read(files, image, want, opts): Promise<StoreRead> {
      const resolved = resolveImageLayers(await loadLayers(files), image.diffIds);
      const layers = new Map<number, RawEntry[]>();
      let denied: string | undefined;
      // One at a time: a tar-split file is held in memory while it is decoded.
      for (const i of want) {
        const layer = resolved[i];
        if (!layer) continue;
        const read = await readTarSplitFile(files, `${dir}/${layer.id}.tar-split.gz`, opts.signal);
        if (read.entries) {
          layers.set(i, read.entries);
          opts.onLayer?.(i, read.entries.length);
        } else if (read.denied) denied = read.denied;
      }
      return { layers, config: null, source: 'tar-split', ...(denied ? { denied } : {}) };
    },
    async sizes(files, images: RuntimeImage[]) {
      const out = new Map<string, number>();
      let all: PodmanLayer[];
      try {
        all = await loadLayers(files);
      } catch {
        return out;
      }
      for (const img of images) {
        const chains = chainIds(img.diffIds);
        resolveImageLayers(all, img.diffIds).forEach((l, i) => {
          if (l && typeof l['diff-size'] === 'number') out.set(chains[i], l['diff-size']);
        });
      }
      return out;
    },
  };
}
