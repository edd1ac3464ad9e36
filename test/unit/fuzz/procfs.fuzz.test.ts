// Fuzzing the /proc and cgroup parsers with generated input: arbitrary text must give a value or a typed
// error (never a throw), and near-valid input written the way the kernel writes it must read back exactly.
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import {
  cgroupDir,
  compareDevices,
  decideCgroupVersion,
  findCgroupMounts,
  formatCpuList,
  parseBlkioDeviceValues,
  parseBlkioRwstat,
  parseCfsQuota,
  parseCpuList,
  parseCpuMax,
  parseFlatKeyed,
  parseIoWeight,
  parseLimit,
  parseNestedKeyed,
  parseProcCgroup,
  parseProcs,
  parseUint,
  sameCpuList,
  v1MountControllers,
} from '../../../src/core/cgroups/parse';
import { MountinfoEntry, parseMountinfo, parseMountinfoLine, unescapeMountField } from '../../../src/core/procfs/mountinfo';
import { parseOverlayOptions, splitLowerDirs } from '../../../src/core/procfs/overlay';
import { parseCmdline, parseNamespaceLink, parsePasswd, parseProcStatus } from '../../../src/core/procfs/parse';
import { Parsed } from '../../../src/core/util/result';

const RUNS = 1000;

/** Any UTF-16 code units, lone surrogates included (what a lossy decode of hostile bytes can hold). */
const anyUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 300 });
/** Arbitrary text: printable ASCII, whole Unicode, raw code units, and procfs-ish punctuation soup. */
const text = (soup: string[]) =>
  fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    anyUnits,
    fc.array(fc.constantFrom(...soup), { maxLength: 80 }).map((a) => a.join('')),
  );

function assertParsed(r: Parsed<unknown>): void {
  assert.equal(typeof r.ok, 'boolean');
  if (!r.ok) assert.equal(typeof r.error, 'string');
}

/** The kernel's octal escaping (`\040`) of the characters in `set`, as mountinfo writes paths and options. */
function octalEscape(s: string, set: string): string {
  let out = '';
  for (const c of s) out += set.includes(c) ? `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}` : c;
  return out;
}

/** A path or value as a program may name it: any Unicode, and the characters the kernel escapes, often. */
const pathish = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc
    .array(fc.constantFrom('a', '/', ' ', '\t', '\n', '\\', '134', '\\040', ',', '=', ':', '-', '\u202e', '<', 'é'), {
      minLength: 1,
      maxLength: 20,
    })
    .map((a) => a.join('')),
);

