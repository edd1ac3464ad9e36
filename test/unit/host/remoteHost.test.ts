// A daemon on another machine, as the Host view and the TLS errors present it: the daemon's machine named
// first and this machine beside it; a TLS port refusing this client said in the words of what to set.
import * as assert from 'node:assert/strict';
import { PathTranslator, helperBinds } from '../../../src/core/access/paths';
import { tlsRefusal } from '../../../src/core/runtime/docker/client';
import { daemonCgroupVersion, readDaemonMachineFacts } from '../../../src/core/host/hostFacts';
import { HostFileError, HostFiles } from '../../../src/core/util/hostFiles';
import { hostNodes } from '../../../src/extension/tree/nodes';
import type { DaemonFacts, HostFacts } from '../../../src/shared/model';

const GiB = 1024 ** 3;

const daemon: DaemonFacts = {
  endpoint: 'tcp://127.0.0.1:2376',
  runtime: 'Docker 26.1.5+dfsg1',
  runtimeKind: 'docker',
  storageLayout: 'overlay2',
  serverVersion: '26.1.5+dfsg1',
  apiVersion: '',
  storageDriver: 'overlay2',
  cgroupDriver: 'systemd',
  cgroupVersion: '2',
  kernel: '6.12.117+deb13-cloud-amd64',
  operatingSystem: 'Debian GNU/Linux 13 (trixie)',
  osType: 'linux',
  architecture: 'x86_64',
  cpus: 2,
  memoryBytes: 4 * GiB,
  rootDir: '/var/lib/docker',
  rootless: false,
  containerdSnapshotter: false,
  runsElsewhere: true,
  runsInVm: false,
  runsElsewhereReason: 'the daemon is reached over tcp',
};

const remote: HostFacts = {
  thisMachine: { hostname: 'laptop', kernel: '6.18.4-arch1', os: 'Arch Linux', cpus: 16, memoryBytes: 32 * GiB },
  hostname: 'xray-vm',
  kernel: '6.12.117+deb13-cloud-amd64',
  os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '13', codename: 'trixie', arch: 'x86_64' },
  cpus: 2,
  memoryBytes: 4 * GiB,
  virtualization: { isVirtual: true, hypervisor: 'QEMU', evidence: 'DMI' },
  cgroupVersion: 2,
  cgroupHybrid: false,
  daemon,
  access: { mode: 'helper', reason: 'the daemon is reached over tcp' },
  errors: [],
};

describe('the Host view of a daemon on another machine', () => {
  it('names the daemon’s machine first, its kernel as the containers’, and this machine apart', () => {
    const nodes = hostNodes(remote);
    const labels = nodes.map((n) => n.label);
    assert.equal(labels[0], 'Daemon machine');
    assert.match(String(nodes[0].description), /^xray-vm · where the containers run$/);
    assert.match(String(nodes[0].tooltip), /over tcp/);
    const kernel = nodes.find((n) => n.label === 'Kernel')!;
    assert.equal(kernel.description, remote.kernel);
    assert.match(String(kernel.tooltip), /this machine runs 6\.18\.4-arch1/);
    const here = nodes.find((n) => n.label === 'This machine')!;
    assert.equal(here.description, 'laptop · kernel 6.18.4-arch1');
    assert.match(String(here.tooltip), /Arch Linux, kernel 6\.18\.4-arch1, 16 CPUs, 32\.0 GiB/);
    assert.ok(labels.indexOf('This machine') > labels.indexOf('CPUs · memory'));
    assert.equal(nodes.find((n) => n.label === 'Virtualization')!.description, 'virtual machine · QEMU');
  });

  it('shows neither row for a daemon on this machine', () => {
    const labels = hostNodes({ ...remote, thisMachine: null }).map((n) => n.label);
    assert.equal(labels[0], 'Kernel');
    assert.ok(!labels.includes('Daemon machine') && !labels.includes('This machine'), labels.join(', '));
  });
});

