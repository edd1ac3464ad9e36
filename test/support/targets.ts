// The hosts the integration suites run against: this machine's Docker engine, and the test VM's daemons
// (Debian 13, cgroup v2 with the systemd driver, Docker 26 with overlay2 or with the containerd image store),
// reached over forwarded loopback ports as a remote daemon is. Each target brings its own docker CLI and its
// own oracle channel: shell commands run as root on the daemon's machine (locally, or over ssh in the
// guest), so every check is read where the containers really run. A VM target boots its VM on first use
// (scripts/vm/boot.sh, idempotent) and the root hooks stop it after the run.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EngineOptions } from '../../src/core/engine';
import { BASE_IMAGE, TEST_LABEL, ensureBaseImage } from './docker';

export type TargetName = 'local' | 'vm-docker' | 'vm-containerd';
export const ALL_TARGETS: TargetName[] = ['local', 'vm-docker', 'vm-containerd'];

const REPO = path.resolve(__dirname, '..', '..', '..');
const TOOLS_DIR =
  process.env.XRAY_TOOLS_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'container-xray');

export interface VmState {
  mode: string;
  pid: number;
  dockerTcp: number;
  dockerTls: number;
  podman: number;
  podmanUser: number;
  ssh: number;
  certs: string;
  sshKey: string;
  knownHosts: string;
  bootSeconds: number;
}

export interface Target {
  name: TargetName;
  /** The endpoint the engine is given (`--host`); undefined for this machine's default socket. */
  host: string | undefined;
  /** How the engine reads the daemon's files there: directly (root here) or through the helper. */
  access: 'direct' | 'helper';
  /** The image the helper container runs on that daemon (the base image, loaded there). */
  helperImage: string;
  /** Whether the daemon's /proc is this machine's (oracles that read /proc here, like lsns, apply). */
  local: boolean;
  /** The VM's ports and keys; null for the local target. */
  vm: VmState | null;
  /** `docker ARGS` against this target's daemon. */
  docker(args: string[], opts?: { input?: Buffer | string; timeout?: number; env?: NodeJS.ProcessEnv }): Promise<string>;
  /** A shell script run as root on the daemon's machine (the oracle channel). */
  sh(script: string, opts?: { timeout?: number }): Promise<string>;
}

function run(
  file: string,
  args: string[],
  opts: { input?: Buffer | string; timeout?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 256 * 1024 * 1024, timeout: opts.timeout ?? 600000, env: opts.env ?? process.env },
      (err, stdout, stderr) => (err ? reject(new Error(`${file} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)),
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

function readState(mode: string): VmState | null {
  const file = path.join(TOOLS_DIR, 'vm', `run-${mode}`, 'state.env');
  if (!fs.existsSync(file)) return null;
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    mode,
    pid: Number(env.XRAY_VM_PID),
    dockerTcp: Number(env.XRAY_VM_DOCKER_TCP),
    dockerTls: Number(env.XRAY_VM_DOCKER_TLS),
    podman: Number(env.XRAY_VM_PODMAN),
    podmanUser: Number(env.XRAY_VM_PODMAN_USER),
    ssh: Number(env.XRAY_VM_SSH),
    certs: env.XRAY_VM_CERTS,
    sshKey: env.XRAY_VM_SSH_KEY,
    knownHosts: env.XRAY_VM_KNOWN_HOSTS,
    bootSeconds: Number(env.XRAY_VM_BOOT_SECONDS),
  };
}

const booted = new Map<string, Promise<VmState>>();
/** Modes whose VM was running before this run asked for it: left running. */
const foundRunning = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Boots (or finds running) the VM of a mode; fails with what to do when it cannot. */
export function ensureVm(mode: 'docker' | 'containerd'): Promise<VmState> {
  let p = booted.get(mode);
  if (!p) {
    p = (async () => {
      const before = readState(mode);
      if (before && alive(before.pid)) foundRunning.add(mode);
      try {
        execFileSync('bash', [path.join(REPO, 'scripts', 'vm', 'boot.sh'), mode], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 900000 });
      } catch (err) {
        const e = err as { stderr?: Buffer; message: string };
        throw new Error(
          `the test VM (${mode}) did not come up: ${(e.stderr?.toString() || e.message).slice(-3000)}\n` +
            'It needs qemu-system-x86 and debootstrap (scripts/setup-env.sh installs them); run `bash scripts/vm/boot.sh ' +
            `${mode}\` to see why.`,
          { cause: err },
        );
      }
      const state = readState(mode);
      if (!state) throw new Error(`scripts/vm/boot.sh ${mode} wrote no state file under ${TOOLS_DIR}/vm`);
      return state;
    })();
    booted.set(mode, p);
    p.catch(() => booted.delete(mode));
  }
  return p;
}

