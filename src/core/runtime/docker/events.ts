import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Runtime } from '../types';
import { DaemonUnreachableError } from './client';

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
  Type?: unknown;
  Action?: unknown;
  status?: unknown;
  id?: unknown;
  Actor?: { ID?: unknown; Attributes?: Record<string, unknown> | null } | null;
  time?: unknown;
  timeNano?: unknown;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** One line of the event stream; null for anything that is not an event object. Never throws. */
export function parseEventLine(line: string): DockerEvent | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const raw = parsed as RawEvent;
  const actor = raw.Actor !== null && typeof raw.Actor === 'object' ? raw.Actor : undefined;
  const attributes = actor?.Attributes !== null && typeof actor?.Attributes === 'object' ? actor.Attributes : undefined;
  const type = str(raw.Type);
  const status = str(raw.status);
  if (!type && !status) return null;
  // The engine's own helper containers come and go with every refresh: refreshing on them would loop.
  if (attributes?.['container-xray.helper'] !== undefined) return null;
  // exec_start: sh -c … carries its command after a colon; only the verb matters here.
  const verb = (str(raw.Action) ?? status ?? '').split(':')[0];
  return {
    type: type ?? 'container',
    // Podman's compatible stream says `remove` where Docker says `destroy` (a container is gone).
    action: (type ?? 'container') === 'container' && verb === 'remove' ? 'destroy' : verb,
    id: str(actor?.ID) ?? str(raw.id) ?? '',
    name: str(attributes?.name) ?? '',
    timeNano: finite(raw.timeNano) ?? finite((finite(raw.time) ?? 0) * 1e9) ?? 0,
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
 * stream breaks and `connected` when it is back. While connected it pings the daemon every `retryMs`: a
 * daemon that is shutting down refuses new connections at once but keeps the event stream open until it
 * has stopped its containers (10 s or more), and views must say it is going away before that.
 */
export class DockerEventWatcher extends EventEmitter<EventWatcherEvents> {
  private stream: Readable | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private lastTimeSec = 0;
  private reportedDown = false;
  private probe: NodeJS.Timeout | null = null;
  connected = false;

  constructor(
    private readonly client: Pick<Runtime, 'ping' | 'events' | 'endpoint'>,
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
    this.stopProbe();
    this.stream?.destroy();
    this.stream = null;
  }

  private stopProbe(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  /** Pings the daemon (uncounted: not one of the engine's calls) while `stream` is the live one. */
  private startProbe(stream: Readable): void {
    this.stopProbe();
    let inFlight = false;
    this.probe = setInterval(() => {
      if (this.stream !== stream) return this.stopProbe();
      if (inFlight) return;
      inFlight = true;
      Promise.resolve()
        .then(() => this.client.ping())
        .then(
          () => undefined,
          (err: unknown) => {
            if (this.stream !== stream) return;
            this.stream = null;
            this.stopProbe();
            stream.destroy();
            this.lost(new DaemonUnreachableError(this.client.endpoint.host, err));
          },
        )
        .finally(() => (inFlight = false));
    }, this.retryMs);
    this.probe.unref();
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
      this.startProbe(stream);
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
        this.stopProbe();
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
