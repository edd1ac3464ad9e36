import * as assert from 'node:assert/strict';
import { parseMountinfo, parseMountinfoLine, unescapeMountField } from '../../../src/core/procfs/mountinfo';
import { findMergedDir, findRootMount, lowerDirRole, parseOverlayOptions, splitLowerDirs } from '../../../src/core/procfs/overlay';
import { parseCmdline, parseNamespaceLink, parsePasswd, parseProcStatus } from '../../../src/core/procfs/parse';
import { buildProcessTree } from '../../../src/shared/processTree';

// A /proc/PID/status of a process in a nested PID namespace, as kernel 6.x writes it (abridged).
const STATUS = `Name:\tnginx: worker
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4301
Ngid:\t0
Pid:\t4301
PPid:\t4242
TracerPid:\t0
Uid:\t101\t101\t101\t101
Gid:\t101\t101\t101\t101
FDSize:\t64
NStgid:\t4301\t29
NSpid:\t4301\t29
NSpgid:\t4242\t1
NSsid:\t4242\t1
VmRSS:\t    3072 kB
Threads:\t1
`;

describe('procfs parsers', () => {
  it('reads a namespace link and rejects anything else', () => {
    assert.deepEqual(parseNamespaceLink('net:[4026532182]'), { ok: true, value: { type: 'net', inode: 4026532182 } });
    assert.deepEqual(parseNamespaceLink('pid_for_children:[4026531836]\n'), {
      ok: true,
      value: { type: 'pid_for_children', inode: 4026531836 },
    });
    assert.equal(parseNamespaceLink('/proc/1/ns/net').ok, false);
    assert.equal(parseNamespaceLink('net:[99999999999999999999]').ok, false);
  });

  it('reads /proc/PID/status: both PIDs from NSpid, parent, uid, threads, RSS', () => {
    const r = parseProcStatus(STATUS);
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      name: 'nginx: worker',
      state: 'S',
      pid: 4301,
      ppid: 4242,
      uids: [101, 101, 101, 101],
      nspid: [4301, 29],
      threads: 1,
      vmRssBytes: 3072 * 1024,
    });
    // A kernel without NSpid (before 4.1) gives the one PID.
    const old = parseProcStatus('Name:\tsh\nPid:\t7\nPPid:\t1\nUid:\t0\t0\t0\t0\n');
    assert.ok(old.ok);
    assert.deepEqual(old.value.nspid, [7]);
    assert.equal(old.value.vmRssBytes, null);
    assert.equal(parseProcStatus('not a status file').ok, false);
  });

  it('splits a command line on NUL and keeps empty arguments', () => {
    assert.deepEqual(parseCmdline('sh\0-c\0echo hi\0\0'), ['sh', '-c', 'echo hi', '']);
    assert.deepEqual(parseCmdline(''), []);
  });

  it('maps uids to names from /etc/passwd, first name per uid', () => {
    const users = parsePasswd(
      'root:x:0:0:root:/root:/bin/sh\n# comment\nbad line\ntoor:x:0:0::/:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n',
    );
    assert.deepEqual(
      [...users.entries()],
      [
        [0, 'root'],
        [33, 'www-data'],
      ],
    );
  });

  it('builds the process tree by parent, and keeps processes whose parent is outside as roots', () => {
    const p = (hostPid: number, ppid: number) => ({
      hostPid,
      ppid,
      containerPid: null,
      uid: 0,
      user: 'root',
      name: 'x',
      command: 'x',
      threads: 1,
      rssBytes: null,
    });
    const roots = buildProcessTree([p(20, 10), p(10, 1), p(30, 10), p(40, 99)]);
    assert.deepEqual(
      roots.map((r) => r.process.hostPid),
      [10, 40],
    );
    assert.deepEqual(
      roots[0].children.map((c) => c.process.hostPid),
      [20, 30],
    );
    // Parents in a cycle (hostile or torn input) still show every process.
    const cyclic = buildProcessTree([p(1, 2), p(2, 1), p(3, 3)]);
    const all: number[] = [];
    const visit = (ns: typeof cyclic) => ns.forEach((n) => (all.push(n.process.hostPid), visit(n.children)));
    visit(cyclic);
    assert.deepEqual(all.sort(), [1, 2, 3]);
  });
});

