// The layer diff explorer's scope: a layer report without its change lists (a layer can hold 100 000
// paths), each layer's changes on request, progress of a long read and its Cancel.
import type { EfficiencyVerdict, ImageLayer, LayerChange, LayerReport } from '../model';
import {
  BaseCommands,
  BaseNotifications,
  RequestType,
  Scope,
  baseCommands,
  baseNotifications,
  either,
  fields,
  index,
  literal,
  noParams,
  text,
} from './ipc';

/** A layer without its change list (sent on demand). */
export type LayerSummary = Omit<ImageLayer, 'changes'> & { added: number; modified: number; deleted: number; opaque: number };

export interface LayerReportSummary extends Omit<LayerReport, 'layers' | 'upper'> {
  layers: LayerSummary[];
  upper: { dir: string | null; sizeBytes: number; added: number; modified: number; deleted: number; opaque: number } | null;
}

export interface LayersState {
  report: LayerReportSummary;
  /** The layer to open first: an index, `upper` for a container's writable layer, or null for the top. */
  selected: number | 'upper' | null;
  verdict: EfficiencyVerdict | null;
}

export interface LayersProtocol {
  commands: BaseCommands & {
    copyText: { text: string };
    /** Stop the long work under way (a big layer read). */
    cancel: Record<string, never>;
  };
  requests: {
    'layers/changes': RequestType<{ layer: number | 'upper' }, { changes: LayerChange[] }>;
  };
  notifications: BaseNotifications & {
    'state/layers': LayersState;
    /** Long work under way (a big layer read); null clears it. */
    'state/progress': { message: string | null };
  };
}

export const layersScope: Scope<LayersProtocol> = {
  view: 'layers',
  commands: { ...baseCommands, copyText: fields({ text: text(1 << 20, { empty: true }) }), cancel: noParams },
  requests: { 'layers/changes': fields({ layer: either(index, literal('upper'), 'a layer index or "upper"') }) },
  notifications: { ...baseNotifications, 'state/layers': true, 'state/progress': true },
};

/** Summarises a layer report for a webview: counts instead of change lists. */
export function summariseReport(report: LayerReport): LayerReportSummary {
  const count = (changes: LayerChange[]) => {
    let added = 0;
    let modified = 0;
    let deleted = 0;
    let opaque = 0;
    for (const c of changes) {
      if (c.kind === 'added') added++;
      else if (c.kind === 'modified') modified++;
      else deleted++;
      if (c.opaque) opaque++;
    }
    return { added, modified, deleted, opaque };
  };
  const { layers, upper, ...rest } = report;
  return {
    ...rest,
    layers: layers.map(({ changes, ...l }) => ({ ...l, ...count(changes) })),
    upper: upper ? { dir: upper.dir, sizeBytes: upper.sizeBytes, ...count(upper.changes) } : null,
  };
}
