// Matches the instructions of a Dockerfile's final stage (and the earlier stages it is built FROM)
// to the top entries of an image's history, and those entries to the image's layers.
//
// The instructions, last first, are aligned with the history entries, newest first (a small
// dynamic-programming alignment anchored at the top entry; the entries left below belong to the
// base image). An entry corresponds to an instruction when the keyword agrees and the arguments do,
// after undoing each builder's way of writing them.

import {
  DockerfileInstruction,
  ParsedDockerfile,
  ParseOptions,
  collapse as collapseText,
  finalStage,
  parseDockerfile,
  stageChain,
} from './parse';
import { Builder, HistoryEntry, ParsedCreatedBy, assignLayers, parseCreatedBy } from './history';
import { boundHistoryText, globMatch, legacyCopyDest, trimEndChar, wildcardPieces } from './scan';
import type { ImageLayer, LayerReport } from '../../shared/model';

/** How well a history entry corresponds to an instruction. */
export type MatchQuality =
  /** The entry is what this instruction writes. */
  | 'exact'
  /** The same instruction, written with what the file cannot say (a base image's SHELL, a resolved relative path …). */
  | 'close'
  /** Only the keyword agrees: the line was probably edited since the image was built. */
  | 'keyword';

const QUALITY_WEIGHT: Record<MatchQuality, number> = { exact: 1, close: 0.9, keyword: 0.3 };

export interface InstructionMatch {
  instruction: DockerfileInstruction;
  /** Index into the history (newest first), or null when no entry corresponds. */
  historyIndex: number | null;
  createdBy: string | null;
  quality: MatchQuality | null;
  /** The entry's Size (bytes of the layer it made), or null. */
  sizeBytes: number | null;
  /** Whether the entry made a layer; null without an entry. */
  makesLayer: boolean | null;
  /** The layer index (0 = bottom) the entry made, or null. */
  layerIndex: number | null;
  /** Whether makesLayer/layerIndex are known rather than decided by counting guesses. */
  layerCertain: boolean;
  builder: Builder | null;
}

export interface DockerfileImageMatch {
  /** The final stage's index and name. */
  stage: { index: number; name: string | null; from: string };
  /** One per instruction of the stage chain (final stage and the in-file stages it is FROM), in file order. */
  instructions: InstructionMatch[];
  /** 0–1: weighted matched instructions over instructions plus unexplained history entries. */
  score: number;
  /** Every instruction of the chain has an exact or close entry, and no entry above the base image is unexplained. */
  full: boolean;
  matched: number;
  required: number;
  /** History entries above the base image that no instruction explains. */
  unexplainedHistory: number[];
  /** Index of the newest history entry that belongs to the base image (history.length when none). */
  baseHistoryIndex: number;
  builder: Builder | 'mixed' | null;
  layerCount: number | null;
  layersConsistent: boolean;
  warnings: string[];
}

export interface MatchOptions extends ParseOptions {
  /** The lowest score a match may have (default 0.5); below it the result is null. */
  minScore?: number;
}

/**
 * Matches a Dockerfile (text or parsed) to an image history (newest first, as the Engine API
 * returns it). `layerCount` is RootFS.Layers.length, null when unknown. Returns null when the
 * image's top history does not correspond to the Dockerfile. Never throws.
 */
export function matchDockerfileToHistory(
  dockerfile: string | ParsedDockerfile,
  history: readonly HistoryEntry[],
  layerCount: number | null,
  options: MatchOptions = {},
): DockerfileImageMatch | null {
  return withMemo(() => {
    try {
      return matchUnsafe(dockerfile, history, layerCount, options);
    } catch {
      return null;
    }
  });
}

/**
 * collapse() and unquote() of the texts of one match: every history entry is compared with every
 * instruction of its keyword, and every instruction with the entries of 50 images. Kept for the
 * outermost call only.
 */
let memo: {
  collapse: Map<string, string>;
  unquote: Map<string, string>;
  cleanPath: Map<string, string>;
  /** Entries by their text: images share their base image's entries, and often build steps. */
  parsed: Map<string, ParsedCreatedBy>;
  /** Per parsed entry, its quality against each expectation (by index; undefined = not yet scored). */
  quality: Map<ParsedCreatedBy, (MatchQuality | null | undefined)[]>;
} | null = null;

