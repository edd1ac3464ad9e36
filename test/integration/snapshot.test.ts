// The engine's snapshot against every target: this machine's engine and each VM mode (cgroup v2 with the
// systemd driver, overlay2 or the containerd image store, reached through the helper over tcp). The same
// containers are made on each daemon and every check is read where they run: `docker inspect`/`top`/`exec`
// against that daemon, and readlink, lsns, /proc and cgroup files on the daemon's machine (`t.sh`).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Engine } from '../../src/core/engine';
import { DirectHostFiles, HostFiles } from '../../src/core/util/hostFiles';
import { ContainerSnapshot, HOST_MEMBER, NAMESPACE_TYPES, Snapshot } from '../../src/shared/model';
import {
  Target,
  cgroupFilesOn,
  delegatedControllersOn,
  engineOptions,
  expectedCgroupPathOn,
  hostNamespacesOn,
  inspectOn,
  lsnsOfPidOn,
  openTarget,
  readlinkNamespacesOn,
  removeOn,
  rootMountOn,
  runOn,
  runningOn,
  suiteTargets,
} from '../support/targets';

interface InspectInfo {
  Id: string;
  State: { Pid: number };
  HostConfig: { Memory: number; NanoCpus: number; PidsLimit: number | null; CpusetCpus: string; MemorySwap: number };
  GraphDriver: { Name: string; Data: { LowerDir: string; UpperDir: string; MergedDir: string; WorkDir: string } | null };
}

