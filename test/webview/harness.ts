// A stand-in for a VS Code webview: a small HTTP server on 127.0.0.1 serving the page the extension
// builds (same CSP, a fixed nonce, cspSource = this server's origin), the bundled app from dist/, and a
// stub acquireVsCodeApi in its own nonce'd script file. Tests drive it with Chromium through playwright-core.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import type { NotificationName, NotificationParams, Protocols, ViewKind, WebviewToHost } from '../../src/shared/protocol';
import { webviewPage } from '../../src/shared/webviewPage';

/** The repository root (this file runs from out/test/webview/). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const ARTIFACTS = path.join(ROOT, '.test-artifacts', 'webview');
export const NONCE = 'eHJheS10ZXN0LW5vbmNlLTAwMQ==';

const STUB = `// The test's acquireVsCodeApi: records what the app posts, keeps state in sessionStorage (so it
// survives a reload, as VS Code's survives the panel being hidden), and lets the test push messages.
(function () {
  'use strict';
  window.__posted = [];
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    window.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile + ':' + e.lineNumber });
  });
  var KEY = '__xrayWebviewState';
  var acquired = false;
  window.acquireVsCodeApi = function () {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage: function (m) { window.__posted.push(JSON.parse(JSON.stringify(m))); },
      getState: function () { var s = sessionStorage.getItem(KEY); return s === null ? undefined : JSON.parse(s); },
      setState: function (s) { sessionStorage.setItem(KEY, JSON.stringify(s)); return s; }
    });
  };
  window.__push = function (m) { window.postMessage(m, '*'); };
})();
`;

/** The theme variables VS Code puts on the page (a subset of Dark Modern and Light Modern). */
const THEME = `
body.vscode-dark {
  --vscode-font-family: system-ui, "Ubuntu", "Droid Sans", sans-serif;
  --vscode-font-size: 13px;
  --vscode-editor-font-family: "Droid Sans Mono", "monospace", monospace;
  --vscode-foreground: #cccccc;
  --vscode-descriptionForeground: #9d9d9d;
  --vscode-errorForeground: #f85149;
  --vscode-editor-background: #1f1f1f;
  --vscode-panel-border: #2b2b2b;
  --vscode-focusBorder: #0078d4;
  --vscode-list-hoverBackground: #2a2d2e;
  --vscode-list-activeSelectionBackground: #04395e;
  --vscode-list-activeSelectionForeground: #ffffff;
  --vscode-list-inactiveSelectionBackground: #37373d;
  --vscode-badge-background: #616161;
  --vscode-badge-foreground: #f8f8f8;
  --vscode-textLink-foreground: #4daafc;
  --vscode-charts-foreground: #cccccc;
  --vscode-charts-lines: rgba(204, 204, 204, 0.5);
  --vscode-charts-red: #f14c4c;
  --vscode-charts-blue: #3794ff;
  --vscode-charts-yellow: #cca700;
  --vscode-charts-orange: #d18616;
  --vscode-charts-green: #89d185;
  --vscode-charts-purple: #b180d7;
  --vscode-terminal-ansiCyan: #11a8cd;
  --vscode-gitDecoration-addedResourceForeground: #81b88b;
  --vscode-gitDecoration-modifiedResourceForeground: #e2c08d;
  --vscode-gitDecoration-deletedResourceForeground: #c74e39;
  --vscode-button-background: #0078d4;
  --vscode-button-foreground: #ffffff;
  --vscode-button-secondaryBackground: #313131;
  --vscode-button-secondaryForeground: #cccccc;
  --vscode-input-background: #313131;
  --vscode-input-foreground: #cccccc;
  --vscode-input-border: #3c3c3c;
  --vscode-dropdown-background: #313131;
  --vscode-dropdown-border: #3c3c3c;
  --vscode-checkbox-background: #313131;
  --vscode-checkbox-border: #3c3c3c;
  --vscode-checkbox-foreground: #cccccc;
  --vscode-settings-checkboxBackground: #313131;
  --vscode-settings-checkboxBorder: #3c3c3c;
  --vscode-settings-checkboxForeground: #cccccc;
  --vscode-settings-dropdownBackground: #313131;
  --vscode-settings-dropdownBorder: #3c3c3c;
  --vscode-settings-dropdownForeground: #cccccc;
  --vscode-settings-dropdownListBorder: #454545;
  --vscode-settings-textInputBackground: #313131;
  --vscode-settings-textInputForeground: #cccccc;
  --vscode-input-placeholderForeground: #989898;
  --vscode-progressBar-background: #0078d4;
  --vscode-button-hoverBackground: #026ec1;
  --vscode-button-secondaryHoverBackground: #3c3c3c;
  --vscode-widget-shadow: rgba(0, 0, 0, 0.36);
}
body.vscode-light {
  --vscode-font-family: system-ui, "Ubuntu", "Droid Sans", sans-serif;
  --vscode-font-size: 13px;
  --vscode-editor-font-family: "Droid Sans Mono", "monospace", monospace;
  --vscode-foreground: #3b3b3b;
  --vscode-descriptionForeground: #717171;
  --vscode-errorForeground: #c72e0f;
  --vscode-editor-background: #ffffff;
  --vscode-panel-border: #e5e5e5;
  --vscode-focusBorder: #005fb8;
  --vscode-list-hoverBackground: #f2f2f2;
  --vscode-list-activeSelectionBackground: #e8e8e8;
  --vscode-list-activeSelectionForeground: #000000;
  --vscode-list-inactiveSelectionBackground: #e4e6f1;
  --vscode-badge-background: #cccccc;
  --vscode-badge-foreground: #3b3b3b;
  --vscode-textLink-foreground: #005fb8;
  --vscode-charts-foreground: #616161;
  --vscode-charts-lines: rgba(97, 97, 97, 0.5);
  --vscode-charts-red: #e51400;
  --vscode-charts-blue: #1a85ff;
  --vscode-charts-yellow: #bf8803;
  --vscode-charts-orange: #d18616;
  --vscode-charts-green: #388a34;
  --vscode-charts-purple: #652d90;
  --vscode-terminal-ansiCyan: #0598bc;
  --vscode-gitDecoration-addedResourceForeground: #587c0c;
  --vscode-gitDecoration-modifiedResourceForeground: #895503;
  --vscode-gitDecoration-deletedResourceForeground: #ad0707;
  --vscode-button-background: #005fb8;
  --vscode-button-foreground: #ffffff;
  --vscode-button-secondaryBackground: #e5e5e5;
  --vscode-button-secondaryForeground: #3b3b3b;
  --vscode-input-background: #ffffff;
  --vscode-input-foreground: #3b3b3b;
  --vscode-input-border: #cecece;
  --vscode-dropdown-background: #ffffff;
  --vscode-dropdown-border: #cecece;
  --vscode-checkbox-background: #f8f8f8;
  --vscode-checkbox-border: #cecece;
  --vscode-checkbox-foreground: #3b3b3b;
  --vscode-settings-checkboxBackground: #f8f8f8;
  --vscode-settings-checkboxBorder: #cecece;
  --vscode-settings-checkboxForeground: #3b3b3b;
  --vscode-settings-dropdownBackground: #ffffff;
  --vscode-settings-dropdownBorder: #cecece;
  --vscode-settings-dropdownForeground: #3b3b3b;
  --vscode-settings-dropdownListBorder: #c8c8c8;
  --vscode-settings-textInputBackground: #ffffff;
  --vscode-settings-textInputForeground: #3b3b3b;
  --vscode-input-placeholderForeground: #767676;
  --vscode-progressBar-background: #005fb8;
  --vscode-button-hoverBackground: #0258a8;
  --vscode-button-secondaryHoverBackground: #cccccc;
  --vscode-widget-shadow: rgba(0, 0, 0, 0.16);
}
`;