function withMemo<T>(fn: () => T): T {
  if (memo) return fn();
  memo = { collapse: new Map(), unquote: new Map(), cleanPath: new Map(), parsed: new Map(), quality: new Map() };
  try {
    return fn();
  } finally {
    memo = null;
  }
}

function collapse(text: string): string {
  const known = memo?.collapse.get(text);
  if (known !== undefined) return known;
  const out = collapseText(text);
  memo?.collapse.set(text, out);
  return out;
}

/** The expectations of a parsed Dockerfile, built once for all the images it is matched against. */
const expectationsOf = new WeakMap<ParsedDockerfile, Expectation[]>();

function matchUnsafe(
  dockerfile: string | ParsedDockerfile,
  historyIn: readonly HistoryEntry[],
  layerCount: number | null,
  options: MatchOptions,
): DockerfileImageMatch | null {
  const parsed = typeof dockerfile === 'string' ? parseDockerfile(dockerfile, options) : dockerfile;
  const final = finalStage(parsed);
  if (!final || !Array.isArray(historyIn)) return null;
  const history = historyIn.filter((e) => e && typeof e === 'object');
  let expectations = expectationsOf.get(parsed);
  if (!expectations) {
    expectations = buildExpectations(stageChain(parsed).flatMap((s) => [s.fromInstruction, ...s.instructions]));
    expectationsOf.set(parsed, expectations);
  }
  if (expectations.length === 0) return null;

  const entries = history.map((e) => parsedEntry(e));
  const top = [...expectations].reverse(); // last instruction first
  const n = top.length;
  const m = history.length;

  // score[i][j]: how instruction top[i] corresponds to history[j].
  const quality: (MatchQuality | null)[][] = top.map((x, i) => entries.map((e) => qualityOf(x, n - 1 - i, e)));

  // dp[i][j] (at i * w + j): best value having decided top[0..i) and history[0..j).
  const NEG = -Infinity;
  const w = m + 1;
  const dp = new Float64Array((n + 1) * w).fill(NEG);
  const step = new Uint8Array((n + 1) * w); // 1 match, 2 skip ins, 3 skip entry
  const relax = (at: number, v: number, how: number): void => {
    if (v > dp[at]) {
      dp[at] = v;
      step[at] = how;
    }
  };
  dp[0] = 0;
  for (let i = 0; i <= n; i++) {
    for (let j = 0; j <= m; j++) {
      const here = dp[i * w + j];
      if (here === NEG) continue;
      if (i < n && j < m) {
        const q = quality[i][j];
        if (q !== null) relax((i + 1) * w + j + 1, here + 1 + QUALITY_WEIGHT[q], 1);
      }
      if (i < n) relax((i + 1) * w + j, here - (top[i].optional ? 0 : 1), 2);
      if (j < m && i < n) relax(i * w + j + 1, here - 1, 3);
    }
  }
  let bestJ = 0;
  for (let j = 0; j <= m; j++) if (dp[n * w + j] > dp[n * w + bestJ]) bestJ = j;

  // Backtrack.
  const matchOf = new Array<number | null>(n).fill(null);
  const unexplained: number[] = [];
  let i = n;
  let j = bestJ;
  while (i > 0 || j > 0) {
    const s = step[i * w + j];
    if (s === 1) {
      matchOf[i - 1] = j - 1;
      i--;
      j--;
    } else if (s === 2) {
      i--;
    } else if (s === 3) {
      unexplained.push(j - 1);
      j--;
    } else break;
  }
  unexplained.sort((a, b) => a - b);
  // Entries below the lowest match are the base image's; trailing skipped entries are not unexplained.
  const lowestMatch = Math.max(-1, ...matchOf.map((x) => (x === null ? -1 : x)));
  const unexplainedAbove = unexplained.filter((x) => x < lowestMatch);
  const baseHistoryIndex = lowestMatch + 1;

  const layers = assignLayers(history, layerCount, entries);
  const perInstruction: InstructionMatch[] = top.map((x, k) => {
    const h = matchOf[k];
    const q = h === null ? null : quality[k][h];
    return {
      instruction: x.instruction,
      historyIndex: h,
      createdBy: h === null ? null : String(history[h].CreatedBy ?? ''),
      quality: q,
      sizeBytes: h === null ? null : numberOr(history[h].Size, 0),
      makesLayer: h === null ? null : layers.makesLayer[h],
      layerIndex: h === null ? null : layers.layerIndex[h],
      layerCertain: h === null ? false : layers.certain[h],
      builder: h === null ? null : entries[h].builder,
    };
  });
  perInstruction.reverse();

  let weight = 0;
  let good = 0;
  let required = 0;
  let allRequiredGood = true;
  for (let k = 0; k < n; k++) {
    const q = quality[k][matchOf[k] ?? -1] ?? null;
    const optional = top[k].optional;
    if (!optional) required++;
    if (matchOf[k] !== null && q) {
      weight += QUALITY_WEIGHT[q];
      if (q !== 'keyword') good++;
      if (q === 'keyword' && !optional) allRequiredGood = false;
    } else if (!optional) allRequiredGood = false;
  }
  const denominator = Math.max(1, required + unexplainedAbove.length);
  const score = Math.min(1, weight / denominator);
  if (good === 0 || score < (options.minScore ?? 0.5)) return null;

  const builders = new Set(perInstruction.map((p) => p.builder).filter((b): b is Builder => b !== null));
  const warnings = [...layers.warnings];
  for (const p of perInstruction) {
    if (p.makesLayer === true && p.instruction.effect === 'metadata') {
      warnings.push(`line ${p.instruction.startLine + 1}: ${p.instruction.keyword} matched an entry that made a layer`);
    }
  }
  return {
    stage: { index: final.index, name: final.name, from: final.from },
    instructions: perInstruction,
    score,
    full: allRequiredGood && unexplainedAbove.length === 0,
    matched: good,
    required,
    unexplainedHistory: unexplainedAbove,
    baseHistoryIndex,
    builder: builders.size === 0 ? null : builders.size === 1 ? [...builders][0] : 'mixed',
    layerCount: typeof layerCount === 'number' ? layerCount : null,
    layersConsistent: layers.consistent,
    warnings,
  };
}

