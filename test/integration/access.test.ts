// A docker-group user sees what root sees: the CLI run as an unprivileged member of the docker group reads
// through a helper container and must give root's namespaces, processes, limits and layer changes.
import * as assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import { HELPER_LABEL, HelperSession } from '../../src/core/access/helper';
import { helperBinds } from '../../src/core/access/paths';
import { ContainerSnapshot, LayerReport, Snapshot } from '../../src/shared/model';
import { buildImage, docker, ensureBaseImage, removeContainers, requireDocker, runContainer } from '../support/docker';
import { DOCKER_USER, asDockerUser, ensureDockerUser, removeDockerUser } from '../support/dockerUser';
import { openTarget, removeParkedHelpers } from '../support/targets';

const CLI = path.join(__dirname, '..', '..', '..', 'dist', 'cli.js');
/** Where the docker-group user's CLI runs record their helpers (its default cache dir). */
const USER_REGISTRY = `/home/${DOCKER_USER}/.cache/container-xray/helpers`;
const WEIRD = 'we ird\nname ';
/** An official name (so it is the image picked when none is set), yet no shell: the user's image all the same. */
const NO_SHELL = 'busybox:xray-it-noshell';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI as root (this process's user) or as the unprivileged docker-group user. */
function runCli(cli: string, args: string[], as: 'root' | 'user'): Promise<CliRun> {
  const started = Date.now();
  const user = asDockerUser([process.execPath, cli, ...args]);
  const [file, argv, env] = as === 'root' ? [process.execPath, [cli, ...args], process.env] : [user.file, user.argv, user.env];
  return new Promise((resolve) => {
    execFile(file, argv, { env, maxBuffer: 256 * 1024 * 1024, timeout: 240000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === 1 ? err.message : ''), ms: Date.now() - started });
    });
  });
}

