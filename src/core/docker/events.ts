import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { DockerClient } from './client';

/** One daemon event, reduced to what refreshing needs. */
export interface DockerEvent {
  type: string;
  action: string;
  id: string;
  name: string;
  /** Unix time in nanoseconds as the daemon sends it (timeNano), or seconds × 1e9. */
  timeNano: number;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

export function parseEventLine(line: string): DockerEvent | null {
  let raw: RawEvent;
  try {
    raw = JSON.parse(line) as RawEvent;
  } catch {
    return null;
  }
  const id = raw.Actor?.ID ?? raw.id ?? '';
  if (!raw.Type && !raw.status) return null;
  return {
    type: raw.Type ?? 'container',
    // exec_start: sh -c … carries its command after a colon; only the verb matters here.
    action: (raw.Action ?? raw.status ?? '').split(':')[0],
    id,
    name: raw.Actor?.Attributes?.name ?? '',
    timeNano: raw.timeNano ?? (raw.time ?? 0) * 1e9,
  };
}

export interface EventWatcherEvents {
  event: [DockerEvent];
  connected: [];
  disconnected: [Error];
}

/**
 * Follows the daemon's event stream (containers and images) and reconnects by itself when the daemon
 * restarts, resuming from the last event seen so nothing is missed. Emits `disconnected` at once when the
 * stream breaks and `connected` when it is back.
 */
export class DockerEventWatcher extends EventEmitter<EventWatcherEvents> {
  private stream: Readable | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private lastTimeSec = 0;
  private reportedDown = false;
  connected = false;

  constructor(
    private readonly client: DockerClient,
    private readonly retryMs = 2000,
  ) {
    super();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stream?.destroy();
    this.stream = null;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      const filters: Record<string, string[]> = { type: ['container', 'image'] };
      const stream = await this.client.events(filters, this.lastTimeSec || undefined);
      if (this.stopped) {
        stream.destroy();
        return;
      }
      this.stream = stream;
      this.connected = true;
      this.reportedDown = false;
      this.emit('connected');
      let buffered = '';
      stream.on('data', (chunk: Buffer | string) => {
        buffered += chunk.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) this.handleLine(line);
        }
        // Some daemons send one JSON object per chunk without a newline.
        if (buffered.trim().endsWith('}')) {
          const ev = parseEventLine(buffered.trim());
          if (ev) {
            buffered = '';
            this.deliver(ev);
          }
        }
      });
      const onEnd = (err?: Error) => {
        if (this.stream !== stream) return;
        this.stream = null;
        this.lost(err ?? new Error('the daemon closed the event stream'));
      };
      stream.on('end', () => onEnd());
      stream.on('close', () => onEnd());
      stream.on('error', (err: Error) => onEnd(err));
    } catch (err) {
      this.lost(err as Error);
    }
  }

  private handleLine(line: string): void {
    const ev = parseEventLine(line);
    if (ev) this.deliver(ev);
  }

  private deliver(ev: DockerEvent): void {
    this.lastTimeSec = Math.max(this.lastTimeSec, Math.floor(ev.timeNano / 1e9));
    this.emit('event', ev);
  }

  private lost(err: Error): void {
    const wasUp = this.connected;
    this.connected = false;
    if (wasUp || !this.reportedDown) {
      this.reportedDown = true;
      this.emit('disconnected', err);
    }
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, this.retryMs);
  }
}
