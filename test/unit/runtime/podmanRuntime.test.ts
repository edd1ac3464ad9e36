// Podman behind the runtime seam: libpod's list entries as neutral records (every field someone else's)
// and the helper container as libpod's create call takes it.
import * as assert from 'node:assert/strict';
import { HELPER_LABEL, HELPER_MEMORY_BYTES, HelperSpec, helperContainerSpec } from '../../../src/core/access/helper';
import { HELPER_SCRIPT } from '../../../src/core/access/script';
import type { DaemonInfo, DockerClient } from '../../../src/core/runtime/docker/client';
import {
  LibpodListEntry,
  PodmanRuntime,
  fromLibpodEntry,
  podOfLibpodEntry,
  podmanHelperSpec,
} from '../../../src/core/runtime/podman/runtime';

const ID = 'f3c1a9b2'.repeat(8);
const IMAGE_ID = '9b1e6a2d'.repeat(8);
const POD_ID = '7d5e0c4a'.repeat(8);
const STARTED = 1740823200; // 2025-03-01T10:00:00Z
const NOW = STARTED + 5 * 60 + 17;

/** GET /libpod/containers/json as Podman 5.4 answers it, for a container in a pod. */
function entry(over: Record<string, unknown> = {}): LibpodListEntry {
  return {
    AutoRemove: false,
    Command: ['nginx', '-g', 'daemon off;'],
    CreatedAt: '',
    CIDFile: '',
    Exited: false,
    ExitedAt: -62135596800,
    ExitCode: 0,
    Id: ID,
    Image: 'docker.io/library/nginx:1.27',
    ImageID: IMAGE_ID,
    IsInfra: false,
    Labels: { 'io.podman.compose.project': 'shop', maintainer: 'NGINX Docker Maintainers' },
    Mounts: [],
    Names: ['shop_web_1'],
    Namespaces: {},
    Networks: ['shop_default'],
    Pid: 48213,
    Pod: POD_ID,
    PodName: 'pod_shop',
    Ports: [{ host_ip: '', container_port: 80, host_port: 8080, range: 1, protocol: 'tcp' }],
    Restarts: 0,
    Size: null,
    StartedAt: STARTED,
    State: 'running',
    Status: '',
    Created: '2025-03-01T10:59:58.123456789+01:00',
    ...over,
  } as LibpodListEntry;
}

