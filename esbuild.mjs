// Bundles the three faces: the CLI and the extension host (Node, CommonJS) and the webview app (browser).
import * as esbuild from 'esbuild';
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  logLevel: 'warning',
  define: { 'process.env.XRAY_VERSION': JSON.stringify(pkg.version) },
  legalComments: 'none',
};

const stub = (name) => fileURLToPath(new URL(`./src/vendor-stubs/${name}`, import.meta.url));

/**
 * Keeps start-up cheap: dockerode's BuildKit session (gRPC, protobufjs) serves image builds we never start,
 * so it is stubbed; docker-modem's ssh transport loads on the first ssh:// connection; ssh2 and
 * systeminformation live in their own files under dist/vendor/, read only by the runs that need them.
 */
const lean = {
  name: 'lean-start-up',
  setup(build) {
    build.onResolve({ filter: /^\.\/session$/ }, (args) =>
      args.importer.includes(`${sep}dockerode${sep}lib${sep}`) ? { path: stub('dockerode-session.js') } : undefined,
    );
    build.onResolve({ filter: /^\.\/ssh$/ }, (args) =>
      args.importer.includes(`${sep}docker-modem${sep}lib${sep}`) ? { path: stub('docker-modem-ssh.js') } : undefined,
    );
    build.onResolve({ filter: /^(ssh2|systeminformation)$/ }, (args) => ({ path: `./vendor/${args.path}.js`, external: true }));
  },
};

const node = {
  ...common,
  plugins: [lean],
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Optional native speed-ups of ssh2 (used by dockerode for ssh:// hosts); ssh2 works without them.
  external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
};

const vendor = (name) => ({
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  entryPoints: [createRequire(import.meta.url).resolve(name)],
  outfile: `dist/vendor/${name}.js`,
  external: ['cpu-features', './crypto/build/Release/sshcrypto.node'],
});

const builds = [
  vendor('ssh2'),
  vendor('systeminformation'),
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  // Banner and footer stamp when the bundle starts and ends loading, so activation can report load + activate time.
  {
    ...node,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    banner: { js: 'var __xrayLoadStart = performance.now();' },
    footer: { js: 'var __xrayLoadEnd = performance.now();' },
  },
  // The engine is loaded on first use, so activation stays cheap.
  { ...node, entryPoints: ['src/extension/engineHost.ts'], outfile: 'dist/engine.js' },
  {
    ...common,
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
];

const existing = [];
for (const b of builds) {
  try {
    readFileSync(b.entryPoints[0]);
    existing.push(b);
  } catch {
    // An entry not written yet is skipped (the CLI builds before the extension exists).
  }
}

if (watch) {
  for (const b of existing) (await esbuild.context(b)).watch();
} else {
  await Promise.all(existing.map((b) => esbuild.build(b)));
}
