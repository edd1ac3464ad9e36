// Images built and exported on a target's daemon: the build runs there (the context is sent over the
// target's endpoint), and `docker save` of that daemon is the oracle for its layers.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_LABEL, TarListingEntry, buildkitDocker, listTarFile } from './docker';

export type { TarListingEntry };
export { listTarFile };
import type { Target } from './targets';

/** The CLI args that reach the target's daemon (none for this machine's default socket). */
function hostArgs(t: Target): string[] {
  return t.host ? ['-H', t.host] : [];
}

/**
 * Builds an image on the target's daemon: the legacy builder through the docker CLI on PATH, BuildKit
 * through the 20.10 client, which has BuildKit built in (the newer client wants a buildx plugin).
 */
export async function buildOn(
  t: Target,
  tag: string,
  dockerfile: string,
  files: Record<string, string | Buffer> = {},
  builder: 'legacy' | 'buildkit' = 'legacy',
  opts: { extra?: string[]; label?: boolean } = {},
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-build-'));
  try {
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), content);
    }
    // The legacy builder (and Buildah) records --label as a history entry: a build whose history is checked goes without.
    const label = opts.label === false ? [] : ['--label', TEST_LABEL];
    if (t.runtime === 'podman') {
      // Buildah in the guest, the context sent over ssh (the target's podman CLI); it has no BuildKit.
      if (builder === 'buildkit') throw new Error(`${t.name} has no BuildKit: Podman builds with Buildah (buildersOf says so)`);
      await t.docker(['build', '-q', '--network', 'none', ...label, ...(opts.extra ?? []), '-t', tag, dir], { timeout: 900000 });
      return tag;
    }
    const env = { ...process.env, DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' };
    const bin = builder === 'buildkit' ? buildkitDocker() : 'docker';
    const args = [...hostArgs(t), 'build', '-q', '--network', 'none', ...label, ...(opts.extra ?? []), '-t', tag, dir];
    await new Promise<void>((resolve, reject) =>
      execFile(bin, args, { env, timeout: 900000, maxBuffer: 64 * 1024 * 1024 }, (err, _out, stderr) =>
        err ? reject(new Error(`docker build ${tag} on ${t.name}: ${stderr || err.message}`)) : resolve(),
      ),
    );
    return tag;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `docker save` of the target's daemon, unpacked into `dir` (the archive is written here by the CLI). */
export async function saveOn(t: Target, ref: string, dir: string): Promise<{ Config: string; Layers: string[] }> {
  const file = path.join(dir, 'image.tar');
  await t.docker(['save', '-o', file, ref]);
  execFileSync('tar', ['-C', dir, '-xf', file]);
  fs.rmSync(file);
  return (JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[])[0];
}

/** The layer tars of `docker save` on the target's daemon, listed with tar(1), bottom layer first. */
export async function savedLayerListingsOn(t: Target, ref: string): Promise<{ diffIds: string[]; layers: TarListingEntry[][] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-save-'));
  try {
    const manifest = await saveOn(t, ref, dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, manifest.Config), 'utf8')) as { rootfs: { diff_ids: string[] } };
    return { diffIds: config.rootfs.diff_ids, layers: manifest.Layers.map((l) => listTarFile(path.join(dir, l))) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
