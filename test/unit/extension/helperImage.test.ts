// The extension's side of the helper image: machine-scoped settings read from the user's settings only,
// the one-time approval remembered by image ID per endpoint, and the Host view naming what ran.
import * as assert from 'node:assert/strict';
import type { HelperImageApproval } from '../../../src/core/access/helperImage';
import { APPROVED_HELPER_IMAGES_KEY, consentText, helperConsent } from '../../../src/extension/helperConsent';
import { MACHINE_SETTINGS, ignoredWorkspaceValues, settingsFrom } from '../../../src/extension/settingsReader';
import { hostNodes } from '../../../src/extension/tree/nodes';
import type { HostFacts } from '../../../src/shared/model';
import { hostFacts } from '../support/snapshotParts';

interface Inspected {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** A configuration as VS Code's: `get` merges every level (a workspace value wins); `inspect` tells them apart. */
function configuration(values: Record<string, Inspected>) {
  return {
    get<T>(key: string, fallback?: T): T {
      const v = values[key];
      return (v?.workspaceFolderValue ?? v?.workspaceValue ?? v?.globalValue ?? v?.defaultValue ?? fallback) as T;
    },
    inspect<T>(key: string) {
      const v = values[key];
      return v
        ? ({ key, ...v } as { key: string; defaultValue?: T; globalValue?: T; workspaceValue?: T; workspaceFolderValue?: T })
        : undefined;
    },
  };
}

const ID1 = `sha256:${'1'.repeat(64)}`;
const ID2 = `sha256:${'2'.repeat(64)}`;

class Memory {
  readonly data = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    this.data.set(key, structuredClone(value));
  }
}

