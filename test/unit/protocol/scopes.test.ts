import * as assert from 'node:assert/strict';
import { Channel } from '../../../src/extension/panels/channel';
import { PanelHost, dashboardHandlers, graphHandlers, layersHandlers, vmHandlers } from '../../../src/extension/panels/handlers';
import {
  CommandName,
  CommandParams,
  DashboardProtocol,
  Handlers,
  LayersProtocol,
  Protocol,
  Protocols,
  RequestName,
  Scope,
  VmProtocol,
  ViewBus,
  ViewKind,
  dispatch,
  parseWebviewMessage,
  scopes,
} from '../../../src/shared/protocol';

// ---- By type: these lines compile only while the scopes hold (tsc fails on an unused @ts-expect-error). ----

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectTrue = <T extends true>(): T => true as T;

// Each panel's handler table has exactly its scope's commands and requests.
expectTrue<Equal<keyof ReturnType<typeof vmHandlers>['commands'], CommandName<VmProtocol>>>();
expectTrue<Equal<keyof ReturnType<typeof graphHandlers>['commands'], CommandName<Protocols['graph']>>>();
expectTrue<Equal<keyof ReturnType<typeof dashboardHandlers>['commands'], CommandName<DashboardProtocol>>>();
expectTrue<Equal<keyof ReturnType<typeof layersHandlers>['commands'], CommandName<LayersProtocol>>>();
expectTrue<Equal<keyof ReturnType<typeof layersHandlers>['requests'], RequestName<LayersProtocol>>>();
// The click in the Container vs VM view is a command of its scope.
expectTrue<Equal<CommandName<VmProtocol>, 'ready' | 'retry' | 'openDashboard'>>();

/** Never called: it holds what must not compile. */
export function mustNotCompile(vmBus: ViewBus<VmProtocol>, graphBus: ViewBus<Protocols['graph']>): void {
  // A VM panel without an openDashboard handler.
  // @ts-expect-error openDashboard is missing
  const missing: Handlers<VmProtocol> = { commands: { ready: () => 0, retry: () => 0 }, requests: {} };
  void missing;
  // A view posting a command of another view's scope.
  // @ts-expect-error openLayers is in the dashboard's scope, not the VM's
  vmBus.send('openLayers', { ref: 'x', layer: null });
  // @ts-expect-error cancel is in the layers scope only
  graphBus.send('cancel', {});
  // @ts-expect-error params of the wrong shape
  vmBus.send('openDashboard', { id: 'x' });
  // @ts-expect-error the graph has no requests
  void graphBus.request('layers/changes', { layer: 0 });
}

// ---- At runtime ----

/** Every call the handlers made into the editor or their own view, in order. */
function recorder() {
  const calls: string[] = [];
  const host: PanelHost = {
    refresh: async () => void calls.push('refresh'),
    showDashboard: async (id) => void calls.push(`showDashboard ${id}`),
    showLayers: async (ref, opts) => void calls.push(`showLayers ${ref} ${String(opts.layer)} container=${opts.container}`),
    copyText: async (text) => void calls.push(`copyText ${text}`),
    revealUpperDir: async (id) => void calls.push(`revealUpperDir ${id}`),
  };
  const view = {
    push: () => void calls.push('push'),
    retry: async () => void calls.push('view.retry'),
    cancel: () => void calls.push('view.cancel'),
    changes: async (layer: number | 'upper') => {
      calls.push(`view.changes ${layer}`);
      return [{ path: `/from-${layer}`, kind: 'added' as const, type: 'file' as const, sizeBytes: 1 }];
    },
  };
  const tables: { [K in ViewKind]: Handlers<Protocols[K]> } = {
    graph: graphHandlers(host, view),
    dashboard: dashboardHandlers(host, view),
    layers: layersHandlers(host, view),
    vm: vmHandlers(host, view),
  };
  return { calls, tables };
}

/** A valid message of every command of every scope, and what the panel must do with it. */
const COMMANDS: { [K in ViewKind]: { [M in CommandName<Protocols[K]>]: [CommandParams<Protocols[K], M>, string] } } = {
  graph: {
    ready: [{ view: 'graph' }, 'push'],
    retry: [{}, 'refresh'],
    openDashboard: [{ containerId: 'c1' }, 'showDashboard c1'],
  },
  vm: {
    ready: [{ view: 'vm' }, 'push'],
    retry: [{}, 'refresh'],
    openDashboard: [{ containerId: 'c2' }, 'showDashboard c2'],
  },
  dashboard: {
    ready: [{ view: 'dashboard' }, 'push'],
    retry: [{}, 'view.retry'],
    openLayers: [{ ref: 'c3', layer: 'upper' }, 'showLayers c3 upper container=true'],
    revealUpperDir: [{ containerId: 'c3' }, 'revealUpperDir c3'],
    copyText: [{ text: '/var/lib/docker' }, 'copyText /var/lib/docker'],
  },
  layers: {
    ready: [{ view: 'layers' }, 'push'],
    retry: [{}, 'view.retry'],
    copyText: [{ text: '/etc/passwd' }, 'copyText /etc/passwd'],
    cancel: [{}, 'view.cancel'],
  },
};