/** The extension's own page (src/shared/webviewPage.ts), with the theme variables and the stub API first. */
function page(origin: string, view: ViewKind, theme: string): string {
  return webviewPage({
    view,
    title: `X-Ray ${view}`,
    cspSource: origin,
    nonce: NONCE,
    scriptUri: `${origin}/dist/webview.js`,
    styleUri: `${origin}/dist/webview.css`,
    extraStyles: [`${origin}/theme.css`],
    extraScripts: [`${origin}/stub.js`],
    bodyClass: `vscode-${theme}`,
  });
}

export interface Harness {
  origin: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  for (const f of ['dist/webview.js', 'dist/webview.css']) {
    if (!fs.existsSync(path.join(ROOT, f)))
      throw new Error(`${f} is missing: build the webview first (npx esbuild webview/main.ts --bundle … --outfile=dist/webview.js)`);
  }
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const m = /^\/view\/(graph|dashboard|layers|vm)$/.exec(url.pathname);
    if (m)
      return send('text/html; charset=utf-8', page(origin, m[1] as ViewKind, url.searchParams.get('theme') === 'light' ? 'light' : 'dark'));
    if (url.pathname === '/favicon.ico') {
      // Chromium asks for one; a VS Code webview never does.
      res.writeHead(204);
      return res.end();
    }
    if (url.pathname === '/stub.js') return send('text/javascript; charset=utf-8', STUB);
    if (url.pathname === '/theme.css') return send('text/css; charset=utf-8', THEME);
    if (url.pathname === '/dist/webview.js')
      return send('text/javascript; charset=utf-8', fs.readFileSync(path.join(ROOT, 'dist/webview.js')));
    if (url.pathname === '/dist/webview.css') return send('text/css; charset=utf-8', fs.readFileSync(path.join(ROOT, 'dist/webview.css')));
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  return {
    origin,
    browser,
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface CspViolation {
  directive: string;
  blocked: string;
  sample: string;
  source: string;
}

/** A page showing one view; it speaks that view's scope of the protocol. */
export interface ViewPage<K extends ViewKind = ViewKind> {
  page: Page;
  context: BrowserContext;
  /** console.error messages and uncaught exceptions. */
  errors: string[];
  warnings: string[];
  dialogs: string[];
  /** Requests the page made to anywhere but the harness. */
  foreign: string[];
  push<M extends NotificationName<Protocols[K]>>(method: M, params: NotificationParams<Protocols[K], M>): Promise<void>;
  /** Pushes a message the view's scope does not have (to check the page ignores it). */
  pushRaw(message: unknown): Promise<void>;
  posted(): Promise<WebviewToHost<Protocols[K]>[]>;
  /**
   * Hands every message the page posts (from its first) to a host-side receiver, as VS Code's
   * onDidReceiveMessage would, until the returned function is called or the page closes.
   */
  connect(receive: (message: unknown) => Promise<void>): () => void;
  /** Waits until a JavaScript expression is true in the page. */
  waitFor(expression: string, timeoutMs?: number): Promise<void>;
  clearPosted(): Promise<void>;
  waitForPosted(pred: (m: WebviewToHost<Protocols[K]>) => boolean, timeoutMs?: number): Promise<WebviewToHost<Protocols[K]>>;
  respond(seq: number, result: unknown, error?: string): Promise<void>;
  csp(): Promise<CspViolation[]>;
  reload(): Promise<void>;
  screenshot(name: string, fullPage?: boolean): Promise<string>;
  close(): Promise<void>;
}

export async function openView<K extends ViewKind>(
  h: Harness,
  view: K,
  opts: { theme?: 'dark' | 'light'; width?: number; height?: number } = {},
): Promise<ViewPage<K>> {
  const context = await h.browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors: string[] = [];
  const warnings: string[] = [];
  const dialogs: string[] = [];
  const foreign: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    else if (m.type() === 'warning') warnings.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(h.origin) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  const url = `${h.origin}/view/${view}?theme=${opts.theme ?? 'dark'}`;
  // Polls with page.evaluate (the DevTools protocol, outside the page's CSP). page.waitForFunction would
  // eval the predicate inside the page, which this CSP rightly forbids.
  const waitFor = async (expression: string, timeoutMs = 10000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (await page.evaluate(expression)) return;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
      await page.waitForTimeout(20);
    }
  };
  const ready = async () => {
    await page.goto(url);
    await waitFor('window.__posted && window.__posted.some(function (m) { return m.method === "ready"; })');
  };
  await ready();
  const vp: ViewPage<K> = {
    page,
    context,
    errors,
    warnings,
    dialogs,
    foreign,
    waitFor,
    // The message goes into the page as JSON source text, so every string (lone surrogates included)
    // arrives exactly as the host would send it.
    push: async (method, params) => {
      await page.evaluate(`window.__push(${JSON.stringify({ kind: 'notification', method, params })})`);
    },
    pushRaw: async (message) => {
      await page.evaluate(`window.__push(${JSON.stringify(message)})`);
    },
    posted: async () => (await page.evaluate('window.__posted')) as WebviewToHost<Protocols[K]>[],
    connect: (receive) => {
      let stopped = false;
      let seen = 0;
      void (async () => {
        while (!stopped && !page.isClosed()) {
          const all = (await page.evaluate('window.__posted').catch(() => null)) as unknown[] | null;
          if (all === null) return;
          // clearPosted empties the list; count again from its start.
          if (all.length < seen) seen = 0;
          const fresh = all.slice(seen);
          seen = all.length;
          for (const m of fresh) await receive(m);
          await page.waitForTimeout(25).catch(() => undefined);
        }
      })();
      return () => {
        stopped = true;
      };
    },
    clearPosted: async () => {
      await page.evaluate('window.__posted.length = 0');
    },
    waitForPosted: async (pred, timeoutMs = 5000) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const found = ((await page.evaluate('window.__posted')) as WebviewToHost<Protocols[K]>[]).find(pred);
        if (found) return found;
        if (Date.now() > end) throw new Error(`no matching message was posted within ${timeoutMs} ms`);
        await page.waitForTimeout(25);
      }
    },
    respond: async (seq, result, error) => {
      const msg = error === undefined ? { kind: 'response', seq, result } : { kind: 'response', seq, error };
      await page.evaluate(`window.__push(${JSON.stringify(msg)})`);
    },
    csp: async () => (await page.evaluate('window.__csp')) as CspViolation[],
    reload: ready,
    screenshot: async (name, fullPage = false) => {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage });
      return file;
    },
    close: () => context.close(),
  };
  return vp;
}

