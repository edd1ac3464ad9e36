// Image history entries as the Docker Engine API returns them (`GET /images/{name}/history`, newest
// first), what each entry's CreatedBy says, and which entries made the image's filesystem layers.
//
// Real CreatedBy forms (Docker 20.10):
//   legacy builder   `/bin/sh -c #(nop)  ENV A=b`, `/bin/sh -c #(nop) WORKDIR /app`,
//                    `/bin/sh -c #(nop) COPY file:<sha256> in /app/x `, `… COPY --chown=1:1multi:<sha256> in /dst/ `,
//                    `/bin/sh -c dd if=… &&     echo done`, `|2 A=1 B=two /bin/sh -c echo hi`, `|2 A=1 B=two echo hi` (exec form)
//                    (the text before `#(nop)` is the SHELL in effect: `/bin/sh -e -c #(nop)  CMD …`)
//   BuildKit         `RUN /bin/sh -c apt-get update # buildkit`, `RUN |2 A=1 B=two /bin/sh -c … # buildkit`,
//                    `COPY a.txt /app/a.txt # buildkit`, `WORKDIR /app`, `ENV A=b`, `CMD ["sh"]`, `EXPOSE map[80/tcp:{}]`
//                    (Comment `buildkit.dockerfile.v0`; ONBUILD is not recorded)
//   Buildah (Podman 5) the legacy forms, with metadata as written: `/bin/sh -c #(nop) WORKDIR $APP_HOME`,
//                    `… CMD ["-c", "echo hi"]`, `… ARG A B` (names only, with those declared before),
//                    an exec-form RUN as `|1 A=1 /bin/sh -c ["echo", "hi"]`; WORKDIR never makes a layer,
//                    every RUN/COPY/ADD does, and Size is the length of the layer's tar
//
// The API does not say which entries made a layer (the image config's `empty_layer` does). Entries
// with Size > 0 did; metadata entries did not; Size-0 RUN/COPY/ADD/WORKDIR entries may or may not
// (legacy: a RUN that changed nothing, or a WORKDIR that already existed, makes none; BuildKit 20.10
// commits a layer for each). Those are decided by counting against RootFS.Layers.

import type { LayerReport } from '../../shared/model';
import type { HistoryEntry as ApiHistoryEntry } from '../runtime/docker/client';
import { DOCKERFILE_KEYWORDS } from '../dockerfile/parse';
import {
  boundHistoryText,
  copyDestination,
  isLineEnd,
  isSpace,
  shellScript,
  skipNonSpace,
  skipSpace,
  trimEndSpace,
} from '../dockerfile/scan';

/** One entry of `GET /images/{name}/history`, plus what a caller may know beyond the API. */
export interface HistoryEntry extends ApiHistoryEntry {
  /** `empty_layer` from the image config, when the caller read it (the API does not expose it). */
  emptyLayer?: boolean;
  /** RootFS.Layers length of the image `Id` names, when the caller looked it up (see `enrichHistoryLayerCounts`). */
  layerCount?: number | null;
}

export type Builder = 'legacy' | 'buildkit' | 'other';

/** What a CreatedBy string says. */
export interface ParsedCreatedBy {
  /** Upper-case Dockerfile keyword, or null for an import (`''`) or text in no known form. */
  keyword: string | null;
  /** The arguments: without the keyword, `#(nop)`, `# buildkit` and outer whitespace. */
  body: string;
  builder: Builder | null;
  /** Legacy metadata form (`… #(nop) KEYWORD …`). */
  nop: boolean;
  /** For legacy `#(nop)` entries: the shell written before `#(nop)` (`/bin/sh -c`). */
  shell: string | null;
  /** For RUN: the `|N k=v …` build-argument prefix, or null. */
  buildArgs: string | null;
  /** For RUN: the command without the build-argument prefix (best effort: values may hold spaces). */
  command: string | null;
}

const BUILDKIT_COMMENT = 'buildkit.dockerfile.v0';

