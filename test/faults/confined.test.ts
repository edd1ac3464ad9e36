// Hostile containers against the direct path (the engine as root reading /proc/PID/root and layer
// directories): each makes its /etc/passwd something that used to lead the engine to a host file, hang
// it or exhaust its memory. The snapshot must never show the host secret, must finish, stay bounded in
// memory, say on the container's `users` field why the file was not read, and list every other container
// completely. Then a container that swaps a directory of its writable layer with a link to the host's
// /root while the engine walks that layer 1 000 times.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { Engine } from '../../src/core/engine';
import { DirectHostFiles } from '../../src/core/util/hostFiles';
import type { ContainerSnapshot, Snapshot } from '../../src/shared/model';
import { buildImage, docker, ensureBaseImage, inspect, removeContainers, requireDocker, runContainer } from '../support/docker';
import { cli, waitFor } from './support';

const PREFIX = 'xray-confined';
const TOKEN = crypto.randomBytes(6).toString('hex');
/** A 0600 host file and a host directory holding a passwd-like secret: what the links point at. */
const SECRET_FILE = `/root/${PREFIX}-${TOKEN}.txt`;
const SECRET_DIR = `/root/${PREFIX}-${TOKEN}-dir`;
const SECRET_USER = `hostsecret${TOKEN}`;
const SECRET_TEXT = `${SECRET_USER}:x:0:0:host secret:/root:/bin/sh\n`;

interface Attack {
  key: string;
  what: string;
  /** Shell run while the image is built (as root, with CAP_MKNOD). */
  build?: string;
  /** Shell run in the running container before it sleeps. */
  run?: string;
  /** What the `users` error must say. */
  reason: RegExp;
}

const ATTACKS: Attack[] = [
  {
    key: 'file-link',
    what: 'a link to a 0600 host file',
    build: `ln -sf ${SECRET_FILE} /etc/passwd`,
    reason: /^\/etc\/passwd is a link to a path the container does not have: not read/,
  },
  {
    key: 'dir-link',
    // Docker puts a real /etc in the init layer above the image's, so the directory link sits inside it.
    what: 'a directory link (/etc/pw -> a host directory, /etc/passwd -> pw/passwd)',
    build: `ln -s ${SECRET_DIR} /etc/pw && ln -sf pw/passwd /etc/passwd`,
    reason: /^\/etc\/passwd is a link to a path the container does not have: not read/,
  },
  {
    key: 'mid-link',
    what: 'an intermediate link (/x/l -> a host directory, /etc/passwd -> /x/l/passwd)',
    build: `mkdir -p /x && ln -s ${SECRET_DIR} /x/l && ln -sf /x/l/passwd /etc/passwd`,
    reason: /^\/etc\/passwd is a link to a path the container does not have: not read/,
  },
  {
    key: 'relative',
    what: 'a relative ../../../.. link',
    build: `ln -sf ../../../../../../../../../..${SECRET_FILE} /etc/passwd`,
    reason: /^\/etc\/passwd is a link to a path the container does not have: not read/,
  },
  // Made once the container runs: dockerd itself reads the image's /etc/passwd when it creates a container,
  // and would hang on a FIFO there (or read /dev/zero) before the engine is even asked.
  { key: 'fifo', what: 'a FIFO', run: 'rm /etc/passwd && mkfifo /etc/passwd', reason: /^\/etc\/passwd is a FIFO: not read/ },
  {
    key: 'device',
    what: 'a character device (/dev/zero)',
    run: 'rm /etc/passwd && mknod /etc/passwd c 1 5',
    reason: /^\/etc\/passwd is a character device: not read/,
  },
  {
    key: 'sparse',
    what: 'a 10 GiB sparse file',
    run: `printf 'root:x:0:0:root:/root:/bin/sh\\n' > /etc/passwd && truncate -s 10G /etc/passwd`,
    reason: /^\/etc\/passwd is longer than 1048576 bytes: only the first 1048576 read/,
  },
  {
    key: 'loop',
    what: 'a link loop',
    // At run time too: dockerd refuses to create a container whose /etc/passwd loops.
    run: 'ln -sf /etc/passwd2 /etc/passwd && ln -sf /etc/passwd /etc/passwd2',
    reason: /^\/etc\/passwd: more than 40 links on the way \(a loop\): not read/,
  },
];

function usersErrors(c: ContainerSnapshot): string[] {
  return c.errors.filter((e) => e.field === 'users').map((e) => e.reason);
}