function json<T>(run: CliRun, what: string): T {
  assert.equal(run.code, 0, `${what} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

async function helperContainers(): Promise<string[]> {
  return (await docker(['ps', '-aq', '--filter', `label=${HELPER_LABEL}=1`])).split('\n').filter(Boolean);
}

/** What must be equal between root's and the helper's reads: everything but live counters and how it was read. */
function comparableContainer(c: ContainerSnapshot) {
  return {
    id: c.id,
    name: c.name,
    image: c.image,
    state: c.state,
    pid: c.pid,
    namespaces: c.namespaces,
    processes: [...c.processes]
      .sort((a, b) => a.hostPid - b.hostPid)
      .map((p) => ({
        hostPid: p.hostPid,
        containerPid: p.containerPid,
        ppid: p.ppid,
        uid: p.uid,
        user: p.user,
        name: p.name,
        command: p.command,
        threads: p.threads,
      })),
    cgroup: c.cgroup && {
      version: c.cgroup.version,
      driver: c.cgroup.driver,
      path: c.cgroup.path,
      dirs: c.cgroup.dirs,
      rootless: c.cgroup.rootless,
      limits: c.cgroup.limits,
    },
    overlay: c.overlay,
    errors: c.errors,
  };
}

function comparableSnapshot(s: Snapshot) {
  return {
    containers: [...s.containers].sort((a, b) => (a.id < b.id ? -1 : 1)).map(comparableContainer),
    namespaceGroups: s.namespaceGroups.map((g) => ({ ...g, members: [...g.members].sort() })),
    // Which process stood in for PID 1, not which of its links failed first.
    hostNamespacesFrom: s.hostNamespacesFrom.split(':')[0],
    errors: s.errors,
  };
}

function comparableLayers(r: LayerReport) {
  return { ...r, layers: r.layers.map(({ source: _source, ...rest }) => rest) };
}

describe('access for a docker-group user through a helper container (real engine)', function () {
  this.timeout(600000);
  const ids: Record<string, string> = {};
  const names = ['xray-acc-limited', 'xray-acc-joined', 'xray-acc-alone', 'xray-acc-layered'];
  let cliDir: string;
  let createdUser = false;
  let cli: string;
  let root: Snapshot;
  let user: Snapshot;
  let userRun: CliRun;
  let rootRun: CliRun;
  /** The helper image every run names explicitly (no official image is assumed to be local). */
  let base: string;

  before(async () => {
    requireDocker();
    assert.ok(fs.existsSync(CLI), `${CLI} is built (node esbuild.mjs)`);
    createdUser = ensureDockerUser();
    // The user may not traverse the checkout: the CLI is installed where the user can read it, as the
    // package ships it (the whole of dist/: the bundle loads its vendor bundles lazily).
    cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-cli-'));
    fs.cpSync(path.dirname(CLI), path.join(cliDir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.vsix') });
    execFileSync('chmod', ['-R', 'a+rX', cliDir]);
    cli = path.join(cliDir, 'dist', 'cli.js');
    base = await ensureBaseImage();
    await buildImage(
      'xray-it-access:1',
      `FROM ${base}
RUN mkdir -p /data/sub /data/keep && echo a > /data/sub/a.txt && echo gone > /data/gone.txt && echo k > /data/keep/k.txt
RUN rm /data/gone.txt && rm -rf /data/sub && mkdir /data/sub && echo b > /data/sub/b.txt
CMD ["sleep", "3600"]
`,
    );
    // An official name, so it is what runs when no helper image is set, yet it has no shell.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-noshell-'));
    fs.writeFileSync(path.join(empty, 'readme'), 'no shell here\n');
    try {
      execFileSync('sh', ['-c', 'tar -C "$1" -c . | docker import - "$2"', 'sh', empty, NO_SHELL], { stdio: 'pipe' });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    ids.limited = await runContainer([
      '--name',
      names[0],
      '--network',
      'none',
      '--ipc',
      'shareable',
      '--memory',
      '64m',
      '--cpus',
      '0.5',
      '--pids-limit',
      '50',
      '--cpuset-cpus',
      '0',
      base,
      'sh',
      '-c',
      'sleep 2001 & sleep 2002 & exec sleep 2003',
    ]);
    ids.joined = await runContainer([
      '--name',
      names[1],
      '--network',
      `container:${names[0]}`,
      '--pid',
      `container:${names[0]}`,
      '--ipc',
      `container:${names[0]}`,
      base,
      'sleep',
      '2004',
    ]);
    ids.alone = await runContainer(['--name', names[2], '--network', 'none', '--memory', '32m', base, 'sleep', '2005']);
    // A writable layer with an opaque dir, a deletion, a name with a newline, a link and a dir only its owner may read.
    ids.layered = await runContainer([
      '--name',
      names[3],
      '--network',
      'none',
      'xray-it-access:1',
      'sh',
      '-c',
      `rm -rf /data/keep && mkdir /data/keep && echo fresh > /data/keep/new.txt && rm /data/sub/b.txt && echo hi > "/data/${WEIRD}" && ln -s /data/sub /data/link && ` +
        'mkdir -p /home/app/private && echo s > /home/app/private/secret && chown -R 1000:1000 /home/app && chmod 700 /home/app/private && chmod 600 /home/app/private/secret && ' +
        'touch /tmp/ready && exec sleep 2006',
    ]);
    for (let i = 0; i < 100 && !(await docker(['exec', ids.layered, 'ls', '/tmp']).catch(() => '')).includes('ready'); i++)
      await new Promise((r) => setTimeout(r, 100));
    [rootRun, userRun] = [
      await runCli(cli, ['snapshot', '--json', ...names], 'root'),
      await runCli(cli, ['snapshot', '--json', '--helper-image', base, ...names], 'user'),
    ];
    root = json<Snapshot>(rootRun, 'root snapshot');
    user = json<Snapshot>(userRun, 'docker-group user snapshot');
  });

  after(async () => {
    await removeParkedHelpers(await openTarget('local'), USER_REGISTRY);
    await removeContainers(Object.values(ids));
    await docker(['rmi', '-f', 'xray-it-access:1', NO_SHELL]).catch(() => undefined);
    if (cliDir) fs.rmSync(cliDir, { recursive: true, force: true });
    if (createdUser) removeDockerUser();
    assert.deepEqual(await helperContainers(), [], 'no helper container is left behind');
  });

  it('root reads directly; the docker-group user reads through the helper and says why', () => {
    assert.equal(root.host.access.mode, 'direct');
    assert.equal(user.host.access.mode, 'helper');
    assert.match(
      user.host.access.reason,
      /^permission denied reading \/proc\/\d+\/ns\/net as uid \d+ \(in the docker group\): reading through a helper container \(image xray-test-busybox:1, ID sha256:[0-9a-f]{64}\)$/,
    );
    assert.deepEqual(user.host.access.helper, {
      image: base,
      imageId: execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', base], { encoding: 'utf8' }).trim(),
    });
    assert.ok((user.daemonCalls.helper ?? 0) >= 3, `the helper was started through the daemon (calls ${JSON.stringify(user.daemonCalls)})`);
    console.log(
      `      CLI snapshot of ${names.length} containers: root direct ${rootRun.ms} ms, docker-group user through the helper ${userRun.ms} ms`,
    );
  });

  it('gives the docker-group user the same namespaces, processes, limits and overlay as root', () => {
    assert.equal(user.containers.length, names.length);
    assert.deepEqual(comparableSnapshot(user), comparableSnapshot(root));
    // Not vacuously equal: what root reads is there.
    const limited = root.containers.find((c) => c.id === ids.limited)!;
    assert.ok(limited.namespaces?.net, 'namespaces read');
    assert.equal(limited.processes.length, 3);
    assert.equal(limited.cgroup?.limits.memoryBytes, 64 * 1024 * 1024);
    assert.equal(limited.cgroup?.limits.pidsMax, 50);
    assert.deepEqual(limited.errors, []);
    const joined = root.containers.find((c) => c.id === ids.joined)!;
    assert.equal(joined.namespaces?.net, limited.namespaces?.net);
    assert.ok(joined.processes[0].containerPid! > 1);
  });

  it('shows the user usage figures of the same containers (read live, so only their presence is compared)', () => {
    for (const c of user.containers) {
      assert.ok(c.cgroup?.usage.memoryBytes !== null && c.cgroup!.usage.memoryBytes! > 0, `${c.name} memory usage`);
      assert.equal(c.cgroup?.usage.pidsCurrent, root.containers.find((r) => r.id === c.id)!.cgroup?.usage.pidsCurrent);
    }
  });

  it('leaves its helper parked for the next run, which takes it over: no second helper starts, and the reads agree', async () => {
    const parked = await helperContainers();
    assert.equal(parked.length, 1, `one helper left running for the next run: ${parked.join(', ')}`);
    const records = fs.readdirSync(USER_REGISTRY).filter((n) => n.startsWith('parked-'));
    assert.equal(records.length, 1, `the user's registry records it as parked: ${records.join(', ')}`);
    assert.ok(records[0].startsWith(`parked-${parked[0]}`), `${records[0]} records the running helper ${parked[0]}`);
    const since = (Date.now() / 1000).toFixed(3);
    const next = await runCli(cli, ['snapshot', '--json', '--helper-image', base, ...names], 'user');
    const again = json<Snapshot>(next, 'the next docker-group user snapshot');
    assert.deepEqual(comparableSnapshot(again), comparableSnapshot(root), 'the same reads as root through the helper it took over');
    const created = await docker([
      'events',
      '--since',
      since,
      '--until',
      (Date.now() / 1000 + 1).toFixed(3),
      '--filter',
      'type=container',
      '--filter',
      'event=create',
      '--filter',
      `label=${HELPER_LABEL}=1`,
      '--format',
      '{{.Actor.ID}}',
    ]);
    assert.equal(created.trim(), '', 'no helper container was created for the next run');
    assert.deepEqual(await helperContainers(), parked, 'the same helper runs on, parked again');
    console.log(
      `      docker-group user CLI snapshot: first run (starts the helper) ${userRun.ms} ms, next run (takes it over) ${next.ms} ms`,
    );
  });

  it('a parked helper ends by itself after its idle time (--helper-idle), and the daemon removes it', async function () {
    this.timeout(180000);
    const before = new Set(await helperContainers());
    const run = await runCli(cli, ['snapshot', '--json', '--helper-idle', '20', '--helper-image', base, names[2]], 'user');
    json<Snapshot>(run, 'a snapshot with a 20 s helper idle time');
    const fresh = (await helperContainers()).filter((id) => !before.has(id));
    assert.equal(fresh.length, 1, 'another idle time is another helper (it is not taken over)');
    const parkedAt = Date.now();
    assert.ok(
      fs.readdirSync(USER_REGISTRY).some((n) => n.startsWith(`parked-${fresh[0]}`)),
      'it was parked: running after its run ended, and recorded for the next',
    );
    let gone = false;
    while (!gone && Date.now() - parkedAt < 60000) {
      await new Promise((r) => setTimeout(r, 1000));
      gone = !(await helperContainers()).includes(fresh[0]);
    }
    assert.ok(gone, `the helper ${fresh[0]} still runs ${Date.now() - parkedAt} ms after it was parked with a 20 s idle time`);
    assert.ok(Date.now() - parkedAt >= 10000, `it stayed for the next run for most of its idle time, not ${Date.now() - parkedAt} ms`);
    console.log(`      a helper parked with a 20 s idle time was gone ${Date.now() - parkedAt} ms after its run ended`);
  });

  it('gives the same image layers (tar-split read through the helper) and container layer changes', async () => {
    for (const ref of ['xray-it-access:1', names[3]]) {
      const [r, u] = [
        await runCli(cli, ['layers', ref, '--json'], 'root'),
        await runCli(cli, ['layers', ref, '--json', '--helper-image', base], 'user'),
      ];
      const rootReport = json<LayerReport>(r, `root layers ${ref}`);
      const userReport = json<LayerReport>(u, `user layers ${ref}`);
      assert.deepEqual(comparableLayers(userReport), comparableLayers(rootReport), ref);
      assert.deepEqual(userReport.errors, [], `${ref}: nothing fell back`);
      assert.ok(
        userReport.layers.every((l) => l.source === 'tar-split'),
        `${ref}: image layers from tar-split, through the helper`,
      );
    }
    const report = json<LayerReport>(await runCli(cli, ['layers', names[3], '--json', '--helper-image', base], 'user'), 'user layers');
    const changes = new Map(report.upper!.changes.map((c) => [c.path, c]));
    assert.equal(changes.get('/data/keep')?.opaque, true, 'opaque dir, judged through the merged view in the helper');
    assert.equal(changes.get('/data/keep/new.txt')?.kind, 'added');
    assert.equal(changes.get('/data/sub/b.txt')?.kind, 'deleted');
    assert.equal(changes.get(`/data/${WEIRD}`)?.sizeBytes, 3, 'a name with a newline and spaces');
    assert.equal(changes.get('/data/link')?.linkTarget, '/data/sub');
    assert.equal(changes.get('/home/app/private/secret')?.sizeBytes, 2, 'a dir only uid 1000 may read (DAC_READ_SEARCH)');
    assert.ok(report.upper!.sizeBytes > 0, 'sizes from the upper dir, not the daemon change list');
    assert.ok((await helperContainers()).length <= 1, 'one helper at most: each run takes over the one the last left');
    // The parked one removed, nothing of the CLI runs is left (the tests below count helpers from zero).
    await removeParkedHelpers(await openTarget('local'), USER_REGISTRY);
    assert.deepEqual(await helperContainers(), []);
  });

  it('gives root, in process with access "helper", the same results as direct reads', async () => {
    const direct = await Engine.create({ diskCache: false, access: 'direct' });
    const helper = await Engine.create({ diskCache: false, access: 'helper', helperImage: base, helperIdleMs: 0 });
    try {
      const d0 = Date.now();
      const ds = await direct.snapshot({ containers: names });
      const d1 = Date.now();
      const hs = await helper.snapshot({ containers: names });
      const h1 = Date.now();
      assert.equal(hs.host.access.mode, 'helper');
      assert.match(hs.host.access.reason, /asked for.*: reading through a helper container \(image /);
      assert.deepEqual(comparableSnapshot(hs), comparableSnapshot(ds));
      for (const ref of ['xray-it-access:1', names[3]])
        assert.deepEqual(comparableLayers(await helper.layers(ref)), comparableLayers(await direct.layers(ref)), ref);
      const warmD = Date.now();
      await direct.snapshot({ containers: names });
      const warmH = Date.now();
      await helper.snapshot({ containers: names });
      const end = Date.now();
      console.log(
        `      in-process snapshot of ${names.length} containers: direct ${d1 - d0} ms cold / ${warmH - warmD} ms warm, helper ${h1 - d1} ms cold / ${end - warmH} ms warm`,
      );
    } finally {
      await helper.dispose();
    }
    assert.deepEqual(await helperContainers(), []);
  });

  it('never lists its own helper container among the containers, even while it runs', async () => {
    const helper = await Engine.create({ diskCache: false, access: 'helper', helperImage: base, helperIdleMs: 60000 });
    try {
      const all = await helper.snapshot();
      assert.equal((await helperContainers()).length, 1, 'the helper is running (kept for the idle time)');
      assert.ok(all.containers.every((c) => c.labels[HELPER_LABEL] === undefined));
      const images = await helper.images();
      const helperId = (await helperContainers())[0];
      assert.ok(images.every((i) => !i.containers.some((c) => c.startsWith(helperId))));
    } finally {
      await helper.dispose();
    }
    assert.deepEqual(await helperContainers(), []);
  });

  it('starts a new helper when the one it had exits, and refuses paths outside its binds with a reason', async () => {
    const engine = await Engine.create({ diskCache: false, access: 'helper', helperImage: base, helperIdleMs: 60000 });
    try {
      await engine.snapshot({ containers: [names[0]] });
      const [first] = await helperContainers();
      await docker(['kill', first]);
      for (let i = 0; i < 50 && (await helperContainers()).includes(first); i++) await new Promise((r) => setTimeout(r, 100));
      const again = await engine.snapshot({ containers: [names[0]] });
      assert.deepEqual(
        comparableSnapshot(again).containers,
        comparableSnapshot(root).containers.filter((c) => c.id === ids.limited),
      );
      const [second] = await helperContainers();
      assert.ok(second && second !== first, 'a new helper serves the next refresh');
      await assert.rejects(engine.files.readText('/etc/hostname'), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EACCES');
        assert.match(err.message, /\/etc\/hostname is outside what the helper container is given/);
        return true;
      });
    } finally {
      await engine.dispose();
    }
    assert.deepEqual(await helperContainers(), []);
  });

  it('starts without an optional bind the daemon machine lacks, answering ENOENT under it', async () => {
    const engine = await Engine.create({ diskCache: false });
    const binds = [
      ...helperBinds('/var/lib/docker'),
      { host: '/run/xray-it-absent', helper: '/host/run/xray-it-absent', purpose: 'test', optional: true },
    ];
    const session = await HelperSession.start(engine.runtime, {
      image: base,
      binds,
      securityOptions: [],
      serverVersion: '',
      dockerRootDir: '/var/lib/docker',
    });
    try {
      const absent = session.translator.toHelper('/run/xray-it-absent/x');
      assert.equal(absent.ok, false);
      if (!absent.ok) assert.equal(absent.code, 'ENOENT');
      const reply = await session.request('l', '/proc/1/ns/net', '/proc/1/ns/net');
      assert.ok(reply.ok || reply.code === 'EACCES', 'the helper serves requests');
    } finally {
      await session.close();
    }
    assert.deepEqual(await helperContainers(), []);
  });

  it('exits 5 with what to do when the helper image does not exist', async () => {
    for (const [as, args] of [
      ['user', ['snapshot', '--helper-image', 'no-such-image:404']],
      ['root', ['snapshot', '--access', 'helper', '--helper-image', 'no-such-image:404']],
    ] as const) {
      const run = await runCli(cli, [...args], as);
      assert.equal(run.code, 5, `${as}: ${run.stderr}`);
      assert.match(
        run.stderr,
        /the helper image no-such-image:404 is not on the daemon's machine .*set containerXray\.helperImage \(CLI: --helper-image\)/,
      );
      assert.equal(run.stdout, '');
    }
    const noShell = await runCli(cli, ['snapshot', '--access', 'helper', '--helper-image', NO_SHELL], 'root');
    assert.equal(noShell.code, 5, noShell.stderr);
    assert.match(noShell.stderr, /the helper image busybox:xray-it-noshell has no \/bin\/sh .*set containerXray\.helperImage/);
    const bad = await runCli(cli, ['snapshot', '--access', 'sometimes'], 'root');
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--access takes auto, direct, helper/);
    assert.deepEqual(await helperContainers(), []);
  });

  it('runs the official image found by its exact name and no other: one without a shell is an error naming it', async () => {
    const engine = await Engine.create({ diskCache: false, access: 'helper', helperIdleMs: 0 });
    try {
      // NO_SHELL is the smallest local busybox: the one picked, and the only one tried.
      await assert.rejects(engine.snapshot({ containers: [names[2]] }), (err: Error) => {
        assert.equal(err.name, 'HelperUnavailableError');
        assert.match(err.message, /the helper image busybox:xray-it-noshell has no \/bin\/sh .*set containerXray\.helperImage/);
        return true;
      });
      // listImages, then create/attach/start/remove of the shell-less one; nothing else was tried.
      assert.ok((engine.runtime.calls.helper ?? 0) <= 6, `one image tried (${JSON.stringify(engine.runtime.calls)})`);
    } finally {
      await engine.dispose();
    }
    assert.deepEqual(await helperContainers(), []);
  });

  it('tells the user in `host` which way is in use and why', async () => {
    const run = await runCli(cli, ['host', '--helper-image', base], 'user');
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /Access\s+helper: permission denied reading \/proc\/\d+\/ns\/net as uid \d+ \(in the docker group\): reading through a helper container/,
    );
    assert.match(run.stdout, /Helper image\s+xray-test-busybox:1 \(ID sha256:[0-9a-f]{64}\)/);
  });
});
