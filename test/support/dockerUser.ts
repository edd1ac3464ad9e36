// An unprivileged user in the docker group, as most people run the tool: the access suite and the
// benchmarks run the CLI and the engine as this user (it reads through the helper container). Made when
// absent and removed again by whoever made it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export const DOCKER_USER = 'xray-docker-user';

/** util-linux runuser: runs a command as another user without a password (root only). */
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => fs.existsSync(p)) ?? 'runuser';

/** The user exists and is in the docker group; true when this call created it (and so must remove it). */
export function ensureDockerUser(): boolean {
  let created = false;
  try {
    execFileSync('id', [DOCKER_USER], { stdio: 'pipe' });
  } catch {
    // A group of that name may be left from an earlier run that died: join it rather than fail.
    let groupExists = true;
    try {
      execFileSync('getent', ['group', DOCKER_USER], { stdio: 'pipe' });
    } catch {
      groupExists = false;
    }
    execFileSync('useradd', ['-m', ...(groupExists ? ['-g', DOCKER_USER] : ['-U']), '-G', 'docker', DOCKER_USER], { stdio: 'pipe' });
    created = true;
  }
  const groups = execFileSync('id', ['-nG', DOCKER_USER], { encoding: 'utf8' }).split(/\s+/);
  if (!groups.includes('docker')) execFileSync('usermod', ['-aG', 'docker', DOCKER_USER], { stdio: 'pipe' });
  return created;
}

/** Removes the user, its home and its group; throws when it is still there afterwards. */
export function removeDockerUser(): void {
  try {
    execFileSync('userdel', ['-r', DOCKER_USER], { stdio: 'pipe' });
  } catch {
    // userdel exits non-zero for a missing mail spool or a home it did not make; the check below decides
  }
  fs.rmSync(`/home/${DOCKER_USER}`, { recursive: true, force: true });
  try {
    execFileSync('groupdel', [DOCKER_USER], { stdio: 'pipe' });
  } catch {
    // userdel removed the user's own group already
  }
  let gone = false;
  try {
    execFileSync('id', [DOCKER_USER], { stdio: 'pipe' });
  } catch {
    gone = true;
  }
  if (!gone) throw new Error(`the user ${DOCKER_USER} is still there after userdel`);
}

/** The command and environment that run `argv` as the docker-group user (from root). */
export function asDockerUser(argv: string[]): { file: string; argv: string[]; env: NodeJS.ProcessEnv } {
  return {
    file: RUNUSER,
    argv: ['-u', DOCKER_USER, '--', ...argv],
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: `/home/${DOCKER_USER}`, LANG: 'C.UTF-8' },
  };
}
