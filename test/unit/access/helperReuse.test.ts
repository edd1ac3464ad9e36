// A helper kept for the next run: the container each runtime is asked for, and which runs may take it over.
import * as assert from 'node:assert/strict';
import { HELPER_REUSE_LABEL, HelperSpec, helperContainerSpec, helperFingerprint } from '../../../src/core/access/helper';
import { helperBinds } from '../../../src/core/access/paths';
import { HELPER_SCRIPT } from '../../../src/core/access/script';
import type { DockerClient } from '../../../src/core/runtime/docker/client';
import { DockerRuntime, dockerHelperConfig } from '../../../src/core/runtime/docker/runtime';
import { PodmanRuntime } from '../../../src/core/runtime/podman/runtime';

describe('a helper kept for the next run', () => {
  const docker = new DockerRuntime({ calls: {} } as unknown as DockerClient);
  const podman = new PodmanRuntime({ calls: {} } as unknown as DockerClient);
  const base: HelperSpec = {
    image: 'busybox:latest',
    imageId: `sha256:${'ab'.repeat(32)}`,
    idleTimeoutS: 90,
    binds: helperBinds('/var/lib/docker'),
    securityOptions: ['name=seccomp,profile=default'],
    serverVersion: '26.1.5',
    dockerRootDir: '/var/lib/docker',
  };
  const reuse = (idleS: number, key = 'k'.repeat(64)): HelperSpec['reuse'] => ({ idleS, key, park: async () => undefined });

  it('keeps its stdin when the client goes, ends by the run idle time and carries its key; an owned one closes with its client', () => {
    const kept = dockerHelperConfig(helperContainerSpec({ ...base, reuse: reuse(60) }, base.binds, 'n'));
    assert.equal(kept.OpenStdin, true);
    assert.equal(kept.StdinOnce, false);
    assert.ok(kept.Env?.includes('XRAY_IDLE_S=60'), kept.Env?.join(' '));
    assert.equal(kept.Labels?.[HELPER_REUSE_LABEL], 'k'.repeat(64));
    assert.equal(kept.HostConfig?.AutoRemove, true, 'the daemon removes it once its script ends');
    const owned = dockerHelperConfig(helperContainerSpec(base, base.binds, 'n'));
    assert.equal(owned.StdinOnce, true);
    assert.ok(owned.Env?.includes('XRAY_IDLE_S=90'));
    assert.equal(owned.Labels?.[HELPER_REUSE_LABEL], undefined);
  });

  it('is taken over only by a run that would make the same container: not another image, idle time, bind or confinement', () => {
    const key = helperFingerprint({ ...base, reuse: reuse(60) }, docker);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(helperFingerprint({ ...base, reuse: reuse(60, 'other') }, docker), key, 'its own key is not part of it');
    assert.equal(
      helperFingerprint({ ...base, reuse: reuse(60), onCreated: () => undefined }, docker),
      key,
      'callbacks are not the container',
    );
    assert.notEqual(
      helperFingerprint({ ...base, imageId: `sha256:${'cd'.repeat(32)}`, reuse: reuse(60) }, docker),
      key,
      'another image ID',
    );
    assert.notEqual(helperFingerprint({ ...base, reuse: reuse(61) }, docker), key, 'another idle time');
    assert.notEqual(helperFingerprint({ ...base, binds: base.binds.slice(1), reuse: reuse(60) }, docker), key, 'other binds');
    assert.notEqual(helperFingerprint({ ...base, securityOptions: ['name=apparmor'], reuse: reuse(60) }, docker), key, 'other confinement');
    assert.notEqual(helperFingerprint(base, docker), key, 'one that closes with its client');
    assert.notEqual(helperFingerprint({ ...base, reuse: reuse(60) }, podman), key, "another runtime's create call");
  });

  it('is what the runtime is asked to create, so a change of the create call (capabilities, options) is another helper', () => {
    const changed = {
      helpers: {
        ...docker.helpers,
        config: (s: Parameters<typeof docker.helpers.config>[0]) => ({ ...dockerHelperConfig(s), CapAdd: ['ALL'] }),
      },
    };
    assert.notEqual(helperFingerprint({ ...base, reuse: reuse(60) }, changed), helperFingerprint({ ...base, reuse: reuse(60) }, docker));
  });

  it('says in its ready line whether its shell ends it by idle time (read -t): only such a helper is parked', () => {
    assert.match(HELPER_SCRIPT, /printf '!0 0 ready%s\\n' "\$\{rt:\+ idle\}"/);
    assert.equal(docker.helpers.reattachable, true);
    assert.equal(podman.helpers.reattachable, false, "Podman's API closes the helper's stdin with the attach connection");
  });
});
