// 1. Snapshot at scale: the CLI process and the warm in-process snapshot against lsns, docker stats,
// systeminformation and a bare floor (bench/floor/snapshot-floor.js).
import * as path from 'node:path';
import type { Snapshot } from '../../src/shared/model';
import { CLI, REPO, fromProbe, log, measureInterleaved, runProbe } from '../lib/measure';
import { formatMs } from '../lib/stats';
import type { BenchContext } from './context';

const FLOOR = path.join(REPO, 'bench', 'floor', 'snapshot-floor.js');

function callsText(calls: Record<string, number> | undefined): string {
  const entries = Object.entries(calls ?? {});
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ×${v}`).join(', ');
}

export async function benchSnapshot(ctx: BenchContext): Promise<void> {
  const S = `1. Snapshot at scale (${ctx.containers} containers)`;
  const { rec } = ctx;
  const fleet = await ctx.fleet();
  rec.note(S, fleet.description + '.');

  log(`${S}: processes (CLI, floor, lsns, docker stats), ${ctx.runs}+1 rounds`);
  const node = process.execPath;
  const procs = await measureInterleaved(
    [
      { key: 'cli', what: '`node dist/cli.js snapshot --json`', argv: [node, CLI, 'snapshot', '--json'], opts: { captureStdout: true } },
      {
        key: 'floorSync',
        what: 'bare floor, sync reads (`bench/floor/snapshot-floor.js`)',
        argv: [node, FLOOR],
        opts: { captureStdout: true },
      },
      {
        key: 'floorAsync',
        what: 'bare floor, parallel async reads (`FLOOR_IO=async`)',
        argv: [node, FLOOR],
        opts: { captureStdout: true, env: { ...process.env, FLOOR_IO: 'async' } },
      },
      // lsns exits 1 when a process vanishes mid-scan (other containers come and go): still a timed run.
      { key: 'lsns', what: '`lsns -J`', argv: ['lsns', '-J'], opts: { allowFailure: true } },
      { key: 'stats', what: '`docker stats --no-stream`', argv: ['docker', 'stats', '--no-stream'] },
    ],
    ctx.runs,
  );
  const m = (k: string) => rec.keep(`snapshot.${k}`, procs.get(k)!.m);
  const cli = m('cli');
  const floorSync = m('floorSync');
  const floorAsync = m('floorAsync');
  const lsns = m('lsns');
  const stats = m('stats');

  if (lsns.extra?.nonZeroExits)
    rec.note(
      S,
      `\`lsns -J\` exited non-zero in ${String(lsns.extra.nonZeroExits)} of ${ctx.runs + 1} runs (a process vanished mid-scan); those runs are timed all the same.`,
    );
  // What the CLI saw, from its last output.
  const cliSnap = JSON.parse(procs.get('cli')!.last.stdout) as Snapshot;
  const seen = cliSnap.containers.filter((c) => fleet.ids.includes(c.id));
  const errors = seen.flatMap((c) => c.errors.map((e) => `${c.name} ${e.field}: ${e.reason}`));
  rec.note(
    S,
    `The CLI saw ${seen.length}/${fleet.ids.length} bench containers (${cliSnap.containers.length} running in all), ` +
      `${seen.reduce((s, c) => s + c.processes.length, 0)} processes, ${errors.length} field errors${errors.length ? ` (first: ${errors[0]})` : ''}.`,
  );
  const floorOut = JSON.parse(procs.get('floorSync')!.last.stdout) as { containers: number; filesRead: number };
  rec.note(
    S,
    `The bare floor listed ${floorOut.containers} containers and read ${floorOut.filesRead} files (namespace links, /proc/PID/cgroup, cgroup limit/usage files, cgroup.procs, /proc/PID/status).`,
  );

  log(`${S}: in-process warm engine snapshot`);
  const inproc = rec.keep(
    'snapshot.inproc',
    fromProbe('engine.snapshot() in-process, warm engine', await runProbe(['snapshot', '--runs', String(ctx.runs)])),
  );
  log(`${S}: systeminformation dockerContainerStats('*')`);
  const si = rec.keep(
    'snapshot.si',
    fromProbe("systeminformation `dockerContainerStats('*')` in-process, warm", await runProbe(['si-stats', '--runs', String(ctx.runs)])),
  );
  const ex = inproc.extra as {
    containers: number;
    benchContainers: number;
    warmDaemonCalls: Record<string, number>[];
    coldDaemonCalls: Record<string, number>;
    filesPerWarmSnapshot: number;
    containerErrors: number;
  };
  rec.note(
    S,
    `The in-process snapshot saw ${ex.benchContainers} bench containers with ${ex.containerErrors} field errors and read ${ex.filesPerWarmSnapshot} host files per warm snapshot.`,
  );

  const floor =
    floorSync.wallMs.median <= floorAsync.wallMs.median
      ? { m: floorSync, label: 'bare floor (node + 1 list call + raw reads, sync)' }
      : { m: floorAsync, label: 'bare floor (node + 1 list call + raw reads, async)' };
  rec.compare(
    S,
    '`snapshot --json`, whole process',
    cli.wallMs.median,
    { label: floor.label, value: floor.m.wallMs.median },
    { kind: 'within', factor: 1.5 },
  );
  rec.compare(
    S,
    '`snapshot --json`, whole process',
    cli.wallMs.median,
    { label: '`docker stats --no-stream`', value: stats.wallMs.median },
    { kind: 'faster', factor: 15 },
  );
  rec.compare(
    S,
    '`snapshot --json`, whole process',
    cli.wallMs.median,
    { label: '`lsns -J` (namespaces only)', value: lsns.wallMs.median },
    null,
  );
  rec.compare(
    S,
    'in-process snapshot, warm engine following events: CPU (user+sys)',
    inproc.cpuMs!.median,
    { label: "systeminformation `dockerContainerStats('*')`, CPU", value: si.cpuMs!.median },
    { kind: 'below', limit: 30, unit: 'ms CPU' },
  );
  rec.compare(
    S,
    'in-process snapshot, warm engine following events: wall',
    inproc.wallMs.median,
    { label: "systeminformation `dockerContainerStats('*')`, wall", value: si.wallMs.median },
    null,
  );

  // Daemon calls: the aim is one list call and no per-container inspect once the engine is warm.
  const warm = ex.warmDaemonCalls;
  const aimMet = warm.every((c) => c.list === 1 && Object.keys(c).every((k) => k === 'list'));
  rec.row({
    scenario: S,
    measure: 'daemon calls per snapshot, warm engine',
    median: callsText(warm[Math.floor(warm.length / 2)]),
    anchor: '—',
    anchorMedian: '—',
    ratio: '—',
    target: '1 list call, no inspect',
    met: aimMet ? 'PASS' : 'MISS',
  });
  rec.row({
    scenario: S,
    measure: 'daemon calls per `snapshot --json` process (cold)',
    median: callsText(cliSnap.daemonCalls),
    anchor: '—',
    anchorMedian: '—',
    ratio: '—',
    target: '—',
    met: '—',
  });
  rec.note(
    S,
    `Peak RSS: CLI ${cli.peakRssMB ? cli.peakRssMB.max.toFixed(0) : '?'} MB, bare floor ${floor.m.peakRssMB ? floor.m.peakRssMB.max.toFixed(0) : '?'} MB, docker stats ${stats.peakRssMB ? stats.peakRssMB.max.toFixed(0) : '?'} MB.`,
  );
  log(
    `${S}: CLI ${formatMs(cli.wallMs.median)}, floor ${formatMs(floor.m.wallMs.median)}, docker stats ${formatMs(stats.wallMs.median)}, in-process CPU ${formatMs(inproc.cpuMs!.median)}`,
  );
}