/** Parses a CreatedBy string of either builder. Never throws. Looks at its first MAX_HISTORY_TEXT characters. */
export function parseCreatedBy(createdBy: unknown, comment?: unknown): ParsedCreatedBy {
  let s = trimEndSpace(boundHistoryText(createdBy));
  let builder: Builder | null = typeof comment === 'string' && comment === BUILDKIT_COMMENT ? 'buildkit' : null;
  const none: ParsedCreatedBy = {
    keyword: null,
    body: s.trim(),
    builder,
    nop: false,
    shell: null,
    buildArgs: null,
    command: null,
  };
  if (none.body === '') return none;

  let bkSuffix = false;
  const BK = '# buildkit';
  if (s.endsWith(BK) && (s.length === BK.length || isSpace(s.charCodeAt(s.length - BK.length - 1)))) {
    s = trimEndSpace(s.slice(0, s.length - BK.length));
    bkSuffix = true;
    builder = 'buildkit';
  }

  // `SHELL #(nop) KEYWORD args`: the shell is on one line (what the builder writes).
  const nopAt = bkSuffix ? -1 : s.indexOf('#(nop)');
  const shellText = nopAt < 0 ? '' : trimEndSpace(s.slice(0, nopAt));
  if (nopAt >= 0 && !hasLineEnd(shellText)) {
    const rest = s.slice(skipSpace(s, nopAt + '#(nop)'.length));
    const kwEnd = skipNonSpace(rest, 0);
    const keyword = kwEnd > 0 ? rest.slice(0, kwEnd).toUpperCase() : null;
    return {
      keyword: keyword && DOCKERFILE_KEYWORDS.has(keyword) ? keyword : null,
      body: rest.slice(kwEnd).trim(),
      builder: builder ?? 'legacy',
      nop: true,
      shell: shellText.trim() || null,
      buildArgs: null,
      command: null,
    };
  }

  // BuildKit: `KEYWORD args` (FROM is no history entry, so text starting with it is a command).
  let kwEnd = 0;
  while (kwEnd < s.length && s.charCodeAt(kwEnd) >= 0x41 && s.charCodeAt(kwEnd) <= 0x5a) kwEnd++;
  const keyword = s.slice(0, kwEnd);
  if (kwEnd > 0 && (kwEnd === s.length || isSpace(s.charCodeAt(kwEnd))) && DOCKERFILE_KEYWORDS.has(keyword) && keyword !== 'FROM') {
    const body = s.slice(kwEnd).trim();
    const run = keyword === 'RUN' ? splitBuildArgs(body) : null;
    return {
      keyword,
      body,
      builder: builder ?? 'other',
      nop: false,
      shell: null,
      buildArgs: run ? run.buildArgs : null,
      command: run ? run.command : null,
    };
  }

  // Legacy RUN: the command as run (`/bin/sh -c …`, or the exec-form argv joined by spaces).
  const body = s.trim();
  const run = splitBuildArgs(body);
  return {
    keyword: 'RUN',
    body,
    builder: builder ?? 'legacy',
    nop: false,
    shell: null,
    buildArgs: run.buildArgs,
    command: run.command,
  };
}

function hasLineEnd(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isLineEnd(s.charCodeAt(i))) return true;
  return false;
}

function isNameStart(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
}

function isNameChar(code: number): boolean {
  return isNameStart(code) || (code >= 0x30 && code <= 0x39);
}

/** Splits `|2 A=1 B=two /bin/sh -c cmd` into the prefix and `/bin/sh -c cmd`. */
export function splitBuildArgs(body: string): { buildArgs: string | null; command: string } {
  // `|N` then blanks (or the end), then up to N `NAME=value` words, each followed by blanks or the end.
  if (body.charCodeAt(0) !== 0x7c) return { buildArgs: null, command: body };
  let i = 1;
  while (i < body.length && body.charCodeAt(i) >= 0x30 && body.charCodeAt(i) <= 0x39) i++;
  if (i === 1 || (i < body.length && !isSpace(body.charCodeAt(i)))) return { buildArgs: null, command: body };
  const n = Number(body.slice(1, i));
  i = skipSpace(body, i);
  for (let k = 0; k < n && i < body.length; k++) {
    if (!isNameStart(body.charCodeAt(i))) break;
    let j = i + 1;
    while (j < body.length && isNameChar(body.charCodeAt(j))) j++;
    if (body.charCodeAt(j) !== 0x3d) break;
    i = skipSpace(body, skipNonSpace(body, j + 1));
  }
  return { buildArgs: body.slice(0, i).trim(), command: body.slice(i) };
}

// ---- layers ----

export type LayerClass = 'layer' | 'none' | 'maybe';

export interface LayerAssignment {
  /** Per history entry (input order, newest first): whether it made a layer (a guess where not certain). */
  makesLayer: boolean[];
  /** Per history entry: the layer index it made (0 = bottom), or null. */
  layerIndex: (number | null)[];
  /** Per history entry: whether makesLayer and layerIndex are known rather than guessed. */
  certain: boolean[];
  /** The count of layer-making entries agrees with the layer count (true when no count was given). */
  consistent: boolean;
  warnings: string[];
}

/** How sure an entry's layer is, from its own fields alone. */
export function classifyEntry(entry: HistoryEntry, parsed = parseCreatedBy(entry?.CreatedBy, entry?.Comment)): LayerClass {
  if (typeof entry?.emptyLayer === 'boolean') return entry.emptyLayer ? 'none' : 'layer';
  const size = typeof entry?.Size === 'number' && Number.isFinite(entry.Size) ? entry.Size : 0;
  if (size > 0) return 'layer';
  const k = parsed.keyword;
  if (k === null || k === 'RUN' || k === 'COPY' || k === 'ADD' || k === 'WORKDIR') return 'maybe';
  return 'none';
}

