// Remote endpoints against the test VM's real daemons, as users reach a daemon on another machine: tcp://
// with TLS verification (certificates from DOCKER_CERT_PATH), ssh:// (the key in an ssh agent, the host key
// checked against ~/.ssh/known_hosts, `docker system dial-stdio` in the guest), and docker contexts naming
// both, chosen with --context and as the config's currentContext. Each lists the containers `docker ps`
// lists on that daemon, and the host facts are the daemon machine's, read in the guest as oracles.
import * as assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import { HELPER_LABEL } from '../../src/core/access/helper';
import { parseOsRelease } from '../../src/core/host/hostFacts';
import type { HostFacts, Snapshot } from '../../src/shared/model';
import { BASE_IMAGE } from '../support/docker';
import { Target, openTarget, removeParkedHelpers, suiteTargets } from '../support/targets';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** The environment without any DOCKER_*, SSH_* or XDG_CACHE_HOME of the test run, plus `extra`. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_') && !k.startsWith('SSH_') && k !== 'XDG_CACHE_HOME'),
  );
  return { ...env, ...extra };
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI, asynchronously (the guest is slow: the event loop stays free for the ssh master). */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What the guest itself says about its machine (the oracle for the host facts). */
interface GuestFacts {
  kernel: string;
  hostname: string;
  os: Record<string, string>;
  cpus: number;
  memoryBytes: number;
  cgroupFs: string;
  dmiVendor: string;
}

async function guestFacts(t: Target): Promise<GuestFacts> {
  const out = await t.sh(
    'uname -r; hostname; nproc; grep "^MemTotal:" /proc/meminfo; stat -fc %T /sys/fs/cgroup; cat /sys/class/dmi/id/sys_vendor; echo ---; cat /etc/os-release',
  );
  const [head, osRelease] = out.split('---\n');
  const [kernel, hostname, cpus, mem, cgroupFs, dmiVendor] = head.trim().split('\n');
  return {
    kernel: kernel.trim(),
    hostname: hostname.trim(),
    os: parseOsRelease(osRelease),
    cpus: Number(cpus),
    memoryBytes: Number(/(\d+) kB/.exec(mem)![1]) * 1024,
    cgroupFs: cgroupFs.trim(),
    dmiVendor: dmiVendor.trim(),
  };
}

/**
 * The running containers but helpers: the engine leaves out the helpers this user's runs recorded (one a run
 * left parked for the next runs on between them), as it should.
 */
async function runningIds(t: Target): Promise<Set<string>> {
  const all = (await t.docker(['ps', '-q', '--no-trunc'])).split('\n').filter(Boolean);
  const helpers = new Set((await t.docker(['ps', '-q', '--no-trunc', '--filter', `label=${HELPER_LABEL}`])).split('\n').filter(Boolean));
  return new Set(all.filter((id) => !helpers.has(id)));
}

