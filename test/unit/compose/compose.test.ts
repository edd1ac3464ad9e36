// Compose projects from labels, the Containers view's grouping and the filter: pure functions and the tree
// nodes and CLI table built on them. Labels are hostile: bounded, printable, and they choose display text only.
import * as assert from 'node:assert/strict';
import { renderSnapshot } from '../../../src/cli/main';
import { XrayNode, containerNodes, imageNodes, viewDescription } from '../../../src/extension/tree/nodes';
import {
  COMPOSE_LABELS,
  GROUP_BY,
  composeFromLabels,
  composeProjects,
  containerMatches,
  effectiveGroupBy,
  filterTerms,
  groupContainers,
  imageMatches,
} from '../../../src/shared/compose';
import { ContainerSnapshot, ContainerState, ImageFacts } from '../../../src/shared/model';
import { podFromLabels } from '../../../src/shared/pods';
import { HOSTILE, HOST_NS, snapshotOf } from '../support/snapshotParts';

/** Control characters a terminal or tree item would act on (C0, DEL, C1, bidi overrides). */
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let seq = 0;
function container(name: string, labels: Record<string, string> = {}, over: Partial<ContainerSnapshot> = {}): ContainerSnapshot {
  seq++;
  return {
    id: `${seq.toString(16).padStart(2, '0')}${'e'.repeat(62)}`,
    name,
    image: 'xray-test-busybox:1',
    imageId: 'sha256:img',
    state: 'running',
    status: 'Up',
    pid: 1000 + seq,
    created: 0,
    labels,
    networkMode: 'bridge',
    namespaces: { ...HOST_NS, mnt: 100 + seq, pid: 200 + seq, net: 300 + seq },
    processes: [],
    cgroup: null,
    overlay: null,
    nearLimit: [],
    pod: podFromLabels(labels),
    compose: composeFromLabels(labels),
    security: null,
    errors: [],
    ...over,
  };
}

const cl = (project: string, service: string): Record<string, string> => ({
  [COMPOSE_LABELS.project]: project,
  [COMPOSE_LABELS.service]: service,
  [COMPOSE_LABELS.workingDir]: `/srv/${project}`,
  [COMPOSE_LABELS.configFiles]: `/srv/${project}/compose.yml,/srv/${project}/compose.override.yml`,
});

const k8s = (type: 'podsandbox' | 'container', containerName: string): Record<string, string> => ({
  'io.kubernetes.pod.name': 'web-0',
  'io.kubernetes.pod.namespace': 'shop',
  'io.kubernetes.pod.uid': 'uid-web-0',
  'io.kubernetes.container.name': containerName,
  'io.kubernetes.docker.type': type,
});

const shopWeb = container('shop-web-1', cl('shop', 'web'));
const shopDb = container('shop-db-1', cl('shop', 'db'), { image: 'postgres:16' });
const blogApp = container('blog_app_1', cl('blog', 'app'), { state: 'exited', pid: null, namespaces: null });
const loner = container('loner', { tier: 'backend' }, { image: 'nginx:1.27', state: 'paused' });
const another = container('another', {}, { image: 'nginx:1.27' });
const sandbox = container('k8s_POD_web-0', k8s('podsandbox', 'POD'));
const podApp = container('k8s_nginx_web-0', { ...k8s('container', 'nginx'), [COMPOSE_LABELS.project]: 'shop' });
const all = [shopWeb, loner, podApp, blogApp, shopDb, sandbox, another];
const snap = snapshotOf(all);
const noLayers = () => Promise.reject(new Error('not needed'));

async function children(n: XrayNode): Promise<XrayNode[]> {
  return (await n.children?.()) ?? [];
}

