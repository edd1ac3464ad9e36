// Root hooks for every mocha run: the suite must leave the machine as it found it. Before the first test
// they record the host's network interfaces (names and addresses), its account files and, when a Docker
// engine answers, the main daemon's containers and images; after the last test they fail the run if an
// interface appeared, vanished or changed its addresses, an account file changed, a container was left
// behind or removed, or an image the run did not make is gone. Images the run made (named `xray-…`, and
// tagless ones) are removed; any other new image fails it. Each Podman store in the test VM that the run
// opened (root's, the rootless user's) is checked the same way, for its containers, pods and images.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { BASE_IMAGE, ensureBaseImage } from './docker';
import { podmanLeftovers, preBootVms, removeAllParkedHelpers, stopVms } from './targets';

interface MachineState {
  interfaces: string[];
  /** sha256 of the account files (a test user is made and removed; nothing else may touch them). */
  accounts: string[];
  containers: string[] | null;
  /** `ID repo:tag` of every image (a tagless image as `ID <none>`). */
  images: string[] | null;
}

function interfaces(): string[] {
  try {
    const links = JSON.parse(execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', timeout: 10000 })) as {
      ifname: string;
      addr_info?: { local?: string; prefixlen?: number }[];
    }[];
    return links.map((l) => `${l.ifname} ${(l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).join(' ')}`.trim()).sort();
  } catch {
    // No iproute2: the names alone.
    return fs.readdirSync('/sys/class/net').sort();
  }
}

function dockerLines(args: string[]): string[] | null {
  try {
    return execFileSync('docker', args, { encoding: 'utf8', timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();
  } catch {
    return null;
  }
}

function images(): string[] | null {
  return dockerLines(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']);
}

const ACCOUNT_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow'];

function accounts(): string[] {
  return ACCOUNT_FILES.map((f) => {
    try {
      return `${f} ${crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex')}`;
    } catch {
      return `${f} absent`;
    }
  });
}

function record(): MachineState {
  return { interfaces: interfaces(), accounts: accounts(), containers: dockerLines(['ps', '-aq', '--no-trunc']), images: images() };
}

function diff(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const a = new Set(after);
  const b = new Set(before);
  return { added: after.filter((x) => !b.has(x)), removed: before.filter((x) => !a.has(x)) };
}

let before: MachineState | null = null;

/**
 * `vm`: this process checks only the VMs it opened (scripts/test-all.mjs runs one target's suites beside the
 * rest, whose own process checks this machine).
 */
const VM_ONLY = process.env.XRAY_MACHINE_CHECKS === 'vm';

export const mochaHooks = {
  beforeAll(): void {
    if (!VM_ONLY) before = record();
    // Only runs that reach the integration suites need the VMs (a run of the unit tests alone does not).
    if (process.argv.some((a) => /integration/.test(a)) || (process.env.npm_lifecycle_event ?? '') === 'test') preBootVms();
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(600000);
    // The Podman stores in the test VM the run opened: what the run made there is gone (checked before the VM stops).
    // Helpers the run's CLI calls left parked for reuse are the run's own: removed first.
    await removeAllParkedHelpers(!VM_ONLY);
    const problems: string[] = await podmanLeftovers();
    stopVms();
    if (!before) {
      assert.deepEqual(problems, [], 'the test run changed the machine');
      return;
    }
    const start = before;
    const now = record();
    const net = diff(start.interfaces, now.interfaces);
    if (net.added.length || net.removed.length)
      problems.push(`network interfaces changed: appeared ${JSON.stringify(net.added)}, gone ${JSON.stringify(net.removed)}`);
    const acc = diff(start.accounts, now.accounts);
    if (acc.removed.length) problems.push(`account files changed: ${acc.removed.map((l) => l.split(' ')[0]).join(', ')}`);
    if (start.containers && now.containers) {
      const c = diff(start.containers, now.containers);
      if (c.added.length) problems.push(`containers left behind: ${c.added.join(', ')}`);
      if (c.removed.length) problems.push(`containers that were there before are gone: ${c.removed.join(', ')}`);
    } else if (start.containers && !now.containers) {
      problems.push('the Docker engine that answered before the run no longer answers');
    }
    // The default bridge still works: a container on it starts (it sends nothing).
    if (start.containers && now.containers && start.interfaces.some((i) => i.startsWith('docker0 '))) {
      try {
        await ensureBaseImage();
        execFileSync('docker', ['run', '--rm', '--network', 'bridge', BASE_IMAGE, 'true'], { stdio: 'pipe', timeout: 60000 });
      } catch (err) {
        const e = err as { stderr?: Buffer; message: string };
        problems.push(`docker run on the default bridge fails after the run: ${(e.stderr?.toString() || e.message).trim()}`);
      }
    }
    if (start.images && now.images) {
      const ours = diff(start.images, now.images).added.filter((l) => /^\S+ xray-[^ ]*$/.test(l));
      const tags = [...new Set(ours.map((l) => l.split(' ')[1]))];
      if (tags.length) {
        try {
          execFileSync('docker', ['rmi', '-f', ...tags], { stdio: 'pipe', timeout: 60000 });
        } catch (err) {
          problems.push(`could not remove the run's images ${tags.join(', ')}: ${(err as Error).message}`);
        }
      }
      // Tagless images the run made (an image built again under the same tag leaves its old one untagged).
      const untagged = [
        ...new Set(
          diff(start.images, images() ?? [])
            .added.filter((l) => l.endsWith(' <none>:<none>'))
            .map((l) => l.split(' ')[0]),
        ),
      ];
      for (const id of untagged) {
        try {
          execFileSync('docker', ['rmi', id], { stdio: 'pipe', timeout: 60000 });
        } catch {
          // a parent of another new image: it goes with that one, or the check below names it
        }
      }
      const im = diff(start.images, images() ?? []);
      if (im.added.length) problems.push(`images left behind: ${im.added.join(', ')}`);
      if (im.removed.length) problems.push(`images that were there before are gone: ${im.removed.join(', ')}`);
    }
    assert.deepEqual(problems, [], 'the test run changed the machine');
  },
};
