// Capability masks as /proc/PID/status prints them, decoded by name (bit numbers from capabilities(7)).
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import {
  CAPABILITY_NAMES,
  DOCKER_DEFAULT_CAPABILITIES,
  PODMAN_DEFAULT_CAPABILITIES,
  capabilityName,
  capabilityNames,
  holdsAll,
  parseCapabilityMask,
  sortCapabilities,
} from '../../../src/core/security/capabilities';

/** The mask Docker's default set gives a root process (CapBnd of `docker run alpine`). */
const DOCKER_MASK = '00000000a80425fb';
/** Podman's default set (11 capabilities: Docker's without MKNOD, NET_RAW and AUDIT_WRITE). */
const PODMAN_MASK = '00000000800405fb';
/** Every capability of Linux 5.9+ (CAP_LAST_CAP 40): a privileged container. */
const FULL_6X = '000001ffffffffff';

function mask(text: string): bigint {
  const m = parseCapabilityMask(text);
  if (m === null) assert.fail(`expected a mask from ${JSON.stringify(text)}`);
  return m;
}

describe('security/capabilities', () => {
  it('numbers the table as linux/capability.h does', () => {
    assert.equal(CAPABILITY_NAMES.length, 41);
    assert.equal(capabilityName(0), 'CAP_CHOWN');
    assert.equal(capabilityName(12), 'CAP_NET_ADMIN');
    assert.equal(capabilityName(21), 'CAP_SYS_ADMIN');
    assert.equal(capabilityName(37), 'CAP_AUDIT_READ');
    assert.equal(capabilityName(38), 'CAP_PERFMON');
    assert.equal(capabilityName(39), 'CAP_BPF');
    assert.equal(capabilityName(40), 'CAP_CHECKPOINT_RESTORE');
    assert.equal(new Set(CAPABILITY_NAMES).size, CAPABILITY_NAMES.length);
  });

  it("decodes Docker's default mask to exactly Docker's default set", () => {
    const names = capabilityNames(mask(DOCKER_MASK));
    assert.equal(names.length, 14);
    assert.deepEqual(new Set(names), new Set(DOCKER_DEFAULT_CAPABILITIES));
    // Lowest bit first.
    assert.deepEqual(names.slice(0, 3), ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER']);
    assert.equal(names[names.length - 1], 'CAP_SETFCAP');
    assert.ok(!names.includes('CAP_NET_ADMIN') && !names.includes('CAP_SYS_ADMIN'));
  });

  it("decodes Podman's default mask to exactly Podman's default set", () => {
    const names = capabilityNames(mask(PODMAN_MASK));
    assert.equal(names.length, 11);
    assert.deepEqual(new Set(names), new Set(PODMAN_DEFAULT_CAPABILITIES));
    for (const c of PODMAN_DEFAULT_CAPABILITIES) assert.ok(DOCKER_DEFAULT_CAPABILITIES.includes(c), c);
  });

  it('decodes a full 6.x mask to all 41 names, and only that holds every capability up to CAP_LAST_CAP', () => {
    const full = mask(FULL_6X);
    assert.deepEqual(capabilityNames(full), [...CAPABILITY_NAMES]);
    assert.equal(holdsAll(full, 40), true);
    assert.equal(holdsAll(mask(DOCKER_MASK), 40), false);
    // A 5.4 kernel (CAP_LAST_CAP 37) that prints 0000003fffffffff: all it has.
    assert.equal(holdsAll(mask('0000003fffffffff'), 37), true);
    assert.equal(holdsAll(mask('0000003fffffffff'), 40), false);
    // One bit missing (CAP_SYS_ADMIN) is not all.
    assert.equal(holdsAll(full & ~(1n << 21n), 40), false);
    // Bits beyond CAP_LAST_CAP do not matter.
    assert.equal(holdsAll(mask('ffffffffffffffff'), 40), true);
    assert.equal(holdsAll(0n, 0), false);
    assert.equal(holdsAll(1n, 0), true);
  });

  it('names a bit beyond the table by its number', () => {
    assert.equal(capabilityName(45), 'CAP_45');
    assert.deepEqual(capabilityNames(1n << 45n), ['CAP_45']);
    assert.deepEqual(capabilityNames(mask('0000200000000001')), ['CAP_CHOWN', 'CAP_45']);
    assert.deepEqual(capabilityNames(1n << 63n), ['CAP_63']);
    assert.deepEqual(capabilityNames(0n), []);
  });

  it('reads a mask with or without its newline, in either case, and rejects anything else', () => {
    assert.equal(parseCapabilityMask('00000000a80425fb\n'), 0xa80425fbn);
    assert.equal(parseCapabilityMask('00000000A80425FB'), 0xa80425fbn);
    assert.equal(parseCapabilityMask('ffffffffffffffff'), (1n << 64n) - 1n);
    assert.equal(parseCapabilityMask('0'), 0n);
    assert.equal(parseCapabilityMask(''), null);
    assert.equal(parseCapabilityMask('   '), null);
    assert.equal(parseCapabilityMask('00000000a80425fg'), null);
    assert.equal(parseCapabilityMask('0x00000000a80425fb'), null);
    assert.equal(parseCapabilityMask('-0000000a80425fb'), null);
    assert.equal(parseCapabilityMask('000000000a80425fb'), null, '17 digits');
    assert.equal(parseCapabilityMask('0000 0000a80425fb'), null);
  });

  it('sorts names by bit number, numbered ones by number, unknown ones last, without duplicates', () => {
    assert.deepEqual(sortCapabilities(['CAP_SYS_ADMIN', 'CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_CHOWN']), [
      'CAP_CHOWN',
      'CAP_NET_ADMIN',
      'CAP_SYS_ADMIN',
    ]);
    assert.deepEqual(sortCapabilities(['CAP_45', 'CAP_WHATEVER', 'CAP_CHECKPOINT_RESTORE', 'CAP_41']), [
      'CAP_CHECKPOINT_RESTORE',
      'CAP_41',
      'CAP_45',
      'CAP_WHATEVER',
    ]);
    assert.deepEqual(sortCapabilities([]), []);
  });

  it('round-trips any mask through names and back', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (m) => {
        const text = m.toString(16).padStart(16, '0');
        assert.equal(parseCapabilityMask(text), m);
        const names = capabilityNames(m);
        let back = 0n;
        for (const n of names) {
          const known = CAPABILITY_NAMES.indexOf(n);
          const bit = known >= 0 ? known : Number(/^CAP_(\d+)$/.exec(n)![1]);
          back |= 1n << BigInt(bit);
        }
        assert.equal(back, m);
        assert.deepEqual(sortCapabilities(names), names);
      }),
      { numRuns: 500 },
    );
  });
});
