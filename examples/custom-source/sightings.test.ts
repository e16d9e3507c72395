import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorePoints, RouteRouter } from '@tip/core';
import { serveFeeds, startTestTip, testDialects, type FeedServer } from '@tip/core/testing';
import sightingsPlugin, { SIGHTINGS_PAGE_MODULE, parseSightings } from './src/index.ts';

const FEED = [
  '# acme-sightings v1',
  '2026-01-05T10:00:00Z|ip|45.95.146.7|80|ssh brute force',
  '2026-01-05T10:02:10Z|domain|Login-Verify24.TOP|95|<img src=x onerror=alert(1)>',
  '2026-01-05T10:03:00Z|url|https://pay-check.xyz/login.php|60|kit',
  '2026-01-05T10:04:00Z|ip|not-an-ip|50|bad',
  '',
].join('\n');

describe('sightings feed format', () => {
  it('parses valid lines and names the line and reason of invalid ones', () => {
    const parsed = parseSightings(FEED);
    expect(parsed.sightings.map((s) => s.value)).toEqual(['45.95.146.7', 'login-verify24.top', 'https://pay-check.xyz/login.php']);
    expect(parsed.rejected).toEqual([{ line: 5, reason: 'value: not an IP address' }]);
    expect(parseSightings('2026-01-05T10:00:00Z|ip|1.2.3.4|101|x').rejected[0]!.reason).toMatch(/^confidence/);
    expect(parseSightings('a|b').rejected[0]!.reason).toMatch(/5 "\|"-separated fields, got 2/);
  });

  it('bounds lines and their length', () => {
    const long = parseSightings(`2026-01-05T10:00:00Z|ip|1.2.3.4|1|${'x'.repeat(3000)}`);
    expect(long.rejected[0]!.reason).toMatch(/longer than 2000 characters/);
    const many = parseSightings('# c\n'.repeat(50), { maxLines: 10 });
    expect(many.rejected).toEqual([{ line: 11, reason: 'more than 10 lines: the rest of the feed is ignored' }]);
  });
});

let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds({ '/eu.txt': FEED, '/us.txt': '2026-01-06T08:00:00Z|ip|45.95.146.7|90|seen too\n' });
});
afterAll(() => feeds.close());

describe.each(testDialects())('sightings plugin on %s', (dialect) => {
  const config = (maxInvalidRatio = 0.3) => ({
    acme: { maxInvalidRatio, feeds: [{ id: 'eu', url: feeds.url('/eu.txt') }, { id: 'us', url: feeds.url('/us.txt'), title: 'ACME US <b>beta</b>' }] },
  });

  it('refuses a feed with too many invalid lines, naming the first one', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [sightingsPlugin()], config: config(0.2), start: { schedule: false } });
    const run = await t.app.scheduler.trigger('acme');
    const eu = (await t.app.scheduler.history({ parentId: run.id })).find((c) => c.jobId === 'acme/acme-eu');
    expect(eu).toMatchObject({ status: 'failed', error: expect.stringContaining('ACME_FEED_INVALID') });
    expect(eu!.error).toContain('1 of 4 lines invalid (line 5: value: not an IP address)');
  });

  it('collects its feeds into its own table and answers its routes', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [sightingsPlugin()], config: config(), start: { schedule: false } });
    const updated: unknown[] = [];
    t.app.events.on('acme.sightings.updated', (e) => void updated.push(e));
    const run = await t.app.scheduler.trigger('acme');
    expect(run.status).toBe('succeeded');
    const children = await t.app.scheduler.history({ parentId: run.id });
    expect(children.find((c) => c.jobId === 'acme/acme-eu')?.counts).toMatchObject({ stored: 3 });
    expect(updated).toEqual([{ sources: 2, sightings: 4, rejected: 1 }]);

    const router = new RouteRouter(t.app.routes(), { log: t.app.log, servedScopes: ['read'] });
    const list = await router.handle({ method: 'GET', url: '/api/acme/sightings?minConfidence=70' });
    expect(list?.status).toBe(200);
    const items = (JSON.parse(list!.body as string) as { items: Array<{ value: string; confidence: number; source: string }> }).items;
    expect(items.map((i) => [i.value, i.confidence, i.source])).toEqual([
      ['login-verify24.top', 95, 'acme-eu'],
      ['45.95.146.7', 90, 'acme-us'],
      ['45.95.146.7', 80, 'acme-eu'],
    ]);
    const one = await router.handle({ method: 'GET', url: '/api/acme/sightings/45.95.146.7' });
    expect(JSON.parse(one!.body as string)).toMatchObject({ value: '45.95.146.7', reports: [{ source: 'acme-eu' }, { source: 'acme-us' }] });
    expect((await router.handle({ method: 'GET', url: '/api/acme/sightings/10.9.9.9' }))?.status).toBe(404);
    const bad = await router.handle({ method: 'GET', url: '/api/acme/sightings?minConfidence=500' });
    expect(bad?.status).toBe(400);
    expect(bad!.body as string).toContain('query.minConfidence');

    // a second run counts the runs that listed a value
    await t.app.scheduler.trigger('acme');
    const again = await router.handle({ method: 'GET', url: '/api/acme/sightings/login-verify24.top' });
    expect(JSON.parse(again!.body as string)).toMatchObject({ reports: [{ runs: 2 }] });
  });

  it('its migration creates exactly the schema its entity declares', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [sightingsPlugin()], config: config(), start: { schedule: false } });
    expect((await t.app.db.orm.schema.getUpdateSchemaSQL({ wrap: false })).trim()).toBe('');
  });
});

