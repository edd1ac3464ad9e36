// What the scenarios run against: labelled containers and locally made images (no registry here).
// Everything the bench starts carries BENCH_LABEL so an aborted run's leftovers can be removed.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HELPER_LABEL } from '../../src/core/access/helper';
import { chainIds } from '../../src/core/layers/history';
import { docker, ensureBaseImage, imageExists, inspect, removeContainers } from '../../test/support/docker';
import { log } from './measure';

export const BENCH_LABEL = 'container-xray.bench=1';
const RECIPE_LABEL = 'container-xray.bench.recipe';

export const IMAGES = {
  busybox: 'xray-bench-busybox:1',
  debianBase: 'xray-bench-debian:base',
  debianPkgs: 'xray-bench-debian:pkgs',
  manyFiles: 'xray-bench-debian:manyfiles',
  big: 'xray-bench-big:1',
} as const;

const DOCKER_ROOT = '/var/lib/docker';

export async function benchContainerIds(): Promise<string[]> {
  return (await docker(['ps', '-aq', '--no-trunc', '--filter', `label=${BENCH_LABEL}`])).split('\n').filter(Boolean);
}

/** Removes every container an earlier (possibly aborted) run left behind. */
export async function removeLeftovers(): Promise<number> {
  const ids = await benchContainerIds();
  await removeContainers(ids);
  return ids.length;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

export interface Fleet {
  ids: string[];
  names: string[];
  /** How the fleet is laid out, for the report. */
  description: string;
}

/** Resource limits every fleet container runs with. */
export const FLEET_LIMITS = ['--memory', '64m', '--cpus', '0.25', '--pids-limit', '64'];

/**
 * Starts `n` labelled containers in groups of ten: the first of each group is a hub (`--network none`),
 * three join its network namespace (`--network container:hub`), two its PID namespace (`--pid container:hub`),
 * the rest stand alone. Every third runs three processes (a shell and two sleeps), the others one.
 */
export async function startFleet(
  n: number,
  image: string,
  prefix = 'xray-bench-c',
  run: (args: string[]) => Promise<string> = (args) => docker(args),
): Promise<Fleet> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
  const hubOf = (i: number) => names[Math.floor(i / 10) * 10];
  const argsFor = (i: number): string[] => {
    const slot = i % 10;
    let ns: string[];
    if (slot === 0) ns = ['--network', 'none'];
    else if (slot <= 3) ns = ['--network', `container:${hubOf(i)}`];
    else if (slot <= 5) ns = ['--network', 'none', '--pid', `container:${hubOf(i)}`];
    else ns = ['--network', 'none'];
    const cmd = i % 3 === 0 ? ['sh', '-c', 'sleep 1000000 & sleep 1000000 & wait'] : ['sleep', '1000000'];
    return ['run', '-d', '--label', BENCH_LABEL, '--name', names[i], ...FLEET_LIMITS, ...ns, image, ...cmd];
  };
  const hubs = names.map((_, i) => i).filter((i) => i % 10 === 0);
  const rest = names.map((_, i) => i).filter((i) => i % 10 !== 0);
  const ids: string[] = new Array(n);
  await mapLimit(hubs, 4, async (i) => (ids[i] = (await run(argsFor(i))).trim()));
  await mapLimit(rest, 4, async (i) => (ids[i] = (await run(argsFor(i))).trim()));
  const groups = Math.ceil(n / 10);
  return {
    ids,
    names,
    description: `${n} containers (${groups} groups of 10: 1 hub, 3 sharing its net ns, 2 its pid ns; every third runs 3 processes; all with --memory 64m --cpus 0.25 --pids-limit 64)`,
  };
}

/** The label that says which recipe built an image, so a changed Dockerfile rebuilds it. */
function recipeHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

async function imageRecipe(ref: string): Promise<string | null> {
  try {
    const info = await inspect<{ Config?: { Labels?: Record<string, string> | null } }>(ref);
    return info.Config?.Labels?.[RECIPE_LABEL] ?? null;
  } catch {
    return null;
  }
}