/** An entry parsed once per match, shared by the images that have it. */
function parsedEntry(e: HistoryEntry): ParsedCreatedBy {
  if (!memo) return parseCreatedBy(e.CreatedBy, e.Comment);
  const key = `${typeof e.Comment === 'string' ? boundHistoryText(e.Comment) : ''}\u0000${boundHistoryText(e.CreatedBy)}`;
  let parsed = memo.parsed.get(key);
  if (!parsed) {
    parsed = parseCreatedBy(e.CreatedBy, e.Comment);
    memo.parsed.set(key, parsed);
  }
  return parsed;
}

/** An expectation's quality against an entry, scored once per match. */
function qualityOf(x: Expectation, index: number, e: ParsedCreatedBy): MatchQuality | null {
  if (!memo) return x.score(e);
  let row = memo.quality.get(e);
  if (!row) {
    row = [];
    memo.quality.set(e, row);
  }
  let q = row[index];
  if (q === undefined) {
    q = x.score(e);
    row[index] = q;
  }
  return q;
}

function numberOr(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : d;
}

// ---- candidates ----

export interface ImageCandidate {
  id: string;
  tags: string[];
  /** Unix seconds (or any number that orders images by creation). */
  created: number;
  history: HistoryEntry[];
  /** RootFS.Layers.length, null when unknown. */
  layerCount: number | null;
}

export interface CandidateMatch {
  candidate: ImageCandidate;
  match: DockerfileImageMatch;
}

/**
 * The local image built from this Dockerfile: among candidates whose top history corresponds to it,
 * the newest full match, else the best partial match (its `match.full` is false). Null when none.
 */
