// Pods in the sidebar tree and the CLI table: members under a pod node / heading, the sandbox marked,
// containers in no pod as before, and hostile pod labels shown only as bounded, printable text.
import * as assert from 'node:assert/strict';
import { renderSnapshot } from '../../../src/cli/main';
import { XrayNode, containerNodes } from '../../../src/extension/tree/nodes';
import { ContainerSnapshot, NamespaceInodes } from '../../../src/shared/model';
import { podFromLabels } from '../../../src/shared/pods';
import { HOSTILE, HOST_NS, snapshotOf } from '../support/snapshotParts';

function container(hex: string, name: string, labels: Record<string, string>, ns: Partial<NamespaceInodes>): ContainerSnapshot {
  return {
    id: hex.repeat(64).slice(0, 64),
    name,
    image: 'xray-test-busybox:1',
    imageId: 'sha256:img',
    state: 'running',
    status: 'Up',
    pid: 1000 + hex.charCodeAt(0),
    created: 0,
    labels,
    networkMode: 'bridge',
    namespaces: { ...HOST_NS, ...ns },
    processes: [],
    cgroup: null,
    overlay: null,
    nearLimit: [],
    pod: podFromLabels(labels),
    compose: null,
    security: null,
    errors: [],
  };
}

const k8s = (type: 'podsandbox' | 'container', containerName: string, pod = 'web-0'): Record<string, string> => ({
  'io.kubernetes.pod.name': pod,
  'io.kubernetes.pod.namespace': 'shop',
  'io.kubernetes.pod.uid': `uid-${pod}`,
  'io.kubernetes.container.name': containerName,
  'io.kubernetes.docker.type': type,
});

const shared = { pid: 20, net: 30, ipc: 40 };
const sandbox = container('a', 'k8s_POD_web-0_shop_uid_0', k8s('podsandbox', 'POD'), { mnt: 10, uts: 50, ...shared });
const app = container('b', 'k8s_nginx_web-0_shop_uid_0', k8s('container', 'nginx'), { mnt: 11, uts: 51, ...shared });
const log = container('c', 'k8s_log_web-0_shop_uid_0', k8s('container', 'log'), { mnt: 12, uts: 52, ...shared });
const worker = container('d', 'worker', {}, { mnt: 90, pid: 91, net: 92, ipc: 93, uts: 94 });
const snap = snapshotOf([worker, app, sandbox, log]);
const noLayers = () => Promise.reject(new Error('not needed'));

async function children(n: XrayNode): Promise<XrayNode[]> {
  return (await n.children?.()) ?? [];
}

