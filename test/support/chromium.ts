import * as fs from 'node:fs';
import { Browser, chromium } from 'playwright-core';

export function requireChromium(): string {
  const exe = process.env.XRAY_CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(exe))
    throw new Error(`Chromium is not at ${exe}: apt-get install chromium (scripts/setup-env.sh does), or set XRAY_CHROMIUM.`);
  return exe;
}

/** Debian's Chromium, headless, with nothing reaching out to the network on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireChromium(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}
