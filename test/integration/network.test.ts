// Each container's network namespace on every target, against what iproute2 says on the daemon's machine:
// `nsenter -t PID -n ip -o addr | ip -o link | ip -4 route | ss -ltnpe` inside the container's namespace
// (netlink and sock_diag, not the /proc files the engine reads), and `ip -o link` in the host's namespace
// for the host end of each veth pair and its bridge. Containers: one listening on a port on the default
// network, one sharing its network namespace, two on a network of the suite's own, one in the host's
// network, one with none.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { Engine } from '../../src/core/engine';
import { ContainerSnapshot, Snapshot } from '../../src/shared/model';
import { Target, cliArgs, engineOptions, hostNamespacesOn, openTarget, removeOn, runOn, suiteTargets } from '../support/targets';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

interface LinkLine {
  index: number;
  name: string;
  /** The index after `@if`: the peer's, for a veth. */
  peer: number | null;
  master: string | null;
}

/** `ip -o link` lines: `33: veth7d286e9@if32: <…> mtu 1500 … master docker0 state UP …`. */
function parseLinks(text: string): LinkLine[] {
  const out: LinkLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):\s+([^:@\s]+)(?:@(?:if(\d+)|[^:\s]+))?:/.exec(line);
    if (!m) continue;
    out.push({ index: Number(m[1]), name: m[2], peer: m[3] ? Number(m[3]) : null, master: / master (\S+)/.exec(line)?.[1] ?? null });
  }
  return out;
}

/** `ip -o addr` lines: `32: eth0    inet 172.17.0.2/16 brd …` → interface → CIDRs. */
function parseAddrs(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet6?\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = m[1].replace(/@.*$/, '');
    out.set(name, new Set([...(out.get(name) ?? []), m[2]]));
  }
  return out;
}

