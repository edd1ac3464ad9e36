// The kernel's security files of a process: the rights lines of /proc/PID/status, uid_map / gid_map and the
// LSM label of attr/current, as the kernel writes them, and as a hostile process can make them look.
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { LSM_LABEL_MAX, isIdentityMap, mapId, parseIdMap, parseLsmLabel, parseStatusRights } from '../../../src/core/security/parse';
import { Parsed } from '../../../src/core/util/result';

function value<T>(r: Parsed<T>): T {
  if (!r.ok) assert.fail(`expected a value, got error: ${r.error}`);
  return r.value;
}

function error<T>(r: Parsed<T>): string {
  if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  return r.error;
}

/** /proc/PID/status of a container's init (uid 1000) as Linux 6.1 prints it, with Docker's default rights. */
function status(over: { name?: string; capEff?: string; nnp?: boolean; seccomp?: boolean } = {}): string {
  const lines = [
    `Name:\t${over.name ?? 'nginx'}`,
    'Umask:\t0022',
    'State:\tS (sleeping)',
    'Tgid:\t4301',
    'Ngid:\t0',
    'Pid:\t4301',
    'PPid:\t4280',
    'TracerPid:\t0',
    'Uid:\t1000\t1001\t1002\t1003',
    'Gid:\t2000\t2001\t2002\t2003',
    'FDSize:\t64',
    'Groups:\t2000 ',
    'NStgid:\t4301\t1',
    'NSpid:\t4301\t1',
    'NSpgid:\t4301\t1',
    'NSsid:\t4301\t1',
    'Kthread:\t0',
    'VmPeak:\t    9160 kB',
    'VmRSS:\t    3072 kB',
    'Threads:\t1',
    'SigQ:\t0/63457',
    'SigPnd:\t0000000000000000',
    'ShdPnd:\t0000000000000000',
    'SigBlk:\t0000000000000000',
    'SigIgn:\t0000000000001000',
    'SigCgt:\t0000000018016a07',
    'CapInh:\t0000000000000000',
    'CapPrm:\t0000000000000000',
    `CapEff:\t${over.capEff ?? '0000000000000000'}`,
    'CapBnd:\t00000000a80425fb',
    'CapAmb:\t0000000000000000',
  ];
  if (over.nnp !== false) lines.push('NoNewPrivs:\t1');
  if (over.seccomp !== false) lines.push('Seccomp:\t2', 'Seccomp_filters:\t1');
  lines.push(
    'Speculation_Store_Bypass:\tthread force mitigated',
    'SpeculationIndirectBranch:\tconditional force disabled',
    'Cpus_allowed:\tf',
    'Cpus_allowed_list:\t0-3',
    'Mems_allowed:\t00000000,00000001',
    'Mems_allowed_list:\t0',
    'voluntary_ctxt_switches:\t42',
    'nonvoluntary_ctxt_switches:\t3',
  );
  return `${lines.join('\n')}\n`;
}

