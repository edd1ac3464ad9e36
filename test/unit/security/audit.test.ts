// `container-xray audit`: the report built from a snapshot (which gating rules each container fails) and
// its text, where every name and label a container chose comes out printable; the rules file and its flag.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { auditReport, parseArgs, renderAudit, run } from '../../../src/cli/main';
import { DOCKER_DEFAULT_CAPABILITIES, sortCapabilities } from '../../../src/core/security/capabilities';
import { CIS_RULE_IDS, decideVerdicts } from '../../../src/core/security/cis';
import type { ContainerSnapshot, SecurityPosture } from '../../../src/shared/model';
import { HOSTILE, HOST_NS, snapshotOf } from '../support/snapshotParts';

/** Control characters a terminal would act on (C0 but the line feed, DEL, C1, bidi overrides). */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const defaults = sortCapabilities(DOCKER_DEFAULT_CAPABILITIES);

/** `--cap-add NET_ADMIN --cap-drop MKNOD -v /var/run/docker.sock:/var/run/docker.sock`, as read. */
function posture(over: Partial<SecurityPosture> = {}): Omit<SecurityPosture, 'verdicts'> {
  const bounding = sortCapabilities([...defaults.filter((c) => c !== 'CAP_MKNOD'), 'CAP_NET_ADMIN']);
  return {
    uid: 0,
    gid: 0,
    user: 'root',
    capabilities: {
      effective: bounding,
      permitted: bounding,
      bounding,
      masks: { effective: 'a00435fb', permitted: 'a00435fb', bounding: 'a00435fb' },
    },
    added: ['CAP_NET_ADMIN'],
    dropped: ['CAP_MKNOD'],
    defaultSet: defaults,
    allCapabilities: false,
    seccompMode: 2,
    seccompFilters: 1,
    noNewPrivs: false,
    lsmLabel: 'docker-default (enforce)',
    lsm: 'apparmor',
    uidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
    gidMap: [{ inside: 0, outside: 0, count: 4294967295 }],
    hostUserNamespace: true,
    readOnlyRoot: false,
    sensitiveMounts: [
      { mountPoint: '/var/run/docker.sock', hostPath: '/run/docker.sock', kind: 'runtime-socket', readOnly: false, shared: false },
    ],
    sharedMounts: [],
    mountsRead: true,
    ...over,
  };
}

let seq = 0;
function container(
  name: string,
  security: Omit<SecurityPosture, 'verdicts'> | null,
  over: Partial<ContainerSnapshot> = {},
): ContainerSnapshot {
  seq++;
  const c: ContainerSnapshot = {
    id: `${seq.toString(16).padStart(2, '0')}${'a'.repeat(62)}`,
    name,
    image: 'nginx:1.27',
    imageId: 'sha256:img',
    state: 'running',
    status: 'Up',
    pid: 1000 + seq,
    created: 0,
    labels: {},
    networkMode: 'bridge',
    namespaces: { ...HOST_NS, mnt: 100 + seq, pid: 200 + seq, net: 300 + seq, ipc: 400 + seq, uts: 500 + seq },
    processes: [],
    cgroup: null,
    overlay: null,
    nearLimit: [],
    pod: null,
    compose: null,
    security: null,
    errors: [],
    ...over,
  };
  if (security) c.security = { ...security, verdicts: decideVerdicts(c, security, HOST_NS, 'Docker') };
  return c;
}

