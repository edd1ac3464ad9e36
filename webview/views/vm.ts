// Container vs VM: a drawing of what the containers actually sit on (hardware → hypervisor when this
// machine is a VM → the one Linux kernel → the containers), beside a VM for comparison, and a note that
// says why: containers are processes in namespaces and cgroups on a shared kernel; a VM has its own.
import type { HostFacts } from '../../src/shared/model';
import { VmState, vmScope } from '../../src/shared/protocol/vm';
import { viewBus } from '../bus';
import { clear, h } from '../dom';
import { formatBytes } from '../lib/format';
import { facts, show, trunc, waiting } from '../ui';

/** Container boxes drawn before the rest are summed up as "+N more". */
const MAX_BOXES = 48;

const { on, send } = viewBus(vmScope);

function tier(cls: string, label: string, ...content: (Node | string)[]): HTMLElement {
  return h(
    'div',
    { class: `tier ${cls}`, 'data-tier': cls },
    h('span', { class: 'tier-label' }, label),
    h('div', { class: 'tier-body' }, ...content),
  );
}

function containerBoxes(state: VmState): HTMLElement {
  const row = h('div', { class: 'boxes' });
  for (const c of state.containers.slice(0, MAX_BOXES)) {
    const b = h(
      'button',
      {
        type: 'button',
        class: 'ct-box',
        'data-container-id': c.id,
        title: show(`${c.name}\n${c.image}${c.pid !== null ? `\nhost PID ${c.pid}` : ''}`),
      },
      h('span', { class: 'ct-name trunc' }, show(c.name)),
      h('span', { class: 'ct-sub trunc' }, c.pid !== null ? `PID ${c.pid} · ${show(c.image)}` : show(c.image)),
    );
    b.addEventListener('click', () => send('openDashboard', { containerId: c.id }));
    row.append(b);
  }
  if (state.containers.length > MAX_BOXES) row.append(h('span', { class: 'ct-more' }, `+${state.containers.length - MAX_BOXES} more`));
  if (state.filter)
    row.append(
      h(
        'span',
        { class: 'ct-more', 'data-field': 'filter' },
        `${state.containers.length} of ${state.filter.total} running, as the Containers view's filter “${show(state.filter.text)}” shows`,
      ),
    );
  else if (state.containers.length === 0) row.append(h('span', { class: 'ct-more' }, 'no containers running'));
  return row;
}

function hardware(host: HostFacts, what: string): HTMLElement {
  return tier(
    'hardware',
    'hardware',
    h('span', {}, what),
    h(
      'span',
      { class: 'muted' },
      ` ${host.cpus} CPU${host.cpus === 1 ? '' : 's'} · ${formatBytes(host.memoryBytes)} · ${show(host.os.arch)}`,
    ),
  );
}