describe('security/parse', () => {
  describe('parseStatusRights', () => {
    it("reads ids, the three masks, NoNewPrivs and seccomp from a 6.x kernel's status", () => {
      const r = value(parseStatusRights(status()));
      assert.deepEqual(r, {
        uids: [1000, 1001, 1002, 1003],
        gids: [2000, 2001, 2002, 2003],
        capEff: 0n,
        capPrm: 0n,
        capBnd: 0xa80425fbn,
        masks: { effective: '0000000000000000', permitted: '0000000000000000', bounding: '00000000a80425fb' },
        noNewPrivs: true,
        seccompMode: 2,
        seccompFilters: 1,
      });
    });

    it('never takes the Name line (the process chose it) for a rights line', () => {
      // prctl(PR_SET_NAME) takes any 15 bytes; the kernel escapes only \n and \\ in the Name line.
      const text = status({ name: 'CapEff:\tffffffffffffffff', capEff: '00000000a80425fb' });
      assert.match(text, /^Name:\tCapEff:\tffffffffffffffff\n/);
      const r = value(parseStatusRights(text));
      assert.equal(r.capEff, 0xa80425fbn);
      assert.equal(r.masks.effective, '00000000a80425fb');
      // Even placed first, a Name that claims NoNewPrivs or Seccomp is not believed.
      const withoutNnp = status({ nnp: false, seccomp: false }).replace(/^Name:.*$/m, 'Name:\tNoNewPrivs:\t1');
      const r2 = value(parseStatusRights(withoutNnp));
      assert.equal(r2.noNewPrivs, null);
      assert.equal(r2.seccompMode, null);
      // A Name that is only "Seccomp" (as the key) is still the Name line.
      const r3 = value(parseStatusRights(status({ name: 'Seccomp', seccomp: false })));
      assert.equal(r3.seccompMode, null);
    });

    it('fails without the capability lines, or with a mask that is not one', () => {
      assert.match(error(parseStatusRights('Name:\tsh\nPid:\t7\nUid:\t0\t0\t0\t0\n')), /no capability lines/);
      assert.match(error(parseStatusRights(status().replace(/^CapBnd:.*\n/m, ''))), /no capability lines/);
      assert.match(error(parseStatusRights(status().replace(/^CapPrm:.*\n/m, ''))), /no capability lines/);
      assert.match(error(parseStatusRights(status({ capEff: 'zzzzzzzzzzzzzzzz' }))), /no capability lines/);
      assert.match(error(parseStatusRights(status({ capEff: '' }))), /no capability lines/);
      assert.match(error(parseStatusRights('')), /no capability lines/);
      // The error quotes the input bounded and printable.
      const e = error(parseStatusRights(`\u001b[2J${'x'.repeat(5000)}`));
      assert.ok(e.length < 200, e);
      assert.doesNotMatch(e, /\u001b/);
    });

    it('gives null for the lines an old kernel lacks (NoNewPrivs before 4.10, Seccomp_filters before 5.9)', () => {
      const v49 = value(parseStatusRights(status({ nnp: false }).replace(/^Seccomp_filters:.*\n/m, '')));
      assert.equal(v49.noNewPrivs, null);
      assert.equal(v49.seccompMode, 2);
      assert.equal(v49.seccompFilters, null);
      const noSeccomp = value(parseStatusRights(status({ nnp: false, seccomp: false })));
      assert.equal(noSeccomp.noNewPrivs, null);
      assert.equal(noSeccomp.seccompMode, null);
      assert.equal(noSeccomp.seccompFilters, null);
    });

    it('reads NoNewPrivs 0 and Seccomp 0 / 1 as such, and an unknown mode as null', () => {
      const unconfined = value(
        parseStatusRights(status().replace('NoNewPrivs:\t1', 'NoNewPrivs:\t0').replace('Seccomp:\t2', 'Seccomp:\t0')),
      );
      assert.equal(unconfined.noNewPrivs, false);
      assert.equal(unconfined.seccompMode, 0);
      assert.equal(value(parseStatusRights(status().replace('Seccomp:\t2', 'Seccomp:\t1'))).seccompMode, 1);
      assert.equal(value(parseStatusRights(status().replace('Seccomp:\t2', 'Seccomp:\t3'))).seccompMode, null);
      assert.equal(value(parseStatusRights(status().replace('Seccomp_filters:\t1', 'Seccomp_filters:\tmany'))).seccompFilters, null);
    });

    it('takes the first of repeated keys and gives empty id lists without Uid / Gid', () => {
      const text = status().replace('CapBnd:\t00000000a80425fb', 'CapBnd:\t00000000a80425fb\nCapBnd:\t000001ffffffffff');
      assert.equal(value(parseStatusRights(text)).capBnd, 0xa80425fbn);
      const noIds = value(parseStatusRights(status().replace(/^[UG]id:.*\n/gm, '')));
      assert.deepEqual(noIds.uids, []);
      assert.deepEqual(noIds.gids, []);
    });

    it('gives a value or a typed error on any text, never a throw', () => {
      const soup = ['Name:', 'CapEff:', 'CapPrm:', 'CapBnd:', 'NoNewPrivs:', 'Seccomp:', 'Uid:', '\t', '\n', ' ', 'f', '0', '1', '2', ':'];
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 300 }),
            fc.array(fc.constantFrom(...soup), { maxLength: 80 }).map((a) => a.join('')),
          ),
          (t) => {
            const r = parseStatusRights(t);
            if (r.ok) {
              assert.ok(r.value.capBnd >= 0n && r.value.capBnd < 1n << 64n);
              for (const id of [...r.value.uids, ...r.value.gids]) assert.ok(Number.isInteger(id) && id >= 0);
            } else assert.equal(typeof r.error, 'string');
          },
        ),
        { numRuns: 1000 },
      );
    });
  });

  describe('parseIdMap, mapId, isIdentityMap', () => {
    it('reads the initial namespace identity map as the kernel pads it', () => {
      const map = value(parseIdMap('         0          0 4294967295\n'));
      assert.deepEqual(map, [{ inside: 0, outside: 0, count: 4294967295 }]);
      assert.equal(isIdentityMap(map), true);
      assert.equal(mapId(map, 0), 0);
      assert.equal(mapId(map, 1000), 1000);
      assert.equal(mapId(map, 4294967294), 4294967294);
      assert.equal(mapId(map, 4294967295), null);
    });

    it('reads a rootless map of two ranges and maps ids through it', () => {
      const map = value(parseIdMap('         0       1000          1\n         1     100000      65536\n'));
      assert.deepEqual(map, [
        { inside: 0, outside: 1000, count: 1 },
        { inside: 1, outside: 100000, count: 65536 },
      ]);
      assert.equal(isIdentityMap(map), false);
      assert.equal(mapId(map, 0), 1000);
      assert.equal(mapId(map, 1), 100000);
      assert.equal(mapId(map, 33), 100032);
      assert.equal(mapId(map, 65536), 165535);
      assert.equal(mapId(map, 65537), null);
      assert.equal(mapId([], 0), null);
    });

    it('is not the identity when any part differs', () => {
      assert.equal(isIdentityMap([]), false);
      assert.equal(isIdentityMap([{ inside: 0, outside: 0, count: 65536 }]), false);
      assert.equal(isIdentityMap([{ inside: 0, outside: 1, count: 4294967295 }]), false);
      assert.equal(isIdentityMap([{ inside: 1, outside: 0, count: 4294967295 }]), false);
      assert.equal(
        isIdentityMap([
          { inside: 0, outside: 0, count: 4294967295 },
          { inside: 0, outside: 0, count: 4294967295 },
        ]),
        false,
      );
    });

    it('reads an empty map (a namespace whose map is not yet written) as no ranges', () => {
      assert.deepEqual(value(parseIdMap('')), []);
      assert.deepEqual(value(parseIdMap('\n')), []);
    });

    it('fails on garbage, naming the line, bounded', () => {
      assert.match(error(parseIdMap('0 0\n')), /not an id map line: "0 0"/);
      assert.match(error(parseIdMap('0 0 4294967295\nbanana\n')), /"banana"/);
      assert.match(error(parseIdMap('-1 0 1\n')), /not an id map line/);
      assert.match(error(parseIdMap('0 0 1 1\n')), /not an id map line/);
      assert.match(error(parseIdMap('0x0 0 1\n')), /not an id map line/);
      const e = error(parseIdMap(`\u001b]0;${'a'.repeat(10000)}`));
      assert.ok(e.length < 200);
      assert.doesNotMatch(e, /\u001b/);
    });

    it('holds at most 340 lines, as the kernel does', () => {
      const line = (i: number) => `${i} ${100000 + i} 1`;
      const ok340 = Array.from({ length: 340 }, (_, i) => line(i)).join('\n');
      assert.equal(value(parseIdMap(ok340)).length, 340);
      assert.match(error(parseIdMap(`${ok340}\n${line(340)}`)), /at most 340/);
    });
  });

  describe('parseLsmLabel', () => {
    it("reads AppArmor's profile and mode, and unconfined", () => {
      assert.deepEqual(parseLsmLabel('docker-default (enforce)\n', 'generic'), { label: 'docker-default (enforce)', lsm: 'apparmor' });
      assert.deepEqual(parseLsmLabel('docker-default (enforce)\n', 'apparmor'), { label: 'docker-default (enforce)', lsm: 'apparmor' });
      assert.deepEqual(parseLsmLabel('containers-default-0.50.1 (complain)\n', 'generic'), {
        label: 'containers-default-0.50.1 (complain)',
        lsm: 'apparmor',
      });
      assert.deepEqual(parseLsmLabel('unconfined\n', 'generic'), { label: 'unconfined', lsm: 'apparmor' });
      assert.deepEqual(parseLsmLabel('unconfined', 'apparmor'), { label: 'unconfined', lsm: 'apparmor' });
    });

    it('reads an SELinux context with the trailing NUL the kernel writes', () => {
      assert.deepEqual(parseLsmLabel('system_u:system_r:container_t:s0:c123,c456\0', 'generic'), {
        label: 'system_u:system_r:container_t:s0:c123,c456',
        lsm: 'selinux',
      });
      assert.deepEqual(parseLsmLabel('unconfined_u:unconfined_r:spc_t:s0\0', 'generic'), {
        label: 'unconfined_u:unconfined_r:spc_t:s0',
        lsm: 'selinux',
      });
    });

    it('gives null for nothing (no LSM says), and other for a label neither module writes', () => {
      assert.equal(parseLsmLabel('', 'generic'), null);
      assert.equal(parseLsmLabel('\0', 'generic'), null);
      assert.equal(parseLsmLabel('\n', 'apparmor'), null);
      assert.deepEqual(parseLsmLabel('_\n', 'generic'), { label: '_', lsm: 'other' });
    });

    it('escapes control characters in a profile name', () => {
      const r = parseLsmLabel('evil\u001b[2J\u202e (enforce)\n', 'apparmor');
      assert.deepEqual(r, { label: 'evil\\x1b[2J\\u202e (enforce)', lsm: 'apparmor' });
      const generic = parseLsmLabel('a\u0007b\tc (enforce)\n', 'generic');
      assert.equal(generic?.label, 'a\\x07b\\tc (enforce)');
      assert.equal(generic?.lsm, 'apparmor');
    });

    it('bounds a 10 000-character label', () => {
      const r = parseLsmLabel(`${'p'.repeat(10000)} (enforce)\n`, 'generic');
      assert.ok(r);
      assert.equal(r.lsm, 'apparmor');
      assert.equal(r.label.length, LSM_LABEL_MAX);
      assert.ok(r.label.endsWith('…'));
      assert.ok(r.label.startsWith('ppp'));
      // Escapes count toward the bound: a label of control characters is bounded after escaping.
      const esc = parseLsmLabel('\u001b'.repeat(10000), 'apparmor');
      assert.equal(esc?.label.length, LSM_LABEL_MAX);
    });

    it('gives a bounded, printable label (or null) for any text', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary', maxLength: 600 }),
          fc.constantFrom<'apparmor' | 'generic'>('apparmor', 'generic'),
          (t, from) => {
            const r = parseLsmLabel(t, from);
            if (r === null) return;
            assert.ok(r.label.length <= LSM_LABEL_MAX);
            assert.doesNotMatch(r.label, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
            if (from === 'apparmor') assert.equal(r.lsm, 'apparmor');
          },
        ),
        { numRuns: 1000 },
      );
    });
  });
});
