// How the bench measures: whole processes (wall time by hrtime around spawn→exit, CPU and peak RSS from
// GNU time's rusage) and in-process work (in a child probe process that reports its own samples).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Summary, dropWarmup, summarize } from './stats';

/** The repository root (out/bench/lib/measure.js → ../../..). */
export const REPO = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(REPO, 'dist', 'cli.js');
export const PROBE = path.join(REPO, 'out', 'bench', 'probe.js');
const GNU_TIME = '/usr/bin/time';

/** One measured quantity with its samples, as latest.json keeps it. */
export interface Measurement {
  /** What was run, for the reader (a command line or an in-process call). */
  what: string;
  kind: 'process' | 'in-process';
  wallMs: Summary;
  /** user+system CPU, when known. */
  cpuMs?: Summary;
  /** Peak resident set size (maxRSS) over the runs. */
  peakRssMB?: Summary;
  samples: { wallMs: number[]; cpuMs?: number[]; peakRssMB?: number[] };
  extra?: Record<string, unknown>;
}

export interface ProcessSample {
  wallMs: number;
  cpuMs: number | null;
  peakRssMB: number | null;
  stdout: string;
  stderr: string;
  code: number | null;
  /** Killed at `timeoutMs`. */
  timedOut?: boolean;
}

export interface ProcessOptions {
  /** Keep stdout (else it goes to /dev/null, like `> /dev/null`). */
  captureStdout?: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** A non-zero exit is an error unless allowed. */
  allowFailure?: boolean;
}

const hasGnuTime = fs.existsSync(GNU_TIME);

/**
 * Runs a command once and times it. Wall time is measured here (spawn to exit); GNU time, when present,
 * adds user+system CPU and the peak RSS of the process tree it waited for (`sh -c` pipelines included).
 */
export function timeProcess(argv: string[], opts: ProcessOptions = {}): Promise<ProcessSample> {
  const rusageFile = path.join(os.tmpdir(), `xray-bench-rusage-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const cmd = hasGnuTime ? [GNU_TIME, '-q', '-f', '%U %S %M', '-o', rusageFile, ...argv] : argv;
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const started = process.hrtime.bigint();
    // With a timeout the command runs in its own process group, so that GNU time and what it runs go together.
    const child = spawn(cmd[0], cmd.slice(1), {
      stdio: ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'],
      env: opts.env ?? process.env,
      detached: Boolean(opts.timeoutMs),
    });
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, opts.timeoutMs)
      : null;
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (timer) clearTimeout(timer);
      let cpuMs: number | null = null;
      let peakRssMB: number | null = null;
      try {
        const [u, s, m] = fs.readFileSync(rusageFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        cpuMs = (u + s) * 1000;
        peakRssMB = m / 1024;
      } catch {
        // No GNU time: wall time only.
      }
      fs.rmSync(rusageFile, { force: true });
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        resolve({ wallMs, cpuMs, peakRssMB, stdout: '', stderr, code, timedOut });
        return;
      }
      if (code !== 0 && !opts.allowFailure) {
        reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr.slice(0, 2000)}`));
        return;
      }
      resolve({ wallMs, cpuMs, peakRssMB, stdout: Buffer.concat(out).toString('utf8'), stderr, code });
    });
  });
}

/** Runs a shell pipeline (`sh -c`), timed as one process tree. */
export function timeShell(script: string, opts: ProcessOptions = {}): Promise<ProcessSample> {
  return timeProcess(['sh', '-c', script], opts);
}

export interface RepeatOptions extends ProcessOptions {
  runs: number;
  /** Called after every run with its sample (the first is the warm-up). */
  onSample?: (s: ProcessSample, index: number) => void;
}

/** Runs a command runs+1 times, drops the warm-up, summarises the rest. */
export async function measureProcess(what: string, argv: string[], opts: RepeatOptions): Promise<{ m: Measurement; last: ProcessSample }> {
  const all: ProcessSample[] = [];
  for (let i = 0; i < opts.runs + 1; i++) {
    const s = await timeProcess(argv, opts);
    opts.onSample?.(s, i);
    all.push(s);
  }
  const kept = dropWarmup(all);
  return { m: fromProcessSamples(what, kept), last: all[all.length - 1] };
}