describe('security/audit (CLI)', () => {
  describe('auditReport', () => {
    it('names the gating rules each container fails, and passes only when none does', () => {
      const risky = container('risky', posture());
      const safe = container('safe', posture({ added: [], dropped: [], sensitiveMounts: [], noNewPrivs: true, readOnlyRoot: true }), {
        namespaces: { ...HOST_NS, mnt: 91, pid: 92, net: 93, ipc: 94, uts: 95, user: 96 },
      });
      const snap = snapshotOf([risky, safe]);
      const all = auditReport(snap, [...CIS_RULE_IDS]);
      assert.equal(all.passed, false);
      assert.deepEqual(all.rules, [...CIS_RULE_IDS]);
      // No cgroup read: 5.10, 5.11 and 5.28 are unknown, which fails no gate.
      assert.deepEqual(all.containers[0].failed, ['5.3', '5.12', '5.25', '5.30', '5.31']);
      assert.deepEqual(all.containers[1].failed, []);
      const gate = auditReport(snap, ['5.4', '5.5', '5.10']);
      assert.equal(gate.passed, true);
      assert.deepEqual(
        gate.containers.map((c) => c.failed),
        [[], []],
      );
      assert.equal(auditReport(snap, ['5.31']).passed, false);
      // The report survives JSON (no bigint in a posture).
      assert.deepEqual(JSON.parse(JSON.stringify(all)), all);
    });

    it("keeps only a container's security and container errors", () => {
      const c = container('gone', null, {
        errors: [
          { field: 'security', reason: 'permission denied reading /proc/1/status: needs root' },
          { field: 'security.uidMap', reason: 'bad map' },
          { field: 'container', reason: 'exited' },
          { field: 'cgroup', reason: 'not read' },
          { field: 'securityx', reason: 'not ours' },
        ],
      });
      const r = auditReport(snapshotOf([c]), [...CIS_RULE_IDS]);
      assert.deepEqual(
        r.containers[0].errors.map((e) => e.field),
        ['security', 'security.uidMap', 'container'],
      );
      assert.equal(r.containers[0].security, null);
      assert.deepEqual(r.containers[0].failed, []);
      assert.equal(r.passed, true);
    });
  });

  describe('renderAudit', () => {
    it('shows the user, rights, capability changes, each verdict with its evidence, and the result', () => {
      const web = container('web', posture());
      const report = auditReport(snapshotOf([web]), ['5.31', '5.3']);
      const text = renderAudit(report);
      const lines = text.split('\n');
      assert.equal(lines[0], `web (${web.id.slice(0, 12)}, image nginx:1.27)`);
      assert.match(lines[0], /^web \([0-9a-f]{2}a{10}, /);
      assert.equal(lines[1], '  user 0 (root), seccomp 2, no_new_privs 0, writable root, apparmor docker-default (enforce)');
      assert.equal(lines[2], '  capabilities: +CAP_NET_ADMIN -CAP_MKNOD');
      assert.match(lines[3], /^ {2}\s+CIS\s+RECOMMENDATION\s+EVIDENCE$/);
      assert.equal(lines.length, 4 + CIS_RULE_IDS.length + 1);
      const row = (id: string) => lines.find((l) => new RegExp(`^ {2}[ ?A-Za-z()]+? {2}${id.replace('.', '\\.')} +[A-Z]`).test(l));
      assert.match(
        row('5.31')!,
        /^ {2}FAIL +5\.31 +Runtime socket not mounted +runtime socket mounted: \/run\/docker\.sock at \/var\/run\/docker\.sock$/,
      );
      assert.match(row('5.3')!, /^ {2}FAIL +5\.3 +Linux capabilities restricted +bounding set adds CAP_NET_ADMIN/);
      assert.match(row('5.12')!, /^ {2}FAIL \(not gating\) +5\.12 /);
      assert.match(row('5.10')!, /^ {5}\? \(not gating\) +5\.10 /);
      assert.match(row('5.21')!, /^ {2}PASS \(not gating\) +5\.21 /);
      assert.equal(lines[lines.length - 1], 'Result: FAIL (web: 5.3, 5.31)');
    });

    it('passes when nothing gating fails, and says when there is no container', () => {
      const report = auditReport(snapshotOf([container('web', posture())]), ['5.4']);
      assert.match(renderAudit(report), /\nResult: PASS$/);
      assert.equal(renderAudit(auditReport(snapshotOf([]), ['5.4'])), 'no running container\nResult: PASS');
    });

    it('says a container was not audited, and why', () => {
      const c = container('db', null, { errors: [{ field: 'security', reason: 'permission denied reading /proc/7/status: needs root' }] });
      const text = renderAudit(auditReport(snapshotOf([c]), ['5.4']));
      assert.match(
        text,
        /^db \(\w{12}, image nginx:1\.27\)\n {2}not audited: permission denied reading \/proc\/7\/status: needs root\nResult: PASS$/,
      );
      const bare = renderAudit(auditReport(snapshotOf([container('db', null)]), ['5.4']));
      assert.match(bare, /not audited: its posture was not read/);
    });

    it('shows unknown seccomp and no_new_privs as ?, a uid without a name, and no capability line without changes', () => {
      const p = posture({ seccompMode: null, noNewPrivs: null, user: null, uid: 1000, added: [], dropped: [], lsmLabel: null, lsm: null });
      const text = renderAudit(auditReport(snapshotOf([container('x', p)]), ['5.4']));
      const lines = text.split('\n');
      assert.equal(lines[1], '  user 1000, seccomp ?, no_new_privs ?, writable root');
      assert.doesNotMatch(text, /capabilities:/);
      const ro = renderAudit(auditReport(snapshotOf([container('y', posture({ readOnlyRoot: true, noNewPrivs: true }))]), ['5.4']));
      assert.match(ro, /no_new_privs 1, read-only root,/);
    });

    it('makes a hostile container name, image, user, label, error and evidence printable and bounded', () => {
      const name = `evil\u001b[2J\nname\u202e${'n'.repeat(500)}`;
      const p = posture({
        user: HOSTILE,
        lsmLabel: HOSTILE,
        sharedMounts: [`/sh\u001b[31m\n${'s'.repeat(400)}`],
        sensitiveMounts: [{ mountPoint: `/m\u001b]0;x\u0007`, hostPath: '/etc', kind: 'host-dir', readOnly: true, shared: false }],
      });
      const risky = container(name, p, { image: HOSTILE });
      const unread = container(HOSTILE, null, { image: HOSTILE, errors: [{ field: 'security', reason: HOSTILE }] });
      const report = auditReport(snapshotOf([risky, unread]), [...CIS_RULE_IDS]);
      const text = renderAudit(report);
      assert.doesNotMatch(text, RAW_CONTROL);
      const lines = text.split('\n');
      assert.ok(lines[0].startsWith('evil\\x1b[2J\\nname\\u202e'), lines[0].slice(0, 40));
      // Names and images are cut at 128 characters, users at 64, labels at 80, evidence at 160.
      assert.ok(lines[0].length < 128 * 2 + 40, `${lines[0].length}`);
      assert.ok(lines[1].length < 64 + 80 + 120, `${lines[1].length}`);
      // Every line but the reason a container was not audited (the engine's own text, not cut) is bounded.
      for (const l of lines.filter((x) => !x.startsWith('  not audited: '))) assert.ok(l.length <= 400, `${l.length}: ${l.slice(0, 60)}`);
      assert.match(text, /mounts \/etc at \/m\\x1b\]0;x\\x07 \(ro\)/);
      assert.match(text, /shared propagation on \/sh\\x1b\[31m\\ns/);
      // The result names the failing container by its printable, bounded name.
      const result = lines[lines.length - 1];
      assert.match(result, /^Result: FAIL \(evil\\x1b\[2J\\nname\\u202en+…: 5\.3, /);
      assert.ok(result.length < 200);
      // The container not audited: its name and the reason are printable too.
      assert.ok(lines.some((l) => l.startsWith('  not audited: <img src=x onerror=alert(1)>\\x1b[2J\\u202e\\nyyy')));
    });
  });

  describe('the audit command line', () => {
    it('takes --rules FILE and container names', () => {
      const a = parseArgs(['audit', 'web', 'db', '--rules', 'gate.txt', '--json']);
      assert.equal(a.command, 'audit');
      assert.deepEqual(a.positional, ['web', 'db']);
      assert.equal(a.flags.get('rules'), 'gate.txt');
      assert.equal(a.flags.get('json'), true);
      assert.equal(parseArgs(['audit', '--rules=gate.txt']).flags.get('rules'), 'gate.txt');
      assert.throws(() => parseArgs(['audit', '--rules']), /--rules needs a value/);
    });

    describe('a bad rules file is a usage error, before any daemon is asked', () => {
      let dir: string;
      before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-audit-'));
      });
      after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
      });

      async function audit(argv: string[]): Promise<{ code: number; err: string; out: string }> {
        let err = '';
        let out = '';
        // An endpoint nothing listens on: were the daemon asked, this would be exit 2, not 64.
        const code = await run(['audit', '--host', `unix://${path.join(dir, 'no.sock')}`, ...argv], {
          out: (t) => (out += t),
          err: (t) => (err += t),
        });
        return { code, err, out };
      }

      it('an id the tool does not decide, naming the file and line', async () => {
        const file = path.join(dir, 'rules.txt');
        fs.writeFileSync(file, '5.4\n5.6\n');
        const r = await audit(['--rules', file]);
        assert.equal(r.code, 64);
        assert.match(r.err, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line 2: "5\\.6" is not a rule`));
        assert.equal(r.out, '');
      });

      it('a file that cannot be read, or names nothing', async () => {
        const missing = await audit(['--rules', path.join(dir, 'absent.txt')]);
        assert.equal(missing.code, 64);
        assert.match(missing.err, /cannot read .*absent\.txt/);
        const empty = path.join(dir, 'empty.txt');
        fs.writeFileSync(empty, '# nothing\n');
        const none = await audit(['--rules', empty]);
        assert.equal(none.code, 64);
        assert.match(none.err, /names no rule/);
      });
    });
  });
});