describe('hostile containers on the direct path: one confined reader', function () {
  this.timeout(600000);
  const ids = new Map<string, string>();
  const images: string[] = [];
  let control = '';

  before(async () => {
    requireDocker();
    assert.equal(process.getuid?.(), 0, 'these tests read /proc/PID/root and layer dirs directly: they run as root');
    fs.writeFileSync(SECRET_FILE, SECRET_TEXT, { mode: 0o600 });
    fs.mkdirSync(SECRET_DIR, { mode: 0o700 });
    fs.writeFileSync(`${SECRET_DIR}/passwd`, SECRET_TEXT, { mode: 0o600 });
    const base = await ensureBaseImage();
    for (const a of ATTACKS) {
      const tag = `${PREFIX}-${a.key}:1`;
      await buildImage(tag, `FROM ${base}\n${a.build ? `RUN ${a.build}\n` : ''}CMD ["sleep", "100000"]\n`);
      images.push(tag);
      const cmd = a.run ? ['sh', '-c', `${a.run} && touch /ready && exec sleep 100000`] : [];
      ids.set(a.key, await runContainer(['--name', `${PREFIX}-${a.key}`, '--network', 'none', tag, ...cmd]));
    }
    // A well-behaved container: its processes run as `nobody`, named from its own /etc/passwd.
    control = await runContainer(['--name', `${PREFIX}-control`, '--network', 'none', '--user', '65534', base, 'sleep', '100000']);
    // Ready when the container says so in its writable layer (no `docker exec`: it reads /etc/passwd too).
    for (const a of ATTACKS.filter((x) => x.run)) {
      const upper = (await inspect<{ GraphDriver: { Data: { UpperDir: string } } }>(ids.get(a.key)!)).GraphDriver.Data.UpperDir;
      await waitFor(() => (fs.existsSync(`${upper}/ready`) ? true : undefined), 20000, `${a.key} ready`);
    }
  });

  after(async () => {
    // By name: a container that failed to start is not in `ids`.
    await removeContainers([...ATTACKS.map((a) => `${PREFIX}-${a.key}`), `${PREFIX}-control`]);
    if (images.length > 0) await docker(['rmi', '-f', ...images]).catch(() => undefined);
    fs.rmSync(SECRET_FILE, { force: true });
    fs.rmSync(SECRET_DIR, { recursive: true, force: true });
  });

  function checkControl(c: ContainerSnapshot | undefined): void {
    assert.ok(c, 'the well-behaved container is listed');
    assert.deepEqual(c.errors, [], 'with no errors');
    assert.ok(c.namespaces && c.cgroup && c.overlay, 'namespaces, cgroup and overlay all read');
    assert.deepEqual(
      c.processes.map((p) => [p.user, p.command]),
      [['nobody', 'sleep 100000']],
      'its process, with the user name from its own /etc/passwd',
    );
  }

  let engine: Engine;
  let snap: Snapshot;
  let took = 0;
  let rssGrowth = 0;

  before(async () => {
    engine = await Engine.create({ files: new DirectHostFiles(), diskCache: false });
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = Date.now();
    try {
      snap = await engine.snapshot();
    } finally {
      clearInterval(sampler);
    }
    took = Date.now() - t0;
    rssGrowth = Math.max(peak, process.memoryUsage().rss) - rssBefore;
  });

  after(async () => {
    await engine?.dispose();
  });

  it('finishes within 3 s, bounded in memory, never showing the host secret', () => {
    assert.ok(took < 3000, `the snapshot took ${took} ms`);
    assert.ok(rssGrowth < 200 * 1024 * 1024, `RSS grew by ${Math.round(rssGrowth / 2 ** 20)} MiB`);
    const json = JSON.stringify(snap);
    assert.ok(!json.includes(SECRET_USER) && !json.includes('host secret'), 'the host secret appears nowhere');
  });

  it('lists the well-behaved container completely', () => {
    checkControl(snap.containers.find((c) => c.id === control));
  });

  for (const a of ATTACKS) {
    it(`/etc/passwd as ${a.what}: the users field says why, the rest of the container arrives`, () => {
      const c = snap.containers.find((x) => x.id === ids.get(a.key));
      assert.ok(c, 'the hostile container is listed');
      const reasons = usersErrors(c);
      assert.equal(reasons.length, 1, `one users error, got ${JSON.stringify(c.errors)}`);
      assert.match(reasons[0], a.reason);
      assert.deepEqual(
        c.errors.filter((e) => e.field !== 'users'),
        [],
        'no other field failed',
      );
      assert.ok(c.namespaces && c.cgroup && c.overlay, 'namespaces, cgroup and overlay read');
      assert.equal(c.processes.length, 1, 'its process listed');
      const uid = c.processes[0].uid;
      // The sparse file's first line names root; every other case shows the uid as a number.
      assert.equal(c.processes[0].user, a.key === 'sparse' ? 'root' : String(uid));
    });
  }

  it('the CLI `snapshot --json` shows the same, exits, and prints no secret', () => {
    const t0 = Date.now();
    const r = cli(['snapshot', '--json'], 60000);
    const took = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(took < 10000, `the CLI took ${took} ms`);
    assert.ok(!r.stdout.includes(SECRET_USER) && !r.stderr.includes(SECRET_USER), 'no secret in its output');
    const cliSnap = JSON.parse(r.stdout) as Snapshot;
    for (const a of ATTACKS) {
      const c = cliSnap.containers.find((x) => x.id === ids.get(a.key));
      assert.ok(c, a.key);
      assert.match(usersErrors(c).join('\n'), a.reason, a.key);
    }
    checkControl(cliSnap.containers.find((c) => c.id === control));
  });
});

