import * as assert from 'node:assert/strict';
import { HELPER_PREFIX, PathTranslator, helperBinds } from '../../../src/core/access/paths';

describe('access/paths', () => {
  const binds = helperBinds('/var/lib/docker');
  const t = new PathTranslator(binds);
  const to = (p: string) => t.toHelper(p);

  it('binds the cgroup root, the daemon root and the runtime state, read by the helper under /host', () => {
    assert.deepEqual(
      binds.map((b) => [b.host, b.helper, b.optional]),
      [
        ['/sys/fs/cgroup', '/host/sys/fs/cgroup', false],
        ['/var/lib/docker', '/host/var/lib/docker', false],
        ['/var/lib/containerd', '/host/var/lib/containerd', true],
        ['/run/docker', '/host/run/docker', true],
        ['/run/containerd', '/host/run/containerd', true],
        ['/run/docker.pid', '/host/run/docker.pid', true],
      ],
    );
    assert.equal(HELPER_PREFIX, '/host');
  });

  it('leaves /proc where it is (the helper shares the host PID namespace)', () => {
    assert.deepEqual(to('/proc/123/ns/net'), { ok: true, path: '/proc/123/ns/net' });
    assert.deepEqual(to('/proc/123/root/etc/passwd'), { ok: true, path: '/proc/123/root/etc/passwd' });
    assert.deepEqual(to('/proc'), { ok: true, path: '/proc' });
  });

  it("reads the host's mount table for /proc/self (the engine's own stands for the host's)", () => {
    assert.deepEqual(to('/proc/self/mountinfo'), { ok: true, path: '/proc/1/mountinfo' });
    assert.deepEqual(to('/proc/thread-self/mountinfo'), { ok: true, path: '/proc/1/mountinfo' });
    assert.deepEqual(to('/proc/selfish'), { ok: true, path: '/proc/selfish' });
  });

  it('maps bound paths under the prefix, /var/run as /run', () => {
    assert.deepEqual(to('/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes'), {
      ok: true,
      path: '/host/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes',
    });
    assert.deepEqual(to('/var/lib/docker/image/overlay2/layerdb/sha256/x/tar-split.json.gz'), {
      ok: true,
      path: '/host/var/lib/docker/image/overlay2/layerdb/sha256/x/tar-split.json.gz',
    });
    assert.deepEqual(to('/var/run/docker.pid'), { ok: true, path: '/host/run/docker.pid' });
    assert.deepEqual(to('/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/id/init.pid'), {
      ok: true,
      path: '/host/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/id/init.pid',
    });
    assert.deepEqual(to('/sys/fs/cgroup/'), { ok: true, path: '/host/sys/fs/cgroup' });
  });

  it('refuses, with a reason, paths outside the binds (and .. that would climb out of one)', () => {
    for (const p of [
      '/etc/shadow',
      '/sys/fs/cgroupx/a',
      '/sys/fs/cgroup/../../../etc/shadow',
      '/run/dockerd.sock',
      '/run/docker.sock',
      'relative/path',
    ]) {
      const r = to(p);
      assert.equal(r.ok, false, p);
      if (!r.ok) {
        assert.equal(r.code, 'EACCES');
        assert.match(r.reason, /helper container/);
      }
    }
    const r = to('/etc/shadow');
    assert.ok(!r.ok && r.reason.includes('/sys/fs/cgroup') && r.reason.includes('/var/lib/docker'), 'the reason names what is reachable');
  });

  it('follows a daemon root elsewhere, even inside another bound dir (longest bind wins)', () => {
    const custom = new PathTranslator(helperBinds('/run/docker/data-root/'));
    assert.deepEqual(custom.toHelper('/run/docker/data-root/image/x'), { ok: true, path: '/host/run/docker/data-root/image/x' });
    const outside = custom.toHelper('/var/lib/docker/image');
    assert.equal(outside.ok, false, 'the default root is not bound when the daemon keeps its root elsewhere');
    if (!outside.ok) assert.equal(outside.code, 'EACCES');
  });

  it('answers ENOENT under an optional bind the daemon machine lacks', () => {
    const without = new PathTranslator(binds, new Set(['/run/containerd']));
    const r = without.toHelper('/run/containerd/io.containerd.runtime.v2.task/moby/id/init.pid');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.code, 'ENOENT');
  });

  it('maps helper paths back for messages', () => {
    assert.equal(t.toHost('/host/var/lib/docker/overlay2/x'), '/var/lib/docker/overlay2/x');
    assert.equal(t.toHost('/proc/1/status'), '/proc/1/status');
  });
});
