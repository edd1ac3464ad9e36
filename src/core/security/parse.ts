// Pure parsers for the kernel's security files of a process: the rights lines of /proc/PID/status,
// /proc/PID/uid_map and gid_map, and /proc/PID/attr/current (the LSM label).
import { IdMapRange } from '../../shared/model';
import { printable, truncate } from '../../shared/text';
import { Parsed, fail, ok, quoteInput } from '../util/result';
import { parseCapabilityMask } from './capabilities';

/** The lines of /proc/PID/status that tell a process's rights. */
export interface StatusRights {
  /** Real, effective, saved, filesystem ids. */
  uids: number[];
  gids: number[];
  capEff: bigint;
  capPrm: bigint;
  capBnd: bigint;
  /** The masks as the kernel printed them. */
  masks: { effective: string; permitted: string; bounding: string };
  /** null on kernels before 4.10 (no NoNewPrivs line). */
  noNewPrivs: boolean | null;
  /** null on kernels built without seccomp. */
  seccompMode: 0 | 1 | 2 | null;
  seccompFilters: number | null;
}

/** Parses the rights lines of a /proc/PID/status text (the capability lines are required). */
export function parseStatusRights(text: string): Parsed<StatusRights> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    // Name is the process's own text: it may look like any other line, and is never one of these.
    if (key === 'Name' || fields.has(key)) continue;
    fields.set(key, line.slice(colon + 1).trim());
  }
  const eff = fields.get('CapEff');
  const prm = fields.get('CapPrm');
  const bnd = fields.get('CapBnd');
  const capEff = eff === undefined ? null : parseCapabilityMask(eff);
  const capPrm = prm === undefined ? null : parseCapabilityMask(prm);
  const capBnd = bnd === undefined ? null : parseCapabilityMask(bnd);
  if (capEff === null || capPrm === null || capBnd === null) return fail(`no capability lines in ${quoteInput(text)}`);
  const nnp = fields.get('NoNewPrivs');
  const seccomp = fields.get('Seccomp');
  const filters = fields.get('Seccomp_filters');
  return ok({
    uids: idList(fields.get('Uid')),
    gids: idList(fields.get('Gid')),
    capEff,
    capPrm,
    capBnd,
    masks: { effective: eff!, permitted: prm!, bounding: bnd! },
    noNewPrivs: nnp === '1' ? true : nnp === '0' ? false : null,
    seccompMode: seccomp === '0' ? 0 : seccomp === '1' ? 1 : seccomp === '2' ? 2 : null,
    seccompFilters: filters !== undefined && /^\d+$/.test(filters) ? Number(filters) : null,
  });
}

function idList(v: string | undefined): number[] {
  if (!v) return [];
  return v
    .split(/\s+/)
    .filter((x) => /^\d+$/.test(x))
    .map(Number);
}

/** Parses /proc/PID/uid_map or gid_map: lines of `inside outside count` (at most 340 by the kernel's rule). */
export function parseIdMap(text: string): Parsed<IdMapRange[]> {
  const out: IdMapRange[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const m = /^(\d+)\s+(\d+)\s+(\d+)$/.exec(t);
    if (!m) return fail(`not an id map line: ${quoteInput(line)}`);
    out.push({ inside: Number(m[1]), outside: Number(m[2]), count: Number(m[3]) });
    if (out.length > 340) return fail('an id map has at most 340 lines');
  }
  return ok(out);
}

/** The whole 32-bit id range mapped to itself: the initial user namespace (or one that maps like it). */
export function isIdentityMap(map: IdMapRange[]): boolean {
  return map.length === 1 && map[0].inside === 0 && map[0].outside === 0 && map[0].count === 4294967295;
}

/** The host id that `inside` maps to, or null when the map leaves it unmapped. */
export function mapId(map: IdMapRange[], inside: number): number | null {
  for (const r of map) if (inside >= r.inside && inside < r.inside + r.count) return r.outside + (inside - r.inside);
  return null;
}

/** The most of an LSM label shown (AppArmor profile names and SELinux contexts are short). */
export const LSM_LABEL_MAX = 256;

/**
 * Reads /proc/PID/attr/current (or attr/apparmor/current): an AppArmor profile and mode, `unconfined`, or a
 * SELinux context. The text is the policy's (profiles can be named by whoever loads them): bounded, printable.
 */
export function parseLsmLabel(text: string, from: 'apparmor' | 'generic'): { label: string; lsm: 'apparmor' | 'selinux' | 'other' } | null {
  const t = text.replace(/[\0\s]+$/, '').trim();
  if (t === '') return null;
  const label = truncate(printable(t), LSM_LABEL_MAX);
  if (from === 'apparmor' || t === 'unconfined' || /^\S.* \((enforce|complain|kill|unconfined|prompt)\)$/.test(t))
    return { label, lsm: 'apparmor' };
  // user:role:type:level, as SELinux writes a context.
  if (/^[^:\s]+:[^:\s]+:[^:\s]+(:.+)?$/.test(t)) return { label, lsm: 'selinux' };
  return { label, lsm: 'other' };
}
