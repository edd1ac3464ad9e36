// Pods on every target, made of Docker containers labelled and wired as kubelet wires them through
// cri-dockerd: a sandbox (pause) container labelled io.kubernetes.docker.type=podsandbox with a shareable
// IPC namespace, and two app containers joined to its net, IPC and PID namespaces (shareProcessNamespace).
// The engine and the CLI must group them as one pod with the sandbox as its infra, and say what the pod
// shares as readlink(1) on the daemon's machine tells, not as the labels claim. The pod name and one
// container name label are hostile (very long, control characters, HTML).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { Engine } from '../../src/core/engine';
import { TEST_LABEL } from '../support/docker';
import { NAMESPACE_TYPES, NamespaceType, PodGroup, Snapshot } from '../../src/shared/model';
import {
  Target,
  cliArgs,
  engineOptions,
  inspectOn,
  isPodman,
  openTarget,
  readlinkNamespacesOn,
  removeOn,
  runOn,
  runtimeTargets,
  suiteTargets,
} from '../support/targets';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Characters a terminal, a page or a tree item would act on: C0 (but the newlines a table is made of), DEL, C1, bidi overrides. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const HOSTILE_POD = `xray-it-pod-<img src=x onerror=alert(1)>\u001b[31m\u202e\r\n\u0007${'p'.repeat(6000)}`;
const HOSTILE_CONTAINER = `<script>alert(2)</script>\u001b]0;owned\u0007\n${'c'.repeat(6000)}`;

interface Inspected {
  Id: string;
  State: { Pid: number };
  Config: { Labels: Record<string, string> };
}