describe('mountinfo', () => {
  const ROOT =
    '1412 1391 0:118 / / rw,relatime master:590 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/KNTN:/var/lib/docker/overlay2/l/2S35,upperdir=/var/lib/docker/overlay2/5fb1/diff,workdir=/var/lib/docker/overlay2/5fb1/work,xino=off';

  it('reads every field of a line', () => {
    const r = parseMountinfoLine(ROOT);
    assert.ok(r.ok);
    assert.equal(r.value.mountId, 1412);
    assert.equal(r.value.parentId, 1391);
    assert.equal(r.value.device, '0:118');
    assert.equal(r.value.mountPoint, '/');
    assert.deepEqual(r.value.optional, ['master:590']);
    assert.equal(r.value.fsType, 'overlay');
    assert.deepEqual(r.value.superOptions.slice(-1), ['xino=off']);
  });

  it('undoes the kernel escapes of spaces, tabs, newlines and backslashes in paths', () => {
    assert.equal(unescapeMountField('/mnt/with\\040space/tab\\011/nl\\012/back\\134slash'), '/mnt/with space/tab\t/nl\n/back\\slash');
    const r = parseMountinfoLine('36 35 98:0 /a\\040b /mnt/c\\040d rw,noatime shared:1 - ext4 /dev/root rw,errors=continue');
    assert.ok(r.ok);
    assert.equal(r.value.root, '/a b');
    assert.equal(r.value.mountPoint, '/mnt/c d');
  });

  it('turns a malformed line into an error and keeps the good ones', () => {
    const { entries, errors } = parseMountinfo(`${ROOT}\ngarbage line\n\n37 36 0:5 / /proc rw - proc proc rw\n`);
    assert.equal(entries.length, 2);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /malformed mountinfo line "garbage line"/);
  });

  it('finds the overlay mount at / and its directories, escaped colons in lower dirs included', () => {
    const { entries } = parseMountinfo(`22 1 0:5 / /proc rw - proc proc rw\n${ROOT}\n`);
    const root = findRootMount(entries)!;
    const opts = parseOverlayOptions(root.superOptions);
    assert.ok(opts.ok);
    assert.deepEqual(opts.value.lowerDirs, ['/var/lib/docker/overlay2/l/KNTN', '/var/lib/docker/overlay2/l/2S35']);
    assert.equal(opts.value.upperDir, '/var/lib/docker/overlay2/5fb1/diff');
    assert.deepEqual(opts.value.other, ['xino=off']);
    assert.deepEqual(splitLowerDirs('/a\\:b:/c'), ['/a:b', '/c']);
    assert.equal(parseOverlayOptions(['rw', 'upperdir=/u']).ok, false);
  });

  it("finds the merged dir in the host's table by the upper dir, and names the init layer", () => {
    const { entries } = parseMountinfo(
      '500 29 0:118 / /var/lib/docker/overlay2/5fb1/merged rw,relatime - overlay overlay rw,lowerdir=/x,upperdir=/var/lib/docker/overlay2/5fb1/diff,workdir=/w\n',
    );
    assert.equal(findMergedDir(entries, '/var/lib/docker/overlay2/5fb1/diff'), '/var/lib/docker/overlay2/5fb1/merged');
    assert.equal(findMergedDir(entries, '/elsewhere'), null);
    assert.equal(lowerDirRole('/var/lib/docker/overlay2/5fb1-init/diff'), 'init');
    assert.equal(lowerDirRole('/var/lib/docker/overlay2/a92c/diff'), 'image');
  });
});
