import * as vscode from 'vscode';
import type { CandidateMatch, ImageCandidate } from '../../core/dockerfile/match';
import type { LayerReport } from '../../shared/model';
import { escapeMarkdown } from '../../shared/text';
import { XrayService } from '../service';

interface Resolved {
  match: CandidateMatch | null;
  report: LayerReport | null;
  error: string | null;
}

/**
 * Finds the local image built from a Dockerfile and its layer report, once per document version. Image
 * histories are cached by image id: an image never changes.
 */
export class DockerfileLayers {
  private readonly byDoc = new Map<string, { version: number; result: Promise<Resolved> }>();
  private readonly histories = new Map<string, Promise<ImageCandidate['history']>>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly service: XrayService) {
    service.onDidChange((what) => {
      if (what.images) {
        this.byDoc.clear();
        this.changed.fire();
      }
    });
  }

  resolve(doc: vscode.TextDocument): Promise<Resolved> {
    const key = doc.uri.toString();
    const hit = this.byDoc.get(key);
    if (hit && hit.version === doc.version) return hit.result;
    const result = this.compute(doc.getText());
    this.byDoc.set(key, { version: doc.version, result });
    return result;
  }

  private async compute(text: string): Promise<Resolved> {
    try {
      const engine = await this.service.engine();
      const { dockerfile } = this.service.engineModule();
      const images = this.service.images ?? (await engine.images());
      const candidates: ImageCandidate[] = await Promise.all(
        images.map(async (img) => {
          let h = this.histories.get(img.id);
          if (!h) {
            h = engine.runtime.imageHistory(img.id);
            this.histories.set(img.id, h);
            h.catch(() => this.histories.delete(img.id));
          }
          return { id: img.id, tags: img.tags, created: Date.parse(img.created) / 1000, history: await h, layerCount: img.layers.length };
        }),
      );
      const match = dockerfile.findImageForDockerfile(text, candidates);
      if (!match) return { match: null, report: null, error: null };
      const report = await this.service.layers(match.candidate.id);
      return { match, report, error: null };
    } catch (err) {
      return { match: null, report: null, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

/** Hover text is built by the engine already escaped; it is never trusted, never HTML, never a command link. */
function plainMarkdown(text: string): vscode.MarkdownString {
  const md = new vscode.MarkdownString(text, false);
  md.isTrusted = false;
  md.supportHtml = false;
  md.supportThemeIcons = false;
  return md;
}

export class DockerfileHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly layers: DockerfileLayers,
    private readonly service: XrayService,
  ) {}

  async provideHover(doc: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | null> {
    const { dockerfile } = this.service.engineModule();
    const parsed = dockerfile.parseDockerfile(doc.getText());
    const instruction = dockerfile.instructionAtLine(parsed, position.line);
    if (!instruction || instruction.keyword === 'FROM') return null;
    const range = new vscode.Range(instruction.startLine, 0, instruction.endLine, doc.lineAt(instruction.endLine).text.length);
    const resolved = await this.layers.resolve(doc);
    if (resolved.error) return new vscode.Hover(plainMarkdown(escapeMarkdown(`Container X-Ray: ${resolved.error}`)), range);
    if (!resolved.match || !resolved.report) {
      return new vscode.Hover(plainMarkdown(dockerfile.describeNoImage(vscode.workspace.asRelativePath(doc.uri))), range);
    }
    const im = dockerfile.matchAtLine(resolved.match.match, position.line);
    if (!im) return null;
    const layer = dockerfile.layerForInstruction(im, resolved.report);
    const head = escapeMarkdown(`Image ${resolved.match.candidate.tags[0] ?? resolved.match.candidate.id.slice(7, 19)}`);
    return new vscode.Hover(
      plainMarkdown(`${head}  \n${dockerfile.describeInstructionLayer(im.instruction, layer, resolved.report, im)}`),
      range,
    );
  }
}

export class DockerfileCodeLensProvider implements vscode.CodeLensProvider {
  readonly onDidChangeCodeLenses: vscode.Event<void>;

  constructor(
    private readonly layers: DockerfileLayers,
    private readonly service: XrayService,
  ) {
    this.onDidChangeCodeLenses = layers.onDidChange;
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const resolved = await this.layers.resolve(doc);
    if (!resolved.match || !resolved.report) return [];
    const { dockerfile } = this.service.engineModule();
    const lenses: vscode.CodeLens[] = [];
    for (const im of resolved.match.match.instructions) {
      if (im.instruction.effect === 'metadata' || im.instruction.effect === 'stage') continue;
      const layer = dockerfile.layerForInstruction(im, resolved.report);
      const range = new vscode.Range(im.instruction.startLine, 0, im.instruction.startLine, 0);
      lenses.push(
        new vscode.CodeLens(range, {
          title: dockerfile.codeLensTitle(layer, im),
          tooltip: 'Open this layer in the Layer Diff explorer',
          command: 'containerXray.showLayerDiff',
          arguments: [{ ref: resolved.match.candidate.id, layer: layer ? layer.index : null }],
        }),
      );
    }
    return lenses;
  }
}

export const DOCKERFILE_SELECTOR: vscode.DocumentSelector = [
  { language: 'dockerfile' },
  { pattern: '**/{Dockerfile,Containerfile,*.Dockerfile,*.dockerfile,Dockerfile.*,Containerfile.*}' },
];
