// Reading a container init's posture through HostFiles: the kernel's files of the process, served from memory,
// with the errors the kernel gives (ENOENT for a process gone, EACCES without root, EINVAL from attr files on a
// host without that LSM).
import * as assert from 'node:assert/strict';
import { parseMountinfo } from '../../../src/core/procfs/mountinfo';
import { DOCKER_DEFAULT_CAPABILITIES, sortCapabilities } from '../../../src/core/security/capabilities';
import { PostureRead, readLastCap, readPosture } from '../../../src/core/security/read';
import type { ConfinedFile, HostFiles } from '../../../src/core/util/hostFiles';
import type { SecurityPosture } from '../../../src/shared/model';

/** A Node-style error, as fs gives it. */
function sysError(code: string, file: string): NodeJS.ErrnoException {
  const messages: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ESRCH: 'no such process',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EINVAL: 'invalid argument',
  };
  return Object.assign(new Error(`${code}: ${messages[code] ?? 'error'}, open '${file}'`), { code, path: file, syscall: 'open' });
}

/** HostFiles over a map: a string is the file's text, an error code is what reading it throws; absent is ENOENT. */
class MemoryFiles implements HostFiles {
  readonly reads: string[] = [];
  constructor(
    private readonly files: Record<string, string | { error: string }>,
    readonly kind: 'direct' | 'helper' = 'direct',
  ) {}

  private get(file: string): string {
    this.reads.push(file);
    const f = Object.prototype.hasOwnProperty.call(this.files, file) ? this.files[file] : undefined;
    if (f === undefined) throw sysError('ENOENT', file);
    if (typeof f !== 'string') throw sysError(f.error, file);
    return f;
  }

