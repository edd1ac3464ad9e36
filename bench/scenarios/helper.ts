// 8. The helper path, as a user in the docker group takes it (and everyone on Docker Desktop or a remote
// daemon): that user cannot read the daemon's /proc, cgroupfs or /var/lib/docker, so the engine reads
// them through a helper container. The CLI runs as a real docker-group user, beside root's direct CLI and
// `docker stats --no-stream`, interleaved; the in-process engine reads through a helper it keeps; and a
// dashboard samples one container a second through the helper while dockerd's CPU is read from its
// /proc stat, beside the same time with nothing sampling.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HELPER_LABEL } from '../../src/core/access/helper';
import type { Snapshot } from '../../src/shared/model';
import { docker } from '../../test/support/docker';
import { asDockerUser, ensureDockerUser, removeDockerUser } from '../../test/support/dockerUser';
import { ensureBusybox, helperGone } from '../lib/fixtures';
import { processCpuMs } from '../lib/machine';
import { CLI, Measurement, fromProbe, log, measureInterleaved, runProbe } from '../lib/measure';
import { formatMs, summarize } from '../lib/stats';
import type { BenchContext } from './context';

/** dockerd's PID on this machine (the daemon whose CPU the dashboard costs). */
function dockerdPid(): number {
  const pid = Number(execFileSync('pidof', ['-s', 'dockerd'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('no dockerd process found (pidof dockerd)');
  return pid;
}

/** Containers started on the local daemon between two times (unix seconds), as `docker events` reports them. */
async function startsBetween(since: number, until: number): Promise<{ all: number; helpers: number }> {
  const out = await docker([
    'events',
    '--since',
    String(since),
    '--until',
    String(until),
    '--filter',
    'type=container',
    '--filter',
    'event=start',
    '--format',
    `{{.ID}} {{index .Actor.Attributes "${HELPER_LABEL}"}}`,
  ]);
  const lines = out.split('\n').filter(Boolean);
  return { all: lines.length, helpers: lines.filter((l) => l.endsWith(' 1')).length };
}

export async function benchHelper(ctx: BenchContext): Promise<void> {
  const S = `8. Through the helper (a docker-group user, ${ctx.containers} containers)`;
  const { rec } = ctx;
  const fleet = await ctx.fleet();
  const helperImage = await ensureBusybox();
  const created = ensureDockerUser();
  // The user may not traverse the checkout: the CLI goes where it can read it, as the package ships it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-bench-cli-'));
  try {
    fs.cpSync(path.dirname(CLI), path.join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.vsix') });
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    const userCli = asDockerUser([process.execPath, path.join(dir, 'dist', 'cli.js'), '--helper-image', helperImage, 'snapshot', '--json']);

    log(`${S}: processes (CLI as the docker-group user, CLI as root, docker stats), ${ctx.runs}+1 rounds`);
    const procs = await measureInterleaved(
      [
        {
          key: 'user',
          what: '`snapshot --json` as a docker-group user (through a helper this run starts)',
          argv: [userCli.file, ...userCli.argv],
          opts: { captureStdout: true, env: userCli.env },
          before: () => helperGone(docker, 'the local daemon'),
        },
        { key: 'root', what: '`snapshot --json` as root (direct reads)', argv: [process.execPath, CLI, 'snapshot', '--json'] },
        {
          key: 'stats',
          what: '`docker stats --no-stream`',
          argv: ['docker', 'stats', '--no-stream'],
          opts: { timeoutMs: 60000 },
          hangRetries: 2,
        },
      ],
      ctx.runs,
    );
    const user = rec.keep('helper.cli', procs.get('user')!.m);
    const root = rec.keep('helper.rootCli', procs.get('root')!.m);
    const stats = rec.keep('helper.stats', procs.get('stats')!.m);
    const seen = JSON.parse(procs.get('user')!.last.stdout) as Snapshot;
    const ours = seen.containers.filter((c) => fleet.ids.includes(c.id));
    rec.note(
      S,
      `The docker-group user's CLI read through "${seen.host.access.mode}" (${seen.host.access.reason}); it saw ${ours.length}/${fleet.ids.length} bench containers with ${ours.reduce((n, c) => n + c.errors.length, 0)} field errors.`,
    );
    rec.compare(
      S,
      '`snapshot --json` as a docker-group user, whole process (starts a helper)',
      user.wallMs.median,
      { label: '`docker stats --no-stream`', value: stats.wallMs.median },
      null,
    );
    rec.compare(
      S,
      '`snapshot --json` as a docker-group user, whole process (starts a helper)',
      user.wallMs.median,
      { label: '`snapshot --json` as root (direct)', value: root.wallMs.median },
      null,
    );

    log(`${S}: in-process warm snapshot through a kept helper, and the direct one`);
    const probeSince = Math.floor(Date.now() / 1000);
    const viaHelper = rec.keep(
      'helper.inproc',
      fromProbe(
        'engine.snapshot() in-process through a kept helper, warm engine',
        await runProbe(['snapshot-helper', '--runs', String(ctx.runs), '--helper-image', helperImage]),
      ),
    );
    const probeStarts = await startsBetween(probeSince, Math.ceil(Date.now() / 1000) + 1);
    const direct: Measurement =
      rec.measurements['snapshot.inproc'] ??
      rec.keep(
        'helper.inprocDirect',
        fromProbe('engine.snapshot() in-process, warm engine', await runProbe(['snapshot', '--runs', String(ctx.runs)])),
      );
    const vx = viaHelper.extra as { access: string; benchContainers: number; containerErrors: number };
    rec.note(
      S,
      `The in-process engine read through "${vx.access}" and saw ${vx.benchContainers} bench containers with ${vx.containerErrors} field errors; docker events saw ${probeStarts.helpers} helper container start(s) for its ${ctx.runs + 1} snapshots.`,
    );
    rec.compare(
      S,
      'in-process snapshot through a kept helper, warm engine: wall',
      viaHelper.wallMs.median,
      { label: 'in-process snapshot, direct reads, warm engine', value: direct.wallMs.median },
      { kind: 'within', factor: 2 },
    );

    // A dashboard sampling once a second through the helper, and the same time with nothing sampling.
    const seconds = ctx.quick ? 20 : 60;
    const pid = dockerdPid();
    log(`${S}: dockerd's CPU over ${seconds} s: idle, then a dashboard sampling at 1 Hz through the helper`);
    const idle0 = processCpuMs(pid);
    const idleT0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const idlePercent = ((processCpuMs(pid) - idle0) / (Date.now() - idleT0)) * 100;
    const since = Math.floor(Date.now() / 1000);
    const dash = await runProbe([
      'dashboard',
      '--seconds',
      String(seconds),
      '--daemon-pid',
      String(pid),
      '--access',
      'helper',
      '--helper-image',
      helperImage,
    ]);
    const until = Math.ceil(Date.now() / 1000) + 1;
    const starts = await startsBetween(since, until);
    const dx = dash.extra as { daemonCpuPercent: number; helperDaemonCallsInWindow: number; samplesWithErrors: number; elapsedMs: number };
    rec.keep('helper.dashboard', fromProbe(`engine.reread() once a second for ${seconds} s through the helper`, dash));
    const pct = (v: number) => `${v.toFixed(2)} % of a core`;
    rec.compare(
      S,
      `dockerd CPU while a dashboard samples at 1 Hz through the helper (${seconds} s, one run)`,
      dx.daemonCpuPercent,
      { label: `dockerd CPU, nothing sampling (${seconds} s)`, value: idlePercent },
      { kind: 'below', limit: 2, unit: '% of a core' },
      pct,
    );
    rec.row({
      scenario: S,
      measure: `containers started while the dashboard sampled (${seconds} s; the first helper included)`,
      median: String(starts.all),
      anchor: '—',
      anchorMedian: '—',
      ratio: '—',
      target: 'at most 1',
      met: starts.all <= 1 ? 'PASS' : 'MISS',
    });
    rec.compare(S, 'one dashboard sample through the helper (engine.reread), wall', summarize(dash.wallMs).median, null, null);
    rec.note(
      S,
      `While sampling: ${starts.all} container start(s) by docker events (${starts.helpers} of them helpers), ${dx.helperDaemonCallsInWindow} daemon call(s) about helpers by the engine after its first snapshot (no exec: the helper answers over its attach stream), ${dx.samplesWithErrors} sample(s) with a field error.`,
    );
    log(
      `${S}: user CLI ${formatMs(user.wallMs.median)}, root CLI ${formatMs(root.wallMs.median)}, docker stats ${formatMs(stats.wallMs.median)}, in-process via helper ${formatMs(viaHelper.wallMs.median)}, dockerd ${pct(dx.daemonCpuPercent)} (idle ${pct(idlePercent)})`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await helperGone(docker, 'the local daemon').catch(() => undefined);
    if (created) removeDockerUser();
  }
}
