// A helper kept for the next run: the container Docker is asked for, and which runs may take it over.
import * as assert from 'node:assert/strict';
import { HelperSpec, helperContainerSpec, helperFingerprint } from '../../../src/core/access/helper';
import { helperBinds } from '../../../src/core/access/paths';
import { dockerHelperConfig } from '../../../src/core/runtime/docker/runtime';

describe('a helper kept for the next run', () => {
  const base: HelperSpec = {
    image: 'busybox:latest',
    imageId: `sha256:${'ab'.repeat(32)}`,
    idleTimeoutS: 90,
    binds: helperBinds('/var/lib/docker'),
    securityOptions: ['name=seccomp,profile=default'],
    serverVersion: '26.1.5',
    dockerRootDir: '/var/lib/docker',
  };
  const reuse = (idleS: number): HelperSpec['reuse'] => ({ idleS, park: async () => undefined });

  it('keeps its stdin when the client goes and ends by the run idle time; an owned one closes with its client', () => {
    const kept = dockerHelperConfig(helperContainerSpec({ ...base, reuse: reuse(60) }, base.binds, 'n'));
    assert.equal(kept.OpenStdin, true);
    assert.equal(kept.StdinOnce, false);
    assert.ok(kept.Env?.includes('XRAY_IDLE_S=60'), kept.Env?.join(' '));
    assert.equal(kept.HostConfig?.AutoRemove, true, 'the daemon removes it once its script ends');
    const owned = dockerHelperConfig(helperContainerSpec(base, base.binds, 'n'));
    assert.equal(owned.StdinOnce, true);
    assert.ok(owned.Env?.includes('XRAY_IDLE_S=90'));
  });

  it('is taken over only by a run that would make the same container: not another image, idle time or bind', () => {
    const key = helperFingerprint({ ...base, reuse: reuse(60) });
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(helperFingerprint({ ...base, reuse: reuse(60), onCreated: () => undefined }), key, 'callbacks are not the container');
    assert.notEqual(helperFingerprint({ ...base, imageId: `sha256:${'cd'.repeat(32)}`, reuse: reuse(60) }), key, 'another image ID');
    assert.notEqual(helperFingerprint({ ...base, reuse: reuse(61) }), key, 'another idle time');
    assert.notEqual(helperFingerprint({ ...base, binds: base.binds.slice(1), reuse: reuse(60) }), key, 'other binds');
    assert.notEqual(helperFingerprint({ ...base, securityOptions: ['name=apparmor'], reuse: reuse(60) }), key, 'other confinement');
    assert.notEqual(helperFingerprint(base), key, 'one that closes with its client');
  });
});
