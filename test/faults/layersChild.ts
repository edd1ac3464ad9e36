// Runs Engine.layers on one reference in a process of its own and prints what a test measures: peak RSS,
// bytes read, time, progress, and the report (whole with --full, else counts). Used by layers.test.ts.
import * as fs from 'node:fs';
import { Engine } from '../../src/core/engine';
import type { LayerReport } from '../../src/shared/model';

export interface ChildResult {
  ref: string;
  ms: number;
  maxRssKb: number;
  /** Bytes this process read through read(2) and friends (/proc/self/io rchar). */
  readBytes: number;
  progress: { atMs: number; message: string }[];
  changes: number;
  upperChanges: number | null;
  errors: LayerReport['errors'];
  report?: LayerReport;
}

async function main(): Promise<void> {
  const ref = process.argv[2];
  const full = process.argv.includes('--full');
  const engine = await Engine.create({ diskCache: false });
  const progress: ChildResult['progress'] = [];
  const t0 = Date.now();
  const report = await engine.layers(ref, { onProgress: (message) => progress.push({ atMs: Date.now() - t0, message }) });
  const ms = Date.now() - t0;
  const rchar = /^rchar:\s*(\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'));
  const result: ChildResult = {
    ref,
    ms,
    maxRssKb: process.resourceUsage().maxRSS,
    readBytes: rchar ? Number(rchar[1]) : -1,
    progress,
    changes: report.layers.reduce((s, l) => s + l.changes.length, 0),
    upperChanges: report.upper ? report.upper.changes.length : null,
    errors: report.errors,
    ...(full ? { report } : {}),
  };
  process.stdout.write(JSON.stringify(result));
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