describe('a TLS port that refuses this client', () => {
  const endpoint = (tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; verify: boolean } | null) => ({ host: 'tcp://127.0.0.1:2376', tls });
  const pem = Buffer.from('-----BEGIN CERTIFICATE-----\n');

  it('plain HTTP to the TLS port: says to set DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', () => {
    const err = Object.assign(new Error('(HTTP code 400) bad parameter - Client sent an HTTP request to an HTTPS server.\n'), {
      statusCode: 400,
    });
    const why = tlsRefusal(err, endpoint(null));
    assert.match(String(why), /speaks TLS on this port and this client sent plain HTTP: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH/);
  });

  it('no client certificate: names what was found', () => {
    const err = Object.assign(new Error('error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required'), {
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
    });
    assert.match(String(tlsRefusal(err, endpoint({ ca: pem, verify: true }))), /wants a client certificate .* only ca\.pem was found/);
    assert.match(String(tlsRefusal(err, endpoint(null))), /wants a client certificate signed by its CA, and none was given/);
  });

  it('a server certificate no given CA signed', () => {
    const err = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    assert.match(
      String(tlsRefusal(err, endpoint({ verify: true }))),
      /not verified \(unable to verify the first certificate\): no ca\.pem/,
    );
    assert.match(String(tlsRefusal(err, endpoint({ ca: pem, cert: pem, key: pem, verify: true }))), /the ca\.pem given did not sign it/);
  });

  it('leaves other failures alone', () => {
    assert.equal(tlsRefusal(Object.assign(new Error('no such container'), { statusCode: 404 }), endpoint(null)), null);
    assert.equal(tlsRefusal(Object.assign(new Error('server error'), { statusCode: 500 }), endpoint(null)), null);
  });
});

describe('the daemon machine’s DMI through the helper', () => {
  it('reads /sys/class/dmi/id from the helper’s own sysfs, and nothing else of /sys outside the binds', () => {
    const t = new PathTranslator(helperBinds('/var/lib/docker'));
    assert.deepEqual(t.toHelper('/sys/class/dmi/id/sys_vendor'), { ok: true, path: '/sys/class/dmi/id/sys_vendor' });
    assert.equal(t.toHelper('/sys/class/dmi/id/../../../kernel/security/x').ok, false);
    assert.equal(t.toHelper('/sys/kernel/debug/x').ok, false);
  });
});

describe('the cgroup version of a daemon machine whose mounts are not read', () => {
  it('comes from /info', () => {
    assert.deepEqual(daemonCgroupVersion({ CgroupVersion: '2' }), { version: 2, hybrid: false });
    assert.deepEqual(daemonCgroupVersion({ CgroupVersion: '1' }), { version: 1, hybrid: false });
    assert.deepEqual(daemonCgroupVersion({}), { version: null, hybrid: false });
  });
});

describe('the daemon machine’s DMI read', () => {
  const info = { Name: 'g', KernelVersion: '6.12', NCPU: 2, MemTotal: 1 };
  const files = (dmi: (f: string) => Promise<string>): HostFiles => ({
    kind: 'helper',
    readText: async (f) => (f.startsWith('/sys/class/dmi/') ? dmi(f) : f === '/proc/cpuinfo' ? 'flags\t\t: fpu hypervisor\n' : ''),
    readBytes: async () => Buffer.alloc(0),
    readLink: async () => '',
    listDir: async () => [],
    readConfined: async () => ({ data: Buffer.from('NAME="Debian GNU/Linux"\nVERSION_ID="13"\n'), truncated: false }),
  });

  it('names QEMU from the helper’s sysfs', async () => {
    const { facts, errors } = await readDaemonMachineFacts(
      info,
      files(async (f) => (f.endsWith('sys_vendor') ? 'QEMU\n' : 'Standard PC\n')),
    );
    assert.deepEqual(errors, []);
    assert.equal(facts.virtualization.hypervisor, 'QEMU');
  });

  it('no DMI (ENOENT) is no error; a refused read is one, and the CPU flag still says virtual', async () => {
    const missing = await readDaemonMachineFacts(
      info,
      files(async (f) => {
        throw new HostFileError('ENOENT', f, `ENOENT: ${f}`);
      }),
    );
    assert.deepEqual(missing.errors, []);
    assert.equal(missing.facts.virtualization.hypervisor, 'unknown hypervisor');
    const refused = await readDaemonMachineFacts(
      info,
      files(async (f) => {
        throw new HostFileError('EACCES', f, `${f} is outside what the helper container is given`);
      }),
    );
    assert.deepEqual(
      refused.errors.map((e) => e.field),
      ['host.virtualization', 'host.virtualization'],
    );
    assert.match(refused.errors[0].reason, /DMI sys_vendor: .* is outside what the helper container is given/);
    assert.equal(refused.facts.virtualization.isVirtual, true);
  });
});
