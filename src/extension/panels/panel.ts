import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import {
  Commands,
  HostToWebview,
  Notifications,
  Requests,
  ViewKind,
  WebviewToHost,
  isWebviewToHost,
  notification,
} from '../../shared/protocol';
import { webviewPage } from '../../shared/webviewPage';

/** The page every panel loads: the bundled app under a strict CSP with a fresh nonce. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: ViewKind, title: string): string {
  return webviewPage({
    view,
    title,
    cspSource: webview.cspSource,
    nonce: randomBytes(16).toString('base64'),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.css')).toString(),
  });
}

type CommandHandlers = { [M in keyof Commands]?: (params: Commands[M]) => unknown };
type RequestHandlers = { [M in keyof Requests]?: (params: Requests[M]['params']) => Promise<Requests[M]['result']> };

/**
 * One webview panel speaking the typed protocol: it validates every incoming message, dispatches commands
 * and requests to handlers, and answers requests with the same sequence number.
 */
export class XrayPanel implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;
  private queued: HostToWebview[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly extensionUri: vscode.Uri,
    readonly view: ViewKind,
    title: string,
    private readonly commands: CommandHandlers,
    private readonly requests: RequestHandlers = {},
    column: vscode.ViewColumn = vscode.ViewColumn.Active,
  ) {
    this.panel = vscode.window.createWebviewPanel(`containerXray.${view}`, title, column, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    });
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, view, title);
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.onDidChangeViewState(() => {
        // A hidden panel's page is torn down; it sends `ready` again when shown.
        if (!this.panel.visible) this.ready = false;
      }),
    );
  }

  get visible(): boolean {
    return this.panel.visible;
  }

  notify<M extends keyof Notifications>(method: M, params: Notifications[M]): void {
    const msg = notification(method, params);
    if (!this.ready) {
      // Only the latest state of each kind matters while the page loads.
      this.queued = [...this.queued.filter((q) => q.kind !== 'notification' || q.method !== method), msg];
      return;
    }
    void this.panel.webview.postMessage(msg);
  }

  private async receive(raw: unknown): Promise<void> {
    if (!isWebviewToHost(raw)) return;
    const msg: WebviewToHost = raw;
    if (msg.kind === 'command') {
      if (msg.method === 'ready') {
        this.ready = true;
        const queued = this.queued;
        this.queued = [];
        for (const q of queued) void this.panel.webview.postMessage(q);
      }
      const handler = this.commands[msg.method] as ((p: unknown) => void | Promise<void>) | undefined;
      try {
        await handler?.(msg.params);
      } catch (err) {
        this.notify('state/error', { message: err instanceof Error ? err.message : String(err), retryable: true });
      }
      return;
    }
    const handler = this.requests[msg.method] as ((p: unknown) => Promise<unknown>) | undefined;
    try {
      if (!handler) throw new Error(`no handler for ${msg.method}`);
      const result = await handler(msg.params);
      void this.panel.webview.postMessage({ kind: 'response', seq: msg.seq, result } satisfies HostToWebview);
    } catch (err) {
      void this.panel.webview.postMessage({
        kind: 'response',
        seq: msg.seq,
        error: err instanceof Error ? err.message : String(err),
      } satisfies HostToWebview);
    }
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
    this.panel.dispose();
  }
}