/** Builds an image with the legacy builder and `--network host` (RUN steps reach Debian's mirror), unless it is current. */
export async function buildCached(
  tag: string,
  dockerfile: string,
  opts: { network?: 'host' | 'none'; files?: Record<string, string> } = {},
): Promise<string> {
  const recipe = recipeHash(dockerfile + JSON.stringify(opts.files ?? {}));
  if ((await imageRecipe(tag)) === recipe) return tag;
  log(`building ${tag} (docker build --network ${opts.network ?? 'host'})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-bench-build-'));
  try {
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    for (const [name, content] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(dir, name), content);
    await docker(
      ['build', '-q', '--network', opts.network ?? 'host', '--label', BENCH_LABEL, '--label', `${RECIPE_LABEL}=${recipe}`, '-t', tag, dir],
      { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeout: 30 * 60 * 1000 },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}

function sh(script: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('sh', ['-c', script], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, _out, stderr) =>
      err ? reject(new Error(`${script}: ${stderr || err.message}`)) : resolve(),
    ),
  );
}

/** A tiny busybox image (imported, no registry). */
export function ensureBusybox(): Promise<string> {
  return ensureBaseImage(IMAGES.busybox);
}

/** Debian bookworm minbase through debootstrap, imported; made once and kept (1–2 minutes). */
export async function ensureDebianBase(): Promise<string> {
  if (await imageExists(IMAGES.debianBase)) return IMAGES.debianBase;
  if (!fs.existsSync('/usr/sbin/debootstrap'))
    throw new Error('debootstrap is needed for the Debian image: apt-get install -y debootstrap');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-bench-debootstrap-'));
  log(`debootstrap --variant=minbase bookworm into ${dir} (1–2 minutes, once)`);
  try {
    await sh(`debootstrap --variant=minbase bookworm '${dir}' http://deb.debian.org/debian >/dev/null`, 20 * 60 * 1000);
    await sh(`tar -C '${dir}' -c . | docker import -c 'CMD ["bash"]' - ${IMAGES.debianBase} >/dev/null`, 10 * 60 * 1000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return IMAGES.debianBase;
}

/** Debian with package installs, an apt-lists cleanup layer and an opaque rewrite of /usr/share/doc. */
export const PKGS_DOCKERFILE = `FROM ${IMAGES.debianBase}
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl procps jq less
RUN rm -rf /var/lib/apt/lists/*
RUN rm -rf /usr/share/doc && mkdir /usr/share/doc && echo "documentation removed" > /usr/share/doc/README
ENV LANG=C.UTF-8
CMD ["sleep", "infinity"]
`;

/** Debian plus 50 000 small files in one RUN, and a layer that deletes and changes some of them. */
export const MANY_FILES_DOCKERFILE = `FROM ${IMAGES.debianBase}
RUN mkdir /data && cd /data && for i in $(seq 0 99); do mkdir d$i; for j in $(seq 0 499); do echo "$i $j" > d$i/f$j; done; done
RUN rm -rf /data/d0 && rm /data/d1/f1* && for j in $(seq 0 99); do echo changed >> /data/d2/f$j; done
CMD ["sleep", "infinity"]
`;

/** About 1 GiB in four layers of random bytes (incompressible, so docker save streams all of it). */
export const BIG_DOCKERFILE = `FROM ${IMAGES.busybox}
RUN dd if=/dev/urandom of=/blob1 bs=1M count=256 2>/dev/null
RUN dd if=/dev/urandom of=/blob2 bs=1M count=256 2>/dev/null
RUN dd if=/dev/urandom of=/blob3 bs=1M count=256 2>/dev/null
RUN dd if=/dev/urandom of=/blob4 bs=1M count=256 2>/dev/null
CMD ["sleep", "1000000"]
`;

export async function ensurePkgsImage(): Promise<string> {
  await ensureDebianBase();
  return buildCached(IMAGES.debianPkgs, PKGS_DOCKERFILE, { network: 'host' });
}

export async function ensureManyFilesImage(): Promise<string> {
  await ensureDebianBase();
  return buildCached(IMAGES.manyFiles, MANY_FILES_DOCKERFILE, { network: 'none' });
}

export async function ensureBigImage(): Promise<string> {
  await ensureBusybox();
  return buildCached(IMAGES.big, BIG_DOCKERFILE, { network: 'none' });
}

export async function removeImage(ref: string): Promise<void> {
  await docker(['rmi', '-f', ref]).catch(() => undefined);
}

/** Each layer's directory on disk (layerdb/<chainID>/cache-id → overlay2/<cache-id>/diff), bottom first. */
export async function layerDiffDirs(ref: string): Promise<string[]> {
  const info = await inspect<{ RootFS: { Layers: string[] } }>(ref);
  return chainIds(info.RootFS.Layers).map((chain) => {
    const cacheId = fs
      .readFileSync(`${DOCKER_ROOT}/image/overlay2/layerdb/sha256/${chain.replace(/^sha256:/, '')}/cache-id`, 'utf8')
      .trim();
    return `${DOCKER_ROOT}/overlay2/${cacheId}/diff`;
  });
}

/** The number of files and directories in the image's layers (as find counts them) and its size. */
export async function imageFacts(ref: string): Promise<{ layers: number; entries: number; sizeBytes: number }> {
  const dirs = await layerDiffDirs(ref);
  let entries = 0;
  for (const d of dirs) {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', `find '${d}' -mindepth 1 | wc -l`], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    entries += Number(out.trim());
  }
  const size = Number((await docker(['image', 'inspect', '--format', '{{.Size}}', ref])).trim());
  return { layers: dirs.length, entries, sizeBytes: size };
}

/** Waits (at most 60 s) until no helper container runs or is being removed on a daemon (`where` names it). */
export async function helperGone(dockerOn: (args: string[]) => Promise<string>, where: string): Promise<void> {
  const end = Date.now() + 60000;
  while (Date.now() < end) {
    // A helper left created and never started (a run cut short) does not count: only one that runs or goes.
    const states = (await dockerOn(['ps', '-a', '--filter', `label=${HELPER_LABEL}`, '--format', '{{.State}}'])).split('\n');
    if (!states.some((s) => /^(running|removing|stopping)/i.test(s.trim()))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`a helper container still runs on ${where} 60 s after the CLI exited`);
}
