// The daemon going away and coming back, on a second, private dockerd (the machine's main one serves other
// tests and must not be restarted): the event watcher says `disconnected` within seconds of the kill,
// `connected` again by itself once the daemon is back, and events resume; a snapshot against the down
// daemon rejects with DaemonUnreachableError naming its socket.
import * as assert from 'node:assert/strict';
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DaemonUnreachableError, DockerClient } from '../../src/core/runtime/docker/client';
import { DockerEvent, DockerEventWatcher } from '../../src/core/runtime/docker/events';
import { Engine } from '../../src/core/engine';
import { BASE_IMAGE, TEST_LABEL, ensureBaseImage, requireDocker } from '../support/docker';
import { waitFor } from './support';

const DIR = '/tmp/xray-d2';
const SOCK = `${DIR}/docker.sock`;
const HOST = `unix://${SOCK}`;
const PIDFILE = `${DIR}/docker.pid`;

function requireDockerd(): void {
  try {
    execFileSync('dockerd', ['--version'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `this test starts a private dockerd and needs the dockerd binary on PATH (apt-get install docker.io): ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (process.getuid?.() !== 0) throw new Error('this test starts a private dockerd, which needs root: run it as root');
}

function d2(args: string[], input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', ['-H', HOST, ...args], { timeout: 60000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`docker -H ${HOST} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    if (input) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The PIDs of the private daemon's processes still running (its dockerd and the containerd it started). */
function privatePids(): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if ((cmd[0].endsWith('dockerd') || cmd[0].endsWith('containerd')) && cmd.some((a) => a.startsWith(DIR))) out.push(Number(entry));
    } catch {
      // exited
    }
  }
  return out;
}

/** The private daemon's cgroup parent (`--cgroup-parent /xray-d2`) wherever a cgroup hierarchy holds it. */
function cgroupParentDirs(): string[] {
  const out: string[] = [];
  const roots = ['/sys/fs/cgroup'];
  try {
    for (const e of fs.readdirSync('/sys/fs/cgroup', { withFileTypes: true })) if (e.isDirectory()) roots.push(`/sys/fs/cgroup/${e.name}`);
  } catch {
    // no cgroup filesystem mounted: nothing to find
  }
  for (const r of roots) if (fs.existsSync(`${r}/xray-d2`)) out.push(`${r}/xray-d2`);
  return out;
}

describe('faults: the daemon restarting (a private dockerd)', function () {
  this.timeout(180000);
  let daemon: ChildProcess | null = null;
  let watcher: DockerEventWatcher | null = null;
  const events: { at: number; ev: DockerEvent }[] = [];
  const transitions: { at: number; what: 'connected' | 'disconnected'; why?: string }[] = [];
  const figures: Record<string, number> = {};

  async function startDaemon(): Promise<number> {
    const log = fs.openSync(`${DIR}/dockerd.log`, 'a');
    // Nothing shared with the machine's daemon: its own network namespace (a dockerd started with
    // `--bridge none` deletes any `docker0` it can see, and one with a bridge would add its own and iptables
    // rules), its own data root, exec root (netns files, runc state, its own containerd), config file, pidfile
    // and cgroup parent. `unshare` execs dockerd, so the child's PID is dockerd's.
    fs.writeFileSync(`${DIR}/daemon.json`, '{}\n');
    daemon = spawn(
      'unshare',
      [
        '--net',
        'dockerd',
        '--host',
        HOST,
        '--config-file',
        `${DIR}/daemon.json`,
        '--data-root',
        `${DIR}/root`,
        '--exec-root',
        `${DIR}/exec`,
        '--pidfile',
        PIDFILE,
        '--cgroup-parent',
        '/xray-d2',
        '--bridge',
        'none',
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const started = Date.now();
    await waitFor(
      async () => {
        if (daemon?.exitCode !== null)
          throw new Error(
            `the private dockerd exited (${daemon?.exitCode}); see ${DIR}/dockerd.log:\n${fs.readFileSync(`${DIR}/dockerd.log`, 'utf8').slice(-2000)}`,
          );
        return (await d2(['version', '--format', '{{.Server.Version}}']).catch(() => '')) ? true : undefined;
      },
      60000,
      'the private dockerd to answer',
      200,
    );
    return Date.now() - started;
  }

  async function stopDaemon(): Promise<void> {
    const d = daemon;
    daemon = null;
    if (!d || d.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => d.once('exit', () => resolve()));
    d.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30000))]);
    if (d.exitCode === null) {
      d.kill('SIGKILL');
      await exited;
    }
  }

  before(async () => {
    requireDocker();
    requireDockerd();
    await ensureBaseImage();
    // Leftovers of an earlier run that died: stop them, then start clean.
    for (const pid of privatePids()) process.kill(pid, 'SIGKILL');
    fs.rmSync(DIR, { recursive: true, force: true });
    fs.mkdirSync(DIR, { recursive: true });
    figures.firstStartMs = await startDaemon();
    const image = execFileSync('docker', ['save', BASE_IMAGE], { maxBuffer: 64 * 1024 * 1024 });
    await d2(['load'], image);
    const client = await DockerClient.connect({ override: HOST });
    // The retry interval the extension uses (the default).
    watcher = new DockerEventWatcher(client);
    watcher.on('event', (ev) => events.push({ at: Date.now(), ev }));
    watcher.on('connected', () => transitions.push({ at: Date.now(), what: 'connected' }));
    watcher.on('disconnected', (err) => transitions.push({ at: Date.now(), what: 'disconnected', why: err.message }));
    watcher.start();
    await waitFor(() => (watcher?.connected ? true : undefined), 10000, 'the watcher to connect');
  });

  after(async function () {
    this.timeout(90000);
    watcher?.stop();
    if (daemon && daemon.exitCode === null) {
      const ids = (await d2(['ps', '-aq']).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length > 0) await d2(['rm', '-f', ...ids]).catch(() => undefined);
    }
    await stopDaemon();
    // Its containerd (and anything else of it) must be gone too; then the directory can go.
    for (const pid of privatePids()) process.kill(pid, 'SIGKILL');
    await waitFor(() => (privatePids().length === 0 ? true : undefined), 10000, 'the private daemon’s processes to exit').catch(
      () => undefined,
    );
    for (const m of fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((p) => p?.startsWith(DIR))
      .reverse()) {
      try {
        execFileSync('umount', ['-l', m]);
      } catch {
        // already gone
      }
    }
    fs.rmSync(DIR, { recursive: true, force: true });
    // The cgroup parent it made (empty once its containers are gone), in every hierarchy.
    for (const dir of cgroupParentDirs()) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // busy or already gone: the assertion below says which
      }
    }
    console.log(`      figures: ${JSON.stringify(figures)}`);
    assert.deepEqual(cgroupParentDirs(), [], 'the private daemon’s cgroup parent is removed');
    assert.deepEqual(privatePids(), [], 'the private dockerd and its containerd are stopped');
    assert.equal(fs.existsSync(DIR), false, `${DIR} is removed`);
  });

  it('sees events from the private daemon (a container start)', async () => {
    // `sleep` as PID 1 ignores SIGTERM: stopping the daemon waits for it (10 s), as with many real containers.
    const id = (await d2(['run', '-d', '--network', 'none', '--label', TEST_LABEL, BASE_IMAGE, 'sleep', '600'])).trim();
    await waitFor(
      () => (events.some((e) => e.ev.id === id && e.ev.action === 'start') ? true : undefined),
      10000,
      `a start event for ${id}`,
    );
  });

  it('says disconnected within seconds of SIGTERM, while the daemon still stops its containers; a snapshot rejects with DaemonUnreachableError naming the socket', async () => {
    const before = transitions.length;
    const killedAt = Date.now();
    const d = daemon!;
    const exited = new Promise<number>((resolve) => d.once('exit', () => resolve(Date.now())));
    d.kill('SIGTERM');
    const down = await waitFor(
      () => transitions.slice(before).find((t) => t.what === 'disconnected'),
      20000,
      'the watcher to say disconnected',
    );
    figures.disconnectedAfterKillMs = down.at - killedAt;
    assert.ok(
      figures.disconnectedAfterKillMs < 5000,
      `disconnected ${figures.disconnectedAfterKillMs} ms after SIGTERM: ${JSON.stringify(transitions.slice(before))}`,
    );
    assert.equal(watcher!.connected, false);

    const engine = await Engine.create({ override: HOST, diskCache: false });
    const t0 = Date.now();
    await assert.rejects(engine.snapshot(), (err: unknown) => {
      assert.ok(err instanceof DaemonUnreachableError, `a DaemonUnreachableError, not ${String(err)}`);
      assert.ok(err.message.includes(SOCK), `the message names the socket: ${err.message}`);
      return true;
    });
    figures.snapshotRejectMs = Date.now() - t0;
    assert.ok(figures.snapshotRejectMs < 5000, `the snapshot failed fast (${figures.snapshotRejectMs} ms)`);
    const exitAt = await Promise.race([
      exited,
      new Promise<number>((_r, reject) =>
        setTimeout(() => reject(new Error('the private dockerd did not exit within 30 s of SIGTERM')), 30000),
      ),
    ]);
    figures.daemonExitAfterKillMs = exitAt - killedAt;
    daemon = null;
    // Still down a few retries later: it says so once, not at every retry.
    await new Promise((r) => setTimeout(r, 4500));
    assert.equal(transitions.slice(before).filter((t) => t.what === 'disconnected').length, 1, JSON.stringify(transitions.slice(before)));
  });

  it('reconnects by itself when the daemon is back, and events resume', async () => {
    const before = transitions.length;
    const startMs = await startDaemon();
    const upAt = Date.now();
    const up = await waitFor(() => transitions.slice(before).find((t) => t.what === 'connected'), 15000, 'the watcher to reconnect');
    figures.restartMs = startMs;
    figures.connectedAfterDaemonUpMs = Math.max(0, up.at - upAt);
    assert.ok(figures.connectedAfterDaemonUpMs < 5000, `connected ${figures.connectedAfterDaemonUpMs} ms after the daemon answered`);
    const id = (await d2(['run', '-d', '--init', '--network', 'none', '--label', TEST_LABEL, BASE_IMAGE, 'sleep', '600'])).trim();
    const startedAt = Date.now();
    const ev = await waitFor(
      () => events.find((e) => e.ev.id === id && e.ev.action === 'start'),
      10000,
      `a start event for ${id} after the restart`,
    );
    figures.eventAfterRestartMs = Math.max(0, ev.at - startedAt);
    const engine = await Engine.create({ override: HOST, diskCache: false });
    const snap = await engine.snapshot();
    assert.ok(
      snap.containers.some((c) => c.id === id && c.state === 'running'),
      'a snapshot works again and lists the new container',
    );
  });

  it('keeps its processes and directory to itself (the private daemon is not the main one)', () => {
    assert.ok(privatePids().length >= 2, `a dockerd and its own containerd under ${DIR}: ${privatePids().join(', ')}`);
    assert.ok(fs.existsSync(`${DIR}/exec/containerd/containerd.sock`), 'its containerd listens under its exec-root');
    const mainPid = Number(fs.readFileSync('/var/run/docker.pid', 'utf8'));
    assert.ok(pidAlive(mainPid), 'the main dockerd still runs');
    assert.ok(!privatePids().includes(mainPid));
    assert.ok(path.isAbsolute(SOCK));
  });
});