export function fromProcessSamples(what: string, kept: ProcessSample[], kind: Measurement['kind'] = 'process'): Measurement {
  const wall = kept.map((s) => s.wallMs);
  const cpu = kept.every((s) => s.cpuMs !== null) ? kept.map((s) => s.cpuMs!) : undefined;
  const rss = kept.every((s) => s.peakRssMB !== null) ? kept.map((s) => s.peakRssMB!) : undefined;
  return {
    what,
    kind,
    wallMs: summarize(wall),
    cpuMs: cpu ? summarize(cpu) : undefined,
    peakRssMB: rss ? summarize(rss) : undefined,
    samples: { wallMs: wall, cpuMs: cpu, peakRssMB: rss },
  };
}

/** What a probe (out/bench/probe.js) prints as its last stdout line. */
export interface ProbeResult {
  wallMs: number[];
  cpuMs: number[];
  maxRssMB: number;
  extra?: Record<string, unknown>;
}

/** Runs the in-process probe in a fresh node process and returns what it measured. */
export async function runProbe(
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
): Promise<ProbeResult> {
  const s = await timeProcess([process.execPath, ...(opts.nodeArgs ?? []), PROBE, ...args], {
    captureStdout: true,
    timeoutMs: opts.timeoutMs ?? 20 * 60 * 1000,
    env: opts.env,
  });
  const line = s.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    throw new Error(`probe ${args.join(' ')} printed no result: ${s.stdout.slice(-500)} ${s.stderr.slice(-2000)}`);
  }
}

/** A probe's samples as a measurement (the probe already dropped its warm-up). */
export function fromProbe(what: string, r: ProbeResult): Measurement {
  return {
    what,
    kind: 'in-process',
    wallMs: summarize(r.wallMs),
    cpuMs: r.cpuMs.length > 0 ? summarize(r.cpuMs) : undefined,
    peakRssMB: summarize([r.maxRssMB]),
    samples: { wallMs: r.wallMs, cpuMs: r.cpuMs, peakRssMB: [r.maxRssMB] },
    extra: r.extra,
  };
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export interface ProcessSpec {
  key: string;
  what: string;
  argv: string[];
  opts?: ProcessOptions;
  /** Run, untimed, before each run of this command (to wait for what the previous command left settling). */
  before?: () => Promise<void>;
  /** With `opts.timeoutMs`: how many runs that hang past it are killed and run again (counted as `hungRuns`). */
  hangRetries?: number;
}

/**
 * Runs several commands side by side: each round runs every command once (in the given order), for
 * runs+1 rounds; the first round is the warm-up and is dropped. Interleaving keeps a drift of the machine
 * (another job, the page cache) from favouring one command over another.
 */
export async function measureInterleaved(
  specs: ProcessSpec[],
  runs: number,
): Promise<Map<string, { m: Measurement; last: ProcessSample }>> {
  const samples = new Map<string, ProcessSample[]>(specs.map((s) => [s.key, []]));
  const hung = new Map<string, number>();
  for (let round = 0; round < runs + 1; round++) {
    for (const s of specs) {
      for (let attempt = 0; ; attempt++) {
        await s.before?.();
        const sample = await timeProcess(s.argv, s.opts);
        if (sample.timedOut && attempt < (s.hangRetries ?? 0)) {
          hung.set(s.key, (hung.get(s.key) ?? 0) + 1);
          continue;
        }
        if (sample.timedOut) throw new Error(`${s.argv.join(' ')} hung past ${s.opts?.timeoutMs} ms, ${attempt + 1} times`);
        samples.get(s.key)!.push(sample);
        break;
      }
    }
  }
  const out = new Map<string, { m: Measurement; last: ProcessSample }>();
  for (const s of specs) {
    const all = samples.get(s.key)!;
    const m = fromProcessSamples(s.what, dropWarmup(all));
    const failed = all.filter((x) => x.code !== 0).length;
    if (failed > 0) m.extra = { ...m.extra, nonZeroExits: failed };
    if (hung.has(s.key)) m.extra = { ...m.extra, hungRuns: hung.get(s.key)! };
    out.set(s.key, { m, last: all[all.length - 1] });
  }
  return out;
}