describe('Compose projects from labels', () => {
  it('reads the project, service, working directory and compose files Compose writes', () => {
    assert.deepEqual(composeFromLabels(cl('shop', 'web')), {
      project: 'shop',
      service: 'web',
      workingDir: '/srv/shop',
      configFiles: ['/srv/shop/compose.yml', '/srv/shop/compose.override.yml'],
    });
    assert.deepEqual(composeFromLabels({ [COMPOSE_LABELS.project]: 'p' }), { project: 'p', service: null });
  });

  it('is null without a project label, or with an empty one, and reads no inherited key', () => {
    assert.equal(composeFromLabels({}), null);
    assert.equal(composeFromLabels(null), null);
    assert.equal(composeFromLabels({ [COMPOSE_LABELS.service]: 'web' }), null);
    assert.equal(composeFromLabels({ [COMPOSE_LABELS.project]: '  ' }), null);
    const inherited = Object.create({ [COMPOSE_LABELS.project]: 'proto' }) as Record<string, string>;
    assert.equal(composeFromLabels(inherited), null);
  });

  it('bounds every hostile label value: names, the path, the number and length of compose files', () => {
    const r = composeFromLabels({
      [COMPOSE_LABELS.project]: HOSTILE,
      [COMPOSE_LABELS.service]: HOSTILE,
      [COMPOSE_LABELS.workingDir]: HOSTILE,
      [COMPOSE_LABELS.configFiles]: Array.from({ length: 5000 }, (_, i) => `${i}${'f'.repeat(i % 3 === 0 ? 3000 : 1)}`).join(','),
    })!;
    assert.equal(r.project.length, 128);
    assert.ok(r.project.endsWith('…') && HOSTILE.startsWith(r.project.slice(0, -1)));
    assert.equal(r.service!.length, 128);
    assert.equal(r.workingDir!.length, 1024);
    assert.ok(r.configFiles!.length <= 16, String(r.configFiles!.length));
    for (const f of r.configFiles!) assert.ok(f.length <= 1024, String(f.length));
    assert.equal(r.configFiles![0], `0${'f'.repeat(1023)}`.slice(0, 1023) + '…');
  });
});

describe('grouping the containers', () => {
  const ids = (cs: ContainerSnapshot[]) => cs.map((c) => c.name);

  it('by Compose project: projects by name, members by service then name, the containers in no project last', () => {
    const { groups, ungrouped } = groupContainers(all, 'compose');
    assert.deepEqual(ungrouped, []);
    assert.deepEqual(
      groups.map((g) => [g.kind, g.key, ids(g.containers)]),
      [
        ['compose', 'blog', ['blog_app_1']],
        ['compose', 'shop', ['k8s_nginx_web-0', 'shop-db-1', 'shop-web-1']],
        ['noProject', '', ['another', 'k8s_POD_web-0', 'loner']],
      ],
    );
  });

  it("for the namespace graph: each project's containers in no pod, by service then name, with its services", () => {
    assert.equal(snap.pods.length, 1);
    assert.deepEqual(
      composeProjects(snap.containers, snap.pods).map((g) => [g.project, g.services, ids(g.containers)]),
      [
        ['blog', ['app'], ['blog_app_1']],
        // k8s_nginx_web-0 carries shop's label but is in a pod: the pod keeps it.
        ['shop', ['db', 'web'], ['shop-db-1', 'shop-web-1']],
      ],
    );
    assert.deepEqual(
      composeProjects(snap.containers).map((g) => [g.project, ids(g.containers)]),
      [
        ['blog', ['blog_app_1']],
        ['shop', ['k8s_nginx_web-0', 'shop-db-1', 'shop-web-1']],
      ],
    );
  });

  it('by image and by state (running first), and not at all (one list by name)', () => {
    assert.deepEqual(
      groupContainers(all, 'image').groups.map((g) => [g.key, ids(g.containers)]),
      [
        ['nginx:1.27', ['another', 'loner']],
        ['postgres:16', ['shop-db-1']],
        ['xray-test-busybox:1', ['blog_app_1', 'k8s_nginx_web-0', 'k8s_POD_web-0', 'shop-web-1']],
      ],
    );
    assert.deepEqual(
      groupContainers(all, 'state').groups.map((g) => g.key),
      ['running', 'paused', 'exited'] satisfies ContainerState[],
    );
    const none = groupContainers(all, 'none');
    assert.deepEqual(none.groups, []);
    assert.deepEqual(
      ids(none.ungrouped),
      [...ids(all)].sort((a, b) => a.localeCompare(b)),
    );
  });

  it("takes the workspace's choice over the setting, and Compose projects when neither names a grouping", () => {
    assert.equal(effectiveGroupBy('state', 'image'), 'state');
    assert.equal(effectiveGroupBy(undefined, 'image'), 'image');
    assert.equal(effectiveGroupBy('bogus', 'none'), 'none');
    assert.equal(effectiveGroupBy(undefined, undefined), 'compose');
    assert.equal(effectiveGroupBy(42, '__proto__'), 'compose');
  });

  it('puts every container in exactly one place, whatever the grouping', () => {
    for (const by of GROUP_BY) {
      const { groups, ungrouped } = groupContainers(all, by);
      const placed = [...groups.flatMap((g) => g.containers), ...ungrouped].map((c) => c.id).sort();
      assert.deepEqual(placed, all.map((c) => c.id).sort(), by);
    }
  });
});

