import * as vscode from 'vscode';
import { GROUP_BY, GroupBy, effectiveGroupBy } from '../../shared/compose';

/** The workspaceState key of the grouping chosen with the view-title action. */
const GROUP_BY_KEY = 'containerXray.containers.groupBy';

export type FilteredView = 'containers' | 'images';

/**
 * The Containers view's grouping and the Containers and Images views' filters. The grouping chosen in the
 * view (kept per workspace) beats the `containerXray.containers.groupBy` setting; the filters last for the
 * session. Each filter sets the context key `containerXray.<view>.filtered`, which shows the clear action.
 */
export class ViewState implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<'groupBy' | FilteredView>();
  readonly onDidChange = this.changed.event;
  private readonly filters: Record<FilteredView, string> = { containers: '', images: '' };
  private readonly sub: vscode.Disposable;

  constructor(private readonly workspaceState: vscode.Memento) {
    this.sub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(GROUP_BY_KEY)) this.changed.fire('groupBy');
    });
    void this.setContext('containers');
    void this.setContext('images');
  }

  get groupBy(): GroupBy {
    return effectiveGroupBy(
      this.workspaceState.get<unknown>(GROUP_BY_KEY),
      vscode.workspace.getConfiguration('containerXray').get<unknown>('containers.groupBy'),
    );
  }

  async setGroupBy(by: GroupBy): Promise<void> {
    if (!GROUP_BY.includes(by)) return;
    await this.workspaceState.update(GROUP_BY_KEY, by);
    this.changed.fire('groupBy');
  }

  filter(view: FilteredView): string {
    return this.filters[view];
  }

  async setFilter(view: FilteredView, filter: string): Promise<void> {
    // Typed, or given by another extension: bounded all the same.
    this.filters[view] = filter.trim().slice(0, 500);
    await this.setContext(view);
    this.changed.fire(view);
  }

  private setContext(view: FilteredView): Thenable<unknown> {
    return vscode.commands.executeCommand('setContext', `containerXray.${view}.filtered`, this.filters[view] !== '');
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