export function findImageForDockerfile(
  dockerfileText: string | ParsedDockerfile,
  candidates: readonly ImageCandidate[],
  options: MatchOptions = {},
): CandidateMatch | null {
  const parsed = typeof dockerfileText === 'string' ? parseDockerfile(dockerfileText, options) : dockerfileText;
  if (!finalStage(parsed) || !Array.isArray(candidates)) return null;
  return withMemo(() => {
    let best: CandidateMatch | null = null;
    for (const candidate of candidates) {
      if (!candidate || !Array.isArray(candidate.history)) continue;
      const match = matchDockerfileToHistory(parsed, candidate.history, candidate.layerCount ?? null, options);
      if (!match) continue;
      if (best === null || better({ candidate, match }, best)) best = { candidate, match };
    }
    return best;
  });
}

function better(a: CandidateMatch, b: CandidateMatch): boolean {
  if (a.match.full !== b.match.full) return a.match.full;
  if (!a.match.full && a.match.score !== b.match.score) return a.match.score > b.match.score;
  const ca = numberOr(a.candidate.created, 0);
  const cb = numberOr(b.candidate.created, 0);
  if (ca !== cb) return ca > cb;
  return a.match.score > b.match.score;
}

// ---- looking things up in a match ----

/** The instruction match whose lines cover a 0-based line, or null. */
export function matchAtLine(match: DockerfileImageMatch, line: number): InstructionMatch | null {
  return match.instructions.find((p) => line >= p.instruction.startLine && line <= p.instruction.endLine) ?? null;
}

/**
 * The layer of a report an instruction made, or null (metadata, no entry, or the report's layer at
 * that index was made by a different history entry).
 */
export function layerForInstruction(match: InstructionMatch, report: LayerReport): ImageLayer | null {
  if (match.layerIndex === null || !report || !Array.isArray(report.layers)) return null;
  const layer = report.layers.find((l) => l.index === match.layerIndex) ?? report.layers[match.layerIndex] ?? null;
  if (!layer) return null;
  if (match.createdBy !== null && layer.createdBy && collapse(layer.createdBy) !== collapse(match.createdBy)) return null;
  return layer;
}

// ---- what each instruction should look like in the history ----

interface Expectation {
  instruction: DockerfileInstruction;
  /** May be missing from the history (BuildKit does not record ONBUILD). */
  optional: boolean;
  score(entry: ParsedCreatedBy): MatchQuality | null;
}

interface StageContext {
  shell: string[];
  /** Whether the shell is known (set by SHELL in this file) rather than assumed `/bin/sh -c`. */
  shellKnown: boolean;
  workdir: string | null;
}

function buildExpectations(all: DockerfileInstruction[]): Expectation[] {
  const out: Expectation[] = [];
  const contexts = new Map<number, StageContext>();
  let ctx: StageContext = { shell: ['/bin/sh', '-c'], shellKnown: false, workdir: null };
  for (const ins of all) {
    if (ins.keyword === 'FROM') {
      const parentCtx = findParentContext(ins, contexts);
      ctx = parentCtx ? { ...parentCtx } : { shell: ['/bin/sh', '-c'], shellKnown: false, workdir: null };
      contexts.set(ins.stageIndex, ctx);
      continue;
    }
    out.push(expectationFor(ins, { ...ctx }));
    if (ins.keyword === 'SHELL' && ins.argv && ins.argv.length > 0) {
      ctx.shell = ins.argv;
      ctx.shellKnown = true;
    }
    if (ins.keyword === 'WORKDIR') ctx.workdir = resolveWorkdir(ctx.workdir, ins.text);
    contexts.set(ins.stageIndex, ctx);
  }
  return out;
}

function findParentContext(from: DockerfileInstruction, contexts: Map<number, StageContext>): StageContext | null {
  // The chain holds only the stage's ancestors, so the previous context in the chain is the parent.
  let last: StageContext | null = null;
  for (const [idx, c] of contexts) if (idx < from.stageIndex) last = c;
  return last;
}

