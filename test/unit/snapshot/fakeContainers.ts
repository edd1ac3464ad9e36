// What the snapshot tests' fake containers share: the runtime's record of one, a runtime that fails the
// test when the engine asks the daemon, the host's overlay mount, and one fake container's /proc,
// cgroupfs and init.pid files.
import { parseMountinfo } from '../../../src/core/procfs/mountinfo';
import type { CgroupMounts } from '../../../src/core/cgroups/parse';
import type { DockerClient } from '../../../src/core/runtime/docker/client';
import { DOCKER_INIT_PID_DIRS, DockerRuntime } from '../../../src/core/runtime/docker/runtime';
import type { RuntimeContainer } from '../../../src/core/runtime/types';

/** The overlay the runtime mounted for every fake container's root, as a mountinfo line after `ID PARENT`. */
export const OVERLAY_MOUNT =
  '0:50 / /var/lib/docker/overlay2/x/merged rw,relatime - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w';
/** The container's own view of that mount: its root. */
export const ROOT_MOUNT = '1 0 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w\n';

/** The host's mount table holding that overlay. */
export const HOST_MOUNTS = parseMountinfo(`2 1 ${OVERLAY_MOUNT}\n`).entries;
/** cgroup v2 at /sys/fs/cgroup. */
export const MOUNTS: CgroupMounts = { v1: new Map(), v2: { mountPoint: '/sys/fs/cgroup', root: '/' } };

/** Fails the test if the engine asks the daemon: every fake container has an init.pid file. */
export const NO_DAEMON = new DockerRuntime(
  new Proxy({}, { get: (_t, name) => () => Promise.reject(new Error(`unexpected daemon call ${String(name)}`)) }) as DockerClient,
);

/** The runtime's list entry of a running fake container. */
export function runningContainer(id: string): RuntimeContainer {
  return {
    id,
    names: [`c-${id.slice(0, 4)}`],
    image: 'x',
    imageId: 'sha256:x',
    state: 'running',
    status: 'Up',
    created: 1,
    labels: {},
    networkMode: '',
    pod: null,
  };
}

/**
 * The files of a fake container whose processes are `pids` (the first its init), under Docker's layout
 * and cgroup v2; `cmdline` gives a process's command line.
 */
export function containerFiles(id: string, pids: number[], cmdline?: (pid: number) => string): Map<string, string> {
  const files = new Map<string, string>();
  const init = pids[0];
  files.set(`${DOCKER_INIT_PID_DIRS[0]}/${id}/init.pid`, `${init}\n`);
  files.set(`/sys/fs/cgroup/docker/${id}/cgroup.procs`, pids.map((p) => `${p}\n`).join(''));
  for (const [k, pid] of pids.entries()) {
    files.set(`/proc/${pid}/cgroup`, `0::/docker/${id}\n`);
    files.set(
      `/proc/${pid}/status`,
      `Name:\tsleep\nState:\tS (sleeping)\nPid:\t${pid}\nPPid:\t${k === 0 ? 1 : init}\nUid:\t0\t0\t0\t0\nNSpid:\t${pid}\t${k + 1}\nThreads:\t1\nVmRSS:\t100 kB\n`,
    );
    files.set(`/proc/${pid}/cmdline`, cmdline?.(pid) ?? `sleep\u0000${600 + k}\u0000`);
    files.set(`/proc/${pid}/mountinfo`, ROOT_MOUNT);
  }
  return files;
}
