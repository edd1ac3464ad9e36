// 3. Writable-layer diff: a container that changed 5 000 files, against `docker diff`.
import { docker } from '../../test/support/docker';
import { BENCH_LABEL, ensurePkgsImage } from '../lib/fixtures';
import { CLI, fromProbe, log, measureInterleaved, runProbe } from '../lib/measure';
import { formatMs } from '../lib/stats';
import type { BenchContext } from './context';

/** 3 000 files added (in 30 new directories), 1 000 of the image's files modified (man pages), 1 000 deleted (time zones, locales). */
export const CHANGE_SCRIPT = [
  'set -e',
  'mkdir -p /srv/new && cd /srv/new',
  'for i in $(seq 1 30); do mkdir d$i; for j in $(seq 1 100); do echo new > d$i/f$j; done; done',
  'find /usr/share/man -type f | sort | head -n 1000 | while read -r f; do echo modified >> "$f"; done',
  'find /usr/share/zoneinfo /usr/share/locale -type f | sort | head -n 1000 | xargs rm',
].join('\n');

export async function benchDiff(ctx: BenchContext): Promise<void> {
  const S = '3. Writable-layer diff (5 000 changed files)';
  const { rec } = ctx;
  const image = await ensurePkgsImage();
  let id: string | null = null;
  try {
    id = (
      await docker(['run', '-d', '--label', BENCH_LABEL, '--name', 'xray-bench-diff', '--network', 'none', image, 'sleep', 'infinity'])
    ).trim();
    await docker(['exec', id, 'sh', '-c', CHANGE_SCRIPT]);
    const diffLines = (await docker(['diff', id])).split('\n').filter(Boolean);
    const kinds = { A: 0, C: 0, D: 0 } as Record<string, number>;
    for (const l of diffLines) kinds[l[0]] = (kinds[l[0]] ?? 0) + 1;
    rec.note(
      S,
      `A container of \`${image}\` added 3 000 files, modified 1 000 and deleted 1 000; \`docker diff\` lists ${diffLines.length} paths (A ${kinds.A}, C ${kinds.C}, D ${kinds.D}).`,
    );

    log(`${S}: processes (CLI, docker diff), ${ctx.runs}+1 rounds`);
    const node = process.execPath;
    const procs = await measureInterleaved(
      [
        { key: 'cli', what: '`node dist/cli.js layers CONTAINER --json`', argv: [node, CLI, 'layers', id, '--json'] },
        { key: 'diff', what: '`docker diff CONTAINER`', argv: ['docker', 'diff', id] },
        { key: 'node', what: '`node -e 0` (node start-up, beside the diff)', argv: [node, '-e', '0'] },
      ],
      ctx.runs,
    );
    const cli = rec.keep('diff.cli', procs.get('cli')!.m);
    const diff = rec.keep('diff.dockerdiff', procs.get('diff')!.m);
    const nodeStart = rec.keep('diff.node', procs.get('node')!.m);
    rec.note(
      S,
      `Ten times faster than \`docker diff\` means ${formatMs(diff.wallMs.median / 10)} for the whole CLI process; \`node -e 0\` alone took ${formatMs(nodeStart.wallMs.median)} in the same rounds.`,
    );
    log(`${S}: in-process warm engine`);
    const warm = rec.keep(
      'diff.inproc',
      fromProbe('engine.layers(CONTAINER) in-process, warm engine', await runProbe(['layers', id, '--runs', String(ctx.runs), '--warm'])),
    );
    const ex = warm.extra as { upperChanges: number | null };
    rec.note(
      S,
      `The engine's writable layer lists ${ex.upperChanges} changes (directories it holds included; an opaque directory is one entry).`,
    );

    rec.compare(
      S,
      '`layers CONTAINER --json`, whole process',
      cli.wallMs.median,
      { label: '`docker diff`', value: diff.wallMs.median },
      { kind: 'faster', factor: 10 },
    );
    rec.compare(
      S,
      'engine.layers(CONTAINER) in-process, warm engine',
      warm.wallMs.median,
      { label: '`docker diff`', value: diff.wallMs.median },
      { kind: 'faster', factor: 10 },
    );
  } finally {
    if (id) await docker(['rm', '-f', id]).catch(() => undefined);
  }
}