function expectationFor(ins: DockerfileInstruction, ctx: StageContext): Expectation {
  const k = ins.keyword;
  const base = { instruction: ins, optional: k === 'ONBUILD' };
  const keywordOnly = (e: ParsedCreatedBy): MatchQuality | null => (e.keyword === k ? 'keyword' : null);
  // Buildah records a metadata instruction as it is written (JSON arrays with commas, variables unexpanded).
  const written = [...ins.flags.map((f) => (f.value === null ? `--${f.name}` : `--${f.name}=${f.value}`)), ins.args].join(' ');
  const asWritten = (e: ParsedCreatedBy): boolean => e.nop && k !== 'COPY' && k !== 'ADD' && sameText(e.body, written);
  const by = (f: (e: ParsedCreatedBy) => MatchQuality | null) => ({
    ...base,
    score: (e: ParsedCreatedBy): MatchQuality | null => (e.keyword !== k ? null : asWritten(e) ? 'exact' : (f(e) ?? 'keyword')),
  });
  switch (k) {
    case 'RUN':
      return by((e) => scoreRun(ins, ctx, e));
    case 'COPY':
    case 'ADD':
      return by((e) => scoreCopy(ins, e));
    case 'WORKDIR':
      return by((e) => scoreWorkdir(ins, ctx, e));
    case 'ENV':
    case 'LABEL':
      return by((e) => scorePairs(ins, e, true));
    case 'ARG':
      return by((e) => scorePairs(ins, e, false));
    case 'CMD':
    case 'ENTRYPOINT':
      return by((e) => scoreCommandConfig(ins, ctx, e));
    case 'SHELL':
      return by((e) => (ins.argv && sameText(e.body, `[${ins.argv.join(' ')}]`) ? 'exact' : null));
    case 'VOLUME':
      return by((e) => {
        const words = ins.argv ?? ins.args.split(' ').filter((w) => w !== '');
        return matchesWithVars(e.body, `[${words.join(' ')}]`) ? 'exact' : null;
      });
    case 'EXPOSE':
      return by((e) => (samePorts(e.body, ins.args) ? 'exact' : null));
    case 'HEALTHCHECK':
      return by((e) => scoreHealthcheck(ins, e));
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
    case 'ONBUILD':
      return by((e) => (matchesWithVars(e.body, ins.args) ? 'exact' : sameText(unquote(e.body), unquote(ins.args)) ? 'close' : null));
    default:
      return { ...base, score: keywordOnly };
  }
}

function scoreRun(ins: DockerfileInstruction, ctx: StageContext, e: ParsedCreatedBy): MatchQuality | null {
  const full = collapse(e.body);
  const cmd = collapse(e.command ?? e.body);
  if (ins.form === 'heredoc') {
    const whole = collapse(ins.text);
    const bodyLines = collapse(heredocBodies(ins.text));
    const head = collapse(ins.text.split('\n')[0] ?? '');
    if (cmd.endsWith(whole) || (bodyLines !== '' && cmd.endsWith(bodyLines))) return 'exact';
    if ((bodyLines !== '' && cmd.includes(bodyLines)) || (head !== '' && cmd.includes(head))) return 'close';
    return null;
  }
  const expected = collapse(ins.form === 'exec' && ins.argv ? ins.argv.join(' ') : [...ctx.shell, ins.text].join(' '));
  if (cmd === expected || full === expected || full.endsWith(` ${expected}`)) return 'exact';
  if (ins.form === 'exec' && ins.argv && sameArgv(execFormUnderShell(e.command ?? e.body, ctx.shell), ins.argv)) return 'exact';
  if (ins.form !== 'exec' && ins.args !== '' && (cmd.endsWith(` ${ins.args}`) || cmd === ins.args)) {
    // Shell form under a SHELL the base image set, or a shell this file did not declare.
    return ctx.shellKnown ? 'close' : 'exact';
  }
  return null;
}

/**
 * Buildah writes an exec-form RUN as the shell followed by the instruction's JSON array
 * (`/bin/sh -c ["/bin/sh", "-c", "dd …"]`): that array, or null when the command is in no such form.
 */
function execFormUnderShell(command: string, shell: readonly string[]): unknown[] | null {
  const text = command.trim();
  for (const prefix of [`${shell.join(' ')} `, '/bin/sh -c ']) {
    if (!text.startsWith(prefix)) continue;
    const rest = text.slice(prefix.length).trim();
    if (!rest.startsWith('[') || !rest.endsWith(']')) continue;
    try {
      const argv: unknown = JSON.parse(rest);
      if (Array.isArray(argv)) return argv;
    } catch {
      // Not JSON: the command is a shell command that starts with `[`.
    }
  }
  return null;
}

