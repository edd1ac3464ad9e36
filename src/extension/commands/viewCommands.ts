import * as vscode from 'vscode';
import { GroupBy } from '../../shared/compose';
import { FilteredView, ViewState } from '../tree/viewState';

const GROUP_CHOICES: { by: GroupBy; label: string; detail: string }[] = [
  { by: 'compose', label: 'Compose project', detail: 'com.docker.compose.project, the containers in no project last' },
  { by: 'image', label: 'Image', detail: 'the image each container was created from' },
  { by: 'state', label: 'State', detail: 'running, paused, exited …' },
  { by: 'none', label: 'None', detail: 'one list, by name' },
];

/**
 * The view-title actions of the Containers and Images views: the grouping (kept per workspace) and the
 * filters. A filter command given a string (from another extension or a test) uses it instead of asking.
 */
export function registerViewCommands(context: vscode.ExtensionContext, viewState: ViewState): void {
  const filter = (view: FilteredView, what: string) => async (arg?: unknown) => {
    const value =
      typeof arg === 'string'
        ? arg
        : await vscode.window.showInputBox({
            title: `Filter ${what}`,
            prompt:
              view === 'containers'
                ? 'Part of a name, image, Compose project or service, label (key or key=value), or the start of an ID; every word must match'
                : 'Part of a tag or digest, or the start of an ID; every word must match',
            value: viewState.filter(view),
            placeHolder: 'e.g. web',
          });
    if (value !== undefined) await viewState.setFilter(view, value);
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('containerXray.containers.groupBy', async (arg?: unknown) => {
      const current = viewState.groupBy;
      const picked =
        typeof arg === 'string'
          ? GROUP_CHOICES.find((c) => c.by === arg)
          : await vscode.window.showQuickPick(
              GROUP_CHOICES.map((c) => ({ ...c, description: c.by === current ? 'current' : undefined })),
              { title: 'Group Containers By', placeHolder: 'Pods stay pods, whatever the grouping' },
            );
      if (picked) await viewState.setGroupBy(picked.by);
    }),
    vscode.commands.registerCommand('containerXray.containers.filter', filter('containers', 'Containers')),
    vscode.commands.registerCommand('containerXray.containers.clearFilter', () => viewState.setFilter('containers', '')),
    vscode.commands.registerCommand('containerXray.images.filter', filter('images', 'Images')),
    vscode.commands.registerCommand('containerXray.images.clearFilter', () => viewState.setFilter('images', '')),
  );
}
