// Podman behind the runtime seam, rootful or rootless. Its Docker-compatible API serves most calls (the
// Docker runtime's); its own libpod API adds what that one lacks: pods, each container's PID in the list
// call, and a helper container in the host's cgroup namespace (the compatible create ignores CgroupnsMode).
import { PODMAN_DEFAULT_CAPABILITIES } from '../../security/capabilities';
import * as path from 'node:path';
import type { PodRef } from '../../../shared/model';
import { HelperBind, bind } from '../../access/paths';
import type { DaemonInfo, DockerClient } from '../docker/client';
import { DockerRuntime } from '../docker/runtime';
import type { HelperContainerSpec, LayerStore, RuntimeContainer, RuntimeKind, StorageLayout } from '../types';
import { podmanLayerStore } from './store';

/** The libpod API version asked for: Podman 4.0 and later serve it. */
const LIBPOD = '/v4.0.0/libpod';

/** One entry of GET /libpod/containers/json, as far as the engine uses it (every field someone else's). */
export interface LibpodListEntry {
  Id?: unknown;
  Names?: unknown;
  Image?: unknown;
  ImageID?: unknown;
  State?: unknown;
  Created?: unknown;
  StartedAt?: unknown;
  ExitCode?: unknown;
  Labels?: unknown;
  Networks?: unknown;
  Pid?: unknown;
  Pod?: unknown;
  PodName?: unknown;
  IsInfra?: unknown;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** "Up 5 minutes", as Docker's list words it, from libpod's start time (unix seconds). */
function upFor(startedAt: number | undefined, nowS: number): string {
  if (startedAt === undefined || startedAt <= 0) return 'Up';
  const s = Math.max(0, nowS - startedAt);
  const [n, unit] =
    s < 60
      ? [Math.floor(s), 'second']
      : s < 3600
        ? [Math.floor(s / 60), 'minute']
        : s < 86400
          ? [Math.floor(s / 3600), 'hour']
          : [Math.floor(s / 86400), 'day'];
  return `Up ${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** A libpod list entry as the neutral record; null for one with no container ID. */
export function fromLibpodEntry(e: LibpodListEntry, nowS = Date.now() / 1000): RuntimeContainer | null {
  const id = str(e.Id);
  if (!/^[0-9a-f]{64}$/.test(id)) return null;
  const labels: Record<string, string> = {};
  if (e.Labels && typeof e.Labels === 'object' && !Array.isArray(e.Labels))
    for (const [k, v] of Object.entries(e.Labels as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
  const imageId = str(e.ImageID);
  const created = typeof e.Created === 'string' ? Date.parse(e.Created) / 1000 : (num(e.Created) ?? 0);
  const state = str(e.State) || 'unknown';
  const pid = num(e.Pid);
  const networks = Array.isArray(e.Networks) ? e.Networks.filter((n): n is string => typeof n === 'string') : [];
  return {
    id,
    names: Array.isArray(e.Names) ? e.Names.filter((n): n is string => typeof n === 'string') : [],
    image: str(e.Image),
    imageId: imageId && !imageId.includes(':') ? `sha256:${imageId}` : imageId,
    state,
    status: state === 'running' ? upFor(num(e.StartedAt), nowS) : state === 'exited' ? `Exited (${num(e.ExitCode) ?? '?'})` : state,
    created: Number.isFinite(created) ? Math.floor(created) : 0,
    labels,
    // libpod's list names the networks, not a mode: a container that joined another's has none.
    networkMode: networks[0] ?? '',
    pod: podOfLibpodEntry(e),
    ...(pid !== undefined && Number.isInteger(pid) && pid > 0 ? { pid } : {}),
  };
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
  const components: unknown = version.Components;
  return Array.isArray(components) && components.some((c) => typeof c?.Name === 'string' && /^podman/i.test(c.Name));
}

/** Whether Podman runs rootless (its /info says so among the security options). */
export function podmanRootless(info: DaemonInfo): boolean {
  return (info.SecurityOptions ?? []).some((o) => /(^|,)name=rootless(,|$)/.test(o));
}

export class PodmanRuntime extends DockerRuntime {
  override readonly kind: RuntimeKind = 'podman';
  override readonly defaultCapabilities: readonly string[] = PODMAN_DEFAULT_CAPABILITIES;

  constructor(client: DockerClient) {
    super(client);
    // Its API closes a helper's stdin when the attach connection goes (checked on Podman 5.4): the script
    // ends with its run, so a helper is never left for the next run.
    (this.helpers as { reattachable: boolean }).reattachable = false;
    this.helpers.config = (spec) => podmanHelperSpec(spec);
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

  /** libpod's list call: what Docker's tells, plus each container's PID and pod, in one call. */
  override async listContainers(all: boolean): Promise<RuntimeContainer[]> {
    const list = await this.client.request<LibpodListEntry[]>('list', {
      method: 'GET',
      path: `${LIBPOD}/containers/json?`,
      options: { all },
      statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
    });
    return (Array.isArray(list) ? list : []).flatMap((e) => {
      const c = e && typeof e === 'object' ? fromLibpodEntry(e) : null;
      return c ? [c] : [];
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

  /** The layer records' directory (`overlay-layers`), which only the store's owner may list. */
  override accessProbeDir(info: DaemonInfo): string {
    return `${(info.DockerRootDir || '/var/lib/containers/storage').replace(/\/+$/, '')}/${info.Driver || 'overlay'}-layers`;
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