describe('extension: the helper image', () => {
  describe('settings', () => {
    it('ignores a workspace or folder value of helperImage, access and dockerHost', () => {
      const c = configuration({
        helperImage: { defaultValue: '', workspaceValue: 'evil/busybox:latest' },
        access: { defaultValue: 'auto', workspaceFolderValue: 'helper' },
        dockerHost: { defaultValue: '', workspaceValue: 'tcp://attacker.example:2375' },
        runtime: { defaultValue: 'auto', workspaceValue: 'podman' },
        refreshInterval: { defaultValue: 5, workspaceValue: 9 },
      });
      // What a plain get() would have used: the workspace's values.
      assert.equal(c.get('helperImage', ''), 'evil/busybox:latest');
      const s = settingsFrom(c);
      assert.equal(s.helperImage, '');
      assert.equal(s.access, 'auto');
      assert.equal(s.dockerHost, '');
      assert.equal(s.runtime, 'auto');
      assert.equal(s.refreshInterval, 9, 'other settings may come from the workspace');
      assert.deepEqual(ignoredWorkspaceValues(c), ['dockerHost', 'runtime', 'access', 'helperImage']);
    });

    it("takes the user's values of those settings, over a workspace's", () => {
      const c = configuration({
        helperImage: { defaultValue: '', globalValue: ' busybox:1.36 ', workspaceValue: 'evil:1' },
        access: { defaultValue: 'auto', globalValue: 'direct', workspaceValue: 'helper' },
        dockerHost: { defaultValue: '', globalValue: 'unix:///run/user/1000/docker.sock', workspaceFolderValue: 'tcp://x:1' },
        runtime: { defaultValue: 'auto', globalValue: 'podman', workspaceValue: 'docker' },
      });
      const s = settingsFrom(c);
      assert.deepEqual(
        [s.helperImage, s.access, s.dockerHost, s.runtime],
        ['busybox:1.36', 'direct', 'unix:///run/user/1000/docker.sock', 'podman'],
      );
      assert.deepEqual(ignoredWorkspaceValues(configuration({ access: { globalValue: 'helper' } })), []);
      assert.deepEqual([...MACHINE_SETTINGS], ['dockerHost', 'runtime', 'access', 'helperImage']);
    });
  });

  describe('approval', () => {
    const req = (imageId: string, endpoint = 'unix:///var/run/docker.sock'): HelperImageApproval => ({
      image: 'busybox:latest',
      imageId,
      endpoint,
      source: 'official',
    });

    it('asks once per image ID and endpoint, remembers a yes, and asks again after a retag to another ID', async () => {
      const state = new Memory();
      const asked: string[] = [];
      const approve = helperConsent(state, async (r) => {
        asked.push(`${r.endpoint} ${r.imageId}`);
        return true;
      });
      assert.equal(await approve(req(ID1)), true);
      assert.equal(await approve(req(ID1)), true);
      assert.deepEqual(asked, [`unix:///var/run/docker.sock ${ID1}`]);
      assert.deepEqual(state.get(APPROVED_HELPER_IMAGES_KEY), { 'unix:///var/run/docker.sock': [ID1] });
      // The same name now points to another image: asked again.
      assert.equal(await approve(req(ID2)), true);
      // Another daemon: its own approvals.
      assert.equal(await approve(req(ID1, 'ssh://me@box')), true);
      assert.equal(asked.length, 3);
      // A new window (a new callback on the same state) remembers.
      const again = helperConsent(state, async () => assert.fail('not asked again'));
      assert.equal(await again(req(ID2)), true);
    });

    it('remembers no "no", and asks concurrent requests for one image once', async () => {
      const state = new Memory();
      let asks = 0;
      let answer = false;
      const approve = helperConsent(state, async () => {
        asks++;
        await new Promise((r) => setTimeout(r, 10));
        return answer;
      });
      assert.deepEqual(await Promise.all([approve(req(ID1)), approve(req(ID1))]), [false, false]);
      assert.equal(asks, 1);
      assert.equal(state.get(APPROVED_HELPER_IMAGES_KEY), undefined);
      answer = true;
      assert.equal(await approve(req(ID1)), true);
      assert.equal(asks, 2);
    });

    it('ignores a damaged record and keeps at most 16 IDs per endpoint', async () => {
      const state = new Memory();
      await state.update(APPROVED_HELPER_IMAGES_KEY, { 'unix:///var/run/docker.sock': [ID1, 7], other: 'x' });
      const approve = helperConsent(state, async () => true);
      assert.equal(await approve(req(ID1)), true);
      for (let i = 0; i < 20; i++) await approve(req(`sha256:${i.toString(16).padStart(64, '0')}`));
      const kept = (state.get(APPROVED_HELPER_IMAGES_KEY) as Record<string, string[]>)['unix:///var/run/docker.sock'];
      assert.equal(kept.length, 16);
      assert.equal(kept[15], `sha256:${(19).toString(16).padStart(64, '0')}`);
    });

    it('names the image, its ID, the daemon and the rights in the modal', () => {
      const t = consentText({ ...req(ID1), source: 'configured' });
      assert.match(t.message, /busybox:latest/);
      assert.match(t.detail, new RegExp(`ID ${ID1}`));
      assert.match(t.detail, /unix:\/\/\/var\/run\/docker\.sock/);
      assert.match(t.detail, /root.*SYS_PTRACE and DAC_READ_SEARCH/);
      assert.match(t.detail, /containerXray\.helperImage/);
      assert.match(consentText(req(ID1)).detail, /official image .* exact name/);
    });
  });

  describe('the Host view', () => {
    const base: HostFacts = hostFacts({ cpus: 4, memoryBytes: 1 });

    it('says which image and ID the helper ran, and says nothing of a helper when none ran', () => {
      const nodes = hostNodes({
        ...base,
        access: { mode: 'helper', reason: `x (image busybox:latest, ID ${ID1})`, helper: { image: 'busybox:latest', imageId: ID1 } },
      });
      const leaf = nodes.find((n) => n.label === 'Helper image');
      assert.ok(leaf, nodes.map((n) => n.label).join(', '));
      assert.equal(leaf.description, `busybox:latest · ${'1'.repeat(12)}`);
      assert.match(String(leaf.tooltip), new RegExp(`busybox:latest \\(image ID ${ID1}\\)`));
      assert.equal(
        hostNodes(base).some((n) => n.label === 'Helper image'),
        false,
      );
    });
  });
});
