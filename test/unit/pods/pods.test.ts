// Pods from io.kubernetes.* labels as cri-dockerd writes them, and grouping by them: the labels are
// hostile input, bounded and used for display and grouping only; what a pod shares comes from inodes.
import * as assert from 'node:assert/strict';
import { ContainerSnapshot, NamespaceInodes, PodRef } from '../../../src/shared/model';
import { groupPods, podFromLabels, podTitle, sharedTypes } from '../../../src/shared/pods';

const UID = '0f3a5c2e-8d7b-4a61-9e0f-2b4c6d8e1a3f';

/** The labels cri-dockerd puts on a pod's sandbox and on one of its containers. */
function criLabels(kind: 'podsandbox' | 'container', over: Record<string, string> = {}): Record<string, string> {
  return {
    'io.kubernetes.pod.name': 'web-0',
    'io.kubernetes.pod.namespace': 'shop',
    'io.kubernetes.pod.uid': UID,
    'io.kubernetes.docker.type': kind,
    ...(kind === 'podsandbox' ? { 'io.kubernetes.container.name': 'POD', app: 'web' } : { 'io.kubernetes.container.name': 'nginx' }),
    ...over,
  };
}

function ns(over: Partial<NamespaceInodes> = {}): NamespaceInodes {
  return { mnt: 1, pid: 2, net: 3, ipc: 4, uts: 5, user: 6, cgroup: 7, time: 8, ...over };
}

function container(id: string, name: string, pod: PodRef | null, namespaces: NamespaceInodes | null): ContainerSnapshot {
  return {
    id: id.repeat(64).slice(0, 64),
    name,
    image: 'app:1',
    imageId: 'sha256:img',
    state: 'running',
    status: 'Up',
    pid: 100,
    created: 0,
    labels: {},
    networkMode: 'bridge',
    namespaces,
    processes: [],
    cgroup: null,
    overlay: null,
    nearLimit: [],
    pod,
    compose: null,
    security: null,
    errors: [],
  };
}

