import * as assert from 'node:assert/strict';
import Mocha from 'mocha';
import * as vscode from 'vscode';

/** Inside VS Code: the extension activates, contributes its commands and reads the local engine. */
export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120000, color: true });
  mocha.suite.emit('pre-require', globalThis, 'in-editor', mocha);
  describe('Container X-Ray in VS Code', () => {
    it('activates and registers every command under its category', async () => {
      const ext = vscode.extensions.getExtension('container-xray.container-xray');
      assert.ok(ext, 'the extension is installed');
      await ext.activate();
      const commands = await vscode.commands.getCommands(true);
      for (const id of [
        'refresh',
        'showNamespaceGraph',
        'openDashboard',
        'showLayerDiff',
        'compareNamespaces',
        'checkImageEfficiency',
        'exportSnapshot',
        'copyHostPid',
        'revealUpperDir',
        'showContainerVsVm',
      ]) {
        assert.ok(commands.includes(`containerXray.${id}`), `containerXray.${id}`);
      }
    });

    it('exports the snapshot as JSON in an editor', async () => {
      await vscode.commands.executeCommand('containerXray.exportSnapshot');
      const doc = vscode.window.activeTextEditor?.document;
      assert.equal(doc?.languageId, 'json');
      const snap = JSON.parse(doc!.getText()) as { containers: unknown[]; host: { kernel: string } };
      assert.ok(Array.isArray(snap.containers));
      assert.ok(snap.host.kernel.length > 0);
    });
  });
  return new Promise((resolve, reject) =>
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} tests failed`)) : resolve())),
  );
}
