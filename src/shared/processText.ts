// How a process's command line is shown, and how much of it a view is sent: a container can make its
// command lines long (the engine keeps 64 KiB of each, marked), and a live view gets them every tick.
import type { ContainerSnapshot, ProcessInfo } from './model';

/** The command line as shown: a cut one ends in `…`. */
export function commandText(p: ProcessInfo): string {
  return p.commandTruncated ? `${p.command}…` : p.command;
}

/** How many processes a container has, listed or not (the engine caps the list). */
export function processCount(c: ContainerSnapshot): number {
  return c.processes.length + (c.processesNotListed ?? 0);
}

/**
 * The container with each command line cut at `maxChars` (and marked), for a view that shows no more:
 * what a dashboard is posted every tick stays bounded however long the command lines are.
 */
export function withCommandsCut(c: ContainerSnapshot, maxChars: number): ContainerSnapshot {
  if (!c.processes.some((p) => p.command.length > maxChars)) return c;
  return {
    ...c,
    processes: c.processes.map((p) =>
      p.command.length > maxChars ? { ...p, command: p.command.slice(0, maxChars), commandTruncated: true } : p,
    ),
  };
}
