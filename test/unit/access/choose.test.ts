import * as assert from 'node:assert/strict';
import { AccessInputs, accessReason, planAccess } from '../../../src/core/access/choose';
import { HELPER_LABEL, missingOptionalBind } from '../../../src/core/access/helper';
import { helperContainerConfig } from '../../../src/core/runtime/docker/runtime';
import { helperBinds } from '../../../src/core/access/paths';
import { HELPER_SCRIPT } from '../../../src/core/access/script';

describe('access/choose', () => {
  const denied: AccessInputs['probe'] = { ok: false, file: '/proc/1234/ns/net', code: 'EACCES' };
  const readable: AccessInputs['probe'] = { ok: true, checked: ['/proc/1234/ns/net', '/var/lib/docker/image'] };
  const user = 'uid 1001 (in the docker group)';

  describe('planAccess', () => {
    it('auto: reads directly when the probe reads on the daemon’s machine', () => {
      assert.deepEqual(planAccess({ setting: 'auto', runsElsewhere: null, probe: readable, user: 'root' }).mode, 'direct');
      const plan = planAccess({ setting: 'auto', runsElsewhere: null, probe: readable, user: 'uid 5' });
      assert.equal(plan.mode, 'direct');
      assert.match(plan.why, /uid 5 reads .* directly .*\/proc\/1234\/ns\/net and \/var\/lib\/docker\/image are readable/);
    });

    it('auto: takes the helper, naming the denied read and the user, when the probe fails', () => {
      const plan = planAccess({ setting: 'auto', runsElsewhere: null, probe: denied, user });
      assert.deepEqual(plan, { mode: 'helper', why: 'permission denied reading /proc/1234/ns/net as uid 1001 (in the docker group)' });
      const id = `sha256:${'ab'.repeat(32)}`;
      assert.deepEqual(accessReason(plan, { image: 'busybox:latest', imageId: id }), {
        mode: 'helper',
        reason: `permission denied reading /proc/1234/ns/net as uid 1001 (in the docker group): reading through a helper container (image busybox:latest, ID ${id})`,
        helper: { image: 'busybox:latest', imageId: id },
      });
    });

    it('auto: takes the helper for a daemon elsewhere, whatever this machine lets us read', () => {
      const plan = planAccess({ setting: 'auto', runsElsewhere: 'the daemon is reached over tcp', probe: null, user: 'root' });
      assert.deepEqual(plan, { mode: 'helper', why: 'the daemon is reached over tcp' });
    });

    it('helper: as asked, even as root', () => {
      const plan = planAccess({ setting: 'helper', runsElsewhere: null, probe: readable, user: 'root' });
      assert.equal(plan.mode, 'helper');
      assert.match(plan.why, /asked for/);
    });

    it('direct: as asked, saying what will be missing; never for a daemon elsewhere', () => {
      const plan = planAccess({ setting: 'direct', runsElsewhere: null, probe: denied, user });
      assert.equal(plan.mode, 'direct');
      assert.match(plan.why, /permission denied reading \/proc\/1234\/ns\/net as uid 1001.*may be missing/);
      const remote = planAccess({
        setting: 'direct',
        runsElsewhere: "the daemon's kernel (5.15) is not this machine's (6.1)",
        probe: null,
        user,
      });
      assert.equal(remote.mode, 'daemon-only');
      assert.match(remote.why, /not the daemon's/);
    });

    it('reads nothing from a daemon running Windows containers, whatever was asked', () => {
      const plan = planAccess({ setting: 'helper', runsElsewhere: 'the daemon is reached over tcp', probe: null, user, osType: 'windows' });
      assert.equal(plan.mode, 'daemon-only');
      assert.match(plan.why, /windows containers/);
      assert.equal(planAccess({ setting: 'auto', runsElsewhere: null, probe: readable, user: 'root', osType: 'linux' }).mode, 'direct');
    });

    it('says when no helper could run', () => {
      const plan = planAccess({ setting: 'auto', runsElsewhere: null, probe: denied, user });
      assert.match(
        accessReason(plan, { error: 'no local image with a shell' }).reason,
        /no helper container could run: no local image with a shell$/,
      );
      assert.deepEqual(accessReason({ mode: 'direct', why: 'x' }, { image: 'i', imageId: null }), { mode: 'direct', reason: 'x' });
    });
  });

  describe('helperContainerConfig', () => {
    const spec = {
      image: 'busybox:latest',
      binds: helperBinds('/var/lib/docker'),
      securityOptions: ['name=seccomp,profile=default'],
      serverVersion: '20.10.24',
      dockerRootDir: '/var/lib/docker',
    };
    const config = helperContainerConfig(spec, spec.binds, 'container-xray-helper-1');
    const host = config.HostConfig as NonNullable<typeof config.HostConfig> & { CgroupnsMode?: string };

    it('runs the script as root in the host PID and cgroup namespaces, without network, read-only, removed on exit', () => {
      assert.deepEqual(config.Entrypoint, ['/bin/sh', '-c']);
      assert.equal((config.Cmd as string[])[0], HELPER_SCRIPT);
      assert.equal(config.User, '0:0');
      assert.equal(config.Labels?.[HELPER_LABEL], '1');
      assert.equal(config.OpenStdin, true);
      assert.equal(config.StdinOnce, true);
      assert.equal(host.PidMode, 'host');
      assert.equal(host.CgroupnsMode, 'host');
      assert.equal(host.NetworkMode, 'none');
      assert.equal(host.ReadonlyRootfs, true);
      assert.equal(host.AutoRemove, true);
      assert.deepEqual(host.LogConfig, { Type: 'none', Config: {} });
    });

    it('bounds the helper: 64 processes, 256 MiB of memory and no swap beyond it', () => {
      assert.equal(host.PidsLimit, 64);
      assert.equal(host.Memory, 256 * 1024 * 1024);
      assert.equal(host.MemorySwap, 256 * 1024 * 1024);
    });

    it('drops every capability but SYS_PTRACE and DAC_READ_SEARCH and forbids new privileges', () => {
      assert.deepEqual(host.CapDrop, ['ALL']);
      assert.deepEqual(host.CapAdd, ['SYS_PTRACE', 'DAC_READ_SEARCH']);
      assert.deepEqual(host.SecurityOpt, ['no-new-privileges']);
    });

    it('binds exactly the needed host paths read-only, slave propagation only under the daemon root', () => {
      assert.deepEqual(
        host.Mounts?.map((m) => [m.Source, m.Target, m.ReadOnly, m.BindOptions?.Propagation]),
        [
          ['/sys/fs/cgroup', '/host/sys/fs/cgroup', true, 'rprivate'],
          ['/var/lib/docker', '/host/var/lib/docker', true, 'rslave'],
          ['/var/lib/containerd', '/host/var/lib/containerd', true, 'rprivate'],
          ['/run/docker', '/host/run/docker', true, 'rprivate'],
          ['/run/containerd', '/host/run/containerd', true, 'rprivate'],
          ['/run/docker.pid', '/host/run/docker.pid', true, 'rprivate'],
        ],
      );
    });

    it('drops an optional bind the daemon says has no source, never a required one', () => {
      const msg = (p: string) => `invalid mount config for type "bind": bind source path does not exist: ${p}`;
      assert.equal(missingOptionalBind(spec.binds, msg('/run/containerd'))?.host, '/run/containerd');
      assert.equal(missingOptionalBind(spec.binds, msg('/run/docker.pid/'))?.host, '/run/docker.pid');
      assert.equal(missingOptionalBind(spec.binds, msg('/sys/fs/cgroup')), undefined);
      assert.equal(missingOptionalBind(spec.binds, 'No such image: busybox'), undefined);
    });

    it('lifts AppArmor and SELinux confinement only where the daemon uses them; read-only recursive from 25.0', () => {
      const confined = helperContainerConfig(
        { ...spec, securityOptions: ['name=apparmor', 'name=selinux'], serverVersion: '27.3.1' },
        spec.binds,
        'n',
      );
      assert.deepEqual(confined.HostConfig?.SecurityOpt, ['no-new-privileges', 'apparmor=unconfined', 'label=disable']);
      const mount = confined.HostConfig?.Mounts?.[0] as { BindOptions?: { ReadOnlyForceRecursive?: boolean } };
      assert.equal(mount.BindOptions?.ReadOnlyForceRecursive, true);
    });
  });
});