function cli(args: string[], timeout: number) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 256 * 1024 * 1024, timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const target of runtimeTargets()) {
  describe(`pods wired as kubelet wires them (${target})`, function () {
    this.timeout(target === 'local' ? 180000 : 900000);
    let t: Target;
    const uid = randomUUID();
    const names = { sandbox: 'xray-it-pod-sandbox', app: 'xray-it-pod-app', log: 'xray-it-pod-log' };
    const ids = { sandbox: '', app: '', log: '' };
    /** What readlink(1) shows on the daemon's machine: the types whose inode is the same for all three. */
    let oracleShared: NamespaceType[] = [];
    let inspected: Record<keyof typeof names, Inspected>;

    const podLabels = (type: 'podsandbox' | 'container', containerName: string): string[] =>
      [
        `io.kubernetes.pod.name=${HOSTILE_POD}`,
        'io.kubernetes.pod.namespace=xray-test',
        `io.kubernetes.pod.uid=${uid}`,
        `io.kubernetes.container.name=${containerName}`,
        `io.kubernetes.docker.type=${type}`,
      ].flatMap((l) => ['--label', l]);

    before(async () => {
      t = await openTarget(target);
      const image = t.helperImage;
      // cri-dockerd's sandbox: its own network (here none), a shareable IPC namespace for the others to join.
      ids.sandbox = await runOn(t, [
        '--name',
        names.sandbox,
        ...podLabels('podsandbox', 'POD'),
        '--network',
        'none',
        '--ipc',
        'shareable',
        image,
        'sleep',
        '3600',
      ]);
      const join = ['--net', `container:${ids.sandbox}`, '--ipc', `container:${ids.sandbox}`, '--pid', `container:${ids.sandbox}`];
      ids.app = await runOn(t, ['--name', names.app, ...podLabels('container', 'app'), ...join, image, 'sleep', '3601']);
      ids.log = await runOn(t, ['--name', names.log, ...podLabels('container', HOSTILE_CONTAINER), ...join, image, 'sleep', '3602']);
      inspected = {
        sandbox: await inspectOn<Inspected>(t, ids.sandbox),
        app: await inspectOn<Inspected>(t, ids.app),
        log: await inspectOn<Inspected>(t, ids.log),
      };
      const inodes = await Promise.all(Object.values(inspected).map((i) => readlinkNamespacesOn(t, i.State.Pid)));
      oracleShared = NAMESPACE_TYPES.filter((ty) => inodes[0][ty] !== undefined && inodes.every((n) => n[ty] === inodes[0][ty]));
    });

    after(async () => {
      if (!t) return;
      // The members first: a runtime may refuse to remove a container others joined.
      await removeOn(t, [ids.log, ids.app].filter(Boolean));
      await removeOn(t, [ids.sandbox].filter(Boolean));
    });

    /** The checks the engine's snapshot and the CLI's JSON must both pass. */
    function checkPod(snap: Snapshot, from: string): PodGroup {
      const pods = snap.pods.filter((p) => p.ref.id === uid);
      assert.equal(pods.length, 1, `${from}: one pod with the test UID (${JSON.stringify(snap.pods.map((p) => p.ref.id))})`);
      const [pod] = pods;
      assert.equal(pod.containers[0], ids.sandbox, `${from}: the sandbox comes first`);
      assert.deepEqual([...pod.containers].sort(), [ids.sandbox, ids.app, ids.log].sort(), `${from}: the three containers`);
      assert.equal(pod.infra, ids.sandbox);
      assert.deepEqual(pod.errors, [], `${from}: the pod is whole`);
      // What every member shares, as readlink(1) tells on the daemon's machine.
      assert.deepEqual(pod.sharedNamespaces, oracleShared, `${from}: shared namespaces against readlink`);
      for (const ty of ['net', 'ipc', 'pid'] as const) assert.ok(pod.sharedNamespaces.includes(ty), `${from}: ${ty} is the pod's`);
      for (const ty of ['mnt', 'uts'] as const) assert.ok(!pod.sharedNamespaces.includes(ty), `${from}: ${ty} is each container's own`);
      // The labels as docker inspect shows them, bounded.
      assert.equal(pod.ref.source, 'kubernetes');
      assert.equal(pod.ref.namespace, inspected.sandbox.Config.Labels['io.kubernetes.pod.namespace']);
      assert.equal(inspected.sandbox.Config.Labels['io.kubernetes.pod.name'], HOSTILE_POD, 'the daemon kept the label as given');
      assert.ok(pod.ref.name.length <= 253, `${from}: the pod name is cut (${pod.ref.name.length})`);
      assert.ok(HOSTILE_POD.startsWith(pod.ref.name.slice(0, -1)), `${from}: the cut name is the label's beginning`);
      for (const [key, id] of Object.entries(ids)) {
        const c = snap.containers.find((x) => x.id === id);
        assert.ok(c, `${from}: ${key} is in the snapshot`);
        const labels = inspected[key as keyof typeof ids].Config.Labels;
        assert.equal(
          c.pod?.infra,
          labels['io.kubernetes.docker.type'] === 'podsandbox',
          `${from}: ${key}'s infra mark follows its type label`,
        );
        const label = labels['io.kubernetes.container.name'];
        assert.ok(c.pod?.containerName !== undefined && label.startsWith(c.pod.containerName.replace(/…$/, '')));
        assert.ok(c.pod.containerName.length <= 63);
      }
      return pod;
    }

    it("the engine's snapshot groups the three as one pod, the sandbox as its infra, sharing what readlink shows", async () => {
      const engine = await Engine.create(engineOptions(t));
      try {
        const snap = await engine.snapshot({ containers: Object.values(ids) });
        checkPod(snap, 'engine');
        assert.deepEqual(
          snap.containers.filter((c) => Object.values(ids).includes(c.id)).map((c) => c.errors),
          [[], [], []],
          'every member was read whole',
        );
      } finally {
        await engine.dispose();
      }
    });

    it('snapshot --json has the pod (and follows the schema); the table groups the members under a printable pod heading', () => {
      const timeout = target === 'local' ? 120000 : 600000;
      const json = cli(['snapshot', '--json', ...Object.values(names), ...cliArgs(t)], timeout);
      assert.equal(json.code, 0, json.stderr);
      const snap = JSON.parse(json.stdout) as Snapshot;
      const ajv = new Ajv({ allErrors: true, strict: false });
      const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'snapshot.schema.json'), 'utf8')));
      assert.ok(validate(snap), JSON.stringify(validate.errors, null, 2));
      const pod = checkPod(snap, 'cli --json');

      const table = cli(['snapshot', ...Object.values(names), ...cliArgs(t)], timeout);
      assert.equal(table.code, 0, table.stderr);
      assert.doesNotMatch(table.stdout, RAW_CONTROL, 'no raw control character reaches the terminal');
      const lines = table.stdout.split('\n');
      const heading = lines.findIndex((l) => l.startsWith('Pod '));
      assert.ok(heading > 0, table.stdout);
      assert.match(
        lines[heading],
        /^Pod xray-test\/xray-it-pod-<img src=x onerror=alert\(1\)>\\x1b\[31m\\u202e\\r\\n\\x07p+… \(Kubernetes, 3 containers, shares /,
      );
      assert.ok(lines[heading].endsWith(`shares ${pod.sharedNamespaces.join(', ')})`), lines[heading]);
      assert.ok(lines[heading].length < 300, `the heading is bounded (${lines[heading].length})`);
      const members = lines.slice(heading + 1, heading + 4);
      assert.match(members[0], /^ {2}xray-it-pod-sandbox\s+[0-9a-f]{12}\s+running\s.*\bpod sandbox$/);
      assert.deepEqual(
        members
          .slice(1)
          .map((l) => /^ {2}(\S+)\s/.exec(l)?.[1])
          .sort(),
        [names.app, names.log].sort(),
      );
      // Every row (heading aside) keeps the columns: one header, three members.
      const id = lines[0].indexOf('ID');
      for (const m of members) assert.match(m.slice(id), /^[0-9a-f]{12}\s/, m);
    });
  });
}

