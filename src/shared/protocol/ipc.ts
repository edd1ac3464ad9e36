// What every webview scope is made of. As in GitLens' IPC, each webview has its own protocol module
// (graph.ts, dashboard.ts, layers.ts, vm.ts beside this file) with three shapes: notifications (host →
// webview, state pushes), commands (webview → host, fire and forget) and requests (webview → host, answered
// by a response with the same sequence number). A view's bus can post only its own scope's commands, and a
// panel must give a handler for every one of them: both are compile errors otherwise. The scope object
// repeats the method names with a check of their params, because a webview is untrusted input.

/** Which view a webview panel shows; the bundled app mounts the matching one. */
export type ViewKind = 'graph' | 'dashboard' | 'layers' | 'vm';

/** The methods of one scope: command params, request params and results, notification params. */
export interface Protocol {
  commands: object;
  requests: object;
  notifications: object;
}

/** Every view tells its host when it is ready and can ask it to try again after an error. */
export interface BaseCommands {
  ready: { view: ViewKind };
  retry: Record<string, never>;
}

/** Every view shows errors (daemon down, container gone) above its last data. */
export interface BaseNotifications {
  'state/error': { message: string; retryable: boolean };
}

/** The part every scope shares; what main.ts and the banner may use in any view. */
export interface BaseProtocol {
  commands: BaseCommands;
  requests: Record<never, never>;
  notifications: BaseNotifications;
}

/** A request's params and result. */
export interface RequestType<Params, Result> {
  params: Params;
  result: Result;
}

export type CommandName<P extends Protocol> = keyof P['commands'] & string;
export type RequestName<P extends Protocol> = keyof P['requests'] & string;
export type NotificationName<P extends Protocol> = keyof P['notifications'] & string;
export type CommandParams<P extends Protocol, M extends CommandName<P>> = P['commands'][M];
export type RequestParams<P extends Protocol, M extends RequestName<P>> =
  P['requests'][M] extends RequestType<infer X, unknown> ? X : never;
export type RequestResult<P extends Protocol, M extends RequestName<P>> =
  P['requests'][M] extends RequestType<unknown, infer R> ? R : never;
export type NotificationParams<P extends Protocol, M extends NotificationName<P>> = P['notifications'][M];

// ---- Runtime checks of untrusted params ----

/** Checks a value from a webview: null when it fits, otherwise what is wrong with it. `T` ties it to its type. */
export type Check<T> = ((value: unknown, field: string) => string | null) & { readonly __type?: T };
type Checked<C> = C extends Check<infer T> ? T : never;

export function text(maxLength: number, opts: { empty?: boolean } = {}): Check<string> {
  return (v, field) => {
    if (typeof v !== 'string') return `${field} must be a string`;
    if (!opts.empty && v.length === 0) return `${field} must not be empty`;
    if (v.length > maxLength) return `${field} is longer than ${maxLength} characters`;
    return null;
  };
}

export const bool: Check<boolean> = (v, field) => (typeof v === 'boolean' ? null : `${field} must be true or false`);

export function literal<T extends string>(...values: T[]): Check<T> {
  return (v, field) =>
    (values as unknown[]).includes(v) ? null : `${field} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
}

/** A non-negative safe integer (an index). */
export const index: Check<number> = (v, field) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : `${field} must be a non-negative integer`;

export function either<A, B>(a: Check<A>, b: Check<B>, what: string): Check<A | B> {
  return (v, field) => (a(v, field) === null || b(v, field) === null ? null : `${field} must be ${what}`);
}

export const nothing: Check<null> = (v, field) => (v === null ? null : `${field} must be null`);

/** A plain object with exactly these fields (a field it does not know is an error too). */
export function fields<S extends Record<string, Check<unknown>>>(shape: S): Check<{ [K in keyof S]: Checked<S[K]> }> {
  return (v, field) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${field} must be an object`;
    for (const k of Object.keys(v)) if (!Object.prototype.hasOwnProperty.call(shape, k)) return `${field}.${k} is not a known field`;
    for (const [k, check] of Object.entries(shape)) {
      const problem = check((v as Record<string, unknown>)[k], `${field}.${k}`);
      if (problem !== null) return problem;
    }
    return null;
  };
}

export const noParams: Check<Record<string, never>> = fields({});

/** What the host checks about a scope's messages, one entry per method: the compiler keeps it complete. */
export interface Scope<P extends Protocol> {
  view: ViewKind;
  commands: { [M in CommandName<P>]: Check<CommandParams<P, M>> };
  requests: { [M in RequestName<P>]: Check<RequestParams<P, M>> };
  notifications: { [M in NotificationName<P>]: true };
}

/** Any scope, seen as the part every scope shares. */
export type AnyScope = Scope<BaseProtocol>;

const VIEWS: ViewKind[] = ['graph', 'dashboard', 'layers', 'vm'];

/** The checks every scope starts from. */
export const baseCommands: Scope<BaseProtocol>['commands'] = {
  ready: fields({ view: literal(...VIEWS) }),
  retry: noParams,
};
export const baseNotifications: Scope<BaseProtocol>['notifications'] = { 'state/error': true };

