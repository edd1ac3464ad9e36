// Parses a Dockerfile into build stages and instructions, with the text Docker itself would see for
// each instruction (continuations joined, comment lines inside continuations dropped), so that
// instructions can be matched to the history entries of an image built from the file.
//
// dockerfile-ast finds instruction boundaries, keywords, flags, heredocs, stage names and the
// key/value pairs of ENV/LABEL/ARG. The argument text and JSON (exec) forms are computed here,
// following the rules of Docker's own parser: dockerfile-ast drops whitespace inside JSON strings.

import { isSpace } from './scan';
import { DockerfileParser } from 'dockerfile-ast';
import type { Instruction, Property } from 'dockerfile-ast';

/** What an instruction does to the image. */
export type InstructionEffect =
  /** Always writes a filesystem layer (RUN, COPY, ADD). */
  | 'layer'
  /** May write a layer: WORKDIR creates the directory when it is missing (legacy builder), BuildKit always commits one. */
  | 'maybe-layer'
  /** Only changes the image config (ENV, LABEL, CMD …). */
  | 'metadata'
  /** FROM: starts a stage. */
  | 'stage';

/** Shell form (`RUN echo hi`), exec form (`RUN ["echo","hi"]`) or heredoc (`RUN <<EOF`). */
export type InstructionForm = 'shell' | 'exec' | 'heredoc';

export interface DockerfileFlag {
  name: string;
  value: string | null;
}

export interface KeyValue {
  key: string;
  /** null for `ARG NAME` without a default. */
  value: string | null;
}

export interface DockerfileInstruction {
  /** Upper-case keyword: RUN, COPY, FROM … */
  keyword: string;
  /** 0-based first line of the instruction. */
  startLine: number;
  /** 0-based last line (continuations and heredoc bodies included). */
  endLine: number;
  /**
   * The arguments as Docker's parser sees them: continuations joined, comment lines inside
   * continuations dropped, flags (`--from=…`) removed, outer whitespace trimmed. For heredocs,
   * the first line's arguments, a newline and the heredoc bodies as written.
   */
  text: string;
  /** `text` with every run of whitespace collapsed to one space. */
  args: string;
  flags: DockerfileFlag[];
  /** Index of the stage in `ParsedDockerfile.stages`; -1 for ARGs before the first FROM. */
  stageIndex: number;
  effect: InstructionEffect;
  /** Shell/exec/heredoc for RUN, CMD, ENTRYPOINT, COPY, ADD, SHELL, VOLUME, HEALTHCHECK; null otherwise. */
  form: InstructionForm | null;
  /** The argv of the exec (JSON) form, else null. */
  argv: string[] | null;
  /** Names of heredocs (`<<EOF` → EOF). */
  heredocs: string[];
  /** ENV, LABEL and ARG pairs (values unquoted, variables left as written). */
  pairs: KeyValue[] | null;
}

export interface DockerfileStage {
  index: number;
  /** `AS name` (as written), or null. */
  name: string | null;
  /** The FROM image as written, e.g. `debian:bookworm` or `${BASE}` or the name of an earlier stage. */
  from: string;
  /** The index of an earlier stage this one starts FROM, else null (an image). */
  parentStage: number | null;
  /** `--platform` flag value, when given. */
  platform: string | null;
  /** The FROM instruction. */
  fromInstruction: DockerfileInstruction;
  /** Instructions after FROM, up to the next FROM. */
  instructions: DockerfileInstruction[];
  startLine: number;
  endLine: number;
}

export interface ParsedDockerfile {
  stages: DockerfileStage[];
  /** ARG instructions before the first FROM. */
  globalArgs: DockerfileInstruction[];
  /** The stage an image build produces: the last one, or the `target` stage; null when none/unknown. */
  finalStageIndex: number | null;
  escapeChar: string;
  /** Problems found (unknown target, no FROM, parser failure). */
  errors: string[];
}

