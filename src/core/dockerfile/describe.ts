// Text for a Dockerfile hover and CodeLens: what the layer of one instruction holds.
//
// The hover puts the text in a MarkdownString (untrusted, no HTML), so every piece of text is
// escaped here: file names, image names and commands come from images and must never turn into
// links, HTML, command URIs or formatting. Lines are joined with Markdown hard breaks ("  \n"),
// which read as plain line breaks when printed. `{ markdown: false }` gives plain text for a terminal.

import type { ImageLayer, LayerChange, LayerReport } from '../../shared/model';
import { formatBytes, shortId } from '../../shared/format';
import { escapeMarkdown } from '../../shared/text';
import type { DockerfileInstruction } from './parse';
import type { InstructionMatch } from './match';

export interface DescribeOptions {
  /** Escape for Markdown (default true); false gives plain text with control characters still replaced. */
  markdown?: boolean;
  /** How many of the largest files to name (default 5, at most 20). */
  largest?: number;
}

/** Longest name (in characters) shown before it is shortened in the middle. */
export const MAX_NAME_CHARS = 120;

const HARD_BREAK = '  \n';

/**
 * Replaces control characters (newlines included), Unicode line/paragraph separators and bidi
 * controls with `�`, tabs with a space, and shortens the text in the middle to `max` characters.
 */
export function sanitizeName(text: unknown, max = MAX_NAME_CHARS): string {
  const whole = typeof text === 'string' ? text : String(text ?? '');
  // Only the ends are shown: keep twice `max` code units of each (a cut surrogate pair lands in the
  // dropped middle), so a 1 MB label costs no more than a short one.
  const s = whole.length > 4 * max + 8 ? whole.slice(0, 2 * max + 4) + whole.slice(whole.length - 2 * max - 4) : whole;
  const clean = s
    .replace(/\t/g, ' ')
    // C0, DEL, C1, line/paragraph separators, bidi embeddings/overrides/isolates, BOM/zero-width.
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]/g, '\ufffd');
  const chars = Array.from(clean);
  if (chars.length <= max) return clean;
  const keep = Math.max(2, max - 1);
  const head = Math.ceil(keep / 2);
  const tail = keep - head;
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - tail).join('')}`;
}

/** Sanitizes and (for Markdown) escapes untrusted text. */
function safe(text: unknown, markdown: boolean, max = MAX_NAME_CHARS): string {
  const s = sanitizeName(text, max);
  return markdown ? escapeMarkdown(s) : s;
}

interface Counts {
  added: number;
  modified: number;
  deleted: number;
  dirsAdded: number;
}

function countChanges(changes: readonly LayerChange[]): Counts {
  const c: Counts = { added: 0, modified: 0, deleted: 0, dirsAdded: 0 };
  for (const ch of changes) {
    if (!ch) continue;
    if (ch.kind === 'deleted') c.deleted++;
    else if (ch.type === 'dir') {
      if (ch.kind === 'added') c.dirsAdded++;
    } else if (ch.kind === 'added') c.added++;
    else if (ch.kind === 'modified') c.modified++;
  }
  return c;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function lineRange(ins: DockerfileInstruction): string {
  return ins.endLine > ins.startLine ? `lines ${ins.startLine + 1}–${ins.endLine + 1}` : `line ${ins.startLine + 1}`;
}

/**
 * Describes what an instruction put in the image. `layer` is the layer it made (null: metadata only,
 * no layer, or no matching history entry; pass `match` to tell these apart). Never throws.
 */
export function describeInstructionLayer(
  instruction: DockerfileInstruction,
  layer: ImageLayer | null,
  report: LayerReport,
  match?: InstructionMatch | null,
  options: DescribeOptions = {},
): string {
  const md = options.markdown !== false;
  /** Fixed text (numbers and words of ours): escaped too, so "1." or "-" never starts a list. */
  const t = (text: string): string => (md ? escapeMarkdown(text) : text);
  /** Untrusted text: sanitized, shortened, escaped. */
  const u = (text: unknown, max = MAX_NAME_CHARS): string => safe(text, md, max);
  const lines: string[] = [];
  const keyword = /^[A-Z]{2,12}$/.test(instruction?.keyword ?? '') ? instruction.keyword : 'Instruction';
  const head = `${keyword} (${instruction ? lineRange(instruction) : 'unknown line'})`;
  const image = report?.image ? imageName(report.image) : null;
  const recorded = (): void => {
    if (match?.createdBy) lines.push(t('Recorded as: ') + u(match.createdBy, 200));
  };

  try {
    if (instruction?.effect === 'metadata') {
      lines.push(t(`${head}: this instruction only sets image metadata; it produced no layer.`));
      recorded();
      return lines.join(HARD_BREAK);
    }
    if (!layer) {
      if (match && match.historyIndex === null) {
        lines.push(
          t(`${head}: no history entry`) +
            (image ? t(' in image ') + u(image) : '') +
            t(' corresponds to this line; rebuild the image to see its layer.'),
        );
      } else if (match && match.makesLayer === false) {
        const why =
          instruction?.keyword === 'WORKDIR'
            ? 'the directory already existed, so it produced no layer.'
            : 'it changed no files, so the builder made no layer.';
        lines.push(t(`${head}: ${why}`));
      } else {
        lines.push(t(`${head}: the layer of this instruction is not known`) + (image ? t(' in image ') + u(image) : '') + t('.'));
      }
      recorded();
      return lines.join(HARD_BREAK);
    }

    const total = Array.isArray(report?.layers) ? report.layers.length : 0;
    const index = Number.isInteger(layer.index) ? layer.index : -1;
    const size = Number.isFinite(layer.sizeBytes) ? layer.sizeBytes : 0;
    const digest = typeof layer.diffId === 'string' && /^(sha256:)?[0-9a-f]{12,}$/.test(layer.diffId) ? shortId(layer.diffId) : 'unknown';
    const changes = Array.isArray(layer.changes) ? layer.changes : [];
    const counts = countChanges(changes);
    const uncertain = match && !match.layerCertain ? ' (matched by counting layers; may be off by one)' : '';

    if (size === 0 && counts.added + counts.modified + counts.deleted === 0) {
      lines.push(t(`${head}: produced an empty layer (0 B), layer ${index + 1} of ${total}, digest ${digest}${uncertain}.`));
      if (counts.dirsAdded > 0) lines.push(t(`It only created ${plural(counts.dirsAdded, 'directory', 'directories')}.`));
    } else {
      lines.push(t(`${head}: layer ${index + 1} of ${total}, ${formatBytes(size)}, digest ${digest}${uncertain}.`));
      let files = `Files: ${counts.added} added, ${counts.modified} modified, ${counts.deleted} deleted`;
      if (counts.dirsAdded > 0) files += `; ${plural(counts.dirsAdded, 'directory', 'directories')} added`;
      lines.push(t(`${files}.`));
    }

    const limit = Math.max(0, Math.min(20, options.largest ?? 5));
    const largest = changes
      .filter((c) => c && (c.kind === 'added' || c.kind === 'modified') && c.type !== 'dir' && c.sizeBytes > 0)
      .sort((a, b) => b.sizeBytes - a.sizeBytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .slice(0, limit);
    if (largest.length > 0) {
      lines.push(t('Largest:'));
      for (const c of largest) lines.push(t('• ') + u(c.path) + t(` (${formatBytes(c.sizeBytes)}, ${c.kind})`));
    }

    const wasted = Number.isFinite(layer.wastedBytes) ? layer.wastedBytes : 0;
    lines.push(
      t(
        wasted > 0
          ? `Wasted: ${formatBytes(wasted)} of this layer is overwritten or deleted by later layers.`
          : 'Wasted: none (no later layer overwrites or deletes what it holds).',
      ),
    );

    const opaque = changes.filter((c) => c && c.opaque === true).map((c) => c.path);
    if (opaque.length > 0) {
      const more = opaque.length > 5 ? t(` and ${opaque.length - 5} more`) : '';
      lines.push(
        t('Opaque directories (hide lower contents): ') +
          opaque
            .slice(0, 5)
            .map((p) => u(p))
            .join(t(', ')) +
          more,
      );
    }
    return lines.join(HARD_BREAK);
  } catch {
    return t(`${keyword}: no description available.`);
  }
}

function imageName(image: LayerReport['image']): string | null {
  const tag = Array.isArray(image.tags) && typeof image.tags[0] === 'string' ? image.tags[0] : null;
  if (tag) return tag;
  if (typeof image.ref === 'string' && image.ref) return image.ref;
  if (typeof image.id === 'string' && image.id) return shortId(image.id);
  return null;
}

/** Quotes a path for a POSIX shell when it holds anything beyond safe characters. */
function shellQuote(p: string): string {
  if (/^[A-Za-z0-9_./@%+=:,-]+$/.test(p)) return p;
  return `'${p.replace(/'/g, `'\\''`)}'`;
}

