// Each runtime's storage layout, layer store, helper binds and description, from the daemon's /info: Docker
// with overlay2 or the containerd image store, Podman rootful and rootless.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { helperBinds } from '../../../src/core/access/paths';
import { chainIds } from '../../../src/core/layers/history';
import type { DaemonInfo, DockerClient } from '../../../src/core/runtime/docker/client';
import { DockerRuntime } from '../../../src/core/runtime/docker/runtime';
import { PodmanRuntime } from '../../../src/core/runtime/podman/runtime';
import type { RuntimeImage } from '../../../src/core/runtime/types';
import type { HostFiles } from '../../../src/core/util/hostFiles';
import { LayerFile, expectedEntries, tarSplitGz } from './tarSplitFixture';

const client = () => ({ calls: {} }) as unknown as DockerClient;
const docker = new DockerRuntime(client());
const podman = new PodmanRuntime(client());

const DOCKER_OVERLAY2: DaemonInfo = {
  ServerVersion: '26.1.5',
  Driver: 'overlay2',
  DriverStatus: [
    ['Backing Filesystem', 'extfs'],
    ['Supports d_type', 'true'],
    ['Using metacopy', 'false'],
    ['Native Overlay Diff', 'true'],
    ['userxattr', 'false'],
  ],
  DockerRootDir: '/var/lib/docker',
  SecurityOptions: ['name=apparmor', 'name=seccomp,profile=builtin', 'name=cgroupns'],
};
const DOCKER_CONTAINERD: DaemonInfo = {
  ServerVersion: '27.3.1',
  Driver: 'overlayfs',
  DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']],
  DockerRootDir: '/var/lib/docker',
  SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
};
const PODMAN_ROOTFUL: DaemonInfo = {
  ServerVersion: '5.4.2',
  Driver: 'overlay',
  DriverStatus: [
    ['Backing Filesystem', 'xfs'],
    ['Native Overlay Diff', 'true'],
    ['Supports d_type', 'true'],
    ['Supports shifting', 'false'],
    ['Supports volatile', 'true'],
    ['Using metacopy', 'false'],
  ],
  DockerRootDir: '/var/lib/containers/storage',
  SecurityOptions: ['name=seccomp,profile=default', 'name=selinux'],
};
const ROOTLESS_ROOT = '/home/alice/.local/share/containers/storage';
const PODMAN_ROOTLESS: DaemonInfo = {
  ...PODMAN_ROOTFUL,
  DockerRootDir: ROOTLESS_ROOT,
  SecurityOptions: ['name=seccomp,profile=default', 'name=rootless', 'name=selinux'],
};

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');

