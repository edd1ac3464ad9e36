// Host facts of a daemon on another machine: /info for what the daemon knows, the helper's reads of that
// machine's PID 1 os-release, /proc/cpuinfo and DMI for the rest; never this machine's.
import * as assert from 'node:assert/strict';
import { hypervisorFromDmi, parseOsRelease, readDaemonMachineFacts } from '../../../src/core/host/hostFacts';
import type { DaemonInfo } from '../../../src/core/runtime/docker/client';
import { ConfinedReadError, HostFileError, HostFiles } from '../../../src/core/util/hostFiles';

const INFO: DaemonInfo = {
  Name: 'xray-vm',
  KernelVersion: '6.12.117+deb13-cloud-amd64',
  OperatingSystem: 'Debian GNU/Linux 13 (trixie)',
  OSType: 'linux',
  Architecture: 'x86_64',
  NCPU: 2,
  MemTotal: 4_107_000_000,
};

/** The daemon machine's files as a helper would hand them over; anything else is ENOENT. */
function remoteFiles(texts: Record<string, string>, confined: Record<string, string>, kind: 'helper' | 'direct' = 'helper'): HostFiles {
  const miss = (f: string): never => {
    throw new HostFileError('ENOENT', f, `ENOENT: no such file or directory, open '${f}'`);
  };
  return {
    kind,
    readText: async (f) => texts[f] ?? miss(f),
    readBytes: async (f) => Buffer.from(texts[f] ?? miss(f)),
    readLink: async (f) => miss(f),
    listDir: async (f) => miss(f),
    readConfined: async (root, p) => {
      const key = root.kind === 'process' ? `${root.pid}:${p}` : `${root.dir}:${p}`;
      if (key in confined) return { data: Buffer.from(confined[key]), truncated: false };
      throw new ConfinedReadError('not-regular', 'EINVAL', p, `${p} is a FIFO: not read`);
    },
  };
}

const OS_RELEASE =
  'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nVERSION_CODENAME=trixie\nID=debian\n';

describe('host facts of the daemon’s machine', () => {
  it('parses os-release values, quoted or not', () => {
    assert.deepEqual(parseOsRelease(OS_RELEASE + '# a comment\nBAD LINE\nX=\'single\'\nY="a \\"b\\""\n'), {
      PRETTY_NAME: 'Debian GNU/Linux 13 (trixie)',
      NAME: 'Debian GNU/Linux',
      VERSION_ID: '13',
      VERSION_CODENAME: 'trixie',
      ID: 'debian',
      X: 'single',
      Y: 'a "b"',
    });
  });

  it('names hypervisors from DMI, and none for real hardware', () => {
    assert.equal(hypervisorFromDmi('QEMU\n', 'Standard PC (i440FX + PIIX, 1996)\n'), 'QEMU');
    assert.equal(hypervisorFromDmi('innotek GmbH', 'VirtualBox'), 'VirtualBox');
    assert.equal(hypervisorFromDmi('Microsoft Corporation', 'Virtual Machine'), 'Hyper-V');
    assert.equal(hypervisorFromDmi('Dell Inc.', 'PowerEdge R740'), null);
    assert.equal(hypervisorFromDmi('', ''), null);
  });

  it('takes name, kernel, CPUs and memory from /info and the OS and hypervisor from the helper’s reads', async () => {
    const files = remoteFiles(
      {
        '/proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu vme hypervisor sse\n\nprocessor\t: 1\nflags\t\t: fpu vme hypervisor sse\n',
        '/sys/class/dmi/id/sys_vendor': 'QEMU\n',
        '/sys/class/dmi/id/product_name': 'Standard PC (i440FX + PIIX, 1996)\n',
      },
      { '1:/etc/os-release': OS_RELEASE },
    );
    const { facts, errors } = await readDaemonMachineFacts(INFO, files);
    assert.deepEqual(errors, []);
    assert.equal(facts.hostname, 'xray-vm');
    assert.equal(facts.kernel, '6.12.117+deb13-cloud-amd64');
    assert.equal(facts.cpus, 2);
    assert.equal(facts.memoryBytes, 4_107_000_000);
    assert.deepEqual(facts.os, { platform: 'linux', distro: 'Debian GNU/Linux', release: '13', codename: 'trixie', arch: 'x86_64' });
    assert.equal(facts.virtualization.isVirtual, true);
    assert.equal(facts.virtualization.hypervisor, 'QEMU');
    assert.match(facts.virtualization.evidence, /DMI: vendor "QEMU"/);
  });

  it('keeps /info’s facts and says why when the helper cannot read os-release', async () => {
    const files = remoteFiles({ '/proc/cpuinfo': 'flags\t\t: fpu sse\n' }, {});
    const { facts, errors } = await readDaemonMachineFacts(INFO, files);
    assert.equal(facts.os.distro, 'Debian GNU/Linux 13 (trixie)');
    assert.equal(facts.virtualization.isVirtual, false);
    assert.deepEqual(
      errors.map((e) => e.field),
      ['host.os'],
    );
    assert.match(errors[0].reason, /is a FIFO: not read/);
  });

  it('reads nothing of this machine without a helper: /info alone, and the evidence says so', async () => {
    let reads = 0;
    const files = remoteFiles({}, {}, 'direct');
    const counting: HostFiles = { ...files, readText: async (f) => (reads++, files.readText(f)) };
    const { facts } = await readDaemonMachineFacts(INFO, null);
    await readDaemonMachineFacts(INFO, counting.kind === 'helper' ? counting : null);
    assert.equal(reads, 0);
    assert.equal(facts.kernel, INFO.KernelVersion);
    assert.match(facts.virtualization.evidence, /from the daemon's \/info only/);
  });
});
