// Docker's two storage layouts as layer stores: the overlay2 graph driver (layerdb's tar-split files and
// imagedb's configs under the daemon's root) and the containerd image store (containerd's content store).
import * as path from 'node:path';
import { containerdRoots, readStoreLayers, usesContainerdStore } from '../../layers/containerdStore';
import { chainIds } from '../../layers/history';
import type { ImageConfig } from '../../layers/imageTar';
import type { RawEntry } from '../../layers/tarHeader';
import { readTarSplitFile } from '../../layers/tarSplit';
import type { LayerStore, StoreRead } from '../types';
import type { DaemonInfo } from './client';

export { usesContainerdStore };

function hex(digest: string): string {
  return digest.replace(/^sha256:/, '');
}

/** The overlay2 graph driver: image/overlay2/layerdb/sha256/<chain>/tar-split.json.gz and imagedb/content. */
export function overlay2LayerStore(info: DaemonInfo): LayerStore {
  const imageDir = path.posix.join(info.DockerRootDir ?? '/var/lib/docker', 'image', info.Driver ?? 'overlay2');
  return {
    layout: 'overlay2',
    async read(files, image, want, opts): Promise<StoreRead> {
      const chains = chainIds(image.diffIds);
      const layers = new Map<number, RawEntry[]>();
      let denied: string | undefined;
      await Promise.all(
        want.map(async (i) => {
          const read = await readTarSplitFile(files, `${imageDir}/layerdb/sha256/${hex(chains[i])}/tar-split.json.gz`, opts.signal);
          if (read.entries) {
            layers.set(i, read.entries);
            opts.onLayer?.(i, read.entries.length);
          } else if (read.denied) denied = read.denied;
        }),
      );
      let config: ImageConfig | null = null;
      if (opts.config) {
        try {
          config = JSON.parse(await files.readText(`${imageDir}/imagedb/content/sha256/${hex(image.id)}`)) as ImageConfig;
        } catch {
          // The history API serves when the config file is not readable.
        }
      }
      return { layers, config, source: 'tar-split', ...(denied ? { denied } : {}) };
    },
    async sizes(files, images) {
      const chains = images.flatMap((img) => chainIds(img.diffIds));
      const out = new Map<string, number>();
      await Promise.all(
        [...new Set(chains)].map(async (c) => {
          try {
            const n = Number((await files.readText(`${imageDir}/layerdb/sha256/${hex(c)}/size`)).trim());
            if (Number.isFinite(n)) out.set(c, n);
          } catch {
            // Unknown size: shown as such.
          }
        }),
      );
      return out;
    },
  };
}

/** The containerd image store: manifests, configs and layer blobs in containerd's content store. */
export function containerdLayerStore(info: DaemonInfo): LayerStore {
  return {
    layout: 'containerd',
    async read(files, image, want, opts): Promise<StoreRead> {
      const store = await readStoreLayers(
        files,
        containerdRoots(info),
        { Id: image.id, Os: image.os, Architecture: image.architecture, Variant: image.variant, RootFS: { Layers: image.diffIds } },
        want,
        { signal: opts.signal, onLayer: opts.onLayer },
      );
      const layers = new Map<number, RawEntry[]>();
      for (const i of want) if (store.layers[i]) layers.set(i, store.layers[i]!);
      return { layers, config: store.config, source: 'content-store' };
    },
  };
}