/** The checks every view must pass: no CSP violation, no console error, no dialog, nothing fetched from outside. */
export async function assertClean<K extends ViewKind>(vp: ViewPage<K>): Promise<void> {
  const csp = await vp.csp();
  const problems: string[] = [];
  if (csp.length) problems.push(`CSP violations: ${JSON.stringify(csp)}`);
  if (vp.errors.length) problems.push(`errors: ${vp.errors.join(' | ')}`);
  if (vp.dialogs.length) problems.push(`dialogs: ${vp.dialogs.join(' | ')}`);
  if (vp.foreign.length) problems.push(`foreign requests: ${vp.foreign.join(' | ')}`);
  if (problems.length) throw new Error(problems.join('\n'));
}

/** No element anywhere (shadow roots included) carries an event-handler attribute, and no <script>/<img> came from data. */
export async function injectedElements<K extends ViewKind>(vp: ViewPage<K>): Promise<string[]> {
  return (await vp.page.evaluate(`(function () {
    var found = [];
    function walk(root) {
      root.querySelectorAll('*').forEach(function (el) {
        for (var i = 0; i < el.attributes.length; i++) {
          if (/^on/i.test(el.attributes[i].name)) found.push(el.tagName + '[' + el.attributes[i].name + ']');
        }
        if (el.tagName === 'IMG' || el.tagName === 'IFRAME' || el.tagName === 'OBJECT' || el.tagName === 'EMBED') found.push(el.tagName);
        if (el.tagName === 'SCRIPT' && el.getAttribute('nonce') === null) found.push('SCRIPT without nonce');
        if (el.tagName === 'A' && /^\\s*(javascript|command):/i.test(el.getAttribute('href') || '')) found.push('A[href=' + el.getAttribute('href') + ']');
        if (el.shadowRoot) walk(el.shadowRoot);
      });
    }
    walk(document);
    return found;
  })()`)) as string[];
}

/**
 * The harness for one describe block: started before its tests, closed after them; the view a test opened
 * through `open` is closed after it (with a screenshot when the test failed).
 */
export function webviewSuite(): {
  harness: () => Harness;
  open: <K extends ViewKind>(view: K, opts?: Parameters<typeof openView>[2]) => Promise<ViewPage<K>>;
} {
  let h: Harness | null = null;
  let current: Pick<ViewPage, 'screenshot' | 'close'> | null = null;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });
  afterEach(async function () {
    if (!current) return;
    if (this.currentTest?.state === 'failed')
      await current.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`, true).catch(() => undefined);
    await current.close();
    current = null;
  });
  return {
    harness: () => h!,
    open: async (view, opts) => {
      if (current) await current.close();
      const opened = await openView(h!, view, opts);
      current = opened;
      return opened;
    },
  };
}
