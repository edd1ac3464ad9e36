import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FieldError, ImageLayer, LayerChange, LayerReport, OverlayMount } from '../../shared/model';
import type { DaemonInfo } from '../runtime/docker/client';
import type { Runtime, RuntimeContainerDetail, RuntimeImage } from '../runtime/types';
import { ConfinedReadError, ConfinedRoot, HostFileError, HostFiles, describeReadError, isGone, isPermission } from '../util/hostFiles';
import { HistoryItem, assignHistory, chainIds, historyFromApi, historyFromConfig } from './history';
import { ImageConfig, readSavedImage } from './imageTar';
import { AppliedLayer, LayerStack, computeEfficiency } from './stack';
import { DiskLayerCache } from './diskCache';
import { RawEntry } from './tarHeader';
import { WalkOptions, layerEntriesFromTree, walkTree } from './walk';

/** Image layers are content-addressed: a chain ID's listing never changes, so it is cached by it. */
export class LayerCache {
  private readonly entries = new Map<string, { entries: RawEntry[]; source: ImageLayer['source'] }>();
  private readonly configs = new Map<string, ImageConfig>();
  private held = 0;
  constructor(
    private readonly maxEntries = 2_000_000,
    private readonly disk: DiskLayerCache | null = null,
  ) {}

  /** A listing from the disk cache (kept in memory from then on), or undefined. */
  async fromDisk(chainId: string): Promise<{ entries: RawEntry[]; source: ImageLayer['source'] } | undefined> {
    const hit = (await this.disk?.get(chainId)) ?? undefined;
    if (hit) this.remember(chainId, hit.entries, hit.source);
    return hit;
  }

  /** Waits for listings still being written to disk. */
  flush(): Promise<void> {
    return this.disk?.flush() ?? Promise.resolve();
  }

  get(chainId: string) {
    const hit = this.entries.get(chainId);
    if (hit) {
      // Keep recently used layers at the end (LRU order).
      this.entries.delete(chainId);
      this.entries.set(chainId, hit);
    }
    return hit;
  }

  set(chainId: string, entries: RawEntry[], source: ImageLayer['source']): void {
    if (this.entries.has(chainId)) return;
    this.disk?.put(chainId, entries, source);
    this.remember(chainId, entries, source);
  }

  private remember(chainId: string, entries: RawEntry[], source: ImageLayer['source']): void {
    if (this.entries.has(chainId)) return;
    this.entries.set(chainId, { entries, source });
    this.held += entries.length;
    for (const [key, value] of this.entries) {
      if (this.held <= this.maxEntries || key === chainId) break;
      this.entries.delete(key);
      this.held -= value.entries.length;
    }
  }

  /** Image analyses by image id: an image id names its config and layers, so its report never changes. */
  private readonly analyses = new Map<string, Promise<ImageAnalysis>>();

  cachedAnalysis(imageId: string): Promise<ImageAnalysis> | undefined {
    return this.analyses.get(imageId);
  }

  analysis(imageId: string, compute: () => Promise<ImageAnalysis>): Promise<ImageAnalysis> {
    let p = this.analyses.get(imageId);
    if (!p) {
      p = compute();
      this.analyses.set(imageId, p);
      p.catch(() => this.analyses.delete(imageId));
      while (this.analyses.size > 16) this.analyses.delete(this.analyses.keys().next().value as string);
    }
    return p;
  }

  config(imageId: string): ImageConfig | undefined {
    return this.configs.get(imageId);
  }

  setConfig(imageId: string, config: ImageConfig): void {
    this.configs.set(imageId, config);
  }
}

