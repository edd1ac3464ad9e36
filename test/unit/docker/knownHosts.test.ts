// The known_hosts reader and host key check of ssh:// endpoints, against lines and hashes made by ssh-keygen.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkHostKey,
  fingerprint,
  globMatch,
  knownHostsFiles,
  knownHostsName,
  lineMatches,
  parseKnownHosts,
  readKnownHosts,
  refusalMessage,
} from '../../../src/core/runtime/docker/knownHosts';

// Three keys from `ssh-keygen -t ed25519|ecdsa`; `ssh-keygen -lf` printed K1's fingerprint below.
const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBSEN1RMD4CYjVB5VbUxL7aNmhcK5UG3Jmu4v1fTtnrn';
const K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICCjWmqYsarloRr4SU4ZV1aq+tgFpftaYzHD8BPAZ2Os';
const K3 =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAZ0CCVWlmspKLreKj+jfRsrlCUZJwAcrq9EPAGMQIFVxLuCmG9iJtMbKjNpNGJbPflT5XI/hw4zuF4A4+edzn0=';
const K1_FP = 'SHA256:uKOETlIr3f22fd89mSFJ+s6NBzJbnhr/OX1jkF8WYGk';
// `ssh-keygen -H` of "box.example K1" and "[box.example]:2222 K2".
const HASHED_22 = `|1|djZwxMwjWOd+kWMx4Ox5+iytH/I=|OIgJPU8s1tSNPOkjGOTOMoMpaKo= ${K1}`;
const HASHED_2222 = `|1|Z6QuQIP4R96QUxV1e7KpD4Pl/8M=|jQvg+fe0pk+g1JI61Ao3tpSdx5Y= ${K2}`;

const blob = (line: string) => Buffer.from(line.split(' ')[1], 'base64');

