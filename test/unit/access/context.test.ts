// Docker context resolution as the docker CLI does it, against temp config dirs (no CLI spawned).
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_DOCKER_HOST, dockerConfigDir, isLocalEndpoint, resolveDockerEndpoint } from '../../../src/core/runtime/docker/context';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A CLI config dir: config.json, contexts/meta/<sha256(name)>/meta.json and contexts/tls/<sha256(name)>/docker/*.pem. */
class ConfigDir {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-docker-config-'));

  current(name: string | null): this {
    fs.writeFileSync(
      path.join(this.dir, 'config.json'),
      JSON.stringify(name === null ? { auths: {} } : { auths: {}, currentContext: name }),
    );
    return this;
  }

  context(
    name: string,
    docker: Record<string, unknown> | null,
    tls: Partial<Record<'ca.pem' | 'cert.pem' | 'key.pem', string>> = {},
  ): this {
    const meta = path.join(this.dir, 'contexts', 'meta', sha256(name));
    fs.mkdirSync(meta, { recursive: true });
    fs.writeFileSync(
      path.join(meta, 'meta.json'),
      JSON.stringify({ Name: name, Metadata: {}, Endpoints: docker === null ? {} : { docker } }),
    );
    if (Object.keys(tls).length > 0) {
      const tlsDir = path.join(this.dir, 'contexts', 'tls', sha256(name), 'docker');
      fs.mkdirSync(tlsDir, { recursive: true });
      for (const [file, text] of Object.entries(tls)) fs.writeFileSync(path.join(tlsDir, file), text);
    }
    return this;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('docker/context (resolved like the docker CLI)', () => {
  const dirs: ConfigDir[] = [];
  const config = () => {
    const c = new ConfigDir();
    dirs.push(c);
    return c;
  };
  after(() => dirs.forEach((d) => d.remove()));

  it('uses the default socket without config, DOCKER_HOST or DOCKER_CONTEXT', async () => {
    const c = config();
    const e = await resolveDockerEndpoint({ env: {}, configDir: c.dir });
    assert.deepEqual(e, { host: DEFAULT_DOCKER_HOST, from: 'default', context: 'default', tls: null });
  });

  it("follows config.json's currentContext to the meta dir named by the sha256 of the context name", async () => {
    const c = config().current('remote box').context('remote box', { Host: 'ssh://me@box', SkipTLSVerify: false });
    const e = await resolveDockerEndpoint({ env: {}, configDir: c.dir });
    assert.deepEqual(e, { host: 'ssh://me@box', from: 'config', context: 'remote box', tls: null });
    assert.ok(fs.existsSync(path.join(c.dir, 'contexts', 'meta', sha256('remote box'), 'meta.json')));
  });

  it('reads the context’s TLS material and honours SkipTLSVerify', async () => {
    const c = config()
      .current('tls')
      .context('tls', { Host: 'tcp://10.0.0.5:2376', SkipTLSVerify: false }, { 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY' })
      .context('insecure', { Host: 'tcp://10.0.0.6:2376', SkipTLSVerify: true }, { 'ca.pem': 'CA2' });
    const e = await resolveDockerEndpoint({ env: {}, configDir: c.dir });
    assert.equal(e.host, 'tcp://10.0.0.5:2376');
    assert.deepEqual(e.tls, { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY'), verify: true });
    const insecure = await resolveDockerEndpoint({ env: { DOCKER_CONTEXT: 'insecure' }, configDir: c.dir });
    assert.deepEqual(insecure.tls, { ca: Buffer.from('CA2'), cert: undefined, key: undefined, verify: false });
  });

  it('precedence: --host, then --context, then DOCKER_HOST, then DOCKER_CONTEXT, then config.json', async () => {
    const c = config()
      .current('from-config')
      .context('from-config', { Host: 'tcp://config:2375' })
      .context('from-env', { Host: 'tcp://env-context:2375' })
      .context('from-flag', { Host: 'tcp://flag-context:2375' });
    const env = { DOCKER_HOST: 'tcp://docker-host:2375', DOCKER_CONTEXT: 'from-env' };
    const pick = async (opts: Parameters<typeof resolveDockerEndpoint>[0]) => {
      const e = await resolveDockerEndpoint({ configDir: c.dir, ...opts });
      return [e.host, e.from, e.context];
    };
    assert.deepEqual(await pick({ env, override: 'unix:///custom.sock', context: 'from-flag' }), [
      'unix:///custom.sock',
      'override',
      'default',
    ]);
    assert.deepEqual(await pick({ env, context: 'from-flag' }), ['tcp://flag-context:2375', 'override', 'from-flag']);
    assert.deepEqual(await pick({ env }), ['tcp://docker-host:2375', 'DOCKER_HOST', 'default']);
    assert.deepEqual(await pick({ env: { DOCKER_CONTEXT: 'from-env' } }), ['tcp://env-context:2375', 'DOCKER_CONTEXT', 'from-env']);
    assert.deepEqual(await pick({ env: {} }), ['tcp://config:2375', 'config', 'from-config']);
  });

  it('treats the context named "default" as the default socket, and an empty DOCKER_HOST as unset', async () => {
    const c = config().current('default');
    assert.deepEqual(await resolveDockerEndpoint({ env: {}, configDir: c.dir }), {
      host: DEFAULT_DOCKER_HOST,
      from: 'config',
      context: 'default',
      tls: null,
    });
    assert.equal(
      (await resolveDockerEndpoint({ env: { DOCKER_HOST: '', DOCKER_CONTEXT: 'default' }, configDir: c.dir })).host,
      DEFAULT_DOCKER_HOST,
    );
  });

  it('falls back to the default when config.json is unreadable or not JSON', async () => {
    const c = config();
    fs.writeFileSync(path.join(c.dir, 'config.json'), '{not json');
    assert.equal((await resolveDockerEndpoint({ env: {}, configDir: c.dir })).from, 'default');
  });

  it('names the context and the file when the context does not exist or has no docker endpoint', async () => {
    const c = config().current('gone').context('kube-only', null);
    await assert.rejects(resolveDockerEndpoint({ env: {}, configDir: c.dir }), (err: Error) => {
      assert.match(err.message, /docker context "gone" \(from config\) cannot be read/);
      assert.ok(err.message.includes(path.join(c.dir, 'contexts', 'meta', sha256('gone'), 'meta.json')));
      return true;
    });
    await assert.rejects(
      resolveDockerEndpoint({ env: { DOCKER_CONTEXT: 'kube-only' }, configDir: c.dir }),
      /docker context "kube-only" has no docker endpoint/,
    );
  });

  it('reads DOCKER_HOST TLS from DOCKER_CERT_PATH, or from the config dir when only DOCKER_TLS_VERIFY is set', async () => {
    const certs = config();
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(certs.dir, f), f.toUpperCase());
    const withPath = await resolveDockerEndpoint({
      env: { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.dir },
      configDir: certs.dir,
    });
    assert.deepEqual(withPath.tls, { ca: Buffer.from('CA.PEM'), cert: Buffer.from('CERT.PEM'), key: Buffer.from('KEY.PEM'), verify: true });
    const fromConfigDir = await resolveDockerEndpoint({
      env: { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: certs.dir },
    });
    assert.equal(fromConfigDir.tls?.verify, true);
    assert.deepEqual(fromConfigDir.tls?.ca, Buffer.from('CA.PEM'));
    const noVerify = await resolveDockerEndpoint({
      env: { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '0', DOCKER_CERT_PATH: certs.dir },
    });
    assert.equal(noVerify.tls?.verify, false, 'certificates still presented, the server not verified');
    const plain = await resolveDockerEndpoint({ env: { DOCKER_HOST: 'tcp://h:2375' } });
    assert.equal(plain.tls, null);
    const unix = await resolveDockerEndpoint({
      env: { DOCKER_HOST: 'unix:///run/user/1000/docker.sock', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.dir },
    });
    assert.equal(unix.tls, null, 'no TLS over a unix socket');
  });

  it('finds the config dir as the CLI does: DOCKER_CONFIG, else ~/.docker', async () => {
    assert.equal(dockerConfigDir({ DOCKER_CONFIG: '/etc/dockercfg', HOME: '/home/u' }), '/etc/dockercfg');
    assert.equal(dockerConfigDir({ HOME: '/home/u' }), '/home/u/.docker');
    const home = config();
    const dotDocker = new ConfigDir();
    dirs.push(dotDocker);
    fs.mkdirSync(path.join(home.dir, '.docker'));
    fs.cpSync(dotDocker.current('viahome').context('viahome', { Host: 'tcp://via-home:2375' }).dir, path.join(home.dir, '.docker'), {
      recursive: true,
    });
    assert.equal((await resolveDockerEndpoint({ env: { HOME: home.dir } })).host, 'tcp://via-home:2375');
  });

  it('calls only unix sockets local', () => {
    assert.equal(isLocalEndpoint('unix:///var/run/docker.sock'), true);
    assert.equal(isLocalEndpoint('/var/run/docker.sock'), true);
    assert.equal(isLocalEndpoint('tcp://127.0.0.1:2375'), false);
    assert.equal(isLocalEndpoint('ssh://me@box'), false);
    assert.equal(isLocalEndpoint('npipe:////./pipe/docker_engine'), false);
  });
});
