// Real Compose projects for the tests: Debian's docker-compose (1.29) against this machine's Docker socket,
// labelling its containers (com.docker.compose.project, .service, .project.working_dir,
// .project.config_files) as Compose v2 does.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { COMPOSE_LABELS } from '../../src/shared/compose';
import { BASE_IMAGE, TEST_LABEL, docker } from './docker';

const exec = promisify(execFile);

/** One service of a test project: it runs the base image's `sleep`, in no network or in another service's. */
export interface ComposeService {
  network: 'none' | { service: string };
}

export interface ComposeProject {
  name: string;
  /** The directory that holds the compose file (the project's working directory). */
  dir: string;
  /** The containers docker-compose made, as `docker ps --filter label=com.docker.compose.project=…` lists them. */
  ids: string[];
  down(): Promise<void>;
}

async function run(name: string, dir: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec('docker-compose', ['--ansi', 'never', '-p', name, '-f', path.join(dir, 'docker-compose.yml'), ...args], {
      cwd: dir,
      timeout: 120000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new Error('docker-compose is not installed: run `bash scripts/setup-env.sh` (it installs Debian’s docker-compose)', {
        cause: err,
      });
    throw new Error(`docker-compose ${args.join(' ')}: ${e.stderr || e.message}`, { cause: err });
  }
}

/**
 * Writes a compose file for `services` into a new temporary directory named after the project and brings it
 * up. No network of the project's own: each service has none or joins another's. Every container carries the
 * suites' test label. `down()` removes the containers and the directory, and may be called after a failed up.
 */
export async function composeUp(name: string, services: Record<string, ComposeService>): Promise<ComposeProject> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const [label, value] = TEST_LABEL.split('=');
  const yml = [
    "version: '2.4'",
    'services:',
    ...Object.entries(services).flatMap(([service, s]) => [
      `  ${service}:`,
      `    image: ${BASE_IMAGE}`,
      `    command: ["sleep", "3600"]`,
      `    network_mode: "${s.network === 'none' ? 'none' : `service:${s.network.service}`}"`,
      ...(s.network === 'none' ? [] : [`    depends_on: [${s.network.service}]`]),
      `    labels:`,
      `      ${label}: "${value}"`,
    ]),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), yml);
  const project: ComposeProject = {
    name,
    dir,
    ids: [],
    down: async () => {
      try {
        await run(name, dir, ['down', '-v', '--remove-orphans']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await run(name, dir, ['up', '-d', '--no-build']);
    project.ids = (await docker(['ps', '-a', '--no-trunc', '--filter', `label=${COMPOSE_LABELS.project}=${name}`, '--format', '{{.ID}}']))
      .split('\n')
      .filter(Boolean);
  } catch (err) {
    await project.down().catch(() => undefined);
    throw err;
  }
  return project;
}
