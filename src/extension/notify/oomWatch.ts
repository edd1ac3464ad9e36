// Tells when a container was OOM-killed: from the daemon's `oom` event, or from its cgroup's oom_kill counter
// rising between two reads (the event is lost on a reconnect, and the counter also counts a child process
// killed while the container runs on). No `vscode` here: the extension turns a notice into a notification.
import type { ContainerSnapshot } from '../../shared/model';
import { printable, truncate } from '../../shared/text';

export interface OomNotice {
  id: string;
  name: string;
  /** The cgroup's oom_kill counter now, where read. */
  kills: number | null;
  /** What told: the daemon's event, or the counter rising. */
  source: 'event' | 'counter';
}

/** One notice per container within this many milliseconds: the event and the counter tell of the same kill. */
export const OOM_NOTICE_QUIET_MS = 30_000;

export class OomWatch {
  private readonly kills = new Map<string, number>();
  private readonly told = new Map<string, number>();

  constructor(
    private readonly notify: (n: OomNotice) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Containers as just read: a counter above what was seen before is a kill since then (the first look only records). */
  observe(containers: readonly ContainerSnapshot[]): void {
    for (const c of containers) {
      const n = c.cgroup?.usage.oomKills;
      if (n === null || n === undefined) continue;
      const before = this.kills.get(c.id);
      this.kills.set(c.id, n);
      if (before !== undefined && n > before) this.tell({ id: c.id, name: truncate(printable(c.name), 128), kills: n, source: 'counter' });
    }
  }

  /** The daemon's `oom` event for container `id`. */
  event(id: string, name: string): void {
    this.tell({ id, name, kills: this.kills.get(id) ?? null, source: 'event' });
  }

  /** A container that is gone is forgotten. */
  forget(id: string): void {
    this.kills.delete(id);
    this.told.delete(id);
  }

  private tell(n: OomNotice): void {
    const last = this.told.get(n.id);
    const t = this.now();
    if (last !== undefined && t - last < OOM_NOTICE_QUIET_MS) return;
    this.told.set(n.id, t);
    this.notify(n);
  }
}

/** The notification's words: `Container web was OOM-killed (memory limit 64.0 MiB; 2 OOM kills in its cgroup).` */
export function oomMessage(n: OomNotice, limitText: string | null): string {
  const parts = [
    limitText ? `memory limit ${limitText}` : null,
    n.kills !== null ? `${n.kills} OOM kill${n.kills === 1 ? '' : 's'} in its cgroup` : null,
  ].filter((x): x is string => x !== null);
  return `Container ${n.name}: the kernel's OOM killer ended a process in it${parts.length > 0 ? ` (${parts.join('; ')})` : ''}.`;
}
