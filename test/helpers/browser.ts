/**
 * Debian's Chromium, driven headless with playwright-core (which never downloads a browser). Tests that need it
 * skip with CHROMIUM_SKIP_REASON when /usr/bin/chromium is missing (`.ci/run` installs it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from './multilang.js';

export const CHROMIUM_PATH = process.env.KCL_TEST_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_SKIP_REASON: string | false = fs.existsSync(CHROMIUM_PATH)
  ? false
  : `needs a headless Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium; .ci/run does it)`;

export interface OwnedBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

/**
 * A fresh profile per launch: playwright's launch() always gives Chromium a new temporary --user-data-dir of its
 * own (and refuses one in args), removed on close. No background traffic: these tests use loopback only.
 */
export async function launchChromium(): Promise<OwnedBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: () => browser.close().catch(() => undefined),
  };
}

/** Where test screenshots go: test-output/ at the repository root (ignored by git). */
export function screenshotPath(name: string): string {
  const dir = path.join(repoRoot, 'test-output');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
