// Read-only documents of a container's writable layer. The engine reads the file confined to the upper
// directory (src/core/confined/layerFile.ts); VS Code only shows the text. A document of this scheme
// has no file behind it, so it cannot be saved over anything.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LAYER_FILE_LIMITS, readWritableLayerFile } from '../../core/confined/layerFile';
import { ConfinedReadError } from '../../core/util/hostFiles';
import { formatBytes } from '../../shared/format';
import { printable } from '../../shared/text';
import type { XrayService } from '../service';

export const UPPER_FILE_SCHEME = 'container-xray-upper';

/**
 * Upper dirs this window handed out (Reveal Upper Dir, from the engine's own report). A document address is
 * text anyone can write (a link in a Markdown preview, a crafted URI): the provider reads only under these.
 */
const issuedUpperDirs = new Set<string>();

/** The URI of `relPath` in the writable layer at `upperDir`. */
export function upperFileUri(upperDir: string, relPath: string): vscode.Uri {
  issuedUpperDirs.add(upperDir);
  return vscode.Uri.from({
    scheme: UPPER_FILE_SCHEME,
    path: path.posix.join('/', relPath),
    query: new URLSearchParams({ upper: upperDir }).toString(),
  });
}

export class UpperFileProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly service: XrayService) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const upper = new URLSearchParams(uri.query).get('upper');
    if (!upper) throw new Error('no upper dir in the document address');
    if (!issuedUpperDirs.has(upper))
      return `Container X-Ray did not open this file: ${printable(upper)} is not a writable layer this window listed (use Reveal Upper Dir).\n`;
    const engine = await this.service.engine();
    try {
      const file = await readWritableLayerFile(engine.files, upper, uri.path);
      if (file.truncated) {
        void vscode.window.showWarningMessage(
          `Container X-Ray: ${printable(uri.path)} is longer than ${formatBytes(LAYER_FILE_LIMITS.maxBytes)}; only its beginning is shown.`,
        );
      }
      if (file.binary) void vscode.window.showInformationMessage(`Container X-Ray: ${printable(uri.path)} holds binary data.`);
      return file.text;
    } catch (err) {
      if (!(err instanceof ConfinedReadError)) throw err;
      void vscode.window.showWarningMessage(`Container X-Ray: ${printable(err.message)}`);
      return `Container X-Ray did not open this file of the writable layer: ${err.message}\n`;
    }
  }
}
