// UI edge cases in headless chromium against a MOCK server (mock-server.ts) with canned data that a
// real deployment cannot produce today: raw markup in indicator values, run errors, event samples
// and plugin pages (later plugins will show spam subjects and DNS names), a javascript: source URL,
// a stream the server refuses, the UI without the blacklist plugin under a prefix. The main flows
// run against a real deployment in ui.test.ts.
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { explainFailure, hasChromium, launchBrowser, noXss, openPage, screenshot, signIn, skipReason, startMockTarget, WAIT, type WatchedPage } from './browser.ts';
import { XSS_IMG, XSS_SCRIPT } from './mock-server.ts';

describe.skipIf(!hasChromium)('web UI edge cases (mock server) in chromium', { timeout: 90_000 }, () => {
  let target: Awaited<ReturnType<typeof startMockTarget>>;
  let browser: Browser;
  let w: WatchedPage;

  beforeAll(async () => {
    target = await startMockTarget();
    browser = await launchBrowser();
    w = await openPage(browser);
  });
  afterAll(async () => {
    await browser?.close();
    await target?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await explainFailure(w, ctx.task.name, target.requests);
    await noXss(w);
  });

  it('shows the login page, rejects a wrong password, signs in', async () => {
    const { page } = w;
    await page.goto(target.url);
    await page.locator('form.login').waitFor(WAIT);
    await screenshot(page, 'mock-login');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'wrong');
    await page.click('form.login button[type=submit]');
    await page.locator('form.login .error').waitFor(WAIT);
    expect(await page.locator('form.login .error').textContent()).toContain('Wrong user name or password');
    await signIn(page, target);
    expect(await page.locator('.user').textContent()).toContain('admin');
  });

  it('draws the dashboard charts with uPlot', async () => {
    const { page } = w;
    await page.goto(target.url + '#/');
    const canvas = page.locator('.chart canvas').first();
    await canvas.waitFor(WAIT);
    const box = await canvas.boundingBox();
    expect(box?.width).toBeGreaterThan(100);
    expect(box?.height).toBeGreaterThan(50);
    expect(await page.locator('.chart canvas').count()).toBe(2);
    // the failures table renders the run error (an XSS payload) as text
    await page.getByText(`fetch ${XSS_IMG}: HTTP 503`).first().waitFor(WAIT);
    await screenshot(page, 'mock-dashboard');
  });

  it('searches, pages with "More", and renders payload values as text', async () => {
    const { page } = w;
    await page.goto(target.url + '#/search');
    await page.locator('table.results tbody tr').first().waitFor(WAIT);
    expect(await page.locator('table.results tbody tr').count()).toBe(50);
    await page.click('button.btn-more');
    await page.locator('table.results tbody tr').nth(99).waitFor(WAIT);
    await page.click('button.btn-more');
    await page.locator('table.results tbody tr').nth(119).waitFor(WAIT);
    expect(await page.locator('button.btn-more').count()).toBe(0);
    expect(await page.locator('table.results td.value a').first().textContent()).toBe(XSS_IMG);
    expect(await page.locator('table.results td.value a').nth(1).textContent()).toBe(`http://bad.example/${XSS_SCRIPT}`);
    expect(await page.locator('table.results img').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    // a query: the form goes through the hash route
    await page.fill('input[name=q]', '198.51.100.0/24');
    await page.click('.search-form button[type=submit]');
    await page.waitForFunction(() => location.hash.startsWith('#/search?q=198.51.100.0'), null, WAIT);
    await page.waitForFunction(() => document.querySelectorAll('table.results tbody tr').length === 50, null, WAIT);
    expect(await page.locator('table.results td.value a').first().textContent()).toBe('198.51.100.0');
    await screenshot(page, 'mock-search');
  });

  it('shows an indicator with its verdict breakdown and history', async () => {
    const { page } = w;
    await page.goto(target.url + '#/search');
    await page.locator('table.results td.value a').first().click();
    await page.locator('table.breakdown').waitFor(WAIT);
    expect(await page.locator('p.value.big').textContent()).toBe(XSS_IMG);
    expect(await page.locator('.score-num').textContent()).toBe('0.945');
    const rows = page.locator('table.breakdown tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.first().locator('td').nth(1).textContent()).toBe(XSS_SCRIPT);
    await page.locator('table.history tbody tr').nth(2).waitFor(WAIT);
    await screenshot(page, 'mock-indicator');
    // an unlisted value says so
    await page.goto(target.url + '#/indicator/203.0.113.99');
    await page.getByText('No enabled source lists this indicator.').waitFor(WAIT);
    // no indicator at all: the server's message, as text
    await page.goto(target.url + '#/indicator/' + encodeURIComponent(`not ${XSS_IMG}`));
    await page.locator('.indicator .error').waitFor(WAIT);
    expect(await page.locator('.indicator .error').textContent()).toBe(`Error 400: params.value: "not ${XSS_IMG}" is not an indicator`);
    expect(await page.locator('.indicator .card').count()).toBe(1);
  });

  it('lists sources with weights and the overlap heat map; URLs are text, opened only after a confirmation', async () => {
    const { page } = w;
    await page.goto(target.url + '#/sources');
    await page.locator('table.sources tbody tr').nth(4).waitFor(WAIT);
    expect(await page.locator('table.sources td.title').nth(2).textContent()).toBe(XSS_SCRIPT);
    expect(await page.locator('table.sources td.title').nth(3).textContent()).toBe(`URLhaus ${XSS_IMG}`);
    await page.locator('.heatmap .hm-cell').first().waitFor(WAIT);
    expect(await page.locator('.heatmap .hm-cell').count()).toBe(25);
    const bg = await page.locator('.heatmap .hm-cell').nth(1).evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(bg).toMatch(/^rgb\(/);
    expect(bg).not.toBe('rgba(0, 0, 0, 0)');
    await screenshot(page, 'mock-sources');

    // a javascript: URL: shown as text, no open button, no link
    await page.goto(target.url + '#/source/evil_feed');
    await page.locator('.url-text').waitFor(WAIT);
    expect(await page.locator('.url-text').textContent()).toBe(`javascript:window.__xss=1//${XSS_IMG}`);
    expect(await page.locator('.url button').count()).toBe(0);
    expect(await page.locator('main a[href^="javascript:"]').count()).toBe(0);

    // an https URL: "open…" shows the full URL first
    await page.goto(target.url + '#/source/urlhaus');
    await page.locator('.chart canvas').waitFor(WAIT);
    await page.click('.url button');
    await page.locator('.modal').waitFor(WAIT);
    expect(await page.locator('.modal .url-full').textContent()).toBe('https://urlhaus.abuse.ch/downloads/text/?x="><script>window.__xss=1</script>');
    await screenshot(page, 'mock-source-open-confirm');
    await page.click('.modal button:has-text("Cancel")');
    expect(await page.locator('.modal').count()).toBe(0);
    expect(await page.locator('main a[href^="http"]').count()).toBe(0);
  });

  it('shows live events as they arrive, payload samples as text', async () => {
    const { page } = w;
    await page.goto(target.url + '#/events');
    await page.locator('.live .dot-on').waitFor(WAIT);
    await target.emit('blacklist.listings.changed', { source: 'evil_feed', runId: 'r1', added: 2, removed: 1, sampleAdded: [XSS_IMG, '192.0.2.7'], sampleRemoved: [XSS_SCRIPT] });
    await page.locator('.event[data-type="blacklist.listings.changed"]').waitFor(WAIT);
    const ev = page.locator('.event').first();
    expect(await ev.locator('.sample.pos').first().textContent()).toBe(XSS_IMG);
    expect(await ev.locator('.sample.neg').first().textContent()).toBe(XSS_SCRIPT);
    await target.emit('job.finished', { jobId: 'blacklist.weights', runId: 'run-x', status: 'succeeded', durationMs: 1200 });
    await page.locator('.event[data-type="job.finished"]').waitFor(WAIT);
    expect(await page.locator('.event').first().textContent()).toContain('blacklist.weights');
    await target.emit('blacklist.weights.updated', { cycleId: 'c31', weights: [{ source: 'firehol_level1', weight: 0.93 }] });
    await page.locator('.event[data-type="blacklist.weights.updated"]').waitFor(WAIT);
    await target.emit('job.group.completed', { jobId: 'blacklist.fetch', runId: 'run-y', total: 4, succeeded: 3, failed: 1, children: [] });
    await page.locator('.event[data-type="job.group.completed"]').waitFor(WAIT);
    expect(await page.locator('.event').first().textContent()).toContain('3/4 children succeeded');
    await target.emit('service.failed', { serviceId: 'spamtrap', plugin: '@tip/demo', error: XSS_SCRIPT, attempt: 1 });
    await page.locator('.event[data-type="service.failed"]').waitFor(WAIT);
    expect(await page.locator('.event').first().textContent()).toContain(`spamtrap: ${XSS_SCRIPT}`);
    await screenshot(page, 'mock-events');
    await page.selectOption('select[aria-label="event type"]', 'job.finished');
    await page.waitForFunction(() => document.querySelectorAll('.event').length === 1, null, WAIT);
    expect(await page.locator('.event').getAttribute('data-type')).toBe('job.finished');
    await page.selectOption('select[aria-label="event type"]', '');
    // the dashboard panel shows the same feed
    await page.goto(target.url + '#/');
    await page.locator('.dash-side .event').nth(2).waitFor(WAIT);
  });

  it('mounts a plugin page from the manifest', async () => {
    const { page } = w;
    await page.goto(target.url);
    await page.click('nav a:has-text("Demo")');
    await page.locator('.demo-page').waitFor(WAIT);
    expect(await page.locator('.demo-page').textContent()).toBe('Demo plugin page <img src=x onerror=alert(1)>');
    await page.locator('.demo-health').waitFor(WAIT);
    expect(await page.locator('.demo-health').textContent()).toBe('health: ok');
  });
});

describe.skipIf(!hasChromium)('web UI without the blacklist plugin, under a prefix, without sign-in', { timeout: 90_000 }, () => {
  it('shows core views only, calls the API under the prefix, reopens a refused stream', async () => {
    const target = await startMockTarget({ auth: false, blacklist: false, prefix: '/tip', streamFailures: 2 });
    const browser = await launchBrowser();
    try {
      expect(target.url).toMatch(/\/tip\/$/);
      const w = await openPage(browser);
      await w.page.goto(target.url);
      await w.page.locator('header.topbar').waitFor(WAIT);
      await w.page.locator('.chart canvas').waitFor(WAIT);
      const nav = await w.page.locator('nav.nav').textContent();
      expect(nav).toContain('Jobs');
      expect(nav).not.toContain('Search');
      expect(nav).not.toContain('Sources');
      expect(await w.page.locator('.chart canvas').count()).toBe(1);
      await screenshot(w.page, 'mock-core-only');
      await w.page.goto(target.url + '#/search?q=1.2.3.4');
      await w.page.getByText('Not found').waitFor(WAIT);
      expect(target.requests.some((r) => r.startsWith('GET /tip/api/runs?'))).toBe(true);
      // the stream was refused twice (503): the UI reopened it and gets events
      await w.page.goto(target.url + '#/events');
      await w.page.locator('.live .dot-on').waitFor(WAIT);
      expect(target.requests.filter((r) => r.startsWith('GET /tip/api/web/stream')).length).toBeGreaterThanOrEqual(3);
      await target.emit('job.finished', { jobId: 'core.cleanup', runId: 'r9', status: 'failed', error: XSS_IMG, durationMs: 5 });
      await w.page.locator('.event[data-type="job.finished"]').waitFor(WAIT);
      expect(await w.page.locator('.event .neg').first().textContent()).toBe(XSS_IMG);
      await noXss(w);
    } finally {
      await browser.close();
      await target.close();
    }
  });
});

if (!hasChromium) describe('web UI edge cases (mock server) in chromium', () => it.skip(skipReason, () => {}));