// Podman's own pods: `podman pod create` makes an infra container that holds the pod's namespaces, and
// every container run with `--pod` joins them. The engine knows them from libpod's list (pod ID, name,
// infra mark), not from labels; what they share is checked against readlink on the guest.
for (const target of suiteTargets().filter(isPodman)) {
  describe(`Podman pods (${target})`, function () {
    this.timeout(900000);
    let t: Target;
    const podName = `xray-it-ppod-${randomUUID().slice(0, 8)}`;
    let podId = '';
    let infraId = '';
    const members: string[] = [];
    let oracleShared: NamespaceType[] = [];

    before(async () => {
      t = await openTarget(target);
      podId = (await t.docker(['pod', 'create', '--name', podName, '--label', TEST_LABEL])).trim();
      members.push(await runOn(t, ['--pod', podName, '--name', `${podName}-a`, t.helperImage, 'sleep', '3600']));
      members.push(await runOn(t, ['--pod', podName, '--name', `${podName}-b`, t.helperImage, 'sleep', '3601']));
      infraId = (await t.docker(['pod', 'inspect', '--format', '{{.InfraContainerID}}', podName])).trim();
      const pids = await Promise.all([infraId, ...members].map(async (id) => (await inspectOn<Inspected>(t, id)).State.Pid));
      const inodes = await Promise.all(pids.map((pid) => readlinkNamespacesOn(t, pid)));
      oracleShared = NAMESPACE_TYPES.filter((ty) => inodes[0][ty] !== undefined && inodes.every((n) => n[ty] === inodes[0][ty]));
    });

    after(async () => {
      if (t) await t.docker(['pod', 'rm', '-f', podName]).catch(() => undefined);
    });

    it('groups the pod from libpod (its ID, name and infra container), sharing what readlink shows', async () => {
      assert.match(podId, /^[0-9a-f]{64}$/, 'podman pod create printed the pod ID');
      const engine = await Engine.create(engineOptions(t));
      try {
        const snap = await engine.snapshot();
        const pods = snap.pods.filter((p) => p.ref.id === podId);
        assert.equal(pods.length, 1, JSON.stringify(snap.pods.map((p) => p.ref)));
        const [pod] = pods;
        assert.equal(pod.ref.source, 'podman');
        assert.equal(pod.ref.name, podName);
        assert.equal(pod.infra, infraId, 'the infra container is the one podman pod inspect names');
        assert.deepEqual([...pod.containers].sort(), [infraId, ...members].sort());
        assert.equal(pod.containers[0], infraId, 'the infra container comes first');
        assert.deepEqual(pod.errors, []);
        assert.deepEqual(pod.sharedNamespaces, oracleShared, 'shared namespaces against readlink');
        for (const ty of ['net', 'ipc', 'uts'] as const)
          assert.ok(pod.sharedNamespaces.includes(ty), `${ty} is the pod's (Podman's default)`);
        for (const id of [infraId, ...members]) {
          const c = snap.containers.find((x) => x.id === id)!;
          assert.deepEqual(c.errors, [], `${c.name} was read whole`);
          assert.equal(c.pod?.infra, id === infraId);
        }
      } finally {
        await engine.dispose();
      }
    });
  });
}