/** Directories nearly every base image has: a legacy WORKDIR into one of them changes nothing. */
const COMMON_DIRS = new Set(
  '/ /bin /sbin /lib /etc /home /root /tmp /var /var/tmp /var/lib /var/cache /var/log /usr /usr/bin /usr/sbin /usr/lib /usr/local /usr/local/bin /usr/local/lib /usr/src /usr/share /opt /srv /mnt /run'.split(
    ' ',
  ),
);

/** Commands that write nothing to the filesystem (a legacy RUN of only these makes no layer). */
const NO_WRITE =
  /^(true|false|:|echo|printf|ls|cat|pwd|id|whoami|env|printenv|uname|date|test|\[|which|command|type|sleep|exit|set|head|tail|wc|grep|stat|df|du|hostname|nproc)$/;
/** Commands that usually write something. */
const WRITES =
  /(^|[\s;&|(])(mkdir|touch|cp|mv|ln|rm|rmdir|chmod|chown|chgrp|dd|tar|unzip|gzip|gunzip|install|apt|apt-get|dpkg|apk|yum|dnf|microdnf|zypper|pip|pip3|npm|yarn|pnpm|go|cargo|make|cmake|curl|wget|git|useradd|adduser|groupadd|addgroup|sed|patch|truncate|mkfifo|mknod)(\s|$)/;

function normalizeDir(p: string): string {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  return `/${parts.join('/')}`;
}

function addWithAncestors(set: Set<string>, dir: string): void {
  let d = normalizeDir(dir);
  for (;;) {
    set.add(d);
    if (d === '/') break;
    d = d.slice(0, d.lastIndexOf('/')) || '/';
  }
}

/** Whether a RUN command plainly writes nothing: every simple command in it is a read-only one, no redirection. */
function looksReadOnly(command: string): boolean {
  const body = shellScript(command);
  if (body.includes('>')) return false;
  const words = body
    .split(/&&|\|\||;|\|/)
    .map((part) => part.trim().split(/\s+/)[0] ?? '')
    .filter((w) => w !== '');
  return words.length > 0 && words.every((w) => NO_WRITE.test(w));
}

/** A guess at how likely a Size-0 entry made a layer, higher = likelier. */
function maybePriority(parsed: ParsedCreatedBy, existing: Set<string>): number {
  const k = parsed.keyword;
  if (parsed.builder === 'buildkit') return 40; // BuildKit 20.10 commits a layer for each RUN/COPY/ADD/WORKDIR
  if (k === 'COPY' || k === 'ADD') return 30;
  if (k === 'WORKDIR') return existing.has(normalizeDir(parsed.body)) ? 0 : 20;
  if (k === 'RUN') {
    const cmd = parsed.command ?? parsed.body;
    if (looksReadOnly(cmd)) return 5;
    return WRITES.test(cmd) || />/.test(cmd) ? 30 : 20;
  }
  return 10;
}

/** Directories an entry leaves behind (for later WORKDIRs into them). */
function rememberDirs(parsed: ParsedCreatedBy, existing: Set<string>): void {
  if (parsed.keyword === 'WORKDIR' && parsed.body.startsWith('/')) addWithAncestors(existing, parsed.body);
  if ((parsed.keyword === 'COPY' || parsed.keyword === 'ADD') && parsed.nop) {
    const dest = copyDestination(parsed.body);
    if (dest !== null) {
      const dir = dest.endsWith('/') || /\b(dir|multi):/.test(parsed.body) ? dest : dest.slice(0, dest.lastIndexOf('/')) || '/';
      addWithAncestors(existing, dir);
    }
  }
}

/**
 * Decides which history entries (newest first) made the image's layers. `layerCount` is
 * RootFS.Layers.length (null when unknown). Never throws.
 */
export function assignLayers(
  history: readonly HistoryEntry[],
  layerCount: number | null,
  /** The entries already parsed (one per entry, in order), to parse them once. */
  known?: readonly ParsedCreatedBy[],
): LayerAssignment {
  const list = Array.isArray(history) ? history : [];
  const n = list.length;
  const parsed = known && known.length === n ? known : list.map((e) => parseCreatedBy(e?.CreatedBy, e?.Comment));
  const cls: LayerClass[] = list.map((e, i) => classifyEntry(e, parsed[i]));
  const warnings: string[] = [];

  // Intermediate images' layer counts (legacy builds) settle Size-0 entries exactly.
  for (let i = 0; i < n; i++) {
    const here = list[i]?.layerCount;
    if (typeof here !== 'number' || typeof list[i]?.emptyLayer === 'boolean') continue;
    const below = i + 1 < n ? list[i + 1]?.layerCount : 0;
    if (typeof below !== 'number') continue;
    cls[i] = here > below ? 'layer' : 'none';
  }

  const certainLayers = cls.filter((c) => c === 'layer').length;
  // Oldest first, to know which WORKDIR paths were seen before.
  const priority = new Array<number>(n).fill(0);
  const existing = new Set<string>(COMMON_DIRS);
  for (let i = n - 1; i >= 0; i--) {
    if (cls[i] === 'maybe') priority[i] = maybePriority(parsed[i], existing);
    rememberDirs(parsed[i], existing);
  }
  const maybes: number[] = [];
  for (let i = 0; i < n; i++) if (cls[i] === 'maybe') maybes.push(i);

  let needed: number;
  let consistent = true;
  const count = typeof layerCount === 'number' && Number.isInteger(layerCount) && layerCount >= 0 ? layerCount : null;
  if (count === null) {
    needed = maybes.filter((i) => priority[i] >= 20).length;
  } else {
    needed = count - certainLayers;
    if (needed < 0 || needed > maybes.length) {
      consistent = false;
      warnings.push(
        `the history has ${certainLayers} entries that made layers and ${maybes.length} that may have, but the image has ${count} layers`,
      );
      needed = Math.max(0, Math.min(needed, maybes.length));
    }
  }

  // Choose the likeliest `needed` of the Size-0 entries; ties go to the newer entry.
  const ranked = [...maybes].sort((a, b) => priority[b] - priority[a] || a - b);
  const chosen = new Set(ranked.slice(0, needed));
  const forced = count !== null && consistent && (needed === 0 || needed === maybes.length);

  const makesLayer = cls.map((c, i) => c === 'layer' || (c === 'maybe' && chosen.has(i)));
  const layerIndex: (number | null)[] = new Array<number | null>(n).fill(null);
  const certain: boolean[] = new Array<boolean>(n).fill(false);
  let idx = 0;
  let maybesBelow = 0;
  for (let i = n - 1; i >= 0; i--) {
    const isMaybe = cls[i] === 'maybe';
    const maybesAbove = maybes.length - maybesBelow - (isMaybe ? 1 : 0);
    if (makesLayer[i]) layerIndex[i] = idx++;
    if (isMaybe) {
      certain[i] = forced;
      maybesBelow++;
    } else if (!makesLayer[i]) {
      certain[i] = true;
    } else {
      // The index is known when every choice leaves the same number of chosen Size-0 entries below.
      const lo = Math.max(0, needed - maybesAbove);
      const hi = Math.min(maybesBelow, needed);
      certain[i] = forced || (count !== null && consistent && lo === hi);
    }
  }
  if (count !== null && idx !== count && consistent) {
    consistent = false;
    warnings.push(`assigned ${idx} layers but the image has ${count}`);
  }
  return { makesLayer, layerIndex, certain, consistent, warnings };
}

/**
 * Fills `layerCount` of entries whose Id names a local image (legacy builds keep one per step),
 * asking `lookup` for that image's RootFS.Layers length. Lookup failures leave the entry as it was.
 */
export async function enrichHistoryLayerCounts(
  history: readonly HistoryEntry[],
  lookup: (imageId: string) => Promise<number | null>,
): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  for (const e of history) {
    if (!e || typeof e.Id !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(e.Id)) {
      out.push({ ...e });
      continue;
    }
    let count: number | null;
    try {
      count = await lookup(e.Id);
    } catch {
      count = null;
    }
    out.push(typeof count === 'number' ? { ...e, layerCount: count } : { ...e });
  }
  return out;
}

/**
 * Rebuilds the history (newest first, `emptyLayer` known) from a LayerReport, whose layers record
 * the entry that made each and the metadata entries above it.
 */
export function historyFromLayerReport(report: LayerReport): HistoryEntry[] {
  const oldestFirst: HistoryEntry[] = [];
  const seconds = (iso: string | null): number => {
    const t = iso ? Date.parse(iso) : NaN;
    return Number.isFinite(t) ? Math.floor(t / 1000) : 0;
  };
  for (const m of report?.metadataBelow ?? []) {
    oldestFirst.push(entry(m.createdBy, seconds(m.createdAt), 0, true));
  }
  for (const layer of report?.layers ?? []) {
    oldestFirst.push({ ...entry(layer.createdBy, seconds(layer.createdAt), layer.sizeBytes, false), Comment: layer.comment ?? '' });
    for (const m of layer.metadataAbove ?? []) oldestFirst.push(entry(m.createdBy, seconds(m.createdAt), 0, true));
  }
  return oldestFirst.reverse();
}

function entry(createdBy: string, created: number, size: number, emptyLayer: boolean): HistoryEntry {
  return { Id: '<missing>', Created: created, CreatedBy: createdBy ?? '', Tags: null, Size: size, Comment: '', emptyLayer };
}