/** ssh as root into the VM, through one master connection per VM (the guest runs under emulation: a handshake is slow). */
function sshArgs(vm: VmState): string[] {
  return [
    '-i',
    vm.sshKey,
    '-p',
    String(vm.ssh),
    '-o',
    `UserKnownHostsFile=${vm.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${path.join(os.tmpdir(), `xray-vm-ssh-${vm.mode}-${vm.ssh}`)}`,
    '-o',
    'ControlPersist=300',
    'root@127.0.0.1',
  ];
}

const localTarget: Target = {
  name: 'local',
  host: undefined,
  access: 'direct',
  helperImage: BASE_IMAGE,
  local: true,
  vm: null,
  docker: (args, opts) => run('docker', args, opts),
  sh: (script, opts) => run('sh', ['-c', script], opts),
};

/** Whether a docker command reads a container's output through an attached stream. */
function attaches(args: string[]): boolean {
  const [cmd, ...rest] = args;
  if (cmd === 'exec' || cmd === 'attach' || cmd === 'start') return cmd !== 'start' || rest.includes('-a') || rest.includes('--attach');
  if (cmd === 'run' || (cmd === 'container' && rest[0] === 'run'))
    return !rest.some((a) => a === '-d' || a === '--detach' || /^-[a-z]*d[a-z]*$/.test(a));
  return false;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function vmTarget(name: 'vm-docker' | 'vm-containerd', vm: VmState): Target {
  const host = `tcp://127.0.0.1:${vm.dockerTcp}`;
  return {
    name,
    host,
    access: 'helper',
    helperImage: BASE_IMAGE,
    local: false,
    vm,
    // Streams the CLI attaches to (exec, a run without -d) come back empty through the forwarded port
    // (the CLI's upgraded connection); those run through the guest's own docker CLI, against the same daemon.
    docker: (args, opts) =>
      attaches(args) && opts?.input === undefined
        ? run('ssh', [...sshArgs(vm), ['docker', ...args].map(shellQuote).join(' ')], opts)
        : run('docker', ['-H', host, ...args], opts),
    sh: (script, opts) => run('ssh', [...sshArgs(vm), script], opts),
  };
}

const loaded = new Set<string>();

/** The target, its VM booted and the base image loaded into its daemon. */
export async function openTarget(name: TargetName): Promise<Target> {
  if (name === 'local') {
    await ensureBaseImage();
    return localTarget;
  }
  const vm = await ensureVm(name === 'vm-docker' ? 'docker' : 'containerd');
  const t = vmTarget(name, vm);
  const key = `${name}:${vm.pid}`;
  if (!loaded.has(key)) {
    const present = await t.docker(['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE]).then(
      () => true,
      () => false,
    );
    if (!present) {
      await ensureBaseImage();
      const tar = execFileSync('docker', ['save', BASE_IMAGE], { maxBuffer: 256 * 1024 * 1024 });
      await t.docker(['load'], { input: tar });
    }
    loaded.add(key);
  }
  return t;
}

/** The targets a suite runs against: every one, unless XRAY_TARGETS names some (a developer's shortcut). */
export function suiteTargets(): TargetName[] {
  const only = (process.env.XRAY_TARGETS ?? '').split(',').filter(Boolean);
  for (const o of only) if (!ALL_TARGETS.includes(o as TargetName)) throw new Error(`XRAY_TARGETS names an unknown target "${o}"`);
  return only.length > 0 ? (only as TargetName[]) : ALL_TARGETS;
}

/** Namespace inodes of a process on the target's machine, by `readlink /proc/PID/ns/*` there. */
export async function readlinkNamespacesOn(t: Target, pid: number): Promise<Record<string, number>> {
  const out = await t.sh(`for t in mnt pid net ipc uts user cgroup time; do printf '%s ' $t; readlink /proc/${pid}/ns/$t || echo; done`);
  const res: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /^(\w+) \w+:\[(\d+)\]$/.exec(line.trim());
    if (m) res[m[1]] = Number(m[2]);
  }
  return res;
}

/** Stops every VM the run booted (the root hook's last step): the machine is left as it was found. */
export function stopVms(): void {
  const modes = [...booted.keys()].filter((m) => !foundRunning.has(m));
  if (modes.length > 0)
    execFileSync('bash', [path.join(REPO, 'scripts', 'vm', 'stop.sh'), modes.join(' ')], { stdio: 'ignore', timeout: 60000 });
  booted.clear();
}

// ---- What the suites share to run one set of checks against every target ----

/**
 * Engine options that reach this target as a user would: its endpoint, its access and its helper image.
 * On a VM target a container's read may take a minute: the guest runs under software emulation, several
 * times slower than any real machine, beside other work on two cores. The deadline bounds a read that
 * hangs (the unit and fault tests prove it); here it must not cut a slow one.
 */
export function engineOptions(t: Target, extra: EngineOptions = {}): EngineOptions {
  return {
    ...(t.host ? { override: t.host } : {}),
    access: t.access,
    helperImage: t.helperImage,
    diskCache: false,
    ...(t.vm ? { containerLimits: { deadlineMs: VM_DEADLINE_MS } } : {}),
    ...extra,
  };
}

/** A container read's deadline on a VM target (see engineOptions). */
export const VM_DEADLINE_MS = 60000;

/** The CLI flags that point `container-xray` at this target (none for this machine's default socket). */
export function cliArgs(t: Target): string[] {
  return t.host ? ['--host', t.host, '--access', t.access, '--helper-image', t.helperImage] : [];
}

/** `docker inspect REF` on the target, parsed. */
export async function inspectOn<T = Record<string, unknown>>(t: Target, ref: string): Promise<T> {
  return (JSON.parse(await t.docker(['inspect', ref])) as T[])[0];
}

/** Starts a labelled container on the target (`docker run -d`); returns its full id. */
export async function runOn(t: Target, args: string[]): Promise<string> {
  return (await t.docker(['run', '-d', '--label', TEST_LABEL, ...args])).trim();
}

/** Removes containers on the target; those already gone are no error. */
export async function removeOn(t: Target, ids: string[]): Promise<void> {
  if (ids.length > 0) await t.docker(['rm', '-f', ...ids]).catch(() => undefined);
}

/** Full ids of the running containers on the target (`docker ps`). */
export async function runningOn(t: Target): Promise<string[]> {
  return (await t.docker(['ps', '-q', '--no-trunc'])).split('\n').filter(Boolean).sort();
}

/** `lsns -J -p PID` run on the target's machine: the namespaces of one process there, by type. */
export async function lsnsOfPidOn(t: Target, pid: number): Promise<Record<string, number>> {
  const out = await t.sh(`lsns -J -p ${pid} -o NS,TYPE`);
  const res: Record<string, number> = {};
  for (const n of (JSON.parse(out) as { namespaces: { ns: string | number; type: string }[] }).namespaces) res[n.type] = Number(n.ns);
  return res;
}

/**
 * The namespaces of the target machine's host: those of its PID 1 where they can be read, else of the
 * daemon (dockerd), which is what a host-mode container shares.
 */
export async function hostNamespacesOn(t: Target): Promise<{ from: string; namespaces: Record<string, number> }> {
  const init = await readlinkNamespacesOn(t, 1);
  if (init.net !== undefined) return { from: 'PID 1', namespaces: init };
  const daemon = Number((await t.sh('pidof dockerd || true')).trim().split(/\s+/)[0]);
  if (!Number.isInteger(daemon) || daemon <= 0) throw new Error(`${t.name}: neither PID 1's namespaces nor dockerd's can be read`);
  return { from: `dockerd (PID ${daemon})`, namespaces: await readlinkNamespacesOn(t, daemon) };
}

export interface RootMountOracle {
  lowerDirs: string[];
  upperDir: string | null;
  workDir: string | null;
  /** Where the daemon's mount table (PID 1's, else dockerd's) mounts an overlay with this upper dir. */
  mergedDir: string | null;
}

/** The overlay root mount of a process, from /proc/PID/mountinfo read on the target's machine. */
export async function rootMountOn(t: Target, pid: number): Promise<RootMountOracle> {
  const out = await t.sh(
    `awk '$5 == "/"' /proc/${pid}/mountinfo | tail -n 1; echo ---; ` +
      `cat /proc/1/mountinfo 2>/dev/null || cat /proc/$(pidof dockerd | cut -d' ' -f1)/mountinfo`,
  );
  const [root, table] = out.split('\n---\n');
  const opt = (line: string, key: string): string | null => new RegExp(`[ ,]${key}=([^, ]+)`).exec(line)?.[1] ?? null;
  const lower = opt(root, 'lowerdir');
  if (!lower) throw new Error(`${t.name}: the root mount of PID ${pid} is no overlay: ${root}`);
  const upperDir = opt(root, 'upperdir');
  const merged = upperDir ? table.split('\n').find((l) => l.includes(` - overlay `) && opt(l, 'upperdir') === upperDir) : undefined;
  return { lowerDirs: lower.split(':'), upperDir, workDir: opt(root, 'workdir'), mergedDir: merged ? merged.split(' ')[4] : null };
}

/**
 * cgroup files of a process read on the target's machine by the standard mount points (/sys/fs/cgroup on
 * a v2 host, /sys/fs/cgroup/<controller> on v1), not the engine's mount discovery. Keyed `file`; null
 * when the file is absent.
 */
export async function cgroupFilesOn(
  t: Target,
  pid: number,
  wanted: [controller: string, file: string][],
): Promise<Record<string, string | null>> {
  const script = [
    `cg=/proc/${pid}/cgroup`,
    'dir() { if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo /sys/fs/cgroup$(awk -F: \'$1 == "0" { print $3 }\' $cg); ' +
      'else echo /sys/fs/cgroup/$1$(awk -F: -v c=$1 \'{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }\' $cg); fi; }',
    ...wanted.map(([c, f]) => `echo "=== ${f}"; d=$(dir ${c}); if [ -e "$d/${f}" ]; then cat "$d/${f}"; else echo '<absent>'; fi`),
  ].join('\n');
  const out = await t.sh(script);
  const res: Record<string, string | null> = {};
  for (const part of out.split(/^=== /m).slice(1)) {
    const nl = part.indexOf('\n');
    const body = part.slice(nl + 1).trimEnd();
    res[part.slice(0, nl)] = body === '<absent>' ? null : body;
  }
  return res;
}

/** A flat keyed cgroup file (`key value` lines) as numbers. */
export function keyedFile(text: string | null): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}

/** Builds an image on the target's daemon from a Dockerfile text (the legacy builder, which every daemon has). */
export async function buildOn(t: Target, tag: string, dockerfile: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-build-'));
  try {
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    await t.docker(['build', '-q', '--network', 'none', '--label', TEST_LABEL, '-t', tag, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    return tag;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
