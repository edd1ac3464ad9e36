// The host's end of one webview's messages, free of the editor (XrayPanel gives it the webview's
// postMessage; a test gives it a page). It checks every message against the view's scope, runs its
// handler, answers requests by sequence number, and holds notifications until the page is ready.
import {
  BaseProtocol,
  Handlers,
  NotificationName,
  NotificationParams,
  Protocol,
  ResponseMessage,
  Scope,
  dispatch,
  notification,
  parseWebviewMessage,
} from '../../shared/protocol';

export class Channel<P extends Protocol> {
  private ready = false;
  private queued: { method: string; msg: object }[] = [];

  constructor(
    readonly scope: Scope<P>,
    private readonly handlers: Handlers<P>,
    private readonly post: (msg: object) => void,
  ) {}

  /** The page was torn down (a hidden panel); it says `ready` again when shown. */
  unload(): void {
    this.ready = false;
  }

  notify<M extends NotificationName<P>>(method: M, params: NotificationParams<P, M>): void {
    this.send(method, notification<P, M>(method, params));
  }

  /** Every scope has state/error (BaseNotifications). */
  showError(message: string, retryable: boolean): void {
    this.send('state/error', notification<BaseProtocol, 'state/error'>('state/error', { message, retryable }));
  }

  private send(method: string, msg: object): void {
    if (!this.ready) {
      // Only the latest state of each kind matters while the page loads.
      this.queued = [...this.queued.filter((q) => q.method !== method), { method, msg }];
      return;
    }
    this.post(msg);
  }

  /** Handles one message from the page; a message outside the scope is dropped (a request is answered with why). */
  async receive(raw: unknown): Promise<void> {
    const parsed = parseWebviewMessage(this.scope, raw);
    if (!parsed.ok) {
      // A request still gets its answer, so the view does not wait for ever.
      if (parsed.seq !== null) this.post({ kind: 'response', seq: parsed.seq, error: parsed.error } satisfies ResponseMessage);
      return;
    }
    const msg = parsed.message;
    if (msg.kind === 'command' && msg.method === 'ready') {
      this.ready = true;
      const queued = this.queued;
      this.queued = [];
      for (const q of queued) this.post(q.msg);
    }
    try {
      const response = await dispatch(this.handlers, msg);
      if (response) this.post(response);
    } catch (err) {
      this.showError(err instanceof Error ? err.message : String(err), true);
    }
  }
}