  readText(file: string): Promise<string> {
    try {
      return Promise.resolve(this.get(file));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  async readBytes(file: string): Promise<Buffer> {
    return Buffer.from(await this.readText(file));
  }

  readLink(file: string): Promise<string> {
    return Promise.reject(sysError('EINVAL', file));
  }

  listDir(dir: string): Promise<string[]> {
    return Promise.reject(sysError('ENOENT', dir));
  }

  readConfined(): Promise<ConfinedFile> {
    return Promise.reject(new Error('readPosture reads no confined file'));
  }
}

const PID = 4242;
const P = `/proc/${PID}`;
const ID = '5f8c0d3e9a1b2c4d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5';

/** Status of a root init with `--cap-add NET_ADMIN --cap-drop MKNOD`, as 6.1 prints it (abridged). */
function status(capBnd = '00000000a00435fb'): string {
  return [
    'Name:\tsh',
    'Umask:\t0022',
    'State:\tS (sleeping)',
    `Tgid:\t${PID}`,
    `Pid:\t${PID}`,
    'PPid:\t4200',
    'Uid:\t0\t0\t0\t0',
    'Gid:\t0\t0\t0\t0',
    `NSpid:\t${PID}\t1`,
    'CapInh:\t0000000000000000',
    `CapPrm:\t${capBnd}`,
    `CapEff:\t${capBnd}`,
    `CapBnd:\t${capBnd}`,
    'CapAmb:\t0000000000000000',
    'NoNewPrivs:\t1',
    'Seccomp:\t2',
    'Seccomp_filters:\t1',
    '',
  ].join('\n');
}

const OVERLAY = 'overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w';
const HOST_MOUNTS = parseMountinfo(
  [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '23 22 0:23 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw',
    `400 22 0:50 / /var/lib/docker/overlay2/X/merged rw,relatime shared:200 - ${OVERLAY}`,
  ].join('\n'),
).entries;
const MOUNTINFO = [
  `600 500 0:50 / / ro,relatime master:200 - ${OVERLAY}`,
  '601 600 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '602 601 0:52 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '604 600 0:55 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro',
  `610 600 8:1 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw`,
  '612 600 0:23 /docker.sock /var/run/docker.sock rw,nosuid,nodev - tmpfs tmpfs rw',
  '615 600 8:1 /srv/shared /shared rw,relatime shared:5 - ext4 /dev/sda1 rw',
  '',
].join('\n');

const IDENTITY = '         0          0 4294967295\n';

function files(over: Record<string, string | { error: string }> = {}, kind: 'direct' | 'helper' = 'direct'): MemoryFiles {
  return new MemoryFiles(
    {
      [`${P}/status`]: status(),
      [`${P}/attr/apparmor/current`]: 'docker-default (enforce)\n',
      [`${P}/attr/current`]: 'docker-default (enforce)\n',
      [`${P}/uid_map`]: IDENTITY,
      [`${P}/gid_map`]: IDENTITY,
      [`${P}/mountinfo`]: MOUNTINFO,
      ...over,
    },
    kind,
  );
}

function read(f: HostFiles, lastCap = 40, hostMounts = HOST_MOUNTS): Promise<PostureRead> {
  return readPosture(f, PID, hostMounts, DOCKER_DEFAULT_CAPABILITIES, lastCap);
}

function posture(r: PostureRead): Omit<SecurityPosture, 'verdicts'> {
  if (!r.posture) assert.fail(`expected a posture, got errors ${JSON.stringify(r.errors)}`);
  return r.posture;
}

describe('security/read', () => {
  it('reads the whole posture of a container init', async () => {
    const f = files();
    const r = await read(f);
    assert.deepEqual(r.errors, []);
    assert.equal(r.gone, false);
    const withAdmin = sortCapabilities([...DOCKER_DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD'), 'CAP_NET_ADMIN']);
    assert.deepEqual(posture(r), {
      uid: 0,
      gid: 0,
      user: null,
      capabilities: {
        effective: withAdmin,
        permitted: withAdmin,
        bounding: withAdmin,
        masks: { effective: '00000000a00435fb', permitted: '00000000a00435fb', bounding: '00000000a00435fb' },
      },
      added: ['CAP_NET_ADMIN'],
      dropped: ['CAP_MKNOD'],
      defaultSet: sortCapabilities(DOCKER_DEFAULT_CAPABILITIES),
      allCapabilities: false,
      seccompMode: 2,
      seccompFilters: 1,
      noNewPrivs: true,
      lsmLabel: 'docker-default (enforce)',
      lsm: 'apparmor',
      uidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
      gidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
      hostUserNamespace: true,
      readOnlyRoot: true,
      sensitiveMounts: [
        { mountPoint: '/var/run/docker.sock', hostPath: '/run/docker.sock', kind: 'runtime-socket', readOnly: false, shared: false },
      ],
      sharedMounts: ['/shared'],
      mountsRead: true,
    });
    // Only the process's own files, and AppArmor's attr file answered first.
    for (const file of f.reads) assert.ok(file.startsWith(`${P}/`), file);
    assert.ok(!f.reads.includes(`${P}/attr/current`));
  });

  it('reads a rootless map and a privileged bounding set', async () => {
    const r = await read(
      files({
        [`${P}/status`]: status('000001ffffffffff'),
        [`${P}/uid_map`]: '         0       1000          1\n         1     100000      65536\n',
      }),
    );
    const p = posture(r);
    assert.equal(p.allCapabilities, true);
    assert.equal(p.capabilities?.bounding.length, 41);
    assert.deepEqual(p.dropped, []);
    assert.equal(p.added.length, 41 - 14);
    assert.equal(p.hostUserNamespace, false);
    assert.deepEqual(p.uidMap, [
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ]);
    assert.equal(p.gidMap?.length, 1);
    // The same mask on a kernel with more capabilities than it holds is not all of them.
    assert.equal(posture(await read(files({ [`${P}/status`]: status('000001ffffffffff') }), 41)).allCapabilities, false);
  });

  it('gives no label and no error when the attr files answer EINVAL (no LSM)', async () => {
    const r = await read(files({ [`${P}/attr/apparmor/current`]: { error: 'EINVAL' }, [`${P}/attr/current`]: { error: 'EINVAL' } }));
    assert.deepEqual(r.errors, []);
    const p = posture(r);
    assert.equal(p.lsm, null);
    assert.equal(p.lsmLabel, null);
    // Absent files (a kernel without the LSM built in) say the same.
    const none = await read(files({ [`${P}/attr/apparmor/current`]: { error: 'ENOENT' }, [`${P}/attr/current`]: { error: 'ENOENT' } }));
    assert.deepEqual(none.errors, []);
    assert.equal(posture(none).lsm, null);
  });

  it("falls back to attr/current: an SELinux context, or AppArmor's on a kernel before 5.8", async () => {
    const selinux = posture(
      await read(
        files({ [`${P}/attr/apparmor/current`]: { error: 'EINVAL' }, [`${P}/attr/current`]: 'system_u:system_r:container_t:s0:c1,c2\0' }),
      ),
    );
    assert.equal(selinux.lsm, 'selinux');
    assert.equal(selinux.lsmLabel, 'system_u:system_r:container_t:s0:c1,c2');
    const old = posture(await read(files({ [`${P}/attr/apparmor/current`]: { error: 'ENOENT' }, [`${P}/attr/current`]: 'unconfined\n' })));
    assert.equal(old.lsm, 'apparmor');
    assert.equal(old.lsmLabel, 'unconfined');
    // An empty AppArmor file is no answer: attr/current is asked.
    const empty = posture(await read(files({ [`${P}/attr/apparmor/current`]: '', [`${P}/attr/current`]: 'c (complain)\n' })));
    assert.equal(empty.lsmLabel, 'c (complain)');
  });

  it('reports a permission error on the attr files, naming the file, and reads the rest', async () => {
    const r = await read(files({ [`${P}/attr/apparmor/current`]: { error: 'EINVAL' }, [`${P}/attr/current`]: { error: 'EACCES' } }));
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].field, 'security.lsm');
    assert.match(r.errors[0].reason, new RegExp(`permission denied reading ${P}/attr/current`));
    const p = posture(r);
    assert.equal(p.lsm, null);
    assert.equal(p.allCapabilities, false);
  });

  it('says the process is gone when status does not exist (ENOENT or ESRCH), with no error', async () => {
    for (const code of ['ENOENT', 'ESRCH']) {
      const r = await read(files({ [`${P}/status`]: { error: code } }));
      assert.deepEqual(r, { posture: null, errors: [], gone: true }, code);
    }
  });

  it('gives an error naming the status file, and no posture, when it cannot be read', async () => {
    const r = await read(files({ [`${P}/status`]: { error: 'EACCES' } }));
    assert.equal(r.posture, null);
    assert.equal(r.gone, false);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].field, 'security');
    assert.match(r.errors[0].reason, new RegExp(`permission denied reading ${P}/status: needs root`));
    // Through the helper, the message says so and does not send the user to the helper.
    const h = await read(files({ [`${P}/status`]: { error: 'EPERM' } }, 'helper'));
    assert.match(h.errors[0].reason, new RegExp(`permission denied reading ${P}/status in the helper container`));
  });

  it('gives an error and no posture for a status without capability lines', async () => {
    const r = await read(files({ [`${P}/status`]: 'Name:\tsh\nPid:\t1\n' }));
    assert.equal(r.posture, null);
    assert.equal(r.gone, false);
    assert.equal(r.errors[0].field, 'security');
    assert.match(r.errors[0].reason, /no capability lines/);
  });

  it('gives an error on security.uidMap for garbage in uid_map, and the rest arrives', async () => {
    const r = await read(files({ [`${P}/uid_map`]: 'not a map\n' }));
    assert.deepEqual(
      r.errors.map((e) => e.field),
      ['security.uidMap'],
    );
    assert.match(r.errors[0].reason, /not an id map line: "not a map"/);
    const p = posture(r);
    assert.equal(p.uidMap, null);
    assert.equal(p.hostUserNamespace, null);
    assert.deepEqual(p.gidMap, [{ inside: 0, outside: 0, count: 4294967295 }]);
    assert.equal(p.lsmLabel, 'docker-default (enforce)');
    assert.deepEqual(p.added, ['CAP_NET_ADMIN']);
    assert.equal(p.readOnlyRoot, true);
    assert.equal(p.sensitiveMounts.length, 1);
  });

  it('gives an error on security.gidMap for an unreadable gid_map', async () => {
    const r = await read(files({ [`${P}/gid_map`]: { error: 'EACCES' } }));
    assert.deepEqual(
      r.errors.map((e) => e.field),
      ['security.gidMap'],
    );
    assert.match(r.errors[0].reason, new RegExp(`${P}/gid_map`));
    assert.equal(posture(r).gidMap, null);
    assert.equal(posture(r).hostUserNamespace, true);
  });

  it('gives an error on security.mounts for an unreadable mountinfo: no mounts, root unknown', async () => {
    const r = await read(files({ [`${P}/mountinfo`]: { error: 'EACCES' } }));
    assert.deepEqual(
      r.errors.map((e) => e.field),
      ['security.mounts'],
    );
    assert.match(r.errors[0].reason, new RegExp(`permission denied reading ${P}/mountinfo: needs root or CAP_SYS_PTRACE`));
    const p = posture(r);
    assert.equal(p.readOnlyRoot, null);
    assert.deepEqual(p.sensitiveMounts, []);
    assert.deepEqual(p.sharedMounts, []);
    assert.equal(p.noNewPrivs, true);
  });

  it("traces no mount without the host's mount table, says so, and leaves the mount verdicts to be unknown", async () => {
    const privileged = MOUNTINFO.replace(
      '/sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro',
      '/sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw',
    );
    assert.notEqual(privileged, MOUNTINFO);
    const r = await readPosture(files({ [`${P}/mountinfo`]: privileged }), PID, null, DOCKER_DEFAULT_CAPABILITIES, 40);
    assert.deepEqual(posture(r).sensitiveMounts, []);
    assert.equal(posture(r).mountsRead, false);
    assert.deepEqual(
      r.errors.map((e) => e.field),
      ['security.mounts'],
    );
  });

  describe('readLastCap', () => {
    it("reads the kernel's CAP_LAST_CAP, and the table's last when it cannot", async () => {
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': '37\n' })), 37);
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': '40\n' })), 40);
      assert.equal(await readLastCap(new MemoryFiles({})), 40);
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': { error: 'EACCES' } })), 40);
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': 'x\n' })), 40);
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': '64\n' })), 40);
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': '-1\n' })), 40);
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': '1.5\n' })), 40);
      // An empty answer (Number('') is 0) must not make every container look privileged.
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': '' })), 40);
      assert.equal(await readLastCap(new MemoryFiles({ '/proc/sys/kernel/cap_last_cap': ' \n' })), 40);
    });
  });
});
