import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import type { EfficiencyVerdict, LayerReport, Snapshot } from '../../src/shared/model';
import { Target, buildOn, cliArgs, inspectOn, openTarget, removeOn, runOn, suiteTargets } from '../support/targets';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? ROOT,
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeout ?? 120000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function schema(name: string) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', name), 'utf8')));
}

for (const target of suiteTargets()) {
  describe(`the container-xray CLI on the real engine (${target})`, function () {
    this.timeout(target === 'local' ? 300000 : 900000);
    let t: Target;
    /** The CLI pointed at this target (`--host`, `--access`, `--helper-image` for a VM). */
    const on = (args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) =>
      cli([...args, ...cliArgs(t)], { ...opts, timeout: target === 'local' ? 120000 : 600000 });
    const ids: string[] = [];
    let wasteful: string;
    let tidy = '';

    before(async () => {
      t = await openTarget(target);
      const base = t.helperImage;
      wasteful = await buildOn(
        t,
        'xray-it-cli-wasteful:1',
        `FROM ${base}\nRUN dd if=/dev/zero of=/big.bin bs=1k count=400 2>/dev/null\nRUN rm /big.bin && echo done > /done.txt\n`,
      );
      // Used by the passing `ci` checks, which run with the local target only.
      if (target === 'local') tidy = await buildOn(t, 'xray-it-cli-tidy:1', `FROM ${base}\nRUN echo tidy > /tidy.txt\n`);
      ids.push(
        await runOn(t, ['--name', 'xray-it-cli-a', '--network', 'none', '--memory', '32m', '--pids-limit', '20', base, 'sleep', '2001']),
      );
      ids.push(await runOn(t, ['--name', 'xray-it-cli-b', '--network', 'container:xray-it-cli-a', base, 'sleep', '2002']));
    });

    after(async () => {
      if (!t) return;
      await removeOn(t, ids);
      await t.docker(['rmi', '-f', wasteful, tidy].filter(Boolean)).catch(() => undefined);
    });

    it('snapshot --json follows the JSON Schema and agrees with docker inspect', async () => {
      const r = on(['snapshot', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const snap = JSON.parse(r.stdout) as Snapshot;
      const validate = schema('snapshot.schema.json');
      assert.ok(validate(snap), JSON.stringify(validate.errors, null, 2));
      const a = snap.containers.find((c) => c.name === 'xray-it-cli-a')!;
      const info = await inspectOn<{ State: { Pid: number }; HostConfig: { Memory: number; PidsLimit: number } }>(t, 'xray-it-cli-a');
      assert.equal(a.pid, info.State.Pid);
      assert.equal(a.cgroup?.limits.memoryBytes, info.HostConfig.Memory);
      assert.equal(a.cgroup?.limits.pidsMax, info.HostConfig.PidsLimit);
      const b = snap.containers.find((c) => c.name === 'xray-it-cli-b')!;
      const net = snap.namespaceGroups.find((g) => g.type === 'net' && g.inode === a.namespaces?.net)!;
      assert.deepEqual([...net.members].sort(), [a.id, b.id].sort());
    });

    it('snapshot with names prints only those, as a table for people', () => {
      const r = on(['snapshot', 'xray-it-cli-a', 'xray-it-cli-b']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.match(lines[0], /^NAME\s+ID\s+STATE\s+PID\s+NET NS/);
      assert.ok(
        lines.some((l) => /^xray-it-cli-a\s/.test(l) && /32\.0 MiB/.test(l) && / \/ 20\b/.test(l)),
        r.stdout,
      );
      assert.ok(lines.some((l) => /^xray-it-cli-b\s/.test(l)));
      assert.equal(lines.filter((l) => /^\S+\s+[0-9a-f]{12}\s+running/.test(l)).length, 2, 'only the two named containers');
      assert.match(r.stdout, /net:\[\d+\]\s+xray-it-cli-a, xray-it-cli-b|net:\[\d+\]\s+xray-it-cli-b, xray-it-cli-a/);
    });

    it('says clearly when a container names nothing, with exit code 3', () => {
      const r = on(['snapshot', 'no-such-container-4242']);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /no running container is named or has the id "no-such-container-4242"/);
      const l = on(['layers', 'no-such-thing-4242']);
      assert.equal(l.code, 3);
      assert.match(l.stderr, /no container or image is named "no-such-thing-4242"/);
    });

    it('layers --json follows the JSON Schema, image layers bottom to top with absolute paths', () => {
      const r = on(['layers', wasteful, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as LayerReport;
      const validate = schema('layers.schema.json');
      assert.ok(validate(report), JSON.stringify(validate.errors, null, 2));
      assert.equal(report.layers.length, 3);
      assert.deepEqual(
        report.layers.map((l) => l.index),
        [0, 1, 2],
      );
      assert.ok(report.layers[1].changes.some((c) => c.path === '/big.bin' && c.kind === 'added' && c.sizeBytes === 400 * 1024));
      assert.ok(report.layers[2].changes.some((c) => c.path === '/big.bin' && c.kind === 'deleted'));
      assert.equal(report.wastedBytes, 400 * 1024);
    });

    it('layers of a container include its writable layer', async () => {
      await t.docker(['exec', 'xray-it-cli-a', 'sh', '-c', 'echo hi > /tmp/hi.txt']);
      const r = on(['layers', 'xray-it-cli-a', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as LayerReport;
      assert.ok(schema('layers.schema.json')(report));
      assert.equal(report.container?.name, 'xray-it-cli-a');
      assert.ok(report.upper?.changes.some((c) => c.path === '/tmp/hi.txt' && c.kind === 'added' && c.sizeBytes === 3));
      // The table is laid out alike whatever the runtime: once, with the local target.
      if (target !== 'local') return;
      const text = on(['layers', 'xray-it-cli-a']);
      assert.match(text.stdout, /Writable layer: /);
      assert.match(text.stdout, /A \/tmp\/hi\.txt {2}3 B/);
    });

    it('ci exits 1 naming the failing rules, and 0 when they hold', () => {
      const fail = on(['ci', wasteful, '--lowest-efficiency', '0.95', '--highest-wasted-bytes', '100KB']);
      assert.equal(fail.code, 1, fail.stdout + fail.stderr);
      assert.match(fail.stdout, /FAIL: lowestEfficiency/);
      assert.match(fail.stdout, /FAIL: highestWastedBytes/);
      assert.match(fail.stdout, /Result: FAIL \(lowestEfficiency, highestWastedBytes, highestUserWastedPercent\)/);
      // Which rules pass is the same arithmetic whatever the runtime read the image from: once, locally.
      if (target !== 'local') return;
      const pass = on(['ci', tidy]);
      assert.equal(pass.code, 0, pass.stdout + pass.stderr);
      assert.match(pass.stdout, /PASS: lowestEfficiency/);
      assert.match(pass.stdout, /Result: PASS/);
      const lenient = on([
        'ci',
        wasteful,
        '--lowest-efficiency',
        '0.1',
        '--highest-wasted-bytes',
        '1MB',
        '--highest-user-wasted-percent',
        'disabled',
      ]);
      assert.equal(lenient.code, 0, lenient.stdout);
    });

    // These need no particular runtime (a socket where none listens, bad usage, how a .dive-ci file is read and
    // merged with flags): they run once, with the local target.
    if (target === 'local') {
      it('ci reads the rules from a .dive-ci file, with flags taking precedence', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-diveci-'));
        try {
          fs.writeFileSync(
            path.join(dir, '.dive-ci'),
            'rules:\n  lowestEfficiency: 0.1\n  highestWastedBytes: 1MB\n  highestUserWastedPercent: disabled\n',
          );
          const ok = on(['ci', wasteful], { cwd: dir });
          assert.equal(ok.code, 0, ok.stdout);
          assert.doesNotMatch(ok.stdout, /highestUserWastedPercent/);
          fs.writeFileSync(path.join(dir, '.dive-ci'), 'rules:\n  highestWastedBytes: 10KB # tight\n');
          const failing = on(['ci', wasteful, '--json'], { cwd: dir });
          assert.equal(failing.code, 1);
          const verdict = JSON.parse(failing.stdout) as EfficiencyVerdict;
          assert.deepEqual(
            verdict.results
              .filter((x) => !x.passed)
              .map((x) => x.rule)
              .sort(),
            ['highestUserWastedPercent', 'highestWastedBytes', 'lowestEfficiency'],
          );
          const overridden = on(
            ['ci', wasteful, '--highest-wasted-bytes', '1MB', '--lowest-efficiency', '0', '--highest-user-wasted-percent', '10'],
            { cwd: dir },
          );
          assert.equal(overridden.code, 0, overridden.stdout);
          fs.writeFileSync(path.join(dir, '.dive-ci'), 'rules:\n  lowestEfficiency: lots\n');
          const bad = on(['ci', wasteful], { cwd: dir });
          assert.equal(bad.code, 64);
          assert.match(bad.stderr, /lowestEfficiency: "lots" is not a ratio/);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });

      it('exits 2 with one line naming the socket when the daemon cannot be reached', () => {
        const sock = path.join(os.tmpdir(), `xray-nodaemon-${process.pid}.sock`);
        const r = cli(['snapshot'], { env: { ...process.env, DOCKER_HOST: `unix://${sock}` } });
        assert.equal(r.code, 2);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.ok(lines[0].includes(sock), lines[0]);
        assert.match(lines[0], /is dockerd running\?/);
        assert.equal(r.stdout, '');
      });

      it('rejects bad usage with exit code 64 and the usage text', () => {
        const r = cli(['frobnicate']);
        assert.equal(r.code, 64);
        assert.match(r.stderr, /unknown command "frobnicate"/);
        assert.match(r.stderr, /Usage:/);
        assert.equal(cli(['layers']).code, 64);
        // A parked helper needs idle time to be taken over, and at most an hour of it; a deadline must be above 0.
        for (const bad of [
          ['--helper-idle', '5'],
          ['--helper-idle', '3601'],
          ['--helper-idle', 'x'],
          ['--read-deadline', '0'],
        ]) {
          const r = cli(['snapshot', ...bad]);
          assert.equal(r.code, 64, `${bad.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, new RegExp(`${bad[0]} takes`));
        }
        assert.equal(cli(['--version']).stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
      });
    }
  });
}
