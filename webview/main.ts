// The one webview app: mounts the view the host asked for (body data-view), tells the host it is ready,
// and shows errors and progress in a common banner above the view.
import './styles.css';
import './components';
import type { Notifications, ViewKind } from '../src/shared/protocol';
import { Banner } from './banner';
import { on, send } from './bus';
import { h } from './dom';
import { mountDashboard } from './views/dashboard';
import { mountGraph } from './views/graph';
import { mountLayers } from './views/layers';
import { mountVm } from './views/vm';

const VIEWS: Record<ViewKind, { mount: (root: HTMLElement) => void; state: keyof Notifications }> = {
  graph: { mount: mountGraph, state: 'state/graph' },
  dashboard: { mount: mountDashboard, state: 'state/dashboard' },
  layers: { mount: mountLayers, state: 'state/layers' },
  vm: { mount: mountVm, state: 'state/vm' },
};

function isViewKind(v: string | undefined): v is ViewKind {
  return v !== undefined && Object.prototype.hasOwnProperty.call(VIEWS, v);
}

function start(): void {
  const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
  const kind = document.body.dataset.view;
  const banner = new Banner();
  const root = h('main', { class: 'view' });
  app.append(banner.el, root);

  on('state/error', (p) => banner.showError(p.message, p.retryable));
  on('state/progress', (p) => banner.showProgress(p.message));

  if (!isViewKind(kind)) {
    root.append(h('p', { class: 'empty' }, `This panel does not know the view "${String(kind)}".`));
    return;
  }
  const view = VIEWS[kind];
  root.classList.add(`view-${kind}`);
  document.body.classList.add(`xray-${kind}`);
  // A fresh state means the host recovered: the last error no longer holds.
  on(view.state, () => banner.clearError());
  view.mount(root);
  send('ready', { view: kind });
}

start();
