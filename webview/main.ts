// The one webview app: mounts the view the host asked for (body data-view), tells the host it is ready,
// and shows errors (and, in views that have long work, progress) in a common banner above the view.
import './styles.css';
import './components';
import { BaseProtocol, NotificationName, Protocols, ViewKind, scopes } from '../src/shared/protocol';
import { Banner } from './banner';
import { viewBus } from './bus';
import { h } from './dom';
import { mountDashboard } from './views/dashboard';
import { mountGraph } from './views/graph';
import { mountLayers } from './views/layers';
import { mountVm } from './views/vm';

const VIEWS: { [K in ViewKind]: { mount: (root: HTMLElement, banner: Banner) => void; state: NotificationName<Protocols[K]> } } = {
  graph: { mount: mountGraph, state: 'state/graph' },
  dashboard: { mount: mountDashboard, state: 'state/dashboard' },
  layers: { mount: mountLayers, state: 'state/layers' },
  vm: { mount: mountVm, state: 'state/vm' },
};

function isViewKind(v: string | undefined): v is ViewKind {
  return v !== undefined && Object.prototype.hasOwnProperty.call(VIEWS, v);
}

/** A fresh state means the host recovered: the last error no longer holds. */
function onState<K extends ViewKind>(kind: K, fn: () => void): void {
  viewBus(scopes[kind]).on(VIEWS[kind].state, fn);
}

function start(): void {
  const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
  const kind = document.body.dataset.view;
  const root = h('main', { class: 'view' });

  if (!isViewKind(kind)) {
    app.append(root);
    root.append(h('p', { class: 'empty' }, `This panel does not know the view "${String(kind)}".`));
    return;
  }
  // The part of this view's scope that every view shares: ready, retry and state/error.
  const bus = viewBus<BaseProtocol>(scopes[kind]);
  const banner = new Banner(() => bus.send('retry', {}));
  app.append(banner.el, root);
  bus.on('state/error', (p) => banner.showError(p.message, p.retryable));

  const view = VIEWS[kind];
  root.classList.add(`view-${kind}`);
  document.body.classList.add(`xray-${kind}`);
  onState(kind, () => banner.clearError());
  view.mount(root, banner);
  bus.send('ready', { view: kind });
}

start();
