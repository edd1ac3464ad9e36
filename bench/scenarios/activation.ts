// 6. Activation: the packaged extension in code-server (real VS Code in Chromium). Activation time as the
// extension logs it (bundle load + activate()), the time from opening the view to the first containers,
// and the size of the .vsix.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VSIX, openWorkbench, startCodeServer, treeRow } from '../../test/support/codeServer';
import { REPO, log } from '../lib/measure';
import { dropWarmup, formatMB, summarize } from '../lib/stats';
import type { BenchContext } from './context';

function findFiles(dir: string, name: RegExp, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(p, name, out);
    else if (name.test(e.name)) out.push(p);
  }
  return out;
}

/** The extension's own log line: "activated in 3.2 ms (loading 2.1 ms, activate() 1.1 ms)". */
async function readActivation(userDataDir: string, timeoutMs = 30000): Promise<{ total: number; loading: number; activate: number }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const file of findFiles(path.join(userDataDir, 'logs'), /Container X-Ray\.log$/)) {
      const m = /activated in ([\d.]+) ms \(loading ([\d.]+) ms, activate\(\) ([\d.]+) ms\)/.exec(fs.readFileSync(file, 'utf8'));
      if (m) return { total: Number(m[1]), loading: Number(m[2]), activate: Number(m[3]) };
    }
    if (Date.now() > end) throw new Error(`no activation line in ${userDataDir}/logs`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function benchActivation(ctx: BenchContext): Promise<void> {
  const S = '6. Activation (code-server)';
  const { rec } = ctx;
  if (!fs.existsSync(VSIX)) {
    log(`${S}: packaging the extension`);
    execFileSync('npm', ['run', 'package', '--silent'], { cwd: REPO, stdio: 'inherit' });
  }
  const runs = Math.min(ctx.runs, 5);
  const totals: number[] = [];
  const loads: number[] = [];
  const toRows: number[] = [];
  log(`${S}: ${runs}+1 fresh code-server sessions`);
  for (let run = 0; run <= runs; run++) {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-bench-act-'));
    const server = await startCodeServer(workspace);
    const ui = await openWorkbench(server, path.join(os.tmpdir(), 'xray-bench-act-shots'));
    try {
      // Let the workbench finish starting its extension host first: that is VS Code's time, not ours.
      await ui.page.locator('.statusbar').waitFor();
      await ui.page.waitForTimeout(5000);
      const t0 = Date.now();
      await ui.page.locator('.activitybar .action-item a[aria-label^="Container X-Ray"]').first().click();
      await treeRow(ui.page, 'Containers', '').first().waitFor({ timeout: 60000 });
      toRows.push(Date.now() - t0);
      const a = await readActivation(server.userDataDir);
      totals.push(a.total);
      loads.push(a.loading);
    } finally {
      await ui.close();
      await server.stop();
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  }
  const total = summarize(dropWarmup(totals));
  const load = summarize(dropWarmup(loads));
  const rows = summarize(dropWarmup(toRows));
  const vsixMB = fs.statSync(VSIX).size / 1e6;
  rec.note(
    S,
    `Activation as the extension measures it: from the first line of dist/extension.js to the end of activate() (loading ${load.median.toFixed(1)} ms of it); the engine (dist/engine.js) loads later, on first use. "First containers" is from the click on the activity-bar icon (once the workbench has started) to the first row of the Containers view: activation, engine start and first snapshot included.`,
  );
  rec.compare(S, 'activation (bundle load + activate())', total.median, null, { kind: 'below', limit: 50, unit: 'ms' });
  rec.compare(S, 'click on the view → first containers listed', rows.median, null, null);
  rec.compare(S, '.vsix size', vsixMB, null, null, formatMB);
}
