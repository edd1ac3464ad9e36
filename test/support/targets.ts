// The hosts the integration suites run against: this machine's Docker engine, and the test VM's daemons
// (Debian 13, cgroup v2 with the systemd driver, Docker 26 with overlay2 or with the containerd image store),
// reached over forwarded loopback ports as a remote daemon is. Each target brings its own docker CLI and its
// own oracle channel: shell commands run as root on the daemon's machine (locally, or over ssh in the
// guest), so every check is read where the containers really run. A VM target boots its VM on first use
// (scripts/vm/boot.sh, idempotent) and the root hooks stop it after the run.
//
// The docker-mode VM also runs Podman 5: rootful (root's store, /var/lib/containers/storage, its API on
// guest tcp 8888) and rootless (the user `xray`, uid 1000, its store under ~/.local/share/containers and its
// API on guest tcp 8889). Their targets drive and check with the guest's own `podman` over ssh, as root or
// as that user (a login session, so rootless Podman has its systemd user manager), translating the docker
// CLI arguments the suites pass where podman's CLI differs; the oracle shell stays root in the guest.
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultHelperRegistryDir } from '../../src/core/access/registry';
import type { EngineOptions } from '../../src/core/engine';
import { BASE_IMAGE, TEST_LABEL, ensureBaseImage } from './docker';

export type TargetName = 'local' | 'vm-docker' | 'vm-containerd' | 'vm-podman' | 'vm-podman-rootless';
export const ALL_TARGETS: TargetName[] = ['local', 'vm-docker', 'vm-containerd', 'vm-podman', 'vm-podman-rootless'];

/** The targets whose daemon is Podman (known before a target opens, for suites that shape their tests by it). */
export function isPodman(name: TargetName): boolean {
  return name === 'vm-podman' || name === 'vm-podman-rootless';
}

/**
 * The builders the suites build with on a target: Podman has Buildah alone, whose history has the legacy
 * builder's forms (`/bin/sh -c #(nop) COPY file:… in …`, `|1 A=b /bin/sh -c …`). Docker 20.10 here builds
 * with its default legacy builder and with BuildKit; Docker 26 with BuildKit, its default since 23.0, and on
 * the containerd image store with the deprecated legacy builder too, whose history sizes differ there. (The
 * legacy builder on overlay2 is this machine's; on Docker 26 it writes the same history, in a VM where each of
 * its steps costs a container start.)
 */
export function buildersOf(name: TargetName): ('legacy' | 'buildkit')[] {
  if (isPodman(name)) return ['legacy'];
  return name === 'vm-docker' ? ['buildkit'] : ['legacy', 'buildkit'];
}

/** The guest's rootless Podman user (scripts/vm/build.sh makes it). */
export const ROOTLESS_USER = 'xray';

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
  /** The container engine behind the endpoint. */
  runtime: 'docker' | 'podman';
  /** Whether the daemon runs as an unprivileged user (rootless Podman): its containers live in that user's user namespace. */
  rootless: boolean;
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

/** A command whose stdout goes to a file (binary, e.g. an image archive). */
function runToFile(file: string, args: string[], out: string, timeout = 600000): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(out, 'w');
    const child = spawn(file, args, { stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.once('error', (err) => {
      clearTimeout(timer);
      fs.closeSync(fd);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      fs.closeSync(fd);
      if (code === 0) resolve();
      else reject(new Error(`${file} ${args.join(' ')}: exit ${code ?? signal}: ${stderr}`));
    });
  });
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

/** Whether the guest of a mode died: its kernel panicked, as its serial console says. */
function panicked(mode: string): boolean {
  try {
    return fs.readFileSync(path.join(TOOLS_DIR, 'vm', `run-${mode}`, 'console.log'), 'latin1').includes('Kernel panic');
  } catch {
    return false;
  }
}

/**
 * Boots (or finds running) the VM of a mode; fails with what to do when it cannot. A guest that panicked
 * since is booted anew (boot.sh does so), and the next suite to open a target of that mode gets the new one.
 */
