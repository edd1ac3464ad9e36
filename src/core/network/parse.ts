// Pure parsers for a network namespace's files under /proc/PID/net (the kernel writes them for the reader's
// view of that process's namespace): interfaces and their counters, addresses, routes and sockets. Interface
// names are the container's to choose: they stay data, made printable where shown.
import { Parsed, fail, ok, quoteInput } from '../util/result';

export interface NetDevCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/** /proc/PID/net/dev: two header lines, then `name: rx bytes packets errs drop fifo frame compressed multicast tx bytes packets …`. */
export function parseNetDev(text: string): Parsed<NetDevCounters[]> {
  const out: NetDevCounters[] = [];
  const lines = text.split('\n');
  for (const line of lines.slice(2)) {
    if (line.trim() === '') continue;
    const colon = line.lastIndexOf(':');
    if (colon < 0) return fail(`not a /proc/net/dev line: ${quoteInput(line)}`);
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (name === '' || f.length < 16 || !f.every((x) => /^\d+$/.test(x))) return fail(`not a /proc/net/dev line: ${quoteInput(line)}`);
    out.push({ name, rxBytes: Number(f[0]), rxPackets: Number(f[1]), txBytes: Number(f[8]), txPackets: Number(f[9]) });
  }
  return ok(out);
}

/** A 32-bit address as /proc/net/route and tcp print it: hex, in the machine's (little-endian) byte order. */
export function hexToIPv4(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return null;
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

/** A 128-bit address as tcp6/udp6 print it: four 32-bit words, each in little-endian byte order. */
export function hexToIPv6Words(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return null;
  let bytes = '';
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    bytes += word.slice(6, 8) + word.slice(4, 6) + word.slice(2, 4) + word.slice(0, 2);
  }
  return compressIPv6(bytes);
}

/** 32 hex digits in network order (if_inet6, ipv6_route) as an IPv6 address, zeros compressed (RFC 5952). */
export function compressIPv6(hex: string): string {
  // Callers pass 32 hex digits they checked; anything else is returned as it came, never NaN groups.
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return hex;
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(parseInt(hex.slice(i, i + 4), 16).toString(16));
  // The longest run of two or more zero groups becomes `::`.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export interface Route4 {
  iface: string;
  destination: string;
  prefix: number;
  gateway: string | null;
  metric: number;
}

function maskToPrefix(mask: string): number | null {
  const ip = hexToIPv4(mask);
  if (ip === null) return null;
  const n = ip.split('.').reduce((acc, b) => acc * 256 + Number(b), 0);
  let bits = 0;
  for (let i = 31; i >= 0; i--) {
    if (Math.floor(n / 2 ** i) % 2 === 1) bits++;
    else break;
  }
  return bits;
}

/** /proc/PID/net/route (the main IPv4 table): `Iface Destination Gateway Flags RefCnt Use Metric Mask …`. */
export function parseRoute(text: string): Parsed<Route4[]> {
  const out: Route4[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    const destination = hexToIPv4(f[1] ?? '');
    const gateway = hexToIPv4(f[2] ?? '');
    const prefix = maskToPrefix(f[7] ?? '');
    if (f.length < 8 || destination === null || gateway === null || prefix === null || !/^\d+$/.test(f[6]))
      return fail(`not a /proc/net/route line: ${quoteInput(line)}`);
    out.push({ iface: f[0], destination, prefix, gateway: gateway === '0.0.0.0' ? null : gateway, metric: Number(f[6]) });
  }
  return ok(out);
}

/** The addresses /proc/PID/net/fib_trie marks `/32 host LOCAL`: the namespace's own IPv4 addresses. */
export function parseFibTrieLocal(text: string): string[] {
  const out: string[] = [];
  let last: string | null = null;
  for (const line of text.split('\n')) {
    const leaf = /^\s*\|-- (\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line);
    if (leaf) {
      last = leaf[1];
      continue;
    }
    if (last !== null && /^\s*\/32 host LOCAL\s*$/.test(line) && !out.includes(last)) out.push(last);
  }
  return out;
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((acc, b) => acc * 256 + Number(b), 0);
}

/** Whether `ip` lies in `destination/prefix`. */
export function inSubnet(ip: string, destination: string, prefix: number): boolean {
  if (prefix === 0) return true;
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4ToNumber(ip) / size) === Math.floor(ipv4ToNumber(destination) / size);
}

/**
 * Gives each local IPv4 address its interface and prefix: the interface of the directly connected route
 * (no gateway) that holds it, the narrowest first; loopback addresses are `lo`'s.
 */
export function assignIPv4(locals: string[], routes: Route4[]): { address: string; prefix: number; iface: string | null }[] {
  return locals.map((address) => {
    if (address.startsWith('127.')) return { address, prefix: 8, iface: 'lo' };
    const link = routes
      .filter((r) => r.gateway === null && r.prefix > 0 && inSubnet(address, r.destination, r.prefix))
      .sort((a, b) => b.prefix - a.prefix)[0];
    return { address, prefix: link?.prefix ?? 32, iface: link?.iface ?? null };
  });
}

export interface Inet6Address {
  address: string;
  index: number;
  prefix: number;
  iface: string;
}

/** /proc/PID/net/if_inet6: `address(32 hex) ifindex prefixlen scope flags name`, all hex but the name. */
export function parseIfInet6(text: string): Parsed<Inet6Address[]> {
  const out: Inet6Address[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    if (f.length !== 6 || !/^[0-9a-f]{32}$/i.test(f[0]) || !f.slice(1, 5).every((x) => /^[0-9a-f]+$/i.test(x)))
      return fail(`not an if_inet6 line: ${quoteInput(line)}`);
    out.push({ address: compressIPv6(f[0]), index: parseInt(f[1], 16), prefix: parseInt(f[2], 16), iface: f[5] });
  }
  return ok(out);
}

/** /proc/PID/net/igmp: interface index → name for every interface that can take IPv4 multicast. */
export function parseIgmpIndexes(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(\d+)\s+(\S+)\s*:/.exec(line);
    if (m) out.set(m[2], Number(m[1]));
  }
  return out;
}

export interface SocketEntry {
  local: string;
  port: number;
  /** TCP state as the kernel numbers it (0A listen; for UDP 07 is an unconnected, bound socket). */
  state: number;
  remoteZero: boolean;
  inode: number;
  uid: number;
}

/** /proc/PID/net/{tcp,udp,tcp6,udp6}: `sl local_address rem_address st … uid timeout inode …`. */
export function parseSockets(text: string, v6: boolean): Parsed<SocketEntry[]> {
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    const [laddr, lport] = (f[1] ?? '').split(':');
    const [raddr, rport] = (f[2] ?? '').split(':');
    const local = v6 ? hexToIPv6Words(laddr ?? '') : hexToIPv4(laddr ?? '');
    if (
      f.length < 10 ||
      local === null ||
      !/^[0-9A-F]{4}$/i.test(lport ?? '') ||
      !/^[0-9A-F]{2}$/i.test(f[3]) ||
      !/^\d+$/.test(f[9]) ||
      !/^\d+$/.test(f[7])
    )
      return fail(`not a socket table line: ${quoteInput(line)}`);
    out.push({
      local,
      port: parseInt(lport, 16),
      state: parseInt(f[3], 16),
      remoteZero: /^0+$/.test(raddr ?? '') && /^0+$/.test(rport ?? ''),
      inode: Number(f[9]),
      uid: Number(f[7]),
    });
  }
  return ok(out);
}

/** `socket:[12345]` as /proc/PID/fd/N links to a socket; null for anything else. */
export function socketInode(link: string): number | null {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : null;
}
