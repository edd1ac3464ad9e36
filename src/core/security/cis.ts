// CIS Docker Benchmark v1.6.0, section 5 (container runtime), decided per container on what the kernel
// says of it: its init's rights, its mounts, its namespaces against the host's and its cgroup limits.
import { CisVerdict, ContainerSnapshot, NamespaceInodes, NamespaceType, SecurityPosture, VerdictStatus } from '../../shared/model';

/** The recommendations the engine decides, in the benchmark's order. */
export const CIS_RULES: readonly { id: string; title: string }[] = [
  { id: '5.1', title: 'AppArmor profile enabled' },
  { id: '5.2', title: 'SELinux options set' },
  { id: '5.3', title: 'Linux capabilities restricted' },
  { id: '5.4', title: 'Not privileged' },
  { id: '5.5', title: 'No sensitive host directories mounted' },
  { id: '5.9', title: "Host's network namespace not shared" },
  { id: '5.10', title: 'Memory limited' },
  { id: '5.11', title: 'CPU priority or quota set' },
  { id: '5.12', title: 'Root filesystem read-only' },
  { id: '5.15', title: "Host's PID namespace not shared" },
  { id: '5.16', title: "Host's IPC namespace not shared" },
  { id: '5.17', title: 'No host devices exposed' },
  { id: '5.19', title: 'Mount propagation not shared' },
  { id: '5.20', title: "Host's UTS namespace not shared" },
  { id: '5.21', title: 'Seccomp profile not disabled' },
  { id: '5.25', title: 'No new privileges' },
  { id: '5.28', title: 'PIDs limited' },
  { id: '5.30', title: "Host's user namespace not shared" },
  { id: '5.31', title: 'Runtime socket not mounted' },
];

export const CIS_RULE_IDS: readonly string[] = CIS_RULES.map((r) => r.id);

function verdict(id: string, status: VerdictStatus, evidence: string): CisVerdict {
  const title = CIS_RULES.find((r) => r.id === id)?.title ?? id;
  return { id, title, status, evidence };
}

const list = (xs: readonly string[]) => xs.join(', ');

/**
 * The verdicts for one container. `host` is the host's namespaces (PID 1's), null when not known; the
 * runtime's name is said in the capability evidence (`Docker's default set`).
 */
