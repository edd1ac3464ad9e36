// 2. Layer analysis of realistic images: the direct path (tar-split) against `find` over the same layer
// directories and the `docker save | tar -t` stream dive reads; the engine's own docker-save path on a 1 GB image.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IMAGES, ensureBigImage, ensureManyFilesImage, ensurePkgsImage, imageFacts, layerDiffDirs, removeImage } from '../lib/fixtures';
import {
  CLI,
  Measurement,
  ProcessSample,
  fromProbe,
  fromProcessSamples,
  log,
  measureInterleaved,
  runProbe,
  timeShell,
} from '../lib/measure';
import { dropWarmup, formatMB, formatMs, summarize } from '../lib/stats';
import type { BenchContext } from './context';

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs the tar-path probe as its own process runs+1 times (warm-up dropped): its maxRSS is that path's peak memory. */
async function measureTarPath(ref: string, runs: number, what: string): Promise<Measurement> {
  const wall: number[] = [];
  const cpu: number[] = [];
  const rss: number[] = [];
  let extra: Record<string, unknown> | undefined;
  for (let i = 0; i < runs + 1; i++) {
    const r = await runProbe(['layers-save', ref]);
    if (i === 0) continue;
    wall.push(r.wallMs[0]);
    cpu.push(r.cpuMs[0]);
    rss.push(r.maxRssMB);
    extra = r.extra;
  }
  return {
    what,
    kind: 'in-process',
    wallMs: summarize(wall),
    cpuMs: summarize(cpu),
    peakRssMB: summarize(rss),
    samples: { wallMs: wall, cpuMs: cpu, peakRssMB: rss },
    extra,
  };
}

async function benchImage(ctx: BenchContext, S: string, ref: string, key: string): Promise<void> {
  const { rec } = ctx;
  const dirs = await layerDiffDirs(ref);
  const facts = await imageFacts(ref);
  rec.note(S, `\`${ref}\`: ${facts.layers} layers, ${facts.entries} entries on disk, ${(facts.sizeBytes / 1e6).toFixed(0)} MB.`);
  log(`${S} ${ref}: processes (CLI, find, node -e 0, docker save | tar -t), ${ctx.runs}+1 rounds`);
  const node = process.execPath;
  // The CLI keeps parsed layer listings on disk (by chain ID); a run with an empty cache shows the first time.
  const coldCache = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-bench-cold-'));
  const procs = await measureInterleaved(
    [
      { key: 'cli', what: `\`node dist/cli.js layers ${ref} --json\``, argv: [node, CLI, 'layers', ref, '--json'] },
      {
        key: 'cold',
        what: `\`node dist/cli.js layers ${ref} --json\`, empty cache each run`,
        argv: [
          'sh',
          '-c',
          `rm -rf ${shq(coldCache)} && XDG_CACHE_HOME=${shq(coldCache)} exec ${shq(node)} ${shq(CLI)} layers ${shq(ref)} --json`,
        ],
      },
      { key: 'find', what: `\`find\` over the ${dirs.length} layer dirs of ${ref}`, argv: ['find', ...dirs, '-printf', '%s %p\\n'] },
      { key: 'node', what: '`node -e 0` (node start-up)', argv: [node, '-e', '0'] },
      { key: 'save', what: `\`docker save ${ref} | tar -t\``, argv: ['sh', '-c', `docker save ${shq(ref)} | tar -t > /dev/null`] },
    ],
    ctx.runs,
  );
  const m = (k: string) => rec.keep(`layers.${key}.${k}`, procs.get(k)!.m);
  const cli = m('cli');
  const cold = m('cold');
  fs.rmSync(coldCache, { recursive: true, force: true });
  const find = m('find');
  const nodeStart = m('node');
  const save = m('save');
  log(`${S} ${ref}: in-process`);
  const inproc = rec.keep(
    `layers.${key}.inproc`,
    fromProbe(`engine.layers('${ref}') in-process, new Engine per call`, await runProbe(['layers', ref, '--runs', String(ctx.runs)])),
  );
  const warm = rec.keep(
    `layers.${key}.warm`,
    fromProbe(
      `engine.layers('${ref}') in-process, warm engine (layer cache hit)`,
      await runProbe(['layers', ref, '--runs', String(ctx.runs), '--warm']),
    ),
  );
  log(`${S} ${ref}: docker save path`);
  const tarPath = rec.keep(
    `layers.${key}.tarpath`,
    await measureTarPath(ref, ctx.runs, `engine.layers('${ref}') through docker save (/var/lib/docker denied), one process each`),
  );
  const ex = inproc.extra as { layerChanges: number; sources: string[] };
  rec.note(
    S,
    `\`${ref}\`: the engine listed ${ex.layerChanges} layer changes from ${ex.sources.join(', ')}; through docker save ${String((tarPath.extra as { changes?: number } | undefined)?.changes)}.`,
  );

  const img = `\`${ref.replace(/^xray-bench-/, '')}\``;
  for (const [label, mm] of [
    ['listings cached on disk by an earlier run', cli],
    ['first run (empty cache)', cold],
  ] as const) {
    rec.compare(
      S,
      `${img}: \`layers --json\`, whole process, ${label}`,
      mm.wallMs.median,
      { label: '`find` + `node -e 0`', value: find.wallMs.median + nodeStart.wallMs.median },
      { kind: 'within', factor: 2 },
    );
    rec.compare(
      S,
      `${img}: \`layers --json\`, whole process, ${label}`,
      mm.wallMs.median,
      { label: '`docker save | tar -t`', value: save.wallMs.median },
      { kind: 'faster', factor: 10 },
    );
  }
  rec.compare(
    S,
    `${img}: engine.layers in-process (new Engine, no disk cache)`,
    inproc.wallMs.median,
    { label: '`find`', value: find.wallMs.median },
    { kind: 'within', factor: 2 },
  );
  rec.compare(
    S,
    `${img}: engine.layers in-process (warm, cached layers)`,
    warm.wallMs.median,
    { label: '`find`', value: find.wallMs.median },
    null,
  );
  rec.compare(
    S,
    `${img}: docker-save path (engine), whole analysis`,
    tarPath.wallMs.median,
    { label: '`docker save | tar -t`', value: save.wallMs.median },
    null,
  );
}

