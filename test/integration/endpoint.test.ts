// The endpoint the built CLI really uses on the real engine: an explicit --host beats DOCKER_HOST, and an
// ssh:// endpoint (a real sshd on loopback whose root runs `docker system dial-stdio`) is used only when
// its host key is the one known_hosts lists.
import * as assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { docker, requireDocker } from '../support/docker';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SOCKET = 'unix:///var/run/docker.sock';
const SSHD = '/usr/sbin/sshd';

/** The environment without any DOCKER_* or SSH_* variable of the test run, plus `extra`. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_') && !k.startsWith('SSH_')));
  return { ...env, ...extra };
}

function cli(args: string[], env: NodeJS.ProcessEnv) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function localImageIds(): Promise<string[]> {
  const out = await docker(['image', 'ls', '--no-trunc', '--format', '{{.ID}}']);
  return [...new Set(out.split('\n').filter(Boolean))].sort();
}

/** Runs `list` and returns what it listed with the images there both before and after it (others may come and go). */
async function imagesAround(list: () => string[]): Promise<{ listed: string[]; stable: string[] }> {
  const before = await localImageIds();
  const listed = list();
  const after = new Set(await localImageIds());
  return { listed, stable: before.filter((id) => after.has(id)) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve();
      });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

describe('the endpoint the CLI uses', function () {
  this.timeout(180000);
  before(() => requireDocker());

  it('--host unix:///var/run/docker.sock beats DOCKER_HOST=tcp://127.0.0.1:1, and the engine calls that daemon local', async () => {
    const env = cleanEnv({ DOCKER_HOST: 'tcp://127.0.0.1:1' });
    let stderr = '';
    const { listed: ids, stable: want } = await imagesAround(() => {
      const images = cli(['images', '--json', '--host', SOCKET], env);
      assert.equal(images.code, 0, images.stderr);
      stderr = images.stderr;
      return (JSON.parse(images.stdout) as { id: string }[]).map((i) => i.id);
    });
    assert.ok(want.length > 0, stderr);
    assert.ok(
      want.every((id) => ids.includes(id)),
      `every local image listed: missing ${want.filter((id) => !ids.includes(id)).join(', ')}`,
    );
    const host = cli(['host', '--json', '--host', SOCKET], env);
    assert.equal(host.code, 0, host.stderr);
    const facts = JSON.parse(host.stdout) as {
      daemon: { endpoint: string; runsElsewhere: boolean; runsElsewhereReason: string | null };
      access: { mode: string };
    };
    assert.equal(facts.daemon.endpoint, SOCKET);
    assert.deepEqual([facts.daemon.runsElsewhere, facts.daemon.runsElsewhereReason], [false, null]);
    // The engine agrees the daemon is this machine's: its files are read, not only its API.
    assert.notEqual(facts.access.mode, 'daemon-only');
  });

  it('with only DOCKER_HOST set to an unreachable tcp endpoint, it names that endpoint and exits 2', () => {
    const r = cli(['images'], cleanEnv({ DOCKER_HOST: 'tcp://127.0.0.1:1' }));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /cannot reach the Docker daemon at tcp:\/\/127\.0\.0\.1:1\b/);
  });

  describe('ssh:// against a real sshd on loopback', () => {
    let dir: string;
    let home: string;
    let port: number;
    let sshd: ChildProcess | null = null;
    let agent: ChildProcess | null = null;
    let sshdLog = '';
    let madeRunDir = false;
    const agentSock = () => path.join(dir, 'agent.sock');
    const knownHosts = () => path.join(home, '.ssh', 'known_hosts');
    const url = () => `ssh://root@127.0.0.1:${port}`;
    const env = () => cleanEnv({ HOME: home, SSH_AUTH_SOCK: agentSock() });
    const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'xray-endpoint', '-f', file]);

    before(async () => {
      if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install -y openssh-server`);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-sshd-'));
      home = path.join(dir, 'home');
      fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
      keygen(path.join(dir, 'host_key'));
      keygen(path.join(dir, 'other_host_key'));
      keygen(path.join(dir, 'client_key'));
      fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
      port = await freePort();
      fs.writeFileSync(
        path.join(dir, 'sshd_config'),
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${path.join(dir, 'host_key')}`,
          `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
          `PidFile ${path.join(dir, 'sshd.pid')}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          // The temp dir is under the world-writable tmp: the ownership walk would refuse it.
          'StrictModes no',
          '',
        ].join('\n'),
      );
      // sshd's privilege separation directory, which the package's service would create.
      if (!fs.existsSync('/run/sshd')) {
        fs.mkdirSync('/run/sshd', { mode: 0o755 });
        madeRunDir = true;
      }
      sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      sshd.stderr!.on('data', (d: Buffer) => (sshdLog += d.toString()));
      agent = spawn('ssh-agent', ['-D', '-a', agentSock()], { stdio: 'ignore' });
      await waitForPort(port, 10000).catch((err: Error) => {
        throw new Error(`${err.message}; sshd said: ${sshdLog}`);
      });
      for (let i = 0; i < 50 && !fs.existsSync(agentSock()); i++) await new Promise((r) => setTimeout(r, 100));
      execFileSync('ssh-add', [path.join(dir, 'client_key')], { env: { ...process.env, SSH_AUTH_SOCK: agentSock() }, stdio: 'ignore' });
      // The machine's own list must not already vouch for this throwaway host.
      for (const f of ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']) {
        if (!fs.existsSync(f)) continue;
        const found = spawnSync('ssh-keygen', ['-F', `[127.0.0.1]:${port}`, '-f', f], { encoding: 'utf8' });
        assert.equal(found.stdout.trim(), '', `${f} lists [127.0.0.1]:${port}`);
      }
    });

    after(async () => {
      const stop = (p: ChildProcess | null) =>
        p && p.exitCode === null && p.signalCode === null
          ? new Promise<void>((resolve) => {
              p.once('exit', () => resolve());
              p.kill('SIGTERM');
            })
          : Promise.resolve();
      await Promise.all([stop(sshd), stop(agent)]);
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      if (madeRunDir) fs.rmSync('/run/sshd', { recursive: true, force: true });
    });

    it('refuses a host known_hosts does not list, saying how to trust it', () => {
      fs.writeFileSync(knownHosts(), '');
      const r = cli(['images', '--host', url()], env());
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`host key of \\[127\\.0\\.0\\.1\\]:${port} \\(ssh-ed25519 key SHA256:[A-Za-z0-9+/]+\\) is not in ~/\\.ssh/known_hosts`),
      );
      assert.ok(r.stderr.includes(`run \`ssh -p ${port} root@127.0.0.1\` once`), r.stderr);
      // The fingerprint is the one ssh-keygen prints for the server's key.
      const fp = execFileSync('ssh-keygen', ['-lf', path.join(dir, 'host_key.pub')], { encoding: 'utf8' }).split(' ')[1];
      assert.ok(r.stderr.includes(fp), `${fp} in ${r.stderr}`);
    });

    it('lists the images over ssh once known_hosts holds the key ssh-keyscan sees, plain or hashed', async () => {
      const scanned = execFileSync('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), '127.0.0.1'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      assert.match(scanned, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${port} ssh-ed25519 `, 'm'));
      fs.writeFileSync(knownHosts(), scanned);
      const { listed: ids, stable: want } = await imagesAround(() => {
        const r = cli(['images', '--json', '--host', url()], env());
        assert.equal(r.code, 0, `${r.stderr}\nsshd: ${sshdLog}`);
        return (JSON.parse(r.stdout) as { id: string }[]).map((i) => i.id);
      });
      assert.ok(want.length > 0);
      assert.ok(
        want.every((id) => ids.includes(id)),
        `missing over ssh: ${want.filter((id) => !ids.includes(id)).join(', ')}`,
      );
      execFileSync('ssh-keygen', ['-H', '-f', knownHosts()], { stdio: 'ignore' });
      assert.match(fs.readFileSync(knownHosts(), 'utf8'), /^\|1\|/);
      const host = cli(['host', '--json', '--host', url()], env());
      assert.equal(host.code, 0, host.stderr);
      const facts = JSON.parse(host.stdout) as { daemon: { endpoint: string; runsElsewhereReason?: string | null } };
      assert.equal(facts.daemon.endpoint, url());
      assert.match(String(facts.daemon.runsElsewhereReason), /over ssh/);
    });

    it('refuses a changed key: known_hosts lists another key for the host', () => {
      const other = fs.readFileSync(path.join(dir, 'other_host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
      fs.writeFileSync(knownHosts(), `# the host's previous key\n[127.0.0.1]:${port} ${other}\n`);
      const r = cli(['images', '--host', url()], env());
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`host key of \\[127\\.0\\.0\\.1\\]:${port} has changed`));
      assert.ok(r.stderr.includes(`${knownHosts()}:2`), r.stderr);
      assert.ok(r.stderr.includes(`ssh-keygen -R '[127.0.0.1]:${port}'`), r.stderr);
    });
  });
});