describe('a container swapping its writable layer under the walk', function () {
  this.timeout(900000);
  const HOST_MARKER = `${PREFIX}-marker-${TOKEN}`;
  let id = '';

  before(async () => {
    requireDocker();
    fs.writeFileSync(`/root/${HOST_MARKER}`, 'host', { mode: 0o600 });
    const base = await ensureBaseImage();
    // `d` is a directory, then a link to the host's /root, then a directory again, in a loop; the
    // siblings after it keep a path-based walker busy between its lstat of `d` and its readdir.
    const swapper = [
      'mkdir -p /race/d && cd /race',
      'for i in $(seq 1 50); do touch d/own$i; done',
      'for i in $(seq 1 1000); do touch e$i; done',
      'while :; do mv d x; ln -s /root d; rm d; mv x d; done',
    ].join('; ');
    id = await runContainer(['--name', `${PREFIX}-swapper`, '--network', 'none', base, 'sh', '-c', swapper]);
    await waitFor(
      async () => (Number((await docker(['exec', id, 'sh', '-c', 'ls /race | wc -l'])).trim()) >= 1001 ? true : undefined),
      30000,
      'the swapper',
    );
  });

  after(async () => {
    await removeContainers([`${PREFIX}-swapper`]);
    fs.rmSync(`/root/${HOST_MARKER}`, { force: true });
  });

  it('1 000 walks of the writable layer list no host entry', async () => {
    const info = await inspect<{ GraphDriver: { Data: { UpperDir: string } } }>(id);
    const upper = info.GraphDriver.Data.UpperDir;
    const hostNames = new Set(fs.readdirSync('/root'));
    const files = new DirectHostFiles();
    let leaked: string[] = [];
    let sawLink = 0;
    let sawDir = 0;
    for (let i = 0; i < 1000; i++) {
      const tree = await files.walkTree(upper);
      const below = tree.filter((e) => e.name.startsWith('race/d/') || e.name.startsWith('race/x/'));
      leaked = leaked.concat(
        below.filter((e) => !/^race\/[dx]\/own\d+$/.test(e.name) || hostNames.has(e.name.split('/')[2])).map((e) => e.name),
      );
      const d = tree.find((e) => e.name === 'race/d');
      if (d?.type === 'symlink') sawLink++;
      if (d?.type === 'dir') sawDir++;
    }
    assert.deepEqual(leaked, [], 'nothing but the container’s own files below race/d');
    assert.ok(sawLink > 0 && sawDir > 0, `the swapper raced the walks (link ${sawLink}, dir ${sawDir} times)`);
  });

  it('the engine’s layer report of that container never holds a host entry', async () => {
    const engine = await Engine.create({ files: new DirectHostFiles(), diskCache: false });
    try {
      for (let i = 0; i < 20; i++) {
        const report = await engine.layers(id);
        const paths = (report.upper?.changes ?? []).map((c) => c.path);
        assert.ok(paths.length > 1000, 'the writable layer was walked');
        const bad = paths.filter((p) => p.includes(HOST_MARKER) || /^\/race\/[dx]\/(?!own\d+$)/.test(p));
        assert.deepEqual(bad, [], `run ${i}`);
      }
    } finally {
      await engine.dispose();
    }
  });
});
