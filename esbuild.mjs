// Bundles the three faces: the CLI and the extension host (Node, CommonJS) and the webview app (browser).
import * as esbuild from 'esbuild';
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** dockerode's BuildKit session pulls in gRPC and protobufjs for image builds we never start. */
const stubDockerodeSession = {
  name: 'stub-dockerode-session',
  setup(build) {
    build.onResolve({ filter: /^\.\/session$/ }, (args) =>
      args.importer.includes(`${sep}dockerode${sep}lib${sep}`) ? { path: fileURLToPath(new URL('./src/vendor-stubs/dockerode-session.js', import.meta.url)) } : undefined,
    );
  },
};

const node = {
  ...common,
  plugins: [stubDockerodeSession],
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Optional native speed-ups of ssh2 (used by dockerode for ssh:// hosts); ssh2 works without them.
  external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
};

const builds = [
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
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
