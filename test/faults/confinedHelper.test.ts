// The helper-container path of the confined reader, on the real engine: containers whose /etc/passwd leads
// to a 0600 host secret (absolute link, through /proc/<dockerd>/root and /proc/1/root, an intermediate
// directory link, a relative ../../.. link), is a FIFO, a device, a link to /dev/zero, a huge sparse file
// or a link loop. Read through the helper (which runs with --pid=host and SYS_PTRACE, so any link the
// kernel followed for it would reach the host), none shows the secret or hangs, memory stays bounded,
// each says why on its field, and a plain container beside them arrives complete. A container that swaps
// a directory with a link to the host's /root while it is walked never gets a host entry listed.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import { ConfinedReadError, ConfinedRoot } from '../../src/core/util/hostFiles';
import { docker, ensureBaseImage, inspect, removeContainers, requireDocker, runContainer } from '../support/docker';

const PREFIX = 'xray-confhelper-';
const LIMITS = { maxBytes: 1024 * 1024, deadlineMs: 2000 };
/** A link resolved inside the container, where the host's secret is not. */
const ESCAPE = /\/etc\/passwd is a link to a path the container does not have: not read/;

interface Hostile {
  name: string;
  /** Shell run in the container before it sleeps. */
  make: string;
  /** What the field error must say. */
  reason: RegExp;
}

