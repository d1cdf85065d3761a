// browser.mjs - Debian's chromium driven by playwright-core (no downloaded
// browser). One Browser per test: separate devices are separate contexts
// (their own storage), one profile with several tabs is a persistent
// context on a fresh user-data-dir. Every page is watched: console errors
// are kept for the failure message, an uncaught page error fails the test
// (assertNoPageErrors).
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT } from '../../integration/lib/harness.mjs';

export const CHROMIUM = process.env.SYNCGATE_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'build/screenshots');

const LAUNCH = {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

function requireChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests drive Debian's chromium `
      + '(scripts/deps.sh test installs it: apt-get install chromium), or set SYNCGATE_CHROMIUM');
  }
}

export class Browser {
  constructor() {
    this.browser = null; // for contexts
    this.profiles = []; // {context, dir}
    this.pageErrors = []; // {page, error}
    this.consoleErrors = []; // {page, text}
  }

  static async launch() {
    requireChromium();
    const b = new Browser();
    b.browser = await chromium.launch(LAUNCH);
    return b;
  }

  /** A separate device: its own cookies, IndexedDB, BroadcastChannel scope. */
  async device(opts = {}) {
    const ctx = await this.browser.newContext(opts);
    ctx.on('page', (p) => this.watch(p));
    return ctx;
  }

  /** A new page on a new device (its own context), watched. */
  async page(label, opts = {}) {
    const ctx = await this.device(opts);
    const p = await ctx.newPage();
    p.label = label;
    return p;
  }

  /**
   * One browser profile (a persistent context on a fresh user-data-dir):
   * its tabs share storage like a user's two tabs do.
   */
  async profile(opts = {}) {
    requireChromium();
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-e2e-profile-'));
    const context = await chromium.launchPersistentContext(dir, { ...LAUNCH, ...opts });
    this.profiles.push({ context, dir });
    for (const p of context.pages()) this.watch(p);
    context.on('page', (p) => this.watch(p));
    return context;
  }

  watch(page) {
    if (page.__watched) return;
    page.__watched = true;
    page.on('pageerror', (error) => {
      this.pageErrors.push({ page, error });
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') this.consoleErrors.push({ page, text: msg.text() });
    });
  }

  /** What the pages logged as errors (for a failure message). */
  consoleReport() {
    return this.consoleErrors.map((e) => `[${e.page.label || e.page.url()}] ${e.text}`).join('\n');
  }

  assertNoPageErrors(assert) {
    const list = this.pageErrors.map((e) => `[${e.page.label || e.page.url()}] ${e.error && (e.error.stack || e.error.message)}`);
    assert.deepEqual(list, [], `uncaught errors in the page:\n${list.join('\n')}\nconsole errors:\n${this.consoleReport()}`);
  }

  async close() {
    if (process.env.E2E_CONSOLE && this.consoleErrors.length) {
      console.log(`browser console errors:\n${this.consoleReport()}`);
    }
    for (const { context, dir } of this.profiles) {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
    this.profiles = [];
    if (this.browser) await this.browser.close().catch(() => {});
    this.browser = null;
  }
}

/** Path of a screenshot (build/screenshots/ is created). */
export function shotPath(name) {
  mkdirSync(SHOTS, { recursive: true });
  return path.join(SHOTS, name);
}

/**
 * A same-origin page with no app in it, for driving the library directly:
 * the gateway's own index.html (a document served from 127.0.0.1, so
 * Chromium's local network access rules let it open the WebSocket; a
 * document Playwright made up would count as public and be refused) with
 * demo.js answered by an empty module.
 */
export async function blankPage(page, origin) {
  await page.route(`${origin}/demo.js`, (route) => route.fulfill({
    status: 200,
    contentType: 'text/javascript; charset=utf-8',
    body: '// demo.js left out by the e2e tests: this page drives syncgate.js itself\n',
  }));
  await page.goto(`${origin}/`);
  return page;
}