/** The drawing of this machine, with the daemon's VM or remote machine when the containers live there. */
function diagram(state: VmState): HTMLElement {
  const { host } = state;
  const d = host.daemon;
  const virt = host.virtualization;
  const hypervisorName = virt.hypervisor ? show(virt.hypervisor) : 'unknown hypervisor';
  const containersTier = tier(
    'containers',
    'containers',
    containerBoxes(state),
    h('p', { class: 'tier-note' }, 'processes in their own namespaces, held by cgroups'),
  );

  if (d && (d.runsInVm || d.runsElsewhere)) {
    const daemonKernel = tier(
      'kernel shared',
      'Linux kernel',
      h('strong', { 'data-field': 'daemon-kernel' }, show(d.kernel)),
      h('span', { class: 'muted' }, ` · ${show(d.operatingSystem)} — the kernel the containers share`),
    );
    const daemonBox = h(
      'div',
      { class: 'frame vm-frame', 'data-frame': d.runsElsewhere && !d.runsInVm ? 'remote' : 'daemon-vm' },
      h(
        'span',
        { class: 'frame-label' },
        d.runsInVm
          ? `virtual machine running the Docker daemon${host.thisMachine ? `: ${show(host.hostname)}` : ''}`
          : `the daemon’s machine${host.thisMachine ? `: ${show(host.hostname)}` : ''} (${show(d.endpoint)})`,
      ),
      containersTier,
      daemonKernel,
    );
    // host.* is the daemon's machine; thisMachine (null in fixtures of older engines) is the engine's own.
    const here = host.thisMachine;
    const thisKernel = tier(
      'kernel',
      'host kernel',
      h('strong', { 'data-field': 'host-kernel' }, show(here ? here.kernel : host.kernel)),
      h('span', { class: 'muted' }, ` · ${show(here ? here.os : host.os.distro)} — runs VS Code and the docker client, no containers`),
    );
    const hereHardware = (what: string) =>
      here
        ? tier(
            'hardware',
            'hardware',
            h('span', {}, what),
            h('span', { class: 'muted' }, ` ${here.cpus} CPU${here.cpus === 1 ? '' : 's'} · ${formatBytes(here.memoryBytes)}`),
          )
        : hardware(host, what);
    const daemonHypervisor = virt.isVirtual
      ? tier(
          'hypervisor',
          'hypervisor',
          h('strong', { 'data-field': 'daemon-hypervisor' }, hypervisorName),
          h('span', { class: 'muted' }, ` — ${show(virt.evidence)}`),
        )
      : '';
    if (d.runsElsewhere && !d.runsInVm) {
      return h(
        'div',
        { class: 'diagram two-machines' },
        h(
          'div',
          { class: 'frame host-frame', 'data-frame': 'this-machine' },
          h('span', { class: 'frame-label' }, `this machine: ${show(here ? here.hostname : host.hostname)}`),
          thisKernel,
          hereHardware('this machine’s hardware'),
        ),
        h(
          'div',
          { class: 'frame remote-frame' },
          daemonBox,
          daemonHypervisor,
          tier(
            'hardware',
            'hardware',
            h(
              'span',
              { 'data-field': 'daemon-hardware' },
              `${virt.isVirtual ? 'virtual hardware of' : 'another machine'}${host.hostname ? ` ${show(host.hostname)}` : ''}: ${d.cpus} CPUs · ${formatBytes(d.memoryBytes)} · ${show(d.architecture)}`,
            ),
          ),
        ),
      );
    }
    return h(
      'div',
      { class: 'diagram' },
      daemonBox,
      tier('hypervisor', 'hypervisor', 'the VM’s virtual hardware, provided on this machine'),
      thisKernel,
      here
        ? ''
        : virt.isVirtual
          ? tier('hypervisor', 'hypervisor', h('strong', { 'data-field': 'hypervisor' }, hypervisorName), ' (this machine is itself a VM)')
          : '',
      here ? hereHardware('this machine') : hardware(host, virt.isVirtual ? 'physical host (not visible from here)' : 'this machine'),
    );
  }

  const kernel = tier(
    'kernel shared',
    'Linux kernel',
    h('strong', { 'data-field': 'host-kernel' }, show(host.kernel)),
    h('span', { class: 'muted' }, ' — one kernel, shared by every container and the host’s own processes'),
  );
  if (virt.isVirtual) {
    return h(
      'div',
      { class: 'diagram' },
      h(
        'div',
        { class: 'frame vm-frame', 'data-frame': 'this-vm' },
        h('span', { class: 'frame-label' }, `virtual machine: ${show(host.hostname)}`),
        containersTier,
        kernel,
      ),
      tier(
        'hypervisor',
        'hypervisor',
        h('strong', { 'data-field': 'hypervisor' }, hypervisorName),
        h('span', { class: 'muted' }, ` — ${show(virt.evidence)}`),
      ),
      hardware(host, 'physical host (not visible from here)'),
    );
  }
  return h(
    'div',
    { class: 'diagram' },
    h(
      'div',
      { class: 'frame host-frame', 'data-frame': 'this-machine' },
      h('span', { class: 'frame-label' }, `this machine: ${show(host.hostname)}`),
      containersTier,
      kernel,
    ),
    hardware(host, 'this machine, no hypervisor'),
  );
}

/** Two VMs on a hypervisor, for comparison: each with its own kernel. */
function vmComparison(): HTMLElement {
  const vm = (n: number) =>
    h(
      'div',
      { class: 'frame vm-frame mini' },
      h('span', { class: 'frame-label' }, `VM ${n}`),
      tier('containers', 'apps', h('div', { class: 'boxes' }, h('span', { class: 'ct-box static' }, 'app'))),
      tier('kernel', 'kernel', `guest kernel ${n}: its own`),
    );
  return h(
    'div',
    { class: 'diagram compare-diagram', 'aria-label': 'For comparison: virtual machines' },
    h('div', { class: 'vm-pair' }, vm(1), vm(2)),
    tier('hypervisor', 'hypervisor', 'virtual hardware for each VM'),
    tier('hardware', 'hardware', 'the physical machine'),
  );
}