describe('podFromLabels', () => {
  it('reads the sandbox as the infra container and keeps the UID as the pod id', () => {
    assert.deepEqual(podFromLabels(criLabels('podsandbox')), {
      source: 'kubernetes',
      id: UID,
      name: 'web-0',
      namespace: 'shop',
      infra: true,
      containerName: 'POD',
    });
    assert.deepEqual(podFromLabels(criLabels('container')), {
      source: 'kubernetes',
      id: UID,
      name: 'web-0',
      namespace: 'shop',
      infra: false,
      containerName: 'nginx',
    });
  });

  it('is null without a pod name (a plain container, or empty labels)', () => {
    assert.equal(podFromLabels({}), null);
    assert.equal(podFromLabels({ 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.container.name': 'x' }), null);
    assert.equal(podFromLabels({ 'io.kubernetes.pod.name': '  ' }), null);
    assert.equal(podFromLabels(null), null);
    assert.equal(podFromLabels(undefined), null);
  });

  it('without a UID label the pod is keyed namespace/name', () => {
    const labels = criLabels('container');
    delete labels['io.kubernetes.pod.uid'];
    assert.equal(podFromLabels(labels)?.id, 'shop/web-0');
  });

  it("takes containerd CRI's kind label and, lacking any type label, the container name POD", () => {
    const base = { 'io.kubernetes.pod.name': 'p', 'io.kubernetes.pod.namespace': 'default' };
    assert.equal(podFromLabels({ ...base, 'io.cri-containerd.kind': 'sandbox' })?.infra, true);
    assert.equal(podFromLabels({ ...base, 'io.cri-containerd.kind': 'container' })?.infra, false);
    assert.equal(podFromLabels({ ...base, 'io.kubernetes.container.name': 'POD' })?.infra, true);
    assert.equal(podFromLabels({ ...base, 'io.kubernetes.container.name': 'app' })?.infra, false);
    // A type label decides over the name: a container named POD is no sandbox when labelled a container.
    assert.equal(podFromLabels({ ...base, 'io.kubernetes.container.name': 'POD', 'io.kubernetes.docker.type': 'container' })?.infra, false);
    assert.equal(podFromLabels({ ...base, 'io.kubernetes.docker.type': 'something' })?.infra, false);
  });

  it('bounds hostile labels: huge values are cut to the Kubernetes maxima, the text itself is kept as data', () => {
    const huge = `<img src=x onerror=alert(1)>\u001b[31m\u202e${'x'.repeat(100000)}`;
    const pod = podFromLabels({
      'io.kubernetes.pod.name': huge,
      'io.kubernetes.pod.namespace': huge,
      'io.kubernetes.pod.uid': huge,
      'io.kubernetes.container.name': huge,
    })!;
    assert.ok(pod.name.length <= 253, `name ${pod.name.length}`);
    assert.ok(pod.namespace!.length <= 63);
    assert.ok(pod.id.length <= 64);
    assert.ok(pod.containerName!.length <= 63);
    assert.ok(pod.name.startsWith('<img src=x'), 'no escaping here: that is each renderer’s job');
    assert.ok(pod.name.endsWith('…'), 'the cut is marked');
  });

  it('ignores labels that are not strings and inherited properties', () => {
    const labels = Object.create({ 'io.kubernetes.pod.name': 'inherited' }) as Record<string, string>;
    assert.equal(podFromLabels(labels), null);
    assert.equal(podFromLabels({ 'io.kubernetes.pod.name': 42 as unknown as string }), null);
  });

  it('titles a pod namespace/name, a Podman pod by its name', () => {
    assert.equal(podTitle({ name: 'web-0', namespace: 'shop' }), 'shop/web-0');
    assert.equal(podTitle({ name: 'mypod' }), 'mypod');
  });
});

describe('groupPods', () => {
  const sandboxNs = ns({ mnt: 10, pid: 20, net: 30, ipc: 40, uts: 50 });
  const sandbox = container('a', 'k8s_POD_web-0_shop', podFromLabels(criLabels('podsandbox')), sandboxNs);
  const app = container('b', 'k8s_nginx_web-0_shop', podFromLabels(criLabels('container')), { ...sandboxNs, mnt: 11, uts: 51 });
  const side = container('c', 'k8s_log_web-0_shop', podFromLabels(criLabels('container', { 'io.kubernetes.container.name': 'log' })), {
    ...sandboxNs,
    mnt: 12,
    uts: 52,
  });
  const plain = container('d', 'worker', null, ns({ mnt: 90, pid: 91, net: 92, ipc: 93, uts: 94 }));

  it('groups the members by pod, infra first, and leaves containers in no pod out', () => {
    const pods = groupPods([app, plain, sandbox, side]);
    assert.equal(pods.length, 1);
    const [pod] = pods;
    assert.deepEqual(pod.ref, { source: 'kubernetes', id: UID, name: 'web-0', namespace: 'shop' });
    assert.deepEqual(pod.containers, [sandbox.id, app.id, side.id]);
    assert.equal(pod.infra, sandbox.id);
    assert.deepEqual(pod.errors, []);
  });

  it('shares exactly the types whose inode every member holds', () => {
    // pid, net, ipc joined to the sandbox; user, cgroup, time are the host's for all; mnt and uts are each one's own.
    assert.deepEqual(groupPods([sandbox, app, side])[0].sharedNamespaces, ['pid', 'net', 'ipc', 'user', 'cgroup', 'time']);
    const ownPid = { ...side, namespaces: { ...side.namespaces!, pid: 99 } };
    assert.deepEqual(groupPods([sandbox, app, ownPid])[0].sharedNamespaces, ['net', 'ipc', 'user', 'cgroup', 'time']);
    assert.deepEqual(sharedTypes([]), []);
    assert.deepEqual(sharedTypes([{ namespaces: ns({ time: null }) }]), ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup']);
  });

  it('says what is missing: no sandbox listed, two claiming to be it, unreadable namespaces', () => {
    const noInfra = groupPods([app, side])[0];
    assert.equal(noInfra.infra, null);
    assert.deepEqual(noInfra.containers, [app.id, side.id]);
    assert.match(noInfra.errors.map((e) => e.reason).join(';'), /no sandbox \(pause\) container/);

    const impostor = container('e', 'fake-pause', podFromLabels(criLabels('podsandbox')), sandboxNs);
    const two = groupPods([sandbox, impostor, app])[0];
    assert.equal(two.infra, sandbox.id, 'the first one listed stays the infra');
    assert.match(
      two.errors.map((e) => e.reason).join(';'),
      /2 containers are labelled as this pod's sandbox container: k8s_POD_web-0_shop, fake-pause/,
    );

    const unread = groupPods([sandbox, { ...app, namespaces: null }])[0];
    assert.deepEqual(unread.sharedNamespaces, []);
    assert.equal(unread.errors[0].field, 'sharedNamespaces');
    assert.match(unread.errors[0].reason, /k8s_nginx_web-0_shop could not be read/);
  });

  it('keeps pods with the same name in other namespaces (and other UIDs) apart; notes members that name it differently', () => {
    const other = container('f', 'other', podFromLabels(criLabels('container', { 'io.kubernetes.pod.uid': 'u2' })), sandboxNs);
    const pods = groupPods([sandbox, other, app]);
    assert.deepEqual(
      pods.map((p) => [p.ref.id, p.containers.length]),
      [
        [UID, 2],
        ['u2', 1],
      ],
    );
    const renamed = container('g', 'odd', podFromLabels(criLabels('container', { 'io.kubernetes.pod.name': 'web-1' })), sandboxNs);
    const [pod] = groupPods([sandbox, renamed]);
    assert.equal(pod.containers.length, 2, 'the UID groups them');
    assert.match(pod.errors.map((e) => e.reason).join(';'), /odd names this pod differently \(shop\/web-1\)/);
  });

  it('groups Podman pods by their pod ID, never with a Kubernetes pod of the same id', () => {
    const podman = (infra: boolean): PodRef => ({ source: 'podman', id: 'p'.repeat(64), name: 'mypod', infra });
    const infra = container('1', 'mypod-infra', podman(true), sandboxNs);
    const member = container('2', 'app', podman(false), sandboxNs);
    const k8s = container('3', 'k', { source: 'kubernetes', id: 'p'.repeat(64), name: 'mypod', infra: false }, sandboxNs);
    const pods = groupPods([member, k8s, infra]);
    assert.equal(pods.length, 2);
    assert.deepEqual(pods[0].containers, [infra.id, member.id]);
    assert.deepEqual(pods[0].ref, { source: 'podman', id: 'p'.repeat(64), name: 'mypod' });
    assert.match(pods[1].errors[0].reason, /no sandbox/);
  });
});