export interface ParseOptions {
  /** A `docker build --target` stage name (case-insensitive) or stage index. */
  target?: string;
}

const LAYER_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const METADATA_KEYWORDS = new Set([
  'ENV',
  'LABEL',
  'CMD',
  'ENTRYPOINT',
  'EXPOSE',
  'USER',
  'VOLUME',
  'ARG',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
  'ONBUILD',
  'MAINTAINER',
]);
const FORM_KEYWORDS = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'COPY', 'ADD', 'SHELL', 'VOLUME']);

/** All Dockerfile keywords. */
export const DOCKERFILE_KEYWORDS: ReadonlySet<string> = new Set(['FROM', 'WORKDIR', ...LAYER_KEYWORDS, ...METADATA_KEYWORDS]);

/** What a keyword does to the image. Unknown keywords count as metadata. */
export function instructionEffect(keyword: string): InstructionEffect {
  const k = keyword.toUpperCase();
  if (k === 'FROM') return 'stage';
  if (LAYER_KEYWORDS.has(k)) return 'layer';
  if (k === 'WORKDIR') return 'maybe-layer';
  return 'metadata';
}

/** Whether the instruction can produce a filesystem layer. */
export function mayProduceLayer(instruction: Pick<DockerfileInstruction, 'effect'>): boolean {
  return instruction.effect === 'layer' || instruction.effect === 'maybe-layer';
}

