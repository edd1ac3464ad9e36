import { NAMESPACE_TYPES, NamespaceType } from '../../shared/model';
import { Parsed, fail, ok, quoteInput } from '../util/result';

/** Parses a /proc/PID/ns/* link target such as `net:[4026531840]`. */
export function parseNamespaceLink(target: string): Parsed<{ type: string; inode: number }> {
  const m = /^([a-z_]+):\[(\d+)\]$/.exec(target.trim());
  if (!m) return fail(`not a namespace link: ${quoteInput(target)}`);
  const inode = Number(m[2]);
  if (!Number.isSafeInteger(inode)) return fail(`namespace inode out of range: ${quoteInput(target)}`);
  return ok({ type: m[1], inode });
}

export function isNamespaceType(s: string): s is NamespaceType {
  return (NAMESPACE_TYPES as readonly string[]).includes(s);
}

/** The fields of /proc/PID/status the engine uses. */
export interface ProcStatus {
  name: string;
  state: string;
  pid: number;
  ppid: number;
  /** Real, effective, saved, filesystem uids. */
  uids: number[];
  /** PIDs from the outermost PID namespace to the innermost. */
  nspid: number[];
  threads: number | null;
  vmRssBytes: number | null;
}

/** Parses /proc/PID/status. Name may contain any byte but newline (the kernel escapes \n and \\). */
export function parseProcStatus(text: string): Parsed<ProcStatus> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    // The kernel writes "Name:\t" then the name, which may itself begin with blanks: strip only the tab.
    fields.set(key, key === 'Name' ? line.slice(colon + 1).replace(/^\t/, '') : line.slice(colon + 1).replace(/^\s+/, ''));
  }
  const pid = intField(fields.get('Pid'));
  const ppid = intField(fields.get('PPid'));
  if (pid === null || ppid === null) return fail(`not a /proc/PID/status text: ${quoteInput(text)}`);
  const uids = numberList(fields.get('Uid'));
  const nspidText = fields.get('NSpid');
  const nspid = nspidText === undefined ? [pid] : numberList(nspidText);
  const rss = /^(\d+)\s*kB$/.exec(fields.get('VmRSS') ?? '');
  return ok({
    name: unescapeStatusName(fields.get('Name') ?? ''),
    state: (fields.get('State') ?? '').split(' ')[0] ?? '',
    pid,
    ppid,
    uids,
    nspid: nspid.length > 0 ? nspid : [pid],
    threads: intField(fields.get('Threads')),
    vmRssBytes: rss ? Number(rss[1]) * 1024 : null,
  });
}

function intField(v: string | undefined): number | null {
  if (v === undefined || !/^\d+$/.test(v.trim())) return null;
  return Number(v.trim());
}

function numberList(v: string | undefined): number[] {
  if (!v) return [];
  return v
    .trim()
    .split(/\s+/)
    .filter((x) => /^\d+$/.test(x))
    .map(Number);
}

function unescapeStatusName(name: string): string {
  // One pass: `\\n` is a backslash then "n", not a backslash then a newline.
  return name.replace(/\\([n\\])/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Parses /proc/PID/cmdline (NUL-separated arguments). Empty for kernel threads and zombies. */
export function parseCmdline(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Parses /etc/passwd into uid → name (the first name for each uid wins). */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || !/^\d+$/.test(f[2])) continue;
    const uid = Number(f[2]);
    if (!users.has(uid)) users.set(uid, f[0]);
  }
  return users;
}
