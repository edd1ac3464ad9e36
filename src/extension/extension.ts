import * as vscode from 'vscode';
import { registerCommands } from './commands/registerCommands';
import { registerViewCommands } from './commands/viewCommands';
import { DOCKERFILE_SELECTOR, DockerfileCodeLensProvider, DockerfileHoverProvider, DockerfileLayers } from './hover/dockerfileProviders';
import { consentText, helperConsent } from './helperConsent';
import { Panels } from './panels/panels';
import { XrayService } from './service';
import { oomMessage } from './notify/oomWatch';
import { formatBytes } from '../shared/format';
import { registerTrees } from './tree/providers';
import { ViewState } from './tree/viewState';

/** Set by the bundle's first and last lines (esbuild banner and footer): when its code started and ended loading. */
declare const __xrayLoadStart: number | undefined;
declare const __xrayLoadEnd: number | undefined;

/** What activation exposes, for tests and for other extensions. */
export interface XrayApi {
  service: XrayService;
  /** Loading the bundle plus running activate(), in milliseconds. */
  activationMs: number;
}

/**
 * Activation only wires adapters: the engine (dockerode, systeminformation, tar-stream, dockerfile-ast) is
 * loaded from dist/engine.js the first time a view, command or Dockerfile needs it.
 */
export function activate(context: vscode.ExtensionContext): XrayApi {
  const started = performance.now();
  const output = vscode.window.createOutputChannel('Container X-Ray', { log: true });
  const service = new XrayService(
    output,
    helperConsent(context.globalState, async (req) => {
      const t = consentText(req);
      const choice = await vscode.window.showWarningMessage(t.message, { modal: true, detail: t.detail }, t.run);
      output.info(`helper image ${req.image} (${req.imageId}) on ${req.endpoint}: ${choice === t.run ? 'approved' : 'declined'}`);
      return choice === t.run;
    }),
  );
  const panels = new Panels(context.extensionUri, service);
  context.subscriptions.push(output, service, panels);
  const viewState = new ViewState(context.workspaceState);
  context.subscriptions.push(viewState);
  registerTrees(context, service, viewState);
  registerViewCommands(context, viewState);
  context.subscriptions.push(
    viewState.onDidChange((what) => {
      if (what === 'containers') panels.setContainerFilter(viewState.filter('containers'));
    }),
  );
  registerCommands(context, service, panels, output);
  context.subscriptions.push(
    service.onOom((n) => {
      const c = service.snapshot?.containers.find((x) => x.id === n.id);
      const limit = c?.cgroup?.limits.memoryBytes;
      output.warn(
        `OOM kill in ${n.name} (${n.id.slice(0, 12)}), told by the ${n.source === 'event' ? "daemon's oom event" : 'oom_kill counter'}`,
      );
      void vscode.window.showWarningMessage(oomMessage(n, limit ? formatBytes(limit) : null), 'Open Dashboard').then((choice) => {
        if (choice === 'Open Dashboard') void panels.showDashboard(n.id);
      });
    }),
  );
  const layers = new DockerfileLayers(service);
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(DOCKERFILE_SELECTOR, new DockerfileHoverProvider(layers, service)),
    vscode.languages.registerCodeLensProvider(DOCKERFILE_SELECTOR, new DockerfileCodeLensProvider(layers, service)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('containerXray.dockerHost')) service.reset();
      else if (e.affectsConfiguration('containerXray.refreshInterval')) service.schedulePeriodic();
    }),
  );
  const ended = performance.now();
  // VS Code awaits its own work (the extension context) between loading the module and calling activate().
  const loadMs = typeof __xrayLoadStart === 'number' && typeof __xrayLoadEnd === 'number' ? __xrayLoadEnd - __xrayLoadStart : 0;
  const activationMs = loadMs + (ended - started);
  output.info(
    `activated in ${activationMs.toFixed(1)} ms (loading ${loadMs.toFixed(1)} ms, activate() ${(ended - started).toFixed(1)} ms)`,
  );
  return { service, activationMs };
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}
