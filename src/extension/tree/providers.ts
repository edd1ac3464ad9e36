import * as vscode from 'vscode';
import { XrayService } from '../service';
import { containerMatches, imageMatches } from '../../shared/compose';
import { XrayNode, containerNodes, hostNodes, imageNodes, viewDescription } from './nodes';
import { ViewState } from './viewState';

/** Adapts XrayNode descriptors to VS Code tree items; one class serves the three views. */
export class XrayTreeProvider implements vscode.TreeDataProvider<XrayNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<XrayNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(
    private readonly service: XrayService,
    private readonly roots: () => XrayNode[] | Promise<XrayNode[]>,
    listensTo: 'snapshot' | 'images' | 'host',
    viewState?: ViewState,
  ) {
    const subs = [
      service.onDidChange((what) => {
        if (what[listensTo]) this.changed.fire(undefined);
      }),
    ];
    // The grouping and the filters re-draw the views they apply to.
    if (viewState)
      subs.push(
        viewState.onDidChange((what) => {
          if (listensTo === 'snapshot' ? what === 'groupBy' || what === 'containers' : what === 'images') this.changed.fire(undefined);
        }),
      );
    this.sub = vscode.Disposable.from(...subs);
  }

  getTreeItem(node: XrayNode): vscode.TreeItem {
    const state =
      node.collapsible === 'none'
        ? vscode.TreeItemCollapsibleState.None
        : node.collapsible === 'expanded'
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.id;
    item.description = node.description;
    // Tooltips are plain strings (never Markdown), so nothing from a container can render as markup.
    item.tooltip = node.tooltip;
    if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon, node.iconColor ? new vscode.ThemeColor(node.iconColor) : undefined);
    item.contextValue = node.contextValue;
    if (node.command) item.command = node.command;
    return item;
  }

  async getChildren(node?: XrayNode): Promise<XrayNode[]> {
    if (!node) {
      if (this.service.state.kind === 'idle') void this.service.refresh();
      if (this.service.state.kind !== 'ready') return [];
      return this.roots();
    }
    try {
      return (await node.children?.()) ?? [];
    } catch (err) {
      return [
        {
          id: `${node.id}:error`,
          label: 'Could not read',
          description: err instanceof Error ? err.message : String(err),
          tooltip: err instanceof Error ? err.message : String(err),
          icon: 'error',
          collapsible: 'none',
        },
      ];
    }
  }

  getParent(): undefined {
    return undefined;
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}

export function registerTrees(context: vscode.ExtensionContext, service: XrayService, viewState: ViewState): void {
  const containers = new XrayTreeProvider(
    service,
    () =>
      service.snapshot
        ? containerNodes(
            service.snapshot,
            Object.assign((id: string) => service.layers(id, { container: true }), { network: (id: string) => service.network(id) }),
            {
              groupBy: viewState.groupBy,
              filter: viewState.filter('containers'),
            },
          )
        : [],
    'snapshot',
    viewState,
  );
  const images = new XrayTreeProvider(
    service,
    () =>
      imageNodes(service.images ?? [], new Map((service.snapshot?.containers ?? []).map((c) => [c.id, c.name])), {
        filter: viewState.filter('images'),
      }),
    'images',
    viewState,
  );
  const host = new XrayTreeProvider(service, () => (service.host ? hostNodes(service.host) : []), 'host');
  const views: [string, XrayTreeProvider][] = [
    ['containerXray.containers', containers],
    ['containerXray.images', images],
    ['containerXray.host', host],
  ];
  for (const [id, provider] of views) {
    const view = vscode.window.createTreeView(id, { treeDataProvider: provider, showCollapseAll: id !== 'containerXray.host' });
    const updateMessage = () => {
      const s = service.state;
      view.message =
        s.kind === 'unreachable' ? `Docker is not reachable: ${s.reason}` : s.kind === 'loading' ? 'Reading containers…' : undefined;
      if (id === 'containerXray.containers' && s.kind === 'ready' && service.snapshot) {
        const near = service.snapshot.containers.filter((c) => c.nearLimit.length > 0).length;
        view.badge = near > 0 ? { value: near, tooltip: `${near} container${near === 1 ? '' : 's'} near a limit` } : undefined;
        const all = service.snapshot.containers;
        const filter = viewState.filter('containers');
        const shown = filter === '' ? all.length : all.filter((c) => containerMatches(c, filter)).length;
        view.description = viewDescription(filter === '' ? `${all.length} running` : `${shown} of ${all.length}`, filter);
      }
      if (id === 'containerXray.images' && service.images) {
        const all = service.images;
        const filter = viewState.filter('images');
        view.description =
          filter === '' ? undefined : viewDescription(`${all.filter((i) => imageMatches(i, filter)).length} of ${all.length}`, filter);
      }
    };
    service.setVisible(id, view.visible);
    context.subscriptions.push(
      view,
      provider,
      view.onDidChangeVisibility((e) => service.setVisible(id, e.visible)),
      service.onDidChange(updateMessage),
      viewState.onDidChange(updateMessage),
    );
  }
}
