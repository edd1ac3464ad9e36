// Which runtime answers at an endpoint: Podman's /_ping names Libpod, Docker's Docker; where it does not
// say, Podman's /version lists a "Podman Engine" component, Docker's an "Engine"; the user's setting, when
// it names one, is taken without asking.
import * as assert from 'node:assert/strict';
import { detectRuntime, runtimeFor, runtimeFromPing } from '../../../src/core/runtime/connect';
import type { DaemonInfo, DockerClient } from '../../../src/core/runtime/docker/client';
import { DockerRuntime } from '../../../src/core/runtime/docker/runtime';
import { PodmanRuntime, isPodmanVersion, podmanRootless } from '../../../src/core/runtime/podman/runtime';

/** GET /version as Podman 5.4 answers it (the Docker-compatible endpoint). */
const PODMAN_VERSION = {
  Platform: { Name: 'linux/amd64/fedora-41' },
  Components: [
    {
      Name: 'Podman Engine',
      Version: '5.4.2',
      Details: {
        APIVersion: '5.4.2',
        Arch: 'amd64',
        BuildTime: '2025-04-01T00:00:00Z',
        Experimental: 'false',
        GitCommit: '',
        GoVersion: 'go1.23.7',
        KernelVersion: '6.13.9-200.fc41.x86_64',
        MinAPIVersion: '4.0.0',
        Os: 'linux',
      },
    },
    { Name: 'Conmon', Version: 'conmon version 2.1.12, commit: ', Details: { Package: 'conmon-2.1.12-3.fc41.x86_64' } },
    { Name: 'OCI Runtime (crun)', Version: 'crun version 1.20', Details: { Package: 'crun-1.20-2.fc41.x86_64' } },
  ],
  Version: '5.4.2',
  ApiVersion: '1.41',
  MinAPIVersion: '1.24',
  Os: 'linux',
  Arch: 'amd64',
};

