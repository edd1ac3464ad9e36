// The page every webview loads: the bundled app under a strict Content-Security-Policy with a nonce.
// The extension serves it; the webview tests serve the very same page in Chromium.
import type { ViewKind } from './protocol';
import { escapeHtml } from './text';

export interface WebviewPageOptions {
  view: ViewKind;
  title: string;
  /** Where the page may load from: the webview's cspSource (the tests: their server's origin). */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  /** More stylesheets and scripts (the tests' theme variables and stub API), loaded before the app. */
  extraStyles?: string[];
  extraScripts?: string[];
  bodyClass?: string;
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function webviewPage(o: WebviewPageOptions): string {
  const attr = escapeHtml;
  const styles = [...(o.extraStyles ?? []), o.styleUri].map((href) => `<link rel="stylesheet" href="${attr(href)}">`).join('\n');
  const scripts = [...(o.extraScripts ?? []), o.scriptUri]
    .map((src) => `<script nonce="${attr(o.nonce)}" src="${attr(src)}"></script>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles}
<title>${escapeHtml(o.title)}</title>
</head>
<body${o.bodyClass ? ` class="${attr(o.bodyClass)}"` : ''} data-view="${attr(o.view)}">
<div id="app"></div>
${scripts}
</body>
</html>`;
}
