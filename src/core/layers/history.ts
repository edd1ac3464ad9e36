import { createHash } from 'node:crypto';
import type { HistoryEntry } from '../runtime/docker/client';
import { assignLayers } from '../dockerfile/history';
import type { ImageConfig } from './imageTar';

/** One history entry, oldest first, with whether it made a layer. */
export interface HistoryItem {
  createdBy: string;
  createdAt: string | null;
  comment: string | null;
  emptyLayer: boolean;
  sizeBytes: number | null;
}

export interface LayerHistory {
  createdBy: string;
  createdAt: string | null;
  comment: string | null;
  metadataAbove: { createdBy: string; createdAt: string | null }[];
}

/** Chain IDs of a layer stack: chain(0) = diff(0), chain(n) = sha256(chain(n-1) + " " + diff(n)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diff of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diff : `sha256:${createHash('sha256').update(`${prev} ${diff}`).digest('hex')}`);
  }
  return out;
}

export function historyFromConfig(config: ImageConfig): HistoryItem[] {
  return (config.history ?? []).map((h) => ({
    createdBy: h.created_by ?? '',
    createdAt: h.created ?? null,
    comment: h.comment ?? null,
    emptyLayer: h.empty_layer === true,
    sizeBytes: null,
  }));
}

/**
 * The Engine API's history is newest first and hides empty_layer: which entries made the image's layers is
 * worked out from the builders' rules (dockerfile/history's assignLayers), and the list turned oldest first.
 */
export function historyFromApi(entries: HistoryEntry[], layerCount: number): HistoryItem[] {
  const { makesLayer } = assignLayers(entries, layerCount);
  return entries
    .map((h, i) => ({
      createdBy: h.CreatedBy ?? '',
      createdAt: Number.isFinite(h.Created) ? new Date(h.Created * 1000).toISOString() : null,
      comment: h.Comment || null,
      emptyLayer: !makesLayer[i],
      sizeBytes: typeof h.Size === 'number' ? h.Size : null,
    }))
    .reverse();
}

/**
 * Pairs layers with the history entries that made them (oldest first, by empty_layer). A history that does
 * not account for every layer leaves the remaining layers without a maker rather than guessing one.
 */
export function assignHistory(
  items: HistoryItem[],
  layerCount: number,
): { perLayer: LayerHistory[]; metadataBelow: LayerHistory['metadataAbove'] } {
  const makesLayer = items.map((i) => !i.emptyLayer);
  const perLayer: LayerHistory[] = [];
  const metadataBelow: LayerHistory['metadataAbove'] = [];
  items.forEach((item, i) => {
    if (makesLayer[i]) {
      perLayer.push({ createdBy: item.createdBy, createdAt: item.createdAt, comment: item.comment, metadataAbove: [] });
    } else {
      const target = perLayer.length > 0 ? perLayer[perLayer.length - 1].metadataAbove : metadataBelow;
      target.push({ createdBy: item.createdBy, createdAt: item.createdAt });
    }
  });
  while (perLayer.length < layerCount) perLayer.push({ createdBy: '', createdAt: null, comment: null, metadataAbove: [] });
  return { perLayer: perLayer.slice(0, layerCount), metadataBelow };
}
