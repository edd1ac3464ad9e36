// A container's mounts traced to the host paths they come from, through the host's mount table, as Docker
// and Podman lay them out: which expose the host (CIS 5.5, 5.17, 5.31), which make a kernel tree writable,
// and which propagate (5.19).
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { MountinfoEntry, parseMountinfo } from '../../../src/core/procfs/mountinfo';
import { findSensitiveMounts, hostPathOf, sharedMounts } from '../../../src/core/security/mounts';
import type { SensitiveMount } from '../../../src/shared/model';

const ID = '5f8c0d3e9a1b2c4d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5';
const OVERLAY_OPTS =
  'rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B,upperdir=/var/lib/docker/overlay2/X/diff,workdir=/var/lib/docker/overlay2/X/work';

/** Parses mountinfo lines as the kernel writes them; a line the parser rejects fails the test. */
function table(lines: string[]): MountinfoEntry[] {
  const { entries, errors } = parseMountinfo(`${lines.join('\n')}\n`);
  assert.deepEqual(errors, []);
  assert.equal(entries.length, lines.length);
  return entries;
}

/** The host's mount table (PID 1's mountinfo) on a Debian host with Docker's overlay2. */
const HOST = table([
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
  '23 22 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1634016k,mode=755,inode64',
  '24 22 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=8131064k,nr_inodes=2032766,mode=755,inode64',
  '25 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '26 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '27 24 0:24 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw,inode64',
  `400 22 0:50 / /var/lib/docker/overlay2/X/merged rw,relatime shared:200 - overlay overlay ${OVERLAY_OPTS}`,
]);

const ROOT = `600 500 0:50 / / rw,relatime master:200 - overlay overlay ${OVERLAY_OPTS}`;
/** What every Docker container has: proc with its read-only and masked parts, /dev, sysfs ro, cgroup2 ro. */
const DOCKER_BASE = [
  ROOT,
  '601 600 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '602 600 0:53 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64',
  '603 602 0:54 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666',
  '604 600 0:55 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro',
  '605 604 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot',
  '606 602 0:51 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw',
  '607 602 0:56 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k,inode64',
  `608 600 8:1 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro`,
  `609 600 8:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro`,
  `610 600 8:1 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro`,
];
const PROC_MASKS = [
  '650 601 0:52 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '651 601 0:52 /fs /proc/fs ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '652 601 0:52 /irq /proc/irq ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '653 601 0:52 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '654 601 0:52 /sysrq-trigger /proc/sysrq-trigger ro,nosuid,nodev,noexec,relatime - proc proc rw',
  '655 601 0:57 / /proc/acpi ro,relatime - tmpfs tmpfs ro,inode64',
  '656 601 0:53 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64',
  '657 604 0:58 / /sys/firmware ro,relatime - tmpfs tmpfs ro,inode64',
];

/** `-v /var/run/docker.sock:/var/run/docker.sock -v /etc:/hostetc:ro -v /dev/kmsg:/dev/kmsg`. */
const CONTAINER_BINDS = [
  '612 600 0:23 /docker.sock /var/run/docker.sock rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1634016k,mode=755,inode64',
  '613 600 8:1 /etc /hostetc ro,relatime - ext4 /dev/sda1 rw,errors=remount-ro',
  '614 602 0:5 /kmsg /dev/kmsg rw,nosuid,relatime - devtmpfs udev rw,size=8131064k,nr_inodes=2032766,mode=755,inode64',
];

/** `docker run -v v:/data` with those binds and `-v /srv/shared:/shared:rshared`. */
const CONTAINER = table([
  ...DOCKER_BASE,
  '611 600 8:1 /var/lib/docker/volumes/v/_data /data rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro',
  ...CONTAINER_BINDS,
  '615 600 8:1 /srv/shared /shared rw,relatime shared:5 - ext4 /dev/sda1 rw,errors=remount-ro',
  ...PROC_MASKS,
]);

/** `docker run --privileged`: proc and sysfs writable, no masks. */
const PRIVILEGED = [
  ROOT,
  '601 600 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '602 600 0:53 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64',
  '604 600 0:55 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw',
  '605 604 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate',
  `610 600 8:1 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro`,
];

