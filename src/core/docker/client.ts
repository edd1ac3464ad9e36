import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { DockerEndpoint, resolveDockerEndpoint, ResolveOptions } from './context';

/** The daemon cannot be reached: not running, wrong socket, or no permission on the socket. */
export class DaemonUnreachableError extends Error {
  constructor(
    readonly endpoint: string,
    override readonly cause: unknown,
  ) {
    super(`cannot reach the Docker daemon at ${endpoint}: ${explainConnectError(cause, endpoint)}`);
    this.name = 'DaemonUnreachableError';
  }
}

/** The daemon answered 404: a container or image that names nothing. */
export class NotFoundError extends Error {
  constructor(
    readonly what: 'container' | 'image',
    readonly ref: string,
  ) {
    super(`no such ${what}: ${ref}`);
    this.name = 'NotFoundError';
  }
}

function explainConnectError(err: unknown, endpoint: string): string {
  const code = (err as { code?: string } | undefined)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return `${msg} (no socket there: is dockerd running? start it, or set DOCKER_HOST / containerXray.dockerHost)`;
  if (code === 'ECONNREFUSED') return `${msg} (nothing listens there: is dockerd running?)`;
  if (code === 'EACCES') return `${msg} (permission denied on the socket: add your user to the docker group, or use rootless Docker)`;
  if (code === 'ETIMEDOUT' || /timeout/i.test(msg)) return `${msg} (the daemon did not answer in time)`;
  return endpoint ? msg : msg;
}

function isConnectError(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return (
    code === 'ENOENT' ||
    code === 'ECONNREFUSED' ||
    code === 'EACCES' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENOTFOUND'
  );
}

function statusCode(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** One entry of `GET /images/{name}/history` (newest first). */
export interface HistoryEntry {
  /** The image id of this step (legacy builds keep intermediate images locally), or `<missing>`. */
  Id: string;
  /** Unix seconds. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  /** Bytes of the layer this entry made; 0 when it made none (or an empty one). */
  Size: number;
  Comment: string;
}

/** The parts of GET /info the engine uses. */
export interface DaemonInfo {
  ID?: string;
  Name?: string;
  ServerVersion?: string;
  Driver?: string;
  DriverStatus?: [string, string][] | null;
  CgroupDriver?: string;
  CgroupVersion?: string;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  DockerRootDir?: string;
  SecurityOptions?: string[];
}

/**
 * The engine's one way to the daemon: dockerode underneath, every call counted by kind (so a snapshot
 * can report how many it made) and every connection failure turned into DaemonUnreachableError.
 * The API version is negotiated by leaving it unset: the daemon serves its own.
 */
export class DockerClient {
  readonly calls: Record<string, number> = {};
  private constructor(
    readonly docker: Docker,
    readonly endpoint: DockerEndpoint,
  ) {}

  static async connect(opts: ResolveOptions = {}): Promise<DockerClient> {
    const endpoint = await resolveDockerEndpoint(opts);
    return new DockerClient(new Docker(dockerodeOptions(endpoint)), endpoint);
  }

  static fromEndpoint(endpoint: DockerEndpoint): DockerClient {
    return new DockerClient(new Docker(dockerodeOptions(endpoint)), endpoint);
  }

  resetCalls(): void {
    for (const k of Object.keys(this.calls)) delete this.calls[k];
  }

  private async call<T>(kind: string, fn: () => Promise<T>, notFound?: { what: 'container' | 'image'; ref: string }): Promise<T> {
    this.calls[kind] = (this.calls[kind] ?? 0) + 1;
    try {
      return await fn();
    } catch (err) {
      if (notFound && statusCode(err) === 404) throw new NotFoundError(notFound.what, notFound.ref);
      if (isConnectError(err)) throw new DaemonUnreachableError(this.endpoint.host, err);
      throw err;
    }
  }

  ping(): Promise<unknown> {
    return this.call('ping', () => this.docker.ping());
  }

  info(): Promise<DaemonInfo> {
    return this.call('info', () => this.docker.info() as Promise<DaemonInfo>);
  }

  version(): Promise<Docker.DockerVersion> {
    return this.call('version', () => this.docker.version());
  }

  listContainers(all = false): Promise<Docker.ContainerInfo[]> {
    return this.call('list', () => this.docker.listContainers({ all }));
  }

  inspectContainer(id: string): Promise<Docker.ContainerInspectInfo> {
    return this.call('inspect', () => this.docker.getContainer(id).inspect(), { what: 'container', ref: id });
  }

  listImages(): Promise<Docker.ImageInfo[]> {
    return this.call('images', () => this.docker.listImages({ all: false }));
  }

  inspectImage(ref: string): Promise<Docker.ImageInspectInfo> {
    return this.call('imageInspect', () => this.docker.getImage(ref).inspect(), { what: 'image', ref });
  }

  imageHistory(ref: string): Promise<HistoryEntry[]> {
    return this.call('history', () => this.docker.getImage(ref).history() as Promise<HistoryEntry[]>, { what: 'image', ref });
  }

  containerChanges(id: string): Promise<{ Path: string; Kind: number }[] | null> {
    return this.call('changes', () => this.docker.getContainer(id).changes() as Promise<{ Path: string; Kind: number }[] | null>, {
      what: 'container',
      ref: id,
    });
  }

  /** `docker save` of one image as a stream (read it, never hold it whole). */
  saveImage(ref: string): Promise<Readable> {
    return this.call('save', () => this.docker.getImage(ref).get() as Promise<Readable>, { what: 'image', ref });
  }

  /** The daemon's event stream (container lifecycle and image events), from `since` (unix seconds) when given. */
  events(filters: Record<string, string[]>, since?: number): Promise<Readable> {
    return this.call('events', () => this.docker.getEvents({ filters, ...(since ? { since } : {}) }) as Promise<Readable>);
  }
}

function dockerodeOptions(endpoint: DockerEndpoint): Docker.DockerOptions {
  const host = endpoint.host;
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' };
  if (host.startsWith('/')) return { socketPath: host };
  if (host.startsWith('npipe://')) return { socketPath: host.slice('npipe://'.length) };
  const url = new URL(host);
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh',
      host: url.hostname,
      port: url.port ? Number(url.port) : 22,
      username: url.username || undefined,
      sshOptions: { agent: process.env.SSH_AUTH_SOCK },
    } as Docker.DockerOptions;
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = endpoint.tls;
    const useTls = url.protocol === 'https:' || tls !== null || url.port === '2376';
    return {
      protocol: useTls ? 'https' : 'http',
      host: url.hostname,
      port: url.port ? Number(url.port) : useTls ? 2376 : 2375,
      ca: tls?.ca,
      cert: tls?.cert,
      key: tls?.key,
      ...(tls && !tls.verify ? { rejectUnauthorized: false } : {}),
    } as Docker.DockerOptions;
  }
  throw new Error(`unsupported Docker host ${JSON.stringify(host)}: expected unix://, tcp://, ssh:// or npipe://`);
}