function dirnameOf(p: string): string {
  const i = p.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return p.slice(0, i);
}

/** Says that no local image matches the Dockerfile and how to build one. Never throws. */
export function describeNoImage(dockerfilePath: string, options: DescribeOptions & { context?: string; tag?: string } = {}): string {
  const md = options.markdown !== false;
  const file = typeof dockerfilePath === 'string' && dockerfilePath !== '' ? dockerfilePath : 'Dockerfile';
  const context = typeof options.context === 'string' && options.context !== '' ? options.context : dirnameOf(file);
  const tag = typeof options.tag === 'string' && /^[a-z0-9][a-z0-9._/:-]*$/.test(options.tag) ? options.tag : 'NAME';
  const command = `docker build -t ${tag} -f ${shellQuote(sanitizeName(file, 400))} ${shellQuote(sanitizeName(context, 400))}`;
  const lines = [
    `No local image matches ${sanitizeName(file)}: no image's newest history entries correspond to its final stage.`,
    'Build one, then the layer of each line shows here:',
    command,
  ];
  return lines.map((l) => (md ? escapeMarkdown(l) : l)).join(HARD_BREAK);
}

/**
 * A short CodeLens title: `$(layers) 12.3 MiB · +120 ~3 -2 files`. Only numbers and fixed words
 * follow the codicon, so no name can inject another `$(icon)`.
 */
export function codeLensTitle(layer: ImageLayer | null, match?: InstructionMatch | null): string {
  if (!layer) {
    if (match && match.instruction?.effect === 'metadata') return 'metadata only';
    if (match && match.makesLayer === false) return '$(layers) no layer';
    if (match && match.historyIndex === null) return '$(warning) not in the image';
    return '$(layers) no layer';
  }
  const counts = countChanges(Array.isArray(layer.changes) ? layer.changes : []);
  const size = Number.isFinite(layer.sizeBytes) ? layer.sizeBytes : 0;
  if (size === 0 && counts.added + counts.modified + counts.deleted === 0) {
    return counts.dirsAdded > 0 ? `$(layers) empty layer · +${plural(counts.dirsAdded, 'dir', 'dirs')}` : '$(layers) empty layer';
  }
  return `$(layers) ${formatBytes(size)} · +${counts.added} ~${counts.modified} -${counts.deleted} files`;
}
