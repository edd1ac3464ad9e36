import type { IncomingMessage } from 'node:http';
import Docker from 'dockerode';
import * as https from 'node:https';
import * as os from 'node:os';
import type { Readable } from 'node:stream';
import { DockerEndpoint, resolveDockerEndpoint, ResolveOptions } from './context';
import { checkHostKey, knownHostsFiles, readKnownHosts, refusalMessage } from './knownHosts';

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

/** An ssh:// daemon's host key is not one known_hosts vouches for. */
export class HostKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostKeyError';
  }
}

function explainConnectError(err: unknown, endpoint: string): string {
  if (err instanceof HostKeyError) return err.message;
  const code = (err as { code?: string } | undefined)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return `${msg} (no socket there: is dockerd running? start it, or set DOCKER_HOST / containerXray.dockerHost)`;
  if (code === 'ECONNREFUSED') return `${msg} (nothing listens there: is dockerd running?)`;
  if (code === 'EACCES') return `${msg} (permission denied on the socket: add your user to the docker group, or use rootless Docker)`;
  if (code === 'ETIMEDOUT' || /timeout/i.test(msg)) return `${msg} (the daemon did not answer in time)`;
  return endpoint ? msg : msg;
}

/** Node's codes for a server certificate the client could not verify. */
const CERT_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Why a tcp:// endpoint refused this client over TLS, in the words of what to set (as `docker --tlsverify`
 * wants it), or null when the failure is not a TLS mismatch. The daemon answers plain HTTP on its TLS port
 * with a 400; it ends the handshake when it wants a client certificate; Node refuses a server certificate
 * no given CA signed.
 */
export function tlsRefusal(err: unknown, endpoint: Pick<DockerEndpoint, 'host' | 'tls'>): string | null {
  const code = (err as { code?: unknown } | undefined)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  const tls = endpoint.tls;
  const have = tls ? ['ca', 'cert', 'key'].filter((k) => tls[k as 'ca' | 'cert' | 'key']).map((k) => `${k}.pem`) : [];
  const given =
    have.length > 0 ? `only ${have.join(', ')} ${have.length === 1 ? 'was' : 'were'} found` : 'no ca.pem, cert.pem or key.pem was found';
  const how =
    'set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a directory holding ca.pem, cert.pem and key.pem, or use a docker context made with ca=, cert= and key=';
  if (statusCode(err) === 400 && /HTTP request to an HTTPS server/i.test(msg))
    return `the daemon speaks TLS on this port and this client sent plain HTTP: ${how}`;
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || /alert (certificate required|bad certificate|unknown ca)/i.test(msg))
    return `the daemon refused the TLS handshake: it wants a client certificate signed by its CA, and ${tls ? given : 'none was given'}: ${how}`;
  if (typeof code === 'string' && CERT_VERIFY_CODES.has(code))
    return `the daemon's TLS certificate was not verified (${msg})${tls?.ca ? ': the ca.pem given did not sign it' : `: ${given}`}; ${how}`;
  return null;
}

/** ssh2's error levels for a connection that never became a session. */
const SSH_CONNECT_LEVELS = new Set(['client-socket', 'client-timeout', 'client-dns', 'client-authentication', 'handshake']);