export async function benchLayers(ctx: BenchContext): Promise<void> {
  const S = '2. Layer analysis';
  const { rec } = ctx;
  log(`${S}: preparing images (cached after the first run)`);
  const pkgs = await ensurePkgsImage();
  const many = await ensureManyFilesImage();
  await benchImage(ctx, S, pkgs, 'pkgs');
  await benchImage(ctx, S, many, 'manyfiles');

  // The docker-save path's memory on ~1 GB of layers.
  let builtBig = false;
  try {
    log(`${S}: the ~1 GB image`);
    await ensureBigImage();
    builtBig = true;
    const facts = await imageFacts(IMAGES.big);
    rec.note(
      S,
      `\`${IMAGES.big}\`: ${facts.layers} layers of random bytes, ${(facts.sizeBytes / 1e9).toFixed(2)} GB (removed at the end unless --keep).`,
    );
    const saveSamples: ProcessSample[] = [];
    const wall: number[] = [];
    const cpu: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < ctx.runs + 1; i++) {
      saveSamples.push(await timeShell(`docker save ${IMAGES.big} | tar -t > /dev/null`));
      const r = await runProbe(['layers-save', IMAGES.big]);
      wall.push(r.wallMs[0]);
      cpu.push(r.cpuMs[0]);
      rss.push(r.maxRssMB);
    }
    const save = rec.keep('layers.big.save', fromProcessSamples(`\`docker save ${IMAGES.big} | tar -t\``, dropWarmup(saveSamples)));
    const [w, c, r] = [dropWarmup(wall), dropWarmup(cpu), dropWarmup(rss)];
    const tarPath = rec.keep('layers.big.tarpath', {
      what: `engine.layers('${IMAGES.big}') through docker save (/var/lib/docker denied), one process each`,
      kind: 'in-process',
      wallMs: summarize(w),
      cpuMs: summarize(c),
      peakRssMB: summarize(r),
      samples: { wallMs: w, cpuMs: c, peakRssMB: r },
    });
    rec.compare(
      S,
      '1 GB image: docker-save path, peak RSS (max of runs)',
      tarPath.peakRssMB!.max,
      { label: '`docker save | tar -t`, peak RSS', value: save.peakRssMB?.max ?? NaN },
      { kind: 'below', limit: 150, unit: 'MB' },
      formatMB,
    );
    rec.compare(
      S,
      '1 GB image: docker-save path, whole analysis',
      tarPath.wallMs.median,
      { label: '`docker save | tar -t`', value: save.wallMs.median },
      null,
    );
    log(`${S}: 1 GB tar path ${formatMs(tarPath.wallMs.median)}, peak ${formatMB(tarPath.peakRssMB!.max)}`);
  } finally {
    if (builtBig && !ctx.keep) await removeImage(IMAGES.big);
  }
}