export function ensureVm(mode: 'docker' | 'containerd'): Promise<VmState> {
  if (booted.has(mode) && panicked(mode)) booted.delete(mode);
  let p = booted.get(mode);
  if (!p) {
    p = (async () => {
      const before = readState(mode);
      if (before && alive(before.pid)) foundRunning.add(mode);
      try {
        // Not execFileSync: a boot started ahead (preBootVms) must leave the tests running meanwhile.
        await run('bash', [path.join(REPO, 'scripts', 'vm', 'boot.sh'), mode], { timeout: 900000 });
      } catch (err) {
        const e = err as { message: string };
        throw new Error(
          `the test VM (${mode}) did not come up: ${e.message.slice(-3000)}\n` +
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

/**
 * Boots the VMs the run's targets need ahead of their suites, one after the other, while the suites before
 * them run (a boot takes a minute or two under emulation). A failure is left for the suite that needs the VM
 * to report (it boots again).
 */
export function preBootVms(): void {
  const names = suiteTargets();
  const modes = [
    ...(names.some((n) => n !== 'local' && n !== 'vm-containerd') ? ['docker' as const] : []),
    ...(names.includes('vm-containerd') ? ['containerd' as const] : []),
  ];
  void modes.reduce<Promise<unknown>>((prev, mode) => prev.then(() => ensureVm(mode).catch(() => undefined)), Promise.resolve());
}

/**
 * ssh into the VM as root (or as `user`), through one master connection per VM and user (the guest runs
 * under emulation: a handshake is slow).
 */
function sshArgs(vm: VmState, user = 'root'): string[] {
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
    `ControlPath=${path.join(os.tmpdir(), `xray-vm-ssh-${vm.mode}-${vm.ssh}${user === 'root' ? '' : `-${user}`}`)}`,
    '-o',
    'ControlPersist=300',
    `${user}@127.0.0.1`,
  ];
}

const localTarget: Target = {
  name: 'local',
  runtime: 'docker',
  rootless: false,
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
    runtime: 'docker',
    rootless: false,
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

/** The base image as Podman names it once `podman load` has taken Docker's `xray-test-busybox:1`. */
export const PODMAN_BASE_IMAGE = `localhost/${BASE_IMAGE}`;

/** `docker info --format` fields, from `podman info --format json`. */
function podmanInfoField(info: Record<string, Record<string, unknown>>, field: string): string {
  const host = info.host ?? {};
  const store = info.store ?? {};
  const fields: Record<string, unknown> = {
    CgroupVersion: String(host.cgroupVersion ?? '').replace(/^v/, ''),
    CgroupDriver: host.cgroupManager,
    Driver: store.graphDriverName,
    DockerRootDir: store.graphRoot,
    ServerVersion: (info.version as Record<string, unknown> | undefined)?.Version,
    KernelVersion: host.kernel,
    Name: host.hostname,
    NCPU: host.cpus,
    MemTotal: host.memTotal,
    OSType: 'linux',
  };
  if (fields[field] === undefined) throw new Error(`docker info field .${field} has no Podman counterpart in the test translation`);
  return String(fields[field]);
}

/** docker history's `{{json .}}` keys from podman's (which names some in lower case). */
function dockerHistoryRow(row: Record<string, unknown>): Record<string, unknown> {
  return {
    ID: row.id,
    CreatedAt: row.created,
    CreatedBy: row.CreatedBy,
    Size: row.size,
    Comment: row.Comment ?? row.comment ?? '',
    Tags: row.tags,
  };
}

/**
 * `docker ARGS` run as the guest's own `podman`, as `user` (root: rootful Podman; the rootless user: its
 * store). Most arguments are podman's too; those that differ are translated:
 * - `info --format '{{.CgroupVersion}} …'`: podman's info has other field names (and `v2` for 2);
 * - `top ID -o pid,args`: docker top's pid is the host PID, podman's `pid` the container's (`hpid` is the host's);
 * - `history --format '{{json .}}'`: podman writes `size`, `created`, `id` in lower case;
 * - `build … DIR`: the context is a directory here, sent to the guest as a tar on stdin (DOCKER_BUILDKIT means nothing);
 * - `save -o FILE`: FILE is here, the archive comes back on stdout;
 * - `rm`: with `--depend`, so a container others joined goes with them;
 * - input (`load` with a tar on stdin) passes through ssh.
 */
async function podmanCli(
  vm: VmState,
  user: string,
  args: string[],
  opts: { input?: Buffer | string; timeout?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const ssh = (command: string, o = opts) => run('ssh', [...sshArgs(vm, user), command], { input: o.input, timeout: o.timeout });
  const podman = (a: string[]) => ['podman', ...a].map(shellQuote).join(' ');
  const [cmd, ...rest] = args;
  if (cmd === 'info') {
    const f = rest.indexOf('--format');
    const json = JSON.parse(await ssh(podman(['info', '--format', 'json']))) as Record<string, Record<string, unknown>>;
    if (f < 0) return JSON.stringify(json);
    return `${rest[f + 1].replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_m, field: string) => podmanInfoField(json, field))}\n`;
  }
  if (cmd === 'top') {
    const o = rest.indexOf('-o');
    if (o < 0) return ssh(podman(['top', ...rest, 'hpid', 'huser', 'args']));
    const descriptors = rest[o + 1].split(',').map((d) => (d === 'pid' ? 'hpid' : d === 'user' ? 'huser' : d));
    const out = await ssh(podman(['top', ...rest.slice(0, o), ...rest.slice(o + 2), ...descriptors]));
    // podman top lists every process of the container's PID namespace, those of containers that joined it
    // (`--pid container:x`) with the host PID `?`; docker top lists the container's own (its cgroup's): those rows go.
    if (descriptors[0] !== 'hpid') return out;
    return out
      .split('\n')
      .filter((l, i) => i === 0 || !/^\?\s/.test(l))
      .join('\n');
  }
  if (cmd === 'history' && rest.some((a, i) => a === '--format' && /^\{\{\s*json \.\s*\}\}$/.test(rest[i + 1]))) {
    const out = await ssh(podman(args));
    return out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.stringify(dockerHistoryRow(JSON.parse(l) as Record<string, unknown>)))
      .join('\n')
      .concat('\n');
  }
  if (cmd === 'build') {
    const dir = rest[rest.length - 1];
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`build: the context ${dir} is no directory here`);
    const context = execFileSync('tar', ['-C', dir, '-c', '.'], { maxBuffer: 256 * 1024 * 1024 });
    const build = podman(['build', ...rest.slice(0, -1)]);
    return ssh(`d=$(mktemp -d) && tar -C "$d" -xf - && ${build} "$d"; rc=$?; rm -rf "$d"; exit $rc`, {
      input: context,
      timeout: opts.timeout ?? 900000,
    });
  }
  if (cmd === 'rm') {
    // A container that others joined (`--network container:x`) is removed only with them: podman refuses
    // it on its own, even when they are named in the same call, unless told to take its dependents too.
    return ssh(podman(['rm', '--depend', ...rest]));
  }
  if (cmd === 'save') {
    const o = rest.indexOf('-o');
    if (o >= 0) {
      const out = rest[o + 1];
      await runToFile('ssh', [...sshArgs(vm, user), podman(['save', ...rest.slice(0, o), ...rest.slice(o + 2)])], out, opts.timeout);
      return '';
    }
  }
  return ssh(podman(args));
}

function podmanTarget(name: 'vm-podman' | 'vm-podman-rootless', vm: VmState): Target {
  const rootless = name === 'vm-podman-rootless';
  const user = rootless ? ROOTLESS_USER : 'root';
  return {
    name,
    runtime: 'podman',
    rootless,
    host: `tcp://127.0.0.1:${rootless ? vm.podmanUser : vm.podman}`,
    access: 'helper',
    helperImage: PODMAN_BASE_IMAGE,
    local: false,
    vm,
    docker: (args, opts) => podmanCli(vm, user, args, opts),
    sh: (script, opts) => run('ssh', [...sshArgs(vm), script], opts),
  };
}

/** What a Podman store held when the run first opened it (the root hooks compare at the end). */
interface PodmanRecord {
  target: Target;
  containers: string[];
  pods: string[];
  images: string[];
}
const podmanRecords = new Map<string, PodmanRecord>();

async function podmanLines(t: Target, args: string[]): Promise<string[]> {
  return (await t.docker(args))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

async function recordPodman(t: Target): Promise<PodmanRecord> {
  return {
    target: t,
    containers: await podmanLines(t, ['ps', '-aq', '--no-trunc']),
    pods: await podmanLines(t, ['pod', 'ps', '-q', '--no-trunc']),
    images: await podmanLines(t, ['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']),
  };
}

/**
 * The root hooks' check of each Podman store the run opened: containers and pods it left behind (or
 * removed), images it made and left (those named `localhost/xray-…`, and tagless ones, are removed here:
 * Buildah keeps each step's image as build cache) and images that were there before and are gone.
 * `localhost/podman-pause` is Podman's own, built on demand for its pause process: not the run's.
 */
export async function podmanLeftovers(): Promise<string[]> {
  const problems: string[] = [];
  for (const [key, start] of podmanRecords) {
    const t = start.target;
    try {
      const now = await recordPodman(t);
      const d = (a: string[], b: string[]) => ({ added: b.filter((x) => !a.includes(x)), removed: a.filter((x) => !b.includes(x)) });
      const c = d(start.containers, now.containers);
      if (c.added.length) problems.push(`${t.name}: containers left behind: ${c.added.join(', ')}`);
      if (c.removed.length) problems.push(`${t.name}: containers that were there before are gone: ${c.removed.join(', ')}`);
      const p = d(start.pods, now.pods);
      if (p.added.length) problems.push(`${t.name}: pods left behind: ${p.added.join(', ')}`);
      if (p.removed.length) problems.push(`${t.name}: pods that were there before are gone: ${p.removed.join(', ')}`);
      const added = d(start.images, now.images).added.filter((l) => !/ localhost\/podman-pause:/.test(l));
      const ours = [...new Set(added.filter((l) => / localhost\/xray-[^ ]*$/.test(l)).map((l) => l.split(' ')[1]))];
      if (ours.length)
        await t
          .docker(['rmi', '-f', ...ours])
          .catch((err: Error) => problems.push(`${t.name}: could not remove ${ours.join(', ')}: ${err.message}`));
      // Tagless images the run made (Buildah's per-step images): newest first, each once its children are gone.
      for (let round = 0; round < 3; round++) {
        const tagless = d(
          start.images,
          await podmanLines(t, ['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']),
        )
          .added.filter((l) => l.endsWith(' <none>:<none>'))
          .map((l) => l.split(' ')[0]);
        if (tagless.length === 0) break;
        await t.docker(['rmi', ...tagless]).catch(() => undefined);
      }
      const im = d(start.images, await podmanLines(t, ['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']));
      const left = im.added.filter((l) => !/ localhost\/podman-pause:/.test(l) && l !== `${l.split(' ')[0]} ${PODMAN_BASE_IMAGE}`);
      if (left.length) problems.push(`${t.name}: images left behind: ${left.join(', ')}`);
      if (im.removed.length) problems.push(`${t.name}: images that were there before are gone: ${im.removed.join(', ')}`);
    } catch (err) {
      problems.push(`${t.name}: could not check the Podman store: ${(err as Error).message.split('\n')[0]}`);
    }
    podmanRecords.delete(key);
  }
  return problems;
}

const loaded = new Set<string>();
/** Every target a suite opened in this run, by name (the last one opened of each). */
const opened = new Map<TargetName, Target>();

/**
 * The helpers CLI runs of this user left parked for reuse (registry.ts) on the target's daemon, removed with
 * their records: what the run made goes before the root hooks compare the machine. `dir` is the registry
 * directory those runs used (the default one unless a suite gave them a cache of their own).
 */
export async function removeParkedHelpers(t: Target, dir = defaultHelperRegistryDir(), anyEndpoint = false): Promise<string[]> {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^parked-[0-9a-f]{64}\.json$/.test(n));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let rec: { endpoint?: string; helper?: string };
    try {
      rec = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof rec;
    } catch {
      continue;
    }
    // anyEndpoint: the suite reached this daemon through several endpoints (TLS, ssh, contexts) with a cache of its own.
    const ours = anyEndpoint || (t.host ? rec.endpoint === t.host : typeof rec.endpoint === 'string' && rec.endpoint.startsWith('unix://'));
    if (!ours || typeof rec.helper !== 'string') continue;
    await t.docker(['rm', '-f', rec.helper]).catch(() => undefined);
    fs.rmSync(file, { force: true });
    removed.push(rec.helper);
  }
  return removed;
}

/** removeParkedHelpers for every target the run opened (the root hook's step). */
export async function removeAllParkedHelpers(withLocal = true): Promise<void> {
  // This machine's daemon too: suites that drive it without a target run the CLI against it.
  const all = new Map(opened);
  if (withLocal) all.set('local', localTarget);
  for (const t of all.values()) await removeParkedHelpers(t);
}

/** The target, its VM booted and the base image loaded into its daemon. */
export async function openTarget(name: TargetName): Promise<Target> {
  const t = await openTargetOnce(name);
  opened.set(name, t);
  return t;
}

async function openTargetOnce(name: TargetName): Promise<Target> {
  if (name === 'local') {
    await ensureBaseImage();
    return localTarget;
  }
  const vm = await ensureVm(name === 'vm-containerd' ? 'containerd' : 'docker');
  const key = `${name}:${vm.pid}`;
  if (isPodman(name)) {
    const t = podmanTarget(name as 'vm-podman' | 'vm-podman-rootless', vm);
    if (!loaded.has(key)) {
      if (!podmanRecords.has(key)) podmanRecords.set(key, await recordPodman(t));
      const present = await t.docker(['image', 'exists', PODMAN_BASE_IMAGE]).then(
        () => true,
        () => false,
      );
      if (!present) {
        await ensureBaseImage();
        const tar = execFileSync('docker', ['save', BASE_IMAGE], { maxBuffer: 256 * 1024 * 1024 });
        const said = await t.docker(['load'], { input: tar });
        if (!said.includes(`Loaded image: ${PODMAN_BASE_IMAGE}`))
          throw new Error(`${name}: podman load named the base image otherwise than ${PODMAN_BASE_IMAGE}: ${said}`);
      }
      loaded.add(key);
    }
    return t;
  }
  const t = vmTarget(name as 'vm-docker' | 'vm-containerd', vm);
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

/**
 * The targets of the suites about the runtime rather than image storage (cgroups, events, security, pods):
 * `vm-containerd` is `vm-docker`'s guest, kernel, Docker daemon, containerd and runc with another image store,
 * so those suites run on `vm-docker` for both; the storage suites (snapshot's overlay, overlay, layers,
 * Dockerfile, the CLI) run on every target. Each target runs under emulation, and a CI run has an hour and a half.
 */
export function runtimeTargets(): TargetName[] {
  return suiteTargets().filter((t) => t !== 'vm-containerd');
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
  return t.host
    ? ['--host', t.host, '--access', t.access, '--helper-image', t.helperImage, '--read-deadline', String(VM_DEADLINE_MS / 1000)]
    : [];
}

/** `docker inspect REF` on the target, parsed. */
export async function inspectOn<T = Record<string, unknown>>(t: Target, ref: string): Promise<T> {
  return (JSON.parse(await t.docker(['inspect', ref])) as T[])[0];
}

/** Starts a labelled container on the target (`docker run -d`); returns its full id. */
export async function runOn(t: Target, args: string[]): Promise<string> {
  return (await t.docker(['run', '-d', '--label', TEST_LABEL, ...args])).trim();
}

/**
 * Runs `fn` over `items`, at most `limit` at a time, results in the items' order. A VM guest spends most of a
 * container start waiting (the runtime, systemd, the forwarded API): a few at once take little longer than one.
 */
export async function eachLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Starts labelled containers on the target, a few at a time (see eachLimit); returns their full ids by key. */
export async function runAllOn(t: Target, specs: Record<string, string[]>, limit = 4): Promise<Record<string, string>> {
  const keys = Object.keys(specs);
  const ids = await eachLimit(keys, limit, (k) => runOn(t, specs[k]));
  return Object.fromEntries(keys.map((k, i) => [k, ids[i]]));
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
  const daemonName = t.runtime === 'podman' ? 'podman' : 'dockerd';
  const daemon = Number((await t.sh(`pidof ${daemonName} || true`)).trim().split(/\s+/)[0]);
  if (!Number.isInteger(daemon) || daemon <= 0) throw new Error(`${t.name}: neither PID 1's namespaces nor ${daemonName}'s can be read`);
  return { from: `${daemonName} (PID ${daemon})`, namespaces: await readlinkNamespacesOn(t, daemon) };
}

export interface RootMountOracle {
  lowerDirs: string[];
  upperDir: string | null;
  workDir: string | null;
  /**
   * Where the daemon's mount table mounts an overlay with this upper dir: PID 1's (else dockerd's) for
   * Docker; for Podman that of the container's conmon (its parent), which is in Podman's mount namespace:
   * the host's when rootful, the rootless user's own (made with its user namespace) when rootless.
   */
  mergedDir: string | null;
  /** Whether the overlay keeps its marks in `user.overlay.*` xattrs (`userxattr`: mounted in a user namespace). */
  userXattr: boolean;
}

/** The overlay root mount of a process, from /proc/PID/mountinfo read on the target's machine. */
export async function rootMountOn(t: Target, pid: number): Promise<RootMountOracle> {
  const tableOf =
    t.runtime === 'podman'
      ? `cat /proc/$(awk '$1 == "PPid:" { print $2 }' /proc/${pid}/status)/mountinfo`
      : `cat /proc/1/mountinfo 2>/dev/null || cat /proc/$(pidof dockerd | cut -d' ' -f1)/mountinfo`;
  const out = await t.sh(`awk '$5 == "/"' /proc/${pid}/mountinfo | tail -n 1; echo ---; ${tableOf}`);
  const [root, table] = out.split('\n---\n');
  const opt = (line: string, key: string): string | null => new RegExp(`[ ,]${key}=([^, ]+)`).exec(line)?.[1] ?? null;
  const lower = opt(root, 'lowerdir');
  if (!lower) throw new Error(`${t.name}: the root mount of PID ${pid} is no overlay: ${root}`);
  const upperDir = opt(root, 'upperdir');
  const merged = upperDir ? table.split('\n').find((l) => l.includes(` - overlay `) && opt(l, 'upperdir') === upperDir) : undefined;
  return {
    lowerDirs: lower.split(':'),
    upperDir,
    workDir: opt(root, 'workdir'),
    mergedDir: merged ? merged.split(' ')[4] : null,
    userXattr: /[ ,]userxattr(,|$)/.test(root.trim()),
  };
}

/**
 * The cgroup path the runtime gives a container under the systemd driver, as /proc/PID/cgroup names it:
 * Docker's `system.slice/docker-<id>.scope`; Podman's `libpod-<id>.scope/container` (crun puts the processes
 * in a `container` child) under machine.slice, or, rootless, under the user's systemd manager.
 */
export async function expectedCgroupPathOn(t: Target, id: string, driver: string): Promise<string> {
  if (t.runtime === 'docker') return driver === 'systemd' ? `/system.slice/docker-${id}.scope` : `/docker/${id}`;
  if (!t.rootless) return `/machine.slice/libpod-${id}.scope/container`;
  const uid = (await t.sh(`id -u ${ROOTLESS_USER}`)).trim();
  return `/user.slice/user-${uid}.slice/user@${uid}.service/user.slice/libpod-${id}.scope/container`;
}

/**
 * The cgroup v2 controllers the target's containers can be limited by: every one for a rootful daemon
 * (null); for rootless Podman those systemd delegates to the user's manager (cpu, memory, pids by default:
 * no cpuset, no io), read from its cgroup.subtree_control in the guest.
 */
export async function delegatedControllersOn(t: Target): Promise<Set<string> | null> {
  if (!t.rootless) return null;
  const uid = (await t.sh(`id -u ${ROOTLESS_USER}`)).trim();
  const text = await t.sh(`cat /sys/fs/cgroup/user.slice/user-${uid}.slice/user@${uid}.service/cgroup.subtree_control`);
  return new Set(text.trim().split(/\s+/).filter(Boolean));
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
    // DOCKER_BUILDKIT=0 picks Docker's legacy builder; Podman has Buildah alone and ignores it.
    await t.docker(['build', '-q', '--network', 'none', '--label', TEST_LABEL, '-t', tag, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    return tag;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