function isConnectError(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  const level = (err as { level?: unknown } | undefined)?.level;
  if (typeof level === 'string' && SSH_CONNECT_LEVELS.has(level)) return true;
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
    private readonly hostKeys: SshHostKeys | null,
  ) {}

  static async connect(opts: ResolveOptions = {}): Promise<DockerClient> {
    const endpoint = await resolveDockerEndpoint(opts);
    return DockerClient.fromEndpoint(endpoint, { env: opts.env });
  }

  /**
   * A client for exactly this endpoint. `env` gives SSH_AUTH_SOCK and HOME (for ~/.ssh/known_hosts) of an
   * ssh:// endpoint; `knownHosts` replaces the known_hosts files ssh would read.
   */
  static fromEndpoint(endpoint: DockerEndpoint, opts: { env?: NodeJS.ProcessEnv; knownHosts?: string[] } = {}): DockerClient {
    const env = opts.env ?? process.env;
    const target = dockerTarget(endpoint, env);
    const hostKeys = target.kind === 'ssh' ? new SshHostKeys(opts.knownHosts ?? knownHostsFiles(env), target) : null;
    return new DockerClient(createDocker(target, hostKeys), endpoint, hostKeys);
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
      // ssh2 says only "Host denied": the check itself knows why.
      const refused = this.hostKeys?.refusal;
      if (refused && (err as { level?: unknown } | undefined)?.level === 'handshake')
        throw new DaemonUnreachableError(this.endpoint.host, new HostKeyError(refused));
      if (isConnectError(err)) throw new DaemonUnreachableError(this.endpoint.host, err);
      const tls = tlsRefusal(err, this.endpoint);
      if (tls) throw new DaemonUnreachableError(this.endpoint.host, new Error(tls, { cause: err }));
      throw err;
    }
  }

  ping(): Promise<unknown> {
    return this.call('ping', () => this.docker.ping());
  }

  /**
   * The headers of `GET /_ping`: what the daemon says it is (`Server`, Podman's `Libpod-Api-Version`),
   * in one cheap call (Podman's /version runs its tools to list their versions: seconds on a slow host).
   */
  pingHeaders(): Promise<Record<string, string | string[] | undefined>> {
    return this.call(
      'ping',
      () =>
        new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
          this.docker.modem.dial(
            { path: '/_ping', method: 'GET', isStream: true, options: {}, statusCodes: { 200: true, 500: 'server error' } },
            (err: unknown, res: unknown) => {
              if (err) return reject(err as Error);
              const msg = res as IncomingMessage;
              msg.resume();
              resolve(msg.headers ?? {});
            },
          );
        }),
    );
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

  /**
   * A call dockerode has no method for (Podman's libpod API): GET options go in the query, POST options
   * are the JSON body. Resolves with the parsed reply.
   */
  request<T>(
    kind: string,
    req: { method: 'GET' | 'POST'; path: string; options?: Record<string, unknown>; statusCodes: Record<number, boolean | string> },
  ): Promise<T> {
    return this.call(
      kind,
      () =>
        new Promise<T>((resolve, reject) => {
          this.docker.modem.dial(
            { path: req.path, method: req.method, options: req.options ?? {}, statusCodes: req.statusCodes },
            (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as T)),
          );
        }),
    );
  }

  /** The daemon's event stream (container lifecycle and image events), from `since` (unix seconds) when given. */
  events(filters: Record<string, string[]>, since?: number): Promise<Readable> {
    return this.call('events', () => this.docker.getEvents({ filters, ...(since ? { since } : {}) }) as Promise<Readable>);
  }
}

/** Where requests go, decided from the resolved endpoint alone. */
export type DockerTarget =
  | { kind: 'socket'; socketPath: string }
  | { kind: 'ssh'; host: string; port: number; username: string; agent: string | undefined }
  | {
      kind: 'tcp';
      protocol: 'http' | 'https';
      host: string;
      port: number;
      ca?: Buffer;
      cert?: Buffer;
      key?: Buffer;
      rejectUnauthorized: boolean;
    };

export function dockerTarget(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv = process.env): DockerTarget {
  const host = endpoint.host;
  if (host.startsWith('unix://')) return { kind: 'socket', socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' };
  if (host.startsWith('/')) return { kind: 'socket', socketPath: host };
  if (host.startsWith('npipe://')) return { kind: 'socket', socketPath: host.slice('npipe://'.length) || '//./pipe/docker_engine' };
  let url: URL;
  try {
    // As the docker CLI reads `host:port`: tcp.
    url = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch {
    throw new Error(`unsupported Docker host ${JSON.stringify(host)}: expected unix://, tcp://, ssh:// or npipe://`);
  }
  // `[::1]` in a URL, `::1` to connect to.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.protocol === 'ssh:') {
    return {
      kind: 'ssh',
      host: hostname,
      port: url.port ? Number(url.port) : 22,
      // ssh's own default: the local user's name.
      username: decodeURIComponent(url.username) || localUser(env),
      agent: env.SSH_AUTH_SOCK || undefined,
    };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = endpoint.tls;
    const useTls = url.protocol === 'https:' || tls !== null || url.port === '2376';
    return {
      kind: 'tcp',
      protocol: useTls ? 'https' : 'http',
      host: hostname,
      port: url.port ? Number(url.port) : useTls ? 2376 : 2375,
      ca: tls?.ca,
      cert: tls?.cert,
      key: tls?.key,
      rejectUnauthorized: !tls || tls.verify,
    };
  }
  throw new Error(`unsupported Docker host ${JSON.stringify(host)}: expected unix://, tcp://, ssh:// or npipe://`);
}

function localUser(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
    return env.USER || env.LOGNAME || '';
  }
}