/** A HostFiles holding the given files (others ENOENT), recording what was read. */
function fakeFiles(content: Record<string, string | Buffer>) {
  const read: string[] = [];
  const get = (file: string) => {
    read.push(file);
    const c = content[file];
    if (c === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
    return c;
  };
  const files = {
    kind: 'helper',
    readText: async (file: string) => get(file).toString(),
    readBytes: async (file: string) => Buffer.from(get(file)),
  } as unknown as HostFiles;
  return { files, read };
}

describe('runtime layouts', () => {
  describe('Docker', () => {
    it('overlay2: the overlay2 layout, its layerdb store, and Docker’s binds', () => {
      assert.equal(docker.layout(DOCKER_OVERLAY2), 'overlay2');
      assert.equal(docker.layerStore(DOCKER_OVERLAY2)?.layout, 'overlay2');
      assert.deepEqual(docker.helperBinds(DOCKER_OVERLAY2), helperBinds('/var/lib/docker'));
      assert.equal(docker.mountsInMonitor(DOCKER_OVERLAY2), false);
      assert.equal(docker.describe(DOCKER_OVERLAY2), 'Docker 26.1.5');
      assert.equal(docker.kind, 'docker');
    });

    it('overlay2: the store reads layerdb’s tar-split by chain ID under the daemon’s root', async () => {
      const root = '/srv/docker';
      const diffIds = [`sha256:${hex('d1')}`, `sha256:${hex('d2')}`];
      const chains = chainIds(diffIds);
      const layer: LayerFile[] = [
        { name: 'usr/', type: 'dir', mode: 0o755 },
        { name: 'usr/bin/tool', type: 'file', mode: 0o755, content: '#!/bin/sh\n' },
      ];
      const db = `${root}/image/overlay2/layerdb/sha256`;
      const { files } = fakeFiles({
        [`${db}/${chains[1].slice(7)}/tar-split.json.gz`]: tarSplitGz(layer),
        [`${db}/${chains[0].slice(7)}/size`]: '5000\n',
        [`${db}/${chains[1].slice(7)}/size`]: '42',
      });
      const info = { ...DOCKER_OVERLAY2, DockerRootDir: root };
      const store = docker.layerStore(info);
      assert.ok(store?.sizes);
      const image: RuntimeImage = { id: `sha256:${hex('cfg')}`, repoTags: [], repoDigests: [], created: 0, sizeBytes: 0, diffIds };
      const r = await store.read(files, image, [0, 1], { config: false });
      assert.deepEqual([...r.layers.keys()], [1]);
      assert.deepEqual(r.layers.get(1), expectedEntries(layer));
      assert.equal(r.source, 'tar-split');
      assert.deepEqual(
        await store.sizes(files, [image]),
        new Map([
          [chains[0], 5000],
          [chains[1], 42],
        ]),
      );
      assert.deepEqual(docker.helperBinds(info), helperBinds(root));
    });

    it('containerd image store: the containerd layout and its content store', () => {
      assert.equal(docker.layout(DOCKER_CONTAINERD), 'containerd');
      assert.equal(docker.layerStore(DOCKER_CONTAINERD)?.layout, 'containerd');
      assert.ok(docker.helperBinds(DOCKER_CONTAINERD).some((b) => b.host === '/var/lib/containerd'));
      assert.equal(docker.mountsInMonitor(DOCKER_CONTAINERD), false);
      assert.equal(docker.describe(DOCKER_CONTAINERD), 'Docker 27.3.1');
    });

    it('another graph driver is no layout it knows', () => {
      assert.equal(docker.layout({ ...DOCKER_OVERLAY2, Driver: 'btrfs', DriverStatus: [] }), 'unknown');
      assert.equal(docker.layout({ ...DOCKER_OVERLAY2, Driver: undefined }), 'overlay2');
      assert.equal(docker.describe({}), 'Docker ?');
    });

    it('recursive read-only binds from Docker 25', () => {
      assert.equal(docker.forcesRecursiveReadOnly(DOCKER_OVERLAY2), true);
      assert.equal(docker.forcesRecursiveReadOnly({ ...DOCKER_OVERLAY2, ServerVersion: '24.0.9' }), false);
    });
  });

  describe('Podman', () => {
    it('rootful: its overlay store under the graph root, binding only cgroupfs and the graph root', async () => {
      assert.equal(podman.kind, 'podman');
      assert.equal(podman.layout(PODMAN_ROOTFUL), 'podman-overlay');
      assert.equal(podman.describe(PODMAN_ROOTFUL), 'Podman 5.4.2');
      assert.equal(podman.mountsInMonitor(PODMAN_ROOTFUL), false);
      assert.equal(podman.forcesRecursiveReadOnly(), false);
      assert.deepEqual(
        podman.helperBinds(PODMAN_ROOTFUL).map((b) => [b.host, b.helper, b.optional]),
        [
          ['/sys/fs/cgroup', '/host/sys/fs/cgroup', false],
          ['/var/lib/containers/storage', '/host/var/lib/containers/storage', false],
        ],
      );
      const store = podman.layerStore(PODMAN_ROOTFUL);
      assert.equal(store?.layout, 'podman-overlay');
      const { files, read } = fakeFiles({ '/var/lib/containers/storage/overlay-layers/layers.json': '[]' });
      const image: RuntimeImage = {
        id: 'sha256:x',
        repoTags: [],
        repoDigests: [],
        created: 0,
        sizeBytes: 0,
        diffIds: [`sha256:${hex('a')}`],
      };
      const r = await store!.read(files, image, [0], { config: false });
      assert.equal(r.layers.size, 0);
      assert.deepEqual(read, ['/var/lib/containers/storage/overlay-layers/layers.json']);
    });

    it('rootless: described as such, mounts in its own namespace, binds its own graph root', async () => {
      assert.equal(podman.describe(PODMAN_ROOTLESS), 'Podman 5.4.2 (rootless)');
      assert.equal(podman.layout(PODMAN_ROOTLESS), 'podman-overlay');
      assert.equal(podman.mountsInMonitor(PODMAN_ROOTLESS), true);
      assert.deepEqual(
        podman.helperBinds(PODMAN_ROOTLESS).map((b) => b.host),
        ['/sys/fs/cgroup', ROOTLESS_ROOT],
      );
      const { files, read } = fakeFiles({ [`${ROOTLESS_ROOT}/overlay-layers/layers.json`]: '[]' });
      const image: RuntimeImage = { id: 'sha256:x', repoTags: [], repoDigests: [], created: 0, sizeBytes: 0, diffIds: [] };
      await podman.layerStore(PODMAN_ROOTLESS)!.read(files, image, [], { config: false });
      assert.deepEqual(read, [`${ROOTLESS_ROOT}/overlay-layers/layers.json`]);
    });

    it('another storage driver has no store it reads', () => {
      const vfs = { ...PODMAN_ROOTFUL, Driver: 'vfs' };
      assert.equal(podman.layout(vfs), 'unknown');
      assert.equal(podman.layerStore(vfs), null);
      assert.equal(podman.layout({ ...PODMAN_ROOTFUL, Driver: undefined }), 'podman-overlay');
    });

    it('defaults to the rootful graph root when /info names none', () => {
      assert.deepEqual(
        podman.helperBinds({ ...PODMAN_ROOTFUL, DockerRootDir: undefined }).map((b) => b.host),
        ['/sys/fs/cgroup', '/var/lib/containers/storage'],
      );
      assert.equal(podman.describe({}), 'Podman ?');
    });

    it('tells no init.pid files: its list call gives each PID', () => {
      assert.deepEqual(podman.initPidFiles(), []);
      assert.ok(docker.initPidFiles('abc').every((f) => f.endsWith('/abc/init.pid')));
    });

    it('probes direct access on a directory its own storage has (no Docker `image` dir in a Podman store)', () => {
      assert.equal(podman.accessProbeDir(PODMAN_ROOTFUL), '/var/lib/containers/storage/overlay-layers');
      assert.equal(podman.accessProbeDir(PODMAN_ROOTLESS), `${PODMAN_ROOTLESS.DockerRootDir}/overlay-layers`);
      assert.equal(docker.accessProbeDir(DOCKER_OVERLAY2), `${DOCKER_OVERLAY2.DockerRootDir ?? '/var/lib/docker'}/image`);
    });
  });
});