describe('the filter', () => {
  it('matches a part of a name, image, project or service, case-insensitively', () => {
    const names = (f: string) => all.filter((c) => containerMatches(c, f)).map((c) => c.name);
    assert.deepEqual(names('SHOP-W'), ['shop-web-1']);
    assert.deepEqual(names('postgres'), ['shop-db-1']);
    assert.deepEqual(names('blog'), ['blog_app_1']);
    assert.deepEqual(names('nginx'), ['loner', 'k8s_nginx_web-0', 'another']);
  });

  it('matches an ID by its start only (with or without sha256:)', () => {
    const id = shopDb.id;
    assert.ok(containerMatches(shopDb, id.slice(0, 6)));
    assert.ok(containerMatches(shopDb, `sha256:${id.slice(0, 6)}`));
    assert.ok(!containerMatches(shopDb, id.slice(2, 12)), 'not a part from the middle');
  });

  it('matches a label by key, or key=value, as a substring', () => {
    assert.ok(containerMatches(loner, 'tier'));
    assert.ok(containerMatches(loner, 'tier=back'));
    assert.ok(containerMatches(loner, 'TIER=BACKEND'));
    assert.ok(!containerMatches(loner, 'tier=front'));
    assert.ok(!containerMatches(another, 'tier'));
  });

  it('needs every word to match, and an empty filter lets all through', () => {
    assert.deepEqual(filterTerms('  Shop   web '), ['shop', 'web']);
    assert.ok(containerMatches(shopWeb, 'shop web'));
    assert.ok(!containerMatches(shopDb, 'shop web'));
    for (const c of all) assert.ok(containerMatches(c, '') && containerMatches(c, '   ') && containerMatches(c, undefined));
  });

  it('is plain text: pattern characters match only themselves', () => {
    const dotted = container('a.b', {}, { image: 'img:1' });
    const star = container('a*b', {}, { image: 'img:1' });
    assert.ok(containerMatches(dotted, 'a.b') && !containerMatches(container('axb', {}, { image: 'img:1' }), 'a.b'));
    assert.ok(containerMatches(star, 'a*b') && !containerMatches(dotted, '.*'));
    assert.doesNotThrow(() => containerMatches(dotted, '(['));
    assert.ok(!containerMatches(dotted, '(['));
  });

  it('matches images by a part of a tag or digest, or the start of the ID', () => {
    const img: ImageFacts = {
      id: `sha256:abc123${'0'.repeat(58)}`,
      tags: ['registry.example/Team/app:2'],
      repoDigests: ['registry.example/team/app@sha256:feed'],
      created: '',
      sizeBytes: 0,
      layers: [],
      sharedBytes: 0,
      containers: [],
    };
    assert.ok(imageMatches(img, 'team/APP'));
    assert.ok(imageMatches(img, 'abc1'));
    assert.ok(imageMatches(img, 'sha256:abc1'));
    assert.ok(imageMatches(img, '@sha256:fe'));
    assert.ok(!imageMatches(img, 'c123'), 'an ID matches by its start');
    assert.ok(!imageMatches(img, 'other'));
  });
});

