// `npm test`'s runner: the whole suite (test/mocha.json), in two mocha processes at once. The containerd-store
// VM target's integration suites run in their own process beside everything else, on their own VM: the
// guests run under software emulation, and one guest's work would otherwise wait for the other's. The second
// process checks only its VM (the root hooks' XRAY_MACHINE_CHECKS=vm); the first checks this machine and the
// docker-mode VM's Podman stores as before. Its output is printed after the first's, and the run fails when
// either fails. XRAY_TARGETS narrows the targets as for a single mocha run.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOCHA = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
const ALL = ['local', 'vm-docker', 'vm-containerd', 'vm-podman', 'vm-podman-rootless'];
const SPLIT = 'vm-containerd';

const asked = (process.env.XRAY_TARGETS ?? '').split(',').filter(Boolean);
const targets = asked.length > 0 ? asked : ALL;
const extra = process.argv.slice(2);

function mocha(args, env, out) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MOCHA, '--config', 'test/mocha.json', ...args, ...extra], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', out ?? 'inherit', out ?? 'inherit'],
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

// The base image both processes load into their daemons is made once, before either starts.
const { ensureBaseImage } = await import(path.join(ROOT, 'out', 'test', 'support', 'docker.js'));
await ensureBaseImage();

const rest = targets.filter((t) => t !== SPLIT);
if (!targets.includes(SPLIT) || rest.length === 0) {
  process.exit(await mocha([], { XRAY_TARGETS: targets.join(',') }));
}

const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xray-test-')), `${SPLIT}.log`);
const log = fs.openSync(logFile, 'w');
console.log(`[test] the ${SPLIT} suites run beside the rest; their output follows the rest's (${logFile})`);
const [main, split] = await Promise.all([
  mocha([], { XRAY_TARGETS: rest.join(',') }),
  mocha(['--grep', `\\(${SPLIT}\\)`], { XRAY_TARGETS: SPLIT, XRAY_MACHINE_CHECKS: 'vm' }, log),
]);
fs.closeSync(log);
console.log(`\n[test] ---- the ${SPLIT} suites (exit ${split}) ----`);
process.stdout.write(fs.readFileSync(logFile));
console.log(`[test] the rest: exit ${main}; the ${SPLIT} suites: exit ${split}`);
process.exit(main !== 0 ? main : split);
