// Which runtime answers at an endpoint: Podman's /_ping carries a `Libpod-Api-Version` header and names
// `Server: Libpod/…`, Docker's `Server: Docker/…`; where the ping says neither, Podman's /version lists a
// "Podman Engine" component. Anything else that speaks the API is taken as Docker Engine. The user can
// force one (containerXray.runtime, --runtime) where the detection cannot tell.
import { DockerClient } from './docker/client';
import type { ResolveOptions } from './docker/context';
import { DockerRuntime } from './docker/runtime';
import { PodmanRuntime, isPodmanVersion } from './podman/runtime';
import type { Runtime, RuntimeKind, RuntimeSetting } from './types';

export function runtimeFor(client: DockerClient, kind: RuntimeKind): Runtime {
  return kind === 'podman' ? new PodmanRuntime(client) : new DockerRuntime(client);
}

/** What the headers of /_ping say the daemon is, or null when they do not say. */
export function runtimeFromPing(headers: Record<string, string | string[] | undefined> | null): RuntimeKind | null {
  if (!headers) return null;
  const one = (name: string): string => {
    const v = headers[name];
    return (Array.isArray(v) ? v[0] : v) ?? '';
  };
  if (one('libpod-api-version') !== '' || /^libpod\//i.test(one('server'))) return 'podman';
  if (/^docker\//i.test(one('server'))) return 'docker';
  return null;
}

/**
 * The runtime at the endpoint. `auto` asks /_ping, and /version only where the ping does not say; a daemon
 * that does not answer is taken as Docker for now (every call fails with the reason anyway) and the kind
 * is asked again on the next connect.
 */
export async function detectRuntime(client: DockerClient, setting: RuntimeSetting = 'auto'): Promise<Runtime> {
  if (setting !== 'auto') return runtimeFor(client, setting);
  const pinged = runtimeFromPing(await client.pingHeaders().catch(() => null));
  if (pinged) return runtimeFor(client, pinged);
  const version = await client.version().catch(() => null);
  return runtimeFor(client, version && isPodmanVersion(version as { Components?: { Name?: unknown }[] }) ? 'podman' : 'docker');
}

export async function connectRuntime(opts: ResolveOptions & { runtime?: RuntimeSetting } = {}): Promise<Runtime> {
  return detectRuntime(await DockerClient.connect(opts), opts.runtime ?? 'auto');
}