function finding(
  mountPoint: string,
  hostPath: string | null,
  kind: SensitiveMount['kind'],
  readOnly = false,
  shared = false,
): SensitiveMount {
  return { mountPoint, hostPath, kind, readOnly, shared };
}

describe('security/mounts', () => {
  describe('hostPathOf', () => {
    const byPoint = (mp: string) => {
      const e = CONTAINER.find((x) => x.mountPoint === mp);
      assert.ok(e, mp);
      return e;
    };

    it('names a bind mount by where it is on the host, through the same device', () => {
      assert.equal(hostPathOf(byPoint('/hostetc'), HOST), '/etc');
      assert.equal(hostPathOf(byPoint('/var/run/docker.sock'), HOST), '/run/docker.sock');
      assert.equal(hostPathOf(byPoint('/dev/kmsg'), HOST), '/dev/kmsg');
      assert.equal(hostPathOf(byPoint('/etc/hosts'), HOST), `/var/lib/docker/containers/${ID}/hosts`);
      // A whole filesystem (root `/`) comes out with a trailing slash (src/core/security/mounts.ts: path.posix.join(mp, '/')).
      assert.match(hostPathOf(byPoint('/'), HOST)!, /^\/var\/lib\/docker\/overlay2\/X\/merged$/);
    });

    it('is null for a filesystem only the container mounted', () => {
      assert.equal(hostPathOf(byPoint('/dev'), HOST), null);
      assert.equal(hostPathOf(byPoint('/proc'), HOST), null);
      assert.equal(hostPathOf(byPoint('/etc/hosts'), []), null);
    });

    it('takes the host mount with the deepest root holding it, then the shortest mount point', () => {
      const host = table([
        '22 1 8:1 / / rw - ext4 /dev/sda1 rw',
        '30 22 8:1 /srv/data /mnt/data rw - ext4 /dev/sda1 rw',
        '31 22 8:1 / /mnt/again rw - ext4 /dev/sda1 rw',
        '32 22 8:1 /srv/dataset /mnt/dataset rw - ext4 /dev/sda1 rw',
      ]);
      const [inData, exact, sibling, top] = table([
        '1 0 8:1 /srv/data/x /x rw - ext4 /dev/sda1 rw',
        '2 0 8:1 /srv/data /y rw - ext4 /dev/sda1 rw',
        '3 0 8:1 /srv/datasetx /z rw - ext4 /dev/sda1 rw',
        '4 0 8:1 / /w rw - ext4 /dev/sda1 rw',
      ]);
      assert.equal(hostPathOf(inData, host), '/mnt/data/x');
      assert.match(hostPathOf(exact, host)!, /^\/mnt\/data$/);
      // /srv/dataset does not hold /srv/datasetx: the root mount does, at its shortest mount point.
      assert.equal(hostPathOf(sibling, host), '/srv/datasetx');
      assert.equal(hostPathOf(top, host), '/');
    });
  });

  describe('findSensitiveMounts', () => {
    it("finds the runtime socket, the host's /etc and a host device, and nothing the runtime made", () => {
      assert.deepEqual(findSensitiveMounts(CONTAINER, HOST), [
        finding('/var/run/docker.sock', '/run/docker.sock', 'runtime-socket'),
        finding('/hostetc', '/etc', 'host-dir', true),
        finding('/dev/kmsg', '/dev/kmsg', 'host-device'),
      ]);
    });

    it('finds nothing in a default container', () => {
      assert.deepEqual(findSensitiveMounts(table([...DOCKER_BASE, ...PROC_MASKS]), HOST), []);
    });

    it('finds a writable /sys and /proc in a privileged container, with no host path', () => {
      assert.deepEqual(findSensitiveMounts(table(PRIVILEGED), HOST), [
        finding('/proc', null, 'writable-kernel-fs'),
        finding('/sys', null, 'writable-kernel-fs'),
      ]);
      // /sys rw alone (a read-only /proc/sys over /proc, as Docker mounts it): only /sys.
      const sysOnly = table([...PRIVILEGED, '653 601 0:52 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw']);
      assert.deepEqual(findSensitiveMounts(sysOnly, HOST), [finding('/sys', null, 'writable-kernel-fs')]);
      // A writable /proc/sys over /proc does not cover it.
      const rwSys = table([...PRIVILEGED, '653 601 0:52 /sys /proc/sys rw,nosuid,nodev,noexec,relatime - proc proc rw']);
      assert.deepEqual(
        findSensitiveMounts(rwSys, HOST).map((m) => m.mountPoint),
        ['/proc', '/sys'],
      );
    });

    it('gives only the kernel filesystems without a host mount table', () => {
      const privilegedWithBinds = table([...PRIVILEGED, ...CONTAINER_BINDS]);
      assert.deepEqual(findSensitiveMounts(privilegedWithBinds, null), [
        finding('/proc', null, 'writable-kernel-fs'),
        finding('/sys', null, 'writable-kernel-fs'),
      ]);
      assert.deepEqual(findSensitiveMounts(CONTAINER, null), []);
      // With the table, the same binds are found.
      assert.deepEqual(
        findSensitiveMounts(privilegedWithBinds, HOST).map((m) => m.kind),
        ['writable-kernel-fs', 'writable-kernel-fs', 'runtime-socket', 'host-dir', 'host-device'],
      );
    });

    it("finds the host's root, /var/lib/docker and a Podman socket; not a look-alike directory", () => {
      const c = table([
        ROOT,
        '700 600 8:1 / /host rw,relatime - ext4 /dev/sda1 rw',
        '701 600 8:1 /var/lib/docker /docker-data rw,relatime - ext4 /dev/sda1 rw',
        '702 600 8:1 /var/lib/dockerfile /not-docker rw,relatime - ext4 /dev/sda1 rw',
        '703 600 0:23 /podman/podman.sock /run/podman/podman.sock rw,relatime - tmpfs tmpfs rw',
        '704 600 8:1 /usr/lib/modules /lib/modules ro,relatime - ext4 /dev/sda1 rw',
        '705 600 8:1 /home/me/src /src rw,relatime - ext4 /dev/sda1 rw',
        '706 600 8:1 /devices /devices rw,relatime - ext4 /dev/sda1 rw',
      ]);
      assert.deepEqual(findSensitiveMounts(c, HOST), [
        finding('/host', '/', 'host-root'),
        finding('/docker-data', '/var/lib/docker', 'host-dir'),
        finding('/run/podman/podman.sock', '/run/podman/podman.sock', 'runtime-socket'),
        finding('/lib/modules', '/usr/lib/modules', 'host-dir', true),
      ]);
    });

    it("finds the host's whole /dev and a separate /boot filesystem", () => {
      const host = table([
        '22 1 8:1 / / rw - ext4 /dev/sda1 rw',
        '24 22 0:5 / /dev rw - devtmpfs udev rw',
        '25 22 8:2 / /boot rw - ext4 /dev/sda2 rw',
      ]);
      const found = findSensitiveMounts(
        table([ROOT, '700 600 0:5 / /dev rw,nosuid - devtmpfs udev rw', '701 600 8:2 / /hostboot ro - ext4 /dev/sda2 rw']),
        host,
      );
      assert.deepEqual(
        found.map((m) => [m.mountPoint, m.kind, m.readOnly]),
        [
          ['/dev', 'host-device', false],
          ['/hostboot', 'host-dir', true],
        ],
      );
      assert.match(found[0].hostPath!, /^\/dev$/);
      assert.match(found[1].hostPath!, /^\/boot$/);
    });

    it('names a socket by what the container calls it when the host file is named otherwise', () => {
      const c = table([ROOT, '700 600 0:23 /user/1000/dsock /var/run/docker.sock rw - tmpfs tmpfs rw']);
      assert.deepEqual(findSensitiveMounts(c, HOST), [finding('/var/run/docker.sock', '/run/user/1000/dsock', 'runtime-socket')]);
    });

    it("skips the container's own filesystem bound elsewhere inside it, and Podman's own files and volumes", () => {
      const c = table([
        ROOT,
        // The container's overlay, which the host has under /var/lib/docker, bound at /again.
        `700 600 0:50 /usr /again rw,relatime - overlay overlay ${OVERLAY_OPTS}`,
        `701 600 8:1 /var/lib/containers/storage/overlay-containers/${ID}/userdata/hosts /etc/hosts rw - ext4 /dev/sda1 rw`,
        '702 600 8:1 /var/lib/containers/storage/volumes/v/_data /v rw - ext4 /dev/sda1 rw',
        '703 600 8:1 /home/u/.local/share/containers/storage/volumes/w/_data /w rw - ext4 /dev/sda1 rw',
      ]);
      assert.deepEqual(findSensitiveMounts(c, HOST), []);
    });

    it('finds host binds on the root filesystem of a vfs-driver container (its root is a host directory too)', () => {
      const c = table([
        '600 500 8:1 /var/lib/docker/vfs/dir/abc / rw,relatime - ext4 /dev/sda1 rw',
        '601 600 8:1 / /host rw - ext4 /dev/sda1 rw',
        '602 600 8:1 /etc /hostetc ro - ext4 /dev/sda1 rw',
        '603 600 8:1 /var/lib/docker/vfs/dir/abc/usr /again rw - ext4 /dev/sda1 rw',
      ]);
      const found = findSensitiveMounts(c, HOST);
      assert.deepEqual(
        found.map((m) => [m.mountPoint, m.hostPath, m.kind]),
        [
          ['/host', '/', 'host-root'],
          ['/hostetc', '/etc', 'host-dir'],
        ],
      );
    });

    it("does not count the runtime's default devices bound from the host (Podman's /proc masks, rootless /dev)", () => {
      const c = table([
        ROOT,
        '601 600 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
        '602 600 0:53 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64',
        '608 601 0:52 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
        '603 601 0:5 /null /proc/kcore ro,nosuid - devtmpfs udev rw,size=8131064k',
        '604 602 0:5 /null /dev/null rw,nosuid - devtmpfs udev rw,size=8131064k',
        '605 602 0:5 /urandom /dev/urandom rw,nosuid - devtmpfs udev rw,size=8131064k',
        '606 602 0:5 /tty /dev/tty rw,nosuid - devtmpfs udev rw,size=8131064k',
        '607 602 0:5 /kmsg /dev/kmsg rw,nosuid - devtmpfs udev rw,size=8131064k',
      ]);
      assert.deepEqual(
        findSensitiveMounts(c, HOST).map((m) => [m.mountPoint, m.hostPath, m.kind]),
        [['/dev/kmsg', '/dev/kmsg', 'host-device']],
      );
    });

    it('counts a host bind covered by a later mount: the container may hold it open (or unmount the cover)', () => {
      const covered = table([ROOT, '700 600 8:1 /etc /x ro - ext4 /dev/sda1 rw', '701 700 0:99 / /x rw - tmpfs tmpfs rw']);
      assert.deepEqual(findSensitiveMounts(covered, HOST), [finding('/x', '/etc', 'host-dir', true)]);
      const uncovered = table([ROOT, '701 600 0:99 / /x rw - tmpfs tmpfs rw', '700 701 8:1 /etc /x ro - ext4 /dev/sda1 rw']);
      assert.deepEqual(findSensitiveMounts(uncovered, HOST), [finding('/x', '/etc', 'host-dir', true)]);
    });

    it('marks a sensitive mount that propagates', () => {
      const c = table([ROOT, '700 600 8:1 /var/lib/docker /d rw,relatime shared:5 - ext4 /dev/sda1 rw']);
      assert.deepEqual(findSensitiveMounts(c, HOST), [finding('/d', '/var/lib/docker', 'host-dir', false, true)]);
    });

    it('shows a mount point holding newlines and terminal escapes printable and bounded', () => {
      const mp = `/we\\012ird\u001b[31m\\040${'a'.repeat(2000)}`;
      const c = table([ROOT, `700 600 8:1 /etc ${mp} ro - ext4 /dev/sda1 rw`]);
      const [m] = findSensitiveMounts(c, HOST);
      assert.equal(m.kind, 'host-dir');
      assert.equal(m.hostPath, '/etc');
      assert.ok(m.mountPoint.startsWith('/we\\nird\\x1b[31m a'), m.mountPoint.slice(0, 40));
      assert.ok(m.mountPoint.length <= 512);
      assert.ok(m.mountPoint.endsWith('…'));
      assert.doesNotMatch(m.mountPoint, /[\u0000-\u001f\u007f-\u009f]/);
      // And a host path holding them, too.
      const host = table(['22 1 8:1 / / rw - ext4 /dev/sda1 rw', `30 22 0:77 / /etc/x\\012\u001b${'b'.repeat(2000)} rw - tmpfs t rw`]);
      const [h] = findSensitiveMounts(table([ROOT, '700 600 0:77 / /y rw - tmpfs t rw']), host);
      assert.equal(h.kind, 'host-dir');
      assert.ok(h.hostPath!.startsWith('/etc/x\\n\\x1bbbb'));
      assert.ok(h.hostPath!.length <= 512);
      assert.doesNotMatch(h.hostPath!, /[\u0000-\u001f\u007f-\u009f]/);
    });

    it('gives bounded, printable findings of known kinds for any mount points', () => {
      const seg = fc.oneof(
        fc.constantFrom('etc', 'dev', 'run', 'docker.sock', 'var', 'lib', 'docker', 'proc', 'sys', '..', '.', ''),
        fc.string({ unit: 'binary', maxLength: 8 }).map((s) => s.replace(/[ \t\n\\/]/g, '_')),
      );
      const p = fc.array(seg, { minLength: 0, maxLength: 6 }).map((a) => `/${a.join('/')}`);
      const dev = fc.constantFrom('8:1', '0:23', '0:5', '0:50', '0:99');
      const fs = fc.constantFrom('ext4', 'tmpfs', 'proc', 'sysfs', 'overlay', 'devtmpfs');
      const line = fc.tuple(dev, p, p, fc.constantFrom('rw', 'ro'), fc.constantFrom('', 'shared:3 ', 'master:1 '), fs);
      fc.assert(
        fc.property(fc.array(line, { maxLength: 12 }), (ls) => {
          const c = table([ROOT, ...ls.map(([d, root, mp, o, opt, t], i) => `${700 + i} 600 ${d} ${root} ${mp} ${o} ${opt}- ${t} x rw`)]);
          for (const m of findSensitiveMounts(c, HOST)) {
            assert.ok(['runtime-socket', 'host-root', 'host-dir', 'host-device', 'writable-kernel-fs'].includes(m.kind));
            assert.ok(m.mountPoint.length <= 512);
            assert.doesNotMatch(m.mountPoint, /[\u0000-\u001f\u007f-\u009f]/);
            assert.equal(m.hostPath === null, m.kind === 'writable-kernel-fs');
          }
          for (const s of sharedMounts(c)) assert.ok(s.length <= 512);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('sharedMounts', () => {
    it('lists the binds with shared propagation, not the root nor kernel filesystems', () => {
      assert.deepEqual(sharedMounts(CONTAINER), ['/shared']);
      const c = table([
        `600 500 0:50 / / rw,relatime shared:200 - overlay overlay ${OVERLAY_OPTS}`,
        '601 600 0:52 / /proc rw shared:9 - proc proc rw',
        '602 600 8:1 /srv/a /a rw shared:5 master:1 - ext4 /dev/sda1 rw',
        '603 600 8:1 /srv/b /b rw master:1 - ext4 /dev/sda1 rw',
        '604 600 8:1 /srv/c /c\\012\u001b rw shared:6 - ext4 /dev/sda1 rw',
      ]);
      assert.deepEqual(sharedMounts(c), ['/a', '/c\\n\\x1b']);
      assert.deepEqual(sharedMounts(table([...DOCKER_BASE, ...PROC_MASKS])), []);
    });
  });
});
