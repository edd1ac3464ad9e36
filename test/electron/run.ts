// Runs the extension's in-editor tests in a downloaded VS Code (for machines that can reach
// update.code.visualstudio.com). This machine's CI uses code-server instead (test/e2e).
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  try {
    await runTests({
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(__dirname, 'suite', 'index.js'),
      launchArgs: [path.join(root, 'examples', 'demo'), '--disable-extensions', '--disable-workspace-trust'],
    });
  } catch (err) {
    process.stderr.write(
      `@vscode/test-electron could not run VS Code: ${(err as Error).message}\n(it downloads VS Code; where that is not possible, \`npm test\` runs the same extension in code-server)\n`,
    );
    process.exitCode = 1;
  }
}

void main();
