import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, executeRaw, isTipError } from '@tip/core';
import { serveFeeds, startTestTip, testDialects, type FeedServer, type TestTip } from '@tip/core/testing';
import blacklist, { blacklistSource, BlacklistToken, canonicalize, IndicatorSet, noteInvalid, type BlacklistSourceOptions, type FeedParser } from '../src/index.js';

// A local feed server: path → body.
let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds();
});
afterAll(() => feeds.close());

/** A custom format: `value|comment` per line; `options.types` keeps only those types. */
const pipeParser: FeedParser = {
  format: 'pipe',
  *parse(text, options, stats) {
    let line = 0;
    for (const raw of text.split('\n')) {
      line++;
      stats.lines++;
      const value = raw.split('|')[0]!.trim();
      if (!value) {
        stats.skipped++;
        continue;
      }
      const r = canonicalize(value);
      if (!r.ok) {
        noteInvalid(stats, line, raw, 'not an indicator');
        continue;
      }
      stats.records++;
      yield* r.indicators.filter((i) => !options.types || options.types.includes(i.type));
    }
  },
};

/** `blacklistSource(o)`'s error: its code and `details.option`. */
function failure(o: unknown): [string, unknown] {
  try {
    blacklistSource(o as BlacklistSourceOptions);
  } catch (e) {
    if (isTipError(e)) return [e.code, e.details.option];
    throw e;
  }
  throw new Error('expected blacklistSource to throw');
}

const ipRange = (n: number) => Array.from({ length: n }, (_, k) => `45.7.${Math.floor(k / 256)}.${k % 256}`);
let bulk = ipRange(200);

const thirdParty = () =>
  definePlugin({
    name: 'third-party-sources',
    version: '1.0.0',
    core: '^0.2.0',
    dependsOn: ['@tip/plugin-blacklist'],
    register(ctx) {
      ctx.sources.add(
        blacklistSource({
          id: 'own-fetch',
          title: 'Own fetch',
          category: 'c2',
          license: 'CC0',
          url: 'https://user:secret@api.example/v1/c2',
          format: 'api-json',
          async *fetch() {
            const set = new IndicatorSet();
            set.add('domain', 'c2-panel-3.net');
            yield [{ type: 'ip', value: '45.95.146.7' }, '89.248.165.12', 'not an indicator'];
            yield [set];
          },
        }),
        blacklistSource({ id: 'hosts-feed', category: 'malware', url: feeds.url('/hosts.txt'), format: 'hosts' }),
        blacklistSource({ id: 'pipe-feed', title: 'Pipe feed', category: 'phishing', url: feeds.url('/pipe.txt'), format: 'pipe', parsers: [pipeParser], options: { types: ['url'] } }),
        blacklistSource({
          id: 'guarded',
          category: 'scanner',
          maxRemovedRatio: 0.1,
          async *fetch() {
            yield bulk;
          },
        }),
      );
    },
  });

