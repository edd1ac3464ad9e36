#!/usr/bin/env node
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script on purpose: no build step, no loader cost */
'use strict';
// The bare floor of `container-xray snapshot`: the least a Node process must do to gather the same raw
// facts. It starts, makes ONE list call over the daemon's socket (raw http, no dockerode), then reads the
// raw files of each running container without parsing them:
//   the runtime's init.pid (to learn the container's host PID; the engine does the same),
//   readlink /proc/PID/ns/{cgroup,ipc,mnt,net,pid,pid_for_children,time,time_for_children,user,uts},
//   /proc/PID/cgroup, the cgroup limit and usage files (v1: memory.limit_in_bytes, memory.usage_in_bytes,
//   cpu.cfs_quota_us, cpu.cfs_period_us, cpu.shares, cpuacct.usage, cpuset.cpus, pids.max, pids.current,
//   cgroup.procs; v2: memory.max, memory.current, cpu.max, cpu.weight, cpu.stat, cpuset.cpus.effective,
//   pids.max, pids.current, cgroup.procs), and /proc/PID/status of every process in cgroup.procs.
// Only the string splitting needed to find paths and PIDs is done. It prints the number of files read.
// FLOOR_IO=async reads everything through fs.promises in parallel (as the engine does); the default
// (sync) is the cheaper of the two on a local /proc.
const http = require('node:http');
const fs = require('node:fs');
const { Buffer } = require('node:buffer');

const SOCKET = process.env.DOCKER_SOCKET || '/var/run/docker.sock';
const ASYNC = process.env.FLOOR_IO === 'async';
const INIT_PID_DIRS = [
  '/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby',
  '/run/containerd/io.containerd.runtime.v2.task/moby',
];
const NS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'pid_for_children', 'time', 'time_for_children', 'user', 'uts'];
const V1_FILES = [
  ['memory', 'memory.limit_in_bytes'],
  ['memory', 'memory.usage_in_bytes'],
  ['cpu', 'cpu.cfs_quota_us'],
  ['cpu', 'cpu.cfs_period_us'],
  ['cpu', 'cpu.shares'],
  ['cpuacct', 'cpuacct.usage'],
  ['cpuset', 'cpuset.cpus'],
  ['pids', 'pids.max'],
  ['pids', 'pids.current'],
];
const V2_FILES = ['memory.max', 'memory.current', 'cpu.max', 'cpu.weight', 'cpu.stat', 'cpuset.cpus.effective', 'pids.max', 'pids.current'];

let filesRead = 0;

function listContainers() {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: SOCKET, path: '/containers/json' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const readText = ASYNC
  ? (f) =>
      fs.promises.readFile(f, 'utf8').then(
        (t) => (filesRead++, t),
        () => null,
      )
  : (f) => {
      try {
        const t = fs.readFileSync(f, 'utf8');
        filesRead++;
        return t;
      } catch {
        return null;
      }
    };
const readLink = ASYNC
  ? (f) =>
      fs.promises.readlink(f).then(
        (t) => (filesRead++, t),
        () => null,
      )
  : (f) => {
      try {
        const t = fs.readlinkSync(f);
        filesRead++;
        return t;
      } catch {
        return null;
      }
    };

/** The cgroup directories of a process: v1 per controller, or the one v2 directory. */
function cgroupDirs(text) {
  const v1 = new Map();
  let v2 = null;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const p = line.slice(second + 1);
    if (controllers === '') v2 = `/sys/fs/cgroup${p}`;
    else for (const c of controllers.split(',')) v1.set(c, `/sys/fs/cgroup/${c}${p}`);
  }
  return { v1, v2 };
}

async function readContainer(id) {
  let pid = null;
  for (const dir of INIT_PID_DIRS) {
    const t = await readText(`${dir}/${id}/init.pid`);
    if (t !== null) {
      pid = t.trim();
      break;
    }
  }
  if (pid === null) return;
  const [, cgroupText] = await Promise.all([Promise.all(NS.map((n) => readLink(`/proc/${pid}/ns/${n}`))), readText(`/proc/${pid}/cgroup`)]);
  if (cgroupText === null) return;
  const { v1, v2 } = cgroupDirs(cgroupText);
  const files = v1.size > 0 ? V1_FILES.filter(([c]) => v1.has(c)).map(([c, f]) => `${v1.get(c)}/${f}`) : V2_FILES.map((f) => `${v2}/${f}`);
  const procsFile = v1.size > 0 ? `${v1.get('pids') || v1.get('memory')}/cgroup.procs` : `${v2}/cgroup.procs`;
  const [, procs] = await Promise.all([Promise.all(files.map(readText)), readText(procsFile)]);
  if (procs === null) return;
  await Promise.all(
    procs
      .split('\n')
      .filter((p) => p !== '')
      .map((p) => readText(`/proc/${p}/status`)),
  );
}

async function main() {
  const list = await listContainers();
  await Promise.all(list.map((c) => readContainer(c.Id)));
  process.stdout.write(`${JSON.stringify({ containers: list.length, filesRead, io: ASYNC ? 'async' : 'sync' })}\n`);
}

main().catch((err) => {
  process.stderr.write(`snapshot-floor: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
