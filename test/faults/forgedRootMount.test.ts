// A container allowed to mount (CAP_SYS_ADMIN, no AppArmor/seccomp) puts an overlay on its own "/" whose
// upperdir= names a host directory. Its /proc/PID/mountinfo then claims that directory as the writable
// layer; the engine must walk only what the runtime mounted on the host (and the daemon's inspect data
// names), never the host directory the container named.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { ensureBaseImage, inspect, removeContainers, requireDocker, runContainer } from '../support/docker';
import { cli, waitFor } from './support';

const TOKEN = crypto.randomBytes(6).toString('hex');
const HOST_DIR = `/tmp/xray-forged-hostdir-${TOKEN}`;
const SECRET_NAME = `host-only-${TOKEN}`;

describe('faults: a root mount the container made does not redirect the writable-layer walk', function () {
  this.timeout(120000);
  let id = '';

  before(async function () {
    requireDocker();
    const image = await ensureBaseImage();
    fs.mkdirSync(HOST_DIR, { mode: 0o700 });
    fs.writeFileSync(`${HOST_DIR}/${SECRET_NAME}`, 'secret\n', { mode: 0o600 });
    // chroot into a tmpfs, then mount an overlay on that "/" whose upperdir= text is the host path.
    const script = [
      'set -e',
      'mkdir -p /t && mount -t tmpfs t /t',
      `mkdir -p /t/l /t/w /t${HOST_DIR} /t/bin`,
      'cp /bin/busybox /t/bin/busybox && for c in sh mount sleep; do ln -s busybox /t/bin/$c; done',
      `exec chroot /t /bin/sh -c "mount -t overlay o -o lowerdir=/l,upperdir=${HOST_DIR},workdir=/w / && exec sleep 100000"`,
    ].join('\n');
    id = await runContainer([
      '--name',
      `xray-forged-mnt-${TOKEN}`,
      '--network',
      'none',
      '--cap-add',
      'SYS_ADMIN',
      '--security-opt',
      'apparmor=unconfined',
      '--security-opt',
      'seccomp=unconfined',
      image,
      'sh',
      '-c',
      script,
    ]);
    await waitFor(
      async () => {
        const info = await inspect<{ State: { Pid: number } }>(id);
        const text = fs.readFileSync(`/proc/${info.State.Pid}/mountinfo`, 'utf8');
        return text.includes(`upperdir=${HOST_DIR}`) ? true : undefined;
      },
      20000,
      'the container to mount its overlay',
    );
  });

  after(async () => {
    await removeContainers([id]);
    fs.rmSync(HOST_DIR, { recursive: true, force: true });
  });

  it('lists neither the host directory nor its files as writable-layer changes', async () => {
    const info = await inspect<{ GraphDriver: { Data: { UpperDir: string } } }>(id);
    const r = cli(['layers', id, '--json', '--access', 'direct']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { upper: { dir: string; changes: { path: string }[] } };
    assert.ok(!report.upper.changes.some((c) => c.path.includes(SECRET_NAME)), `host file listed: ${JSON.stringify(report.upper)}`);
    assert.equal(report.upper.dir, info.GraphDriver.Data.UpperDir);
  });
});