describe('fuzz: procfs parsers', () => {
  it('parseNamespaceLink: a value or a typed error on anything; exact on link targets', () => {
    fc.assert(
      fc.property(text(['net', 'mnt', ':', '[', ']', '4026531840', '9', ' ', '\n', 'x']), (t) => {
        const r = parseNamespaceLink(t);
        assertParsed(r);
        if (r.ok) {
          assert.match(r.value.type, /^[a-z_]+$/);
          assert.ok(Number.isSafeInteger(r.value.inode) && r.value.inode >= 0);
        }
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z_]{1,20}$/), fc.maxSafeNat(), fc.constantFrom('', '\n', ' '), (type, inode, ws) => {
        assert.deepEqual(parseNamespaceLink(`${type}:[${inode}]${ws}`), { ok: true, value: { type, inode } });
      }),
      { numRuns: RUNS },
    );
  });

  it('parseProcStatus: a value or a typed error on anything', () => {
    fc.assert(
      fc.property(
        text(['Name:', 'Pid:', 'PPid:', 'Uid:', 'NSpid:', '\t', ' ', '\n', '1', '42', 'kB', 'VmRSS:', 'Threads:', ':', '\\n', '\\\\']),
        (t) => {
          const r = parseProcStatus(t);
          assertParsed(r);
          if (r.ok) {
            assert.ok(Number.isInteger(r.value.pid) && Number.isInteger(r.value.ppid));
            assert.ok(r.value.nspid.length > 0);
            assert.equal(typeof r.value.name, 'string');
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('parseProcStatus: reads back what the kernel writes, the Name escaped as proc_task_name() escapes it', () => {
    // Linux escapes only "\n" and "\\" in Name (seq_escape_str(…, ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\")).
    const kernelName = (n: string) => n.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
    const status = fc.record({
      name: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 15 }),
        fc.array(fc.constantFrom('\\', 'n', '\n', ' ', '\t', 'a', ':', '\u202e'), { maxLength: 15 }).map((a) => a.join('')),
      ),
      state: fc.constantFrom('R (running)', 'S (sleeping)', 'Z (zombie)', 'D (disk sleep)'),
      pid: fc.integer({ min: 1, max: 4194304 }),
      ppid: fc.integer({ min: 0, max: 4194304 }),
      uids: fc.array(fc.nat({ max: 2 ** 32 - 1 }), { minLength: 4, maxLength: 4 }),
      nspid: fc.array(fc.integer({ min: 1, max: 4194304 }), { minLength: 1, maxLength: 4 }),
      threads: fc.integer({ min: 1, max: 100000 }),
      rssKb: fc.option(fc.nat({ max: 2 ** 40 })),
      extra: fc.array(
        fc.tuple(
          fc.stringMatching(/^[A-Z][a-z_A-Z]{1,12}$/),
          fc.string({ maxLength: 30 }).map((s) => s.replace(/\n/g, ' ')),
        ),
        { maxLength: 6 },
      ),
    });
    fc.assert(
      fc.property(status, fc.boolean(), (s, shuffle) => {
        const lines = [
          `Name:\t${kernelName(s.name)}`,
          'Umask:\t0022',
          `State:\t${s.state}`,
          `Tgid:\t${s.pid}`,
          `Pid:\t${s.pid}`,
          `PPid:\t${s.ppid}`,
          `Uid:\t${s.uids.join('\t')}`,
          `NSpid:\t${s.nspid.join('\t')}`,
          ...(s.rssKb === null ? [] : [`VmRSS:\t${String(s.rssKb).padStart(8)} kB`]),
          `Threads:\t${s.threads}`,
          ...s.extra
            .filter(([k]) => !['Name', 'State', 'Pid', 'PPid', 'Uid', 'NSpid', 'VmRSS', 'Threads'].includes(k))
            .map(([k, v]) => `${k}:\t${v}`),
        ];
        if (shuffle) lines.reverse();
        const r = parseProcStatus(`${lines.join('\n')}\n`);
        assert.ok(r.ok, r.ok ? '' : r.error);
        assert.equal(r.value.name, s.name, 'Name reads back as the process named itself');
        assert.equal(r.value.state, s.state.split(' ')[0]);
        assert.equal(r.value.pid, s.pid);
        assert.equal(r.value.ppid, s.ppid);
        assert.deepEqual(r.value.uids, s.uids);
        assert.deepEqual(r.value.nspid, s.nspid);
        assert.equal(r.value.threads, s.threads);
        assert.equal(r.value.vmRssBytes, s.rssKb === null ? null : s.rssKb * 1024);
      }),
      { numRuns: RUNS },
    );
  });

  it('parseCmdline: arguments joined by NUL read back exactly; anything else never throws', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replace(/\0/g, '')),
          { maxLength: 8 },
        ),
        (args) => {
          const raw = args.length === 0 ? '' : `${args.join('\0')}\0`;
          assert.deepEqual(parseCmdline(raw), args);
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(anyUnits, (t) => {
        const r = parseCmdline(t);
        assert.ok(Array.isArray(r) && r.every((a) => typeof a === 'string'));
      }),
      { numRuns: RUNS },
    );
  });

  it('parsePasswd: never throws; the first name of each uid wins', () => {
    fc.assert(
      fc.property(text(['root', ':', 'x', '0', '1000', '\n', '#', '/bin/sh', '::']), (t) => {
        const m = parsePasswd(t);
        for (const [uid, name] of m) {
          assert.ok(Number.isInteger(uid) || uid === Infinity);
          assert.equal(typeof name, 'string');
        }
      }),
      { numRuns: RUNS },
    );
    const user = fc.tuple(fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/), fc.nat({ max: 70000 }));
    fc.assert(
      fc.property(fc.array(user, { maxLength: 20 }), (users) => {
        const m = parsePasswd(users.map(([n, uid]) => `${n}:x:${uid}:${uid}::/home/${n}:/bin/sh`).join('\n'));
        const expected = new Map<number, string>();
        for (const [n, uid] of users) if (!expected.has(uid)) expected.set(uid, n);
        assert.deepEqual(m, expected);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: mountinfo and overlay parsers', () => {
  it('unescapeMountField undoes the kernel escaping of any path', () => {
    fc.assert(
      fc.property(pathish, (p) => {
        assert.equal(unescapeMountField(octalEscape(p, ' \t\n\\')), p);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(anyUnits, (t) => {
        assert.equal(typeof unescapeMountField(t), 'string');
      }),
      { numRuns: RUNS },
    );
  });

  it('parseMountinfoLine and parseMountinfo: a value or a typed error on anything; one result per line', () => {
    fc.assert(
      fc.property(text(['1', '23', ' ', '-', ':', '0:5', '/', 'rw', 'shared:1', 'overlay', 'lowerdir=', '\\040', '\n', ',']), (t) => {
        assertParsed(parseMountinfoLine(t));
        const { entries, errors } = parseMountinfo(t);
        assert.equal(entries.length + errors.length, t.split('\n').filter((l) => l.trim() !== '').length);
        for (const e of errors) assert.equal(typeof e, 'string');
      }),
      { numRuns: RUNS },
    );
  });

  it('parseMountinfoLine reads back lines written as the kernel writes them (paths and options escaped)', () => {
    const optionValue = fc.oneof(pathish, fc.constant(''));
    const entry = fc.record({
      mountId: fc.nat({ max: 2 ** 31 - 1 }),
      parentId: fc.nat({ max: 2 ** 31 - 1 }),
      device: fc.tuple(fc.nat({ max: 4095 }), fc.nat({ max: 2 ** 20 - 1 })).map(([a, b]) => `${a}:${b}`),
      root: pathish,
      mountPoint: pathish,
      mountOptions: fc.array(fc.constantFrom('rw', 'ro', 'nosuid', 'nodev', 'noexec', 'relatime'), { minLength: 1, maxLength: 4 }),
      optional: fc.array(fc.constantFrom('shared:1', 'master:7', 'propagate_from:2', 'unbindable'), { maxLength: 3 }),
      fsType: fc.constantFrom('overlay', 'ext4', 'proc', 'cgroup', 'cgroup2', 'tmpfs', 'fuse.sshfs'),
      source: pathish,
      superOptions: fc.array(fc.tuple(fc.constantFrom('rw', 'lowerdir', 'upperdir', 'workdir', 'size', 'mode', 'index'), optionValue), {
        minLength: 1,
        maxLength: 5,
      }),
    });
    fc.assert(
      fc.property(entry, (e) => {
        const superOptions = e.superOptions.map(([k, v]) => (k === 'rw' ? k : `${k}=${v}`));
        const line = [
          e.mountId,
          e.parentId,
          e.device,
          octalEscape(e.root, ' \t\n\\'),
          octalEscape(e.mountPoint, ' \t\n\\'),
          e.mountOptions.join(','),
          ...e.optional,
          '-',
          e.fsType,
          octalEscape(e.source, ' \t\n\\'),
          e.superOptions.map(([k, v]) => (k === 'rw' ? k : `${k}=${octalEscape(v, ',= \t\n\\')}`)).join(','),
        ].join(' ');
        const r = parseMountinfoLine(line);
        assert.ok(r.ok, r.ok ? '' : r.error);
        const expected: MountinfoEntry = { ...e, superOptions };
        assert.deepEqual(r.value, expected);
        const whole = parseMountinfo(`${line}\n${line}\n`);
        assert.deepEqual(whole.entries, [expected, expected]);
      }),
      { numRuns: RUNS },
    );
  });

  it('splitLowerDirs and parseOverlayOptions: never throw; escaped directory lists read back', () => {
    const escDir = (d: string) => d.replace(/[\\:]/g, (c) => `\\${c}`);
    const escOpt = (d: string) => d.replace(/[\\:,]/g, (c) => `\\${c}`);
    fc.assert(
      fc.property(
        text(['a', ':', '\\', ',', '/', 'lowerdir=', 'upperdir=', 'workdir=', '=']),
        fc.array(anyUnits, { maxLength: 6 }),
        (t, opts) => {
          const dirs = splitLowerDirs(t);
          assert.ok(dirs.every((d) => typeof d === 'string' && d !== ''));
          assertParsed(parseOverlayOptions([t, ...opts]));
          assertParsed(parseOverlayOptions(opts));
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.array(pathish, { minLength: 1, maxLength: 8 }), fc.option(pathish), fc.option(pathish), (lower, upper, work) => {
        assert.deepEqual(splitLowerDirs(lower.map(escDir).join(':')), lower);
        const opts = [
          'rw',
          `lowerdir=${lower.map(escDir).join(':')}`,
          ...(upper === null ? [] : [`upperdir=${escOpt(upper)}`]),
          ...(work === null ? [] : [`workdir=${escOpt(work)}`]),
          'index=off',
        ];
        const r = parseOverlayOptions(opts);
        assert.ok(r.ok, r.ok ? '' : r.error);
        assert.deepEqual(r.value, { lowerDirs: lower, upperDir: upper, workDir: work, other: ['index=off'] });
      }),
      { numRuns: RUNS },
    );
  });
});

// test/unit/cgroups/parse.test.ts already checks that every cgroup parser survives 500 garbage texts; this
// adds Unicode and raw code units, structured near-valid files, and what an ok result must hold.
describe('fuzz: cgroup parsers (beyond test/unit/cgroups)', () => {
  const soup = [
    '0',
    '1',
    '9',
    '18446744073709551615',
    '9'.repeat(400),
    ':',
    '-',
    ',',
    '=',
    ' ',
    '\n',
    '\t',
    'max',
    'Total',
    'Read',
    '8:0',
    'rbytes',
    '/',
    'default',
    '.',
    'e5',
    '-1',
  ];

  it('every number an ok result carries is finite (a kernel u64 at most, never Infinity or NaN)', () => {
    const numbers = (v: unknown): number[] => {
      if (typeof v === 'number') return [v];
      if (v === null || typeof v !== 'object') return [];
      if (v instanceof Map) return [...v.values()].flatMap(numbers);
      return Object.values(v as Record<string, unknown>).flatMap(numbers);
    };
    const parsers: [string, (t: string) => Parsed<unknown>][] = [
      ['parseLimit', parseLimit],
      ['parseUint', parseUint],
      ['parseCfsQuota', parseCfsQuota],
      ['parseCpuMax', parseCpuMax],
      ['parseProcs', parseProcs],
      ['parseFlatKeyed', parseFlatKeyed],
      ['parseNestedKeyed', parseNestedKeyed],
      ['parseIoWeight', parseIoWeight],
      ['parseBlkioRwstat', parseBlkioRwstat],
      ['parseBlkioDeviceValues', parseBlkioDeviceValues],
      ['parseCpuList', parseCpuList],
      ['parseProcCgroup', parseProcCgroup],
    ];
    fc.assert(
      fc.property(text(soup), (t) => {
        for (const [name, p] of parsers) {
          const r = p(t);
          assertParsed(r);
          if (r.ok) for (const n of numbers(r.value)) assert.ok(Number.isFinite(n), `${name}(${JSON.stringify(t.slice(0, 80))}) gave ${n}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('parseProcCgroup reads back generated v1/v2 lines, paths with colons and any Unicode', () => {
    const line = fc
      .record({
        hierarchyId: fc.nat({ max: 64 }),
        controllers: fc.array(fc.constantFrom('cpu', 'cpuacct', 'memory', 'pids', 'name=systemd', 'blkio', 'cpuset'), { maxLength: 3 }),
        path: fc.string({ unit: 'binary', maxLength: 60 }).map((s) => `/${s.replace(/[\n\r\u2028\u2029]/g, '')}`),
      })
      .map((l) => ({ ...l }));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), (lines) => {
        const r = parseProcCgroup(lines.map((l) => `${l.hierarchyId}:${l.controllers.join(',')}:${l.path}`).join('\n'));
        assert.ok(r.ok, r.ok ? '' : r.error);
        assert.deepEqual(r.value, lines);
      }),
      { numRuns: RUNS },
    );
  });

  it('cpu lists: parse ∘ format is the identity on sets; sameCpuList agrees with set equality', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 512 }), { maxLength: 64 }),
        fc.uniqueArray(fc.nat({ max: 512 }), { maxLength: 64 }),
        (a, b) => {
          const sorted = [...a].sort((x, y) => x - y);
          const r = parseCpuList(formatCpuList(a));
          assert.ok(r.ok);
          assert.deepEqual(r.value, sorted);
          const same = sorted.length === b.length && [...b].sort((x, y) => x - y).every((v, i) => v === sorted[i]);
          assert.equal(sameCpuList(formatCpuList(a), formatCpuList(b)), same);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('keyed files read back generated content', () => {
    const key = fc.stringMatching(/^[a-z_]{1,20}$/);
    const dev = fc.tuple(fc.nat({ max: 259 }), fc.nat({ max: 255 })).map(([a, b]) => `${a}:${b}`);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, fc.maxSafeNat()), { selector: ([k]) => k, maxLength: 30 }), (pairs) => {
        const r = parseFlatKeyed(pairs.map(([k, v]) => `${k} ${v}`).join('\n'));
        assert.ok(r.ok);
        assert.deepEqual(r.value, new Map(pairs));
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(
            dev,
            fc.uniqueArray(fc.tuple(fc.constantFrom('rbytes', 'wbytes', 'rios', 'wios', 'rbps', 'wbps'), fc.option(fc.maxSafeNat())), {
              selector: ([k]) => k,
              maxLength: 6,
            }),
          ),
          { selector: ([d]) => d, maxLength: 8 },
        ),
        (devices) => {
          const r = parseNestedKeyed(
            devices.map(([d, kv]) => [d, ...kv.map(([k, v]) => `${k}=${v === null ? 'max' : v}`)].join(' ')).join('\n'),
          );
          assert.ok(r.ok, r.ok ? '' : r.error);
          assert.deepEqual(r.value, new Map(devices.map(([d, kv]) => [d, new Map(kv)])));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('mount and path helpers never throw on any entries and paths', () => {
    const mount = fc.record({
      mountId: fc.nat(),
      parentId: fc.nat(),
      device: fc.constant('0:1'),
      root: fc.oneof(fc.constant('/'), anyUnits),
      mountPoint: anyUnits,
      mountOptions: fc.array(fc.string(), { maxLength: 3 }),
      optional: fc.constant([] as string[]),
      fsType: fc.constantFrom('cgroup', 'cgroup2', 'overlay', ''),
      source: fc.string(),
      superOptions: fc.array(fc.oneof(fc.constantFrom('rw', 'memory', 'cpu,cpuacct', 'name=systemd', 'xattr', ''), anyUnits), {
        maxLength: 5,
      }),
    });
    fc.assert(
      fc.property(fc.array(mount, { maxLength: 8 }), anyUnits, text(soup), (entries, p, procCgroup) => {
        const mounts = findCgroupMounts(entries);
        for (const e of entries) v1MountControllers(e.superOptions);
        const dir = cgroupDir({ mountPoint: '/sys/fs/cgroup/memory', root: entries[0]?.root ?? '/' }, p);
        if (dir !== null) assert.ok(!dir.split('/').includes('..'), 'never climbs out of the mount');
        const pc = parseProcCgroup(procCgroup);
        const v = decideCgroupVersion(pc.ok ? pc.value : [], mounts);
        assert.ok(v === null || v === 1 || v === 2);
        assert.equal(typeof compareDevices(p, procCgroup), 'number');
      }),
      { numRuns: RUNS },
    );
  });
});