describe('blacklistSource() checks its options', () => {
  it('refuses bad options, naming them', () => {
    const ok = { id: 'x', category: 'spam', async *fetch() {} };
    expect(failure({ ...ok, id: '../etc' })).toEqual(['TIP_CONFIG_INVALID', 'id']);
    expect(failure({ ...ok, id: 'x'.repeat(101) })).toEqual(['TIP_CONFIG_INVALID', 'id']);
    expect(failure({ ...ok, title: 't'.repeat(501) })).toEqual(['TIP_CONFIG_INVALID', 'title']);
    expect(failure({ ...ok, category: 'evil' })).toEqual(['TIP_CONFIG_INVALID', 'category']);
    expect(failure({ ...ok, license: '' })).toEqual(['TIP_CONFIG_INVALID', 'license']);
    expect(failure({ ...ok, url: 'file:///etc/passwd' })).toEqual(['TIP_CONFIG_INVALID', 'url']);
    expect(failure({ ...ok, url: 'not a url' })).toEqual(['TIP_CONFIG_INVALID', 'url']);
    expect(failure({ ...ok, format: 'a b' })).toEqual(['TIP_CONFIG_INVALID', 'format']);
    expect(failure({ ...ok, maxRemovedRatio: 2 })).toEqual(['TIP_CONFIG_INVALID', 'maxRemovedRatio']);
    expect(failure({ ...ok, maxRemovedRatio: Number.NaN })).toEqual(['TIP_CONFIG_INVALID', 'maxRemovedRatio']);
    expect(failure({ ...ok, fetch: 'soon' })).toEqual(['TIP_CONFIG_INVALID', 'fetch']);
    expect(failure({ id: 'x', category: 'spam' })).toEqual(['TIP_CONFIG_INVALID', 'url']);
    expect(failure({ id: 'x', category: 'spam', url: 'https://a.example/x' })).toEqual(['TIP_CONFIG_INVALID', 'format']);
    expect(failure({ id: 'x', category: 'spam', url: 'https://a.example/x', format: 'plain', maxBytes: -1 })).toEqual(['TIP_CONFIG_INVALID', 'maxBytes']);
    expect(failure({ id: 'x', category: 'spam', url: 'https://a.example/x', format: 'pipe' })).toEqual(['BL_FEED_FORMAT_UNKNOWN', 'format']);
    expect(failure(undefined)).toEqual(['TIP_CONFIG_INVALID', 'id']);
    // the format's parser checks its options when the source is declared, not at the first fetch
    const feed = { id: 'x', category: 'spam', url: 'https://a.example/x' };
    expect(failure({ ...feed, format: 'plain', options: { maxLineLength: 0 } })).toEqual(['TIP_CONFIG_INVALID', 'options.maxLineLength']);
    expect(failure({ ...feed, format: 'hosts', types: ['cidr'] })).toEqual(['TIP_CONFIG_INVALID', 'types']);
    expect(failure({ ...feed, format: 'csv', options: { column: 'url', delimiter: 'too long' } })[1]).toMatch(/^options\./);
  });

  it('declares a blacklist source with typed metadata', () => {
    const s = blacklistSource({ id: 'a', category: 'spam', license: 'CC0', async *fetch() {} });
    expect(s).toMatchObject({ id: 'a', kind: 'blacklist', title: 'a', timeout: '10m', meta: { category: 'spam', license: 'CC0', format: 'custom' } });
    const f = blacklistSource({ id: 'b', title: 'B', category: 'malware', url: 'https://a.example/b.txt', format: 'plain', maxBytes: 1000, timeout: '1m' });
    // format-specific options (here CsvOptions) are accepted
    expect(blacklistSource({ id: 'c', category: 'phishing', url: 'https://a.example/c.csv', format: 'csv', options: { column: 'url' } }).meta).toMatchObject({ format: 'csv' });
    expect(f).toMatchObject({ id: 'b', kind: 'blacklist', title: 'B', timeout: '1m', http: { maxBytes: 1000 }, meta: { category: 'malware', url: 'https://a.example/b.txt', format: 'plain' } });
    // what the compiler refuses (checked by tsc -p tsconfig.test.json)
    // @ts-expect-error an unknown category
    expect(() => blacklistSource({ id: 'c', category: 'evil', async *fetch() {} })).toThrow();
    // @ts-expect-error neither a fetch nor a format
    expect(() => blacklistSource({ id: 'c', category: 'spam', url: 'https://a.example/c' })).toThrow();
    // @ts-expect-error a fetch must yield blacklist records
    expect(() => blacklistSource({ id: 'c', category: 'spam', title: '', async *fetch() { yield [42]; } })).toThrow();
  });
});

