// Which image the privileged helper runs, and that it does not outlive its owner, on the real engine. The
// oracles are the daemon's own records: `docker events` (which containers were created from which image),
// `docker inspect` and `docker ps`.
import * as assert from 'node:assert/strict';
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HELPER_LABEL } from '../../src/core/access/helper';
import type { HelperImageApproval } from '../../src/core/access/helperImage';
import { currentProcess } from '../../src/core/access/registry';
import { Engine } from '../../src/core/engine';
import type { HostFacts, LayerReport, Snapshot } from '../../src/shared/model';
import { buildImage, docker, ensureBaseImage, removeContainers, requireDocker, runContainer } from '../support/docker';
import { openTarget, removeParkedHelpers } from '../support/targets';

const DIST = path.resolve(__dirname, '..', '..', '..', 'dist');
const OFFICIAL = 'busybox:xray-helperimg';
const WORKING = 'xray-helperimg-official:1';
const NO_SHELL = 'xray-helperimg-noshell:1';
/** Images whose names only look official; each has a working /bin/sh, so only the choice rule keeps them out. */
const LOOKALIKES = [
  'xray-helperimg-sec-busybox:1',
  'localhost/busybox:xray-helperimg',
  'busybox-evil:xray-helperimg',
  'xray-helperimg/busybox:latest',
];
const OFFICIAL_REPOS = new Set(['busybox', 'alpine', 'debian', 'ubuntu']);

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function imageId(ref: string): string {
  return execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', ref], { encoding: 'utf8' }).trim();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Unix seconds, as `docker events --since/--until` take them. */
function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** The containers created between `since` and now, with the image each was created from (name or ID as given). */
async function createdContainers(since: number): Promise<{ id: string; image: string; name: string }[]> {
  await sleep(1100);
  const out = await docker([
    'events',
    '--since',
    String(since),
    '--until',
    String(now()),
    '--filter',
    'type=container',
    '--filter',
    'event=create',
    '--format',
    '{{json .}}',
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; Actor: { Attributes: Record<string, string> } })
    .map((e) => ({ id: e.id, image: e.Actor.Attributes.image ?? '', name: e.Actor.Attributes.name ?? '' }));
}

/** Local images named exactly as an official helper image, other than this file's own. */
function otherOfficialImages(): string[] {
  return execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' })
    .split('\n')
    .filter((t) => OFFICIAL_REPOS.has(t.slice(0, t.lastIndexOf(':'))) && t !== OFFICIAL);
}

/** The idle time the killed CLI gives its helper (--helper-idle). */
const KILLED_IDLE_S = 15;

describe('the helper image and the helper lifecycle (real engine)', function () {
  this.timeout(300000);
  let dir: string;
  let cli: string;
  const ids: Record<string, string> = {};
  const images: Record<string, string> = {};

  /** The CLI as root, with its own cache dir (so its helper record is found and nothing else's is). */
  function runCli(args: string[], cacheHome = path.join(dir, 'cache')): Promise<CliRun> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [cli, ...args],
        { env: { ...process.env, XDG_CACHE_HOME: cacheHome }, maxBuffer: 256 * 1024 * 1024, timeout: 180000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  before(async () => {
    requireDocker();
    assert.ok(fs.existsSync(path.join(DIST, 'cli.js')), 'dist/cli.js is built (npm run build)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-helperimg-'));
    // A copy of the bundle, so a rebuild meanwhile does not change what runs.
    fs.cpSync(DIST, path.join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.vsix') });
    cli = path.join(dir, 'dist', 'cli.js');
    const base = await ensureBaseImage();
    // Distinct image IDs (a label each), so the daemon's events tell which one a container came from.
    for (const [i, name] of [WORKING, ...LOOKALIKES].entries())
      await buildImage(name, `FROM ${base}\nLABEL xray.h3.image=${i}\nCMD ["sleep", "3600"]\n`);
    const empty = fs.mkdtempSync(path.join(dir, 'noshell-'));
    fs.writeFileSync(path.join(empty, 'readme'), 'no shell here\n');
    execFileSync('sh', ['-c', 'tar -C "$1" -c . | docker import - "$2"', 'sh', empty, NO_SHELL], { stdio: 'pipe' });
    for (const name of [WORKING, NO_SHELL, ...LOOKALIKES]) images[name] = imageId(name);
    ids.labelled = await runContainer([
      '--name',
      'xray-helperimg-labelled',
      '--network',
      'none',
      '--label',
      `${HELPER_LABEL}=1`,
      WORKING,
      'sleep',
      '3600',
    ]);
    // A writable layer large enough that walking it through the helper takes a while.
    ids.big = await runContainer([
      '--name',
      'xray-helperimg-big',
      '--network',
      'none',
      WORKING,
      'sh',
      '-c',
      'mkdir /many && cd /many && seq 1 200000 | xargs touch && touch /ready && exec sleep 3600',
    ]);
    for (let i = 0; i < 1200 && !(await docker(['exec', ids.big, 'ls', '/']).catch(() => '')).includes('ready'); i++) await sleep(100);
  });

  after(async () => {
    // The helpers this suite's CLI runs left parked for reuse, in the caches it gave them.
    if (dir)
      for (const cache of ['cache', 'killed'])
        await removeParkedHelpers(await openTarget('local'), path.join(dir, cache, 'container-xray', 'helpers'));
    await removeContainers(Object.values(ids));
    await docker(['rmi', '-f', OFFICIAL, WORKING, NO_SHELL, ...LOOKALIKES]).catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never runs a look-alike image: without a set or official image, nothing runs and the error says what to do', async () => {
    const others = otherOfficialImages();
    assert.deepEqual(others, [], 'no official busybox/alpine/debian/ubuntu image is local besides this test’s');
    const since = now();
    const asked: HelperImageApproval[] = [];
    const engine = await Engine.create({
      diskCache: false,
      access: 'helper',
      helperIdleMs: 0,
      approveHelperImage: async (r) => {
        asked.push(r);
        return true;
      },
    });
    try {
      await assert.rejects(engine.snapshot({ containers: ['xray-helperimg-labelled'] }), (err: Error) => {
        assert.equal(err.name, 'HelperUnavailableError');
        assert.match(
          err.message,
          /no official busybox, alpine, debian or ubuntu image .*set containerXray\.helperImage \(CLI: --helper-image\)/,
        );
        return true;
      });
    } finally {
      await engine.dispose();
    }
    assert.deepEqual(asked, [], 'no image was even proposed');
    const run = await runCli(['snapshot', '--access', 'helper']);
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, /no official busybox, alpine, debian or ubuntu image/);
    const lookalikeIds = new Set(LOOKALIKES.flatMap((n) => [n, images[n]]));
    const created = await createdContainers(since);
    assert.deepEqual(
      created.filter((c) => lookalikeIds.has(c.image)),
      [],
      'no container was created from a look-alike',
    );
  });

  it('runs an exact official name when it is local (the user’s image, whatever it holds), saying which image and ID', async () => {
    execFileSync('docker', ['tag', WORKING, OFFICIAL]);
    const id = images[WORKING];
    const asked: HelperImageApproval[] = [];
    const engine = await Engine.create({
      diskCache: false,
      access: 'helper',
      helperIdleMs: 60000,
      approveHelperImage: async (r) => {
        asked.push(r);
        return true;
      },
    });
    try {
      const snap = await engine.snapshot({ containers: ['xray-helperimg-labelled'] });
      assert.deepEqual(snap.host.access.helper, { image: OFFICIAL, imageId: id });
      assert.match(snap.host.access.reason, new RegExp(`\\(image ${OFFICIAL}, ID ${id}\\)$`));
      assert.deepEqual(asked, [{ image: OFFICIAL, imageId: id, source: 'official', endpoint: engine.runtime.endpoint.host }]);
      // The daemon's word on what runs: created from that image ID, labelled, with the idle timeout and a stdin.
      const [helperId] = engine.helpers.mine();
      const info = JSON.parse(await docker(['inspect', helperId]))[0] as {
        Image: string;
        State: { Running: boolean };
        Config: { Image: string; Env: string[]; OpenStdin: boolean; StdinOnce: boolean; Labels: Record<string, string> };
      };
      assert.equal(info.Image, id);
      assert.equal(info.Config.Image, id);
      assert.equal(info.State.Running, true);
      assert.ok(info.Config.Env.includes('XRAY_IDLE_S=120'), info.Config.Env.join(' '));
      assert.equal(info.Config.OpenStdin, true);
      assert.equal(info.Config.StdinOnce, true);
      // Approved once for this engine: the next refresh does not ask.
      await engine.snapshot({ containers: ['xray-helperimg-labelled'] });
      assert.equal(asked.length, 1);
    } finally {
      await engine.dispose();
    }
    const host = await runCli(['host', '--access', 'helper']);
    assert.equal(host.code, 0, host.stderr);
    assert.match(host.stdout, new RegExp(`Helper image\\s+${OFFICIAL} \\(ID ${id}\\)`));
    assert.match(host.stdout, new RegExp(`Access\\s+helper: .*\\(image ${OFFICIAL}, ID ${id}\\)`));
    const snap = await runCli(['snapshot', '--json', '--access', 'helper', 'xray-helperimg-labelled']);
    assert.equal(snap.code, 0, snap.stderr);
    assert.deepEqual((JSON.parse(snap.stdout) as Snapshot).host.access.helper, { image: OFFICIAL, imageId: id });
    assert.match(
      (await runCli(['snapshot', '--access', 'helper', 'xray-helperimg-labelled'])).stdout,
      new RegExp(`Helper image: ${OFFICIAL} \\(ID ${id}\\)`),
    );
  });

  it('asks again when the name is retagged to another image ID; a "no" runs nothing and the reason says so', async () => {
    execFileSync('docker', ['tag', WORKING, OFFICIAL]);
    const asked: HelperImageApproval[] = [];
    const engine = await Engine.create({
      diskCache: false,
      access: 'helper',
      helperIdleMs: 0,
      approveHelperImage: async (r) => {
        asked.push(r);
        return r.imageId === images[WORKING];
      },
    });
    try {
      const first = await engine.snapshot({ containers: ['xray-helperimg-labelled'] });
      assert.equal(first.host.access.helper?.imageId, images[WORKING]);
      // Someone points the official name at another image (here one with a working shell).
      const evil = LOOKALIKES[0];
      execFileSync('docker', ['tag', evil, OFFICIAL]);
      const since = now();
      const second = await engine.snapshot({ containers: ['xray-helperimg-labelled'] });
      assert.deepEqual(
        asked.map((a) => a.imageId),
        [images[WORKING], images[evil]],
      );
      assert.equal(second.host.access.mode, 'direct');
      assert.match(second.host.access.reason, new RegExp(`running the helper image ${OFFICIAL}, ID ${images[evil]} .*was declined`));
      assert.equal(second.containers.length, 1, 'the snapshot still arrives');
      const created = await createdContainers(since);
      assert.deepEqual(
        created.filter((c) => c.image === images[evil] || c.image === OFFICIAL),
        [],
        'nothing ran from the declined image',
      );
    } finally {
      await engine.dispose();
      execFileSync('docker', ['tag', WORKING, OFFICIAL]);
    }
  });

  it('fails naming the chosen image when it cannot run, and tries no other image', async () => {
    execFileSync('docker', ['tag', WORKING, OFFICIAL]);
    const since = now();
    const run = await runCli(['snapshot', '--access', 'helper', '--helper-image', NO_SHELL]);
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, new RegExp(`the helper image ${NO_SHELL} has no /bin/sh .*set containerXray\\.helperImage`));
    assert.equal(run.stdout, '');
    const engine = await Engine.create({ diskCache: false, access: 'helper', helperImage: NO_SHELL, helperIdleMs: 0 });
    try {
      await assert.rejects(engine.snapshot(), new RegExp(`the helper image ${NO_SHELL} has no /bin/sh`));
    } finally {
      await engine.dispose();
    }
    // An official image that cannot run: an error naming it, not a reason to try the set or another one.
    execFileSync('docker', ['tag', NO_SHELL, OFFICIAL]);
    const official = await runCli(['host', '--access', 'helper']);
    assert.equal(official.code, 5, official.stderr);
    assert.match(official.stderr, new RegExp(`the helper image ${OFFICIAL} has no /bin/sh`));
    const created = await createdContainers(since);
    const fromOthers = created.filter((c) => c.name.startsWith('container-xray-helper-') && c.image !== images[NO_SHELL]);
    assert.deepEqual(
      fromOthers.filter((c) => [images[WORKING], OFFICIAL, WORKING, ...LOOKALIKES.map((n) => images[n])].includes(c.image)),
      [],
      'no fallback to another image',
    );
    assert.ok(
      created.filter((c) => c.image === images[NO_SHELL]).length >= 3,
      `the chosen image was tried each time (${JSON.stringify(created)})`,
    );
    execFileSync('docker', ['tag', WORKING, OFFICIAL]);
  });

  it('lists a normal container that carries the helper label, while still leaving out its own helpers', async () => {
    const direct = await Engine.create({ diskCache: false, access: 'direct' });
    try {
      const snap = await direct.snapshot();
      const listed = snap.containers.find((c) => c.id === ids.labelled);
      assert.ok(listed, 'the labelled container is in the snapshot');
      assert.equal(listed.labels[HELPER_LABEL], '1');
      assert.ok(listed.namespaces?.net, 'and read like any other');
      const imgs = await direct.images();
      assert.ok(imgs.find((i) => i.id === images[WORKING])?.containers.includes(ids.labelled), 'an image user');
      const report: LayerReport = await direct.layers('xray-helperimg-labelled');
      assert.equal(report.container?.id, ids.labelled);
    } finally {
      await direct.dispose();
    }
    const helper = await Engine.create({ diskCache: false, access: 'helper', helperImage: WORKING, helperIdleMs: 60000 });
    try {
      const snap = await helper.snapshot();
      const [own] = helper.helpers.mine();
      assert.ok(own, 'a helper runs');
      const labelled = (await docker(['ps', '-q', '--no-trunc', '--filter', `label=${HELPER_LABEL}`])).split('\n');
      assert.ok(labelled.includes(own) && labelled.includes(ids.labelled), 'both carry the label');
      assert.ok(
        snap.containers.some((c) => c.id === ids.labelled),
        'the labelled one is listed',
      );
      assert.ok(!snap.containers.some((c) => c.id === own), 'its own helper is not');
      assert.ok(!(await helper.images()).some((i) => i.containers.includes(own)));
    } finally {
      await helper.dispose();
    }
  });

  it('leaves no helper running once its idle time is over after the CLI is killed (SIGKILL) in the middle of a read', async () => {
    const cache = path.join(dir, 'killed');
    const registry = path.join(cache, 'container-xray', 'helpers');
    const child: ChildProcess = spawn(
      process.execPath,
      [
        cli,
        'layers',
        'xray-helperimg-big',
        '--json',
        '--access',
        'helper',
        '--helper-image',
        WORKING,
        '--helper-idle',
        String(KILLED_IDLE_S),
      ],
      {
        env: { ...process.env, XDG_CACHE_HOME: cache },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let helperId: string | undefined;
    let exitedFirst: boolean;
    try {
      // The CLI records its helper before starting it: as soon as it runs, kill the CLI outright (it is then
      // reading the image's layers and walking 200 000 entries of the writable layer through the helper).
      for (let i = 0; i < 1500 && !helperId && child.exitCode === null; i++) {
        const files = fs.existsSync(registry) ? fs.readdirSync(registry).filter((f) => f.endsWith('.json')) : [];
        for (const f of files) {
          const rec = JSON.parse(fs.readFileSync(path.join(registry, f), 'utf8')) as { pid: number; helpers: string[] };
          if (rec.pid !== child.pid || rec.helpers.length === 0) continue;
          const running = (await docker(['inspect', '-f', '{{.State.Running}}', rec.helpers[0]]).catch(() => '')).trim() === 'true';
          if (running) helperId = rec.helpers[0];
        }
        if (!helperId) await sleep(20);
      }
      exitedFirst = child.exitCode !== null;
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(helperId, 'the CLI started a helper');
    assert.equal(exitedFirst, false, 'the CLI was still at work when it was killed');
    // A CLI's helper keeps its stdin for the next run (--helper-idle), so it ends by its idle time, counted
    // from its last request: the walk it was doing, then that long.
    const killedAt = Date.now();
    let gone = false;
    while (Date.now() - killedAt < 30000 + KILLED_IDLE_S * 1000) {
      const running = (await docker(['ps', '-q', '--no-trunc', '--filter', `id=${helperId}`])).trim();
      if (running === '') {
        gone = true;
        break;
      }
      await sleep(250);
    }
    const after = Date.now() - killedAt;
    if (!gone) await docker(['rm', '-f', helperId!]).catch(() => undefined);
    assert.ok(gone, `the helper ${helperId} was still running ${30 + KILLED_IDLE_S} s after its CLI was killed`);
    console.log(`      the helper exited ${after} ms after its CLI was killed`);
    // Its record is left (the CLI could not clear it); the next run, of any command, clears it.
    assert.equal(fs.readdirSync(registry).length, 1);
    const next = await runCli(['host', '--access', 'direct', '--json'], cache);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(fs.readdirSync(registry), []);
    assert.equal((await docker(['ps', '-aq', '--no-trunc', '--filter', `id=${helperId}`])).trim(), '');
  });

  it('removes a helper a killed run left behind, and hides the helpers of live runs (by record, not by label)', async () => {
    const cache = path.join(dir, 'reap');
    const registry = path.join(cache, 'container-xray', 'helpers');
    fs.mkdirSync(registry, { recursive: true, mode: 0o700 });
    // Stand-ins the daemon really runs: one for a run that is gone, one for a run that is alive (this process).
    ids.orphan = await runContainer([
      '--name',
      'xray-helperimg-orphan',
      '--network',
      'none',
      '--label',
      `${HELPER_LABEL}=1`,
      WORKING,
      'sleep',
      '3600',
    ]);
    ids.live = await runContainer(['--name', 'xray-helperimg-live', '--network', 'none', WORKING, 'sleep', '3600']);
    const me = await currentProcess();
    const gonePid = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
      c.on('exit', () => resolve(c.pid!));
    });
    const probe = await Engine.create({ diskCache: false });
    const endpoint = probe.runtime.endpoint.host;
    await probe.dispose();
    const record = (pid: number, start: string, helpers: string[]) =>
      JSON.stringify({ version: 1, uid: me.uid, pid, start, endpoint, helpers });
    fs.writeFileSync(path.join(registry, `${gonePid}-${me.start}.json`), record(gonePid, me.start, [ids.orphan]));
    fs.writeFileSync(path.join(registry, `${me.pid}-${me.start}.json`), record(me.pid, me.start, [ids.live]));
    const run = await runCli(['snapshot', '--json', '--access', 'direct'], cache);
    assert.equal(run.code, 0, run.stderr);
    const snap = JSON.parse(run.stdout) as Snapshot;
    const listed = new Set(snap.containers.map((c) => c.id));
    assert.ok(!listed.has(ids.live), 'a live run’s helper is not listed (though it has no label)');
    assert.ok(!listed.has(ids.orphan), 'nor the orphan');
    assert.ok(listed.has(ids.labelled), 'a labelled container nobody recorded is listed');
    assert.equal((await docker(['ps', '-aq', '--no-trunc', '--filter', `id=${ids.orphan}`])).trim(), '', 'the orphan was removed');
    assert.deepEqual(fs.readdirSync(registry), [`${me.pid}-${me.start}.json`]);
    assert.equal((await docker(['inspect', '-f', '{{.State.Running}}', ids.live])).trim(), 'true', 'a live run’s helper is left alone');
    const host = JSON.parse((await runCli(['host', '--json'], cache)).stdout) as HostFacts;
    assert.equal(host.access.mode, 'direct');
  });
});
