import * as assert from 'node:assert/strict';
import { ViewPage, assertClean, injectedElements, webviewSuite } from './harness';
import { HOSTILE, IDS, desktopHost, host, vmState } from './sample';
import { contains } from './util';

describe('webview: container vs VM', function () {
  const suite = webviewSuite();
  let vp: ViewPage | null = null;

  async function openVm(state = vmState()): Promise<ViewPage> {
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
    await v.page.click(`.ct-box[data-container-id="${IDS.db}"]`);
    assert.deepEqual((await v.waitForPosted((m) => m.method === 'openDashboard')).params, { containerId: IDS.db });
    assert.deepEqual(await injectedElements(v), []);
    await v.screenshot('vm');
    await assertClean(v);
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
    await v.screenshot('vm-remote');
    await assertClean(v);
  });
});
