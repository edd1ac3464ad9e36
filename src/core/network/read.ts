// Reads a network namespace through one of its processes: /proc/PID/net/* (the kernel answers for that
// process's namespace, whoever reads), the socket links of the container's processes, and the host's own
// interfaces (sysfs of the host, never the container's) to find the host end of each veth pair.
import * as path from 'node:path';
import type { FieldError, ListeningSocket, NetworkInfo, NetworkInterfaceInfo, RouteInfo, VethPeer } from '../../shared/model';
import { printable, truncate } from '../../shared/text';
import { HostFiles, describeReadError } from '../util/hostFiles';
import { assignIPv4, parseFibTrieLocal, parseIfInet6, parseIgmpIndexes, parseNetDev, parseRoute, parseSockets, socketInode } from './parse';

/** Interface names are the container's (at most 15 bytes to the kernel); shown bounded and printable. */
const NAME_MAX = 64;
/** File descriptors looked at per read, over all the container's processes (direct, and through the helper). */
const MAX_FDS_DIRECT = 8192;
const MAX_FDS_HELPER = 512;
/** Listening sockets listed at most. */
const MAX_SOCKETS = 512;

/** The host's interfaces by index (its sysfs), for matching veth peers; built once per read of several namespaces. */
export interface HostLinks {
  byIflink: Map<number, VethPeer[]>;
  error: FieldError | null;
}

/**
 * The host's interfaces: index, the index its peer has (iflink), MTU and master. Read from the engine's own
 * /sys when it reads directly (it runs in the host's network namespace), else from PID 1's root through the
 * helper, whose own /sys is its (empty) network namespace's.
 */
export async function readHostLinks(files: HostFiles): Promise<HostLinks> {
  const base = files.kind === 'helper' ? '/proc/1/root/sys/class/net' : '/sys/class/net';
  const byIflink = new Map<number, VethPeer[]>();
  let names: string[];
  try {
    names = await files.listDir(base);
  } catch (err) {
    return { byIflink, error: { field: 'network.peers', reason: describeReadError(err, base, files.kind) } };
  }
  await Promise.all(
    names.map(async (name) => {
      const dir = `${base}/${name}`;
      const num = async (file: string) => {
        try {
          const t = (await files.readText(`${dir}/${file}`)).trim();
          // Number('') is 0: an empty attribute is unknown, not index 0.
          return /^\d{1,10}$/.test(t) ? Number(t) : null;
        } catch {
          return null;
        }
      };
      const [index, iflink, mtu, master] = await Promise.all([
        num('ifindex'),
        num('iflink'),
        num('mtu'),
        files.readLink(`${dir}/master`).then(
          (l) => path.posix.basename(l),
          () => null,
        ),
      ]);
      // An interface whose link is itself has no peer (a bridge, a physical NIC).
      if (index === null || iflink === null || iflink === index) return;
      const peer: VethPeer = {
        index,
        name: truncate(printable(name), NAME_MAX),
        bridge: master ? truncate(printable(master), NAME_MAX) : null,
        mtu,
      };
      byIflink.set(iflink, [...(byIflink.get(iflink) ?? []), peer]);
    }),
  );
  return { byIflink, error: null };
}

async function text(files: HostFiles, file: string, errors: FieldError[], field: string): Promise<string | null> {
  try {
    return await files.readText(file);
  } catch (err) {
    errors.push({ field, reason: describeReadError(err, file, files.kind) });
    return null;
  }
}

/**
 * The network namespace of process `pid`: interfaces with addresses and counters, routes, listening sockets
 * with the processes (of `pids`, the container's) holding them, and each interface's veth peer on the host.
 */
