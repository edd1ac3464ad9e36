// Reading a container's network namespace through HostFiles: its /proc/PID/net files, the fd links of its
// processes, and the host's /sys/class/net for the host end of each veth pair, served from memory with the
// errors the kernel gives (ENOENT for a file or process gone, EACCES without root).
import * as assert from 'node:assert/strict';
import { HostLinks, readHostLinks, readNetwork } from '../../../src/core/network/read';
import type { ConfinedFile, HostFiles } from '../../../src/core/util/hostFiles';
import type { ListeningSocket, NetworkInterfaceInfo, VethPeer } from '../../../src/shared/model';
import { FIB_TRIE, IF_INET6, IGMP, NET_DEV, ROUTE, TCP, TCP6, UDP, devLine, routeLine, tcpLine } from './fixtures';

/** A Node-style error, as fs gives it. */
function sysError(code: string, file: string, syscall: string): NodeJS.ErrnoException {
  const messages: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EINVAL: 'invalid argument',
    EISDIR: 'illegal operation on a directory',
    ENOTDIR: 'not a directory',
  };
  return Object.assign(new Error(`${code}: ${messages[code] ?? 'error'}, ${syscall} '${file}'`), { code, path: file, syscall });
}

/** A file's text, a symlink, a directory's entries, or the error reaching it gives; absent is ENOENT. */
type Node = string | { link: string } | { dir: string[] } | { error: string };
type Tree = Record<string, Node>;

/** HostFiles over a map of paths. */
class MemoryFiles implements HostFiles {
  readonly reads: string[] = [];
  constructor(
    private readonly tree: Tree,
    readonly kind: 'direct' | 'helper' = 'direct',
  ) {}

  private node(file: string, syscall: string): Exclude<Node, { error: string }> {
    this.reads.push(file);
    const n = Object.prototype.hasOwnProperty.call(this.tree, file) ? this.tree[file] : undefined;
    if (n === undefined) throw sysError('ENOENT', file, syscall);
    if (typeof n === 'object' && 'error' in n) throw sysError(n.error, file, syscall);
    return n;
  }

