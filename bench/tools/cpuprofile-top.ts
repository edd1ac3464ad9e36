// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time, and self
// time by source (file or npm package). Bundled code (dist/*.js) is mapped back to its sources through the
// bundle's source map when there is one beside it.
//
//   node out/bench/tools/cpuprofile-top.js PROFILE.cpuprofile [--top N] [--inclusive]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Per generated line: sorted [generatedColumn, sourceIndex] pairs, from a source map's VLQ mappings. */
export function decodeMappings(mappings: string): [number, number][][] {
  const lines: [number, number][][] = [];
  let source = 0;
  for (const line of mappings.split(';')) {
    const segs: [number, number][] = [];
    let col = 0;
    for (const seg of line.split(',')) {
      if (seg === '') continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >> 1) : value >> 1);
          value = 0;
          shift = 0;
        }
      }
      col += values[0];
      if (values.length >= 2) {
        source += values[1];
        segs.push([col, source]);
      }
    }
    lines.push(segs);
  }
  return lines;
}

class SourceMapper {
  private readonly maps = new Map<string, { sources: string[]; lines: [number, number][][] } | null>();

  source(url: string, line: number, column: number): string {
    if (!url) return '(native)';
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (!this.maps.has(file)) {
      let map = null;
      try {
        // Only a map the file names itself: a stale map beside a rebuilt (e.g. minified) bundle would mislead.
        const tail = fs.readFileSync(file, 'utf8').slice(-300);
        const named = /sourceMappingURL=(\S+)\s*$/.exec(tail)?.[1];
        if (named && !named.startsWith('data:')) {
          const raw = JSON.parse(fs.readFileSync(path.resolve(path.dirname(file), named), 'utf8')) as {
            sources: string[];
            mappings: string;
          };
          map = { sources: raw.sources, lines: decodeMappings(raw.mappings) };
        }
      } catch {
        // No map: the file itself is the source.
      }
      this.maps.set(file, map);
    }
    const map = this.maps.get(file);
    if (!map) return short(file);
    const segs = map.lines[line] ?? [];
    let found = -1;
    for (const [col, src] of segs) {
      if (col > column) break;
      found = src;
    }
    return found >= 0 ? short(map.sources[found]) : short(file);
  }
}

/** A source path shortened to an npm package (`node_modules/ssh2`) or the project's own file. */
function short(p: string): string {
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (p.startsWith('node:')) return p;
  return p.replace(/^(\.\.\/)+/, '').replace(/^.*\/(src|bench|test)\//, '$1/');
}

export function summariseProfile(profile: CpuProfile, top = 25, inclusive = false): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((s, v) => s + v, 0);
  const mapper = new SourceMapper();
  const keyOf = (n: ProfileNode) => {
    const f = n.callFrame;
    const src = mapper.source(f.url, f.lineNumber, f.columnNumber);
    return { fn: `${f.functionName || '(anonymous)'}`, src, key: `${f.functionName}|${src}|${f.url}:${f.lineNumber}` };
  };
  const fnSelf = new Map<string, { fn: string; src: string; us: number }>();
  const srcSelf = new Map<string, number>();
  for (const [id, us] of self) {
    const k = keyOf(byId.get(id)!);
    const e = fnSelf.get(k.key) ?? { fn: k.fn, src: k.src, us: 0 };
    e.us += us;
    fnSelf.set(k.key, e);
    srcSelf.set(k.src, (srcSelf.get(k.src) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const ms = (us: number) => `${(us / 1000).toFixed(1).padStart(7)} ms`;
  const out: string[] = [
    `total sampled: ${(total / 1000).toFixed(1)} ms (${profile.samples.length} samples)`,
    '',
    'top self time by function:',
  ];
  for (const e of [...fnSelf.values()].sort((a, b) => b.us - a.us).slice(0, top)) out.push(`${ms(e.us)} ${pct(e.us)}  ${e.fn}  (${e.src})`);
  out.push('', 'self time by source:');
  for (const [src, us] of [...srcSelf.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`${ms(us)} ${pct(us)}  ${src}`);
  if (inclusive) {
    // Inclusive time per function: each sample counts once for every distinct function on its stack.
    const incl = new Map<string, { fn: string; src: string; us: number }>();
    profile.samples.forEach((id, i) => {
      const seen = new Set<string>();
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
        const k = keyOf(byId.get(n)!);
        if (seen.has(k.key)) continue;
        seen.add(k.key);
        const e = incl.get(k.key) ?? { fn: k.fn, src: k.src, us: 0 };
        e.us += profile.timeDeltas[i] ?? 0;
        incl.set(k.key, e);
      }
    });
    out.push('', 'top inclusive time by function:');
    for (const e of [...incl.values()].sort((a, b) => b.us - a.us).slice(0, top)) out.push(`${ms(e.us)} ${pct(e.us)}  ${e.fn}  (${e.src})`);
  }
  return out.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node out/bench/tools/cpuprofile-top.js PROFILE.cpuprofile [--top N] [--inclusive]\n');
    process.exit(64);
  }
  const i = process.argv.indexOf('--top');
  const top = i >= 0 ? Number(process.argv[i + 1]) : 25;
  process.stdout.write(
    `${summariseProfile(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, top, process.argv.includes('--inclusive'))}\n`,
  );
}