function sameArgv(recorded: unknown[] | null, written: readonly string[]): boolean {
  return (
    recorded !== null &&
    recorded.length === written.length &&
    recorded.every((w, i) => typeof w === 'string' && collapse(w) === collapse(written[i]))
  );
}

function heredocBodies(text: string): string {
  const lines = text.split('\n').slice(1);
  return lines.slice(0, Math.max(0, lines.length - 1)).join('\n');
}

/** Sources and destination of a COPY/ADD as written. */
function copyParts(ins: DockerfileInstruction): { sources: string[]; dest: string } | null {
  let words: string[];
  if (ins.argv) words = ins.argv;
  else {
    const head = ins.form === 'heredoc' ? (ins.text.split('\n')[0] ?? '') : ins.text;
    words = head.split(/\s+/).filter((w) => w !== '');
  }
  if (words.length === 0) return null;
  return { sources: words.slice(0, -1), dest: words[words.length - 1] };
}

function scoreCopy(ins: DockerfileInstruction, e: ParsedCreatedBy): MatchQuality | null {
  const parts = copyParts(ins);
  if (!parts) return null;
  if (e.nop || e.builder === 'legacy') {
    // `file:<sha> in /dest `, `dir:…`, `multi:…`, `--chown=1:1multi:…`
    const dest = legacyCopyDest(e.body);
    if (dest === null) return null;
    return sameDest(dest.trim(), parts.dest) ? 'exact' : null;
  }
  const expected = [...parts.sources, parts.dest].join(' ');
  if (matchesWithVars(e.body, expected)) return 'exact';
  const words = e.body.split(/\s+/).filter((w) => w !== '');
  const last = words[words.length - 1] ?? '';
  return sameDest(last, parts.dest) ? 'close' : null;
}

function sameDest(recorded: string, written: string): boolean {
  const strip = (p: string): string => (p.length > 1 ? trimEndChar(p, '/') : p);
  return matchesWithVars(recorded, written) || matchesWithVars(strip(recorded), strip(written));
}

function scoreWorkdir(ins: DockerfileInstruction, ctx: StageContext, e: ParsedCreatedBy): MatchQuality | null {
  const recorded = cleanPath(e.body);
  const written = ins.text.trim();
  const resolved = resolveWorkdir(ctx.workdir, written);
  if (resolved !== null && matchesWithVars(recorded, resolved)) return 'exact';
  if ((written.startsWith('/') || written.startsWith('$')) && matchesWithVars(recorded, cleanPath(written))) return 'exact';
  if (!written.startsWith('/') && !written.startsWith('$')) {
    const rel = cleanPath(`/${written}`);
    if (rel !== '/' && matchesWithVars(recorded, `*${rel}`, true)) return 'close';
  }
  return null;
}

/** The directory `WORKDIR path` ends up in after `current` (null = unknown base directory). */
function resolveWorkdir(current: string | null, path: string): string | null {
  const p = path.trim();
  if (p.startsWith('/') || p.startsWith('$')) return cleanPath(p);
  if (current === null) return null;
  return cleanPath(`${current}/${p}`);
}

function cleanPath(p: string): string {
  const known = memo?.cleanPath.get(p);
  if (known !== undefined) return known;
  const out = cleanPathOnce(p);
  memo?.cleanPath.set(p, out);
  return out;
}

function cleanPathOnce(p: string): string {
  const abs = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return (abs ? '/' : '') + parts.join('/') || (abs ? '/' : '.');
}

function scorePairs(ins: DockerfileInstruction, e: ParsedCreatedBy, expandVars: boolean): MatchQuality | null {
  const pairs = ins.pairs ?? [];
  if (pairs.length === 0) return sameText(e.body, ins.args) ? 'exact' : null;
  const expected = pairs.map((p) => (p.value === null ? p.key : `${p.key}=${p.value}`)).join(' ');
  if (expandVars ? matchesWithVars(e.body, expected) : sameText(e.body, expected)) return 'exact';
  const keys = pairs.map((p) => p.key);
  // Buildah records an ARG by names alone, with those its stage declared before (`ARG A B` for `ARG B=two`).
  if (ins.keyword === 'ARG' && endsWithNames(e.body, keys)) return 'exact';
  // The same names: values from --build-arg, or an ARG that inherited a global default.
  const recordedKeys = recordedPairKeys(e.body, keys);
  if (recordedKeys) return 'close';
  return null;
}

