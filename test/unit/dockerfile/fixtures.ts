// Loads the fixtures of test/fixtures/dockerfile: Dockerfiles and the history the Docker 20.10 engine
// returned for images built from them with the legacy builder and with BuildKit, and Podman 5.4.2 for
// the same built by Buildah (captured on the real engines, with the image config's empty_layer flags as
// ground truth).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HistoryEntry } from '../../../src/core/dockerfile/history';

// Compiled tests run from out/test/unit/dockerfile; the fixtures stay in the source tree.
export const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/dockerfile');

export interface HistoryFixture {
  builder: 'legacy' | 'buildkit' | 'buildah';
  dockerfile: string;
  created: string;
  layerCount: number;
  imageSize: number;
  /** Newest first, exactly as GET /images/{name}/history returned it. */
  history: HistoryEntry[];
  /** The config's empty_layer per entry, newest first. */
  emptyLayer: boolean[];
  /** Legacy builds: RootFS.Layers length of each history Id. */
  intermediateLayerCounts?: Record<string, number>;
}

export function readDockerfile(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

export function readHistory(name: string): HistoryFixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as HistoryFixture;
}

/** Layer index per entry (newest first) from the ground-truth empty_layer flags. */
export function truthLayerIndex(fx: HistoryFixture): (number | null)[] {
  const out: (number | null)[] = new Array<number | null>(fx.history.length).fill(null);
  let idx = 0;
  for (let i = fx.history.length - 1; i >= 0; i--) if (!fx.emptyLayer[i]) out[i] = idx++;
  return out;
}

/** A history entry in the form the API returns. */
export function entry(createdBy: string, size = 0, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return { Id: '<missing>', Created: 1_700_000_000, CreatedBy: createdBy, Tags: null, Size: size, Comment: '', ...extra };
}

/** A BuildKit history entry. */
export function bk(createdBy: string, size = 0): HistoryEntry {
  return entry(createdBy, size, { Comment: 'buildkit.dockerfile.v0' });
}

/** Newest first from a list written oldest first (easier to read next to a Dockerfile). */
export function newestFirst(oldestFirst: HistoryEntry[]): HistoryEntry[] {
  return [...oldestFirst].reverse();
}
