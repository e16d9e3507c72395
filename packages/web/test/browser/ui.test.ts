// The browser UI end to end in headless chromium against a REAL deployment (real-server.ts: the
// blacklist plugin collecting local feeds, @tip/web, a signed-in user): sign-in, dashboard charts,
// search with paging, the verdict breakdown, sources + overlap heat map, the live stream updating
// from a real collection cycle, an admin trigger with the CSRF token, a plugin page, and attacker
// text (payloads in feed entries and source titles) staying text under the CSP. Every figure the
// UI shows is checked against the API or against the feeds themselves. UI edge cases that a real
// deployment cannot produce (javascript: URLs, raw markup in values, a refused stream) are in
// ui-edge.test.ts against a mock server.
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureUiBuilt, explainFailure, hasChromium, launchBrowser, noXss, openPage, screenshot, signIn, skipReason, WAIT, type WatchedPage } from './browser.ts';
import { fmtNum } from '../../ui/src/format.ts'; // the UI's own number format, applied to the API's values
import { CSP } from './mock-server.ts';
import { feedLines, startRealServer, TITLE_IMG, TITLE_SCRIPT, XSS_ENTRIES, XSS_VALUES, type RealServer } from './real-server.ts';

/** Clicks "More" until the search has no next page; the number of result rows. */
async function loadAll(page: Page): Promise<number> {
  await page.locator('table.results tbody tr').first().waitFor(WAIT);
  for (let i = 0; i < 50; i++) {
    await page.waitForFunction(() => !document.querySelector('.pager .muted')?.textContent?.includes('loading'), null, WAIT);
    if ((await page.locator('button.btn-more').count()) === 0) break;
    const before = await page.locator('table.results tbody tr').count();
    await page.click('button.btn-more');
    await page.waitForFunction((n) => document.querySelectorAll('table.results tbody tr').length > n || !document.querySelector('button.btn-more'), before, WAIT);
  }
  return page.locator('table.results tbody tr').count();
}

const cellTexts = (page: Page, selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => e.textContent ?? ''));

type SearchPage = { items: Array<{ value: string; score: number; sources: Array<{ id: string; title: string }> }>; nextCursor: string | null };
type Verdict = { score: number; listed: boolean; exact: { listings: Array<{ source: string; title: string; weight: number }> } | null };