describe('the Containers view grouped and filtered', () => {
  it('keeps pods first and whole, then the Compose projects, then the containers in no project', async () => {
    const roots = containerNodes(snap, noLayers);
    assert.deepEqual(
      roots.map((n) => [n.id, n.label]),
      [
        ['pod:kubernetes:uid-web-0', 'web-0'],
        ['group:compose:blog', 'blog'],
        ['group:compose:shop', 'shop'],
        ['group:noProject', 'No Compose project'],
      ],
    );
    // The pod member labelled with a project stays in its pod.
    assert.deepEqual(
      (await children(roots[0])).map((n) => n.label),
      ['k8s_POD_web-0', 'k8s_nginx_web-0'],
    );
    const shop = roots[2];
    assert.equal(shop.description, '2 services · 2 containers');
    assert.match(shop.tooltip!, /^Compose project shop\nservices db, web\n2 containers\nworking directory \/srv\/shop\ncompose files /);
    const members = await children(shop);
    assert.deepEqual(
      members.map((n) => [n.label, n.target?.containerId]),
      [
        ['shop-db-1', shopDb.id],
        ['shop-web-1', shopWeb.id],
      ],
    );
    // The service leads the container's description, and its tooltip names the project.
    assert.equal(members[1].description, 'web · xray-test-busybox:1 · running');
    assert.ok(members[1].tooltip!.includes('in Compose project shop, service web'));
    assert.deepEqual(
      (await children(roots[3])).map((n) => n.label),
      ['another', 'loner'],
    );
  });

  it('shows the containers as plain rows when none is in a project, as before', () => {
    const plain = snapshotOf([loner, another]);
    assert.deepEqual(
      containerNodes(plain, noLayers).map((n) => n.id),
      [`c:${another.id}`, `c:${loner.id}`],
    );
  });

  it('groups by image, by state, or not at all, pods still first', async () => {
    const byImage = containerNodes(snap, noLayers, { groupBy: 'image' });
    assert.deepEqual(
      byImage.map((n) => n.label),
      ['web-0', 'nginx:1.27', 'postgres:16', 'xray-test-busybox:1'],
    );
    assert.deepEqual(
      (await children(byImage[3])).map((n) => n.label),
      ['blog_app_1', 'shop-web-1'],
    );
    const byState = containerNodes(snap, noLayers, { groupBy: 'state' });
    assert.deepEqual(
      byState.map((n) => [n.label, n.id.startsWith('pod:') ? 'pod' : n.description]),
      [
        ['web-0', 'pod'],
        ['running', '3 containers'],
        ['paused', '1 container'],
        ['exited', '1 container'],
      ],
    );
    const none = containerNodes(snap, noLayers, { groupBy: 'none' });
    assert.deepEqual(
      none.map((n) => n.label),
      ['web-0', 'another', 'blog_app_1', 'loner', 'shop-db-1', 'shop-web-1'],
    );
  });

  it('with a filter, shows only the matching containers, and a pod with only its matching members', async () => {
    const roots = containerNodes(snap, noLayers, { filter: 'nginx' });
    assert.deepEqual(
      roots.map((n) => n.id),
      ['pod:kubernetes:uid-web-0', 'group:noProject'],
    );
    assert.match(roots[0].description!, /1 of 2 containers/);
    assert.deepEqual(
      (await children(roots[0])).map((n) => n.label),
      ['k8s_nginx_web-0'],
    );
    assert.deepEqual(
      (await children(roots[1])).map((n) => n.label),
      ['another', 'loner'],
    );
    const web = containerNodes(snap, noLayers, { filter: 'WEB-1' });
    assert.deepEqual(
      web.map((n) => n.id),
      ['group:compose:shop'],
    );
    assert.equal(web[0].description, '1 service · 1 container');
  });

  it('says so when the filter matches nothing, showing the filter as bounded, printable text', () => {
    const roots = containerNodes(snap, noLayers, { filter: `zz${HOSTILE}` });
    assert.equal(roots.length, 1);
    assert.equal(roots[0].label, 'No container matches the filter');
    assert.doesNotMatch(`${roots[0].description}${roots[0].tooltip}`, RAW_CONTROL);
    assert.ok(roots[0].description!.length <= 80 && roots[0].tooltip!.length < 500);
  });

  it('shows a hostile project and service as bounded, printable text', async () => {
    const evil = container('evil', { [COMPOSE_LABELS.project]: HOSTILE, [COMPOSE_LABELS.service]: HOSTILE });
    const [g] = containerNodes(snapshotOf([evil]), noLayers);
    assert.equal(g.collapsible, 'expanded');
    for (const s of [g.label, g.description, ...g.tooltip!.split('\n')]) assert.doesNotMatch(s!, RAW_CONTROL);
    assert.ok(g.label.length <= 80);
    assert.ok(g.tooltip!.length < 1000);
    assert.ok(g.label.startsWith('<img src=x onerror=alert(1)>\\x1b[2J\\u202e\\n'), g.label);
    const [c] = await children(g);
    for (const s of [c.label, c.description, ...c.tooltip!.split('\n')]) assert.doesNotMatch(s!, RAW_CONTROL);
    assert.ok(c.description!.length < 200, String(c.description!.length));
  });

  it('filters the Images view and tells the filter in the description', () => {
    const img = (id: string, tag: string): ImageFacts => ({
      id: `sha256:${id.repeat(64).slice(0, 64)}`,
      tags: [tag],
      repoDigests: [],
      created: '',
      sizeBytes: 0,
      layers: [],
      sharedBytes: 0,
      containers: [],
    });
    const images = [img('a', 'nginx:1.27'), img('b', 'postgres:16')];
    assert.deepEqual(
      imageNodes(images, new Map(), { filter: 'post' }).map((n) => n.label),
      ['postgres:16'],
    );
    assert.equal(imageNodes(images, new Map(), { filter: 'nothing' })[0].label, 'No image matches the filter');
    assert.equal(imageNodes(images, new Map()).length, 2);
    assert.equal(viewDescription('3 running', ''), '3 running');
    assert.equal(viewDescription('1 of 3', 'web'), '1 of 3 · filter: web');
    const hostile = viewDescription('0 of 3', HOSTILE);
    assert.doesNotMatch(hostile, RAW_CONTROL);
    assert.ok(hostile.length < 90, String(hostile.length));
  });
});