describe('pods in the tree', () => {
  it('puts the members under a pod node with its namespace, member count and shared namespaces; others stay roots', async () => {
    const roots = containerNodes(snap, noLayers);
    assert.deepEqual(
      roots.map((n) => [n.label, n.contextValue]),
      [
        ['web-0', 'xray.pod'],
        ['worker', 'xray.container.running'],
      ],
    );
    const pod = roots[0];
    assert.equal(pod.description, 'shop · 3 containers · shares pid, net, ipc, user, cgroup, time');
    assert.equal(pod.collapsible, 'expanded');
    assert.match(
      pod.tooltip!,
      /^Kubernetes pod shop\/web-0\npod UID uid-web-0\n3 containers, sandbox \(pause\) k8s_POD_web-0_shop_uid_0\n/,
    );
    const members = await children(pod);
    assert.deepEqual(
      members.map((n) => [n.id, n.label, n.description]),
      [
        [`c:${sandbox.id}`, sandbox.name, 'sandbox (pause) · xray-test-busybox:1 · running'],
        [`c:${app.id}`, app.name, 'nginx · xray-test-busybox:1 · running'],
        [`c:${log.id}`, log.name, 'log · xray-test-busybox:1 · running'],
      ],
    );
    // Members are the same container nodes as anywhere: they open to namespaces, cgroup, processes ….
    assert.equal(members[1].contextValue, 'xray.container.running');
    assert.deepEqual((await children(members[1])).map((n) => n.label).slice(0, 3), ['Namespaces', 'cgroup', 'Security']);
    assert.match(members[0].tooltip!, /sandbox \(pause\) container of Kubernetes pod shop\/web-0/);
    assert.match(members[1].tooltip!, /in Kubernetes pod shop\/web-0 as nginx/);
  });

  it('lists what keeps a pod incomplete under it', async () => {
    const roots = containerNodes(snapshotOf([app]), noLayers);
    assert.equal(roots[0].iconColor, 'list.warningForeground');
    const nodes = await children(roots[0]);
    assert.equal(nodes.length, 2);
    assert.match(nodes[1].description!, /no sandbox \(pause\) container of this pod is listed/);
  });

  it('shows hostile pod labels bounded and printable', async () => {
    const evil = container('e', 'evil', { ...k8s('container', HOSTILE, HOSTILE), 'io.kubernetes.pod.namespace': HOSTILE }, {});
    const [pod] = containerNodes(snapshotOf([evil]), noLayers);
    // Everything shown (the id is not: it only has to be unique).
    for (const s of [pod.label, pod.description!, pod.tooltip!, ...(await children(pod)).flatMap((n) => [n.description!, n.tooltip!])]) {
      assert.doesNotMatch(s, /[\u0000-\u0009\u000b-\u001f\u202e]/, `no raw control characters: ${JSON.stringify(s.slice(0, 80))}`);
    }
    assert.ok(pod.label.length <= 80);
    assert.ok(pod.description!.length < 200);
    assert.match(pod.label, /^<img src=x onerror=alert\(1\)>\\x1b\[2J\\u202e\\n/);
  });

  it('leaves a snapshot without pods as it was: containers by name', () => {
    const roots = containerNodes(snapshotOf([worker, { ...app, pod: null, name: 'app' }]), noLayers);
    assert.deepEqual(
      roots.map((n) => n.label),
      ['app', 'worker'],
    );
  });
});

describe('pods in the CLI table', () => {
  it('groups the members under a pod heading, sandbox first and marked, then the containers in no pod', () => {
    const lines = renderSnapshot(snap).split('\n');
    assert.match(lines[0], /^NAME\s+ID\s+STATE/);
    assert.equal(lines[1], 'Pod shop/web-0 (Kubernetes, 3 containers, shares pid, net, ipc, user, cgroup, time)');
    assert.match(lines[2], /^ {2}k8s_POD_web-0_shop_uid_0\s+aaaaaaaaaaaa\s+running\s+.*\bpod sandbox$/);
    assert.match(lines[3], /^ {2}k8s_nginx_web-0_shop_uid_0\s+bbbbbbbbbbbb\s+running\s+\d+\s+30 shared\(2\)\s+20 shared\(2\)/);
    assert.match(lines[4], /^ {2}k8s_log_web-0_shop_uid_0\s+cccccccccccc\s/);
    assert.match(lines[5], /^worker\s+dddddddddddd\s/);
    // The columns stay aligned across the heading line.
    assert.equal(lines[0].indexOf('ID'), lines[5].indexOf('dddddddddddd'));
    assert.equal(lines[2].indexOf('aaaaaaaaaaaa'), lines[5].indexOf('dddddddddddd'));
  });

  it('notes an incomplete pod and prints hostile labels bounded and printable', () => {
    const evil = container('e', 'evil', { ...k8s('container', 'x', HOSTILE), 'io.kubernetes.pod.namespace': HOSTILE }, {});
    const text = renderSnapshot(snapshotOf([evil]));
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u202e]/);
    const heading = text.split('\n')[1];
    assert.match(heading, /^Pod <img src=x onerror=alert\(1\)>\\x1b\[2J\\u202e\\n/);
    assert.ok(heading.length < 260, `heading ${heading.length} long`);
    assert.match(text, /\nPods:\n {2}.*infra: no sandbox \(pause\) container of this pod is listed/);
  });

  it('prints no pod heading without pods', () => {
    assert.doesNotMatch(renderSnapshot(snapshotOf([worker])), /^Pod /m);
  });
});
