// 4. Incremental refresh: one container starts among the fleet; from its `start` event to a model of it.
// The engine has no event-driven refresher yet: the probe does what a caller can do today
// (engine.docker.events + engine.snapshot({ containers: [id] })) and counts what that re-reads.
import { IMAGES, ensureBusybox } from '../lib/fixtures';
import { fromProbe, log, runProbe } from '../lib/measure';
import { formatMs, median } from '../lib/stats';
import type { BenchContext } from './context';

interface RefreshRun {
  calls: Record<string, number>;
  files: { self: number; others: number; host: number };
  hostFiles: string[];
}

export async function benchRefresh(ctx: BenchContext): Promise<void> {
  const S = `4. Incremental refresh (1 starts among ${ctx.containers})`;
  const { rec } = ctx;
  await ensureBusybox();
  await ctx.fleet();
  log(`${S}: ${ctx.runs}+1 container starts`);
  const r = rec.keep(
    'refresh.event',
    fromProbe(
      'start event → engine.snapshot({containers:[id]}) done',
      await runProbe(['refresh', '--runs', String(ctx.runs), '--image', IMAGES.busybox]),
    ),
  );
  const ex = r.extra as { running: number; daemonToModelMs: number[]; dockerStartToEventMs: number[]; perRun: RefreshRun[] };
  const full = rec.measurements['snapshot.inproc'];
  rec.compare(
    S,
    'latency: `start` event received → refreshed container model',
    r.wallMs.median,
    full ? { label: `full warm snapshot of all ${ctx.containers} (in-process)`, value: full.wallMs.median } : null,
    null,
  );
  if (ex.daemonToModelMs.length > 0)
    rec.compare(S, "latency: daemon's event timestamp → refreshed model", median(ex.daemonToModelMs), null, null);
  const calls = ex.perRun.map(
    (p) =>
      Object.entries(p.calls)
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ') || 'none',
  );
  rec.row({
    scenario: S,
    measure: 'daemon calls per refresh',
    median: calls[Math.floor(calls.length / 2)],
    anchor: '—',
    anchorMedian: '—',
    ratio: '—',
    target: 'no inspect',
    met: ex.perRun.every((p) => !p.calls.inspect) ? 'PASS' : 'MISS',
  });
  const self = median(ex.perRun.map((p) => p.files.self));
  const others = Math.max(...ex.perRun.map((p) => p.files.others));
  const host = median(ex.perRun.map((p) => p.files.host));
  rec.row({
    scenario: S,
    measure: 'files re-read per refresh',
    median: `${self} of the new container, ${others} of the ${ex.running} others, ${host} host`,
    anchor: '—',
    anchorMedian: '—',
    ratio: '—',
    target: 'only that container',
    met: others === 0 ? 'PASS' : 'MISS',
  });
  rec.note(S, `Host files re-read on each refresh: ${ex.perRun[0]?.hostFiles.join(', ') || 'none'}.`);
  rec.note(
    S,
    `\`docker start\` spawned → its \`start\` event received: median ${formatMs(median(ex.dockerStartToEventMs))} (not part of the latency).`,
  );
  log(`${S}: event → model ${formatMs(r.wallMs.median)}`);
}
