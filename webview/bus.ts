// The webview side of src/shared/protocol.ts: typed sends, request/response by sequence number, and one
// listener per notification. Nothing else posts or receives messages.
import { Commands, HostToWebview, Notifications, Requests, WebviewToHost, command, isHostToWebview } from '../src/shared/protocol';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode: VsCodeApi = acquireVsCodeApi();
let nextSeq = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const listeners = new Map<string, ((params: never) => void)[]>();

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const msg = event.data;
  if (!isHostToWebview(msg)) return;
  dispatch(msg);
});

function dispatch(msg: HostToWebview): void {
  if (msg.kind === 'response') {
    const p = pending.get(msg.seq);
    if (!p) return;
    pending.delete(msg.seq);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
    return;
  }
  for (const fn of listeners.get(msg.method) ?? []) (fn as (p: unknown) => void)(msg.params);
}

export function on<M extends keyof Notifications>(method: M, fn: (params: Notifications[M]) => void): void {
  const list = listeners.get(method) ?? [];
  list.push(fn as (params: never) => void);
  listeners.set(method, list);
}

export function send<M extends keyof Commands>(method: M, params: Commands[M]): void {
  vscode.postMessage(command(method, params));
}

export function request<M extends keyof Requests>(method: M, params: Requests[M]['params']): Promise<Requests[M]['result']> {
  const seq = nextSeq++;
  return new Promise((resolve, reject) => {
    pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
    vscode.postMessage({ kind: 'request', seq, method, params } as WebviewToHost);
  });
}

export function getState<T>(): T | undefined {
  return vscode.getState() as T | undefined;
}

export function setState<T>(state: T): void {
  vscode.setState(state);
}