/** Parses a Dockerfile. Never throws: problems are listed in `errors`. */
export function parseDockerfile(text: string, options: ParseOptions = {}): ParsedDockerfile {
  const empty: ParsedDockerfile = { stages: [], globalArgs: [], finalStageIndex: null, escapeChar: '\\', errors: [] };
  if (typeof text !== 'string') return { ...empty, errors: ['the Dockerfile text is not a string'] };
  const source = text.replace(/^\uFEFF/, '');
  let instructions: Instruction[];
  let escapeChar = '\\';
  try {
    const df = DockerfileParser.parse(source);
    const esc = df.getEscapeCharacter();
    if (esc === '`' || esc === '\\') escapeChar = esc;
    instructions = df.getInstructions();
  } catch (err) {
    return { ...empty, errors: [`the Dockerfile could not be parsed: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const lines = source.split(/\r?\n|\r/);
  const stages: DockerfileStage[] = [];
  const globalArgs: DockerfileInstruction[] = [];
  const errors: string[] = [];

  for (const ins of instructions) {
    let built: DockerfileInstruction;
    try {
      built = buildInstruction(ins, lines, escapeChar, stages.length - 1);
    } catch (err) {
      errors.push(`line ${safeLine(ins) + 1}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (built.keyword === 'FROM') {
      built.stageIndex = stages.length;
      const { image, name, platform } = fromParts(ins, built);
      const parentStage = findStage(stages, image, stages.length, false);
      stages.push({
        index: stages.length,
        name,
        from: image,
        parentStage,
        platform,
        fromInstruction: built,
        instructions: [],
        startLine: built.startLine,
        endLine: built.endLine,
      });
    } else if (stages.length === 0) {
      if (built.keyword === 'ARG') globalArgs.push(built);
      else errors.push(`line ${built.startLine + 1}: ${built.keyword} before the first FROM`);
    } else {
      const stage = stages[stages.length - 1];
      stage.instructions.push(built);
      stage.endLine = Math.max(stage.endLine, built.endLine);
    }
  }

  let finalStageIndex: number | null = stages.length > 0 ? stages.length - 1 : null;
  if (stages.length === 0) errors.push('the Dockerfile has no FROM instruction');
  if (options.target !== undefined && options.target !== '') {
    const t = findStage(stages, options.target, stages.length, true);
    if (t === null) {
      errors.push(`no build stage named ${JSON.stringify(options.target)}`);
      finalStageIndex = null;
    } else {
      finalStageIndex = t;
    }
  }
  return { stages, globalArgs, finalStageIndex, escapeChar, errors };
}

/** The stage a build produces, or null. */
export function finalStage(parsed: ParsedDockerfile): DockerfileStage | null {
  return parsed.finalStageIndex === null ? null : (parsed.stages[parsed.finalStageIndex] ?? null);
}

/** The final stage and the earlier stages it is built FROM, the oldest ancestor first. */
export function stageChain(parsed: ParsedDockerfile): DockerfileStage[] {
  const chain: DockerfileStage[] = [];
  let cur = finalStage(parsed);
  const seen = new Set<number>();
  while (cur && !seen.has(cur.index)) {
    seen.add(cur.index);
    chain.unshift(cur);
    cur = cur.parentStage === null ? null : (parsed.stages[cur.parentStage] ?? null);
  }
  return chain;
}

/** The instruction (FROM included) whose line range covers a 0-based line, or null. */
export function instructionAtLine(parsed: ParsedDockerfile, line: number): DockerfileInstruction | null {
  for (const ins of parsed.globalArgs) if (line >= ins.startLine && line <= ins.endLine) return ins;
  for (const stage of parsed.stages) {
    if (line < stage.startLine || line > stage.endLine) continue;
    for (const ins of [stage.fromInstruction, ...stage.instructions]) {
      if (line >= ins.startLine && line <= ins.endLine) return ins;
    }
  }
  return null;
}

// ---- internals ----

function safeLine(ins: Instruction): number {
  try {
    return ins.getRange().start.line;
  } catch {
    return 0;
  }
}

function buildInstruction(ins: Instruction, lines: string[], esc: string, stageIndex: number): DockerfileInstruction {
  const range = ins.getRange();
  const keyword = ins.getKeyword().toUpperCase();
  const startLine = range.start.line;
  const endLine = Math.max(startLine, range.end.line);
  const flags = readFlags(ins);
  const heredocs = readHeredocs(ins);

  let text: string;
  if (heredocs.length > 0) {
    const first = joinLogicalLine(lines, startLine, endLine, esc);
    const rest = lines.slice(first.nextLine, endLine + 1).join('\n');
    const head = stripFlags(stripKeyword(first.text), flags.length).trim();
    text = rest.length > 0 ? `${head}\n${rest}` : head;
  } else {
    const joined = joinLogicalLine(lines, startLine, endLine, esc);
    text = stripFlags(stripKeyword(joined.text), flags.length).trim();
  }

  let form: InstructionForm | null = null;
  let argv: string[] | null = null;
  if (FORM_KEYWORDS.has(keyword) || keyword === 'HEALTHCHECK') {
    if (heredocs.length > 0) form = 'heredoc';
    else {
      const jsonPart = keyword === 'HEALTHCHECK' ? text.replace(/^CMD\s+/i, '') : text;
      argv = parseJsonArray(jsonPart);
      form = argv ? 'exec' : 'shell';
    }
  }

  return {
    keyword,
    startLine,
    endLine,
    text,
    args: collapse(text),
    flags,
    stageIndex,
    effect: instructionEffect(keyword),
    form,
    argv,
    heredocs,
    pairs: readPairs(ins, keyword),
  };
}

/**
 * Joins an instruction's physical lines the way Docker's parser does: the first line loses its
 * leading whitespace; a line ending in the escape character (trailing blanks allowed) continues on
 * the next line, whose text is appended as-is; comment lines and blank lines inside a continuation are
 * skipped.
 */
export function joinLogicalLine(lines: readonly string[], start: number, end: number, esc = '\\'): { text: string; nextLine: number } {
  const escape = esc === '`' ? '`' : '\\';
  const first = (lines[start] ?? '').replace(/^\s+/, '');
  let cut = continuationAt(first, escape);
  let text = cut < 0 ? first : first.slice(0, cut);
  let i = start + 1;
  while (cut >= 0 && i <= end && i < lines.length) {
    const line = lines[i];
    i++;
    const t = line.trimStart();
    if (t === '' || t.startsWith('#')) continue;
    cut = continuationAt(line, escape);
    text += cut < 0 ? line : line.slice(0, cut);
  }
  return { text, nextLine: i };
}

/** Where a line's continuation escape starts (the escape character, then only blanks), or -1. */
function continuationAt(line: string, escape: string): number {
  let j = line.length;
  while (j > 0 && (line[j - 1] === ' ' || line[j - 1] === '\t')) j--;
  return j > 0 && line[j - 1] === escape ? j - 1 : -1;
}

function stripKeyword(text: string): string {
  return text.replace(/^\S+\s*/, '');
}

function stripFlags(text: string, count: number): string {
  let out = text;
  for (let n = 0; n < count; n++) {
    const m = /^--\S*\s*/.exec(out);
    if (!m) break;
    out = out.slice(m[0].length);
  }
  return out;
}

/** Collapses every run of whitespace to one space and trims. One pass; text already collapsed is returned as is. */
export function collapse(text: string): string {
  const n = text.length;
  let out = '';
  let from = 0; // start of the text not yet copied to `out`
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && !isSpace(c)) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isSpace(text.charCodeAt(j))) j++;
    // A single space between two words stays where it is; anything else is cut here.
    if (c !== 0x20 || j - i > 1 || i === 0 || j === n) {
      out += text.slice(from, i);
      if (i > 0 && j < n) out += ' ';
      from = j;
    }
    i = j;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Docker's `parseMaybeJSON`: a JSON array of strings, else null (shell form). */
export function parseJsonArray(text: string): string[] | null {
  const t = text.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return null;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return v;
  } catch {
    // shell form
  }
  return null;
}