/** Whether the body is a list of bare names that ends with these. */
function endsWithNames(body: string, keys: string[]): boolean {
  const words = collapse(body).split(' ');
  if (keys.length === 0 || words.length < keys.length || words.some((w) => w.includes('='))) return false;
  return keys.every((key, i) => words[words.length - keys.length + i] === key);
}

/** Whether the body assigns exactly these keys, in order. */
function recordedPairKeys(body: string, keys: string[]): boolean {
  let rest = body;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!rest.startsWith(key)) return false;
    rest = rest.slice(key.length);
    if (rest !== '' && !rest.startsWith('=') && !rest.startsWith(' ')) return false;
    if (i + 1 < keys.length) {
      const next = rest.indexOf(` ${keys[i + 1]}`);
      if (next < 0) return false;
      rest = rest.slice(next + 1);
    }
  }
  return true;
}

/** Go's %q of a string (close enough: JSON escaping differs only for rare control characters). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

function scoreCommandConfig(ins: DockerfileInstruction, ctx: StageContext, e: ParsedCreatedBy): MatchQuality | null {
  const argv = ins.argv ?? [...ctx.shell, ins.text];
  const expected = `[${argv.map(goQuote).join(' ')}]`;
  if (sameText(e.body, expected)) return 'exact';
  if (ins.argv === null && (e.body.endsWith(` ${goQuote(ins.text)}]`) || e.body === `[${goQuote(ins.text)}]`)) {
    return ctx.shellKnown ? 'close' : 'exact';
  }
  if (sameText(unquote(e.body), unquote(expected))) return 'close';
  return null;
}

function scoreHealthcheck(ins: DockerfileInstruction, e: ParsedCreatedBy): MatchQuality | null {
  const words = ins.args.split(' ');
  let test: string[];
  if ((words[0] ?? '').toUpperCase() === 'NONE') test = ['NONE'];
  else {
    const rest = ins.text.replace(/^CMD\s+/i, '');
    test = ins.argv ? ['CMD', ...ins.argv] : ['CMD-SHELL', rest];
  }
  const expected = `[${test.map(goQuote).join(' ')}]`;
  if (collapse(e.body).startsWith(`&{${collapse(expected)}`)) return 'exact';
  if (collapse(e.body).includes(collapse(expected))) return 'close';
  return null;
}

/** Port specs (`80`, `80/tcp`, `8000-8001/udp`) as a sorted set with the default protocol made explicit. */
function portSet(text: string): string {
  const ports = text.match(/\d+(?:-\d+)?(?:\/[a-zA-Z]+)?/g) ?? [];
  return [...new Set(ports.map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`)))].sort().join(' ');
}

function samePorts(recorded: string, written: string): boolean {
  if (written.includes('$')) return portSet(recorded) !== '';
  const w = portSet(written);
  return w !== '' && portSet(recorded) === w;
}

function sameText(a: string, b: string): boolean {
  return collapse(a) === collapse(b);
}

function unquote(s: string): string {
  const known = memo?.unquote.get(s);
  if (known !== undefined) return known;
  const out = collapse(s.replace(/\\(["'\\])/g, '$1').replace(/["']/g, ''));
  memo?.unquote.set(s, out);
  return out;
}

/**
 * Whether recorded text equals written text, whitespace collapsed, where `$VAR`/`${VAR…}` in the
 * written text stands for anything (builders expand variables in ENV, LABEL, WORKDIR, COPY …).
 * With `glob`, a `*` in the written text also stands for anything. A plain scan: the recorded text is
 * the image's, and a regular expression of `.*?` per variable backtracks exponentially over it.
 */
function matchesWithVars(recorded: string, written: string, glob = false): boolean {
  const r = collapse(recorded);
  const w = collapse(written);
  if (r === w) return true;
  if (!w.includes('$') && !(glob && w.includes('*'))) return unquote(r) === unquote(w);
  const pieces = wildcardPieces(w, glob);
  return globMatch(pieces, r) || globMatch(pieces, unquote(r));
}