// Docker's endpoints only: Podman's API in the VM has no TLS port, and ssh:// reaches a daemon through
// `docker system dial-stdio`, which Podman has no counterpart of. The endpoints are the daemon's, whatever its
// image store: vm-docker's (vm-containerd is the same guest and daemon with another store).
for (const name of suiteTargets().filter((n) => n === 'vm-docker'))
  describe(`remote endpoints against real daemons: tcp with TLS, ssh://, docker contexts (${name})`, function () {
    this.timeout(900000);
    let t: Target;
    let dir: string;
    let home: string;
    let config: string;
    let agent: ChildProcess | null = null;
    let guest: GuestFacts;
    const mine: string[] = [];
    const prefix = `xray-remote-${name}`;
    const agentSock = () => path.join(dir, 'agent.sock');
    const knownHosts = () => path.join(home, '.ssh', 'known_hosts');
    const tlsUrl = () => `tcp://127.0.0.1:${t.vm!.dockerTls}`;
    const sshUrl = () => `ssh://root@127.0.0.1:${t.vm!.ssh}`;
    /** The CLI's environment: this test's HOME, cache and docker config, the agent, and `extra`. */
    const env = (extra: NodeJS.ProcessEnv = {}) =>
      cleanEnv({ HOME: home, XDG_CACHE_HOME: path.join(dir, 'cache'), DOCKER_CONFIG: config, SSH_AUTH_SOCK: agentSock(), ...extra });
    const tlsEnv = () => env({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: t.vm!.certs });
    const helper = ['--helper-image', BASE_IMAGE, '--read-deadline', '60'];

    /**
     * The CLI's snapshot lists what `docker ps` lists on that daemon: every container running before and
     * after it, ours among them, and nothing that was not running then (other suites' containers come and go).
     */
    async function assertSameAsPs(run: () => Promise<CliResult>): Promise<Snapshot> {
      const before = await runningIds(t);
      const started = Date.now();
      const r = await run();
      const after = await runningIds(t);
      assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
      const snap = JSON.parse(r.stdout) as Snapshot;
      // A helper parked by a run through another endpoint of this daemon is listed as a container (its record
      // is that endpoint's); helpers are left out on both sides.
      const listed = snap.containers.filter((c) => c.labels[HELPER_LABEL] !== '1').map((c) => c.id);
      for (const id of mine) assert.ok(listed.includes(id), `${id} (ours) is listed`);
      const stable = [...before].filter((id) => after.has(id));
      assert.deepEqual(
        stable.filter((id) => !listed.includes(id)),
        [],
        'every container running before and after is listed',
      );
      for (const id of listed.filter((i) => !before.has(i) && !after.has(i))) {
        // Started (and maybe gone) within the run: it must at least have started after `before`.
        const created = await t.docker(['inspect', '--format', '{{.State.StartedAt}}', id]).then(
          (s) => Date.parse(s.trim()),
          () => Date.now(),
        );
        assert.ok(created >= started - 5000, `${id} was listed but was not running before or after the run, nor started during it`);
      }
      return snap;
    }

    /** The host facts are the guest's, and this machine is named beside them. */
    function assertGuestHost(h: HostFacts, endpoint: string) {
      assert.equal(h.kernel, guest.kernel);
      assert.equal(h.hostname, guest.hostname);
      assert.equal(h.os.distro, guest.os.NAME);
      assert.equal(h.os.release, guest.os.VERSION_ID);
      assert.equal(h.os.codename, guest.os.VERSION_CODENAME);
      assert.equal(h.cpus, guest.cpus);
      assert.equal(h.memoryBytes, guest.memoryBytes);
      assert.equal(guest.cgroupFs, 'cgroup2fs');
      assert.equal(h.cgroupVersion, 2);
      assert.equal(guest.dmiVendor, 'QEMU');
      assert.equal(h.virtualization.isVirtual, true);
      assert.equal(h.virtualization.hypervisor, 'QEMU', h.virtualization.evidence);
      assert.match(h.virtualization.evidence, /DMI: vendor "QEMU"/);
      assert.ok(h.thisMachine, 'thisMachine names the engine’s machine');
      assert.equal(h.thisMachine.hostname, os.hostname());
      assert.equal(h.thisMachine.kernel, os.release());
      assert.equal(h.thisMachine.cpus, os.cpus().length);
      assert.equal(h.daemon?.endpoint, endpoint);
      assert.equal(h.daemon?.kernel, guest.kernel);
      assert.equal(h.daemon?.runsElsewhere, true);
      assert.equal(h.access.mode, 'helper', h.access.reason);
      assert.deepEqual(
        h.errors.filter((e) => e.field.startsWith('host.')),
        [],
      );
    }

    before(async function () {
      this.timeout(1200000);
      t = await openTarget(name);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
      home = path.join(dir, 'home');
      config = path.join(dir, 'docker-config');
      fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
      fs.mkdirSync(config, { recursive: true });
      for (const suffix of ['a', 'b'])
        mine.push(
          (
            await t.docker([
              'run',
              '-d',
              '--name',
              `${prefix}-${suffix}`,
              '--network',
              'none',
              '--memory',
              '32m',
              BASE_IMAGE,
              'sleep',
              '3600',
            ])
          ).trim(),
        );
      agent = spawn('ssh-agent', ['-D', '-a', agentSock()], { stdio: 'ignore' });
      for (let i = 0; i < 50 && !fs.existsSync(agentSock()); i++) await new Promise((r) => setTimeout(r, 100));
      execFileSync('ssh-add', [t.vm!.sshKey], { env: { ...process.env, SSH_AUTH_SOCK: agentSock() }, stdio: 'ignore' });
      // The machine's own lists must not already vouch for the guest.
      for (const f of ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'])
        if (fs.existsSync(f)) assert.ok(!fs.readFileSync(f, 'utf8').includes(`:${t.vm!.ssh}]`), `${f} lists the guest`);
      const docker = (args: string[]) =>
        execFileSync('docker', ['--config', config, ...args], { encoding: 'utf8', env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
      const k = t.vm!.certs;
      docker([
        'context',
        'create',
        'xray-remote-tls',
        '--docker',
        `host=${tlsUrl()},ca=${path.join(k, 'ca.pem')},cert=${path.join(k, 'cert.pem')},key=${path.join(k, 'key.pem')}`,
      ]);
      docker(['context', 'create', 'xray-remote-ssh', '--docker', `host=${sshUrl()}`]);
      guest = await guestFacts(t);
    });

    after(async () => {
      if (mine.length > 0) await t.docker(['rm', '-f', ...mine]).catch(() => undefined);
      if (agent && agent.exitCode === null && agent.signalCode === null)
        await new Promise<void>((resolve) => {
          agent!.once('exit', () => resolve());
          agent!.kill('SIGTERM');
        });
      // The helpers this suite's CLI runs left parked, in the cache it gave them, whichever endpoint they came by.
      if (dir && t) await removeParkedHelpers(t, path.join(dir, 'cache', 'container-xray', 'helpers'), true);
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('tcp:// with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH lists the containers docker ps lists there', async () => {
      // The port really demands TLS: the docker CLI itself gets nowhere without certificates.
      assert.throws(
        () => execFileSync('docker', ['-H', tlsUrl(), 'ps'], { env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] }),
        /HTTPS server/,
      );
      const snap = await assertSameAsPs(() => cli(['snapshot', '--json', '--host', tlsUrl(), ...helper], tlsEnv()));
      assert.equal(snap.host.daemon?.endpoint, tlsUrl());
      const ours = snap.containers.find((c) => c.id === mine[0])!;
      assert.equal(ours.name, `${prefix}-a`);
      assert.equal(ours.cgroup?.limits.memoryBytes, 32 * 1024 * 1024, 'read through the helper over TLS');
    });

    it('tcp:// to the TLS port without certificates is refused with what to set (exit 2)', async () => {
      const plain = await cli(['snapshot', '--host', tlsUrl(), ...helper], env());
      assert.equal(plain.code, 2, plain.stdout + plain.stderr);
      assert.ok(plain.stderr.includes(`cannot reach the Docker daemon at ${tlsUrl()}`), plain.stderr);
      assert.match(plain.stderr, /speaks TLS on this port and this client sent plain HTTP: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH/);
      // The CA alone: the daemon wants a client certificate.
      const caOnly = path.join(dir, 'ca-only');
      fs.mkdirSync(caOnly, { recursive: true });
      fs.copyFileSync(path.join(t.vm!.certs, 'ca.pem'), path.join(caOnly, 'ca.pem'));
      const noCert = await cli(['snapshot', '--host', tlsUrl(), ...helper], env({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: caOnly }));
      assert.equal(noCert.code, 2, noCert.stdout + noCert.stderr);
      assert.match(noCert.stderr, /wants a client certificate signed by its CA, and only ca\.pem was found/);
      // Verification on, nothing to verify with: the daemon's certificate is not trusted.
      const empty = path.join(dir, 'no-certs');
      fs.mkdirSync(empty, { recursive: true });
      const noCa = await cli(['snapshot', '--host', tlsUrl(), ...helper], env({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: empty }));
      assert.equal(noCa.code, 2, noCa.stdout + noCa.stderr);
      assert.match(noCa.stderr, /TLS certificate was not verified .*no ca\.pem, cert\.pem or key\.pem was found/);
    });

    it('ssh:// refuses the guest while known_hosts is empty, naming its key (exit 2)', async () => {
      fs.writeFileSync(knownHosts(), '');
      const r = await cli(['snapshot', '--host', sshUrl(), ...helper], env());
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `host key of \\[127\\.0\\.0\\.1\\]:${t.vm!.ssh} \\(ssh-ed25519 key SHA256:[A-Za-z0-9+/]+\\) is not in ~/\\.ssh/known_hosts`,
        ),
      );
      const fp = execFileSync('ssh-keygen', ['-lf', t.vm!.knownHosts], { encoding: 'utf8' }).split(' ')[1];
      assert.ok(r.stderr.includes(fp), `${fp} in ${r.stderr}`);
    });

    it('ssh:// through the agent lists the containers docker ps lists there once known_hosts holds the guest’s key', async () => {
      fs.copyFileSync(t.vm!.knownHosts, knownHosts());
      const snap = await assertSameAsPs(() => cli(['snapshot', '--json', '--host', sshUrl(), ...helper], env()));
      assert.equal(snap.host.daemon?.endpoint, sshUrl());
      assert.match(String(snap.host.daemon?.runsElsewhereReason), /over ssh/);
      // The snapshot's host is the guest, read through the helper the ssh connection started.
      assertGuestHost(snap.host, sshUrl());
      const ours = snap.containers.find((c) => c.id === mine[1])!;
      assert.equal(ours.name, `${prefix}-b`);
      assert.ok(ours.pid !== null && ours.processes.some((p) => p.hostPid === ours.pid), 'its processes were read in the guest');
      const guestPid = Number((await t.docker(['inspect', '--format', '{{.State.Pid}}', mine[1]])).trim());
      assert.equal(ours.pid, guestPid);
    });

    it('a TLS docker context chosen with --context lists what docker --context lists', async () => {
      const viaDocker = new Set(
        execFileSync('docker', ['--config', config, '--context', 'xray-remote-tls', 'ps', '-q', '--no-trunc'], {
          encoding: 'utf8',
          env: cleanEnv({}),
        })
          .split('\n')
          .filter(Boolean),
      );
      for (const id of mine) assert.ok(viaDocker.has(id), 'the context names that daemon for docker too');
      const snap = await assertSameAsPs(() => cli(['snapshot', '--json', '--context', 'xray-remote-tls', ...helper], env()));
      assert.equal(snap.host.daemon?.endpoint, tlsUrl());
    });

    it('an ssh docker context as the config’s currentContext, and --context naming the TLS one beats it', async () => {
      fs.copyFileSync(t.vm!.knownHosts, knownHosts());
      execFileSync('docker', ['--config', config, 'context', 'use', 'xray-remote-ssh'], { env: cleanEnv({}), stdio: 'ignore' });
      try {
        assert.equal(
          (JSON.parse(fs.readFileSync(path.join(config, 'config.json'), 'utf8')) as { currentContext: string }).currentContext,
          'xray-remote-ssh',
        );
        const snap = await assertSameAsPs(() => cli(['snapshot', '--json', ...helper], env()));
        assert.equal(snap.host.daemon?.endpoint, sshUrl());
        const host = await cli(['host', '--json', '--context', 'xray-remote-tls', ...helper], env());
        assert.equal(host.code, 0, host.stderr);
        assert.equal((JSON.parse(host.stdout) as HostFacts).daemon?.endpoint, tlsUrl());
      } finally {
        execFileSync('docker', ['--config', config, 'context', 'use', 'default'], { env: cleanEnv({}), stdio: 'ignore' });
      }
    });

    it('host --json over TLS gives the daemon machine’s kernel, OS, CPUs, memory, cgroup v2 and QEMU, and names this machine', async () => {
      const r = await cli(['host', '--json', '--host', tlsUrl(), ...helper], tlsEnv());
      assert.equal(r.code, 0, r.stderr);
      assertGuestHost(JSON.parse(r.stdout) as HostFacts, tlsUrl());
    });

    it('host as text puts the daemon machine first and this machine beside it', async () => {
      const r = await cli(['host', '--host', tlsUrl(), ...helper], tlsEnv());
      assert.equal(r.code, 0, r.stderr);
      const rows = new Map(r.stdout.split('\n').map((l) => [l.slice(0, 16).trim(), l.slice(16).trim()] as const));
      assert.equal(r.stdout.split('\n')[0].split(/\s{2,}/)[0], 'Daemon machine');
      assert.equal(rows.get('Daemon machine'), `${guest.hostname} (the containers run here)`);
      assert.equal(rows.get('Kernel'), `${guest.kernel} (the kernel the containers share)`);
      assert.equal(rows.get('Virtualization'), 'virtual machine (QEMU)');
      assert.equal(rows.get('cgroup'), 'v2');
      assert.match(
        String(rows.get('This machine')),
        new RegExp(`^${os.hostname().replace(/\W/g, '\\$&')} · kernel ${os.release().replace(/\W/g, '\\$&')} · `),
      );
    });

    it('the engine over ssh, given the agent and HOME in its env: snapshot and host are the guest’s', async () => {
      fs.copyFileSync(t.vm!.knownHosts, knownHosts());
      const engine = await Engine.create({
        override: sshUrl(),
        env: env(),
        diskCache: false,
        access: 'helper',
        helperImage: BASE_IMAGE,
        helperIdleMs: 0,
      });
      try {
        const before = await runningIds(t);
        const snap = await engine.snapshot();
        const after = await runningIds(t);
        const listed = snap.containers.map((c) => c.id);
        for (const id of [...before].filter((i) => after.has(i))) assert.ok(listed.includes(id), `${id} is listed`);
        assertGuestHost(snap.host, sshUrl());
        assertGuestHost(await engine.host(), sshUrl());
      } finally {
        await engine.dispose();
      }
    });
  });