function note(state: VmState): HTMLElement {
  const { host } = state;
  const d = host.daemon;
  const elsewhere = d && (d.runsInVm || d.runsElsewhere);
  const kernel = elsewhere ? d.kernel : host.kernel;
  const parts: HTMLElement[] = [
    h(
      'p',
      {},
      'A container is not a small virtual machine. Each container is a group of ordinary processes: ',
      h('strong', {}, 'namespaces'),
      ' give them their own view of the system (process IDs, network, mounts, hostname, users), and ',
      h('strong', {}, 'cgroups'),
      ' hold them to limits (memory, CPU, number of processes). They all run on ',
      h('strong', {}, 'one kernel'),
      ': ',
      h('code', { 'data-field': 'shared-kernel' }, show(kernel)),
      '. A process inside a container makes system calls to that same kernel, and the host sees it with a host PID.',
    ),
    h(
      'p',
      {},
      'A virtual machine instead boots ',
      h('strong', {}, 'its own kernel'),
      ' on virtual hardware that a hypervisor provides; nothing in it shares the host’s kernel.',
    ),
  ];
  if (host.virtualization.isVirtual && !elsewhere) {
    parts.push(
      h(
        'p',
        {},
        'This machine is itself a virtual machine (',
        h('strong', {}, host.virtualization.hypervisor ? show(host.virtualization.hypervisor) : 'unknown hypervisor'),
        `; ${show(host.virtualization.evidence)}). Its containers share this VM’s kernel; the hypervisor sits underneath the whole VM.`,
      ),
    );
  }
  if (elsewhere) {
    parts.push(
      h(
        'p',
        { class: 'elsewhere', 'data-field': 'runs-elsewhere' },
        h('strong', {}, 'The containers do not run on this machine’s kernel. '),
        `They share ${show(d.kernel)} (${show(d.operatingSystem)}), the kernel of ${d.runsInVm ? 'the VM the Docker daemon runs in' : 'the machine the daemon runs on'}, not this machine’s ${show(host.thisMachine ? host.thisMachine.kernel : host.kernel)}`,
        d.runsElsewhereReason ? `: ${show(d.runsElsewhereReason)}` : '.',
      ),
    );
  }
  return h('aside', { class: 'card note-card' }, h('h2', {}, 'Why containers are not VMs'), ...parts);
}

function accessCard(host: HostFacts): HTMLElement {
  const modes: Record<HostFacts['access']['mode'], string> = {
    direct: 'direct: reads /proc, the cgroup files and /var/lib/docker itself',
    helper: 'helper: reads the host’s files through a helper container',
    'daemon-only': 'daemon only: what the Docker API reports, no kernel files',
  };
  const d = host.daemon;
  return h(
    'section',
    { class: 'card host-card' },
    h('h2', {}, 'This host'),
    facts([
      [
        'how data is read',
        h(
          'span',
          { 'data-field': 'access' },
          h('strong', {}, modes[host.access.mode] ?? show(host.access.mode)),
          h('br', {}),
          show(host.access.reason),
        ),
      ],
      ['hostname', trunc(host.hostname)],
      ['kernel', h('code', {}, show(host.kernel))],
      [
        'OS',
        trunc(
          `${host.os.distro} ${host.os.release}${host.os.codename ? ` (${host.os.codename})` : ''} · ${host.os.platform} ${host.os.arch}`,
        ),
      ],
      ['CPUs · memory', `${host.cpus} · ${formatBytes(host.memoryBytes)}`],
      [
        'virtualization',
        host.virtualization.isVirtual
          ? `${host.virtualization.hypervisor ? show(host.virtualization.hypervisor) : 'a VM'} (${show(host.virtualization.evidence)})`
          : `none detected (${show(host.virtualization.evidence)})`,
      ],
      [
        'cgroups',
        host.cgroupVersion === null ? 'unknown' : `v${host.cgroupVersion}${host.cgroupHybrid ? ' (hybrid: v1 and v2 mounted)' : ''}`,
      ],
      ...(d
        ? ([
            ['Docker', trunc(`${d.serverVersion} (API ${d.apiVersion}) at ${d.endpoint}`)],
            [
              'storage · cgroup driver',
              `${show(d.storageDriver)} · ${show(d.cgroupDriver)}${d.rootless ? ' · rootless' : ''}${d.containerdSnapshotter ? ' · containerd snapshotter' : ''}`,
            ],
            ['daemon kernel', h('code', {}, show(d.kernel))],
          ] as [string, Node | string][])
        : ([['Docker', 'no daemon information']] as [string, Node | string][])),
    ]),
    host.errors.length
      ? h('ul', { class: 'errors' }, ...host.errors.map((e) => h('li', {}, h('code', {}, show(e.field)), ': ', show(e.reason))))
      : '',
  );
}

export function mountVm(root: HTMLElement): void {
  const loading = waiting('Reading the host…');
  root.append(loading);
  const page = h('div', { class: 'vm-page' });
  let mounted = false;
  on('state/vm', (state) => {
    if (!mounted) {
      loading.remove();
      root.append(page);
      mounted = true;
    }
    clear(page);
    page.append(
      h(
        'header',
        { class: 'view-header' },
        h('h1', {}, 'Containers and virtual machines'),
        h(
          'p',
          { class: 'subtitle' },
          `${state.containers.length} container${state.containers.length === 1 ? '' : 's'} on ${show(state.host.hostname)}`,
        ),
      ),
      h(
        'div',
        { class: 'vm-layout' },
        h(
          'section',
          { class: 'card drawing', 'aria-label': 'What the containers run on' },
          h('h2', {}, 'What these containers run on'),
          diagram(state),
        ),
        h(
          'div',
          { class: 'vm-side' },
          note(state),
          h('section', { class: 'card' }, h('h2', {}, 'A virtual machine, for comparison'), vmComparison()),
        ),
      ),
      accessCard(state.host),
    );
  });
}
