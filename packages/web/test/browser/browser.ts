// Browser-test support: headless Debian chromium through playwright-core, the UI build, the mock
// target for UI edge cases (the real deployment is real-server.ts), page watchers and artifacts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { startMockServer, type MockOptions } from './mock-server.ts';

/** Where Debian installs chromium (`apt-get install chromium`; `./dev test` does it as root). */
export const CHROMIUM = '/usr/bin/chromium';
/** Whether the browser tests can run; they skip with {@link skipReason} otherwise. */
export const hasChromium = existsSync(CHROMIUM);
/** Why the browser tests skip. */
export const skipReason = `browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`;
if (!hasChromium) console.warn(skipReason);

const webDir = fileURLToPath(new URL('../../', import.meta.url));
/** Screenshots and other artifacts (git-ignored). */
export const artifacts = join(webDir, 'test', 'artifacts');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function uiFresh(index: string, ui: string): boolean {
  const srcTime = Math.max(newest(join(ui, 'src')), statSync(join(ui, 'index.html')).mtimeMs, statSync(join(ui, 'vite.config.ts')).mtimeMs);
  return existsSync(index) && statSync(index).mtimeMs >= srcTime;
}

/**
 * Builds dist-ui with Vite when it is missing or older than the UI sources (`./dev build` does it
 * too). A lock directory keeps test files in parallel workers from building at the same time.
 */
export function ensureUiBuilt(): void {
  const index = join(webDir, 'dist-ui', 'index.html');
  const ui = join(webDir, 'ui');
  if (uiFresh(index, ui)) return;
  const lock = join(webDir, '.dist-ui.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > deadline) throw new Error(`ensureUiBuilt: ${lock} held for 3 minutes; remove it if no build runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (uiFresh(index, ui)) return;
    const vite = join(webDir, '..', '..', 'node_modules', '.bin', 'vite');
    execFileSync(vite, ['build', '--config', join(ui, 'vite.config.ts')], { stdio: 'inherit', timeout: 120_000 });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Launches headless chromium. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** What the edge-case tests run against. */
export interface Target {
  /** Base URL of the UI (ends in '/'). */
  readonly url: string;
  /** A user that can sign in with admin scope, or null when the target needs no sign-in. */
  readonly credentials: { username: string; password: string } | null;
  /** Ends every session (as their expiry would). */
  expireSessions(): Promise<void>;
  /** Makes the deployment emit an event onto the live stream. */
  emit(type: string, data: unknown): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the mock server of mock-server.ts, for UI edge cases a real deployment cannot produce
 * (ui-edge.test.ts); the main flows run against real-server.ts.
 */
export async function startMockTarget(options: MockOptions = {}): Promise<Target & { requests: readonly string[] }> {
  ensureUiBuilt();
  const mock = await startMockServer(options);
  return {
    url: mock.url,
    requests: mock.requests,
    credentials: options.auth === false ? null : { username: 'admin', password: 'secret' },
    emit: async (type, data) => mock.push(type, data),
    expireSessions: async () => mock.expireSessions(),
    close: () => mock.close(),
  };
}

/** A page with watchers for dialogs (alert from an XSS), CSP violations and page errors. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Messages of dialogs that opened (must stay empty). */
  dialogs: string[];
  /** Page errors (uncaught exceptions). */
  errors: string[];
  /** Console messages and failed requests, for diagnosing a failure. */
  log: string[];
  /** CSP violations the page reported (`securitypolicyviolation`), read from the page. */
  cspViolations(): Promise<string[]>;
}

/** Opens a new context + page at 1280×800 with the watchers installed. */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const log: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('requestfailed', (r) => log.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => r.status() >= 400 && log.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`));
  return {
    page,
    context,
    dialogs,
    errors,
    log,
    cspViolations: () => page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []),
  };
}

/** After a failed test: prints what the page logged and saves a screenshot `failed-<test>.png`. */
export async function explainFailure(w: WatchedPage, test: string, requests?: readonly string[]): Promise<void> {
  const name = `failed-${test.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`;
  console.error(`${test}: page at ${w.page.url()}\n${w.log.slice(-40).join('\n')}${requests ? `\nrequests:\n${requests.slice(-40).join('\n')}` : ''}`);
  await screenshot(w.page, name).catch(() => undefined);
}

/** Saves a full-page screenshot as test/artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Generous waits (CI shares 2 cores with other test files); nothing asserts on timing. */
export const WAIT = { timeout: 30_000 };

/**
 * Asserts that nothing an attacker planted ran: no `window.__xss`, no dialog, no CSP violation,
 * no page error, no inline event-handler attribute in the document.
 */
export async function noXss(w: WatchedPage): Promise<void> {
  expect(await w.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
  expect(w.dialogs).toEqual([]);
  expect(await w.cspViolations()).toEqual([]);
  expect(w.errors).toEqual([]);
  expect(await w.page.evaluate(() => document.querySelectorAll('[onmouseover],[onerror],[onload],[onclick]').length)).toBe(0);
}

/** Opens `target.url` and signs in with its credentials (nothing to do without). */
export async function signIn(page: Page, target: { url: string; credentials: { username: string; password: string } | null }): Promise<void> {
  await page.goto(target.url);
  if (!target.credentials) return;
  await page.locator('form.login').waitFor(WAIT);
  await page.fill('input[name=username]', target.credentials.username);
  await page.fill('input[name=password]', target.credentials.password);
  await page.click('form.login button[type=submit]');
  await page.locator('header.topbar').waitFor(WAIT);
}
