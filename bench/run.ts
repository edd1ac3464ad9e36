// `npm run bench`: runs every scenario beside its anchors, prints and writes the results
// (bench/results/latest.json and bench/results.md, whose table a full run then copies into README.md).
// Benchmarks are not tests: nothing here fails on a missed target; the table says PASS or MISS.
//
//   node out/bench/run.js [--runs N] [--only snapshot,refresh,layers,diff,webview,activation,helper,vm] [--quick]
//                         [--containers N] [--keep]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireDocker } from '../test/support/docker';
import { stopVms } from '../test/support/targets';
import { Fleet, ensureBusybox, removeLeftovers, startFleet } from './lib/fixtures';
import { machineInfo } from './lib/machine';
import { CLI, PROBE, REPO, log } from './lib/measure';
import { Recorder, Results, machineLine, renderMarkdown } from './lib/report';
import type { BenchContext } from './scenarios/context';
import { benchDiff } from './scenarios/diff';
import { benchLayers } from './scenarios/layers';
import { benchRefresh } from './scenarios/refresh';
import { benchSnapshot } from './scenarios/snapshot';
import { benchActivation } from './scenarios/activation';
import { benchWebviewAtScale } from './scenarios/webview';
import { benchVm } from './scenarios/vm';
import { benchHelper } from './scenarios/helper';

const SCENARIOS = ['snapshot', 'refresh', 'layers', 'diff', 'webview', 'activation', 'helper', 'vm'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const USAGE = `npm run bench -- [--runs N] [--only ${SCENARIOS.join(',')}] [--quick] [--containers N] [--keep]
  --runs N        measured runs per measure, after one discarded warm-up (default 7; 3 with --quick)
  --only LIST     run only these scenarios
  --quick         fewer runs and 20 containers, for development (not for publishing)
  --containers N  containers for the at-scale scenarios (default 50; 20 with --quick)
  --keep          keep the ~1 GB image of the layer scenario (else removed at the end)`;

export interface RunOptions {
  runs: number;
  only: ScenarioName[];
  quick: boolean;
  containers: number;
  keep: boolean;
}

export function parseBenchArgs(argv: string[]): RunOptions {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  for (const a of argv) {
    const name = a.replace(/^--/, '').replace(/=.*$/, '');
    if (a.startsWith('--') && !['runs', 'only', 'quick', 'containers', 'keep', 'help'].includes(name))
      throw new Error(`unknown option ${a}`);
  }
  const positive = (name: string, fallback: number) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a positive whole number, got ${v}`);
    return n;
  };
  const onlyText = value('only');
  const only = onlyText
    ? onlyText
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...SCENARIOS];
  for (const s of only)
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}" (known: ${SCENARIOS.join(', ')})`);
  return {
    runs: positive('runs', quick ? 3 : 7),
    only: only as ScenarioName[],
    quick,
    containers: positive('containers', quick ? 20 : 50),
    keep: argv.includes('--keep'),
  };
}

const RUNNERS: Record<ScenarioName, (ctx: BenchContext) => Promise<void>> = {
  snapshot: benchSnapshot,
  refresh: benchRefresh,
  layers: benchLayers,
  diff: benchDiff,
  webview: benchWebviewAtScale,
  activation: benchActivation,
  helper: benchHelper,
  vm: benchVm,
};

/** The table as Prettier would lay it out (so `npm run lint` passes on the written file); as is without Prettier. */
async function prettierMarkdown(md: string, file: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(md, { ...config, filepath: file, parser: 'markdown' });
  } catch {
    return md;
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const opts = parseBenchArgs(argv);
  for (const f of [CLI, PROBE])
    if (!fs.existsSync(f))
      throw new Error(`${path.relative(REPO, f)} is missing: run \`npm run compile && npm run build\` first (npm run bench does)`);
  if (process.getuid?.() !== 0)
    log('not running as root: /proc/PID/ns and /var/lib/docker may be unreadable, and the results will not be comparable');
  requireDocker();
  const machine = await machineInfo();
  log(`machine: ${machineLine(machine)}`);
  log(`options: ${JSON.stringify(opts)}`);
  const rec = new Recorder();
  const removed = await removeLeftovers();
  if (removed > 0) log(`removed ${removed} containers left by an earlier run`);

  let fleet: Promise<Fleet> | null = null;
  const ctx: BenchContext = {
    runs: opts.runs,
    quick: opts.quick,
    containers: opts.containers,
    keep: opts.keep,
    rec,
    fleet: () => {
      if (!fleet) {
        log(`starting ${opts.containers} labelled containers`);
        fleet = ensureBusybox().then((img) => startFleet(opts.containers, img));
      }
      return fleet;
    },
  };
  const started = Date.now();
  try {
    for (const name of SCENARIOS) {
      if (!opts.only.includes(name)) continue;
      // The fleet serves snapshot and refresh; the layer scenarios run without it.
      if ((name === 'layers' || name === 'diff') && fleet) {
        await removeLeftovers();
        fleet = null;
      }
      try {
        await RUNNERS[name](ctx);
      } catch (err) {
        log(`${name} failed: ${err instanceof Error ? err.stack : String(err)}`);
        rec.error(name, err);
      }
    }
  } finally {
    await removeLeftovers();
    // A VM the vm scenario booted is stopped again; one that was running stays.
    stopVms();
  }
  if (machine.loadAverage) machine.loadAverage.end = os.loadavg()[0];
  const results: Results = {
    machine,
    options: { ...opts, durationSeconds: Math.round((Date.now() - started) / 1000) },
    rows: rec.rows,
    measurements: rec.measurements,
    notes: rec.notes,
  };
  // Only a full run (every scenario, not --quick) replaces the published table; others go beside it.
  const full = !opts.quick && SCENARIOS.every((s) => opts.only.includes(s));
  const outDir = path.join(REPO, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const jsonFile = path.join(outDir, full ? 'latest.json' : 'partial.json');
  const mdFile = full ? path.join(REPO, 'bench', 'results.md') : path.join(outDir, 'partial.md');
  fs.writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  const md = await prettierMarkdown(renderMarkdown(results), mdFile);
  fs.writeFileSync(mdFile, md);
  process.stdout.write(`${md}\n`);
  // The README shows the published table: copy it there (npm run lint fails while the two differ).
  if (full) execFileSync(process.execPath, [path.join(REPO, 'scripts', 'readme-bench.mjs')], { cwd: REPO, stdio: 'inherit' });
  log(
    `wrote ${path.relative(REPO, jsonFile)} and ${path.relative(REPO, mdFile)} in ${results.options.durationSeconds} s${full ? '' : ' (a partial or quick run leaves bench/results.md alone)'}`,
  );
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
      process.exitCode = 1;
    },
  );
}
