// A real Compose project: Debian's docker-compose (1.29) brings up three services from a compose file in a
// temporary directory and labels their containers (com.docker.compose.project, .service,
// .project.working_dir, .project.config_files) as Compose v2 does. The engine's snapshot, the tree's
// grouping and filter, and the CLI's table and JSON must place each container in its project and service as
// `docker inspect` and `docker ps --filter label=…` tell, whatever else runs on the machine.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { Engine } from '../../src/core/engine';
import { XrayNode, containerNodes } from '../../src/extension/tree/nodes';
import { COMPOSE_LABELS, groupContainers } from '../../src/shared/compose';
import { ContainerSnapshot, Snapshot } from '../../src/shared/model';
import { ComposeProject, composeUp } from '../support/compose';
import { Target, engineOptions, inspectOn, openTarget, suiteTargets } from '../support/targets';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const PROJECT = 'xray-it-compose';
const SERVICES = ['api', 'web', 'worker'];

interface Inspected {
  Id: string;
  Name: string;
  Config: { Labels: Record<string, string> };
}

function cli(args: string[]) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 256 * 1024 * 1024, timeout: 120000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function children(n: XrayNode): Promise<XrayNode[]> {
  return (await n.children?.()) ?? [];
}

// docker-compose 1.29 talks to this machine's Docker socket (it has no ssh:// or TLS endpoint of the VM
// targets configured, and the Podman targets are no Docker API it supports), so this suite runs on `local` only.
for (const target of suiteTargets().filter((x) => x === 'local')) {
  describe(`a Compose project brought up by docker-compose (${target})`, function () {
    this.timeout(180000);
    let t: Target;
    let dir = '';
    let project: ComposeProject | undefined;
    /** The oracle: the project's containers as `docker ps --filter label=…` lists them, and their `docker inspect`. */
    let oracle: Inspected[] = [];

    before(async () => {
      t = await openTarget(target);
      // No network of the project's own: web has none, the others join web's (one net namespace, three containers).
      project = await composeUp(PROJECT, {
        web: { network: 'none' },
        api: { network: { service: 'web' } },
        worker: { network: { service: 'web' } },
      });
      dir = project.dir;
      const ids = project.ids;
      oracle = await Promise.all(ids.map((id) => inspectOn<Inspected>(t, id)));
      assert.deepEqual(
        oracle.map((o) => o.Config.Labels[COMPOSE_LABELS.service]).sort(),
        SERVICES,
        'docker-compose made one container per service',
      );
    });

    after(async () => {
      await project?.down();
    });

    /** Every container of the snapshot carries the project its labels (as docker inspect shows them) name, and no other. */
    function checkCompose(snap: Snapshot, from: string): void {
      for (const o of oracle) {
        const c = snap.containers.find((x) => x.id === o.Id);
        assert.ok(c, `${from}: ${o.Name} is in the snapshot`);
        const l = o.Config.Labels;
        assert.deepEqual(
          c.compose,
          {
            project: l[COMPOSE_LABELS.project],
            service: l[COMPOSE_LABELS.service],
            workingDir: l[COMPOSE_LABELS.workingDir],
            configFiles: l[COMPOSE_LABELS.configFiles].split(','),
          },
          `${from}: ${o.Name}'s compose`,
        );
        assert.equal(c.compose?.project, PROJECT);
        assert.equal(fs.realpathSync(c.compose!.workingDir!), fs.realpathSync(dir), `${from}: the working directory is where the file is`);
      }
      const ours = new Set(oracle.map((o) => o.Id));
      const others = snap.containers.filter((c) => !ours.has(c.id));
      for (const c of others) assert.notEqual(c.compose?.project, PROJECT, `${from}: ${c.name} is not in the project`);
    }

    it("the engine's snapshot places each container in its project and service; the tree groups them and the filter finds one", async () => {
      const engine = await Engine.create(engineOptions(t));
      let snap: Snapshot;
      try {
        snap = await engine.snapshot();
      } finally {
        await engine.dispose();
      }
      checkCompose(snap, 'engine');
      const ids = oracle.map((o) => o.Id).sort();

      const { groups } = groupContainers(snap.containers, 'compose');
      const group = groups.find((g) => g.kind === 'compose' && g.key === PROJECT);
      assert.ok(group, JSON.stringify(groups.map((g) => g.key)));
      assert.deepEqual(group.containers.map((c) => c.id).sort(), ids);
      assert.deepEqual(
        group.containers.map((c) => c.compose?.service),
        SERVICES,
        'the members by service',
      );

      const noLayers = () => Promise.reject(new Error('not needed'));
      const roots = containerNodes(snap, noLayers);
      const node = roots.find((n) => n.label === PROJECT);
      assert.ok(node, roots.map((n) => n.label).join(', '));
      assert.equal(node.description, '3 services · 3 containers');
      const members = await children(node);
      assert.deepEqual(members.map((m) => m.target?.containerId).sort(), ids);
      // Containers in no project come after every project, under their own group.
      const noProject = roots.findIndex((n) => n.id === 'group:noProject');
      if (snap.containers.some((c) => c.compose === null && c.pod === null))
        assert.ok(noProject > roots.indexOf(node), roots.map((n) => n.label).join(', '));

      // The filter, by part of one container's name (as docker inspect names it).
      const worker = oracle.find((o) => o.Config.Labels[COMPOSE_LABELS.service] === 'worker')!;
      const part = worker.Name.replace(/^\//, '').slice(PROJECT.length - 4);
      const filtered = containerNodes(snap, noLayers, { filter: part.toUpperCase() });
      const all = (await Promise.all(filtered.map(async (n) => (n.target?.containerId ? [n] : children(n))))).flat();
      const matched = snap.containers.filter((c) => c.name.toLowerCase().includes(part.toLowerCase()));
      assert.deepEqual(all.map((n) => n.target?.containerId).sort(), matched.map((c) => c.id).sort());
      assert.ok(
        all.some((n) => n.target?.containerId === worker.Id),
        `the filter "${part}" finds ${worker.Name}`,
      );
      // By label, key=value as docker ps filters it.
      const byLabel = containerNodes(snap, noLayers, { filter: `${COMPOSE_LABELS.project}=${PROJECT}` });
      assert.deepEqual(
        byLabel.map((n) => n.label),
        [PROJECT],
      );
      assert.deepEqual((await children(byLabel[0])).map((m) => m.target?.containerId).sort(), ids);
    });

    it('snapshot prints the project under its heading, its services in order; --json carries the project and follows the schema', () => {
      const json = cli(['snapshot', '--json']);
      assert.equal(json.code, 0, json.stderr);
      const snap = JSON.parse(json.stdout) as Snapshot;
      const validate = new Ajv({ allErrors: true, strict: false }).compile(
        JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'snapshot.schema.json'), 'utf8')),
      );
      assert.ok(validate(snap), JSON.stringify(validate.errors, null, 2));
      checkCompose(snap, 'cli --json');

      const table = cli(['snapshot']);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.split('\n');
      const heading = lines.indexOf(`Compose project ${PROJECT} (3 services, 3 containers)`);
      assert.ok(heading > 0, table.stdout);
      const byService = new Map(oracle.map((o) => [o.Config.Labels[COMPOSE_LABELS.service], o]));
      const rows = lines.slice(heading + 1, heading + 4);
      rows.forEach((row, i) => {
        const o = byService.get(SERVICES[i])!;
        const name = o.Name.replace(/^\//, '');
        assert.ok(row.startsWith(`  ${name} `), `row ${i} is ${name}: ${row}`);
        assert.ok(row.includes(o.Id.slice(0, 12)), row);
        assert.ok(row.endsWith(`service ${SERVICES[i]}`), row);
      });
      // Every container the table lists under no heading of its own is in no project: none of ours is left outside.
      const outside = lines.filter((l, i) => (i < heading || i > heading + 3) && oracle.some((o) => l.includes(o.Id.slice(0, 12))));
      assert.deepEqual(outside, [], 'no member of the project is listed outside its heading');
      const containers: ContainerSnapshot[] = snap.containers.filter((c) => c.compose?.project === PROJECT);
      assert.equal(containers.length, 3);
    });
  });
}
