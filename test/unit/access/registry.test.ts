import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HelperRegistry, currentProcess, defaultHelperRegistryDir, ownerAlive, processStartTicks } from '../../../src/core/access/registry';

const cid = (n: number) => n.toString(16).padStart(64, '0');
const ENDPOINT = 'unix:///var/run/docker.sock';

/** A PID that was just in use and is not any more (a child that exited and was reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('access/registry', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-helperimg-registry-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, rec: object) => fs.writeFileSync(path.join(dir, name), JSON.stringify(rec));

  it('lives under the user cache dir', () => {
    assert.equal(defaultHelperRegistryDir({ XDG_CACHE_HOME: '/c' }), '/c/container-xray/helpers');
    assert.equal(defaultHelperRegistryDir({}), path.join(os.homedir(), '.cache', 'container-xray', 'helpers'));
  });

  it('names this process by uid, pid and the kernel start time of the process', async () => {
    const me = await currentProcess();
    assert.equal(me.pid, process.pid);
    assert.equal(me.uid, process.getuid!());
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    assert.equal(me.start, `ticks:${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`);
    assert.equal(await processStartTicks(await deadPid()), null);
    assert.equal(await ownerAlive(me), true);
    assert.equal(await ownerAlive({ pid: process.pid, start: 'ticks:1' }), false, 'a reused PID is another process');
    assert.equal(await ownerAlive({ pid: await deadPid(), start: me.start }), false);
  });

  it('records its helpers in memory and in its own file (0600, in a 0700 dir), and forgets removed ones', async () => {
    const sub = path.join(dir, 'helpers');
    const reg = new HelperRegistry(sub, ENDPOINT);
    await reg.add(cid(1));
    await reg.add(cid(2));
    const me = await currentProcess();
    const file = path.join(sub, `${me.pid}-${me.start}.json`);
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(rec, { version: 1, uid: me.uid, pid: me.pid, start: me.start, endpoint: ENDPOINT, helpers: [cid(1), cid(2)] });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(sub).mode & 0o777, 0o700);
    assert.deepEqual(reg.mine(), [cid(1), cid(2)]);
    assert.deepEqual([...(await reg.known()).ids].sort(), [cid(1), cid(2)]);
    await reg.remove(cid(1));
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')).helpers, [cid(2)]);
    await reg.remove(cid(2));
    assert.equal(fs.existsSync(file), false, 'no helper left: no file');
  });

  it('keeps the record in memory only without a directory', async () => {
    const reg = new HelperRegistry(null, ENDPOINT);
    await reg.add(cid(3));
    assert.deepEqual([...(await reg.known()).ids], [cid(3)]);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it("knows other live runs' helpers, reports dead owners' as orphans, and ignores other daemons, users and junk", async () => {
    const me = await currentProcess();
    const dead = await deadPid();
    const rec = (pid: number, start: string, helpers: string[], extra: object = {}) => ({
      version: 1,
      uid: me.uid,
      pid,
      start,
      endpoint: ENDPOINT,
      helpers,
      ...extra,
    });
    // This PID runs, but it is not the process that wrote the file (another start time): gone.
    write(`${process.pid}-ticks:1.json`, rec(process.pid, 'ticks:1', [cid(10)]));
    write(`${dead}-${me.start}.json`, rec(dead, me.start, [cid(11), 'not-an-id']));
    write('1-ticks:5.json', rec(1, 'ticks:5', [cid(12)], { endpoint: 'tcp://elsewhere:2376' }));
    write('2-ticks:5.json', rec(2, 'ticks:5', [cid(13)], { uid: me.uid + 1 }));
    write('3-ticks:5.json', { version: 2, helpers: [cid(14)] });
    fs.writeFileSync(path.join(dir, '4-ticks:5.json'), '{not json');
    write('notes.txt', rec(dead, me.start, [cid(15)]));
    fs.writeFileSync(path.join(dir, '5-ticks:5.json'), ' '.repeat(70 * 1024));
    write('target', rec(dead, me.start, [cid(17)]));
    fs.symlinkSync(path.join(dir, 'target'), path.join(dir, '6-ticks:5.json'));
    // A live owner: this process, as it really is.
    const other = new HelperRegistry(dir, ENDPOINT);
    await other.add(cid(16));
    // The reader under another name, so that it reads the live owner's file as someone else's.
    const reg = new HelperRegistry(dir, ENDPOINT, async () => ({ ...me, pid: 999999 }));
    const known = await reg.known();
    assert.deepEqual([...known.ids].sort(), [cid(10), cid(11), cid(16)]);
    assert.deepEqual(known.orphans.map((o) => o.owner.helpers).sort(), [[cid(10)], [cid(11)]]);
    assert.deepEqual(await other.known().then((k) => k.orphans.map((o) => o.owner.helpers).sort()), [[cid(10)], [cid(11)]]);
  });

  it('reaps orphans: removes each helper, then the file; keeps the file when the daemon fails', async () => {
    const me = await currentProcess();
    const dead = await deadPid();
    write(`${dead}-${me.start}.json`, {
      version: 1,
      uid: me.uid,
      pid: dead,
      start: me.start,
      endpoint: ENDPOINT,
      helpers: [cid(20), cid(21)],
    });
    const reg = new HelperRegistry(dir, ENDPOINT);
    const { orphans } = await reg.known();
    assert.equal(orphans.length, 1);
    const failing = await reg.reap(orphans, async () => {
      throw new Error('daemon down');
    });
    assert.deepEqual(failing, []);
    assert.ok(fs.existsSync(path.join(dir, `${dead}-${me.start}.json`)), 'kept for a later run');
    const removed: string[] = [];
    assert.deepEqual(
      await reg.reap(orphans, async (id) => {
        removed.push(id);
      }),
      [cid(20), cid(21)],
    );
    assert.deepEqual(removed, [cid(20), cid(21)]);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.deepEqual((await reg.known()).orphans, []);
  });

  describe('helpers parked for the next run', () => {
    const KEY = 'a'.repeat(64);
    const parkedFile = (n: number) => path.join(dir, `parked-${cid(n)}.json`);

    it("parks a helper: its file (0600) first, then it leaves the own record; it stays known as this user's", async () => {
      const reg = new HelperRegistry(dir, ENDPOINT);
      await reg.add(cid(30));
      const until = Date.now() + 60_000;
      await reg.park(cid(30), KEY, ['/var/lib/containerd'], until);
      const me = await currentProcess();
      assert.deepEqual(JSON.parse(fs.readFileSync(parkedFile(30), 'utf8')), {
        version: 1,
        uid: me.uid,
        endpoint: ENDPOINT,
        helper: cid(30),
        key: KEY,
        missing: ['/var/lib/containerd'],
        until,
      });
      assert.equal(fs.statSync(parkedFile(30)).mode & 0o777, 0o600);
      assert.deepEqual(reg.mine(), []);
      assert.equal(fs.existsSync(path.join(dir, `${me.pid}-${me.start}.json`)), false, 'no longer in the own record');
      const other = new HelperRegistry(dir, ENDPOINT);
      const known = await other.known();
      assert.deepEqual([...known.ids], [cid(30)], "hidden from snapshots as this user's helper");
      assert.deepEqual(known.orphans, [], 'not an orphan while its idle time lasts');
    });

    it('is taken over once: the same spec, daemon and user, with idle time left; the claim is the rename', async () => {
      const reg = new HelperRegistry(dir, ENDPOINT);
      await reg.park(cid(31), KEY, [], Date.now() + 60_000);
      const a = new HelperRegistry(dir, ENDPOINT);
      const b = new HelperRegistry(dir, ENDPOINT);
      const [ra, rb] = await Promise.all([a.adopt(KEY), b.adopt(KEY)]);
      const won = [ra, rb].filter((r) => r !== null);
      assert.equal(won.length, 1, 'only one of two runs gets it');
      assert.deepEqual(won[0], { id: cid(31), missing: [] });
      assert.deepEqual([...a.mine(), ...b.mine()], [cid(31)], "recorded as the adopter's");
      assert.equal(fs.existsSync(parkedFile(31)), false);
      assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('.claim')), 'the claim file is gone');
    });

    it('is not taken over by another spec, another daemon, another user, nor with too little idle time left', async () => {
      const me = await currentProcess();
      const reg = new HelperRegistry(dir, ENDPOINT);
      await reg.park(cid(32), KEY, [], Date.now() + 60_000);
      assert.equal(await new HelperRegistry(dir, ENDPOINT).adopt('b'.repeat(64)), null, 'another spec');
      assert.equal(await new HelperRegistry(dir, 'tcp://10.0.0.1:2375').adopt(KEY), null, 'another daemon');
      const rec = { version: 1, uid: me.uid + 1, endpoint: ENDPOINT, helper: cid(33), key: KEY, missing: [], until: Date.now() + 60_000 };
      write(`parked-${cid(33)}.json`, rec);
      write(`parked-${cid(34)}.json`, { ...rec, uid: me.uid, helper: cid(34), until: Date.now() + 1000 });
      write(`parked-${cid(35)}.json`, { ...rec, uid: me.uid, helper: cid(36) });
      const adopter = new HelperRegistry(dir, ENDPOINT);
      assert.deepEqual(await adopter.adopt(KEY), { id: cid(32), missing: [] });
      assert.equal(await adopter.adopt(KEY), null, 'another user, nearly over, a file naming another helper: none taken');
    });

    it('past its idle time it is an orphan, reaped with its file', async () => {
      const me = await currentProcess();
      write(`parked-${cid(38)}.json`, {
        version: 1,
        uid: me.uid,
        endpoint: ENDPOINT,
        helper: cid(38),
        key: KEY,
        missing: [],
        until: Date.now() - 120_000,
      });
      const reg = new HelperRegistry(dir, ENDPOINT);
      const { ids, orphans } = await reg.known();
      assert.deepEqual([...ids], [cid(38)]);
      assert.equal(orphans.length, 1);
      const removed: string[] = [];
      assert.deepEqual(await reg.reap(orphans, async (id) => void removed.push(id)), [cid(38)]);
      assert.deepEqual(removed, [cid(38)]);
      assert.deepEqual(fs.readdirSync(dir), []);
    });

    it("reads only this user's own records in a directory only it may write: another owner's file, a group-writable one or dir are not trusted", async () => {
      const me = await currentProcess();
      const rec = (n: number) => ({
        version: 1,
        uid: me.uid,
        endpoint: ENDPOINT,
        helper: cid(n),
        key: KEY,
        missing: [],
        until: Date.now() + 60_000,
      });
      write(`parked-${cid(40)}.json`, rec(40));
      fs.chownSync(parkedFile(40), me.uid + 4242, -1);
      write(`parked-${cid(41)}.json`, rec(41));
      fs.chmodSync(parkedFile(41), 0o666);
      const reg = new HelperRegistry(dir, ENDPOINT);
      assert.deepEqual([...(await reg.known()).ids], [], 'neither is known');
      assert.equal(await reg.adopt(KEY), null, 'neither is taken over');
      fs.chmodSync(parkedFile(41), 0o600);
      fs.chmodSync(dir, 0o770);
      assert.equal(await reg.usable(), false, 'a group-writable registry is not used');
      assert.equal(await reg.adopt(KEY), null);
      fs.chmodSync(dir, 0o700);
      assert.equal(await reg.usable(), true);
      assert.deepEqual(await reg.adopt(KEY), { id: cid(41), missing: [] });
    });

    it('never takes over through a link, even to a valid record named for its helper', async () => {
      const me = await currentProcess();
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-helperimg-elsewhere-'));
      try {
        const target = path.join(elsewhere, 'rec.json');
        fs.writeFileSync(
          target,
          JSON.stringify({
            version: 1,
            uid: me.uid,
            endpoint: ENDPOINT,
            helper: cid(42),
            key: KEY,
            missing: [],
            until: Date.now() + 60_000,
          }),
        );
        fs.symlinkSync(target, parkedFile(42));
        const reg = new HelperRegistry(dir, ENDPOINT);
        assert.equal(await reg.adopt(KEY), null);
        assert.deepEqual([...(await reg.known()).ids], []);
      } finally {
        fs.rmSync(elsewhere, { recursive: true, force: true });
      }
    });

    it('needs a directory to park in', async () => {
      const reg = new HelperRegistry(null, ENDPOINT);
      assert.equal(await reg.usable(), false);
      await assert.rejects(reg.park(cid(39), KEY, [], Date.now() + 60_000), /no registry directory/);
      assert.equal(await reg.adopt(KEY), null);
    });
  });
});
