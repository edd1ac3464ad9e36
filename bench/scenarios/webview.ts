// 5. Webview at scale: the namespace graph and matrix for 200 containers in Chromium, under the real CSP
// (the test harness page). Time to a usable view, and frame intervals while panning the graph.
import { openView, startHarness } from '../../test/webview/harness';
import { graphState, manyContainers } from '../../test/webview/sample';
import { log } from '../lib/measure';
import { dropWarmup, formatMs, summarize } from '../lib/stats';
import type { BenchContext } from './context';

const CONTAINERS = 200;

/** Collects requestAnimationFrame timestamps in the page while the test pans. */
const FRAME_RECORDER = `(() => {
  window.__frames = [];
  const tick = (t) => { window.__frames.push(t); if (window.__recording) requestAnimationFrame(tick); };
  window.__recording = true;
  requestAnimationFrame(tick);
})()`;

export async function benchWebviewAtScale(ctx: BenchContext): Promise<void> {
  const S = `5. Webview at scale (${CONTAINERS} containers)`;
  const { rec } = ctx;
  const harness = await startHarness();
  try {
    const usable: number[] = [];
    const drawn: number[] = [];
    const frameIntervals: number[] = [];
    const state = graphState([], manyContainers(CONTAINERS));
    log(`${S}: ${ctx.runs}+1 page loads`);
    for (let run = 0; run <= ctx.runs; run++) {
      const v = await openView(harness, 'graph', { width: 1280, height: 800 });
      try {
        const t0 = Date.now();
        await v.push('state/graph', state);
        await v.waitFor(`document.querySelector('.graph-canvas[data-ready="true"]') !== null`, 60000);
        await v.waitFor(`document.querySelectorAll('table.matrix tbody tr').length === ${CONTAINERS + 1}`, 60000);
        usable.push(Date.now() - t0);
        drawn.push(Number(await v.page.getAttribute('.graph-canvas', 'data-render-ms')));
        // Pan: drag the background across the canvas while recording frames.
        const box = (await v.page.locator('.graph-canvas').boundingBox())!;
        await v.page.evaluate(FRAME_RECORDER);
        await v.page.mouse.move(box.x + 8, box.y + box.height - 8);
        await v.page.mouse.down();
        for (let i = 1; i <= 60; i++) await v.page.mouse.move(box.x + 8 + i * 6, box.y + box.height - 8 - i * 3);
        await v.page.mouse.up();
        await v.page.evaluate('window.__recording = false');
        const frames = (await v.page.evaluate('window.__frames')) as number[];
        if (run > 0) for (let i = 1; i < frames.length; i++) frameIntervals.push(frames[i] - frames[i - 1]);
      } finally {
        await v.close();
      }
    }
    const u = summarize(dropWarmup(usable));
    const d = summarize(dropWarmup(drawn));
    const sorted = [...frameIntervals].sort((a, b) => a - b);
    const p95 = sorted.length > 0 ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] : NaN;
    const medianFrame = summarize(frameIntervals.length > 0 ? frameIntervals : [NaN]).median;
    rec.note(
      S,
      `Time to usable: from the state message to the graph drawn and all ${CONTAINERS + 1} matrix rows in the page (min ${formatMs(u.min)}, max ${formatMs(u.max)}); the graph's own drawing took a median of ${formatMs(d.median)}. Panning: ${frameIntervals.length} frame intervals over ${ctx.runs} drags of 60 mouse moves, headless Chromium without a GPU.`,
    );
    rec.compare(S, 'state message → usable graph and matrix', u.median, null, { kind: 'below', limit: 1000, unit: 'ms' });
    rec.compare(S, 'frame interval while panning, median', medianFrame, null, null);
    rec.compare(S, 'frame interval while panning, 95th percentile', p95, null, { kind: 'below', limit: 33.4, unit: 'ms (30 fps)' });
  } finally {
    await harness.close();
  }
}
