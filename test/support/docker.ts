// Real Docker for the integration tests: images made without a registry, containers labelled so they
// can always be cleaned up, and the shell oracles (docker CLI, lsns, readlink) the engine is checked against.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const TEST_LABEL = 'container-xray.test=1';
export const BASE_IMAGE = 'xray-test-busybox:1';

/** Fails (never skips) with how to get Docker when the engine is not there. */
export function requireDocker(): void {
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'pipe', timeout: 20000 });
  } catch (err) {
    throw new Error(
      `These tests need a running Docker engine and the docker CLI (${(err as Error).message.split('\n')[0]}). ` +
        'Run `bash scripts/setup-env.sh` (installs docker.io and starts dockerd), or start dockerd yourself.',
      { cause: err },
    );
  }
}

export async function docker(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<string> {
  if (opts.input !== undefined) {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'docker',
        args,
        { env: opts.env ?? process.env, maxBuffer: 256 * 1024 * 1024, timeout: opts.timeout ?? 300000 },
        (err, stdout, stderr) => (err ? reject(new Error(`docker ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)),
      );
      child.stdin!.end(opts.input);
    });
  }
  try {
    const { stdout } = await exec('docker', args, {
      env: opts.env ?? process.env,
      maxBuffer: 256 * 1024 * 1024,
      timeout: opts.timeout ?? 300000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')}: ${e.stderr || e.message}`, { cause: err });
  }
}

/** The 20.10 client that has BuildKit built in (the newer client on PATH wants a buildx plugin). */
export function buildkitDocker(): string {
  return fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
}

export async function imageExists(ref: string): Promise<boolean> {
  try {
    await docker(['image', 'inspect', ref]);
    return true;
  } catch {
    return false;
  }
}

/** A tiny image: busybox and its applet links, a passwd, imported from a tar (no registry needed). */
export async function ensureBaseImage(ref = BASE_IMAGE): Promise<string> {
  if (await imageExists(ref)) return ref;
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
  if (!busybox) throw new Error('busybox is needed to make the test image: apt-get install busybox-static (scripts/setup-env.sh does)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-base-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'root', 'home']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.copyFileSync(busybox, path.join(dir, 'bin', 'busybox'));
    fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
      .split('\n')
      .filter((a) => a && a !== 'busybox');
    for (const a of applets) fs.symlinkSync('busybox', path.join(dir, 'bin', a));
    fs.writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    fs.writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = execFileSync('tar', ['-C', dir, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      const child = execFile('docker', ['import', '-', ref], (err) => (err ? reject(err) : resolve()));
      child.stdin!.end(tar);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return ref;
}

/** Builds an image from a Dockerfile text and extra files, with the legacy builder or BuildKit. */
export async function buildImage(
  tag: string,
  dockerfile: string,
  files: Record<string, string | Buffer> = {},
  builder: 'legacy' | 'buildkit' = 'legacy',
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-build-'));
  try {
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), content);
    }
    const env = { ...process.env, DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' };
    const bin = builder === 'buildkit' ? buildkitDocker() : 'docker';
    await new Promise<void>((resolve, reject) =>
      execFile(
        bin,
        ['build', '-q', '--network', 'none', '--label', TEST_LABEL, '-t', tag, dir],
        { env, timeout: 300000 },
        (err, _out, stderr) => (err ? reject(new Error(`docker build ${tag}: ${stderr || err.message}`)) : resolve()),
      ),
    );
    return tag;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a labelled container; returns its full id. */
export async function runContainer(args: string[]): Promise<string> {
  const out = await docker(['run', '-d', '--label', TEST_LABEL, ...args]);
  return out.trim();
}

export async function removeContainers(ids: string[]): Promise<void> {
  if (ids.length > 0) await docker(['rm', '-f', ...ids]).catch(() => undefined);
}

export async function inspect<T = Record<string, unknown>>(ref: string): Promise<T> {
  return (JSON.parse(await docker(['inspect', ref])) as T[])[0];
}

/** Namespace inodes of a process through readlink(1), an oracle independent of the engine's reads. */
export function readlinkNamespaces(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup', 'time']) {
    const target = execFileSync('readlink', [`/proc/${pid}/ns/${t}`], { encoding: 'utf8' }).trim();
    const m = /\[(\d+)\]/.exec(target);
    if (m) out[t] = Number(m[1]);
  }
  return out;
}

export interface LsnsEntry {
  ns: number;
  type: string;
  nprocs: number;
  pid: number;
  command: string;
}

/** `lsns -J`: every namespace with the processes in it. */
export function lsns(): LsnsEntry[] {
  const out = execFileSync('lsns', ['-J', '-o', 'NS,TYPE,NPROCS,PID,COMMAND'], { encoding: 'utf8' });
  return (JSON.parse(out) as { namespaces: LsnsEntry[] }).namespaces.map((n) => ({
    ...n,
    ns: Number(n.ns),
    pid: Number(n.pid),
    nprocs: Number(n.nprocs),
  }));
}

/** `lsns -J -p PID`: the namespaces one process is in, by type. */
export function lsnsOfPid(pid: number): Record<string, number> {
  const out = execFileSync('lsns', ['-J', '-p', String(pid), '-o', 'NS,TYPE'], { encoding: 'utf8' });
  const res: Record<string, number> = {};
  for (const n of (JSON.parse(out) as { namespaces: { ns: string | number; type: string }[] }).namespaces) res[n.type] = Number(n.ns);
  return res;
}

/** Removes everything the tests labelled (containers first, then images). */
export async function cleanupLabelled(): Promise<void> {
  const ids = (await docker(['ps', '-aq', '--filter', `label=${TEST_LABEL}`])).split('\n').filter(Boolean);
  await removeContainers(ids);
}

/** The layer tars of `docker save`, listed with tar(1): bottom layer first, each `[type, name, size]`. */
export async function savedLayerListings(
  ref: string,
): Promise<{ diffIds: string[]; layers: { type: string; name: string; size: number; link: string }[][] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-save-'));
  try {
    execFileSync('sh', ['-c', `docker save "$1" | tar -C "$2" -x`, 'sh', ref, dir], { maxBuffer: 1024 * 1024 });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
    const config = JSON.parse(fs.readFileSync(path.join(dir, manifest[0].Config), 'utf8')) as { rootfs: { diff_ids: string[] } };
    const layers = manifest[0].Layers.map((l) => listTarFile(path.join(dir, l)));
    return { diffIds: config.rootfs.diff_ids, layers };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface TarListingEntry {
  /** tar(1)'s type letter: `-` file, `d` dir, `l` symlink, `h` hard link, `c` char device … */
  type: string;
  name: string;
  size: number;
  link: string;
}

/** A layer tar (plain or compressed: tar(1) tells by itself) listed with tar(1). */
export function listTarFile(file: string): TarListingEntry[] {
  const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return listing
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      // drwxr-xr-x 0/0               0 2026-11-27 10:00 app/
      const m = /^(\S)\S*\s+\S+\s+(\d+|\d+,\s*\d+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
      if (!m) throw new Error(`cannot read tar listing line ${line}`);
      let name = m[3];
      let link = '';
      const arrow = name.indexOf(' -> ');
      const hard = name.indexOf(' link to ');
      if (m[1] === 'l' && arrow >= 0) [name, link] = [name.slice(0, arrow), name.slice(arrow + 4)];
      if (m[1] === 'h' && hard >= 0) [name, link] = [name.slice(0, hard), name.slice(hard + 9)];
      return { type: m[1], name: name.replace(/\/$/, ''), size: /,/.test(m[2]) ? 0 : Number(m[2]), link };
    });
}