export interface LayerContext {
  runtime: Runtime;
  files: HostFiles;
  daemon: () => Promise<DaemonInfo>;
  cache: LayerCache;
  /** Whether `files` reaches the daemon's /var/lib/docker and /proc (directly or through a helper container). */
  local: boolean;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

interface ImageLayers {
  layers: RawEntry[][];
  sources: ImageLayer['source'][];
  config: ImageConfig | null;
  errors: FieldError[];
}

/** Lists every layer of an image: from the runtime's layer store where readable, else from `docker save`, streamed. */
async function listImageLayers(ctx: LayerContext, image: RuntimeImage): Promise<ImageLayers> {
  const diffIds = image.diffIds;
  const chains = chainIds(diffIds);
  const errors: FieldError[] = [];
  const layers: (RawEntry[] | null)[] = chains.map(() => null);
  const sources: ImageLayer['source'][] = chains.map(() => 'tar-split');
  await Promise.all(
    chains.map(async (c, i) => {
      const hit = ctx.cache.get(c) ?? (await ctx.cache.fromDisk(c));
      if (hit) {
        layers[i] = hit.entries;
        sources[i] = hit.source;
      }
    }),
  );
  let config = ctx.cache.config(image.id) ?? null;
  const info = ctx.local ? await ctx.daemon() : null;
  const store = info ? ctx.runtime.layerStore(info) : null;
  let denied: string | null = null;
  const want = layers.flatMap((l, i) => (l ? [] : [i]));
  if (store && (want.length > 0 || !config)) {
    try {
      const read = await store.read(ctx.files, image, want, {
        config: !config,
        signal: ctx.signal,
        onLayer: (i, n) => ctx.onProgress?.(`read layer ${i + 1} of ${chains.length} (${n} entries)`),
      });
      for (const [i, entries] of read.layers) {
        layers[i] = entries;
        sources[i] = read.source;
        ctx.cache.set(chains[i], entries, read.source);
      }
      if (!config && read.config) {
        config = read.config;
        ctx.cache.setConfig(image.id, config);
      }
      if (read.denied) denied = read.denied;
    } catch (err) {
      // Cancelled: stop, rather than fall back to docker save.
      if (ctx.signal?.aborted) throw err;
      const file = err instanceof HostFileError ? err.file : "the runtime's layer store";
      denied = isPermission(err) ? describeReadError(err, file, ctx.files.kind) : (err as Error).message;
    }
  }
  if (layers.some((l) => l === null)) {
    // The daemon's own export holds the same headers (it rebuilds layer tars from tar-split).
    ctx.onProgress?.('reading layers through docker save');
    const saved = await readSavedImage(await ctx.runtime.saveImage(image.id), { signal: ctx.signal });
    if (saved.layers.length !== chains.length)
      throw new Error(`docker save of ${image.id} holds ${saved.layers.length} layers, inspect lists ${chains.length}`);
    saved.layers.forEach((entries, i) => {
      if (layers[i]) return;
      layers[i] = entries;
      sources[i] = 'image-tar';
      ctx.cache.set(chains[i], entries, 'image-tar');
    });
    if (!config && saved.config) {
      config = saved.config;
      ctx.cache.setConfig(image.id, config);
    }
    if (denied) errors.push({ field: 'layers.source', reason: `${denied}; layers were read through docker save instead` });
  }
  return { layers: layers as RawEntry[][], sources, config, errors };
}

function sortChanges(changes: LayerChange[]): LayerChange[] {
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The layer report of an image: every layer's changes against the ones below, history, efficiency. */
export interface ImageAnalysis {
  report: LayerReport;
  /** The stack after the image's layers, for a container's layers on top (read through, never changed). */
  stack: LayerStack;
}

/** The layer report of an image, computed once per image id and engine; `ref` is how the caller named it. */
export async function analyseImage(ctx: LayerContext, ref: string, inspected?: RuntimeImage): Promise<ImageAnalysis> {
  // An image id names the image itself: a cached analysis needs no daemon call.
  const known = /^sha256:[0-9a-f]{64}$/.test(ref) ? ctx.cache.cachedAnalysis(ref) : undefined;
  const { report, stack } = await (known ??
    (async () => {
      const image = inspected ?? (await ctx.runtime.inspectImage(ref));
      return ctx.cache.analysis(image.id, () => computeImageAnalysis(ctx, ref, image));
    })());
  return { report: { ...report, image: { ...report.image, ref }, errors: [...report.errors] }, stack };
}

async function computeImageAnalysis(ctx: LayerContext, ref: string, image: RuntimeImage): Promise<ImageAnalysis> {
  const listed = await listImageLayers(ctx, image);
  let history: HistoryItem[];
  if (listed.config?.history) history = historyFromConfig(listed.config);
  else history = historyFromApi(await ctx.runtime.imageHistory(image.id), image.diffIds.length);
  const diffIds = image.diffIds;
  const chains = chainIds(diffIds);
  const { perLayer, metadataBelow } = assignHistory(history, diffIds.length);
  const stack = new LayerStack();
  const applied: AppliedLayer[] = [];
  for (const [i, entries] of listed.layers.entries()) {
    if (ctx.signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    applied.push(stack.apply(entries));
    ctx.onProgress?.(`stacked layer ${i + 1} of ${listed.layers.length}`);
    // A big layer stacks for a while: let cancellation and other work in between.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const eff = computeEfficiency(applied);
  const layers: ImageLayer[] = applied.map((a, i) => ({
    index: i,
    diffId: diffIds[i],
    chainId: chains[i],
    createdBy: perLayer[i].createdBy,
    createdAt: perLayer[i].createdAt,
    comment: perLayer[i].comment,
    sizeBytes: a.sizeBytes,
    metadataAbove: perLayer[i].metadataAbove,
    changes: sortChanges(a.changes),
    wastedBytes: eff.layerWastedBytes[i],
    source: listed.sources[i],
  }));
  const sizeBytes = layers.reduce((s, l) => s + l.sizeBytes, 0);
  const userSizeBytes = layers.slice(1).reduce((s, l) => s + l.sizeBytes, 0);
  const report: LayerReport = {
    image: { id: image.id, tags: image.repoTags, ref },
    container: null,
    layers,
    metadataBelow,
    upper: null,
    efficiency: eff.efficiency,
    wastedBytes: eff.wastedBytes,
    userWastedPercent: userSizeBytes > 0 ? eff.wastedBytes / userSizeBytes : 0,
    sizeBytes,
    userSizeBytes,
    inefficiencies: eff.inefficiencies,
    errors: listed.errors,
  };
  return { report, stack };
}

/** The overlay directories of a container: from its running mount, else from `docker inspect`. */
export function overlayFromInspect(info: RuntimeContainerDetail): OverlayMount | null {
  const data: Record<string, string | undefined> = info.graphDriver?.data ?? {};
  if (!data.UpperDir && !data.LowerDir) return null;
  const lowerDirs = (data.LowerDir ?? '').split(':').filter((d) => d !== '');
  return {
    lowerDirs,
    stack: lowerDirs
      .map((dir) => ({ dir, resolved: dir, role: /-init\/diff$/.test(dir) ? ('init' as const) : ('image' as const) }))
      .reverse(),
    upperDir: data.UpperDir ?? null,
    workDir: data.WorkDir ?? null,
    mergedDir: data.MergedDir ?? null,
    source: 'inspect',
    inspectAgrees: true,
    options: [],
  };
}

/** Docker's `docker diff` kinds: 0 modified, 1 added, 2 deleted. */
const DIFF_KINDS: LayerChange['kind'][] = ['modified', 'added', 'deleted'];

/**
 * A container's layer report: its image's layers, then its writable (upper) layer, read from the upper
 * directory where readable (with sizes and opaque directories), else from the daemon's change list.
 */
export async function analyseContainer(
  ctx: LayerContext,
  info: RuntimeContainerDetail,
  overlay: OverlayMount | null,
  pid: number | null,
): Promise<LayerReport> {
  // By id (a tag may have moved on since the container was created), shown by the name it was created from.
  const image = await analyseImage(ctx, info.imageId);
  const report: LayerReport = {
    ...image.report,
    image: { ...image.report.image, ref: info.imageRef },
    container: { id: info.id, name: info.name },
  };
  // The image's stack is shared (cached): the container's layers go on a stack that reads through it.
  const stack = new LayerStack(image.stack);
  const mount = overlay ?? overlayFromInspect(info);
  if (overlay && mount) {
    const fromInspect = overlayFromInspect(info);
    mount.inspectAgrees = fromInspect ? fromInspect.upperDir === mount.upperDir : null;
  }
  const upperDir = mount?.upperDir ?? null;
  // On the containerd image store the mount names each layer's snapshot: image layers bottom first.
  const imageDirs = mount?.stack.filter((l) => l.role === 'image') ?? [];
  if (imageDirs.length === report.layers.length && imageDirs.every((l) => l.snapshotId !== undefined))
    report.layers = report.layers.map((l, i) => ({ ...l, snapshotId: imageDirs[i].snapshotId }));
  const upperSnapshot = mount?.upperSnapshotId !== undefined ? { snapshotId: mount.upperSnapshotId } : {};
  if (ctx.local && upperDir) {
    try {
      // The container's own init layer is the top one (others, below, belong to the image's build).
      const init = mount ? [...mount.stack].reverse().find((l) => l.role === 'init') : undefined;
      if (init?.resolved) stack.apply(await walkLayer(ctx.files, init.resolved, { signal: ctx.signal }));
      const merged: ConfinedRoot | null =
        pid !== null ? { kind: 'process', pid } : mount?.mergedDir ? { kind: 'dir', dir: mount.mergedDir } : null;
      const entries = await walkLayer(ctx.files, upperDir, {
        signal: ctx.signal,
        onProgress: (n) => ctx.onProgress?.(`${n} entries of the writable layer`),
        isOpaque: merged ? (rel, present, whiteouts) => isOpaqueByMergedView(ctx.files, stack, merged, rel, present, whiteouts) : undefined,
      });
      const applied = stack.apply(entries);
      report.upper = { dir: upperDir, changes: sortChanges(applied.changes), sizeBytes: applied.sizeBytes, ...upperSnapshot };
      return report;
    } catch (err) {
      if (!isPermission(err) && !isGone(err)) throw err;
      report.errors.push({
        field: 'upper',
        reason: `${describeReadError(err, upperDir, ctx.files.kind)}; the change list comes from the daemon, without sizes`,
      });
    }
  }
  const changes = (await ctx.runtime.containerChanges(info.id)) ?? [];
  report.upper = {
    dir: upperDir,
    changes: sortChanges(
      changes.map((c) => {
        const below = stack.lookup(c.Path.replace(/^\//, ''));
        return { path: c.Path, kind: DIFF_KINDS[c.Kind] ?? 'modified', type: below?.type ?? 'other', sizeBytes: 0 };
      }),
    ),
    sizeBytes: 0,
    ...upperSnapshot,
  };
  return report;
}

/** A layer dir's entries as tar lists them, walked through HostFiles where it can walk (the helper container). */
async function walkLayer(files: HostFiles, dir: string, opts: WalkOptions): Promise<RawEntry[]> {
  const tree = files.walkTree ? await files.walkTree(dir, opts) : await walkTree(dir, opts);
  return layerEntriesFromTree(tree, opts);
}

/**
 * Overlay marks an opaque directory with an xattr Node cannot read. The merged view tells the same: a name
 * the lower layers hold, that the upper directory neither holds nor whites out, is hidden only when the
 * upper directory is opaque.
 */
async function isOpaqueByMergedView(
  files: HostFiles,
  stack: LayerStack,
  merged: ConfinedRoot,
  rel: string,
  present: Set<string>,
  whiteouts: Set<string>,
): Promise<boolean> {
  const lower = stack.childrenOf(rel);
  if (!lower) return false;
  const candidate = lower.find((n) => !present.has(n) && !whiteouts.has(n));
  if (candidate === undefined) return false;
  // The merged view is the container's to change: the path is resolved inside it, no link of its followed out.
  const inside = path.posix.join('/', rel, candidate);
  if (files.existsConfined) {
    try {
      return !(await files.existsConfined(merged, inside));
    } catch (err) {
      // A loop or a swap the container made on that path: its opacity stays unknown (not opaque).
      if (err instanceof ConfinedReadError) return false;
      throw err;
    }
  }
  const file = path.posix.join(merged.kind === 'process' ? `/proc/${merged.pid}/root` : merged.dir, inside);
  try {
    if (files.exists) return !(await files.exists(file));
    await fsp.lstat(file);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