function readFlags(ins: Instruction): DockerfileFlag[] {
  const withFlags = ins as Instruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] };
  if (typeof withFlags.getFlags !== 'function') return [];
  return withFlags.getFlags().map((f) => ({ name: f.getName(), value: f.getValue() }));
}

function readHeredocs(ins: Instruction): string[] {
  const withHeredocs = ins as Instruction & { getHeredocs?: () => { getName(): string }[] };
  if (typeof withHeredocs.getHeredocs !== 'function') return [];
  try {
    return withHeredocs.getHeredocs().map((h) => h.getName());
  } catch {
    return [];
  }
}

function readPairs(ins: Instruction, keyword: string): KeyValue[] | null {
  if (keyword !== 'ENV' && keyword !== 'LABEL' && keyword !== 'ARG') return null;
  const withProps = ins as Instruction & { getProperties?: () => Property[] };
  if (typeof withProps.getProperties !== 'function') return null;
  return withProps.getProperties().map((p) => ({ key: p.getName(), value: p.getValue() }));
}

function fromParts(ins: Instruction, built: DockerfileInstruction): { image: string; name: string | null; platform: string | null } {
  const platform = built.flags.find((f) => f.name.toLowerCase() === 'platform')?.value ?? null;
  const words = built.args.split(' ').filter((w) => w !== '');
  const image = words[0] ?? '';
  let name: string | null = null;
  if (words.length >= 3 && words[1].toUpperCase() === 'AS') name = words[2];
  const withStage = ins as Instruction & { getBuildStage?: () => string | null };
  if (name === null && typeof withStage.getBuildStage === 'function') name = withStage.getBuildStage();
  return { image, name, platform };
}

/** An earlier stage named `ref` (case-insensitive) or numbered `ref`. */
function findStage(stages: DockerfileStage[], ref: string, before = stages.length, allowIndex = true): number | null {
  const lower = ref.toLowerCase();
  for (let i = Math.min(before, stages.length) - 1; i >= 0; i--) {
    if (stages[i].name !== null && stages[i].name?.toLowerCase() === lower) return i;
  }
  if (allowIndex && /^\d+$/.test(ref)) {
    const n = Number(ref);
    if (n < before && n < stages.length) return n;
  }
  return null;
}
