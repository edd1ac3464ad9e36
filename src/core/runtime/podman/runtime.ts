// Podman behind the runtime seam, rootful or rootless. Its Docker-compatible API serves most calls (the
// Docker runtime's); its own libpod API adds what that one lacks: pods, each container's PID in the list
// call, and a helper container in the host's cgroup namespace (the compatible create ignores CgroupnsMode).
import * as path from 'node:path';
import type { PodRef } from '../../../shared/model';
import { HelperBind, bind } from '../../access/paths';
import type { DaemonInfo, DockerClient } from '../docker/client';
import { DockerRuntime } from '../docker/runtime';
import type { HelperContainerSpec, LayerStore, RuntimeContainer, RuntimeKind, StorageLayout } from '../types';
import { podmanLayerStore } from './store';

/** The libpod API version asked for: Podman 4.0 and later serve it. */
const LIBPOD = '/v4.0.0/libpod';

/** One entry of GET /libpod/containers/json, as far as the engine uses it. */
interface LibpodListEntry {
  Id?: unknown;
  Pid?: unknown;
  Pod?: unknown;
  PodName?: unknown;
  IsInfra?: unknown;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A pod reference from libpod's list entry; names are someone else's words, kept short. */
export function podOfLibpodEntry(e: LibpodListEntry): PodRef | null {
  const id = str(e.Pod);
  if (!/^[0-9a-f]{12,64}$/.test(id)) return null;
  const name = str(e.PodName).slice(0, 253) || id.slice(0, 12);
  return { source: 'podman', id, name, infra: e.IsInfra === true };
}

/** Whether the daemon at the other end is Podman (its /version lists a "Podman Engine" component). */
export function isPodmanVersion(version: { Components?: { Name?: unknown }[] | null }): boolean {
  return (version.Components ?? []).some((c) => typeof c?.Name === 'string' && /^podman/i.test(c.Name));
}

/** Whether Podman runs rootless (its /info says so among the security options). */
export function podmanRootless(info: DaemonInfo): boolean {
  return (info.SecurityOptions ?? []).some((o) => /(^|,)name=rootless(,|$)/.test(o));
}

export class PodmanRuntime extends DockerRuntime {
  override readonly kind: RuntimeKind = 'podman';

  constructor(client: DockerClient) {
    super(client);
    // Created through libpod (host cgroup namespace); attached, started and removed as Docker's are.
    this.helpers.create = async (spec) => {
      client.calls.helper = (client.calls.helper ?? 0) + 1;
      const res = await client.request<{ Id?: string }>('helper', {
        method: 'POST',
        path: `${LIBPOD}/containers/create`,
        options: podmanHelperSpec(spec),
        statusCodes: { 200: true, 201: true, 400: 'bad parameter', 404: 'no such image', 409: 'conflict', 500: 'server error' },
      });
      if (!res?.Id) throw new Error('Podman created no container (no Id in its answer)');
      return res.Id;
    };
  }

  override describe(info: DaemonInfo): string {
    return `Podman ${info.ServerVersion ?? '?'}${podmanRootless(info) ? ' (rootless)' : ''}`;
  }

  /** The compatible list (status, network mode), joined with libpod's (pods, PIDs) by container ID. */
  override async listContainers(all: boolean): Promise<RuntimeContainer[]> {
    const [compat, libpod] = await Promise.all([
      super.listContainers(all),
      this.client
        .request<LibpodListEntry[]>('list', {
          method: 'GET',
          path: `${LIBPOD}/containers/json?`,
          options: { all },
          statusCodes: { 200: true, 500: 'server error' },
        })
        .catch(() => [] as LibpodListEntry[]),
    ]);
    const extra = new Map<string, LibpodListEntry>();
    for (const e of Array.isArray(libpod) ? libpod : []) if (typeof e?.Id === 'string') extra.set(e.Id, e);
    return compat.map((c) => {
      const e = extra.get(c.id);
      if (!e) return c;
      const pid = typeof e.Pid === 'number' && Number.isInteger(e.Pid) && e.Pid > 0 ? e.Pid : undefined;
      return { ...c, pod: podOfLibpodEntry(e), ...(pid ? { pid } : {}) };
    });
  }

  /** Podman's list call tells each PID; conmon's pidfile is in a run dir the helper does not bind. */
  override initPidFiles(): string[] {
    return [];
  }

  override layout(info: DaemonInfo): StorageLayout {
    return (info.Driver ?? 'overlay') === 'overlay' ? 'podman-overlay' : 'unknown';
  }

  override layerStore(info: DaemonInfo): LayerStore | null {
    if (this.layout(info) !== 'podman-overlay') return null;
    return podmanLayerStore(info.DockerRootDir ?? '/var/lib/containers/storage', info.Driver ?? 'overlay');
  }

  override helperBinds(info: DaemonInfo): HelperBind[] {
    const root = path.posix.normalize(info.DockerRootDir || '/var/lib/containers/storage');
    return [
      bind('/sys/fs/cgroup', 'cgroup limits, usage and member processes', false),
      bind(root, "Podman's storage: layer records, tar-split files and the overlay upper dirs", false),
    ];
  }

  /** Rootless Podman mounts in its own user and mount namespace, which conmon shares and PID 1 does not. */
  override mountsInMonitor(info: DaemonInfo): boolean {
    return podmanRootless(info);
  }

  override forcesRecursiveReadOnly(): boolean {
    return false;
  }
}

/** The helper container as libpod's SpecGenerator: the same container Docker's create makes. */
export function podmanHelperSpec(spec: HelperContainerSpec): Record<string, unknown> {
  const env: Record<string, string> = {};
  for (const e of spec.env) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return {
    name: spec.name,
    image: spec.image,
    entrypoint: spec.entrypoint,
    command: spec.cmd,
    env,
    labels: spec.labels,
    user: '0:0',
    work_dir: '/',
    stdin: true,
    remove: true,
    pidns: { nsmode: 'host' },
    cgroupns: { nsmode: 'host' },
    userns: { nsmode: 'host' },
    netns: { nsmode: 'none' },
    read_only_filesystem: true,
    cap_drop: ['ALL'],
    cap_add: ['SYS_PTRACE', 'DAC_READ_SEARCH'],
    no_new_privileges: true,
    ...(spec.apparmorUnconfined ? { apparmor_profile: 'unconfined' } : {}),
    ...(spec.selinuxDisabled ? { selinux_opts: ['disable'] } : {}),
    mounts: [
      ...spec.binds.map((b) => ({ destination: b.helper, source: b.host, type: 'bind', options: ['ro', 'rbind', b.propagation] })),
      ...Object.entries(spec.tmpfs).map(([dest, opts]) => ({
        destination: dest,
        source: 'tmpfs',
        type: 'tmpfs',
        options: opts.split(','),
      })),
    ],
    resource_limits: { memory: { limit: spec.memoryBytes, swap: spec.memoryBytes }, pids: { limit: spec.pidsLimit } },
    log_configuration: { driver: 'none' },
  };
}