describe('runtime/podman', () => {
  describe('fromLibpodEntry', () => {
    it('turns a list entry into the neutral record', () => {
      assert.deepEqual(fromLibpodEntry(entry(), NOW), {
        id: ID,
        names: ['shop_web_1'],
        image: 'docker.io/library/nginx:1.27',
        imageId: `sha256:${IMAGE_ID}`,
        state: 'running',
        status: 'Up 5 minutes',
        created: STARTED - 2,
        labels: { 'io.podman.compose.project': 'shop', maintainer: 'NGINX Docker Maintainers' },
        networkMode: 'shop_default',
        pod: { source: 'podman', id: POD_ID, name: 'pod_shop', infra: false },
        pid: 48213,
      });
    });

    it('words the status as Docker’s list does', () => {
      const status = (over: Record<string, unknown>, now = NOW) => fromLibpodEntry(entry(over), now)?.status;
      assert.equal(status({}, STARTED + 1), 'Up 1 second');
      assert.equal(status({}, STARTED + 60), 'Up 1 minute');
      assert.equal(status({}, STARTED + 2 * 3600 + 5), 'Up 2 hours');
      assert.equal(status({}, STARTED + 3 * 86400), 'Up 3 days');
      assert.equal(status({ StartedAt: 0 }), 'Up');
      assert.equal(status({ State: 'exited', ExitCode: 137, Pid: 0 }), 'Exited (137)');
      assert.equal(status({ State: 'created', StartedAt: 0, Pid: 0 }), 'created');
      assert.equal(status({ State: 42 }), 'unknown');
    });

    it('keeps an image ID that already names its algorithm, and an empty one empty', () => {
      assert.equal(fromLibpodEntry(entry({ ImageID: `sha256:${IMAGE_ID}` }), NOW)?.imageId, `sha256:${IMAGE_ID}`);
      assert.equal(fromLibpodEntry(entry({ ImageID: '' }), NOW)?.imageId, '');
      assert.equal(fromLibpodEntry(entry({ ImageID: 7 }), NOW)?.imageId, '');
    });

    it('takes Created as unix seconds too, and a date it cannot read as 0', () => {
      assert.equal(fromLibpodEntry(entry({ Created: STARTED }), NOW)?.created, STARTED);
      assert.equal(fromLibpodEntry(entry({ Created: 'yesterday-ish' }), NOW)?.created, 0);
      assert.equal(fromLibpodEntry(entry({ Created: { seconds: 1 } }), NOW)?.created, 0);
    });

    it('drops an entry whose Id is not a container ID', () => {
      for (const Id of [undefined, null, '', 'web', ID.slice(0, 12), ID.toUpperCase(), `${ID}0`, `../${ID.slice(3)}`, 42, [ID]])
        assert.equal(fromLibpodEntry(entry({ Id }), NOW), null, `Id ${JSON.stringify(Id)}`);
    });

    it('keeps only string labels, names and networks; null labels are none', () => {
      const c = fromLibpodEntry(
        entry({
          Labels: { ok: 'yes', n: 1, b: true, o: { x: 'y' }, nil: null, list: ['a'] },
          Names: ['web', 7, null, 'alias'],
          Networks: [{ name: 'x' }, 'podman'],
        }),
        NOW,
      );
      assert.deepEqual(c?.labels, { ok: 'yes' });
      assert.deepEqual(c?.names, ['web', 'alias']);
      assert.equal(c?.networkMode, 'podman');
      assert.deepEqual(fromLibpodEntry(entry({ Labels: null }), NOW)?.labels, {});
      assert.deepEqual(fromLibpodEntry(entry({ Labels: 'a=b' }), NOW)?.labels, {});
      assert.deepEqual(fromLibpodEntry(entry({ Names: 'web', Networks: null }), NOW)?.names, []);
    });

    it('takes no labels from a Labels list', () => {
      assert.deepEqual(fromLibpodEntry(entry({ Labels: ['com.example=1', 'b'] }), NOW)?.labels, {});
    });

    it('a label named __proto__ changes nothing but the labels', () => {
      const c = fromLibpodEntry(entry({ Labels: JSON.parse('{"__proto__": "x", "a": "b"}') as unknown }), NOW);
      assert.ok(c);
      assert.equal(Object.getPrototypeOf(c.labels), Object.prototype);
      assert.equal(c.labels.a, 'b');
    });

    it('tells a PID only when it is a positive integer', () => {
      for (const Pid of [0, -1, -48213, '48213', 1.5, Number.NaN, null, undefined, true])
        assert.equal('pid' in fromLibpodEntry(entry({ Pid }), NOW)!, false, `Pid ${String(Pid)}`);
      assert.equal(fromLibpodEntry(entry({ Pid: 1 }), NOW)?.pid, 1);
    });
  });

  describe('podOfLibpodEntry', () => {
    it('names the pod, and whether the container is its infra container', () => {
      assert.deepEqual(podOfLibpodEntry(entry({ IsInfra: true })), { source: 'podman', id: POD_ID, name: 'pod_shop', infra: true });
      assert.equal(podOfLibpodEntry(entry({ IsInfra: 'true' }))?.infra, false);
    });

    it('no pod for a container outside one, or a Pod that is not an ID', () => {
      for (const Pod of [
        '',
        undefined,
        null,
        'pod_shop',
        POD_ID.toUpperCase(),
        `${POD_ID.slice(0, 11)}`,
        `${POD_ID}a`,
        `${POD_ID.slice(0, 20)}/..`,
        5,
      ])
        assert.equal(podOfLibpodEntry(entry({ Pod })), null, `Pod ${JSON.stringify(Pod)}`);
      assert.equal(fromLibpodEntry(entry({ Pod: 'x', PodName: 'pod_shop' }), NOW)?.pod, null);
    });

    it('cuts a long pod name to 253 characters, and names a nameless pod by its short ID', () => {
      const pod = podOfLibpodEntry(entry({ PodName: 'p'.repeat(10_000) }));
      assert.equal(pod?.name, 'p'.repeat(253));
      assert.equal(podOfLibpodEntry(entry({ PodName: '' }))?.name, POD_ID.slice(0, 12));
      assert.equal(podOfLibpodEntry(entry({ PodName: { evil: true } }))?.name, POD_ID.slice(0, 12));
      assert.equal(podOfLibpodEntry(entry({ Pod: POD_ID.slice(0, 12) }))?.id, POD_ID.slice(0, 12));
    });
  });

  describe('podmanHelperSpec', () => {
    const graphRoot = '/var/lib/containers/storage';
    const info: DaemonInfo = {
      ServerVersion: '5.4.2',
      Driver: 'overlay',
      DockerRootDir: graphRoot,
      SecurityOptions: ['name=seccomp,profile=default', 'name=selinux'],
    };
    const runtime = new PodmanRuntime({ calls: {} } as unknown as DockerClient);
    const imageId = `sha256:${'ab'.repeat(32)}`;
    const spec: HelperSpec = {
      image: 'docker.io/library/busybox:latest',
      imageId,
      idleTimeoutS: 90,
      binds: runtime.helperBinds(info),
      securityOptions: info.SecurityOptions!,
      serverVersion: info.ServerVersion!,
      forceRecursiveReadOnly: runtime.forcesRecursiveReadOnly(),
      dockerRootDir: graphRoot,
    };
    const made = podmanHelperSpec(helperContainerSpec(spec, spec.binds, 'container-xray-helper-1a2b3c'));

    it('runs the image ID, never its name, as root with the script', () => {
      assert.equal(made.name, 'container-xray-helper-1a2b3c');
      assert.equal(made.image, imageId);
      assert.deepEqual(made.entrypoint, ['/bin/sh', '-c']);
      assert.deepEqual(made.command, [HELPER_SCRIPT, 'container-xray-helper']);
      assert.equal(made.user, '0:0');
      assert.deepEqual(made.labels, { [HELPER_LABEL]: '1' });
      assert.equal(made.stdin, true);
      assert.equal(made.remove, true);
    });

    it('passes the environment as a map', () => {
      assert.deepEqual(made.env, { LC_ALL: 'C', XRAY_IDLE_S: '90' });
      const odd = podmanHelperSpec({ ...helperContainerSpec(spec, [], 'n'), env: ['A=b=c', 'EMPTY=', 'NOEQUALS', '=x'] });
      assert.deepEqual(odd.env, { A: 'b=c', EMPTY: '' });
    });

    it('shares the host’s PID, cgroup and user namespaces, and has no network', () => {
      assert.deepEqual(made.pidns, { nsmode: 'host' });
      assert.deepEqual(made.cgroupns, { nsmode: 'host' });
      assert.deepEqual(made.userns, { nsmode: 'host' });
      assert.deepEqual(made.netns, { nsmode: 'none' });
    });

    it('has a read-only root, all capabilities dropped but the two reads need, and no new privileges', () => {
      assert.equal(made.read_only_filesystem, true);
      assert.deepEqual(made.cap_drop, ['ALL']);
      assert.deepEqual([...(made.cap_add as string[])].sort(), ['DAC_READ_SEARCH', 'SYS_PTRACE']);
      assert.equal(made.no_new_privileges, true);
      assert.deepEqual(made.log_configuration, { driver: 'none' });
    });

    it('lifts SELinux confinement where the daemon has it, AppArmor only where that is on', () => {
      assert.deepEqual(made.selinux_opts, ['disable']);
      assert.equal('apparmor_profile' in made, false);
      const plain = podmanHelperSpec(helperContainerSpec({ ...spec, securityOptions: ['name=rootless'] }, spec.binds, 'n'));
      assert.equal('selinux_opts' in plain, false);
      const aa = podmanHelperSpec(helperContainerSpec({ ...spec, securityOptions: ['name=apparmor'] }, spec.binds, 'n'));
      assert.equal(aa.apparmor_profile, 'unconfined');
    });

    it('binds every host path read-only, with its propagation, and a noexec tmpfs at /tmp', () => {
      type Mount = { destination: string; source: string; type: string; options: string[] };
      const mounts = made.mounts as Mount[];
      const binds = mounts.filter((m) => m.type === 'bind');
      assert.deepEqual(
        binds.map((m) => [m.source, m.destination]),
        [
          ['/sys/fs/cgroup', '/host/sys/fs/cgroup'],
          [graphRoot, `/host${graphRoot}`],
        ],
      );
      for (const m of binds) assert.ok(m.options.includes('ro'), `${m.source} is bound read-only: ${m.options.join(',')}`);
      for (const m of binds) assert.ok(!m.options.includes('rw'), m.source);
      assert.ok(binds[0].options.includes('rprivate'));
      assert.ok(binds[1].options.includes('rslave'), 'the graph root is bound with slave propagation (later mounts show)');
      const tmpfs = mounts.filter((m) => m.type === 'tmpfs');
      assert.deepEqual(
        tmpfs.map((m) => m.destination),
        ['/tmp'],
      );
      for (const o of ['noexec', 'nosuid', 'nodev']) assert.ok(tmpfs[0].options.includes(o), o);
      assert.equal(mounts.length, binds.length + tmpfs.length);
    });

    it('limits memory (no swap beyond it) and PIDs', () => {
      assert.deepEqual(made.resource_limits, {
        memory: { limit: HELPER_MEMORY_BYTES, swap: HELPER_MEMORY_BYTES },
        pids: { limit: 64 },
      });
    });
  });
});