async function refusal(p: Promise<unknown>): Promise<ConfinedReadError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfinedReadError, `a ConfinedReadError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('confined reads through the helper container (real engine)', function () {
  this.timeout(300_000);
  const tag = randomBytes(4).toString('hex');
  const secret = `XRAY-HOST-SECRET-${tag}`;
  // A 0600 host file, and a host directory holding a `passwd` of its own (for the intermediate link).
  const secretFile = `/root/${PREFIX}secret-${tag}.txt`;
  const secretDir = `/root/${PREFIX}dir-${tag}`;
  const ids: string[] = [];
  const byName = new Map<string, { id: string; pid: number; upper: string }>();
  let base: string;
  let engine: Engine;
  let dockerdPid: number;

  const hostile = (): Hostile[] => [
    { name: 'abs', make: `ln -sf ${secretFile} /etc/passwd`, reason: ESCAPE },
    { name: 'dockerd', make: `ln -sf /proc/${dockerdPid}/root${secretFile} /etc/passwd`, reason: ESCAPE },
    { name: 'pid1', make: `ln -sf /proc/1/root${secretFile} /etc/passwd`, reason: ESCAPE },
    { name: 'relative', make: `ln -sf ../../../../../../..${secretFile} /etc/passwd`, reason: ESCAPE },
    { name: 'fifo', make: 'rm /etc/passwd && mkfifo /etc/passwd', reason: /\/etc\/passwd is a FIFO: not read/ },
    { name: 'device', make: 'rm /etc/passwd && mknod /etc/passwd c 1 5', reason: /\/etc\/passwd is a character device: not read/ },
    { name: 'zero', make: 'ln -sf /dev/zero /etc/passwd', reason: /\/etc\/passwd is a character device: not read/ },
    {
      name: 'sparse',
      make: 'rm /etc/passwd && dd if=/dev/zero of=/etc/passwd bs=1 count=0 seek=50G 2>/dev/null',
      reason: /\/etc\/passwd is longer than 1048576 bytes/,
    },
    {
      name: 'loop',
      make: 'ln -sf /etc/passwd2 /etc/passwd && ln -sf /etc/passwd /etc/passwd2',
      reason: /links on the way \(a loop\): not read/,
    },
  ];

  before(async () => {
    requireDocker();
    base = await ensureBaseImage();
    fs.writeFileSync(secretFile, `root:${secret}:0:0::/root:/bin/sh\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(secretDir, 'sub'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(secretDir, 'passwd'), `${secret}:x:0:0::/:/bin/sh\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(secretDir, 'sub', `${secret}-entry`), secret, { mode: 0o600 });
    dockerdPid = Number(fs.readFileSync('/run/docker.pid', 'utf8').trim());
    const run = async (name: string, script: string) => {
      const id = await runContainer(['--name', `${PREFIX}${name}-${tag}`, '--network', 'none', base, 'sh', '-c', script]);
      ids.push(id);
      return id;
    };
    for (const h of hostile()) await run(h.name, `${h.make}; exec sleep 3600`);
    await run('plain', `mkdir -p /srv && ln -s /proc/1/root${secretDir} /srv/link && exec sleep 3600`);
    // Names with newlines and bytes that are not UTF-8 in the writable layer.
    await run('names', `mkdir -p /names && touch "/names/$(printf 'nl\\nname')" "/names/$(printf 'bad\\377')" && exec sleep 3600`);
    // The swapper: /race/d is a directory and, in turn, a link to a host directory, as fast as it can.
    await run(
      'race',
      `mkdir -p /race/d/sub && touch /race/d/sub/x && ln -s /proc/1/root${secretDir} /race/l && ` +
        'while :; do mv /race/d /race/t; mv /race/l /race/d; mv /race/d /race/l; mv /race/t /race/d; done',
    );
    for (const id of ids) {
      const info = await inspect<{ Name: string; State: { Pid: number }; GraphDriver: { Data: { UpperDir: string } } }>(id);
      byName.set(info.Name.replace(/^\/(xray-confhelper-)?/, '').replace(`-${tag}`, ''), {
        id,
        pid: info.State.Pid,
        upper: info.GraphDriver.Data.UpperDir,
      });
    }
    // Every hostile container has done its setup: it changes /etc, then execs sleep as its init.
    for (const h of hostile()) {
      const pid = byName.get(h.name)!.pid;
      for (let i = 0; i < 200; i++) {
        const comm = (() => {
          try {
            return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          } catch {
            return '';
          }
        })();
        if (comm === 'sleep') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (let i = 0; i < 100; i++) {
      const ps = await docker(['exec', byName.get('names')!.id, 'ls', '/names']).catch(() => '');
      if (ps.includes('bad')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    engine = await Engine.create({ diskCache: false, access: 'helper', helperImage: base, helperIdleMs: 60_000 });
  });

  after(async () => {
    await engine?.dispose();
    await removeContainers(ids);
    fs.rmSync(secretFile, { force: true });
    fs.rmSync(secretDir, { recursive: true, force: true });
  });

  it('snapshots hostile containers within seconds: no secret, a reason on each, the plain one complete', async () => {
    const names = [...hostile().map((h) => h.name), 'plain'].map((n) => `${PREFIX}${n}-${tag}`);
    const rss0 = process.memoryUsage().rss;
    const started = Date.now();
    const snap = await engine.snapshot({ containers: names });
    const ms = Date.now() - started;
    const grew = process.memoryUsage().rss - rss0;
    assert.equal(snap.host.access.mode, 'helper');
    assert.ok(ms < 15_000, `the snapshot took ${ms} ms`);
    assert.ok(grew < 200 * 1024 * 1024, `RSS grew by ${Math.round(grew / 1e6)} MB`);
    const text = JSON.stringify(snap);
    assert.ok(!text.includes(secret), 'the host secret is nowhere in the snapshot');
    assert.equal(snap.containers.length, names.length);
    for (const h of hostile()) {
      const c = snap.containers.find((x) => x.name === `${PREFIX}${h.name}-${tag}`);
      assert.ok(c, h.name);
      const users = c.errors.filter((e) => e.field === 'users');
      assert.equal(users.length, 1, `${h.name}: one error on users: ${JSON.stringify(c.errors)}`);
      assert.match(users[0].reason, h.reason, h.name);
      assert.ok(c.processes.length > 0, `${h.name}: its processes still arrive`);
    }
    const plain = snap.containers.find((x) => x.name === `${PREFIX}plain-${tag}`);
    assert.ok(plain);
    assert.deepEqual(plain.errors, []);
    assert.equal(plain.processes[0]?.user, 'root', 'the plain container’s user names come from its /etc/passwd');
    console.log(`      ${names.length} containers in ${ms} ms through the helper, RSS +${Math.round(grew / 1e6)} MB`);
  });

  it('refuses each hostile /etc/passwd on readConfined with the refusal that says why', async () => {
    const root = (n: string): ConfinedRoot => ({ kind: 'process', pid: byName.get(n)!.pid });
    const expect: Record<string, string> = { fifo: 'not-regular', device: 'not-regular', zero: 'not-regular', loop: 'link-loop' };
    for (const h of hostile()) {
      if (h.name === 'sparse') {
        const read = await engine.files.readConfined(root(h.name), '/etc/passwd', LIMITS);
        assert.equal(read.truncated, true);
        assert.equal(read.data.length, LIMITS.maxBytes);
        assert.ok(read.data.every((b) => b === 0));
        continue;
      }
      const started = Date.now();
      const err = await refusal(engine.files.readConfined(root(h.name), '/etc/passwd', LIMITS));
      assert.ok(Date.now() - started < 5000, `${h.name} answered in time`);
      assert.ok(!err.message.includes(secret));
      assert.equal(err.refusal, expect[h.name] ?? 'link-escape', `${h.name}: ${err.message}`);
      assert.match(err.message, h.reason, h.name);
    }
    // An intermediate directory link (/etc itself holds Docker's bind mounts, so another directory).
    const dirlink = await refusal(engine.files.readConfined(root('plain'), '/srv/link/passwd', LIMITS));
    assert.equal(dirlink.refusal, 'link-escape', dirlink.message);
    assert.match(dirlink.message, /\/srv\/link\/passwd is a link to a path the container does not have/);
    // Other paths a container's link might lead through: its own /proc (kernel files) is refused too.
    const kernel = await refusal(engine.files.readConfined(root('plain'), '/proc/1/environ', LIMITS));
    assert.equal(kernel.refusal, 'not-regular');
    assert.match(kernel.message, /kernel file \(on procfs\)/);
    assert.equal((await engine.files.readConfined(root('plain'), '/etc/passwd', LIMITS)).truncated, false);
  });

  it('never lists a host entry while the container swaps a walked directory with a link to the host (1 000 walks)', async () => {
    const race = byName.get('race')!;
    let sawDir = 0;
    let sawLink = 0;
    for (let i = 0; i < 1000; i++) {
      const tree = await engine.files.walkTree!(race.upper);
      for (const e of tree) {
        assert.ok(!e.name.includes(secret), `walk ${i} listed a host entry: ${e.name}`);
        assert.match(e.name, /^(race(\/(d|t|l)(\/sub(\/x)?)?)?)$/, `walk ${i}: ${e.name}`);
      }
      const d = tree.find((e) => e.name === 'race/d');
      if (d?.type === 'dir') sawDir++;
      if (d?.type === 'symlink') sawLink++;
      // The path-based reads the engine makes of the merged view are confined the same way.
      const read = await engine.files.readConfined({ kind: 'process', pid: race.pid }, '/race/d/sub/x', LIMITS).catch((err: Error) => err);
      assert.ok(!(read instanceof Error) || read instanceof ConfinedReadError, String(read));
      if (!(read instanceof Error)) assert.equal(read.data.length, 0, 'only the container’s empty file is read');
      const seen = await engine.files.existsConfined!({ kind: 'process', pid: race.pid }, `/race/d/sub/${secret}-entry`).catch(
        (err: Error) => {
          // A swap met on the way is refused, never followed.
          assert.ok(err instanceof ConfinedReadError && err.refusal === 'swapped', String(err));
          return false;
        },
      );
      assert.equal(seen, false, 'the host directory’s entry is never seen');
    }
    console.log(`      race/d seen as a directory ${sawDir}, as a link ${sawLink} times in 1 000 walks`);
    assert.ok(sawDir + sawLink > 0);
  });

  it('round-trips names with newlines and invalid UTF-8 through the helper walk', async () => {
    const tree = await engine.files.walkTree!(byName.get('names')!.upper);
    const names = tree.map((e) => e.name);
    assert.ok(names.includes('names/nl\nname'), JSON.stringify(names));
    assert.ok(names.includes('names/bad\ufffd'), JSON.stringify(names));
    const layers = await engine.layers(byName.get('names')!.id);
    const paths = (layers.upper?.changes ?? []).map((c) => c.path);
    assert.ok(paths.includes('/names/nl\nname'), JSON.stringify(paths));
  });
});