export function decideVerdicts(
  c: Pick<ContainerSnapshot, 'namespaces' | 'cgroup'>,
  s: Omit<SecurityPosture, 'verdicts'>,
  host: NamespaceInodes | null,
  runtimeName: string,
): CisVerdict[] {
  const sharedMountPoints = s.sharedMounts;
  const out: CisVerdict[] = [];
  // 5.1 / 5.2: the process's label, from the module the host runs.
  if (s.lsm === 'apparmor') {
    // `unconfined`, or a profile loaded in unconfined mode (`name (unconfined)`).
    const unconfined = s.lsmLabel === 'unconfined' || / \(unconfined\)$/.test(s.lsmLabel ?? '');
    out.push(verdict('5.1', unconfined ? 'fail' : 'pass', `AppArmor label "${s.lsmLabel}"`));
  } else
    out.push(
      verdict(
        '5.1',
        'unknown',
        s.lsm ? `not an AppArmor host (the process's label is ${s.lsm}'s)` : 'no AppArmor label: the host runs no AppArmor',
      ),
    );
  if (s.lsm === 'selinux') {
    const unconfined = /:(unconfined_t|spc_t)(:|$)/.test(s.lsmLabel ?? '');
    out.push(verdict('5.2', unconfined ? 'fail' : 'pass', `SELinux context "${s.lsmLabel}"`));
  } else
    out.push(
      verdict(
        '5.2',
        'unknown',
        s.lsm ? `not an SELinux host (the process's label is ${s.lsm}'s)` : 'no SELinux context: the host runs no SELinux',
      ),
    );

  if (!s.capabilities) {
    out.push(verdict('5.3', 'unknown', 'the capability sets were not read'));
    out.push(verdict('5.4', 'unknown', 'the capability sets were not read'));
  } else {
    const dropped = s.dropped.length > 0 ? `; drops ${list(s.dropped)}` : '';
    out.push(
      s.added.length > 0
        ? verdict('5.3', 'fail', `bounding set adds ${list(s.added)} to ${runtimeName}'s default set${dropped}`)
        : verdict('5.3', 'pass', `bounding set within ${runtimeName}'s default set${dropped}`),
    );
    out.push(
      s.allCapabilities
        ? verdict('5.4', 'fail', `bounding set holds every capability the kernel has (CapBnd ${s.capabilities.masks.bounding}): privileged`)
        : verdict('5.4', 'pass', `bounding set holds ${s.capabilities.bounding.length} capabilities, not all the kernel has`),
    );
  }

  const mountsUnread = 'the mount tables were not read (see the errors)';
  const hostDirs = s.sensitiveMounts.filter((m) => m.kind === 'host-root' || m.kind === 'host-dir');
  const describe = (ms: typeof s.sensitiveMounts) =>
    list(ms.map((m) => `${m.hostPath ?? '?'} at ${m.mountPoint}${m.readOnly ? ' (ro)' : ''}`));
  out.push(
    hostDirs.length > 0
      ? verdict('5.5', 'fail', `mounts ${describe(hostDirs)}`)
      : s.mountsRead
        ? verdict('5.5', 'pass', 'no host system directory is mounted')
        : verdict('5.5', 'unknown', mountsUnread),
  );

  const ns = (id: string, type: NamespaceType, what: string) => {
    const mine = c.namespaces?.[type] ?? null;
    const theirs = host?.[type] ?? null;
    if (mine === null || theirs === null) {
      out.push(verdict(id, 'unknown', `${mine === null ? "the container's" : "the host's"} ${type} namespace was not read`));
    } else if (mine === theirs) {
      out.push(verdict(id, 'fail', `${type} namespace is the host's (inode ${mine})${what}`));
    } else out.push(verdict(id, 'pass', `own ${type} namespace (inode ${mine}; the host's is ${theirs})`));
  };
  ns('5.9', 'net', '');

  const limits = c.cgroup?.limits ?? null;
  if (!limits) {
    out.push(verdict('5.10', 'unknown', 'the cgroup limits were not read'));
    out.push(verdict('5.11', 'unknown', 'the cgroup limits were not read'));
  } else {
    out.push(
      limits.memoryBytes !== null
        ? verdict('5.10', 'pass', `memory limit ${limits.memoryBytes} bytes`)
        : verdict('5.10', 'fail', 'no memory limit (memory.max / memory.limit_in_bytes unlimited)'),
    );
    const quota = limits.cpus !== null ? `CPU quota ${limits.cpus} CPUs` : null;
    const shares = limits.cpuShares !== null && limits.cpuShares !== 1024 ? `cpu.shares ${limits.cpuShares}` : null;
    const weight = limits.cpuWeight !== null && limits.cpuWeight !== 100 ? `cpu.weight ${limits.cpuWeight}` : null;
    const set = [quota, shares, weight].filter((x): x is string => x !== null);
    out.push(set.length > 0 ? verdict('5.11', 'pass', list(set)) : verdict('5.11', 'fail', 'no CPU quota and the default CPU weight'));
  }

  out.push(
    s.readOnlyRoot === null
      ? verdict('5.12', 'unknown', 'the root mount was not read')
      : s.readOnlyRoot
        ? verdict('5.12', 'pass', 'root filesystem mounted ro')
        : verdict('5.12', 'fail', 'root filesystem mounted rw'),
  );
  ns('5.15', 'pid', ": it sees and can signal the host's processes");
  ns('5.16', 'ipc', '');

  const devices = s.sensitiveMounts.filter((m) => m.kind === 'host-device');
  out.push(
    devices.length > 0
      ? verdict('5.17', 'fail', `mounts host devices: ${describe(devices)}`)
      : s.allCapabilities
        ? verdict('5.17', 'fail', 'privileged: every host device can be made and opened')
        : s.mountsRead
          ? verdict('5.17', 'pass', 'no host device is mounted')
          : verdict('5.17', 'unknown', mountsUnread),
  );
  out.push(
    sharedMountPoints.length > 0
      ? verdict('5.19', 'fail', `shared propagation on ${list(sharedMountPoints)}`)
      : s.mountsRead
        ? verdict('5.19', 'pass', 'no mount propagates to or from the host')
        : verdict('5.19', 'unknown', mountsUnread),
  );
  ns('5.20', 'uts', '');
  out.push(
    s.seccompMode === null
      ? verdict('5.21', 'unknown', 'the Seccomp line was not read')
      : s.seccompMode === 0
        ? verdict('5.21', 'fail', 'Seccomp 0: no seccomp filter')
        : verdict('5.21', 'pass', s.seccompMode === 2 ? `Seccomp 2 (filter), ${s.seccompFilters ?? '?'} filter(s)` : 'Seccomp 1 (strict)'),
  );
  out.push(
    s.noNewPrivs === null
      ? verdict('5.25', 'unknown', 'the NoNewPrivs line was not read')
      : s.noNewPrivs
        ? verdict('5.25', 'pass', 'NoNewPrivs 1')
        : verdict('5.25', 'fail', 'NoNewPrivs 0: setuid binaries can raise its privileges'),
  );
  if (!limits) out.push(verdict('5.28', 'unknown', 'the cgroup limits were not read'));
  else
    out.push(limits.pidsMax !== null ? verdict('5.28', 'pass', `pids.max ${limits.pidsMax}`) : verdict('5.28', 'fail', 'pids.max is max'));
  const userInode = c.namespaces?.user ?? null;
  if ((host?.user ?? null) === null && userInode !== null && s.hostUserNamespace === false && s.uidMap) {
    // The host's inode unread (a rootless reader cannot see PID 1's), but the id map shows another namespace.
    const root = s.uidMap.find((r) => r.inside === 0);
    out.push(
      verdict(
        '5.30',
        'pass',
        `own user namespace (inode ${userInode}): uid 0 inside is uid ${root ? root.outside : 'unmapped'} on the host`,
      ),
    );
  } else ns('5.30', 'user', ': uid 0 inside is uid 0 on the host');
  const sockets = s.sensitiveMounts.filter((m) => m.kind === 'runtime-socket');
  out.push(
    sockets.length > 0
      ? verdict('5.31', 'fail', `runtime socket mounted: ${describe(sockets)}`)
      : s.mountsRead
        ? verdict('5.31', 'pass', 'no runtime socket is mounted')
        : verdict('5.31', 'unknown', mountsUnread),
  );
  return out;
}
