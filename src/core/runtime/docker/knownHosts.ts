import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** One usable line of an OpenSSH known_hosts file. */
export interface KnownHostLine {
  marker: 'revoked' | 'cert-authority' | null;
  /** Comma-separated patterns (`host`, `[host]:port`, `*.example`, `!bad`), or one hashed `|1|salt|hash` entry. */
  patterns: string[];
  keyType: string;
  /** The key in SSH wire format, as the server sends it. */
  key: Buffer;
  /** Where it came from, for messages: `file:line`. */
  where: string;
}

/** The verdict on a server's host key. */
export type HostKeyVerdict =
  | { ok: true; where: string }
  | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; where?: string; keyType: string; fingerprint: string };

/** The user's and the machine's known_hosts files, as ssh reads them. */
export function knownHostsFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME || os.homedir();
  return [
    path.join(home, '.ssh', 'known_hosts'),
    path.join(home, '.ssh', 'known_hosts2'),
    '/etc/ssh/ssh_known_hosts',
    '/etc/ssh/ssh_known_hosts2',
  ];
}

/** Parses known_hosts text; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].trim().split(/[ \t]+/);
    if (fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: KnownHostLine['marker'] = null;
    if (fields[0].startsWith('@')) {
      if (fields[0] === '@revoked') marker = 'revoked';
      else if (fields[0] === '@cert-authority') marker = 'cert-authority';
      else continue;
      fields.shift();
    }
    if (fields.length < 3) continue;
    const key = Buffer.from(fields[2], 'base64');
    // The blob starts with its own type name: a line whose two disagree is damaged.
    if (wireKeyType(key) !== fields[1]) continue;
    out.push({ marker, patterns: fields[0].split(','), keyType: fields[1], key, where: `${file}:${i + 1}` });
  }
  return out;
}

/** The key type named at the start of an SSH wire-format public key ('' when malformed). */
export function wireKeyType(key: Buffer): string {
  if (key.length < 4) return '';
  const n = key.readUInt32BE(0);
  if (n === 0 || n > 64 || key.length < 4 + n) return '';
  return key.subarray(4, 4 + n).toString('latin1');
}

/** `host` on port 22, else `[host]:port`: the name ssh writes and looks up. */
export function knownHostsName(host: string, port = 22): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Whether one line's host field names `name` (already in knownHostsName form). */
export function lineMatches(line: KnownHostLine, name: string): boolean {
  if (line.patterns.length === 1 && line.patterns[0].startsWith('|1|')) return hashedMatches(line.patterns[0], name);
  let positive = false;
  for (const raw of line.patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!globMatch(pattern, name)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

function hashedMatches(entry: string, name: string): boolean {
  const parts = entry.split('|');
  if (parts.length !== 4) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  if (salt.length === 0 || want.length !== 20) return false;
  return timingSafeEqual(createHmac('sha1', salt).update(name).digest(), want);
}

/** `*` and `?` wildcards: greedy with one backtrack point, so at worst pattern × text steps, never exponential. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** `SHA256:…` as ssh prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Checks a server's key the way ssh does with StrictHostKeyChecking: a revoked key is refused, a listed key
 * for that name is accepted, a name listed only with other keys has changed, a name not listed is unknown.
 * `@cert-authority` lines vouch for host certificates, which this client does not negotiate: they are skipped.
 */
export function checkHostKey(lines: KnownHostLine[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const keyType = wireKeyType(key);
  const fp = fingerprint(key);
  for (const l of lines) {
    if (l.marker === 'revoked' && l.key.equals(key) && lineMatches(l, name))
      return { ok: false, reason: 'revoked', where: l.where, keyType, fingerprint: fp };
  }
  let other: KnownHostLine | undefined;
  for (const l of lines) {
    if (l.marker !== null || !lineMatches(l, name)) continue;
    if (l.key.equals(key)) return { ok: true, where: l.where };
    other ??= l;
  }
  if (other) return { ok: false, reason: 'changed', where: other.where, keyType, fingerprint: fp };
  return { ok: false, reason: 'unknown', keyType, fingerprint: fp };
}

/** Reads and parses the files that exist; an unreadable file counts as empty. */
export async function readKnownHosts(files: string[]): Promise<KnownHostLine[]> {
  const texts = await Promise.all(files.map((f) => fsp.readFile(f, 'utf8').catch(() => '')));
  return texts.flatMap((t, i) => parseKnownHosts(t, files[i]));
}

/** What to tell the user when a key is refused: what happened and how to trust the host. */
export function refusalMessage(v: Exclude<HostKeyVerdict, { ok: true }>, target: { user?: string; host: string; port: number }): string {
  const name = knownHostsName(target.host, target.port);
  const sshCmd = `ssh ${target.port === 22 ? '' : `-p ${target.port} `}${target.user ? `${target.user}@` : ''}${target.host}`;
  const key = `${v.keyType || 'unknown type'} key ${v.fingerprint}`;
  switch (v.reason) {
    case 'unknown':
      return `the host key of ${name} (${key}) is not in ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts: run \`${sshCmd}\` once to check and add its key to ~/.ssh/known_hosts`;
    case 'changed':
      return `the host key of ${name} has changed (now ${key}; known_hosts has another at ${v.where}): someone may be intercepting the connection; if the change is expected, remove the old key with \`ssh-keygen -R '${name}'\`, then run \`${sshCmd}\` once to add the new one`;
    case 'revoked':
      return `the host key of ${name} (${key}) is marked @revoked at ${v.where}: not connecting`;
  }
}
