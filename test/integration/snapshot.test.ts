import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Engine } from '../../src/core/engine';
import { DirectHostFiles, HostFiles } from '../../src/core/util/hostFiles';
import { ContainerSnapshot, HOST_MEMBER, NAMESPACE_TYPES, Snapshot } from '../../src/shared/model';
import {
  docker,
  ensureBaseImage,
  inspect,
  lsnsOfPid,
  readlinkNamespaces,
  removeContainers,
  requireDocker,
  runContainer,
} from '../support/docker';

interface InspectInfo {
  Id: string;
  State: { Pid: number };
  HostConfig: { Memory: number; NanoCpus: number; PidsLimit: number | null; CpusetCpus: string; MemorySwap: number };
  GraphDriver: { Data: { LowerDir: string; UpperDir: string; MergedDir: string; WorkDir: string } };
}

describe('snapshot on the real engine', function () {
  this.timeout(180000);
  const ids: Record<string, string> = {};
  let engine: Engine;
  let snap: Snapshot;

  const byName = (s: Snapshot, name: string): ContainerSnapshot => {
    const c = s.containers.find((x) => x.id === ids[name]);
    assert.ok(c, `container ${name} is in the snapshot`);
    return c;
  };

  before(async () => {
    requireDocker();
    const image = await ensureBaseImage();
    ids.limited = await runContainer([
      '--name',
      'xray-it-limited',
      '--network',
      'none',
      '--ipc',
      'shareable',
      '--memory',
      '64m',
      '--cpus',
      '0.5',
      '--pids-limit',
      '50',
      '--cpuset-cpus',
      '0',
      image,
      'sh',
      '-c',
      'sleep 1001 & sleep 1002 & exec sleep 1003',
    ]);
    ids.joined = await runContainer([
      '--name',
      'xray-it-joined',
      '--network',
      'container:xray-it-limited',
      '--pid',
      'container:xray-it-limited',
      '--ipc',
      'container:xray-it-limited',
      image,
      'sleep',
      '1004',
    ]);
    ids.hostnet = await runContainer(['--name', 'xray-it-hostnet', '--network', 'host', image, 'sleep', '1005']);
    ids.hostpid = await runContainer(['--name', 'xray-it-hostpid', '--network', 'none', '--pid', 'host', image, 'sleep', '1006']);
    ids.alone = await runContainer(['--name', 'xray-it-alone', '--network', 'none', image, 'sleep', '1007']);
    engine = await Engine.create({ diskCache: false });
    snap = await engine.snapshot();
  });

  after(async () => {
    await removeContainers(Object.values(ids));
  });

  it('lists every running container with its name, image and init PID as docker inspect reports them', async () => {
    const running = (await docker(['ps', '-q', '--no-trunc'])).split('\n').filter(Boolean).sort();
    assert.deepEqual(snap.containers.map((c) => c.id).sort(), running);
    for (const [name, id] of Object.entries(ids)) {
      const info = await inspect<InspectInfo>(id);
      const c = byName(snap, name);
      assert.equal(c.name, `xray-it-${name}`);
      assert.equal(c.pid, info.State.Pid, `${name}: host PID of init`);
      assert.equal(c.state, 'running');
    }
  });

  it('reads each namespace inode exactly as readlink /proc/PID/ns/* and lsns -p report it', () => {
    for (const name of Object.keys(ids)) {
      const c = byName(snap, name);
      const oracle = readlinkNamespaces(c.pid!);
      const fromLsns = lsnsOfPid(c.pid!);
      for (const t of NAMESPACE_TYPES) {
        assert.equal(c.namespaces?.[t], oracle[t], `${name} ${t} vs readlink`);
        assert.equal(c.namespaces?.[t], fromLsns[t], `${name} ${t} vs lsns`);
      }
    }
  });

  it('groups shared namespaces: container:x joins share net, pid and ipc; host modes share the host', () => {
    const group = (type: string, id: string) => snap.namespaceGroups.find((g) => g.type === type && g.members.includes(id));
    for (const t of ['net', 'pid', 'ipc']) {
      const g = group(t, ids.joined);
      assert.ok(g, `${t} group of joined`);
      assert.deepEqual([...g.members].sort(), [ids.limited, ids.joined].sort(), `${t} is shared by exactly limited and joined`);
    }
    // uts and mnt stay private to each container even when it joins another's network.
    assert.deepEqual(group('uts', ids.joined)!.members, [ids.joined]);
    assert.deepEqual(group('mnt', ids.joined)!.members, [ids.joined]);
    const hostNet = group('net', ids.hostnet)!;
    assert.ok(hostNet.members.includes(HOST_MEMBER), `--network host shares the host's net namespace (${snap.hostNamespacesFrom})`);
    assert.equal(hostNet.inode, readlinkNamespaces(process.pid).net);
    const hostPid = group('pid', ids.hostpid)!;
    assert.ok(hostPid.members.includes(HOST_MEMBER), '--pid host shares the host pid namespace');
    assert.deepEqual(group('net', ids.alone)!.members, [ids.alone], '--network none is alone');
    // Every (type, inode) appears in exactly one group.
    const keys = snap.namespaceGroups.map((g) => `${g.type}:${g.inode}`);
    assert.equal(new Set(keys).size, keys.length);
  });

  it('lists processes with host PIDs as docker top shows them and container PIDs as ps inside shows them', async () => {
    for (const name of ['limited', 'joined', 'alone']) {
      const c = byName(snap, name);
      const top = (await docker(['top', ids[name], '-o', 'pid,args'])).split('\n').slice(1).filter(Boolean);
      const topPids = top.map((l) => Number(l.trim().split(/\s+/)[0])).sort((a, b) => a - b);
      assert.deepEqual(
        c.processes.map((p) => p.hostPid).sort((a, b) => a - b),
        topPids,
        `${name}: host PIDs vs docker top`,
      );
      for (const line of top) {
        const [pid, ...args] = line.trim().split(/\s+/);
        const p = c.processes.find((x) => x.hostPid === Number(pid))!;
        assert.equal(p.command, args.join(' '), `${name}: command of ${pid}`);
      }
    }
    // Inside limited's PID namespace the init is PID 1 and its children follow; ps inside is the oracle.
    const inside = (await docker(['exec', ids.limited, 'ps', '-o', 'pid,args'])).split('\n').slice(1).filter(Boolean);
    const limited = byName(snap, 'limited');
    for (const p of limited.processes) {
      const line = inside.find((l) => Number(l.trim().split(/\s+/)[0]) === p.containerPid);
      assert.ok(line, `container PID ${p.containerPid} (${p.command}) is listed by ps inside the container`);
      assert.ok(line.includes(p.command), `ps inside shows ${p.command} for PID ${p.containerPid}`);
    }
    assert.equal(limited.processes.find((p) => p.hostPid === limited.pid)?.containerPid, 1);
    const joined = byName(snap, 'joined');
    assert.ok(joined.processes[0].containerPid! > 1, 'a process that joined another pid namespace is not PID 1 there');
    assert.equal(limited.processes.length, 3);
    assert.ok(limited.processes.every((p) => p.user === 'root' && p.uid === 0));
  });

  it('reads cgroup limits that agree with docker inspect, and unlimited as null', async () => {
    const info = await inspect<InspectInfo>(ids.limited);
    const c = byName(snap, 'limited');
    assert.ok(c.cgroup, 'cgroup read');
    const l = c.cgroup.limits;
    assert.equal(l.memoryBytes, info.HostConfig.Memory);
    assert.equal(l.memoryBytes, 64 * 1024 * 1024);
    assert.equal(l.cpus, info.HostConfig.NanoCpus / 1e9);
    assert.equal(l.cpus, 0.5);
    assert.equal(l.pidsMax, info.HostConfig.PidsLimit);
    assert.equal(l.pidsMax, 50);
    assert.equal(l.cpusetCpus, info.HostConfig.CpusetCpus);
    assert.equal(l.memorySwapBytes, info.HostConfig.MemorySwap, 'docker sets memory+swap to twice the memory');
    assert.equal(c.cgroup.version, 1);
    assert.equal(c.cgroup.driver, 'cgroupfs');
    assert.equal(c.cgroup.path, `/docker/${ids.limited}`);
    const u = c.cgroup.usage;
    assert.equal(u.pidsCurrent, 3, 'three sleeps');
    assert.ok(u.memoryBytes! > 0 && u.memoryBytes! < 64 * 1024 * 1024);
    assert.ok(u.workingSetBytes! <= u.memoryBytes!);
    const alone = byName(snap, 'alone').cgroup!.limits;
    assert.equal(alone.memoryBytes, null);
    assert.equal(alone.cpus, null);
    assert.equal(alone.pidsMax, null);
    assert.equal(alone.cpusetCpus, null);
  });

  it('finds the overlay mount in /proc/PID/mountinfo that docker inspect names, init layer included', async () => {
    for (const name of ['limited', 'alone']) {
      const info = await inspect<InspectInfo>(ids[name]);
      const ov = byName(snap, name).overlay;
      assert.ok(ov, `${name} overlay`);
      assert.equal(ov.source, 'mountinfo');
      assert.equal(ov.upperDir, info.GraphDriver.Data.UpperDir);
      assert.equal(ov.workDir, info.GraphDriver.Data.WorkDir);
      assert.equal(ov.mergedDir, info.GraphDriver.Data.MergedDir);
      const inspectLower = info.GraphDriver.Data.LowerDir.split(':');
      assert.deepEqual(ov.stack.map((l) => l.resolved).reverse(), inspectLower, 'resolved lower dirs, top first, equal inspect LowerDir');
      assert.equal(ov.stack[ov.stack.length - 1].role, 'init');
      assert.ok(ov.stack.slice(0, -1).every((l) => l.role === 'image'));
    }
  });

  it('asks the daemon for one list call per snapshot once it is warm, and no per-container inspect', async () => {
    const again = await engine.snapshot();
    assert.deepEqual(again.daemonCalls, { list: 1 });
    assert.equal(again.containers.length, snap.containers.length);
  });

  it('reports a container that exits mid-read as gone while the others arrive', async () => {
    const victim = await runContainer(['--network', 'none', await ensureBaseImage(), 'sleep', '1008']);
    const victimPid = (await inspect<InspectInfo>(victim)).State.Pid;
    let killed = false;
    const direct = new DirectHostFiles();
    const killing: HostFiles = {
      kind: 'direct',
      readText: async (f) => {
        if (!killed && f.startsWith(`/proc/${victimPid}/`) && !f.endsWith('/cgroup')) {
          killed = true;
          execFileSync('docker', ['kill', victim]);
        }
        return direct.readText(f);
      },
      readBytes: (f) => direct.readBytes(f),
      readLink: async (f) => {
        if (!killed && f.startsWith(`/proc/${victimPid}/`)) {
          killed = true;
          execFileSync('docker', ['kill', victim]);
        }
        return direct.readLink(f);
      },
      listDir: (f) => direct.listDir(f),
    };
    try {
      const e = await Engine.create({ files: killing, diskCache: false });
      const s = await e.snapshot();
      assert.ok(killed, 'the container was killed during the read');
      const gone = s.containers.find((c) => c.id === victim)!;
      assert.equal(gone.state, 'gone');
      assert.match(gone.errors[0].reason, /exited/);
      const other = s.containers.find((c) => c.id === ids.limited)!;
      assert.equal(other.state, 'running');
      assert.equal(other.cgroup?.limits.memoryBytes, 64 * 1024 * 1024);
    } finally {
      await removeContainers([victim]);
    }
  });

  it('turns a missing permission into an error that names it, and still delivers the rest', async () => {
    const direct = new DirectHostFiles();
    const denyNs: HostFiles = {
      kind: 'direct',
      readText: (f) => direct.readText(f),
      readBytes: (f) => direct.readBytes(f),
      readLink: async (f) => {
        if (/^\/proc\/\d+\/ns\//.test(f)) throw Object.assign(new Error(`EACCES: permission denied, readlink '${f}'`), { code: 'EACCES' });
        return direct.readLink(f);
      },
      listDir: (f) => direct.listDir(f),
    };
    const e = await Engine.create({ files: denyNs, diskCache: false });
    const s = await e.snapshot({ containers: ['xray-it-limited'] });
    assert.equal(s.containers.length, 1);
    const c = s.containers[0];
    assert.equal(c.namespaces, null);
    const err = c.errors.find((x) => x.field === 'namespaces');
    assert.ok(err, 'a namespaces error');
    assert.match(err.reason, /root or CAP_SYS_PTRACE/);
    assert.equal(c.cgroup?.limits.pidsMax, 50, 'cgroup still read');
    assert.equal(c.processes.length, 3, 'processes still read');
  });

  it('names a container that names nothing', async () => {
    const s = await engine.snapshot({ containers: ['no-such-container-xyz'] });
    assert.equal(s.containers.length, 0);
    assert.match(s.errors.find((e) => e.field === 'containers')!.reason, /no-such-container-xyz/);
  });
});
