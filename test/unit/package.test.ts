import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Relative files a bundle loads at run time (`require("./vendor/x.js")`, `import("./vendor/y.js")`). */
function runtimeRequires(bundle: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'dist', bundle), 'utf8');
  const found = new Set<string>();
  for (const m of text.matchAll(/(?:require|import)\("(\.\/[^"]+)"\)/g)) found.add(path.posix.join('dist', m[1]));
  return [...found];
}

describe('the packaged extension', () => {
  it('ships every file its bundles load at run time, and no sources', () => {
    for (const f of ['dist/extension.js', 'dist/engine.js', 'dist/cli.js']) {
      if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first (npm test does)`);
    }
    const listed = execFileSync(process.execPath, [path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'ls', '--no-dependencies'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const needed = [
      'dist/extension.js',
      'dist/engine.js',
      'dist/webview.js',
      'dist/webview.css',
      ...runtimeRequires('engine.js'),
      ...runtimeRequires('cli.js'),
    ];
    assert.ok(
      runtimeRequires('engine.js').includes('dist/vendor/systeminformation.js'),
      'the engine loads systeminformation from dist/vendor',
    );
    for (const f of needed) assert.ok(listed.includes(f), `${f} is in the .vsix (listed: ${listed.join(', ')})`);
    assert.deepEqual(
      listed.filter((f) => /\.(ts|map)$/.test(f) || f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/')),
      [],
      'no sources, maps, tests or dependencies',
    );
  });
});

describe('package.json settings', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { scope?: string }> } };
  };

  it("lets only the user's (or remote machine's) settings choose the helper image, the access mode and the daemon", () => {
    const props = pkg.contributes.configuration.properties;
    for (const key of ['containerXray.helperImage', 'containerXray.access', 'containerXray.dockerHost'])
      assert.equal(props[key]?.scope, 'machine', `${key} is machine-scoped, so a workspace's .vscode/settings.json cannot set it`);
    // The scope VS Code applies to settings without one is "window": a workspace could set those.
    assert.equal(props['containerXray.refreshInterval']?.scope, undefined);
  });
});