describe('sightings UI page', () => {
  it('is declared on the pages point, its module exists and exports mount', async () => {
    await using t = await startTestTip({ plugins: [sightingsPlugin()], config: { acme: { feeds: [{ id: 'eu', url: 'http://127.0.0.1:9/eu.txt' }] } }, start: { schedule: false } });
    const pages = t.app.extensionPoint(CorePoints.pages).list();
    expect(pages).toEqual([expect.objectContaining({ id: 'acme.sightings', path: '/sightings', module: SIGHTINGS_PAGE_MODULE })]);
    expect(existsSync(SIGHTINGS_PAGE_MODULE)).toBe(true);
    const mod = (await import(pathToFileURL(SIGHTINGS_PAGE_MODULE).href)) as { mount?: unknown };
    expect(typeof mod.mount).toBe('function');
    // attacker text is written as text: the module never touches innerHTML/outerHTML/insertAdjacentHTML
    expect(readFileSync(SIGHTINGS_PAGE_MODULE, 'utf8')).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('renders feed values as text (a minimal DOM stand-in that refuses HTML)', async () => {
    const { mount } = (await import(pathToFileURL(SIGHTINGS_PAGE_MODULE).href)) as { mount: (el: unknown, ctx: unknown) => () => void };
    const root = new FakeElement('div');
    const payload = '<img src=x onerror=alert(1)>';
    const requested: string[] = [];
    let closed = false;
    const ctx = {
      api: {
        get: async (path: string) => {
          requested.push(path);
          return { items: [{ source: 'acme-eu', value: 'login-verify24.top', type: 'domain', confidence: 95, note: payload, firstSeen: '', lastSeen: '2026-01-05T10:02:10.000Z', runs: 1 }] };
        },
        post: async () => ({}),
        url: (p: string) => `/api${p}`,
      },
      basePath: '/',
      navigate: () => undefined,
      stream: () => () => void (closed = true),
    };
    const unmount = mount(root, ctx);
    for (let i = 0; i < 20 && !root.text().includes('1 sighting'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(requested).toEqual(['/acme/sightings?minConfidence=50&limit=200']);
    expect(root.text()).toContain(payload);
    expect(root.find('td').some((td) => td.textContent === payload)).toBe(true);
    unmount();
    expect(closed).toBe(true);
    expect(root.children).toEqual([]);
  });
});

/** Just enough DOM for the page: text only; setting innerHTML throws. */
class FakeElement {
  children: FakeElement[] = [];
  #text = '';
  [key: string]: unknown;
  constructor(readonly tagName: string) {}
  get ownerDocument() {
    return { createElement: (tag: string) => new FakeElement(tag) };
  }
  get firstChild(): FakeElement | undefined {
    return this.children[0];
  }
  get textContent(): string {
    return this.#text;
  }
  set textContent(v: string) {
    this.#text = v;
    this.children = [];
  }
  set innerHTML(_v: string) {
    throw new Error('innerHTML used');
  }
  append(...nodes: FakeElement[]): void {
    this.children.push(...nodes);
  }
  replaceChildren(...nodes: FakeElement[]): void {
    this.children = [...nodes];
  }
  addEventListener(): void {}
  removeEventListener(): void {}
  text(): string {
    return this.#text + this.children.map((c) => c.text()).join(' ');
  }
  find(tag: string): FakeElement[] {
    return this.children.flatMap((c) => [...(c.tagName === tag ? [c] : []), ...c.find(tag)]);
  }
}