// Against this machine's engine: the VM targets' runs of this suite are the next step (they add minutes per
// target under emulation to a CI run that must stay within its time; the README says so).
for (const target of suiteTargets().filter((x) => x === 'local')) {
  describe(`network namespaces (${target})`, function () {
    this.timeout(target === 'local' ? 180_000 : 900_000);
    let t: Target;
    let engine: Engine;
    let snap: Snapshot;
    const ids: Record<string, string> = {};
    const netName = `xray-it-net-${process.pid}`;
    let netMade = false;

    const byName = (name: string): ContainerSnapshot => {
      const c = snap.containers.find((x) => x.id === ids[name]);
      assert.ok(c, `${name} is in the snapshot`);
      return c;
    };
    /** iproute2 inside the container's network namespace, on the daemon's machine. */
    const inside = (pid: number, cmd: string) => t.sh(`nsenter -t ${pid} -n ${cmd}`);

    before(async function () {
      this.timeout(900_000);
      t = await openTarget(target);
      const img = t.helperImage;
      ids.listener = await runOn(t, ['--name', `xray-it-net-listen-${process.pid}`, img, 'sh', '-c', 'nc -l -p 8080; sleep 3600']);
      ids.sharer = await runOn(t, [
        '--name',
        `xray-it-net-share-${process.pid}`,
        '--network',
        `container:${ids.listener}`,
        img,
        'sleep',
        '3600',
      ]);
      await t.docker(['network', 'create', netName]);
      netMade = true;
      ids.a = await runOn(t, ['--name', `xray-it-net-a-${process.pid}`, '--network', netName, img, 'sleep', '3600']);
      ids.b = await runOn(t, ['--name', `xray-it-net-b-${process.pid}`, '--network', netName, img, 'sleep', '3600']);
      ids.host = await runOn(t, ['--name', `xray-it-net-host-${process.pid}`, '--network', 'host', img, 'sleep', '3600']);
      ids.none = await runOn(t, ['--name', `xray-it-net-none-${process.pid}`, '--network', 'none', img, 'sleep', '3600']);
      engine = await Engine.create(engineOptions(t, { helperIdleMs: 300_000 }));
      snap = await engine.snapshot({ containers: Object.values(ids), network: true });
    });

    after(async function () {
      this.timeout(300_000);
      await engine?.dispose();
      if (t) await removeOn(t, Object.values(ids));
      if (t && netMade) await t.docker(['network', 'rm', netName]).catch(() => undefined);
    });

    it('lists each interface with the addresses ip addr shows in its namespace', async () => {
      for (const name of ['listener', 'a', 'b', 'none']) {
        const c = byName(name);
        assert.ok(c.network, `${name}: network read (${JSON.stringify(c.errors)})`);
        const oracle = parseAddrs(await inside(c.pid!, 'ip -o addr'));
        const links = parseLinks(await inside(c.pid!, 'ip -o link'));
        assert.deepEqual(
          c.network.interfaces.map((i) => i.name).sort(),
          links.map((l) => l.name).sort(),
          `${name}: the interfaces ip link lists`,
        );
        for (const i of c.network.interfaces) {
          assert.deepEqual(new Set(i.addresses), oracle.get(i.name) ?? new Set(), `${name} ${i.name}: addresses`);
          assert.equal(i.index, links.find((l) => l.name === i.name)?.index, `${name} ${i.name}: index`);
        }
      }
      assert.deepEqual(
        byName('none').network!.interfaces.map((i) => i.name),
        ['lo'],
        '--network none has loopback only',
      );
    });

    it("finds the host end of each veth pair and its bridge, as ip link shows them in the host's namespace", async () => {
      const hostLinks = parseLinks(await t.sh('ip -o link'));
      for (const name of ['listener', 'a', 'b']) {
        const c = byName(name);
        const eth = parseLinks(await inside(c.pid!, 'ip -o link')).find((l) => l.peer !== null);
        const mine = c.network!.interfaces.find((i) => i.name === eth?.name);
        const hostEnd = eth ? hostLinks.find((l) => l.index === eth.peer && l.peer === eth.index) : undefined;
        // Indexes are per namespace (netavark gives every container's eth0 index 2): where several host
        // interfaces link to the same index, /proc and sysfs cannot tell which is this one's, and the engine says so.
        const linking = eth ? hostLinks.filter((l) => l.peer === eth.index) : [];
        if (hostEnd && linking.length > 1) {
          assert.equal(mine?.peer ?? null, null, `${name}: no guess among ${linking.length} host interfaces`);
          assert.ok(
            c.network!.errors.some((e) => e.field === 'network.peers' && e.reason.includes(hostEnd.name)),
            `${name}: the error names the candidates: ${JSON.stringify(c.network!.errors)}`,
          );
          continue;
        }
        if (!hostEnd) {
          // Rootless Podman's containers reach out through pasta (a tap in the user's namespace): no veth has
          // an end in the host's namespace, so none is shown; its helper cannot read PID 1's /sys either.
          assert.ok(t.rootless, `${name}: a rootful container's veth has a host end (${eth?.name}@if${eth?.peer})`);
          assert.equal(mine?.peer ?? null, null, `${name}: no host end shown where the host has none`);
          continue;
        }
        assert.ok(mine?.peer, `${name}: the host end of ${eth!.name} is found (${JSON.stringify(c.network!.errors)})`);
        assert.equal(mine.peer.index, hostEnd.index);
        assert.equal(mine.peer.name, hostEnd.name);
        assert.equal(mine.peer.bridge, hostEnd.master);
      }
      // Two containers on one network hang off one bridge; the default network's is another.
      const bridge = (n: string) => byName(n).network!.interfaces.find((i) => i.peer)?.peer?.bridge ?? null;
      if (!t.rootless && t.runtime === 'docker') {
        assert.ok(bridge('a'), 'a is on a bridge');
        assert.equal(bridge('a'), bridge('b'), 'a and b are on the same bridge');
        assert.notEqual(bridge('a'), bridge('listener'), "the suite's network has its own bridge");
      }
    });

    it('lists the IPv4 routes ip route shows', async () => {
      for (const name of ['listener', 'a']) {
        const c = byName(name);
        const oracle = (await inside(c.pid!, 'ip -4 route'))
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const dest = l.split(' ')[0];
            return `${dest === 'default' ? '0.0.0.0/0' : dest} ${/ via (\S+)/.exec(l)?.[1] ?? '-'} ${/ dev (\S+)/.exec(l)?.[1]}`;
          })
          .sort();
        const mine = c.network!.routes.map((r) => `${r.destination} ${r.gateway ?? '-'} ${r.iface}`).sort();
        assert.deepEqual(mine, oracle, `${name}: routes`);
      }
    });

    it('lists the listening socket with the process holding it, as ss (sock_diag) does', async () => {
      const c = byName('listener');
      const ss = await inside(c.pid!, 'ss -ltnpeH');
      const line = ss.split('\n').find((l) => /:8080\s/.test(l));
      assert.ok(line, `ss lists port 8080: ${ss}`);
      const inode = Number(/ino:(\d+)/.exec(line)![1]);
      const pid = Number(/pid=(\d+)/.exec(line)![1]);
      const mine = c.network!.listening.find((s) => s.port === 8080);
      assert.ok(mine, `port 8080 is listed: ${JSON.stringify(c.network!.listening)}`);
      assert.equal(mine.protocol, 'tcp');
      assert.equal(mine.inode, inode);
      assert.deepEqual(
        mine.processes.map((p) => p.hostPid),
        [pid],
        'held by the process ss names',
      );
      assert.equal(mine.processes[0].name, 'nc');
      // On a network of its own Docker's embedded DNS listens in the namespace (127.0.0.11, held by dockerd, not
      // by the container): every socket ss lists there is listed, and nothing else.
      const a = byName('a');
      const ssA = (await inside(a.pid!, 'ss -ltunH'))
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const f = l.trim().split(/\s+/);
          return `${f[0]} ${Number(/:(\d+)$/.exec(f[4])![1])}`;
        })
        .sort();
      assert.deepEqual(a.network!.listening.map((x) => `${x.protocol} ${x.port}`).sort(), ssA);
    });

    it('gives containers in one network namespace the same account, each naming the other', () => {
      const l = byName('listener');
      const s = byName('sharer');
      assert.equal(s.network!.namespace, l.network!.namespace);
      assert.equal(s.network!.namespace, l.namespaces!.net);
      assert.deepEqual(l.network!.sharedWith, [ids.sharer]);
      assert.deepEqual(s.network!.sharedWith, [ids.listener]);
      assert.ok(
        s.network!.listening.some((x) => x.port === 8080),
        "the sharer sees the listener's socket: it is in the same namespace",
      );
    });

    it("says a --network host container is in the host's namespace, with no veth ends", async () => {
      const h = byName('host');
      const host = await hostNamespacesOn(t);
      assert.equal(h.network!.namespace, h.namespaces!.net);
      if (!t.rootless) {
        assert.equal(h.network!.namespace, host.namespaces.net, "the host's network namespace");
        assert.equal(h.network!.hostNetwork, true);
      }
      assert.ok(
        h.network!.interfaces.every((i) => i.peer === null),
        'no interface of the host namespace is shown as a veth end',
      );
      assert.equal(byName('a').network!.hostNetwork, false);
    });

    it('container-xray network --json and snapshot --network --json give the same, in the schema', () => {
      const run = (args: string[]) => {
        const r = spawnSync(process.execPath, [CLI, ...cliArgs(t), ...args], {
          encoding: 'utf8',
          timeout: 600_000,
          maxBuffer: 64 * 1024 * 1024,
        });
        assert.equal(r.status, 0, `container-xray ${args.join(' ')}: ${r.stderr}`);
        return JSON.parse(r.stdout) as unknown;
      };
      const net = run(['network', ids.a, '--json']) as { containers: { id: string; network: ContainerSnapshot['network'] }[] };
      const mine = net.containers.find((c) => c.id === ids.a);
      assert.ok(mine?.network);
      assert.deepEqual(
        mine.network.interfaces.map((i) => [i.name, i.addresses, i.peer?.name ?? null]),
        byName('a').network!.interfaces.map((i) => [i.name, i.addresses, i.peer?.name ?? null]),
      );
      const full = run(['snapshot', '--network', '--json', ids.listener, ids.sharer]);
      const validate = new Ajv({ allErrors: true, strict: false }).compile(
        JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'snapshot.schema.json'), 'utf8')),
      );
      assert.ok(validate(full), JSON.stringify(validate.errors));
    });
  });
}
