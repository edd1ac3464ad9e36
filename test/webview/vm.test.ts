import * as assert from 'node:assert/strict';
import { Channel } from '../../src/extension/panels/channel';
import { PanelHost, vmHandlers } from '../../src/extension/panels/handlers';
import { VmProtocol, VmState, vmScope } from '../../src/shared/protocol';
import { ViewPage, assertClean, injectedElements, webviewSuite } from './harness';
import { HOSTILE, IDS, desktopHost, host, vmState } from './sample';
import { contains } from './util';

/** Waits up to 5 s for something the host side records. */
async function until(pred: () => boolean): Promise<void> {
  for (const end = Date.now() + 5000; !pred();) {
    if (Date.now() > end) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('webview: container vs VM', function () {
  const suite = webviewSuite();
  let vp: ViewPage<'vm'> | null = null;

  async function openVm(state = vmState()): Promise<ViewPage<'vm'>> {
    vp = await suite.open('vm');
    await vp.push('state/vm', state);
    await vp.page.waitForSelector('.diagram');
    return vp;
  }

  it('draws hardware → hypervisor → the one kernel → the containers, and explains why', async () => {
    const v = await openVm();
    assert.deepEqual((await v.posted())[0], { kind: 'command', method: 'ready', params: { view: 'vm' } });
    const tiers = await v.page.$$eval('.drawing .diagram [data-tier]', (els) => els.map((e) => e.getAttribute('data-tier')));
    assert.deepEqual(tiers, ['containers', 'kernel shared', 'hypervisor', 'hardware']);
    assert.equal((await v.page.textContent('.drawing [data-field="host-kernel"]'))?.trim(), '6.8.0-49-generic');
    assert.equal((await v.page.textContent('.drawing [data-field="hypervisor"]'))?.trim(), 'KVM');
    assert.equal(await v.page.getAttribute('.drawing .frame', 'data-frame'), 'this-vm');
    const boxes = await v.page.$$eval('.drawing .ct-box', (els) => els.map((e) => e.getAttribute('data-container-id')));
    assert.equal(boxes.length, 5);
    const drawing = await v.page.textContent('.drawing');
    for (const s of ['web', HOSTILE.img, HOSTILE.markdown, HOSTILE.js]) assert.ok(contains(drawing, s), s);
    const note = await v.page.textContent('.note-card');
    assert.match(note ?? '', /share/);
    assert.match(note ?? '', /its own kernel/);
    assert.match(note ?? '', /namespaces/);
    assert.match(note ?? '', /cgroups/);
    assert.match(note ?? '', /This machine is itself a virtual machine \(KVM/);
    assert.match((await v.page.textContent('[data-field="access"]')) ?? '', /direct: .*running as root on the Docker host/);
    assert.deepEqual(await injectedElements(v), []);
    await v.screenshot('vm');
    await assertClean(v);
  });

  it("a click on a container reaches the VM panel's handlers: that container's dashboard opens, or the error shows", async () => {
    // The host side is the panel's own code (its scope's checks and handler table) with the editor's part
    // recorded: which dashboards it was asked to open, and refreshes.
    const state: VmState = vmState();
    const running = new Set(state.containers.map((c) => c.id));
    const opened: string[] = [];
    let refreshes = 0;
    const host: PanelHost = {
      refresh: async () => {
        refreshes++;
      },
      showDashboard: async (containerId) => {
        if (!running.has(containerId)) throw new Error(`no running container ${containerId}`);
        opened.push(containerId);
      },
      showLayers: () => Promise.reject(new Error('the VM view opens no layers')),
      copyText: () => Promise.reject(new Error('the VM view copies nothing')),
      revealUpperDir: () => Promise.reject(new Error('the VM view reveals nothing')),
    };
    const v = (vp = await suite.open('vm'));
    const channel: Channel<VmProtocol> = new Channel(
      vmScope,
      vmHandlers(host, { push: () => channel.notify('state/vm', state) }),
      (m) => void v.pushRaw(m),
    );
    const stop = v.connect((m) => channel.receive(m));
    try {
      // Its `ready` made the host push the state: nothing was pushed by the test.
      await v.page.waitForSelector('.diagram');
      await v.page.click(`.ct-box[data-container-id="${IDS.db}"]`);
      await until(() => opened.length > 0);
      assert.deepEqual(opened, [IDS.db]);
      // The web container exits; the page still shows its box, and a click on it says why nothing opens.
      running.delete(IDS.web);
      await v.page.click(`.ct-box[data-container-id="${IDS.web}"]`);
      await v.page.waitForSelector('.banner-error:not([hidden])');
      assert.ok(contains(await v.page.textContent('.banner-error'), `no running container ${IDS.web}`));
      assert.deepEqual(opened, [IDS.db], 'no dashboard for a container that is gone');
      await v.page.click('.banner-error vscode-button[data-action="retry"]');
      await until(() => refreshes > 0);
      assert.equal(refreshes, 1);
      await assertClean(v);
    } finally {
      stop();
    }
  });

  it('on bare metal draws no hypervisor under the kernel', async () => {
    const v = await openVm(
      vmState(host({ virtualization: { isVirtual: false, hypervisor: null, evidence: 'systemd-detect-virt: none' } })),
    );
    const tiers = await v.page.$$eval('.drawing .diagram [data-tier]', (els) => els.map((e) => e.getAttribute('data-tier')));
    assert.deepEqual(tiers, ['containers', 'kernel shared', 'hardware']);
    assert.equal(await v.page.$('.drawing [data-field="hypervisor"]'), null);
    await assertClean(v);
  });

  it('when the daemon runs in a VM, draws its kernel in a VM box and says which kernel the containers share', async () => {
    const v = await openVm(vmState(desktopHost()));
    assert.equal(await v.page.getAttribute('.drawing .vm-frame', 'data-frame'), 'daemon-vm');
    assert.equal((await v.page.textContent('.drawing .vm-frame [data-field="daemon-kernel"]'))?.trim(), '6.10.14-linuxkit');
    assert.equal((await v.page.textContent('.drawing [data-field="host-kernel"]'))?.trim(), '6.11.5-300.fc41.x86_64');
    const why = await v.page.textContent('[data-field="runs-elsewhere"]');
    assert.match(why ?? '', /They share 6\.10\.14-linuxkit/);
    assert.match(why ?? '', /not this machine’s 6\.11\.5-300\.fc41\.x86_64/);
    assert.match(why ?? '', /the daemon reports kernel 6\.10\.14-linuxkit/);
    assert.equal((await v.page.textContent('[data-field="shared-kernel"]'))?.trim(), '6.10.14-linuxkit');
    assert.match((await v.page.textContent('[data-field="access"]')) ?? '', /daemon only/);
    await v.screenshot('vm-docker-desktop');
    await assertClean(v);
  });

  it('when the daemon is on another machine, draws two machines', async () => {
    const hf = desktopHost();
    hf.daemon = {
      ...hf.daemon!,
      runsInVm: false,
      runsElsewhere: true,
      endpoint: 'ssh://ops@build-02',
      kernel: '5.15.0-125-generic',
      operatingSystem: 'Ubuntu 22.04.5 LTS',
      runsElsewhereReason: 'DOCKER_HOST is ssh://ops@build-02',
    };
    const v = await openVm(vmState(hf));
    assert.ok(await v.page.$('.diagram.two-machines'));
    assert.equal(await v.page.getAttribute('.drawing .vm-frame', 'data-frame'), 'remote');
    assert.match((await v.page.textContent('[data-field="runs-elsewhere"]')) ?? '', /DOCKER_HOST is ssh:\/\/ops@build-02/);
    // This machine is drawn from thisMachine; the daemon's machine from the host facts (its own hypervisor).
    assert.match((await v.page.textContent('.drawing [data-frame="this-machine"] .frame-label')) ?? '', /this machine: laptop/);
    assert.equal((await v.page.textContent('.drawing [data-field="host-kernel"]'))?.trim(), '6.11.5-300.fc41.x86_64');
    assert.match(
      (await v.page.textContent('.drawing .vm-frame .frame-label')) ?? '',
      /the daemon’s machine: docker-desktop \(ssh:\/\/ops@build-02\)/,
    );
    assert.equal((await v.page.textContent('.drawing [data-field="daemon-hypervisor"]'))?.trim(), 'QEMU');
    assert.match(
      (await v.page.textContent('.drawing [data-field="daemon-hardware"]')) ?? '',
      /^virtual hardware of docker-desktop: \d+ CPUs/,
    );
    await v.screenshot('vm-remote');
    await assertClean(v);
  });
  it("with the Containers view's filter set, says how many of all it draws and what the filter is, as plain text", async () => {
    const state = vmState();
    const shown = state.containers.slice(0, 2);
    const filter = `web ${HOSTILE.img}`;
    const v = await openVm({ ...state, containers: shown, filter: { text: filter, total: state.containers.length } });
    const boxes = await v.page.$$eval('.drawing .ct-box', (els) => els.map((e) => e.getAttribute('data-container-id')));
    assert.deepEqual(
      boxes,
      shown.map((c) => c.id),
    );
    const note = (await v.page.textContent('[data-field="filter"]')) ?? '';
    assert.ok(note.startsWith(`2 of ${state.containers.length} running, as the Containers view's filter “web `), note);
    assert.ok(contains(note, HOSTILE.img), note);
    assert.deepEqual(await injectedElements(v), []);
    await assertClean(v);
  });
});