describe('the CLI table by Compose project', () => {
  it('prints pods, then each project under its heading with its services, then the containers in no project', () => {
    const lines = renderSnapshot(snap).split('\n');
    const headings = lines.filter((l) => /^(Pod|Compose project|No Compose project) /.test(l));
    assert.deepEqual(headings.slice(1), [
      'Compose project blog (1 service, 1 container)',
      'Compose project shop (2 services, 2 containers)',
      'No Compose project (2 containers)',
    ]);
    const at = (h: string) => lines.indexOf(h);
    const rowsUnder = (h: string, n: number) => lines.slice(at(h) + 1, at(h) + 1 + n).map((l) => /^ {2}(\S+)\s/.exec(l)?.[1]);
    assert.deepEqual(rowsUnder('Compose project shop (2 services, 2 containers)', 2), ['shop-db-1', 'shop-web-1']);
    assert.deepEqual(rowsUnder('No Compose project (2 containers)', 2), ['another', 'loner']);
    const web = lines.find((l) => l.startsWith('  shop-web-1 '))!;
    assert.ok(web.endsWith('service web'), web);
  });

  it('prints no heading when no container is in a project, and a hostile project as bounded, printable text', () => {
    const plain = renderSnapshot(snapshotOf([loner, another]));
    assert.doesNotMatch(plain, /Compose project/);
    assert.match(plain.split('\n')[1], /^another\s/);
    const evil = container('evil', { [COMPOSE_LABELS.project]: HOSTILE, [COMPOSE_LABELS.service]: HOSTILE });
    const out = renderSnapshot(snapshotOf([evil]));
    assert.doesNotMatch(out.replace(/\n/g, ''), RAW_CONTROL);
    const heading = out.split('\n').find((l) => l.startsWith('Compose project '))!;
    assert.ok(heading.length < 200, String(heading.length));
    assert.ok(heading.startsWith('Compose project <img src=x onerror=alert(1)>\\x1b[2J\\u202e\\n'), heading);
  });
});
