// Image facts for the Images view and `container-xray images`: every local image with its layers, which
// other images share each layer, the layer sizes the runtime's store records, and the containers using it.
import type { ImageFacts } from '../shared/model';
import { chainIds } from './layers/history';
import type { Runtime, RuntimeImage } from './runtime/types';

/** The local images; `helpers` (this user's helper containers) are not counted as users of an image. */
export async function readImageFacts(
  runtime: Runtime,
  helpers: Set<string>,
  layerSizes: ((images: RuntimeImage[]) => Promise<Map<string, number>>) | null,
): Promise<ImageFacts[]> {
  const [list, all] = await Promise.all([runtime.listImages(), runtime.listContainers(true)]);
  const containers = all.filter((c) => !helpers.has(c.id));
  const inspected = await Promise.all(list.map((i) => runtime.inspectImage(i.id).catch(() => null)));
  const users = new Map<string, string[]>();
  for (const c of containers) users.set(c.imageId, [...(users.get(c.imageId) ?? []), c.id]);
  const chainUsers = new Map<string, string[]>();
  const perImage = inspected.map((img) => {
    if (!img) return [];
    const chains = chainIds(img.diffIds);
    for (const c of chains) chainUsers.set(c, [...(chainUsers.get(c) ?? []), img.id]);
    return chains;
  });
  const sizes = layerSizes ? await layerSizes(inspected.filter((i) => i !== null)) : new Map<string, number>();
  return list.map((img, i) => {
    const chains = perImage[i];
    const diffIds = inspected[i]?.diffIds ?? [];
    const layers = chains.map((chain, j) => ({
      diffId: diffIds[j],
      chainId: chain,
      sizeBytes: sizes.get(chain) ?? null,
      sharedWith: (chainUsers.get(chain) ?? []).filter((id) => id !== img.id),
    }));
    return {
      id: img.id,
      tags: img.repoTags,
      repoDigests: img.repoDigests,
      created: new Date(img.created * 1000).toISOString(),
      sizeBytes: img.sizeBytes,
      layers,
      sharedBytes: layers.filter((l) => l.sharedWith.length > 0).reduce((s, l) => s + (l.sizeBytes ?? 0), 0),
      containers: users.get(img.id) ?? [],
    };
  });
}
