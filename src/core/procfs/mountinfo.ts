import { Parsed, fail, ok, quoteInput } from '../util/result';

/** One line of /proc/PID/mountinfo (see proc(5)). */
export interface MountinfoEntry {
  mountId: number;
  parentId: number;
  /** major:minor of the filesystem's device. */
  device: string;
  /** The directory of the filesystem that forms the root of this mount. */
  root: string;
  mountPoint: string;
  mountOptions: string[];
  /** Optional fields such as `shared:1`, `master:2`. */
  optional: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** Undoes the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfoLine(line: string): Parsed<MountinfoEntry> {
  const fields = line.split(' ');
  const dash = fields.indexOf('-', 6);
  if (fields.length < 10 || dash < 0 || fields.length < dash + 4) {
    return fail(`malformed mountinfo line ${quoteInput(line)}: expected 10 or more fields with a "-" separator`);
  }
  const mountId = Number(fields[0]);
  const parentId = Number(fields[1]);
  if (!Number.isInteger(mountId) || !Number.isInteger(parentId) || !/^\d+:\d+$/.test(fields[2])) {
    return fail(`malformed mountinfo line ${quoteInput(line)}: bad mount id, parent id or device`);
  }
  return ok({
    mountId,
    parentId,
    device: fields[2],
    root: unescapeMountField(fields[3]),
    mountPoint: unescapeMountField(fields[4]),
    mountOptions: fields[5].split(','),
    optional: fields.slice(6, dash),
    fsType: fields[dash + 1],
    source: unescapeMountField(fields[dash + 2]),
    superOptions: splitSuperOptions(fields.slice(dash + 3).join(' ')),
  });
}

/**
 * Splits super options on commas. Overlay's lowerdir may itself hold escaped commas (`\,`) in
 * directory names, which are not separators.
 */
function splitSuperOptions(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && (text[i + 1] === ',' || text[i + 1] === ':')) {
      cur += c + text[i + 1];
      i++;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out.map(unescapeMountField);
}

/** Parses a whole mountinfo file: good lines become entries, bad lines become errors; never throws. */
export function parseMountinfo(text: string): { entries: MountinfoEntry[]; errors: string[] } {
  const entries: MountinfoEntry[] = [];
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const r = parseMountinfoLine(line);
    if (r.ok) entries.push(r.value);
    else errors.push(r.error);
  }
  return { entries, errors };
}
