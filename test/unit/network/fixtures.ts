// The files of a network namespace under /proc/PID/net as Linux 6.x prints them, taken from a Docker
// container at 172.17.0.2/16 (eth0 is its index 34; the host end of its veth pair is vethfd2bc26, index 35).

/** One /proc/net/dev line as dev_seq_printf_stats() prints it ("%6s:%8llu %7llu …"). */
export function devLine(name: string, rxBytes: number, rxPackets: number, txBytes: number, txPackets: number): string {
  const n = (v: number, w: number) => String(v).padStart(w);
  return (
    `${name.padStart(6)}:${n(rxBytes, 8)} ${n(rxPackets, 7)} ${n(0, 4)} ${n(0, 4)} ${n(0, 4)} ${n(0, 5)} ${n(0, 10)} ${n(0, 9)} ` +
    `${n(txBytes, 8)} ${n(txPackets, 7)} ${n(0, 4)} ${n(0, 4)} ${n(0, 4)} ${n(0, 5)} ${n(0, 7)} ${n(0, 10)}`
  );
}

export const DEV_HEADER = [
  'Inter-|   Receive                                                |  Transmit',
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
];

export const NET_DEV = [
  ...DEV_HEADER,
  '    lo:     840      12    0    0    0     0          0         0      840      12    0    0    0     0       0          0',
  '  eth0:  116514     933    0    0    0     0          0         0    42366     471    0    0    0     0       0          0',
  '',
].join('\n');

/** /proc/net/route pads every line to 127 characters ("%-127s\n"). */
export const routeLine = (fields: string) => fields.padEnd(127);

export const ROUTE = [
  routeLine('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT'),
  routeLine('eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0'),
  routeLine('eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0'),
  '',
].join('\n');

/** The trie of one table as fib_trie_seq_show() prints it, for a container at 172.17.0.2/16. */
export const TRIE_TABLE = [
  '  +-- 0.0.0.0/0 3 0 5',
  '     |-- 0.0.0.0',
  '        /0 universe UNICAST',
  '     +-- 127.0.0.0/8 2 0 2',
  '        +-- 127.0.0.0/31 1 0 0',
  '           |-- 127.0.0.0',
  '              /8 host LOCAL',
  '           |-- 127.0.0.1',
  '              /32 host LOCAL',
  '        |-- 127.255.255.255',
  '           /32 link BROADCAST',
  '     +-- 172.17.0.0/16 2 0 2',
  '        +-- 172.17.0.0/30 2 0 2',
  '           |-- 172.17.0.0',
  '              /16 link UNICAST',
  '           |-- 172.17.0.2',
  '              /32 host LOCAL',
  '        |-- 172.17.255.255',
  '           /32 link BROADCAST',
];

export const FIB_TRIE = ['Main:', ...TRIE_TABLE, 'Local:', ...TRIE_TABLE, ''].join('\n');

/** if_inet6: "%pi6 %02x %02x %02x %02x %8s" (address, ifindex, prefix length, scope, flags, name). */
export const IF_INET6 = [
  '00000000000000000000000000000001 01 80 10 80       lo',
  'fe800000000000000042acfffe110002 22 40 20 80     eth0',
  '',
].join('\n');

/** igmp: a line per interface ("%d\t%-10s: %5d %7s"), then a tab-indented line per group it joined. */
export const IGMP = [
  'Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter',
  '1\tlo        :     1      V3',
  '\t\t\t\t010000E0     1 0:00000000\t\t0',
  '34\teth0      :     2      V3',
  '\t\t\t\t010000E0     1 0:00000000\t\t0',
  '\t\t\t\tFB0000E0     1 0:00000000\t\t0',
  '',
].join('\n');

/** tcp and tcp6 of IPv4 pad each line to 149 characters (TMPSZ - 1). */
export const tcpLine = (s: string) => s.padEnd(149);

export const TCP = [
  tcpLine('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'),
  tcpLine(
    '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77532 1 0000000076fab951 100 0 0 10 0',
  ),
  tcpLine(
    '   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 77540 1 00000000ec31351f 100 0 0 10 0',
  ),
  tcpLine(
    '   2: 020011AC:1F90 010011AC:B942 01 00000000:00000000 02:0008C2AD 00000000     0        0 57865 2 00000000806fb6d5 21 4 1 12 8',
  ),
  '',
].join('\n');

export const TCP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77533 1 0000000076fab951 100 0 0 10 0',
  '   1: 0000000000000000FFFF00000100007F:1F91 0000000000000000FFFF00000100007F:B4B8 01 00000000:00000000 00:00000000 00000000     0        0 78737 1 000000000b204c7e 20 0 0 10 -1',
  '',
].join('\n');

/** udp pads to 127 characters; sl is the hash slot ("%5d:"). */
export const udpLine = (s: string) => s.padEnd(127);

export const UDP = [
  udpLine('   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops'),
  udpLine('15144: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 78733 2 00000000975798f0 0'),
  udpLine('  397: 020011AC:A1B2 08080808:0035 01 00000000:00000000 00:00000000 00000000     0        0 78740 2 00000000f1ada787 0'),
  '',
].join('\n');
