// The kernel's view of a network namespace under /proc/PID/net: interface counters, routes, the fib trie's
// local addresses, IPv6 addresses, igmp's interface indexes and the socket tables, as Linux 6.x prints them
// (taken from a Docker container on 172.17.0.0/16), and as garbage.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as fc from 'fast-check';
import {
  Route4,
  assignIPv4,
  compressIPv6,
  hexToIPv4,
  hexToIPv6Words,
  inSubnet,
  parseFibTrieLocal,
  parseIfInet6,
  parseIgmpIndexes,
  parseNetDev,
  parseRoute,
  parseSockets,
  socketInode,
} from '../../../src/core/network/parse';
import { Parsed } from '../../../src/core/util/result';
import {
  DEV_HEADER,
  FIB_TRIE,
  IF_INET6,
  IGMP,
  NET_DEV,
  ROUTE,
  TCP,
  TCP6,
  TRIE_TABLE,
  UDP,
  devLine,
  routeLine,
  tcpLine,
  udpLine,
} from './fixtures';

const RUNS = 1000;

function value<T>(r: Parsed<T>): T {
  if (!r.ok) assert.fail(`expected a value, got error: ${r.error}`);
  return r.value;
}

function error<T>(r: Parsed<T>): string {
  if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

// ---- Oracles independent of the code under test ----

/** The bytes of a little-endian 32-bit word as the kernel prints it ("%08X"), in network order. */
function leWordBytes(hex: string): number[] {
  return [...Buffer.from(hex, 'hex').reverse()];
}

/** Expands an IPv6 text address back to 32 lowercase hex digits. */
function expandIPv6(text: string): string {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const left = head === '' ? [] : head.split(':');
  const right = tail === null || tail === '' ? [] : tail.split(':');
  const groups = tail === null ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  assert.equal(groups.length, 8, text);
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/** RFC 5952 text as the WHATWG URL serializer writes an IPv6 host (longest run of 2+ zero groups, first of equals). */
function whatwgIPv6(hex32: string): string {
  const groups = hex32.match(/.{4}/g) ?? [];
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEF'.split(''));
const hexOf = (n: number) => fc.array(hexDigit, { minLength: n, maxLength: n }).map((a) => a.join(''));
/** 32 hex digits biased towards zero groups, where compression decisions are made. */
const hex32 = fc
  .array(fc.oneof(fc.constant('0000'), fc.constant('0000'), fc.constant('0001'), hexOf(4)), { minLength: 8, maxLength: 8 })
  .map((a) => a.join(''));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));

describe('network/parse', () => {
  describe('parseNetDev', () => {
    it('reads the counters of lo and eth0', () => {
      assert.deepEqual(value(parseNetDev(NET_DEV)), [
        { name: 'lo', rxBytes: 840, rxPackets: 12, txBytes: 840, txPackets: 12 },
        { name: 'eth0', rxBytes: 116514, rxPackets: 933, txBytes: 42366, txPackets: 471 },
      ]);
    });

    it('reads names longer than the column, 64-bit counters and a text without the final newline', () => {
      const text = [...DEV_HEADER, devLine('veth7d286e9', 5_000_000_000, 4_294_967_296, 876, 10)].join('\n');
      assert.deepEqual(value(parseNetDev(text)), [
        { name: 'veth7d286e9', rxBytes: 5_000_000_000, rxPackets: 4_294_967_296, txBytes: 876, txPackets: 10 },
      ]);
      // The helper writes the columns as the kernel does.
      assert.equal(devLine('lo', 840, 12, 840, 12), NET_DEV.split('\n')[2]);
    });

    it('reads no interfaces from the headers alone', () => {
      assert.deepEqual(value(parseNetDev(`${DEV_HEADER.join('\n')}\n`)), []);
    });

    it('fails on a line without a colon, a name, enough counters or with a non-number', () => {
      const full = ' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16';
      for (const bad of [
        '  eth0 1 2 3',
        `:${full}`,
        '  eth0: 1 2 3 4 5 6 7 8',
        `  eth0:${full.replace('7', '-7')}`,
        `  eth0:${full.replace('9', 'x')}`,
      ]) {
        const e = error(parseNetDev(`${DEV_HEADER.join('\n')}\n${bad}\n`));
        assert.match(e, /not a \/proc\/net\/dev line/, bad);
      }
    });
  });

  describe('hexToIPv4', () => {
    it('reads the little-endian words of route and tcp', () => {
      assert.equal(hexToIPv4('0100007F'), '127.0.0.1');
      assert.equal(hexToIPv4('010011AC'), '172.17.0.1');
      assert.equal(hexToIPv4('000011AC'), '172.17.0.0');
      assert.equal(hexToIPv4('0000FFFF'), '255.255.0.0');
      assert.equal(hexToIPv4('00000000'), '0.0.0.0');
      assert.equal(hexToIPv4('FFFFFFFF'), '255.255.255.255');
      assert.equal(hexToIPv4('0a0000c0'), '192.0.0.10');
    });

    it('refuses anything but 8 hex digits', () => {
      for (const bad of ['', '0100007', '0100007F0', '0x00007F', '0100007G', ' 0100007F', '-1000000'])
        assert.equal(hexToIPv4(bad), null, bad);
    });

    it('agrees with the bytes of the word and with net.isIPv4', () => {
      fc.assert(
        fc.property(hexOf(8), (hex) => {
          const ip = hexToIPv4(hex);
          assert.ok(ip !== null && net.isIPv4(ip), String(ip));
          assert.equal(ip, leWordBytes(hex).join('.'));
        }),
        { numRuns: RUNS },
      );
    });
  });

  describe('compressIPv6', () => {
    it('follows RFC 5952: longest zero run, the first of equal runs, no single-group ::, lowercase', () => {
      assert.equal(compressIPv6('00000000000000000000000000000001'), '::1');
      assert.equal(compressIPv6('00000000000000000000000000000000'), '::');
      assert.equal(compressIPv6('fe800000000000000042acfffe110002'), 'fe80::42:acff:fe11:2');
      assert.equal(compressIPv6('FE800000000000000042ACFFFE110002'), 'fe80::42:acff:fe11:2');
      // 2001:db8:0:0:1:0:0:1: two runs of two, the first one goes.
      assert.equal(compressIPv6('20010db8000000000001000000000001'), '2001:db8::1:0:0:1');
      // 2001:0:0:1:0:0:0:1: the longer (second) run goes.
      assert.equal(compressIPv6('20010000000000010000000000000001'), '2001:0:0:1::1');
      // 2001:db8:0:1:1:1:1:1: a single zero group stays.
      assert.equal(compressIPv6('20010db8000000010001000100010001'), '2001:db8:0:1:1:1:1:1');
      assert.equal(compressIPv6('20010db8000100000000000000000000'), '2001:db8:1::');
      assert.equal(compressIPv6('abcd0000000000000000000000000000'), 'abcd::');
      assert.equal(compressIPv6('00010000000000000000000000000000'), '1::');
      assert.equal(compressIPv6('00000001000000000000000000000000'), '0:1::');
    });

    it('gives a valid address that expands back to its digits, as the WHATWG URL serializer writes it', () => {
      fc.assert(
        fc.property(hex32, (hex) => {
          const text = compressIPv6(hex);
          assert.ok(net.isIPv6(text), text);
          assert.equal(text, text.toLowerCase());
          assert.equal(expandIPv6(text), hex.toLowerCase());
          assert.equal(text, whatwgIPv6(hex));
          assert.ok(!/(^|:)0[0-9a-f]/.test(text), `leading zero in ${text}`);
          assert.ok((text.match(/::/g) ?? []).length <= 1, text);
        }),
        { numRuns: RUNS },
      );
    });
  });

  describe('hexToIPv6Words', () => {
    it('reads tcp6 addresses: any, loopback and IPv4-mapped', () => {
      assert.equal(hexToIPv6Words('00000000000000000000000000000000'), '::');
      assert.equal(hexToIPv6Words('00000000000000000000000001000000'), '::1');
      // ::ffff:127.0.0.1 in the words of the kernel; RFC 5952 (section 5) recommends `::ffff:127.0.0.1`, and
      // the hexadecimal form is a valid RFC 5952 text of the same address.
      const mapped = hexToIPv6Words('0000000000000000FFFF00000100007F');
      assert.equal(mapped, '::ffff:7f00:1');
      assert.equal(expandIPv6(mapped), expandIPv6('::ffff:7f00:1'));
      assert.ok(net.isIPv6('::ffff:127.0.0.1') && new URL('http://[::ffff:127.0.0.1]/').hostname === `[${mapped}]`);
      // fe80::42:acff:fe11:2, each 32-bit word byte-swapped.
      assert.equal(hexToIPv6Words('000080FE00000000FFAC4200020011FE'), 'fe80::42:acff:fe11:2');
    });

    it('refuses anything but 32 hex digits', () => {
      for (const bad of ['', '0'.repeat(31), '0'.repeat(33), `${'0'.repeat(31)}g`, `:${'0'.repeat(31)}`])
        assert.equal(hexToIPv6Words(bad), null, bad);
    });

    it('swaps the bytes of each word, then compresses', () => {
      fc.assert(
        fc.property(hex32, (hex) => {
          const text = hexToIPv6Words(hex);
          assert.ok(text !== null && net.isIPv6(text), String(text));
          const bytes = [0, 1, 2, 3].flatMap((w) => leWordBytes(hex.slice(w * 8, w * 8 + 8)));
          assert.equal(expandIPv6(text), Buffer.from(bytes).toString('hex'));
        }),
        { numRuns: RUNS },
      );
    });
  });

  describe('parseRoute', () => {
    it('reads a default route via 172.17.0.1 and the connected 172.17.0.0/16', () => {
      assert.deepEqual(value(parseRoute(ROUTE)), [
        { iface: 'eth0', destination: '0.0.0.0', prefix: 0, gateway: '172.17.0.1', metric: 0 },
        { iface: 'eth0', destination: '172.17.0.0', prefix: 16, gateway: null, metric: 0 },
      ]);
    });

    it('reads masks of every length and the metric', () => {
      for (let prefix = 0; prefix <= 32; prefix++) {
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        // The mask as the kernel prints it: the network-order word read little-endian.
        const hex = Buffer.from([mask >>> 24, (mask >>> 16) & 0xff, (mask >>> 8) & 0xff, mask & 0xff])
          .readUInt32LE(0)
          .toString(16)
          .toUpperCase()
          .padStart(8, '0');
        const text = `${ROUTE.split('\n')[0]}\n${routeLine(`wg0\t0000000A\t00000000\t0001\t0\t0\t600\t${hex}\t0\t0\t0`)}\n`;
        assert.deepEqual(value(parseRoute(text)), [{ iface: 'wg0', destination: '10.0.0.0', prefix, gateway: null, metric: 600 }], hex);
      }
    });

    it('reads an empty table', () => {
      assert.deepEqual(value(parseRoute(`${ROUTE.split('\n')[0]}\n`)), []);
    });

    it('fails on short lines and bad fields', () => {
      const head = ROUTE.split('\n')[0];
      for (const bad of [
        'eth0\t00000000\t010011AC\t0003\t0\t0\t0',
        'eth0\t0000000G\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0',
        'eth0\t00000000\t10011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0',
        'eth0\t00000000\t010011AC\t0003\t0\t0\t-1\t00000000\t0\t0\t0',
        'eth0\t00000000\t010011AC\t0003\t0\t0\t0\tFFFF\t0\t0\t0',
        'garbage',
      ]) {
        assert.match(error(parseRoute(`${head}\n${bad}\n`)), /not a \/proc\/net\/route line/, bad);
      }
    });
  });

  describe('parseFibTrieLocal', () => {
    it('gives the /32 host LOCAL leaves once each, not the network or broadcast ones', () => {
      assert.deepEqual(parseFibTrieLocal(FIB_TRIE), ['127.0.0.1', '172.17.0.2']);
    });

    it('reads a leaf with several aliases and a namespace with only loopback', () => {
      const text = [
        'Local:',
        '  +-- 10.0.0.0/24 2 0 2',
        '     |-- 10.0.0.7',
        '        /24 link UNICAST',
        '        /32 host LOCAL',
        '     |-- 10.0.0.255',
        '        /32 link BROADCAST',
        '',
      ].join('\n');
      assert.deepEqual(parseFibTrieLocal(text), ['10.0.0.7']);
      // A namespace with only loopback (`--network none`): the trie ends at 127.0.0.0/8.
      const table = TRIE_TABLE.slice(0, TRIE_TABLE.indexOf('     +-- 172.17.0.0/16 2 0 2'));
      const lo = ['Main:', ...table, 'Local:', ...table, ''].join('\n');
      assert.deepEqual(parseFibTrieLocal(lo), ['127.0.0.1']);
    });

    it('gives nothing for text that is no trie', () => {
      assert.deepEqual(parseFibTrieLocal(''), []);
      assert.deepEqual(parseFibTrieLocal('/32 host LOCAL\n|-- not.an.ip\n/32 host LOCAL\n'), []);
      assert.deepEqual(parseFibTrieLocal('|-- 10.0.0.1 extra\n   /32 host LOCAL\n'), []);
    });
  });

  describe('inSubnet', () => {
    it('tells whether an address lies in a prefix', () => {
      assert.equal(inSubnet('172.17.0.2', '172.17.0.0', 16), true);
      assert.equal(inSubnet('172.18.0.2', '172.17.0.0', 16), false);
      assert.equal(inSubnet('10.1.2.3', '10.1.2.3', 32), true);
      assert.equal(inSubnet('10.1.2.4', '10.1.2.3', 32), false);
      assert.equal(inSubnet('255.255.255.255', '0.0.0.0', 0), true);
      assert.equal(inSubnet('128.0.0.0', '0.0.0.0', 1), false);
      assert.equal(inSubnet('127.255.255.255', '0.0.0.0', 1), true);
    });

    it("agrees with Node's net.BlockList", () => {
      fc.assert(
        fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (ip, destination, prefix) => {
          const list = new net.BlockList();
          list.addSubnet(destination, prefix, 'ipv4');
          assert.equal(inSubnet(ip, destination, prefix), list.check(ip, 'ipv4'));
        }),
        { numRuns: RUNS },
      );
    });
  });

  describe('assignIPv4', () => {
    const connected = (iface: string, destination: string, prefix: number): Route4 => ({
      iface,
      destination,
      prefix,
      gateway: null,
      metric: 0,
    });
    const routes = value(parseRoute(ROUTE));

    it('gives the container its address on eth0 and loopback to lo/8', () => {
      assert.deepEqual(assignIPv4(parseFibTrieLocal(FIB_TRIE), routes), [
        { address: '127.0.0.1', prefix: 8, iface: 'lo' },
        { address: '172.17.0.2', prefix: 16, iface: 'eth0' },
      ]);
    });

    it('gives an address in two connected subnets to the narrowest, whatever their order', () => {
      const wide = connected('eth0', '10.0.0.0', 8);
      const narrow = connected('eth1', '10.1.2.0', 24);
      for (const table of [
        [wide, narrow],
        [narrow, wide],
      ])
        assert.deepEqual(assignIPv4(['10.1.2.3'], table), [{ address: '10.1.2.3', prefix: 24, iface: 'eth1' }]);
      assert.deepEqual(assignIPv4(['10.9.0.1'], [narrow, wide]), [{ address: '10.9.0.1', prefix: 8, iface: 'eth0' }]);
    });

    it('gives an address with no connected route no interface and /32; a gateway or default route does not count', () => {
      const viaGateway: Route4 = { iface: 'eth0', destination: '192.168.0.0', prefix: 16, gateway: '172.17.0.1', metric: 0 };
      const defaultConnected = connected('eth9', '0.0.0.0', 0);
      assert.deepEqual(assignIPv4(['192.168.1.1'], [...routes, viaGateway, defaultConnected]), [
        { address: '192.168.1.1', prefix: 32, iface: null },
      ]);
      assert.deepEqual(assignIPv4([], routes), []);
    });
  });

  describe('parseIfInet6', () => {
    it('reads loopback and a link-local address with their hex index and prefix', () => {
      assert.deepEqual(value(parseIfInet6(IF_INET6)), [
        { address: '::1', index: 1, prefix: 128, iface: 'lo' },
        { address: 'fe80::42:acff:fe11:2', index: 34, prefix: 64, iface: 'eth0' },
      ]);
    });

    it('reads an empty file (no IPv6 addresses)', () => {
      assert.deepEqual(value(parseIfInet6('')), []);
    });

    it('fails on a line with the wrong field count or non-hex fields', () => {
      for (const bad of [
        '00000000000000000000000000000001 01 80 10 80',
        '00000000000000000000000000000001 01 80 10 80 lo extra',
        '0000000000000000000000000000001 01 80 10 80 lo',
        '00000000000000000000000000000001 0x1 80 10 80 lo',
        '00000000000000000000000000000001 01 80 10 zz lo',
        'garbage',
      ])
        assert.match(error(parseIfInet6(`${bad}\n`)), /not an if_inet6 line/, bad);
    });
  });

  describe('parseIgmpIndexes', () => {
    it('reads each interface index and name, skipping the tab-indented group lines', () => {
      assert.deepEqual(
        [...parseIgmpIndexes(IGMP)],
        [
          ['lo', 1],
          ['eth0', 34],
        ],
      );
    });

    it('reads a name that fills the column (no space before the colon)', () => {
      const text = `${IGMP.split('\n')[0]}\n33\tveth7d286e9:     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n`;
      assert.deepEqual([...parseIgmpIndexes(text)], [['veth7d286e9', 33]]);
    });

    it('ignores garbage lines and the header', () => {
      const text = ['1\tlo        :     1      V3', 'x\teth0      :     1      V3', '\t\t\t\t7\teth1:', 'no colon 5', ''].join('\n');
      assert.deepEqual([...parseIgmpIndexes(text)], []);
      assert.deepEqual([...parseIgmpIndexes('')], []);
    });
  });

  describe('parseSockets', () => {
    it('reads tcp lines in LISTEN and ESTABLISHED', () => {
      assert.deepEqual(value(parseSockets(TCP, false)), [
        { local: '0.0.0.0', port: 8080, state: 0x0a, remoteZero: true, inode: 77532, uid: 0 },
        { local: '127.0.0.1', port: 5432, state: 0x0a, remoteZero: true, inode: 77540, uid: 999 },
        { local: '172.17.0.2', port: 8080, state: 0x01, remoteZero: false, inode: 57865, uid: 0 },
      ]);
    });

    it('reads tcp6: `::` port 8080 and an IPv4-mapped connection', () => {
      assert.deepEqual(value(parseSockets(TCP6, true)), [
        { local: '::', port: 8080, state: 0x0a, remoteZero: true, inode: 77533, uid: 0 },
        { local: '::ffff:7f00:1', port: 8081, state: 0x01, remoteZero: false, inode: 78737, uid: 0 },
      ]);
    });

    it('reads udp lines: an unconnected bound socket (07) and a connected one', () => {
      assert.deepEqual(value(parseSockets(UDP, false)), [
        { local: '0.0.0.0', port: 5353, state: 0x07, remoteZero: true, inode: 78733, uid: 0 },
        { local: '172.17.0.2', port: 0xa1b2, state: 0x01, remoteZero: false, inode: 78740, uid: 0 },
      ]);
    });

    it('counts a remote as zero only when both its address and its port are', () => {
      const row = (remote: string) =>
        `${UDP.split('\n')[0]}\n${udpLine(`  397: 020011AC:A1B2 ${remote} 07 00000000:00000000 00:00000000 00000000     0        0 78740 2 00000000f1ada787 0`)}\n`;
      assert.equal(value(parseSockets(row('00000000:0000'), false))[0].remoteZero, true);
      assert.equal(value(parseSockets(row('00000000:0035'), false))[0].remoteZero, false);
      assert.equal(value(parseSockets(row('08080808:0000'), false))[0].remoteZero, false);
    });

    it('reads a table with only its header', () => {
      assert.deepEqual(value(parseSockets(TCP.split('\n')[0], false)), []);
      assert.deepEqual(value(parseSockets(`${TCP6.split('\n')[0]}\n`, true)), []);
    });

    it('fails on a line of the other family, short lines and bad fields', () => {
      const tcpRow = TCP.split('\n')[1];
      const tcp6Row = TCP6.split('\n')[1];
      assert.match(error(parseSockets(`h\n${tcp6Row}\n`, false)), /not a socket table line/);
      assert.match(error(parseSockets(`h\n${tcpRow}\n`, true)), /not a socket table line/);
      for (const bad of [
        '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0',
        tcpRow.replace('00000000:1F90', '00000000:1F9'),
        tcpRow.replace('00000000:1F90', '00000000'),
        tcpRow.replace(' 0A ', ' A '),
        tcpRow.replace('77532', '-77532'),
        tcpRow.replace('     0        0 77532', '    -1        0 77532'),
        'garbage',
      ])
        assert.match(error(parseSockets(`h\n${bad}\n`, false)), /not a socket table line/, bad);
    });
  });

  describe('socketInode', () => {
    it('reads socket links and nothing else', () => {
      assert.equal(socketInode('socket:[77532]'), 77532);
      assert.equal(socketInode('socket:[0]'), 0);
      for (const other of [
        'pipe:[78490]',
        '/dev/null',
        'anon_inode:[eventpoll]',
        'socket:[]',
        'socket:[12a]',
        ' socket:[1]',
        'socket:[1] ',
        'socket:[-1]',
      ])
        assert.equal(socketInode(other), null, other);
    });
  });

  describe('garbage', () => {
    const soup = [
      '\n',
      '\t',
      ' ',
      ':',
      '|',
      '-',
      '0',
      '1',
      'A',
      'F',
      'f',
      '/',
      '[',
      ']',
      'socket',
      'host LOCAL',
      '|-- ',
      '\u0000',
      '\uffff',
      '\ud800',
    ];
    const anyUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 300 });
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      anyUnits,
      fc.array(fc.constantFrom(...soup), { maxLength: 80 }).map((a) => a.join('')),
      // Real files with a line spliced in.
      fc
        .tuple(fc.constantFrom(NET_DEV, ROUTE, FIB_TRIE, IF_INET6, IGMP, TCP, TCP6, UDP), fc.nat(), fc.string({ maxLength: 40 }))
        .map(([t, at, s]) => {
          const lines = t.split('\n');
          lines.splice(at % lines.length, 0, s);
          return lines.join('\n');
        }),
    );

    function assertParsed(r: Parsed<unknown>): void {
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.equal(typeof r.error, 'string');
    }

    it('never throws on arbitrary text, in any parser', () => {
      fc.assert(
        fc.property(text, text, (a, b) => {
          assertParsed(parseNetDev(a));
          assertParsed(parseRoute(a));
          assertParsed(parseIfInet6(a));
          assertParsed(parseSockets(a, false));
          assertParsed(parseSockets(a, true));
          assert.ok(Array.isArray(parseFibTrieLocal(a)));
          assert.ok(parseIgmpIndexes(a) instanceof Map);
          const v4 = hexToIPv4(a);
          assert.ok(v4 === null || net.isIPv4(v4));
          const v6 = hexToIPv6Words(a);
          assert.ok(v6 === null || net.isIPv6(v6));
          const inode = socketInode(a);
          assert.ok(inode === null || (Number.isInteger(inode) && inode >= 0), String(inode));
          assert.equal(typeof compressIPv6(a), 'string');
          assert.equal(typeof inSubnet(a, b, 16), 'boolean');
          assert.equal(assignIPv4([a, b], [{ iface: a, destination: b, prefix: 8, gateway: null, metric: 0 }]).length, 2);
        }),
        { numRuns: RUNS },
      );
    });

    it('fails (not ignores) a bad line after a real header', () => {
      fc.assert(
        fc.property(
          fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== '' && !s.includes('\n')),
          (line) => {
            const devHead = `${DEV_HEADER.join('\n')}\n`;
            // A line that reads as a valid entry is no garbage: only check the ones that do not.
            if (!/:\s*(\d+\s+){15,}\d+\s*$/.test(line)) assert.equal(parseNetDev(devHead + line).ok, false, line);
            if (line.trim().split(/\s+/).length < 8) assert.equal(parseRoute(`${ROUTE.split('\n')[0]}\n${line}`).ok, false, line);
            if (line.trim().split(/\s+/).length !== 6) assert.equal(parseIfInet6(line).ok, false, line);
            if (line.trim().split(/\s+/).length < 10) {
              assert.equal(parseSockets(`h\n${line}`, false).ok, false, line);
              assert.equal(parseSockets(`h\n${line}`, true).ok, false, line);
            }
          },
        ),
        { numRuns: RUNS },
      );
    });
  });

  describe('kernel-format round trips', () => {
    it('reads back generated tcp and udp lines', () => {
      fc.assert(
        fc.property(
          fc.tuple(hexOf(8), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 12 }), fc.nat(), fc.nat(0x7fffffff)),
          ([addr, port, state, uid, inode]) => {
            const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
            const line = tcpLine(
              `   7: ${addr.toUpperCase()}:${hex(port, 4)} 00000000:0000 ${hex(state, 2)} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 100 0 0 10 0`,
            );
            assert.deepEqual(value(parseSockets(`${TCP.split('\n')[0]}\n${line}\n`, false)), [
              { local: leWordBytes(addr).join('.'), port, state, remoteZero: true, inode, uid },
            ]);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('reads back generated if_inet6 lines', () => {
      fc.assert(
        fc.property(
          hex32,
          fc.integer({ min: 1, max: 0xffff }),
          fc.integer({ min: 0, max: 128 }),
          fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/),
          (addr, index, prefix, name) => {
            const h2 = (n: number) => n.toString(16).padStart(2, '0');
            const line = `${addr.toLowerCase()} ${h2(index)} ${h2(prefix)} 00 80 ${name.padStart(8)}`;
            assert.deepEqual(value(parseIfInet6(`${line}\n`)), [{ address: whatwgIPv6(addr.toLowerCase()), index, prefix, iface: name }]);
          },
        ),
        { numRuns: RUNS },
      );
    });
  });
});
