// The endpoint the client really talks to: the resolved one, whatever DOCKER_* variables say. Requests go
// to small HTTP servers on a temp unix socket and on loopback that answer /_ping and count what they see.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DaemonUnreachableError, DockerClient, dockerTarget } from '../../../src/core/runtime/docker/client';
import { DockerEndpoint, isLocalEndpoint, resolveDockerEndpoint } from '../../../src/core/runtime/docker/context';

const MODEM_ENV = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CLIENT_TIMEOUT', 'DOCKER_PATH_PREFIX'];

/** Runs `fn` with these DOCKER_* variables in process.env (where docker-modem reads them), then restores them. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = MODEM_ENV.map((k) => [k, process.env[k]] as const);
  for (const k of MODEM_ENV) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

class PingServer {
  readonly hits: string[] = [];
  readonly server = http.createServer((req, res) => {
    this.hits.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': '1.41' });
    res.end('OK');
  });
  listen(where: string | number): Promise<this> {
    return new Promise((resolve) => {
      if (typeof where === 'string') this.server.listen(where, () => resolve(this));
      else this.server.listen(where, '127.0.0.1', () => resolve(this));
    });
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const endpoint = (host: string, from: DockerEndpoint['from'] = 'override'): DockerEndpoint => ({
  host,
  from,
  context: 'default',
  tls: null,
});

describe('docker/client: the resolved endpoint is the one used', () => {
  let dir: string;
  let sock: string;
  let unixServer: PingServer;
  let tcpServer: PingServer;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-endpoint-'));
    sock = path.join(dir, 'docker.sock');
    unixServer = await new PingServer().listen(sock);
    tcpServer = await new PingServer().listen(0);
  });
  after(async () => {
    await unixServer.close();
    await tcpServer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an explicit unix socket wins over DOCKER_HOST=tcp://127.0.0.1:1 and its TLS variables', async () => {
    const env = {
      DOCKER_HOST: 'tcp://127.0.0.1:1',
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: path.join(dir, 'no-such-certs'),
      DOCKER_CLIENT_TIMEOUT: '1',
      DOCKER_PATH_PREFIX: '/elsewhere',
    };
    await withEnv(env, async () => {
      const resolved = await resolveDockerEndpoint({ override: `unix://${sock}`, env: process.env });
      assert.deepEqual([resolved.host, resolved.from], [`unix://${sock}`, 'override']);
      const client = DockerClient.fromEndpoint(resolved);
      const before = unixServer.hits.length;
      await client.ping();
      assert.deepEqual(unixServer.hits.slice(before), ['/_ping']);
      assert.equal(isLocalEndpoint(client.endpoint.host), true);
      // The variables are back for everything else in the process.
      assert.equal(process.env.DOCKER_HOST, 'tcp://127.0.0.1:1');
      assert.equal(process.env.DOCKER_CERT_PATH, env.DOCKER_CERT_PATH);
    });
  });

  it('a DOCKER_HOST docker-modem cannot even parse does not stop an explicit host', async () => {
    await withEnv({ DOCKER_HOST: 'tcp://[not a host' }, async () => {
      const client = await DockerClient.connect({ override: `unix://${sock}` });
      await client.ping();
      assert.equal(client.endpoint.host, `unix://${sock}`);
    });
  });

  it('an explicit tcp host wins over a unix DOCKER_HOST, and --context over DOCKER_HOST', async () => {
    await withEnv({ DOCKER_HOST: `unix://${path.join(dir, 'absent.sock')}` }, async () => {
      const before = tcpServer.hits.length;
      const client = await DockerClient.connect({ override: `tcp://127.0.0.1:${tcpServer.port}` });
      await client.ping();
      assert.deepEqual(tcpServer.hits.slice(before), ['/_ping']);
      assert.equal(isLocalEndpoint(client.endpoint.host), false);
    });
    const configDir = path.join(dir, 'config');
    const { createHash } = await import('node:crypto');
    const meta = path.join(configDir, 'contexts', 'meta', createHash('sha256').update('sock').digest('hex'));
    fs.mkdirSync(meta, { recursive: true });
    fs.writeFileSync(path.join(meta, 'meta.json'), JSON.stringify({ Name: 'sock', Endpoints: { docker: { Host: `unix://${sock}` } } }));
    await withEnv({ DOCKER_HOST: 'tcp://127.0.0.1:1' }, async () => {
      const client = await DockerClient.connect({ context: 'sock', configDir, env: process.env });
      assert.equal(client.endpoint.context, 'sock');
      await client.ping();
    });
  });

  it('with nothing explicit, DOCKER_HOST is used and named when it cannot be reached', async () => {
    await withEnv({ DOCKER_HOST: 'tcp://127.0.0.1:1' }, async () => {
      const client = await DockerClient.connect({ env: process.env, configDir: path.join(dir, 'none') });
      assert.deepEqual([client.endpoint.host, client.endpoint.from], ['tcp://127.0.0.1:1', 'DOCKER_HOST']);
      await assert.rejects(client.ping(), (err: Error) => {
        assert.ok(err instanceof DaemonUnreachableError, String(err));
        assert.match(err.message, /cannot reach the Docker daemon at tcp:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
        return true;
      });
    });
  });

  it('an ssh endpoint keeps its own host, port, user and host key check whatever DOCKER_HOST says', async () => {
    await withEnv({ DOCKER_HOST: 'ssh://intruder@elsewhere:2200' }, async () => {
      const client = DockerClient.fromEndpoint(endpoint('ssh://me@box.example:2222'), { env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } });
      const modem = client.docker.modem as unknown as Record<string, unknown> & { sshOptions: Record<string, unknown> };
      assert.deepEqual([modem.protocol, modem.host, modem.port, modem.username], ['ssh', 'box.example', 2222, 'me']);
      assert.equal(modem.sshOptions.agent, '/tmp/agent.sock');
      assert.equal(typeof modem.sshOptions.hostVerifier, 'function');
    });
  });

  it('reads hosts as the docker CLI does', () => {
    assert.deepEqual(dockerTarget(endpoint('unix://')), { kind: 'socket', socketPath: '/var/run/docker.sock' });
    assert.deepEqual(dockerTarget(endpoint('/run/docker.sock')), { kind: 'socket', socketPath: '/run/docker.sock' });
    assert.deepEqual(dockerTarget(endpoint('npipe:////./pipe/docker_engine')), { kind: 'socket', socketPath: '//./pipe/docker_engine' });
    assert.deepEqual(dockerTarget(endpoint('10.0.0.5:2375')), {
      kind: 'tcp',
      protocol: 'http',
      host: '10.0.0.5',
      port: 2375,
      ca: undefined,
      cert: undefined,
      key: undefined,
      rejectUnauthorized: true,
    });
    const tls = dockerTarget({ ...endpoint('tcp://h'), tls: { verify: false, ca: Buffer.from('CA') } });
    assert.deepEqual([tls.kind, (tls as { protocol: string }).protocol, (tls as { port: number }).port], ['tcp', 'https', 2376]);
    assert.equal((tls as { rejectUnauthorized: boolean }).rejectUnauthorized, false);
    const ssh = dockerTarget(endpoint('ssh://box.example'), {});
    assert.deepEqual(ssh, { kind: 'ssh', host: 'box.example', port: 22, username: os.userInfo().username, agent: undefined });
    assert.deepEqual(dockerTarget(endpoint('ssh://me@[::1]:2222'), {}), {
      kind: 'ssh',
      host: '::1',
      port: 2222,
      username: 'me',
      agent: undefined,
    });
    assert.throws(() => dockerTarget(endpoint('fd://')), /unsupported Docker host "fd:\/\/"/);
  });
});