  private settle<T>(read: () => T): Promise<T> {
    try {
      return Promise.resolve(read());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  readText(file: string): Promise<string> {
    return this.settle(() => {
      const n = this.node(file, 'open');
      if (typeof n !== 'string') throw sysError('dir' in n ? 'EISDIR' : 'ENOENT', file, 'read');
      return n;
    });
  }

  async readBytes(file: string): Promise<Buffer> {
    return Buffer.from(await this.readText(file));
  }

  readLink(file: string): Promise<string> {
    return this.settle(() => {
      const n = this.node(file, 'readlink');
      if (typeof n !== 'object' || !('link' in n)) throw sysError('EINVAL', file, 'readlink');
      return n.link;
    });
  }

  listDir(dir: string): Promise<string[]> {
    return this.settle(() => {
      const n = this.node(dir, 'scandir');
      if (typeof n !== 'object' || !('dir' in n)) throw sysError('ENOTDIR', dir, 'scandir');
      return [...n.dir];
    });
  }

  readConfined(): Promise<ConfinedFile> {
    return Promise.reject(new Error('the network reader reads no confined file'));
  }
}

// ---- The host: its /sys/class/net ----

interface HostIface {
  name: string;
  index: number | string;
  iflink: number | string;
  mtu?: number;
  master?: string;
}

/** The host's interfaces as sysfs shows them under `base` (ifindex, iflink, mtu and a `master` link). */
function sysNet(base: string, ifaces: HostIface[]): Tree {
  const tree: Tree = { [base]: { dir: ifaces.map((i) => i.name) } };
  for (const i of ifaces) {
    const dir = `${base}/${i.name}`;
    tree[`${dir}/ifindex`] = `${i.index}\n`;
    tree[`${dir}/iflink`] = `${i.iflink}\n`;
    if (i.mtu !== undefined) tree[`${dir}/mtu`] = `${i.mtu}\n`;
    if (i.master !== undefined) tree[`${dir}/master`] = { link: i.master };
  }
  return tree;
}

/** This machine's interfaces with two containers on docker0 (the second one is ours: its eth0 is index 34). */
const HOST: HostIface[] = [
  { name: 'lo', index: 1, iflink: 1, mtu: 65536 },
  { name: 'eth0', index: 4, iflink: 4, mtu: 1500 },
  { name: 'docker0', index: 5, iflink: 5, mtu: 1500 },
  { name: 'veth7d286e9', index: 33, iflink: 32, mtu: 1500, master: '../docker0' },
  { name: 'vethfd2bc26', index: 35, iflink: 34, mtu: 1500, master: '../docker0' },
];
const OUR_PEER: VethPeer = { index: 35, name: 'vethfd2bc26', bridge: 'docker0', mtu: 1500 };

async function hostLinks(ifaces: HostIface[] = HOST): Promise<HostLinks> {
  return readHostLinks(new MemoryFiles(sysNet('/sys/class/net', ifaces)));
}

/** byIflink as plain data, sorted, for comparing. */
function links(h: HostLinks): [number, VethPeer[]][] {
  return [...h.byIflink.entries()]
    .map(([k, v]): [number, VethPeer[]] => [k, [...v].sort((a, b) => a.index - b.index)])
    .sort((a, b) => a[0] - b[0]);
}

// ---- The container: its init and a second process ----

const PID = 23447;
const PID2 = 23478;
const N = `/proc/${PID}/net`;

/** The namespace's files and two processes: nginx holds the 8080 sockets (tcp twice, by dup), nc the shared one and udp. */
function container(over: Tree = {}): Tree {
  return {
    [`${N}/dev`]: NET_DEV,
    [`${N}/fib_trie`]: FIB_TRIE,
    [`${N}/route`]: ROUTE,
    [`${N}/if_inet6`]: IF_INET6,
    [`${N}/igmp`]: IGMP,
    [`${N}/tcp`]: TCP,
    [`${N}/tcp6`]: TCP6,
    [`${N}/udp`]: UDP,
    [`${N}/udp6`]:
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n',
    [`/proc/${PID}/fd`]: { dir: ['0', '1', '2', '3', '4', '5'] },
    [`/proc/${PID}/fd/0`]: { link: '/dev/null' },
    [`/proc/${PID}/fd/1`]: { link: 'pipe:[78490]' },
    [`/proc/${PID}/fd/2`]: { link: 'pipe:[78491]' },
    [`/proc/${PID}/fd/3`]: { link: 'socket:[77532]' },
    [`/proc/${PID}/fd/4`]: { link: 'socket:[77532]' },
    [`/proc/${PID}/fd/5`]: { link: 'socket:[77533]' },
    [`/proc/${PID}/comm`]: 'nginx\n',
    [`/proc/${PID2}/fd`]: { dir: ['0', '3', '6', '7'] },
    [`/proc/${PID2}/fd/0`]: { link: '/dev/null' },
    [`/proc/${PID2}/fd/3`]: { link: 'socket:[77532]' },
    [`/proc/${PID2}/fd/6`]: { link: 'socket:[78733]' },
    // An established connection's socket: not a listening one.
    [`/proc/${PID2}/fd/7`]: { link: 'socket:[57865]' },
    [`/proc/${PID2}/comm`]: 'nc\n',
    ...over,
  };
}

function iface(list: NetworkInterfaceInfo[], name: string): NetworkInterfaceInfo {
  const i = list.find((x) => x.name === name);
  if (!i) assert.fail(`no interface ${name} in ${JSON.stringify(list.map((x) => x.name))}`);
  return i;
}

function socket(list: ListeningSocket[], protocol: string, family: number, port: number): ListeningSocket {
  const s = list.find((x) => x.protocol === protocol && x.family === family && x.port === port);
  if (!s) assert.fail(`no ${protocol}${family} socket on ${port}`);
  return s;
}

describe('network/read', () => {
  describe('readHostLinks', () => {
    it('reads the veth ends from /sys/class/net when reading directly; bridges and NICs are no peers', async () => {
      const files = new MemoryFiles(sysNet('/sys/class/net', HOST));
      const h = await readHostLinks(files);
      assert.equal(h.error, null);
      assert.deepEqual(links(h), [
        [32, [{ index: 33, name: 'veth7d286e9', bridge: 'docker0', mtu: 1500 }]],
        [34, [OUR_PEER]],
      ]);
      assert.ok(files.reads.length > 0);
      for (const f of files.reads) assert.ok(f.startsWith('/sys/class/net'), f);
    });

    it("reads PID 1's /sys through /proc/1/root with the helper, never the helper's own", async () => {
      const tree = {
        ...sysNet('/proc/1/root/sys/class/net', HOST),
        // The helper's own namespace: only its loopback, and a veth that must not be taken.
        ...sysNet('/sys/class/net', [
          { name: 'lo', index: 1, iflink: 1 },
          { name: 'bogus', index: 9, iflink: 34 },
        ]),
      };
      const files = new MemoryFiles(tree, 'helper');
      const h = await readHostLinks(files);
      assert.equal(h.error, null);
      assert.deepEqual(links(h)[1], [34, [OUR_PEER]]);
      for (const f of files.reads) assert.ok(f.startsWith('/proc/1/root/sys/class/net'), f);
      // Read directly, the same tree gives the engine's own /sys.
      const direct = await readHostLinks(new MemoryFiles(tree, 'direct'));
      assert.deepEqual(links(direct), [[34, [{ index: 9, name: 'bogus', bridge: null, mtu: null }]]]);
    });

    it('gives the master link as the bridge name, null without one, and mtu null when unreadable', async () => {
      const h = await hostLinks([
        { name: 'veth1', index: 40, iflink: 2, mtu: 9000, master: '../br-4c1e1a2f9b3d' },
        { name: 'veth2', index: 41, iflink: 3 },
        { name: 'macvlan0', index: 42, iflink: 4, mtu: 1500, master: '../../../devices/virtual/net/bond0' },
      ]);
      assert.deepEqual(links(h), [
        [2, [{ index: 40, name: 'veth1', bridge: 'br-4c1e1a2f9b3d', mtu: 9000 }]],
        [3, [{ index: 41, name: 'veth2', bridge: null, mtu: null }]],
        [4, [{ index: 42, name: 'macvlan0', bridge: 'bond0', mtu: 1500 }]],
      ]);
    });

    it('skips an interface whose index or iflink cannot be read, or is no number', async () => {
      const tree = sysNet('/sys/class/net', [
        { name: 'gone', index: 50, iflink: 7 },
        { name: 'odd', index: 'x', iflink: 7 },
        { name: 'half', index: 52, iflink: '7.5' },
        { name: 'good', index: 53, iflink: 7 },
      ]);
      delete tree['/sys/class/net/gone/ifindex'];
      const h = await readHostLinks(new MemoryFiles(tree));
      assert.equal(h.error, null);
      assert.deepEqual(links(h), [[7, [{ index: 53, name: 'good', bridge: null, mtu: null }]]]);
    });

    it('lists two host interfaces that link to the same index', async () => {
      const h = await hostLinks([
        { name: 'vethA', index: 60, iflink: 34 },
        { name: 'vethB', index: 61, iflink: 34 },
      ]);
      assert.deepEqual(
        links(h).map(([k, v]) => [k, v.map((p) => p.name)]),
        [[34, ['vethA', 'vethB']]],
      );
    });

    it('makes host interface and master names printable', async () => {
      const h = await hostLinks([{ name: 'v\x1beth', index: 70, iflink: 8, master: '../br\x7f0' }]);
      assert.deepEqual(links(h), [[8, [{ index: 70, name: 'v\\x1beth', bridge: 'br\\x7f0', mtu: null }]]]);
    });

    it('gives a network.peers error when the directory cannot be listed', async () => {
      for (const [kind, base] of [
        ['direct', '/sys/class/net'],
        ['helper', '/proc/1/root/sys/class/net'],
      ] as const) {
        for (const code of ['EACCES', 'ENOENT']) {
          const h = await readHostLinks(new MemoryFiles({ [base]: { error: code } }, kind));
          assert.equal(h.byIflink.size, 0);
          assert.equal(h.error?.field, 'network.peers', `${kind} ${code}`);
          assert.ok(h.error.reason.includes(base), h.error.reason);
          if (code === 'EACCES')
            assert.match(h.error.reason, kind === 'helper' ? /in the helper container/ : /permission denied.*needs root/);
          else assert.match(h.error.reason, /does not exist/);
        }
      }
    });
  });

  describe('readNetwork', () => {
    it('reads a bridged container: interfaces with addresses, counters, index and peer; routes; listening sockets and owners', async () => {
      const files = new MemoryFiles(container());
      const r = await readNetwork(files, PID, [PID, PID2], await hostLinks(), false);
      assert.deepEqual(r, {
        hostNetwork: false,
        interfaces: [
          {
            name: 'lo',
            index: 1,
            addresses: ['127.0.0.1/8', '::1/128'],
            rxBytes: 840,
            txBytes: 840,
            rxPackets: 12,
            txPackets: 12,
            peer: null,
          },
          {
            name: 'eth0',
            index: 34,
            addresses: ['172.17.0.2/16', 'fe80::42:acff:fe11:2/64'],
            rxBytes: 116514,
            txBytes: 42366,
            rxPackets: 933,
            txPackets: 471,
            peer: OUR_PEER,
          },
        ],
        routes: [
          { destination: '0.0.0.0/0', gateway: '172.17.0.1', iface: 'eth0', metric: 0 },
          { destination: '172.17.0.0/16', gateway: null, iface: 'eth0', metric: 0 },
        ],
        listening: [
          { protocol: 'tcp', family: 4, address: '127.0.0.1', port: 5432, inode: 77540, processes: [] },
          {
            protocol: 'tcp',
            family: 4,
            address: '0.0.0.0',
            port: 8080,
            inode: 77532,
            // Two fds of nginx on it: nginx once.
            processes: [
              { hostPid: PID, name: 'nginx' },
              { hostPid: PID2, name: 'nc' },
            ],
          },
          { protocol: 'tcp', family: 6, address: '::', port: 8080, inode: 77533, processes: [{ hostPid: PID, name: 'nginx' }] },
          { protocol: 'udp', family: 4, address: '0.0.0.0', port: 5353, inode: 78733, processes: [{ hostPid: PID2, name: 'nc' }] },
        ],
        errors: [],
      });
      // Only the processes' own files: the host's interfaces come in through HostLinks.
      for (const f of files.reads) assert.ok(f.startsWith(`/proc/${PID}/`) || f.startsWith(`/proc/${PID2}/`), f);
    });

    it('lists udp6 sockets bound and unconnected (07, remote zero), not connected ones', async () => {
      const udp6 = [
        '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
        '15145: 00000000000000000000000000000000:14EA 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 78734 2 00000000f1ada787 0',
        '15146: 00000000000000000000000001000000:14EB 00000000000000000000000001000000:0035 01 00000000:00000000 00:00000000 00000000     0        0 78735 2 00000000f1ada788 0',
        // Not a state the kernel leaves a connected socket in (it says 01), but the reader asks for both.
        '15147: 00000000000000000000000001000000:14EC 00000000000000000000000001000000:0035 07 00000000:00000000 00:00000000 00000000     0        0 78736 2 00000000f1ada789 0',
        '',
      ].join('\n');
      const r = await readNetwork(new MemoryFiles(container({ [`${N}/udp6`]: udp6 })), PID, [], null, false);
      assert.deepEqual(
        r.listening.filter((s) => s.protocol === 'udp'),
        [
          { protocol: 'udp', family: 4, address: '0.0.0.0', port: 5353, inode: 78733, processes: [] },
          { protocol: 'udp', family: 6, address: '::', port: 5354, inode: 78734, processes: [] },
        ],
      );
      assert.deepEqual(r.errors, []);
    });

    it('takes the index from if_inet6 where igmp does not list the interface', async () => {
      const igmp = IGMP.split('\n')
        .filter((l) => !l.startsWith('34\t'))
        .join('\n');
      const dev = `${NET_DEV}${devLine('wg0', 1, 1, 2, 2)}\n`;
      const r = await readNetwork(
        new MemoryFiles(container({ [`${N}/igmp`]: igmp, [`${N}/dev`]: dev })),
        PID,
        [],
        await hostLinks(),
        false,
      );
      assert.equal(iface(r.interfaces, 'eth0').index, 34);
      assert.deepEqual(iface(r.interfaces, 'eth0').peer, OUR_PEER);
      // Neither lists it: no index, so no peer.
      assert.equal(iface(r.interfaces, 'wg0').index, null);
      assert.equal(iface(r.interfaces, 'wg0').peer, null);
      assert.deepEqual(r.errors, []);
    });

    it('prefers igmp, and reads indexes from if_inet6 alone when igmp is unreadable', async () => {
      const inet6 = IF_INET6.replace(' 22 40 20 80     eth0', ' 23 40 20 80     eth0');
      const both = await readNetwork(new MemoryFiles(container({ [`${N}/if_inet6`]: inet6 })), PID, [], null, false);
      assert.equal(iface(both.interfaces, 'eth0').index, 34);
      const r = await readNetwork(new MemoryFiles(container({ [`${N}/igmp`]: { error: 'EACCES' } })), PID, [], await hostLinks(), false);
      assert.equal(iface(r.interfaces, 'eth0').index, 34);
      assert.deepEqual(iface(r.interfaces, 'eth0').peer, OUR_PEER);
      assert.deepEqual(
        r.errors.map((e) => e.field),
        ['network.igmp'],
      );
    });

    it('gives no error when IPv6 is off (no if_inet6, tcp6, udp6)', async () => {
      const tree = container();
      delete tree[`${N}/if_inet6`];
      delete tree[`${N}/tcp6`];
      delete tree[`${N}/udp6`];
      const r = await readNetwork(new MemoryFiles(tree), PID, [PID, PID2], await hostLinks(), false);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(iface(r.interfaces, 'lo').addresses, ['127.0.0.1/8']);
      assert.deepEqual(iface(r.interfaces, 'eth0').addresses, ['172.17.0.2/16']);
      assert.deepEqual(
        r.listening.map((s) => `${s.protocol}${s.family}:${s.port}`),
        ['tcp4:5432', 'tcp4:8080', 'udp4:5353'],
      );
    });

    it('leaves the peer unknown when two host interfaces link to the index, and says which', async () => {
      const host = await hostLinks([...HOST, { name: 'vethother', index: 90, iflink: 34, master: '../br-1' }]);
      const r = await readNetwork(new MemoryFiles(container()), PID, [], host, false);
      assert.equal(iface(r.interfaces, 'eth0').peer, null);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].field, 'network.peers');
      assert.match(r.errors[0].reason, /2 host interfaces link to index 34/);
      assert.ok(r.errors[0].reason.includes('vethfd2bc26') && r.errors[0].reason.includes('vethother'), r.errors[0].reason);
      assert.ok(r.errors[0].reason.includes('eth0'), r.errors[0].reason);
    });

    it('gives a host-network container no peers and no peer error', async () => {
      const host = await hostLinks([...HOST, { name: 'vethother', index: 90, iflink: 34 }]);
      const r = await readNetwork(new MemoryFiles(container()), PID, [], host, true);
      assert.equal(r.hostNetwork, true);
      for (const i of r.interfaces) assert.equal(i.peer, null, i.name);
      assert.deepEqual(r.errors, []);
      const broken: HostLinks = {
        byIflink: new Map([[34, [OUR_PEER]]]),
        error: { field: 'network.peers', reason: 'cannot list /sys/class/net' },
      };
      const again = await readNetwork(new MemoryFiles(container()), PID, [], broken, true);
      assert.equal(iface(again.interfaces, 'eth0').peer, null);
      assert.deepEqual(again.errors, []);
    });

    it("passes the host links' error on for a bridged container, and gives no peers without host links", async () => {
      const broken: HostLinks = { byIflink: new Map(), error: { field: 'network.peers', reason: 'cannot list /sys/class/net' } };
      const r = await readNetwork(new MemoryFiles(container()), PID, [], broken, false);
      assert.deepEqual(r.errors, [broken.error]);
      const none = await readNetwork(new MemoryFiles(container()), PID, [], null, false);
      assert.equal(iface(none.interfaces, 'eth0').peer, null);
      assert.deepEqual(none.errors, []);
    });

    it('never gives loopback a peer', async () => {
      const host = await hostLinks([...HOST, { name: 'vethlo', index: 91, iflink: 1 }]);
      const r = await readNetwork(new MemoryFiles(container()), PID, [], host, false);
      assert.equal(iface(r.interfaces, 'lo').peer, null);
      assert.deepEqual(iface(r.interfaces, 'eth0').peer, OUR_PEER);
      assert.deepEqual(r.errors, []);
    });

    it('gives a network.owners error for an unreadable /proc/PID/fd, and still reads the other processes', async () => {
      for (const kind of ['direct', 'helper'] as const) {
        const files = new MemoryFiles(container({ [`/proc/${PID}/fd`]: { error: 'EACCES' } }), kind);
        const r = await readNetwork(files, PID, [PID, PID2], null, false);
        const owners = r.errors.filter((e) => e.field === 'network.owners');
        assert.equal(owners.length, 1, JSON.stringify(r.errors));
        assert.equal(r.errors.length, 1);
        assert.ok(owners[0].reason.includes(`/proc/${PID}/fd`), owners[0].reason);
        assert.match(owners[0].reason, kind === 'helper' ? /permission denied .* in the helper container/ : /permission denied/);
        assert.deepEqual(socket(r.listening, 'tcp', 4, 8080).processes, [{ hostPid: PID2, name: 'nc' }]);
        assert.deepEqual(socket(r.listening, 'tcp', 6, 8080).processes, []);
      }
    });

    it('gives one owners error however many processes are denied, and none for a process gone', async () => {
      const PID3 = 23500;
      const r = await readNetwork(
        new MemoryFiles(container({ [`/proc/${PID}/fd`]: { error: 'EPERM' }, [`/proc/${PID2}/fd`]: { error: 'EACCES' } })),
        PID,
        [PID, PID2, PID3],
        null,
        false,
      );
      assert.deepEqual(
        r.errors.map((e) => e.field),
        ['network.owners'],
      );
      const gone = await readNetwork(new MemoryFiles(container()), PID, [PID3, PID, PID2], null, false);
      assert.deepEqual(gone.errors, []);
      assert.equal(socket(gone.listening, 'tcp', 4, 8080).processes.length, 2);
    });

    it('names an owner "?" when its comm cannot be read, and a hostile comm printably', async () => {
      const tree = container({ [`/proc/${PID2}/comm`]: 'e\x1b[31mvil\u202e\n' });
      delete tree[`/proc/${PID}/comm`];
      const r = await readNetwork(new MemoryFiles(tree), PID, [PID, PID2], null, false);
      assert.deepEqual(socket(r.listening, 'tcp', 4, 8080).processes, [
        { hostPid: PID, name: '?' },
        { hostPid: PID2, name: 'e\\x1b[31mvil\\u202e' },
      ]);
      assert.deepEqual(r.errors, []);
    });

    it('reads no fd links when nothing listens', async () => {
      const head = (t: string) => `${t.split('\n')[0]}\n`;
      const files = new MemoryFiles(container({ [`${N}/tcp`]: head(TCP), [`${N}/tcp6`]: head(TCP6), [`${N}/udp`]: head(UDP) }));
      const r = await readNetwork(files, PID, [PID, PID2], null, false);
      assert.deepEqual(r.listening, []);
      assert.ok(!files.reads.some((f) => f.includes('/fd')), JSON.stringify(files.reads));
    });

    it('stops looking for owners past 8192 file descriptors, and says so', async () => {
      const many = Array.from({ length: 8192 }, (_, i) => String(i));
      const r = await readNetwork(new MemoryFiles(container({ [`/proc/${PID}/fd`]: { dir: many } })), PID, [PID, PID2], null, false);
      assert.deepEqual(
        r.errors.map((e) => e.field),
        ['network.owners'],
      );
      assert.match(r.errors[0].reason, /more than 8192 file descriptors/);
      // nc was never looked at.
      assert.deepEqual(socket(r.listening, 'udp', 4, 5353).processes, []);
    });

    it('lists at most 512 listening sockets', async () => {
      const rows = Array.from({ length: 600 }, (_, i) =>
        tcpLine(
          `${String(i).padStart(4)}: 00000000:${(1000 + i).toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${100000 + i} 1 0000000000000000 100 0 0 10 0`,
        ),
      );
      const tcp = [TCP.split('\n')[0], ...rows, ''].join('\n');
      const r = await readNetwork(new MemoryFiles(container({ [`${N}/tcp`]: tcp })), PID, [], null, false);
      assert.equal(r.listening.length, 512);
      assert.deepEqual(r.listening[0], { protocol: 'tcp', family: 4, address: '0.0.0.0', port: 1000, inode: 100000, processes: [] });
    });

    it('makes interface and route names with control characters printable, and still matches them', async () => {
      const evil = 'ev\x1bil\x7f';
      const dev = `${NET_DEV}${devLine(evil, 10, 1, 20, 2)}\n`;
      const igmp = `${IGMP}7\t${evil.padEnd(10)}:     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n`;
      const route = `${ROUTE}${routeLine(`${evil}\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0`)}\n`;
      const fib = `${FIB_TRIE}  +-- 10.0.0.0/8 2 0 2\n     |-- 10.0.0.5\n        /32 host LOCAL\n`;
      const host = await hostLinks([...HOST, { name: 'vethA', index: 80, iflink: 7 }, { name: 'vethB', index: 81, iflink: 7 }]);
      const r = await readNetwork(
        new MemoryFiles(container({ [`${N}/dev`]: dev, [`${N}/igmp`]: igmp, [`${N}/route`]: route, [`${N}/fib_trie`]: fib })),
        PID,
        [],
        host,
        false,
      );
      const shown = 'ev\\x1bil\\x7f';
      assert.deepEqual(iface(r.interfaces, shown), {
        name: shown,
        index: 7,
        addresses: ['10.0.0.5/8'],
        rxBytes: 10,
        txBytes: 20,
        rxPackets: 1,
        txPackets: 2,
        peer: null,
      });
      assert.deepEqual(r.routes[2], { destination: '10.0.0.0/8', gateway: null, iface: shown, metric: 0 });
      assert.equal(r.errors.length, 1);
      assert.ok(r.errors[0].reason.includes(shown), r.errors[0].reason);
      for (const s of [JSON.stringify(r.interfaces), JSON.stringify(r.routes), r.errors[0].reason])
        assert.ok(!/[\x00-\x1f\x7f]/.test(s), s);
    });

    it('gives an error per unreadable or unparsable file, and reads the rest', async () => {
      const tree = container({
        [`${N}/route`]: `${ROUTE}garbage\n`,
        [`${N}/tcp`]: { error: 'EACCES' },
        [`${N}/udp`]: `${UDP}not a socket\n`,
      });
      delete tree[`${N}/dev`];
      const r = await readNetwork(new MemoryFiles(tree), PID, [PID, PID2], null, false);
      assert.deepEqual(r.interfaces, []);
      assert.deepEqual(r.routes, []);
      assert.deepEqual(r.errors.map((e) => e.field).sort(), ['network.dev', 'network.route', 'network.tcp', 'network.udp']);
      const reason = (field: string) => r.errors.find((e) => e.field === field)?.reason ?? '';
      assert.match(reason('network.dev'), new RegExp(`${N}/dev does not exist`));
      assert.match(reason('network.tcp'), /permission denied/);
      assert.match(reason('network.route'), /not a \/proc\/net\/route line: "garbage"/);
      // tcp6 still read.
      assert.deepEqual(
        r.listening.map((s) => `${s.protocol}${s.family}:${s.port}`),
        ['tcp6:8080'],
      );
    });

    it('leaves an address with no connected route off every interface', async () => {
      const route = `${ROUTE.split('\n')[0]}\n${ROUTE.split('\n')[1]}\n`;
      const r = await readNetwork(new MemoryFiles(container({ [`${N}/route`]: route })), PID, [], null, false);
      assert.deepEqual(iface(r.interfaces, 'eth0').addresses, ['fe80::42:acff:fe11:2/64']);
      assert.deepEqual(iface(r.interfaces, 'lo').addresses, ['127.0.0.1/8', '::1/128']);
    });

    it('reads the files of the process it is given', async () => {
      const files = new MemoryFiles(container());
      await readNetwork(files, PID, [], null, false);
      const net = files.reads.filter((f) => f.includes('/net/')).sort();
      assert.deepEqual(
        net,
        ['dev', 'fib_trie', 'if_inet6', 'igmp', 'route', 'tcp', 'tcp6', 'udp', 'udp6'].map((f) => `${N}/${f}`),
      );
    });
  });
});
