import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The script as `npm run lint` and `npm run bench` run it: a separate node process on real files.
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'readme-bench.mjs');

const RESULTS = `### Benchmarks

Measured on: Test CPU, 2 cores, Linux 6.1, 2026-01-02 03:04 UTC.

Medians of 7 runs after one discarded warm-up run.

| Scenario    | Measure   | Median | Met  |
| ----------- | --------- | -----: | ---- |
| 1. Snapshot | whole CLI | 236 ms | MISS |
| 2. Layers   | cached    | 182 ms | PASS |

<details><summary>Every measurement</summary>

| Measurement | Median |
| ----------- | -----: |
| \`node -e 0\` | 61 ms |

</details>
`;

const BLOCK = `<!-- bench:start: written by scripts/readme-bench.mjs from bench/results.md, not by hand -->

Measured on: Test CPU, 2 cores, Linux 6.1, 2026-01-02 03:04 UTC.

Medians of 7 runs after one discarded warm-up run.

| Scenario    | Measure   | Median | Met  |
| ----------- | --------- | -----: | ---- |
| 1. Snapshot | whole CLI | 236 ms | MISS |
| 2. Layers   | cached    | 182 ms | PASS |

<!-- bench:end -->`;

const readme = (middle: string) =>
  `# Tool\n\n## Benchmarks\n\nThe figures below are from the last full run.\n\n${middle}\n\nWhere a target is missed, the profile says why.\n`;

describe('the README benchmark table (scripts/readme-bench.mjs)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-readme-bench-'));
    fs.writeFileSync(path.join(dir, 'results.md'), RESULTS);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (readmeText: string | null, ...args: string[]) => {
    const file = path.join(dir, 'README.md');
    if (readmeText !== null) fs.writeFileSync(file, readmeText);
    const r = spawnSync(process.execPath, [SCRIPT, ...args, '--readme', file, '--results', path.join(dir, 'results.md')], {
      encoding: 'utf8',
      cwd: dir,
    });
    return { status: r.status, stderr: r.stderr, readme: fs.readFileSync(file, 'utf8') };
  };

  it('--check fails on the **BENCH** placeholder, naming its line', () => {
    const r = run(readme('**BENCH**'), '--check');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /README\.md:7: placeholder \*\*BENCH\*\*/);
    assert.match(r.stderr, /needs one "<!-- bench:start/);
  });

  it('--check passes on a README that shows exactly the measured block', () => {
    const r = run(readme(BLOCK), '--check');
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });

  it('--check fails when a figure in the README differs from bench/results.md', () => {
    const r = run(
      readme(BLOCK.replace('| 2. Layers   | cached    | 182 ms | PASS |', '| 2. Layers   | cached    | 150 ms | PASS |')),
      '--check',
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /README\.md:16: differs from results\.md/);
    assert.match(r.stderr, /README: {2}\| 2\. Layers {3}\| cached {4}\| 150 ms/);
    assert.match(r.stderr, /results: \| 2\. Layers {3}\| cached {4}\| 182 ms/);
  });

  it('--check fails when a row is missing, a placeholder sits elsewhere, or the table is copied outside the markers', () => {
    const lastRow = '| 2. Layers   | cached    | 182 ms | PASS |\n';
    assert.equal(run(readme(BLOCK.replace(lastRow, '')), '--check').status, 1);
    const other = run(readme(`${BLOCK}\n\n**TODO**`), '--check');
    assert.equal(other.status, 1);
    assert.match(other.stderr, /placeholder \*\*TODO\*\*/);
    const table = BLOCK.split('\n')
      .filter((l) => l.startsWith('|'))
      .join('\n');
    const copied = run(readme(`${BLOCK}\n\n${table}`), '--check');
    assert.equal(copied.status, 1);
    assert.match(copied.stderr, /a results table outside the bench markers/);
    assert.equal(run(readme(BLOCK.replace('<!-- bench:end -->', '')), '--check').status, 1);
  });

  it('copies the block in place of the placeholder, then in place of the old block, and leaves the rest alone', () => {
    const first = run(readme('**BENCH**'));
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.readme, readme(BLOCK));
    assert.equal(run(null, '--check').status, 0);
    // A new run of the bench: the README follows it.
    fs.writeFileSync(path.join(dir, 'results.md'), RESULTS.replace('236 ms', '201 ms'));
    assert.equal(run(null, '--check').status, 1);
    const second = run(null);
    assert.equal(second.readme, readme(BLOCK.replace('236 ms', '201 ms')));
    assert.equal(run(null, '--check').status, 0);
    assert.equal(run(null).readme, second.readme, 'a second copy changes nothing');
  });

  it('fails clearly on results without a table, and on a bad argument', () => {
    fs.writeFileSync(path.join(dir, 'results.md'), '### Benchmarks\n\nMeasured on: x.\n\nnothing yet\n');
    const r = run(readme(BLOCK), '--check');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /results\.md has no results table/);
    const bad = spawnSync(process.execPath, [SCRIPT, '--frobnicate'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown argument "--frobnicate"/);
  });

  it("the repository's README shows the table of bench/results.md", () => {
    const r = spawnSync(process.execPath, [SCRIPT, '--check'], { encoding: 'utf8', cwd: ROOT });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });
});