/** GET /version as Docker Engine 26 answers it. */
const DOCKER_VERSION = {
  Platform: { Name: 'Docker Engine - Community' },
  Components: [
    { Name: 'Engine', Version: '26.1.5', Details: { ApiVersion: '1.45', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' } },
    { Name: 'containerd', Version: '1.7.22', Details: { GitCommit: '7f7fdf5f' } },
    { Name: 'runc', Version: '1.1.14', Details: { GitCommit: 'v1.1.14-0-g2c9f560' } },
    { Name: 'docker-init', Version: '0.19.0', Details: { GitCommit: 'de40ad0' } },
  ],
  Version: '26.1.5',
  ApiVersion: '1.45',
  MinAPIVersion: '1.24',
  Os: 'linux',
  Arch: 'amd64',
};

/** The headers of GET /_ping from Podman 5.4.2's service (the Docker-compatible one) in the test VM. */
const PODMAN_PING = {
  'api-version': '1.41',
  'builder-version': '',
  'buildkit-version': '',
  'cache-control': 'no-cache',
  'docker-experimental': 'true',
  'libpod-api-version': '5.4.2',
  'libpod-buildah-version': '1.39.3',
  ostype: 'linux',
  pragma: 'no-cache',
  server: 'Libpod/5.4.2 (linux)',
};

/** The headers of GET /_ping from Docker 26.1.5 in the test VM. */
const DOCKER_PING = {
  'api-version': '1.45',
  'builder-version': '2',
  'cache-control': 'no-cache, no-store, must-revalidate',
  'docker-experimental': 'false',
  ostype: 'linux',
  pragma: 'no-cache',
  server: 'Docker/26.1.5+dfsg1 (linux)',
  swarm: 'inactive',
};

/** A DockerClient whose /_ping headers and version() answer as given (a ping that says nothing by default), counting the calls. */
function fakeClient(version: () => Promise<unknown>, ping: () => Promise<Record<string, string>> = async () => ({})) {
  const state = { versionCalls: 0, pingCalls: 0 };
  const client = {
    calls: {},
    version: () => {
      state.versionCalls++;
      return version();
    },
    pingHeaders: () => {
      state.pingCalls++;
      return ping();
    },
  } as unknown as DockerClient;
  return { client, state };
}

describe('runtime detection', () => {
  describe('isPodmanVersion', () => {
    it('tells Podman by its engine component, and Docker as not Podman', () => {
      assert.equal(isPodmanVersion(PODMAN_VERSION), true);
      assert.equal(isPodmanVersion(DOCKER_VERSION), false);
    });

    it('is not Podman without a component naming it', () => {
      assert.equal(isPodmanVersion({}), false);
      assert.equal(isPodmanVersion({ Components: null }), false);
      assert.equal(isPodmanVersion({ Components: [] }), false);
      assert.equal(isPodmanVersion({ Components: [{ Name: 42 }, { Name: 'Engine' }, {}] }), false);
      assert.equal(isPodmanVersion({ Components: [{ Name: 'Not Podman Engine' }] }), false);
    });
  });

  describe('podmanRootless', () => {
    it('reads rootless from the security options', () => {
      assert.equal(podmanRootless({ SecurityOptions: ['name=seccomp,profile=default', 'name=rootless'] }), true);
      assert.equal(podmanRootless({ SecurityOptions: ['name=seccomp,profile=default,name=rootless'] }), true);
      assert.equal(podmanRootless({ SecurityOptions: ['name=seccomp,profile=default', 'name=selinux'] }), false);
      assert.equal(podmanRootless({ SecurityOptions: ['name=rootlessness'] }), false);
      assert.equal(podmanRootless({} as DaemonInfo), false);
    });
  });

  describe('detectRuntime', () => {
    it("from /_ping's headers alone where they say (Podman's /version takes seconds on a slow host)", async () => {
      const never = async () => {
        throw new Error('/version is not asked');
      };
      const podman = fakeClient(never, async () => PODMAN_PING);
      assert.ok((await detectRuntime(podman.client)) instanceof PodmanRuntime);
      assert.deepEqual(podman.state, { versionCalls: 0, pingCalls: 1 });
      const docker = fakeClient(never, async () => DOCKER_PING);
      const rt = await detectRuntime(docker.client);
      assert.ok(rt instanceof DockerRuntime && !(rt instanceof PodmanRuntime));
      assert.deepEqual(docker.state, { versionCalls: 0, pingCalls: 1 });
      // Either of Podman's marks is enough; a Server header in another case too.
      assert.equal(runtimeFromPing({ server: 'libpod/5.0.0' }), 'podman');
      assert.equal(runtimeFromPing({ 'libpod-api-version': ['4.9.3'] }), 'podman');
      assert.equal(runtimeFromPing({ server: 'nginx' }), null);
      assert.equal(runtimeFromPing({}), null);
      assert.equal(runtimeFromPing(null), null);
    });

    it('asks /version where the ping says nothing, or fails', async () => {
      const quiet = fakeClient(
        async () => PODMAN_VERSION,
        async () => ({ 'api-version': '1.41' }),
      );
      assert.ok((await detectRuntime(quiet.client)) instanceof PodmanRuntime);
      assert.deepEqual(quiet.state, { versionCalls: 1, pingCalls: 1 });
      const failing = fakeClient(
        async () => PODMAN_VERSION,
        async () => {
          throw new Error('(HTTP code 404) unexpected');
        },
      );
      assert.ok((await detectRuntime(failing.client)) instanceof PodmanRuntime);
      assert.equal(failing.state.versionCalls, 1);
    });

    it('Podman where /version lists the Podman engine', async () => {
      const { client, state } = fakeClient(async () => PODMAN_VERSION);
      const rt = await detectRuntime(client);
      assert.ok(rt instanceof PodmanRuntime);
      assert.equal(rt.kind, 'podman');
      assert.equal(state.versionCalls, 1);
    });

    it('Docker where /version lists Docker’s engine', async () => {
      const { client, state } = fakeClient(async () => DOCKER_VERSION);
      const rt = await detectRuntime(client, 'auto');
      assert.ok(rt instanceof DockerRuntime && !(rt instanceof PodmanRuntime));
      assert.equal(rt.kind, 'docker');
      assert.equal(state.versionCalls, 1);
    });

    it('Docker, for now, where /version fails', async () => {
      const { client } = fakeClient(async () => {
        throw Object.assign(new Error('connect ECONNREFUSED /run/podman/podman.sock'), { code: 'ECONNREFUSED' });
      });
      const rt = await detectRuntime(client);
      assert.equal(rt.kind, 'docker');
      assert.ok(!(rt instanceof PodmanRuntime));
    });

    it('Docker where /version answers nothing it can read', async () => {
      for (const answer of [null, '', 'Not Found', {}, { Components: null }]) {
        const { client } = fakeClient(async () => answer);
        assert.equal((await detectRuntime(client)).kind, 'docker', JSON.stringify(answer));
      }
    });

    it('Docker where /version’s Components is not a list', async () => {
      for (const Components of [{ Name: 'Podman Engine' }, 'Podman Engine', 7]) {
        const { client } = fakeClient(async () => ({ Components }));
        assert.equal((await detectRuntime(client)).kind, 'docker', JSON.stringify(Components));
      }
    });

    it('takes a forced setting without asking /version', async () => {
      const podman = fakeClient(async () => DOCKER_VERSION);
      const forcedPodman = await detectRuntime(podman.client, 'podman');
      assert.ok(forcedPodman instanceof PodmanRuntime);
      assert.equal(podman.state.versionCalls, 0);
      const docker = fakeClient(async () => PODMAN_VERSION);
      const forcedDocker = await detectRuntime(docker.client, 'docker');
      assert.equal(forcedDocker.kind, 'docker');
      assert.ok(!(forcedDocker instanceof PodmanRuntime));
      assert.equal(docker.state.versionCalls, 0);
    });

    it('runtimeFor keeps the client it was given', () => {
      const { client } = fakeClient(async () => DOCKER_VERSION);
      assert.equal((runtimeFor(client, 'podman') as PodmanRuntime).client, client);
      assert.equal((runtimeFor(client, 'docker') as DockerRuntime).client, client);
    });
  });
});
