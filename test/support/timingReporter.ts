// mocha's spec reporter, plus the wall time of each top-level suite with its hooks (a VM suite spends most of
// its time in before-all hooks, which spec does not time) and, at the end, the slowest suites: a CI run has a
// time limit, and this says where its time went.
import Mocha from 'mocha';

const { Spec } = Mocha.reporters;
const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_RUN_END } = Mocha.Runner.constants;

class TimingReporter extends Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const started = new Map<Mocha.Suite, number>();
    const spent: { title: string; ms: number }[] = [];
    const runStart = Date.now();
    runner.on(EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => {
      if (suite.parent?.root) started.set(suite, Date.now());
    });
    runner.on(EVENT_SUITE_END, (suite: Mocha.Suite) => {
      const t0 = started.get(suite);
      if (t0 === undefined) return;
      const ms = Date.now() - t0;
      spent.push({ title: suite.title, ms });
      if (ms >= 5000) console.log(`    (suite with its hooks: ${(ms / 1000).toFixed(0)} s)`);
    });
    runner.once(EVENT_RUN_END, () => {
      const total = Date.now() - runStart;
      console.log(`\n  time: ${(total / 60000).toFixed(1)} min; the slowest suites with their hooks:`);
      for (const s of [...spent].sort((a, b) => b.ms - a.ms).slice(0, 25))
        console.log(`    ${(s.ms / 1000).toFixed(0).padStart(5)} s  ${s.title}`);
    });
  }
}

export = TimingReporter;
