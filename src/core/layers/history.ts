import { createHash } from 'node:crypto';
import type { HistoryEntry } from '../docker/client';
import type { ImageConfig } from './imageTar';

/** One history entry, oldest first, with whether it made a layer (null when the source does not say). */
export interface HistoryItem {
  createdBy: string;
  createdAt: string | null;
  comment: string | null;
  emptyLayer: boolean | null;
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

/** The Engine API's history is newest first and hides empty_layer; this turns it oldest first. */
export function historyFromApi(entries: HistoryEntry[]): HistoryItem[] {
  return [...entries].reverse().map((h) => ({
    createdBy: h.CreatedBy ?? '',
    createdAt: Number.isFinite(h.Created) ? new Date(h.Created * 1000).toISOString() : null,
    comment: h.Comment || null,
    emptyLayer: null,
    sizeBytes: typeof h.Size === 'number' ? h.Size : null,
  }));
}

const METADATA_KEYWORDS = /^(ENV|LABEL|CMD|ENTRYPOINT|EXPOSE|USER|VOLUME|ARG|STOPSIGNAL|HEALTHCHECK|SHELL|ONBUILD|MAINTAINER)\b/;

/**
 * How likely a history entry is to have made a layer when the source does not say: 3 = it holds bytes,
 * 2 = RUN/COPY/ADD or an import, 1 = WORKDIR (a layer only when it created the directory), 0 = metadata.
 */
export function layerLikelihood(item: HistoryItem): number {
  if (item.sizeBytes !== null && item.sizeBytes > 0) return 3;
  const by = item.createdBy.trim();
  const nop = /#\(nop\)\s*(.*)$/.exec(by);
  if (nop) {
    const instr = nop[1].trim();
    if (/^(COPY|ADD)\b/.test(instr)) return 2;
    if (/^WORKDIR\b/.test(instr)) return 1;
    return 0;
  }
  const bk = by.replace(/\s+# buildkit$/, '');
  if (METADATA_KEYWORDS.test(bk)) return 0;
  if (/^WORKDIR\b/.test(bk)) return 1;
  return 2;
}

/**
 * Pairs layers with the history entries that made them. With empty_layer known (config) this is exact;
 * otherwise the entries most likely to have made a layer are chosen, exactly as many as there are layers.
 */
export function assignHistory(
  items: HistoryItem[],
  layerCount: number,
): { perLayer: LayerHistory[]; metadataBelow: LayerHistory['metadataAbove'] } {
  let makesLayer: boolean[];
  if (items.every((i) => i.emptyLayer !== null) && items.filter((i) => !i.emptyLayer).length === layerCount) {
    makesLayer = items.map((i) => !i.emptyLayer);
  } else {
    const scored = items.map((item, index) => ({ index, score: layerLikelihood(item) }));
    // Highest likelihood first; among equals the newest, since base images' entries are the best known.
    scored.sort((a, b) => b.score - a.score || b.index - a.index);
    const chosen = new Set(scored.slice(0, layerCount).map((s) => s.index));
    makesLayer = items.map((_, i) => chosen.has(i));
  }
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
