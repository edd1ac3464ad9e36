// Linux capabilities by number, as capabilities(7) and include/uapi/linux/capability.h number them, and the
// default sets the runtimes grant. The kernel prints a process's sets as hex masks in /proc/PID/status.

/** Capability names by bit number (CAP_LAST_CAP is 40 since Linux 5.9). */
export const CAPABILITY_NAMES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** Docker's default set (moby's oci/caps DefaultCapabilities): 14 capabilities. */
export const DOCKER_DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Podman's default set (containers.conf `default_capabilities` since Podman 4): 11 capabilities. */
export const PODMAN_DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

/** The name of capability bit `bit`; a bit newer than this table is named by its number. */
export function capabilityName(bit: number): string {
  return CAPABILITY_NAMES[bit] ?? `CAP_${bit}`;
}

/** A mask as /proc/PID/status prints it (16 hex digits); null when it is not one. */
export function parseCapabilityMask(text: string): bigint | null {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{1,16}$/.test(t)) return null;
  return BigInt(`0x${t}`);
}

/** The names of the bits set in `mask`, lowest bit first. */
export function capabilityNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) if ((mask >> BigInt(bit)) & 1n) out.push(capabilityName(bit));
  return out;
}

/** Whether `mask` holds every capability from 0 to `lastCap` (the kernel's CAP_LAST_CAP). */
export function holdsAll(mask: bigint, lastCap: number): boolean {
  const all = (1n << BigInt(lastCap + 1)) - 1n;
  return (mask & all) === all;
}

/** Sorts capability names by their bit number (unknown names last, by name). */
export function sortCapabilities(names: Iterable<string>): string[] {
  const rank = (n: string) => {
    const i = CAPABILITY_NAMES.indexOf(n);
    if (i >= 0) return i;
    const m = /^CAP_(\d+)$/.exec(n);
    return m ? Number(m[1]) : 1000;
  };
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
