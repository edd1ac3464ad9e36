import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { formatBytes, formatPercent, shortId } from '../../shared/format';
import { ContainerSnapshot, NAMESPACE_TYPES } from '../../shared/model';
import { printable } from '../../shared/text';
import { Panels } from '../panels/panels';
import { XrayService } from '../service';
import { rulesFromSettings } from '../settings';
import type { XrayNode } from '../tree/nodes';
import { UPPER_FILE_SCHEME, UpperFileProvider, upperFileUri } from './upperFiles';

/** What a command was invoked on: a tree node, a `{ ref, layer }` from a CodeLens or tree item, an id, or nothing. */
type CommandArg = XrayNode | { ref?: string; layer?: number | 'upper' | null; target?: XrayNode['target'] } | string | undefined;

function targetOf(arg: CommandArg): Omit<NonNullable<XrayNode['target']>, 'layer'> & { ref?: string; layer?: number | 'upper' | null } {
  if (!arg) return {};
  if (typeof arg === 'string') return { containerId: arg };
  const t = 'target' in arg && arg.target ? arg.target : {};
  const r = 'ref' in arg ? { ref: arg.ref, layer: arg.layer } : {};
  return { ...t, ...r };
}

async function pickContainer(service: XrayService, title: string): Promise<ContainerSnapshot | undefined> {
  if (!service.snapshot) await service.refresh();
  const list = service.snapshot?.containers ?? [];
  if (list.length === 0) {
    void vscode.window.showInformationMessage(
      service.state.kind === 'unreachable' ? `Container X-Ray: ${service.state.reason}` : 'Container X-Ray: no running containers.',
    );
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    list.map((c) => ({ label: printable(c.name), description: `${printable(c.image)} · ${shortId(c.id)}`, id: c.id })),
    { title, placeHolder: 'Container' },
  );
  return picked ? list.find((c) => c.id === picked.id) : undefined;
}

function container(service: XrayService, id: string | undefined): ContainerSnapshot | undefined {
  return id ? service.snapshot?.containers.find((c) => c.id === id || c.name === id) : undefined;
}

