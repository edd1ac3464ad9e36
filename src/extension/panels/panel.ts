import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { Handlers, NotificationName, NotificationParams, Protocol, Scope, ViewKind } from '../../shared/protocol';
import { webviewPage } from '../../shared/webviewPage';
import { Channel } from './channel';

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

/** What the panels do with any open panel, whatever its view. */
export interface AnyPanel {
  showError(message: string, retryable: boolean): void;
  dispose(): void;
}

/** One webview panel speaking its view's scope of the protocol through a Channel. */
export class XrayPanel<P extends Protocol> implements vscode.Disposable, AnyPanel {
  readonly panel: vscode.WebviewPanel;
  readonly view: ViewKind;
  private readonly channel: Channel<P>;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly extensionUri: vscode.Uri,
    scope: Scope<P>,
    title: string,
    handlers: Handlers<P>,
    column: vscode.ViewColumn = vscode.ViewColumn.Active,
  ) {
    const view = scope.view;
    this.view = view;
    this.panel = vscode.window.createWebviewPanel(`containerXray.${view}`, title, column, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    });
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, view, title);
    this.channel = new Channel(scope, handlers, (msg) => void this.panel.webview.postMessage(msg));
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((m: unknown) => void this.channel.receive(m)),
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.onDidChangeViewState(() => {
        // A hidden panel's page is torn down; it sends `ready` again when shown.
        if (!this.panel.visible) this.channel.unload();
      }),
    );
  }

  get visible(): boolean {
    return this.panel.visible;
  }

  notify<M extends NotificationName<P>>(method: M, params: NotificationParams<P, M>): void {
    this.channel.notify(method, params);
  }

  showError(message: string, retryable: boolean): void {
    this.channel.showError(message, retryable);
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