const VIEWS = Object.keys(scopes) as ViewKind[];

describe('webview protocol: one scope per view', () => {
  it('has a scope for each of the four views, each naming its own view', () => {
    assert.deepEqual([...VIEWS].sort(), ['dashboard', 'graph', 'layers', 'vm']);
    for (const v of VIEWS) assert.equal(scopes[v].view, v);
  });

  for (const view of VIEWS) {
    it(`the ${view} panel's handler table covers exactly its scope, and each command does what it says`, async () => {
      const { calls, tables } = recorder();
      // Seen loosely here: the test walks every method by name.
      const table = tables[view] as unknown as Handlers<Protocol>;
      const scope = scopes[view] as unknown as Scope<Protocol>;
      assert.deepEqual(Object.keys(table.commands).sort(), Object.keys(scope.commands).sort(), 'commands');
      assert.deepEqual(Object.keys(table.requests).sort(), Object.keys(scope.requests).sort(), 'requests');
      for (const [method, handler] of Object.entries(table.commands)) assert.equal(typeof handler, 'function', method);
      const samples = COMMANDS[view] as Record<string, [unknown, string]>;
      assert.deepEqual(Object.keys(samples).sort(), Object.keys(scope.commands).sort(), 'every command has a sample here');
      for (const [method, [params, effect]] of Object.entries(samples)) {
        calls.length = 0;
        const parsed = parseWebviewMessage(scope, { kind: 'command', method, params });
        assert.ok(parsed.ok, `${view}/${method}: ${parsed.ok ? '' : parsed.error}`);
        assert.equal(await dispatch(table, parsed.message), null);
        assert.deepEqual(calls, [effect], `${view}/${method}`);
      }
    });
  }

  it('the Container vs VM view’s openDashboard opens that container’s dashboard', async () => {
    const { calls, tables } = recorder();
    const parsed = parseWebviewMessage(scopes.vm, { kind: 'command', method: 'openDashboard', params: { containerId: 'd4'.repeat(32) } });
    assert.ok(parsed.ok);
    await dispatch(tables.vm, parsed.message);
    assert.deepEqual(calls, [`showDashboard ${'d4'.repeat(32)}`]);
  });

  it('answers the layers request with the view’s changes and the same sequence number', async () => {
    const { calls, tables } = recorder();
    const parsed = parseWebviewMessage(scopes.layers, { kind: 'request', seq: 7, method: 'layers/changes', params: { layer: 2 } });
    assert.ok(parsed.ok);
    const response = await dispatch(tables.layers, parsed.message);
    assert.deepEqual(response, {
      kind: 'response',
      seq: 7,
      result: { changes: [{ path: '/from-2', kind: 'added', type: 'file', sizeBytes: 1 }] },
    });
    assert.deepEqual(calls, ['view.changes 2']);
  });

  it('rejects what a scope does not hold, naming the method or the field', () => {
    const bad = (view: ViewKind, raw: unknown) => {
      const p = parseWebviewMessage(scopes[view] as unknown as Scope<Protocol>, raw);
      assert.equal(p.ok, false, JSON.stringify(raw));
      return p.ok ? { error: '', seq: null } : p;
    };
    // A command of another scope: the dashboard's openLayers, the layers' cancel.
    assert.match(
      bad('vm', { kind: 'command', method: 'openLayers', params: { ref: 'x', layer: null } }).error,
      /vm view has no command "openLayers"/,
    );
    assert.match(bad('graph', { kind: 'command', method: 'cancel', params: {} }).error, /graph view has no command "cancel"/);
    assert.match(bad('dashboard', { kind: 'request', seq: 1, method: 'layers/changes', params: { layer: 0 } }).error, /no request/);
    // Names an object inherits are not methods.
    for (const method of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      assert.match(bad('vm', { kind: 'command', method, params: {} }).error, /has no command/);
    // Params, field by field.
    assert.match(
      bad('vm', { kind: 'command', method: 'openDashboard', params: { containerId: 42 } }).error,
      /openDashboard\.params\.containerId must be a string/,
    );
    assert.match(
      bad('vm', { kind: 'command', method: 'openDashboard', params: { containerId: '' } }).error,
      /containerId must not be empty/,
    );
    assert.match(bad('vm', { kind: 'command', method: 'openDashboard', params: {} }).error, /containerId must be a string/);
    assert.match(
      bad('vm', { kind: 'command', method: 'openDashboard', params: { containerId: 'a', command: 'rm -rf' } }).error,
      /params\.command is not a known field/,
    );
    assert.match(bad('vm', { kind: 'command', method: 'openDashboard', params: null }).error, /params must be an object/);
    assert.match(bad('vm', { kind: 'command', method: 'ready', params: { view: 'terminal' } }).error, /view must be one of/);
    assert.match(bad('dashboard', { kind: 'command', method: 'openLayers', params: { ref: 'c', layer: -1 } }).error, /layer must be/);
    assert.match(bad('dashboard', { kind: 'command', method: 'openLayers', params: { ref: 'c', layer: 1.5 } }).error, /layer must be/);
    assert.ok(parseWebviewMessage(scopes.dashboard, { kind: 'command', method: 'openLayers', params: { ref: 'c', layer: null } }).ok);
    assert.ok(parseWebviewMessage(scopes.dashboard, { kind: 'command', method: 'openLayers', params: { ref: 'c', layer: 3 } }).ok);
    // A bad request keeps its seq, so the host can answer it; a bad seq cannot be answered.
    const req = bad('layers', { kind: 'request', seq: 9, method: 'layers/changes', params: { layer: 'lower' } });
    assert.equal(req.seq, 9);
    assert.match(req.error, /layers\/changes\.params\.layer must be a layer index or "upper"/);
    assert.equal(bad('layers', { kind: 'request', seq: 1.5, method: 'layers/changes', params: { layer: 0 } }).seq, null);
    for (const raw of [
      null,
      'ready',
      [],
      { kind: 'notification', method: 'state/vm', params: {} },
      { kind: 'command', method: 7, params: {} },
    ])
      assert.equal(bad('vm', raw).seq, null);
  });
});

describe('the host end of a webview channel', () => {
  function channel() {
    const posted: unknown[] = [];
    const { calls, tables } = recorder();
    const ch = new Channel(scopes.layers, tables.layers, (m) => void posted.push(m));
    return { ch, posted, calls };
  }

  it('holds notifications until the page is ready, keeping only the latest of each kind', async () => {
    const { ch, posted, calls } = channel();
    ch.notify('state/progress', { message: 'one' });
    ch.showError('first', true);
    ch.notify('state/progress', { message: 'two' });
    assert.deepEqual(posted, []);
    await ch.receive({ kind: 'command', method: 'ready', params: { view: 'layers' } });
    assert.deepEqual(posted, [
      { kind: 'notification', method: 'state/error', params: { message: 'first', retryable: true } },
      { kind: 'notification', method: 'state/progress', params: { message: 'two' } },
    ]);
    assert.deepEqual(calls, ['push']);
    ch.notify('state/progress', { message: null });
    assert.equal(posted.length, 3, 'sent at once when ready');
    ch.unload();
    ch.notify('state/progress', { message: 'hidden' });
    assert.equal(posted.length, 3, 'held again while the page is torn down');
  });

  it('answers a request outside the scope or with bad params with an error, and drops a bad command', async () => {
    const { ch, posted, calls } = channel();
    await ch.receive({ kind: 'command', method: 'ready', params: { view: 'layers' } });
    posted.length = 0;
    await ch.receive({ kind: 'request', seq: 4, method: 'layers/changes', params: { layer: '../..' } });
    await ch.receive({ kind: 'request', seq: 5, method: 'vm/secrets', params: {} });
    await ch.receive({ kind: 'command', method: 'openDashboard', params: { containerId: 'x' } });
    assert.deepEqual(posted, [
      { kind: 'response', seq: 4, error: 'layers/changes.params.layer must be a layer index or "upper"' },
      { kind: 'response', seq: 5, error: 'the layers view has no request "vm/secrets"' },
    ]);
    assert.deepEqual(calls, ['push'], 'no handler ran for a rejected message');
  });

  it('shows a failing command as an error in the view', async () => {
    const posted: unknown[] = [];
    const failing: PanelHost = {
      refresh: async () => undefined,
      showDashboard: async (id) => {
        throw new Error(`no running container ${id}`);
      },
      showLayers: async () => undefined,
      copyText: async () => undefined,
      revealUpperDir: async () => undefined,
    };
    const ch = new Channel(scopes.vm, vmHandlers(failing, { push: () => undefined }), (m) => void posted.push(m));
    await ch.receive({ kind: 'command', method: 'ready', params: { view: 'vm' } });
    await ch.receive({ kind: 'command', method: 'openDashboard', params: { containerId: 'gone' } });
    assert.deepEqual(posted, [
      { kind: 'notification', method: 'state/error', params: { message: 'no running container gone', retryable: true } },
    ]);
  });
});