describe.each(testDialects())('blacklistSource() in an app on %s', (dialect) => {
  it('its sources are collected, recorded with their metadata and guarded', async () => {
    feeds.set('/hosts.txt', '0.0.0.0 malware-drop-1.com\n0.0.0.0 login-paypa1.net\n127.0.0.1 localhost\n');
    feeds.set('/pipe.txt', 'http://login-paypa1.net/x.php|kit\nnonsense here|x\n\nhttps://185.156.73.54/bot.exe|dropper\nhttp://evil-cdn-4.com/a.js|js\nhttp://evil-cdn-4.com/b.js|js\n');
    bulk = ipRange(200);
    await using t: TestTip = await startTestTip({ database: dialect, plugins: [blacklist(), thirdParty()], start: { schedule: false } });
    const run = await t.app.scheduler.trigger('blacklist');
    const children = await t.app.scheduler.history({ parentId: run.id });
    expect(Object.fromEntries(children.map((c) => [c.jobId, [c.status, c.counts?.added, c.counts?.invalid]]))).toEqual({
      'blacklist/own-fetch': ['succeeded', 3, 1],
      'blacklist/hosts-feed': ['succeeded', 2, 0],
      'blacklist/pipe-feed': ['succeeded', 4, 1],
      'blacklist/guarded': ['succeeded', 200, 0],
    });
    const listed = async (id: string) =>
      (await executeRaw<{ value: string }>(t.app.em(), `select i.value from bl_listing l join bl_indicator i on i.id = l.indicator_id where l.source_id = '${id}' and l.removed_at is null order by i.value`)).rows.map((r) => r.value);
    expect(await listed('own-fetch')).toEqual(['45.95.146.7', '89.248.165.12', 'c2-panel-3.net'].sort());
    expect(await listed('hosts-feed')).toEqual(['login-paypa1.net', 'malware-drop-1.com']);
    // only URLs (the parser got the source's options), not the hosts the URLs name
    expect(await listed('pipe-feed')).toEqual(['http://evil-cdn-4.com/a.js', 'http://evil-cdn-4.com/b.js', 'http://login-paypa1.net/x.php', 'https://185.156.73.54/bot.exe']);
    const { rows } = await executeRaw<{ id: string; title: string; category: string; license: string | null; url: string | null; format: string; origin: string }>(
      t.app.em(),
      `select id, title, category, license, url, format, origin from bl_source order by id`,
    );
    expect(rows).toEqual([
      { id: 'guarded', title: 'guarded', category: 'scanner', license: null, url: null, format: 'custom', origin: 'feed' },
      { id: 'hosts-feed', title: 'hosts-feed', category: 'malware', license: null, url: feeds.url('/hosts.txt'), format: 'hosts', origin: 'feed' },
      // the URL's credentials are redacted where it is stored
      { id: 'own-fetch', title: 'Own fetch', category: 'c2', license: 'CC0', url: 'https://user:***@api.example/v1/c2', format: 'api-json', origin: 'feed' },
      { id: 'pipe-feed', title: 'Pipe feed', category: 'phishing', license: null, url: feeds.url('/pipe.txt'), format: 'pipe', origin: 'feed' },
    ]);
    // losing 15% of its listings: the section's maxRemovedRatio (0.4) would accept it, the source's own 0.1 refuses it
    bulk = ipRange(170);
    const second = await t.app.scheduler.trigger('blacklist');
    const guarded = (await t.app.scheduler.history({ parentId: second.id })).find((c) => c.jobId === 'blacklist/guarded');
    expect(guarded?.status).toBe('failed');
    expect(String(guarded?.error)).toMatch(/would remove 30 of its 200/);
    const runs = await executeRaw<{ status: string }>(t.app.em(), `select status from bl_source_run where source_id = 'guarded' order by id`);
    expect(runs.rows.map((r) => r.status)).toEqual(['succeeded', 'rejected']);
    expect((await listed('guarded')).length).toBe(200);
    // exports include the sources like any feed
    const out: string[] = [];
    await t.app.get(BlacklistToken).export({ format: 'plain', sources: ['own-fetch'] }, (c) => void out.push(c));
    expect(out.join('').split('\n').filter((l) => l && !l.startsWith('#')).sort()).toEqual(['45.95.146.7', '89.248.165.12', 'c2-panel-3.net'].sort());
  });
});
