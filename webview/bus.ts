// The webview side of src/shared/protocol: one channel to the host, seen by each view through its own
// scope (viewBus), so a view can post only the commands and requests its panel handles. Requests are
// answered by sequence number; each notification has its listeners. Nothing else posts or receives.
import { AnyScope, CommandName, Protocol, Scope, ViewBus, WebviewToHost, isHostToWebview } from '../src/shared/protocol/ipc';

interface VsCodeApi {
  postMessage(message: WebviewToHost<Protocol>): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode: VsCodeApi = acquireVsCodeApi();
let nextSeq = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const listeners = new Map<string, ((params: unknown) => void)[]>();
/** The scope of the view this page shows; set by the first viewBus the app opens for it. */
let pageScope: AnyScope | null = null;

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const msg = event.data;
  if (!pageScope || !isHostToWebview(pageScope, msg)) return;
  if (msg.kind === 'response') {
    const p = pending.get(msg.seq);
    if (!p) return;
    pending.delete(msg.seq);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
    return;
  }
  for (const fn of listeners.get(msg.method) ?? []) fn(msg.params);
});

/**
 * The bus of one view. The page accepts only that scope's notifications; a send outside the scope is a
 * compile error, and throws if a cast slipped one through.
 */
export function viewBus<P extends Protocol>(scope: Scope<P>): ViewBus<P> {
  const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  const claim = () => {
    if (pageScope && pageScope.view !== scope.view) throw new Error(`this page shows the ${pageScope.view} view, not ${scope.view}`);
    pageScope = scope as unknown as AnyScope;
  };
  return {
    send(method, params) {
      claim();
      if (!own(scope.commands, method)) throw new Error(`the ${scope.view} view has no command ${method}`);
      vscode.postMessage({ kind: 'command', method: method as CommandName<Protocol>, params } as WebviewToHost<Protocol>);
    },
    request(method, params) {
      claim();
      if (!own(scope.requests, method)) return Promise.reject(new Error(`the ${scope.view} view has no request ${method}`));
      const seq = nextSeq++;
      return new Promise((resolve, reject) => {
        pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
        vscode.postMessage({ kind: 'request', seq, method, params } as WebviewToHost<Protocol>);
      });
    },
    on(method, fn) {
      claim();
      const list = listeners.get(method) ?? [];
      list.push(fn as (params: unknown) => void);
      listeners.set(method, list);
    },
  };
}

export function getState<T>(): T | undefined {
  return vscode.getState() as T | undefined;
}

export function setState<T>(state: T): void {
  vscode.setState(state);
}
