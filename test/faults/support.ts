// Helpers shared by the fault tests: the built CLI, bounded waits, and how tar(1) escapes names.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

/** C0, DEL, C1 and the Unicode bidi controls: nothing of these may reach a terminal raw. */
export const DANGEROUS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

export function cli(args: string[], timeout = 180000): { code: number | null; stdout: string; stderr: string } {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node esbuild.mjs\` first`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 512 * 1024 * 1024, timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rejects when `p` has not settled within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, ms: number, what: string, everyMs = 100): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Decodes a name as GNU tar lists it with --quoting-style=escape under LC_ALL=C (`\n`, `\\`, `\ooo` for
 * every other non-printable byte) back to its bytes, then to text as the engine shows it (invalid UTF-8
 * as U+FFFD).
 */
export function decodeTarName(listed: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, '?': 63 };
  for (let i = 0; i < listed.length; i++) {
    const c = listed[i];
    if (c === '\\' && i + 1 < listed.length) {
      const oct = /^[0-7]{3}/.exec(listed.slice(i + 1, i + 4));
      if (oct) {
        bytes.push(parseInt(oct[0], 8));
        i += 3;
        continue;
      }
      const s = simple[listed[i + 1]];
      if (s !== undefined) {
        bytes.push(s);
        i += 1;
        continue;
      }
    }
    bytes.push(...Buffer.from(c, 'latin1'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Peak RSS in MiB from `process.resourceUsage().maxRSS` (kilobytes on Linux). */
export function mib(kb: number): number {
  return Math.round(kb / 1024);
}