// ---- Messages ----

export type CommandMessage<P extends Protocol> = {
  [M in CommandName<P>]: { kind: 'command'; method: M; params: CommandParams<P, M> };
}[CommandName<P>];
export type RequestMessage<P extends Protocol> = {
  [M in RequestName<P>]: { kind: 'request'; seq: number; method: M; params: RequestParams<P, M> };
}[RequestName<P>];
export type NotificationMessage<P extends Protocol> = {
  [M in NotificationName<P>]: { kind: 'notification'; method: M; params: NotificationParams<P, M> };
}[NotificationName<P>];
export type ResponseMessage = { kind: 'response'; seq: number; result?: unknown; error?: string };

export type WebviewToHost<P extends Protocol> = CommandMessage<P> | RequestMessage<P>;
export type HostToWebview<P extends Protocol> = NotificationMessage<P> | ResponseMessage;

export function notification<P extends Protocol, M extends NotificationName<P>>(
  method: M,
  params: NotificationParams<P, M>,
): HostToWebview<P> {
  return { kind: 'notification', method, params } as HostToWebview<P>;
}

export function command<P extends Protocol, M extends CommandName<P>>(method: M, params: CommandParams<P, M>): WebviewToHost<P> {
  return { kind: 'command', method, params } as WebviewToHost<P>;
}

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

export type Parsed<P extends Protocol> =
  | { ok: true; message: WebviewToHost<P> }
  /** `seq` is set when the message was a request the host can still answer (with this error). */
  | { ok: false; error: string; seq: number | null };

/**
 * Checks a message from a webview against its scope before the host acts on it: the kind, a method of this
 * scope, and its params field by field.
 */
export function parseWebviewMessage<P extends Protocol>(scope: Scope<P>, raw: unknown): Parsed<P> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'a message must be an object', seq: null };
  const m = raw as { kind?: unknown; method?: unknown; params?: unknown; seq?: unknown };
  const seq = m.kind === 'request' && typeof m.seq === 'number' && Number.isSafeInteger(m.seq) ? m.seq : null;
  const fail = (error: string): Parsed<P> => ({ ok: false, error, seq });
  if (m.kind !== 'command' && m.kind !== 'request') return fail(`kind must be "command" or "request", not ${JSON.stringify(m.kind)}`);
  if (m.kind === 'request' && seq === null) return fail('seq must be an integer');
  if (typeof m.method !== 'string') return fail('method must be a string');
  const checks: Record<string, Check<unknown>> = m.kind === 'command' ? scope.commands : scope.requests;
  if (!own(checks, m.method)) return fail(`the ${scope.view} view has no ${m.kind} ${JSON.stringify(m.method.slice(0, 100))}`);
  const problem = checks[m.method](m.params, `${m.method}.params`);
  if (problem !== null) return fail(problem);
  return { ok: true, message: raw as WebviewToHost<P> };
}

/** Checks the shape of a message from the host (trusted, but a stray message must not reach a listener). */
export function isHostToWebview<P extends Protocol>(scope: Scope<P>, value: unknown): value is HostToWebview<P> {
  if (!value || typeof value !== 'object') return false;
  const m = value as { kind?: unknown; method?: unknown; seq?: unknown };
  if (m.kind === 'notification') return typeof m.method === 'string' && own(scope.notifications, m.method);
  if (m.kind === 'response') return typeof m.seq === 'number';
  return false;
}

// ---- The two sides ----

/** The host's handlers for a scope: one for every command and request, or the panel does not compile. */
export interface Handlers<P extends Protocol> {
  commands: { [M in CommandName<P>]: (params: CommandParams<P, M>) => unknown };
  requests: { [M in RequestName<P>]: (params: RequestParams<P, M>) => Promise<RequestResult<P, M>> };
}

/** Runs the handler of a checked message: a command's outcome, or the response to a request. */
export async function dispatch<P extends Protocol>(handlers: Handlers<P>, message: WebviewToHost<P>): Promise<ResponseMessage | null> {
  if (message.kind === 'command') {
    const handler = (handlers.commands as Record<string, (p: unknown) => unknown>)[message.method];
    await handler(message.params);
    return null;
  }
  const handler = (handlers.requests as Record<string, (p: unknown) => Promise<unknown>>)[message.method];
  try {
    return { kind: 'response', seq: message.seq, result: await handler(message.params) };
  } catch (err) {
    return { kind: 'response', seq: message.seq, error: err instanceof Error ? err.message : String(err) };
  }
}

/** What a view may do with its host: send its own commands and requests, listen to its own notifications. */
export interface ViewBus<P extends Protocol> {
  send<M extends CommandName<P>>(method: M, params: CommandParams<P, M>): void;
  request<M extends RequestName<P>>(method: M, params: RequestParams<P, M>): Promise<RequestResult<P, M>>;
  on<M extends NotificationName<P>>(method: M, fn: (params: NotificationParams<P, M>) => void): void;
}
