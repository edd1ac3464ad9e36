import * as fs from 'node:fs';
import * as path from 'node:path';

export type EngineModule = typeof import('./engineHost');

let loaded: EngineModule | null = null;

/**
 * Loads the engine on first use: dist/engine.js beside the bundled extension, or the compiled engineHost
 * module under the test build. The path is computed so the bundler leaves the engine out of extension.js.
 */
export function loadEngine(): EngineModule {
  if (loaded) return loaded;
  const bundled = path.join(__dirname, 'engine.js');
  const target = fs.existsSync(bundled) ? bundled : path.join(__dirname, 'engineHost.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded = require(target) as EngineModule;
  return loaded;
}