for (const target of suiteTargets()) {
  describe(`snapshot on the real engine (${target})`, function () {
    // A VM guest runs under emulation: a container start takes seconds there.
    this.timeout(target === 'local' ? 180000 : 900000);
    let t: Target;
    const ids: Record<string, string> = {};
    /** Containers running on that daemon before the suite made its own. */
    let existing: string[] = [];
    let engine: Engine;
    let snap: Snapshot;
    let psBefore: string[] = [];
    let psAfter: string[] = [];
    let version: number;
    let driver: string;

    const byName = (s: Snapshot, name: string): ContainerSnapshot => {
      const c = s.containers.find((x) => x.id === ids[name]);
      assert.ok(c, `container ${name} is in the snapshot`);
      assert.deepEqual(c.errors, [], `${name} was read whole`);
      return c;
    };

    before(async () => {
      t = await openTarget(target);
      const image = t.helperImage;
      existing = await runningOn(t);
      // Rootless Podman's containers get the controllers systemd delegates to the user (no cpuset there).
      const delegated = await delegatedControllersOn(t);
      const cpuset = !delegated || delegated.has('cpuset') ? ['--cpuset-cpus', '0'] : [];
      ids.limited = await runOn(t, [
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
        ...cpuset,
        image,
        'sh',
        '-c',
        'sleep 1001 & sleep 1002 & exec sleep 1003',
      ]);
      ids.joined = await runOn(t, [
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
      ids.hostnet = await runOn(t, ['--name', 'xray-it-hostnet', '--network', 'host', image, 'sleep', '1005']);
      ids.hostpid = await runOn(t, ['--name', 'xray-it-hostpid', '--network', 'none', '--pid', 'host', image, 'sleep', '1006']);
      ids.alone = await runOn(t, ['--name', 'xray-it-alone', '--network', 'none', image, 'sleep', '1007']);
      const [v, d] = (await t.docker(['info', '--format', '{{.CgroupVersion}} {{.CgroupDriver}}'])).trim().split(' ');
      version = Number(v);
      driver = d;
      // The helper stays for the suite (a VM target), so a warm snapshot costs one list call.
      engine = await Engine.create(engineOptions(t, { helperIdleMs: 300000 }));
      psBefore = await runningOn(t);
      snap = await engine.snapshot();
      psAfter = await runningOn(t);
    });

    after(async () => {
      await engine?.dispose();
      if (t) await removeOn(t, Object.values(ids));
    });

    it('lists every running container with its name, image and init PID as docker inspect reports them', async () => {
      // Other sessions may start and stop containers on the same daemon meanwhile: the check covers what
      // this suite made and what was already there.
      const scope = new Set([...existing, ...Object.values(ids)]);
      const listed = new Set(snap.containers.map((c) => c.id));
      for (const id of psBefore.filter((x) => psAfter.includes(x) && scope.has(x)))
        assert.ok(listed.has(id), `${id} ran during the whole snapshot and is in it`);
      for (const id of listed)
        if (scope.has(id)) assert.ok(psBefore.includes(id) || psAfter.includes(id), `${id} is running per docker ps`);
      for (const id of Object.values(ids)) assert.ok(listed.has(id));
      if (t.access === 'helper') {
        const helpers = engine.helpers.mine();
        assert.ok(helpers.length > 0, 'a helper container served the snapshot');
        for (const h of helpers) assert.ok(!listed.has(h), `the engine's own helper ${h} is not listed`);
      }
      for (const [name, id] of Object.entries(ids)) {
        const info = await inspectOn<InspectInfo>(t, id);
        const c = byName(snap, name);
        assert.equal(c.name, `xray-it-${name}`);
        assert.equal(c.pid, info.State.Pid, `${name}: host PID of init`);
        assert.equal(c.state, 'running');
        assert.equal(c.image, t.helperImage);
      }
    });

    it("reads each namespace inode exactly as readlink /proc/PID/ns/* and lsns -p report it on the daemon's machine", async () => {
      for (const name of Object.keys(ids)) {
        const c = byName(snap, name);
        const oracle = await readlinkNamespacesOn(t, c.pid!);
        const fromLsns = await lsnsOfPidOn(t, c.pid!);
        for (const type of NAMESPACE_TYPES) {
          assert.equal(c.namespaces?.[type], oracle[type], `${name} ${type} vs readlink`);
          assert.equal(c.namespaces?.[type], fromLsns[type], `${name} ${type} vs lsns`);
        }
      }
    });

    it("groups shared namespaces: container:x joins share net, pid and ipc; host modes share the daemon machine's", async () => {
      const group = (type: string, id: string) => snap.namespaceGroups.find((g) => g.type === type && g.members.includes(id));
      for (const type of ['net', 'pid', 'ipc']) {
        const g = group(type, ids.joined);
        assert.ok(g, `${type} group of joined`);
        assert.deepEqual([...g.members].sort(), [ids.limited, ids.joined].sort(), `${type} is shared by exactly limited and joined`);
      }
      // uts and mnt stay private to each container even when it joins another's network.
      assert.deepEqual(group('uts', ids.joined)!.members, [ids.joined]);
      assert.deepEqual(group('mnt', ids.joined)!.members, [ids.joined]);
      // The host is the daemon's machine (the guest on a VM target): its PID 1's namespaces.
      const host = await hostNamespacesOn(t);
      const hostNet = group('net', ids.hostnet)!;
      assert.ok(hostNet.members.includes(HOST_MEMBER), `--network host shares the host's net namespace (${snap.hostNamespacesFrom})`);
      assert.equal(hostNet.inode, host.namespaces.net, `the host net namespace is ${host.from}'s`);
      const hostPid = group('pid', ids.hostpid)!;
      assert.ok(hostPid.members.includes(HOST_MEMBER), '--pid host shares the host pid namespace');
      assert.equal(hostPid.inode, host.namespaces.pid, `the host pid namespace is ${host.from}'s`);
      assert.deepEqual(group('net', ids.alone)!.members, [ids.alone], '--network none is alone');
      // Every (type, inode) appears in exactly one group.
      const keys = snap.namespaceGroups.map((g) => `${g.type}:${g.inode}`);
      assert.equal(new Set(keys).size, keys.length);
    });

    it('lists processes with host PIDs as docker top shows them and container PIDs as ps inside shows them', async () => {
      for (const name of ['limited', 'joined', 'alone']) {
        const c = byName(snap, name);
        const top = (await t.docker(['top', ids[name], '-o', 'pid,args'])).split('\n').slice(1).filter(Boolean);
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
      const inside = (await t.docker(['exec', ids.limited, 'ps', '-o', 'pid,args'])).split('\n').slice(1).filter(Boolean);
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

    it("reads cgroup limits that agree with docker inspect and the daemon machine's cgroup files, and unlimited as null", async () => {
      const info = await inspectOn<InspectInfo>(t, ids.limited);
      const c = byName(snap, 'limited');
      assert.ok(c.cgroup, 'cgroup read');
      const l = c.cgroup.limits;
      assert.equal(l.memoryBytes, info.HostConfig.Memory);
      assert.equal(l.memoryBytes, 64 * 1024 * 1024);
      assert.equal(l.cpus, info.HostConfig.NanoCpus / 1e9);
      assert.equal(l.cpus, 0.5);
      assert.equal(l.pidsMax, info.HostConfig.PidsLimit);
      assert.equal(l.pidsMax, 50);
      // An empty CpusetCpus is no cpuset: null.
      assert.equal(l.cpusetCpus, info.HostConfig.CpusetCpus || null);
      // Docker sets memory+swap to twice the memory: v1 counts them together, v2 counts swap alone.
      assert.equal(l.memorySwapBytes, version === 1 ? info.HostConfig.MemorySwap : info.HostConfig.MemorySwap - info.HostConfig.Memory);
      assert.equal(c.cgroup.version, version, 'the cgroup version docker info reports');
      assert.equal(c.cgroup.driver, driver, 'the cgroup driver docker info reports');
      // The cgroup path as /proc/PID/cgroup on the daemon's machine names it (the memory line on v1).
      const procCgroup = await t.sh(`cat /proc/${c.pid}/cgroup`);
      const line = procCgroup.split('\n').find((x) => (version === 2 ? x.startsWith('0::') : /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(x)))!;
      assert.equal(c.cgroup.path, line.slice(line.lastIndexOf(':') + 1));
      assert.equal(c.cgroup.path, await expectedCgroupPathOn(t, ids.limited, driver));
      const u = c.cgroup.usage;
      assert.equal(u.pidsCurrent, 3, 'three sleeps');
      assert.ok(u.memoryBytes! > 0 && u.memoryBytes! < 64 * 1024 * 1024);
      assert.ok(u.workingSetBytes! <= u.memoryBytes!);

      const alone = byName(snap, 'alone');
      const aloneInfo = await inspectOn<InspectInfo>(t, ids.alone);
      const al = alone.cgroup!.limits;
      assert.equal(al.memoryBytes, null);
      assert.equal(al.cpus, null);
      assert.equal(al.cpusetCpus, null);
      // Docker sets no pids limit unless asked; Podman sets containers.conf's pids_limit (2048 by default).
      if (t.runtime === 'docker') assert.ok(!aloneInfo.HostConfig.PidsLimit, 'docker sets no pids limit on alone');
      else assert.equal(al.pidsMax, aloneInfo.HostConfig.PidsLimit || null, "Podman's default pids limit, as inspect reports it");
      // Under the systemd driver the scope still gets systemd's TasksMax, which the kernel enforces: the
      // engine reports pids.max as the kernel has it, a number there and `max` (null) under cgroupfs.
      const pidsMax = (await cgroupFilesOn(t, alone.pid!, [['pids', 'pids.max']]))['pids.max'];
      assert.equal(al.pidsMax, pidsMax === 'max' ? null : Number(pidsMax));
      if (driver === 'systemd') assert.ok(al.pidsMax !== null && al.pidsMax > 50, `TasksMax ${al.pidsMax} is a real limit`);
      else assert.equal(al.pidsMax, null);
    });

    it("finds the overlay mount that /proc/PID/mountinfo on the daemon's machine and docker inspect name, Docker's init layer included", async () => {
      for (const name of ['limited', 'alone']) {
        const info = await inspectOn<InspectInfo>(t, ids[name]);
        const c = byName(snap, name);
        const ov = c.overlay;
        assert.ok(ov, `${name} overlay`);
        assert.equal(ov.source, 'mountinfo');
        const oracle = await rootMountOn(t, c.pid!);
        assert.deepEqual(ov.lowerDirs, oracle.lowerDirs, 'lower dirs as mountinfo lists them, top first');
        assert.equal(ov.upperDir, oracle.upperDir);
        assert.equal(ov.workDir, oracle.workDir);
        assert.equal(ov.mergedDir, oracle.mergedDir, "merged dir: where the daemon's mount table mounts that overlay");
        const top = ov.stack[ov.stack.length - 1];
        if (t.runtime === 'podman') {
          // Podman makes no init layer (it bind-mounts /etc/hosts and the like): every lower dir is an image
          // layer, and inspect's LowerDir names them resolved, top first.
          assert.ok(
            ov.stack.every((l) => l.role === 'image'),
            ov.stack.map((l) => l.role).join(),
          );
          assert.equal(ov.upperDir, info.GraphDriver.Data!.UpperDir);
          assert.equal(ov.workDir, info.GraphDriver.Data!.WorkDir);
          assert.equal(ov.mergedDir, info.GraphDriver.Data!.MergedDir);
          assert.deepEqual(ov.stack.map((l) => l.resolved).reverse(), info.GraphDriver.Data!.LowerDir.split(':'));
          continue;
        }
        assert.equal(top.role, 'init');
        assert.ok(ov.stack.slice(0, -1).every((l) => l.role === 'image'));
        if (info.GraphDriver.Data) {
          // overlay2: inspect names the dirs too, the lower ones as the short links resolve.
          assert.equal(ov.upperDir, info.GraphDriver.Data.UpperDir);
          assert.equal(ov.workDir, info.GraphDriver.Data.WorkDir);
          assert.equal(ov.mergedDir, info.GraphDriver.Data.MergedDir);
          const inspectLower = info.GraphDriver.Data.LowerDir.split(':');
          assert.deepEqual(
            ov.stack.map((l) => l.resolved).reverse(),
            inspectLower,
            'resolved lower dirs, top first, equal inspect LowerDir',
          );
          assert.match(top.resolved!, /-init\/diff$/);
        } else {
          // The containerd image store: inspect has no GraphDriver data, the dirs are snapshots named by
          // number, and containerd says which one is the container's init snapshot.
          assert.equal(info.GraphDriver.Name, 'overlayfs');
          const parent = JSON.parse(await t.sh(`ctr -n moby snapshots info ${ids[name]}`)) as { Parent: string };
          assert.equal(parent.Parent, `${ids[name]}-init`, "the container's snapshot sits on its -init snapshot");
          const mounts = await t.sh(`ctr -n moby snapshots mounts /mnt ${ids[name]}`);
          const lower = /lowerdir=([^, \n]+)/.exec(mounts)![1].split(':');
          assert.deepEqual(ov.lowerDirs, lower, 'the lower dirs containerd mounts for the container snapshot');
          assert.equal(top.dir, lower[0], 'the init snapshot is the top lower dir');
          for (const l of ov.stack) assert.equal(l.snapshotId, /\/snapshots\/(\d+)\/fs$/.exec(l.dir)![1]);
          assert.equal(ov.upperSnapshotId, /\/snapshots\/(\d+)\/fs$/.exec(ov.upperDir!)![1]);
        }
      }
    });

    it('asks the daemon for one list call per snapshot once it is warm, and no per-container inspect', async () => {
      const again = await engine.snapshot();
      assert.deepEqual(again.daemonCalls, { list: 1 });
      for (const id of Object.values(ids)) assert.ok(again.containers.some((c) => c.id === id && c.state === 'running'));
    });

    it('names a container that names nothing', async () => {
      const s = await engine.snapshot({ containers: ['no-such-container-xyz'] });
      assert.equal(s.containers.length, 0);
      assert.match(s.errors.find((e) => e.field === 'containers')!.reason, /no-such-container-xyz/);
    });

    // Local only: these wrap this process's own file reads to inject a fault at an exact moment (a kill
    // between two reads of one container, EACCES on readlink). On a VM target the reads happen inside the
    // helper container on the guest, where no wrapper of this process can reach them.
    if (target === 'local') {
      it('reports a container that exits mid-read as gone while the others arrive', async () => {
        const victim = await runOn(t, ['--network', 'none', t.helperImage, 'sleep', '1008']);
        const victimPid = (await inspectOn<InspectInfo>(t, victim)).State.Pid;
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
          readConfined: (root, p, limits) => direct.readConfined(root, p, limits),
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
          await removeOn(t, [victim]);
        }
      });

      it('turns a missing permission into an error that names it, and still delivers the rest', async () => {
        const direct = new DirectHostFiles();
        const denyNs: HostFiles = {
          kind: 'direct',
          readText: (f) => direct.readText(f),
          readBytes: (f) => direct.readBytes(f),
          readLink: async (f) => {
            if (/^\/proc\/\d+\/ns\//.test(f))
              throw Object.assign(new Error(`EACCES: permission denied, readlink '${f}'`), { code: 'EACCES' });
            return direct.readLink(f);
          },
          listDir: (f) => direct.listDir(f),
          readConfined: (root, p, limits) => direct.readConfined(root, p, limits),
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
    }
  });
}