describe.skipIf(!hasChromium)('web UI on a real deployment, in chromium', { timeout: 120_000 }, () => {
  let real: RealServer;
  let browser: Browser;
  let w: WatchedPage;

  beforeAll(async () => {
    ensureUiBuilt();
    real = await startRealServer();
    browser = await launchBrowser();
    w = await openPage(browser);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await real?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await explainFailure(w, ctx.task.name);
    await noXss(w);
  });

  it('sends the CSP (no unsafe-inline) and security headers, and a page without inline script or style', async () => {
    const res = await fetch(real.url);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toBe(CSP); // and the mock server of ui-edge.test.ts sends the same
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    // the API answers need a credential: the page, not the data, is public
    expect((await fetch(`${real.url}api/blacklist/search`)).status).toBe(401);
  });

  it('shows the login page, rejects a wrong password, signs in', async () => {
    const { page } = w;
    await page.goto(real.url);
    await page.locator('form.login').waitFor(WAIT);
    await screenshot(page, 'login');
    await page.fill('input[name=username]', real.credentials!.username);
    await page.fill('input[name=password]', 'not the password');
    await page.click('form.login button[type=submit]');
    await page.locator('form.login .error').waitFor(WAIT);
    expect(await page.locator('form.login .error').textContent()).toContain('Wrong user name or password');
    await signIn(page, real);
    expect(await page.locator('.user').textContent()).toContain(real.credentials!.username);
  });

  it('draws the dashboard charts (uPlot) from the collected cycles, and the failed feed', async () => {
    const { page } = w;
    const { points } = await real.api<{ points: Array<{ listed: number }> }>('blacklist/timeline');
    expect(points.length).toBe(2);
    await page.goto(real.url + '#/');
    const canvas = page.locator('.chart canvas').first();
    await canvas.waitFor(WAIT);
    await page.locator('.chart canvas').nth(1).waitFor(WAIT);
    const box = await canvas.boundingBox();
    expect(box?.width).toBeGreaterThan(100);
    expect(box?.height).toBeGreaterThan(50);
    expect(await page.locator('.chart canvas').count()).toBe(2);
    // something was drawn: the canvas is not blank
    const painted = await canvas.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(100);
    await page.getByText(`HTTP 503 from ${real.feeds.url('/broken.txt')}`).first().waitFor(WAIT);
    // the live panel starts with the logged events of the two cycles, newest first
    await page.locator('.dash-side .event[data-type="blacklist.listings.changed"]').first().waitFor(WAIT);
    await screenshot(page, 'dashboard');
  });

  it('searches everything page by page, and a CIDR with exactly the listed addresses inside it', async () => {
    const { page } = w;
    // every value the API has, page by page, against every row the UI shows after "More"
    const api: string[] = [];
    for (let cursor: string | null = null, i = 0; i === 0 || cursor; i++) {
      const res: SearchPage = await real.api<SearchPage>(`blacklist/search?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      api.push(...res.items.map((x) => x.value));
      cursor = res.nextCursor;
    }
    await page.goto(real.url + '#/search');
    await page.locator('table.results tbody tr').first().waitFor(WAIT);
    expect(await page.locator('table.results tbody tr').count()).toBe(50);
    expect(await loadAll(page)).toBe(api.length);
    expect((await cellTexts(page, 'table.results td.value a')).sort()).toEqual([...api].sort());

    // 185.220.101.0/24 after cycle 2, from the feeds themselves: .11-.120 and .200-.210
    const expected = new Set<string>();
    for (const lines of Object.values(feedLines(2))) for (const l of lines) if (l.startsWith('185.220.101.')) expected.add(l);
    expect(expected.size).toBe(121);
    await page.fill('input[name=q]', '185.220.101.0/24');
    await page.click('.search-form button[type=submit]');
    await page.waitForFunction(() => location.hash.startsWith('#/search?q=185.220.101.0'), null, WAIT);
    await page.waitForFunction(() => document.querySelectorAll('table.results tbody tr').length === 50, null, WAIT);
    expect(await loadAll(page)).toBe(121);
    expect(new Set(await cellTexts(page, 'table.results td.value a'))).toEqual(expected);
    await screenshot(page, 'search');
  });

  it('renders payload-carrying feed entries and source titles as text', async () => {
    const { page } = w;
    // the raw feed line as the query: the canonical value comes back, shown as text
    await page.goto(real.url + '#/search?q=' + encodeURIComponent(XSS_ENTRIES[0]!));
    // (the rows of the previous test's search stay until the new answer replaces them)
    await page.waitForFunction(() => document.querySelectorAll('table.results tbody tr').length === 2, null, WAIT);
    // the URL, and its host (the search also lists the domains a URL query belongs to)
    expect((await cellTexts(page, 'table.results td.value a')).sort()).toEqual(['bad-cdn.top', XSS_VALUES[0]]);
    await page.goto(real.url + '#/search?q=' + encodeURIComponent(XSS_VALUES[1]!));
    await page.waitForFunction((v) => document.querySelector('table.results td.value a')?.textContent === v, XSS_VALUES[1], WAIT);
    const chip = page.locator('table.results a.chip').first();
    expect(await chip.textContent()).toBe('community');
    expect(await chip.getAttribute('title')).toBe(TITLE_SCRIPT);
    await chip.hover(); // the quoted onmouseover in the value must stay inert
    expect(await page.locator('table.results img, main script').count()).toBe(0);
    await screenshot(page, 'search-payloads');
  });

  it('shows an indicator with the verdict breakdown the API computed, and its history', async () => {
    const { page } = w;
    const value = '185.220.101.50'; // level1 and community list it
    const verdict = await real.api<Verdict>(`blacklist/explain/${value}`);
    expect(verdict.listed).toBe(true);
    await page.goto(real.url + '#/search?q=' + value);
    await page.locator('table.results td.value a').first().click();
    await page.locator('table.breakdown').waitFor(WAIT);
    expect(await page.locator('p.value.big').textContent()).toBe(value);
    expect(await page.locator('.score-num').textContent()).toBe(fmtNum(verdict.score));
    const rows = page.locator('table.breakdown tbody tr');
    expect(await rows.count()).toBe(2);
    const titles = await cellTexts(page, 'table.breakdown tbody tr td:nth-child(2)');
    expect(titles.sort()).toEqual(['Level 1 reputation', TITLE_SCRIPT].sort());
    const weights = await cellTexts(page, 'table.breakdown tbody tr td:nth-child(8)');
    expect(weights.sort()).toEqual(verdict.exact!.listings.map((l) => fmtNum(l.weight)).sort());
    await page.locator('table.history tbody tr').nth(1).waitFor(WAIT);
    await screenshot(page, 'indicator');

    // 185.220.101.5 left level1 in cycle 2: not listed now, and the history says when
    await page.goto(real.url + '#/indicator/185.220.101.5');
    await page.getByText('No enabled source lists this indicator.').waitFor(WAIT);
    await page.locator('table.history tbody tr').nth(1).waitFor(WAIT);
    expect(await cellTexts(page, 'table.history tbody tr td:nth-child(3)')).toEqual(['unlisted', 'listed']);

    // not an indicator: the server's message, as text
    await page.goto(real.url + '#/indicator/' + encodeURIComponent('not an <img src=x onerror=window.__xss=1>'));
    await page.locator('.indicator .error').waitFor(WAIT);
    expect(await page.locator('.indicator .error').textContent()).toContain('not an <img src=x onerror=window.__xss=1>');
  });

  it('lists sources with the computed weights and the overlap heat map; titles are text, URLs open only after a confirmation', async () => {
    const { page } = w;
    const { sources } = await real.api<{ sources: Array<{ id: string; title: string }> }>('blacklist/sources');
    const { weights } = await real.api<{ weights: Array<{ source: string; weight: number }> }>('blacklist/weights');
    await page.goto(real.url + '#/sources');
    await page.locator('table.sources tbody tr').nth(3).waitFor(WAIT);
    expect(await page.locator('table.sources tbody tr').count()).toBe(sources.length);
    expect((await cellTexts(page, 'table.sources td.title')).sort()).toEqual(['Broken upstream', 'Level 1 reputation', TITLE_IMG, TITLE_SCRIPT].sort());
    const shown = await page.locator('table.sources .weight').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
    expect(weights.length).toBe(sources.length);
    expect(shown.sort()).toEqual(weights.map((x) => fmtNum(x.weight, 2)).sort());
    await page.locator('.heatmap .hm-cell').first().waitFor(WAIT);
    const n = Math.sqrt(await page.locator('.heatmap .hm-cell').count());
    expect(Number.isInteger(n) && n >= 3).toBe(true);
    const bg = await page.locator('.heatmap .hm-cell').nth(1).evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(bg).toMatch(/^rgb/);
    await screenshot(page, 'sources');

    // the export card downloads the same list the API streams to a token holder
    await page.selectOption('select[aria-label="export format"]', 'csv');
    await page.selectOption('select[aria-label="export types"]', 'ip,cidr');
    await page.fill('input[aria-label="export minimum score"]', 'x');
    await page.getByText('min score must be a number from 0 to 1').waitFor(WAIT);
    await page.fill('input[aria-label="export minimum score"]', '0.1');
    const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click('a.btn-download')]);
    expect(download.suggestedFilename()).toBe('tip-blacklist.csv');
    const file = await readFile((await download.path())!, 'utf8');
    const res = await fetch(`${real.url}api/blacklist/export?format=csv&minScore=0.1&types=ip%2Ccidr`, { headers: { authorization: `Bearer ${real.token}` } });
    expect(res.status).toBe(200);
    // the same rows; scores decay with time, so the two answers may differ in the last digits
    const byValue = (csv: string) => new Map(csv.trim().split(/\r?\n/).slice(1).map((l) => { const [type, value, score] = l.split(','); return [`${type},${value}`, Number(score)] as const; }));
    const mine = byValue(file);
    const theirs = byValue(await res.text());
    expect([...mine.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [k, score] of mine) expect(Math.abs(score - theirs.get(k)!), k).toBeLessThan(0.01);
    const rows = file.trim().split(/\r?\n/); // RFC 4180 CRLF
    expect(rows[0]).toBe('type,value,score,first_seen,last_seen,sources,categories');
    expect(rows.filter((l) => l.startsWith('ip,185.220.101.50,'))).toHaveLength(1);
    expect(rows.slice(1).every((l) => /^(ip|cidr),/.test(l))).toBe(true);

    await page.goto(real.url + '#/source/community');
    await page.locator('.url-text').waitFor(WAIT);
    expect(await page.locator('dd.title').textContent()).toBe(TITLE_SCRIPT);
    expect(await page.locator('.url-text').textContent()).toBe(real.feeds.url('/community.txt'));
    await page.click('.url button');
    await page.locator('.modal').waitFor(WAIT);
    expect(await page.locator('.modal .url-full').textContent()).toBe(real.feeds.url('/community.txt'));
    await page.click('.modal button:has-text("Cancel")');
    expect(await page.locator('.modal').count()).toBe(0);
    expect(await page.locator('main a[href^="http"]').count()).toBe(0);
    await screenshot(page, 'source');
  });

  it('updates the live stream from a real collection cycle', async () => {
    const { page } = w;
    await page.goto(real.url + '#/events');
    await page.locator('.live .dot-on').waitFor(WAIT);
    const before = await page.locator('.event').count();
    await real.cycle(3); // level1 adds 185.220.101.220
    // the panel starts with the logged events of the earlier cycles; this one is new
    const changed = page.locator('.event[data-type="blacklist.listings.changed"]', { has: page.locator('.sample.pos', { hasText: /^185\.220\.101\.220$/ }) });
    await changed.waitFor(WAIT);
    expect(await changed.locator('strong').first().textContent()).toBe('level1');
    await page.locator('.event[data-type="blacklist.weights.updated"]').first().waitFor(WAIT);
    await page.locator('.event[data-type="job.group.completed"]').first().waitFor(WAIT);
    expect(await page.locator('.event').count()).toBeGreaterThan(before);
    // a plugin's public event (registered after @tip/web: followed from init) arrives too, its data as text
    await real.emit('widgets.changed', { name: TITLE_IMG });
    const widget = page.locator('.event[data-type="widgets.changed"]');
    await widget.waitFor(WAIT);
    expect(await widget.textContent()).toContain(JSON.stringify({ name: TITLE_IMG }));
    expect(await page.locator('select[aria-label="event type"] option').allTextContents()).toContain('widgets.changed');
    await screenshot(page, 'events');
    // a sample links to its indicator page
    await changed.locator('.sample.pos', { hasText: '185.220.101.220' }).click();
    await page.locator('table.breakdown').waitFor(WAIT);
    expect(await page.locator('p.value.big').textContent()).toBe('185.220.101.220');
    // the dashboard's live panel shows the same feed
    await page.goto(real.url + '#/');
    await page.locator('.dash-side .event').first().waitFor(WAIT);
  });

  it('lists jobs and runs; an admin triggers a cycle from the UI (CSRF token) and it runs', async () => {
    const { page } = w;
    const runsBefore = (await real.tip.app.scheduler.history({ jobId: 'blacklist' })).length;
    await page.goto(real.url + '#/jobs');
    const row = page.locator('table.jobs tbody tr', { has: page.locator('td.mono', { hasText: /^blacklistgroup$|^blacklist$/ }) }).first();
    await row.waitFor(WAIT);
    await page.locator('table.runs tbody tr').first().waitFor(WAIT);
    const done = real.tip.app.events.next('blacklist.cycle.completed');
    await row.locator('button').click();
    await page.locator('.notice').waitFor(WAIT);
    expect(await page.locator('.notice').textContent()).toMatch(/^blacklist: triggered \(run [0-9a-f-]{36}\)$/);
    await done;
    expect((await real.tip.app.scheduler.history({ jobId: 'blacklist' })).length).toBe(runsBefore + 1);
    await page.selectOption('select[aria-label="run status"]', 'failed');
    await page.locator('table.runs tbody tr', { hasText: 'blacklist/broken' }).first().waitFor(WAIT);
    await screenshot(page, 'jobs');
  });

  it('serves the API reference (swagger-ui, own assets) with every plugin route, under the CSP', async () => {
    const { page } = w;
    await page.goto(real.url + 'api/docs/');
    await page.locator('.swagger-ui .opblock').first().waitFor(WAIT);
    const paths = await cellTexts(page, '.swagger-ui .opblock-summary-path');
    expect(paths).toContain('/api/blacklist/search');
    expect(paths).toContain('/api/widgets/items');
    expect(paths).toContain('/api/web/stream');
    // (afterEach: no CSP violation, i.e. the hash of swagger-ui's injected style still matches)
    await screenshot(page, 'api-docs');
  });

  it('mounts a plugin page from the manifest', async () => {
    const { page } = w;
    await page.goto(real.url);
    await page.click('nav a:has-text("Widgets")');
    await page.locator('.acme-page .acme-items li').first().waitFor(WAIT);
    expect(await page.locator('.acme-page h2').textContent()).toBe('acme page');
    expect(await cellTexts(page, '.acme-page .acme-items li')).toEqual(['first']);
    // the admin-only page is in the navigation of an admin
    expect(await page.locator('nav a:has-text("Widget admin")').count()).toBe(1);
  });

  it('shows the login page again when the session expired, and after signing out', async () => {
    const { page } = w;
    await page.goto(real.url + '#/jobs');
    await page.locator('table.jobs tbody tr').first().waitFor(WAIT);
    await real.expireSessions();
    await page.goto(real.url + '#/sources');
    await page.locator('form.login').waitFor(WAIT);
    await signIn(page, real);
    await page.goto(real.url + '#/sources');
    await page.locator('table.sources tbody tr').first().waitFor(WAIT);
    await page.click('.user button');
    await page.locator('form.login').waitFor(WAIT);
  });
});

describe.skipIf(!hasChromium)('web UI on a real deployment, read-only user', { timeout: 120_000 }, () => {
  it('shows the data but offers no trigger button', async () => {
    ensureUiBuilt();
    const real = await startRealServer({ scope: 'read' });
    const browser = await launchBrowser();
    try {
      const w = await openPage(browser);
      await signIn(w.page, real);
      await w.page.goto(real.url + '#/jobs');
      await w.page.locator('table.jobs tbody tr').nth(1).waitFor(WAIT);
      expect(await w.page.locator('table.jobs button').count()).toBe(0);
      expect(await w.page.locator('.user .badge').count()).toBe(0);
      await w.page.goto(real.url + '#/search?q=185.220.101.50');
      await w.page.locator('table.results td.value a').first().waitFor(WAIT);
      await noXss(w);
    } finally {
      await browser.close();
      await real.close();
    }
  });
});

if (!hasChromium) describe('web UI in chromium', () => it.skip(skipReason, () => {}));