/**
 * docker-modem reads DOCKER_HOST (and with it DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_CLIENT_TIMEOUT,
 * DOCKER_PATH_PREFIX) when it builds its defaults, and those beat or merge with the options given: a
 * `socketPath` loses to DOCKER_HOST's host, ssh options lose to its own, and an unreadable DOCKER_CERT_PATH
 * throws. The endpoint is already resolved, so the modem is built with those variables out of sight (a
 * synchronous window: no other code runs in it) and then checked against the target.
 */
const MODEM_ENV = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CLIENT_TIMEOUT', 'DOCKER_PATH_PREFIX'];

function createDocker(target: DockerTarget, hostKeys: SshHostKeys | null): Docker {
  const options = modemOptions(target, hostKeys);
  const saved = MODEM_ENV.map((k) => [k, process.env[k]] as const);
  for (const [k] of saved) delete process.env[k];
  let docker: Docker;
  try {
    docker = new Docker(options);
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
  const m = docker.modem as unknown as { socketPath?: unknown; host?: unknown; port?: unknown; protocol?: unknown };
  const want =
    target.kind === 'socket' ? { socketPath: target.socketPath } : { host: target.host, port: target.port, protocol: options.protocol };
  const got = target.kind === 'socket' ? { socketPath: m.socketPath } : { host: m.host, port: m.port, protocol: m.protocol };
  if (JSON.stringify(want) !== JSON.stringify(got) || (target.kind === 'socket' && m.host !== undefined))
    throw new Error(`the Docker client would not use the resolved endpoint: wanted ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  return docker;
}

/** Every field docker-modem's defaults could set is given, so none comes from anywhere else. */
function modemOptions(target: DockerTarget, hostKeys: SshHostKeys | null): Docker.DockerOptions {
  const none = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    username: undefined,
    pathPrefix: undefined,
    timeout: undefined,
  };
  switch (target.kind) {
    case 'socket':
      return { ...none, socketPath: target.socketPath };
    case 'ssh':
      return {
        ...none,
        protocol: 'ssh',
        host: target.host,
        port: target.port,
        username: target.username,
        sshOptions: { agent: target.agent, hostVerifier: hostKeys!.verifier() },
      } as Docker.DockerOptions;
    case 'tcp':
      return {
        ...none,
        protocol: target.protocol,
        host: target.host,
        port: target.port,
        ca: target.ca,
        cert: target.cert,
        key: target.key,
        // docker-modem passes no TLS options of its own but an agent's: SkipTLSVerify needs one.
        ...(target.rejectUnauthorized || target.protocol !== 'https' ? {} : { agent: new https.Agent({ rejectUnauthorized: false }) }),
      } as Docker.DockerOptions;
  }
}

/**
 * The host key check of an ssh:// endpoint, against known_hosts as ssh reads it (re-read per connection,
 * so a key added with `ssh` counts at once). The last refusal is kept to explain ssh2's bare "Host denied".
 */
export class SshHostKeys {
  refusal: string | null = null;

  constructor(
    readonly files: string[],
    readonly target: { host: string; port: number; username: string },
  ) {}

  async check(key: Buffer): Promise<boolean> {
    const verdict = checkHostKey(await readKnownHosts(this.files), this.target.host, this.target.port, key);
    this.refusal = verdict.ok
      ? null
      : refusalMessage(verdict, { user: this.target.username, host: this.target.host, port: this.target.port });
    return verdict.ok;
  }

  verifier(): (key: Buffer, verify: (ok: boolean) => void) => void {
    return (key, verify) => {
      this.check(key).then(verify, () => verify(false));
    };
  }
}
