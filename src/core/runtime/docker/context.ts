import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where the daemon is and how to reach it, resolved the way the docker CLI does it. */
export interface DockerEndpoint {
  /** `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`, `npipe:////./pipe/docker_engine`. */
  host: string;
  /** Which rule chose it: an explicit override, DOCKER_HOST, DOCKER_CONTEXT, the CLI config's current context, or the default. */
  from: 'override' | 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'config' | 'default';
  context: string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; verify: boolean } | null;
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export interface ResolveOptions {
  /** An explicit host (the containerXray.dockerHost setting or --host); wins over everything. */
  override?: string;
  /** An explicit context name (--context); wins over the environment. */
  context?: string;
  env?: NodeJS.ProcessEnv;
  /** The CLI config directory (DOCKER_CONFIG, else ~/.docker). */
  configDir?: string;
}

/** The docker CLI's config directory. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
}

/**
 * Resolves the endpoint like `docker` does: --host, then --context, then DOCKER_HOST, then DOCKER_CONTEXT,
 * then `currentContext` in config.json; a context's endpoint and TLS material come from
 * contexts/meta/<sha256(name)>/meta.json and contexts/tls/<sha256(name)>/docker/. Spawns nothing.
 */
export async function resolveDockerEndpoint(opts: ResolveOptions = {}): Promise<DockerEndpoint> {
  const env = opts.env ?? process.env;
  const configDir = opts.configDir ?? dockerConfigDir(env);
  if (opts.override) return { host: opts.override, from: 'override', context: 'default', tls: await envTls(env, opts.override) };
  let name = opts.context;
  let from: DockerEndpoint['from'] = 'override';
  if (!name && env.DOCKER_HOST) {
    return { host: env.DOCKER_HOST, from: 'DOCKER_HOST', context: 'default', tls: await envTls(env, env.DOCKER_HOST) };
  }
  if (!name && env.DOCKER_CONTEXT) {
    name = env.DOCKER_CONTEXT;
    from = 'DOCKER_CONTEXT';
  }
  if (!name) {
    try {
      const config = JSON.parse(await fsp.readFile(path.join(configDir, 'config.json'), 'utf8')) as { currentContext?: unknown };
      if (typeof config.currentContext === 'string' && config.currentContext !== '') {
        name = config.currentContext;
        from = 'config';
      }
    } catch {
      // No config or unreadable config: the CLI falls back to the default context too.
    }
  }
  if (!name || name === 'default') return { host: DEFAULT_DOCKER_HOST, from: name ? from : 'default', context: 'default', tls: null };
  const digest = createHash('sha256').update(name).digest('hex');
  const metaFile = path.join(configDir, 'contexts', 'meta', digest, 'meta.json');
  let meta: { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
  try {
    meta = JSON.parse(await fsp.readFile(metaFile, 'utf8')) as typeof meta;
  } catch (err) {
    throw new Error(`docker context "${name}" (from ${from}) cannot be read: ${metaFile}: ${(err as Error).message}`, { cause: err });
  }
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint || typeof endpoint.Host !== 'string') throw new Error(`docker context "${name}" has no docker endpoint in ${metaFile}`);
  const tlsDir = path.join(configDir, 'contexts', 'tls', digest, 'docker');
  const [ca, cert, key] = await Promise.all(
    ['ca.pem', 'cert.pem', 'key.pem'].map((f) => fsp.readFile(path.join(tlsDir, f)).catch(() => undefined)),
  );
  const tls = ca || cert || key ? { ca, cert, key, verify: endpoint.SkipTLSVerify !== true } : null;
  return { host: endpoint.Host, from, context: name, tls };
}

async function envTls(env: NodeJS.ProcessEnv, host: string): Promise<DockerEndpoint['tls']> {
  if (!host.startsWith('tcp://')) return null;
  const verify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
  const dir = env.DOCKER_CERT_PATH || (verify ? dockerConfigDir(env) : '');
  if (!dir) return null;
  const [ca, cert, key] = await Promise.all(
    ['ca.pem', 'cert.pem', 'key.pem'].map((f) => fsp.readFile(path.join(dir, f)).catch(() => undefined)),
  );
  if (!ca && !cert && !key) return verify ? { verify } : null;
  return { ca, cert, key, verify };
}

/** Whether the endpoint is this machine's own daemon (a local unix socket), so its /proc is ours. */
export function isLocalEndpoint(host: string): boolean {
  return host.startsWith('unix://') || host.startsWith('/');
}