export async function readNetwork(
  files: HostFiles,
  pid: number,
  pids: readonly number[],
  host: HostLinks | null,
  hostNetwork: boolean,
): Promise<Omit<NetworkInfo, 'namespace' | 'sharedWith'>> {
  const errors: FieldError[] = [];
  const net = (f: string) => text(files, `/proc/${pid}/net/${f}`, errors, `network.${f}`);
  const [dev, fib, route, inet6, igmp, tcp, tcp6, udp, udp6] = await Promise.all([
    net('dev'),
    net('fib_trie'),
    net('route'),
    // Absent where IPv6 is off in the kernel.
    files.readText(`/proc/${pid}/net/if_inet6`).catch(() => ''),
    net('igmp'),
    net('tcp'),
    files.readText(`/proc/${pid}/net/tcp6`).catch(() => ''),
    net('udp'),
    files.readText(`/proc/${pid}/net/udp6`).catch(() => ''),
  ]);
  const parsed = <T>(field: string, r: { ok: true; value: T } | { ok: false; error: string }, empty: T): T => {
    if (r.ok) return r.value;
    errors.push({ field, reason: r.error });
    return empty;
  };
  const counters = dev === null ? [] : parsed('network.dev', parseNetDev(dev), []);
  const routes4 = route === null ? [] : parsed('network.route', parseRoute(route), []);
  const v6 = parsed('network.if_inet6', parseIfInet6(inet6), []);
  const indexes = igmp === null ? new Map<string, number>() : parseIgmpIndexes(igmp);
  for (const a of v6) if (!indexes.has(a.iface)) indexes.set(a.iface, a.index);
  const v4 = fib === null ? [] : assignIPv4(parseFibTrieLocal(fib), routes4);

  const interfaces: NetworkInterfaceInfo[] = counters.map((c) => {
    const index = indexes.get(c.name) ?? null;
    let peer: VethPeer | null = null;
    if (!hostNetwork && index !== null && host && c.name !== 'lo') {
      const candidates = host.byIflink.get(index) ?? [];
      // Indexes are per namespace: two host interfaces linking to the same index leave the peer unknown.
      if (candidates.length === 1) peer = candidates[0];
      else if (candidates.length > 1)
        errors.push({
          field: 'network.peers',
          reason: `${candidates.length} host interfaces link to index ${index} (${candidates.map((p) => p.name).join(', ')}): the peer of ${truncate(printable(c.name), NAME_MAX)} is not told apart`,
        });
    }
    return {
      name: truncate(printable(c.name), NAME_MAX),
      index,
      addresses: [
        ...v4.filter((a) => a.iface === c.name).map((a) => `${a.address}/${a.prefix}`),
        ...v6.filter((a) => a.iface === c.name).map((a) => `${a.address}/${a.prefix}`),
      ],
      rxBytes: c.rxBytes,
      txBytes: c.txBytes,
      rxPackets: c.rxPackets,
      txPackets: c.txPackets,
      peer,
    };
  });
  if (host?.error && !hostNetwork) errors.push(host.error);

  const routes: RouteInfo[] = routes4.map((r) => ({
    destination: `${r.destination}/${r.prefix}`,
    gateway: r.gateway,
    iface: truncate(printable(r.iface), NAME_MAX),
    metric: r.metric,
  }));

  const listening: ListeningSocket[] = [];
  const add = (protocol: 'tcp' | 'udp', family: 4 | 6, t: string | null) => {
    if (t === null || t === '') return;
    for (const s of parsed(`network.${protocol}${family === 6 ? '6' : ''}`, parseSockets(t, family === 6), [])) {
      const isListening = protocol === 'tcp' ? s.state === 0x0a : s.state === 0x07 && s.remoteZero;
      if (isListening && listening.length < MAX_SOCKETS)
        listening.push({ protocol, family, address: s.local, port: s.port, inode: s.inode, processes: [] });
    }
  };
  add('tcp', 4, tcp);
  add('tcp', 6, tcp6);
  add('udp', 4, udp);
  add('udp', 6, udp6);
  if (listening.length > 0) await ownSockets(files, pids, listening, errors);
  listening.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port || a.family - b.family);
  return { hostNetwork, interfaces, routes, listening, errors };
}

/** Finds which of the container's processes hold each socket, by their fd links (`socket:[inode]`). */
async function ownSockets(files: HostFiles, pids: readonly number[], sockets: ListeningSocket[], errors: FieldError[]): Promise<void> {
  const byInode = new Map(sockets.map((s) => [s.inode, s]));
  // Through the helper every link is a request that others' reads wait behind: a smaller budget there.
  const MAX_FDS = files.kind === 'helper' ? MAX_FDS_HELPER : MAX_FDS_DIRECT;
  let budget = MAX_FDS;
  let denied: string | null = null;
  for (const pid of pids) {
    if (budget <= 0) {
      // Processes left unread: said once (a cut list says so below as well).
      if (!errors.some((e) => e.field === 'network.owners'))
        errors.push({
          field: 'network.owners',
          reason: `more than ${MAX_FDS} file descriptors: the owners of some sockets were not looked for`,
        });
      break;
    }
    let fds: string[];
    try {
      const all = await files.listDir(`/proc/${pid}/fd`);
      if (all.length > budget && !errors.some((e) => e.field === 'network.owners'))
        errors.push({
          field: 'network.owners',
          reason: `more than ${MAX_FDS} file descriptors: the owners of some sockets were not looked for`,
        });
      fds = all.slice(0, budget);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES' || (err as NodeJS.ErrnoException).code === 'EPERM')
        denied ??= describeReadError(err, `/proc/${pid}/fd`, files.kind);
      continue;
    }
    budget -= fds.length;
    const links = await Promise.all(fds.map((fd) => files.readLink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
    const held = new Set<ListeningSocket>();
    for (const link of links) {
      const inode = socketInode(link);
      const s = inode === null ? undefined : byInode.get(inode);
      if (s) held.add(s);
    }
    if (held.size === 0) continue;
    const name = await files
      .readText(`/proc/${pid}/comm`)
      .then((t) => truncate(printable(t.trim()), NAME_MAX))
      .catch(() => '?');
    for (const s of held) s.processes.push({ hostPid: pid, name });
  }
  if (denied) errors.push({ field: 'network.owners', reason: denied });
}
