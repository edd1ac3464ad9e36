// Which runtime answers at an endpoint: Podman's /version lists a "Podman Engine" component; anything
// else that speaks the API is taken as Docker Engine. The user can force one (containerXray.runtime,
// --runtime) where the detection cannot tell.
import { DockerClient } from './docker/client';
import type { ResolveOptions } from './docker/context';
import { DockerRuntime } from './docker/runtime';
import { PodmanRuntime, isPodmanVersion } from './podman/runtime';
import type { Runtime, RuntimeKind, RuntimeSetting } from './types';

export function runtimeFor(client: DockerClient, kind: RuntimeKind): Runtime {
  return kind === 'podman' ? new PodmanRuntime(client) : new DockerRuntime(client);
}

/**
 * The runtime at the endpoint. `auto` asks /version once; a daemon that does not answer is taken as
 * Docker for now (every call fails with the reason anyway) and the kind is asked again on the next connect.
 */
export async function detectRuntime(client: DockerClient, setting: RuntimeSetting = 'auto'): Promise<Runtime> {
  if (setting !== 'auto') return runtimeFor(client, setting);
  const version = await client.version().catch(() => null);
  return runtimeFor(client, version && isPodmanVersion(version as { Components?: { Name?: unknown }[] }) ? 'podman' : 'docker');
}

export async function connectRuntime(opts: ResolveOptions & { runtime?: RuntimeSetting } = {}): Promise<Runtime> {
  return detectRuntime(await DockerClient.connect(opts), opts.runtime ?? 'auto');
}