export function registerCommands(
  context: vscode.ExtensionContext,
  service: XrayService,
  panels: Panels,
  output: vscode.LogOutputChannel,
): void {
  const reg = (id: string, fn: (arg?: CommandArg, ...rest: unknown[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (arg?: CommandArg, ...rest: unknown[]) => {
        try {
          return await fn(arg, ...rest);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          output.error(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`Container X-Ray: ${printable(message)}`);
          return undefined;
        }
      }),
    );

  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(UPPER_FILE_SCHEME, new UpperFileProvider(service)));

  reg('containerXray.refresh', () => service.refresh());

  reg('containerXray.showNamespaceGraph', () => panels.showGraph());

  reg('containerXray.showContainerVsVm', () => panels.showVm());

  reg('containerXray.openDashboard', async (arg) => {
    const id = targetOf(arg).containerId ?? (await pickContainer(service, 'Open Container Dashboard'))?.id;
    if (id) await panels.showDashboard(id);
  });

  reg('containerXray.showLayerDiff', async (arg) => {
    const t = targetOf(arg);
    let ref = t.ref ?? t.containerId ?? t.imageRef;
    if (!ref) {
      if (!service.snapshot) await service.refresh();
      const items = [
        ...(service.snapshot?.containers ?? []).map((c) => ({
          label: printable(c.name),
          description: `container · ${printable(c.image)}`,
          ref: c.id,
        })),
        ...(await service.imagesNow()).map((i) => ({
          label: printable(i.tags[0] ?? shortId(i.id)),
          description: `image · ${formatBytes(i.sizeBytes)}`,
          ref: i.id,
        })),
      ];
      ref = (await vscode.window.showQuickPick(items, { title: 'Show Layer Diff', placeHolder: 'Container or image' }))?.ref;
    }
    if (!ref) return;
    const isContainer = service.snapshot?.containers.some((c) => c.id === ref) ?? false;
    await panels.showLayers(ref, { container: isContainer, layer: t.layer ?? null });
  });

  reg('containerXray.compareNamespaces', async () => {
    if (!service.snapshot) await service.refresh();
    const list = service.snapshot?.containers ?? [];
    if (list.length < 2) {
      void vscode.window.showInformationMessage('Container X-Ray: comparing needs two running containers.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      list.map((c) => ({ label: printable(c.name), description: shortId(c.id), id: c.id })),
      { title: 'Compare Namespaces of Two Containers', placeHolder: 'Pick two containers', canPickMany: true },
    );
    if (!picked) return;
    if (picked.length !== 2) throw new Error(`pick exactly two containers (${picked.length} picked)`);
    const [a, b] = picked.map((p) => list.find((c) => c.id === p.id)!);
    const rows = NAMESPACE_TYPES.map((t) => {
      const x = a.namespaces?.[t] ?? null;
      const y = b.namespaces?.[t] ?? null;
      const verdict = x === null || y === null ? 'unknown' : x === y ? 'SHARED' : 'separate';
      return `${t.padEnd(7)} ${String(x ?? '?').padEnd(12)} ${String(y ?? '?').padEnd(12)} ${verdict}`;
    });
    const content = [
      `Namespaces of ${printable(a.name)} (${shortId(a.id)}) and ${printable(b.name)} (${shortId(b.id)})`,
      '',
      `${'type'.padEnd(7)} ${printable(a.name).slice(0, 12).padEnd(12)} ${printable(b.name).slice(0, 12).padEnd(12)} verdict`,
      ...rows,
    ].join('\n');
    const doc = await vscode.workspace.openTextDocument({ content, language: 'plaintext' });
    await vscode.window.showTextDocument(doc, { preview: true });
    await panels.showGraph([a.id, b.id]);
  });

  reg('containerXray.checkImageEfficiency', async (arg) => {
    let ref = targetOf(arg).imageRef;
    if (!ref) {
      ref = (
        await vscode.window.showQuickPick(
          (await service.imagesNow()).map((i) => ({
            label: printable(i.tags[0] ?? shortId(i.id)),
            description: formatBytes(i.sizeBytes),
            ref: i.id,
          })),
          { title: 'Check Image Efficiency', placeHolder: 'Image' },
        )
      )?.ref;
    }
    if (!ref) return;
    const mod = service.engineModule();
    const { rules, errors } = rulesFromSettings(mod.parseRuleValue);
    if (errors.length > 0) throw new Error(errors.join('; '));
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Container X-Ray: reading layers…', cancellable: false },
      () => service.layers(ref),
    );
    const verdict = mod.evaluateRules(report, rules);
    output.info(
      `efficiency of ${verdict.image}: ${formatPercent(verdict.efficiency)}, wasted ${formatBytes(verdict.wastedBytes)}, user wasted ${formatPercent(verdict.userWastedPercent)}`,
    );
    for (const r of verdict.results) output.info(`  ${r.passed ? 'PASS' : 'FAIL'} ${r.rule}: ${r.message}`);
    const summary = `${printable(verdict.image)}: efficiency ${formatPercent(verdict.efficiency)}, wasted ${formatBytes(verdict.wastedBytes)}, user wasted ${formatPercent(verdict.userWastedPercent)}`;
    const open = 'Show Layer Diff';
    const choice = verdict.passed
      ? await vscode.window.showInformationMessage(`PASS ${summary}`, open)
      : await vscode.window.showWarningMessage(
          `FAIL ${summary} — ${verdict.results
            .filter((r) => !r.passed)
            .map((r) => r.message)
            .join('; ')}`,
          open,
        );
    if (choice === open) await panels.showLayers(ref, {});
  });

  reg('containerXray.exportSnapshot', async () => {
    await service.refresh();
    if (!service.snapshot) throw new Error(service.state.kind === 'unreachable' ? service.state.reason : 'no snapshot');
    const doc = await vscode.workspace.openTextDocument({ content: JSON.stringify(service.snapshot, null, 2), language: 'json' });
    await vscode.window.showTextDocument(doc);
  });

  reg('containerXray.copyHostPid', async (arg) => {
    let pid = targetOf(arg).hostPid;
    if (pid === undefined) pid = (await pickContainer(service, 'Copy Host PID'))?.pid ?? undefined;
    if (pid === undefined) return;
    await vscode.env.clipboard.writeText(String(pid));
    void vscode.window.setStatusBarMessage(`Container X-Ray: copied host PID ${pid}`, 3000);
  });

  reg('containerXray.revealUpperDir', async (arg) => {
    const t = targetOf(arg);
    const c = container(service, t.containerId) ?? (t.upperDir ? undefined : await pickContainer(service, 'Reveal Upper Dir'));
    const upper = t.upperDir ?? c?.overlay?.upperDir;
    if (!upper) throw new Error(c ? `the upper dir of ${c.name} is not known` : 'no container');
    let readable = true;
    try {
      fs.accessSync(upper, fs.constants.R_OK);
    } catch {
      readable = false;
    }
    if (readable && vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName) {
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(upper));
      return;
    }
    // In a browser or remote window there is no OS file manager: list the writable layer instead.
    const report = c ? await service.layers(c.id, { container: true, fresh: true }) : null;
    const items: (vscode.QuickPickItem & { action: 'copy' | 'open'; file?: string })[] = [
      { label: '$(copy) Copy path', description: printable(upper), action: 'copy' },
      ...(report?.upper?.changes ?? [])
        .filter((ch) => ch.type === 'file' && ch.kind !== 'deleted')
        .map((ch) => ({
          label: printable(ch.path),
          description: `${ch.kind} · ${formatBytes(ch.sizeBytes)}`,
          action: 'open' as const,
          file: ch.path,
        })),
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: `Upper dir of ${printable(c?.name ?? upper)}`,
      placeHolder: readable ? 'Open a changed file' : 'The directory is not readable here (needs root)',
    });
    if (!picked) return;
    if (picked.action === 'copy') await vscode.env.clipboard.writeText(upper);
    // Through the engine's confined reader: the container may have swapped the file for a link meanwhile.
    else if (picked.file) await vscode.window.showTextDocument(upperFileUri(upper, picked.file), { preview: true });
  });
}