describe('docker/knownHosts (ssh:// host keys)', () => {
  it('parses plain lines, skipping comments, blanks, unknown markers and damaged keys', () => {
    const lines = parseKnownHosts(
      [
        '# a comment',
        '',
        `box.example,10.0.0.5 ${K1} comment words`,
        `   @revoked * ${K2}`,
        `@cert-authority *.example ${K3}`,
        `@unknown-marker box.example ${K1}`,
        'box.example ssh-ed25519 not-base64-at-all!!',
        `box.example ssh-rsa ${K1.split(' ')[1]}`,
        'too few',
      ].join('\n'),
      'kh',
    );
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[0].patterns, ['box.example', '10.0.0.5']);
    assert.equal(lines[0].keyType, 'ssh-ed25519');
    assert.equal(lines[0].where, 'kh:3');
    assert.deepEqual(lines[0].key, blob(K1));
    assert.equal(lines[1].marker, 'revoked');
    assert.equal(lines[2].marker, 'cert-authority');
  });

  it('names a host as ssh looks it up: bare on port 22, [host]:port otherwise, lower case', () => {
    assert.equal(knownHostsName('Box.Example', 22), 'box.example');
    assert.equal(knownHostsName('box.example', 2222), '[box.example]:2222');
  });

  it('matches hashed |1| entries made by ssh-keygen -H, including the bracketed port form', () => {
    const [h22] = parseKnownHosts(HASHED_22);
    const [h2222] = parseKnownHosts(HASHED_2222);
    assert.equal(lineMatches(h22, 'box.example'), true);
    assert.equal(lineMatches(h22, 'other.example'), false);
    assert.equal(lineMatches(h22, '[box.example]:2222'), false);
    assert.equal(lineMatches(h2222, '[box.example]:2222'), true);
    assert.equal(lineMatches(h2222, 'box.example'), false);
    // A hash of the wrong length or a broken entry never matches.
    assert.equal(lineMatches(parseKnownHosts(`|1|djZwxMwjWOd+kWMx4Ox5+iytH/I=|AAAA ${K1}`)[0], 'box.example'), false);
  });

  it('matches wildcards and honours negated patterns', () => {
    assert.equal(globMatch('*.example', 'box.example'), true);
    assert.equal(globMatch('b?x.example', 'box.example'), true);
    assert.equal(globMatch('*.example', 'example'), false);
    assert.equal(globMatch('*', ''), true);
    assert.equal(globMatch('a*b*c', 'a' + 'b'.repeat(20000)), false, 'no exponential backtracking');
    const [l] = parseKnownHosts(`*.example,!evil.example ${K1}`);
    assert.equal(lineMatches(l, 'box.example'), true);
    assert.equal(lineMatches(l, 'evil.example'), false);
    const [bracketed] = parseKnownHosts(`[box.example]:2222 ${K1}`);
    assert.equal(lineMatches(bracketed, '[box.example]:2222'), true);
    assert.equal(lineMatches(bracketed, 'box.example'), false);
  });

  it('accepts a listed key, refuses a changed one and an unknown host, and says where', () => {
    const lines = parseKnownHosts([`box.example ${K1}`, HASHED_2222, `ecdsa.example ${K3}`].join('\n'), 'kh');
    assert.deepEqual(checkHostKey(lines, 'box.example', 22, blob(K1)), { ok: true, where: 'kh:1' });
    assert.deepEqual(checkHostKey(lines, 'BOX.example', 22, blob(K1)), { ok: true, where: 'kh:1' });
    assert.deepEqual(checkHostKey(lines, 'box.example', 2222, blob(K2)), { ok: true, where: 'kh:2' });
    const changed = checkHostKey(lines, 'box.example', 22, blob(K2));
    assert.deepEqual(changed, { ok: false, reason: 'changed', where: 'kh:1', keyType: 'ssh-ed25519', fingerprint: fingerprint(blob(K2)) });
    // Known only with a key of another type: not the key ssh has on record either.
    assert.equal(checkHostKey(lines, 'ecdsa.example', 22, blob(K1)).ok, false);
    const unknown = checkHostKey(lines, 'new.example', 22, blob(K1));
    assert.deepEqual(unknown, { ok: false, reason: 'unknown', keyType: 'ssh-ed25519', fingerprint: K1_FP });
    assert.equal(checkHostKey([], 'box.example', 22, blob(K1)).ok, false);
  });

  it('refuses a @revoked key even where another line lists it, and ignores @cert-authority lines', () => {
    const lines = parseKnownHosts([`box.example ${K1}`, `@revoked *.example ${K1}`, `@cert-authority * ${K2}`].join('\n'), 'kh');
    assert.deepEqual(checkHostKey(lines, 'box.example', 22, blob(K1)), {
      ok: false,
      reason: 'revoked',
      where: 'kh:2',
      keyType: 'ssh-ed25519',
      fingerprint: K1_FP,
    });
    // A CA key is not the host's key: the host stays unknown.
    assert.equal(checkHostKey(lines, 'other.host', 22, blob(K2)).ok, false);
    assert.equal((checkHostKey(lines, 'other.host', 22, blob(K2)) as { reason: string }).reason, 'unknown');
  });

  it('says how to trust the host', () => {
    const target = { user: 'me', host: 'box.example', port: 2222 };
    const unknown = checkHostKey([], 'box.example', 2222, blob(K1));
    assert.ok(!unknown.ok);
    const msg = refusalMessage(unknown, target);
    assert.match(msg, /not in ~\/\.ssh\/known_hosts/);
    assert.ok(msg.includes('run `ssh -p 2222 me@box.example` once'), msg);
    assert.ok(msg.includes(K1_FP), msg);
    const changed = checkHostKey(parseKnownHosts(`[box.example]:2222 ${K2}`, 'kh'), 'box.example', 2222, blob(K1));
    assert.ok(!changed.ok);
    assert.match(refusalMessage(changed, target), /has changed .*kh:1.*ssh-keygen -R '\[box\.example\]:2222'/);
    assert.ok(refusalMessage(unknown, { host: 'h', port: 22 }).includes('run `ssh h` once'));
  });

  it('reads the user file under HOME and the system file, an absent file counting as empty', async () => {
    assert.deepEqual(knownHostsFiles({ HOME: '/home/u' }), [
      '/home/u/.ssh/known_hosts',
      '/home/u/.ssh/known_hosts2',
      '/etc/ssh/ssh_known_hosts',
      '/etc/ssh/ssh_known_hosts2',
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-kh-'));
    try {
      const file = path.join(dir, 'known_hosts');
      fs.writeFileSync(file, `${HASHED_22}\n`);
      const lines = await readKnownHosts([path.join(dir, 'absent'), file]);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].where, `${file}:1`);
      assert.equal(checkHostKey(lines, 'box.example', 22, blob(K1)).ok, true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
