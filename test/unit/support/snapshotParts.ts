// Parts of a snapshot the view and CLI unit tests build theirs from: a host, the host's namespaces and a
// hostile text (markup, a terminal escape, a bidi override, a newline and length) for labels and names.
import type { ContainerSnapshot, HostFacts, NamespaceInodes, Snapshot } from '../../../src/shared/model';
import { groupNamespaces } from '../../../src/shared/namespaces';
import { groupPods } from '../../../src/shared/pods';

export const HOST_NS: NamespaceInodes = { mnt: 1, pid: 2, net: 3, ipc: 4, uts: 5, user: 6, cgroup: 7, time: 8 };

export const HOSTILE = `<img src=x onerror=alert(1)>\u001b[2J\u202e\n${'y'.repeat(5000)}`;

/** A bare-metal Debian host read directly as root, with what the test changes. */
export function hostFacts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    thisMachine: null,
    hostname: 'h',
    kernel: '6.1.0',
    os: { platform: 'linux', distro: 'Debian', release: '12', codename: 'bookworm', arch: 'x64' },
    cpus: 2,
    memoryBytes: 1 << 30,
    virtualization: { isVirtual: false, hypervisor: null, evidence: '' },
    cgroupVersion: 2,
    cgroupHybrid: false,
    daemon: null,
    access: { mode: 'direct', reason: 'root' },
    errors: [],
    ...over,
  };
}

/** A snapshot of these containers on that host, their namespace groups and pods worked out as the engine does. */
export function snapshotOf(containers: ContainerSnapshot[], host: HostFacts = hostFacts()): Snapshot {
  return {
    takenAt: '',
    host,
    containers,
    namespaceGroups: groupNamespaces(HOST_NS, containers),
    pods: groupPods(containers),
    hostNamespacesFrom: 'PID 1',
    daemonCalls: {},
    errors: [],
  };
}
