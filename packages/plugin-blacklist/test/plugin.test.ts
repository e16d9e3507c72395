import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, defineSource, executeRaw, TipError, TipErrorCodes } from '@tip/core';
import { serveFeeds, startTestTip, tempDatabase, testDialects, type FeedAnswer, type FeedServer, type TestTip } from '@tip/core/testing';
import blacklist, { BlacklistErrors, BlacklistToken } from '../src/index.js';

// A local feed server whose answers each test sets per path.
let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds();
});
afterAll(() => feeds.close());

const IPS_V1 = ['# demo ip feed', '45.95.146.7', '89.248.165.12', '185.156.73.0/24', '10.1.2.3', 'garbage line', ''].join('\n');
const IPS_V2 = ['45.95.146.7', '193.163.125.7', '185.156.73.0/24', '10.1.2.3'].join('\n');
const HOSTS = ['0.0.0.0 malware-drop-1.com', '0.0.0.0 login-paypa1.net', '0.0.0.0 google.com', '127.0.0.1 localhost'].join('\n');
const CSV = ['first_seen,url,threat', '2024-01-01,http://login-paypa1.net/x.php,phishing', '2024-01-02,https://185.156.73.54/bot.exe,malware'].join('\n');

const config = () => ({
  blacklist: {
    interval: '1h',
    feeds: [
      { id: 'ips', url: feeds.url('/ips.txt'), format: 'plain', category: 'scanner' },
      { id: 'hosts', url: feeds.url('/hosts.txt'), format: 'hosts', category: 'malware' },
      { id: 'urls', url: feeds.url('/urls.csv.gz'), format: 'csv', options: { column: 'url' }, category: 'phishing' },
    ],
  },
});

async function open(dialect: 'sqlite' | 'postgresql', extra: Record<string, unknown> = {}): Promise<TestTip> {
  return startTestTip({ database: dialect, plugins: [blacklist()], config: { ...config(), ...extra }, start: { schedule: false } });
}

const listed = async (t: TestTip, source: string) =>
  (await executeRaw<{ value: string }>(t.app.em(), `select i.value from bl_listing l join bl_indicator i on i.id = l.indicator_id where l.source_id = '${source}' and l.removed_at is null order by i.value`)).rows.map((r) => r.value);
const lastRun = async (t: TestTip, source: string) =>
  (await executeRaw<Record<string, unknown>>(t.app.em(), `select * from bl_source_run where source_id = '${source}' order by id desc`)).rows[0]!;

describe.each(testDialects())('blacklist plugin on %s', (dialect) => {
  it('runs a cycle: one child per feed, diff ingestion, weights, cycle event, exports', async () => {
    feeds.set('/ips.txt', { body: IPS_V1, headers: { etag: '"ips-1"' } });
    feeds.set('/hosts.txt', HOSTS);
    feeds.set('/urls.csv.gz', gzipSync(CSV));
    await using t = await open(dialect);
    const cycles: unknown[] = [];
    t.app.events.on('blacklist.cycle.completed', (e) => void cycles.push(e));

    const run = await t.app.scheduler.trigger('blacklist');
    expect(run.status, JSON.stringify(await t.app.scheduler.history({ parentId: run.id }))).toBe('succeeded');
    const children = await t.app.scheduler.history({ parentId: run.id });
    expect(children.map((c) => c.jobId).sort()).toEqual(['blacklist/hosts', 'blacklist/ips', 'blacklist/urls']);
    expect(await listed(t, 'ips')).toEqual(['10.1.2.3', '185.156.73.0/24', '45.95.146.7', '89.248.165.12']);
    expect(await listed(t, 'hosts')).toEqual(['google.com', 'login-paypa1.net', 'malware-drop-1.com']);
    expect(await listed(t, 'urls')).toEqual(['185.156.73.54', 'http://login-paypa1.net/x.php', 'https://185.156.73.54/bot.exe', 'login-paypa1.net']);
    const ipsRun = await lastRun(t, 'ips');
    expect(ipsRun).toMatchObject({ status: 'succeeded', http_status: 200 });
    expect(Number(ipsRun.added)).toBe(4);
    expect(Number(ipsRun.invalid)).toBe(1);
    expect(JSON.stringify(ipsRun.invalid_samples)).toContain('garbage line');
    expect(cycles).toEqual([{ cycleId: run.id, sources: 3, succeeded: 3, failed: 0, added: 11, removed: 0 }]);
    const prom = await t.app.metrics.text();
    expect(prom).toContain('tip_blacklist_runs_total{source="ips",status="succeeded"} 1');
    expect(prom).toContain('tip_blacklist_source_listed{source="ips"} 4');
    expect(prom).toMatch(/tip_blacklist_source_weight\{source="hosts"\} 0\.\d+/);

    // weights were computed after the cycle; the private IP and google.com count as false positives
    const svc = t.app.get(BlacklistToken);
    const weights = await svc.weights();
    expect([...weights.keys()].sort()).toEqual(['hosts', 'ips', 'urls']);
    for (const w of weights.values()) expect(w).toBeGreaterThanOrEqual(0);
    const fpr = (await executeRaw<{ source_id: string; false_positive_rate: number }>(t.app.em(), 'select source_id, false_positive_rate from bl_source_metric order by source_id')).rows;
    expect(fpr.map((r) => [r.source_id, Number(r.false_positive_rate)])).toEqual([['hosts', 1 / 3], ['ips', 1 / 4], ['urls', 0]]);

    // second cycle: ips changed (1 added, 1 removed), the unchanged feed answers 304 for ips next time
    feeds.set('/ips.txt', { body: IPS_V2, headers: { etag: '"ips-2"' } });
    await t.clock!.advance(60_000);
    await t.app.scheduler.trigger('blacklist');
    expect(await listed(t, 'ips')).toEqual(['10.1.2.3', '185.156.73.0/24', '193.163.125.7', '45.95.146.7']);
    const removed = (await executeRaw<{ value: string; removed_at: number; last_seen: number }>(t.app.em(),
      `select i.value, l.removed_at, l.last_seen from bl_listing l join bl_indicator i on i.id = l.indicator_id where l.removed_at is not null`)).rows;
    expect(removed.map((r) => r.value)).toEqual(['89.248.165.12']);
    await t.app.scheduler.trigger('blacklist');
    expect(await lastRun(t, 'ips')).toMatchObject({ status: 'unchanged', http_status: 304 });

    // exports: allow-listed entries (10.1.2.3, google.com) are left out; the urls feed's IP host is kept
    const chunks: string[] = [];
    const res = await svc.export({ format: 'plain', types: ['ip', 'cidr'] }, (c) => void chunks.push(c));
    const values = chunks.join('').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(values.sort()).toEqual(['185.156.73.0/24', '185.156.73.54', '193.163.125.7', '45.95.146.7']);
    expect(res.count).toBe(4);
    const json: string[] = [];
    await svc.export({ format: 'json', categories: ['phishing'] }, (c) => void json.push(c));
    const doc = JSON.parse(json.join('')) as { indicators: Array<{ value: string; sources: string[]; score: number }> };
    const paypal = doc.indicators.find((i) => i.value === 'login-paypa1.net')!;
    expect(paypal.sources).toEqual(['hosts', 'urls']);
    expect(paypal.score).toBeGreaterThan(0);
    expect(paypal.score).toBeLessThanOrEqual(1);
    await expect(svc.export({ format: 'nope' }, () => undefined)).rejects.toMatchObject({ code: BlacklistErrors.EXPORT_FORMAT_UNKNOWN, details: { input: 'nope' } });
    await expect(svc.export({ format: 'plain', sources: ['ips', 'nope'] }, () => undefined)).rejects.toMatchObject({ code: BlacklistErrors.SOURCE_UNKNOWN, details: { input: ['nope'] } });
  });

  it('a feed that fails in any way keeps its previous listings and records why', async () => {
    feeds.set('/ips.txt', IPS_V1);
    feeds.set('/hosts.txt', HOSTS);
    feeds.set('/urls.csv.gz', gzipSync(CSV));
    await using t = await open(dialect, {
      http: { timeout: '1s', maxBytes: 4096 },
    });
    await t.app.scheduler.trigger('blacklist');
    const before = await listed(t, 'ips');
    expect(before).toHaveLength(4);
    const html = '<html>\n<body>\n<h1>Service unavailable</h1>\n<p>try later</p>\n</body>\n</html>\n';
    // [what, answer, error code, recorded HTTP status, recorded bytes]
    const failures: Array<[string, FeedAnswer, string, number | null, number | undefined]> = [
      ['HTTP 500', { status: 500, body: 'boom' }, 'TIP_HTTP_STATUS', 500, undefined],
      ['timeout', () => undefined, 'TIP_HTTP_TIMEOUT', null, 0],
      ['truncated', (_req, res) => { res.writeHead(200, { 'content-length': '1000' }); res.write('45.95.146.7\n'); setTimeout(() => res.destroy(), 20); }, 'TIP_HTTP_TRUNCATED', 200, 12],
      ['oversized', '45.95.146.7\n'.repeat(1000), 'TIP_HTTP_TOO_LARGE', 200, undefined],
      ['html error page', html, 'BL_FEED_REJECTED', 200, Buffer.byteLength(html)],
      ['empty list', '# nothing today\n', 'BL_FEED_REJECTED', 200, 16],
    ];
    for (const [what, answer, code, status, bytes] of failures) {
      feeds.set('/ips.txt', answer);
      const rec = await t.app.scheduler.trigger('blacklist');
      expect(rec.status, what).toBe('partial');
      expect(await listed(t, 'ips'), what).toEqual(before);
      const r = await lastRun(t, 'ips');
      expect(['failed', 'rejected'], what).toContain(r.status);
      expect(String(r.error), what).toMatch(new RegExp(code));
      expect(r.http_status, what).toBe(status);
      if (bytes !== undefined) expect(Number(r.bytes), what).toBe(bytes);
    }
  }, 60_000);

  it('other plugins submit indicators under their own source identity', async () => {
    feeds.set('/ips.txt', IPS_V1);
    feeds.set('/hosts.txt', HOSTS);
    feeds.set('/urls.csv.gz', gzipSync(CSV));
    const spamtrapLike = definePlugin({
      name: 'spamtrap-like',
      version: '1.0.0',
      core: '^0.2.0',
      dependsOn: ['@tip/plugin-blacklist'],
      register: () => undefined,
      async init(ctx) {
        await ctx.get(BlacklistToken).registerSource({ id: 'spamtrap-relays', title: 'Spamtrap relays', category: 'spam' });
      },
    });
    await using t = await startTestTip({ database: dialect, plugins: [blacklist(), spamtrapLike], config: config(), start: { schedule: false } });
    const svc = t.app.get(BlacklistToken);
    const counts = await svc.submit('spamtrap-relays', ['45.95.146.7', 'not an ip', { type: 'domain', value: 'relay-host-7.net' }]);
    expect(counts).toMatchObject({ added: 2, invalid: 1 });
    await t.app.events.emit('blacklist.indicators.submitted', { source: { id: 'flux', title: 'Fast-flux verdicts', category: 'botnet' }, add: ['flux-domain-1.com'] });
    expect(await listed(t, 'spamtrap-relays')).toEqual(['45.95.146.7', 'relay-host-7.net']);
    expect(await listed(t, 'flux')).toEqual(['flux-domain-1.com']);
    expect((await svc.sources()).map((s) => [s.id, s.origin])).toContainEqual(['flux', 'plugin']);
  });

  it('a third-party source without parse statistics records what core reported', async () => {
    const body = '45.95.146.7\nnot an indicator\nevil-domain-9.com\n';
    feeds.set('/third.txt', body);
    const third = definePlugin({
      name: 'third-party-source',
      version: '1.0.0',
      core: '^0.2.0',
      dependsOn: ['@tip/plugin-blacklist'],
      register(ctx) {
        ctx.sources.add(defineSource<string>({
          id: 'third',
          kind: 'blacklist',
          async *fetch(run) {
            const res = await run.http.request(feeds.url('/third.txt'));
            yield new TextDecoder().decode(res.body).split('\n').filter(Boolean);
          },
        }));
        ctx.sources.add(defineSource<string>({
          id: 'refuses',
          kind: 'blacklist',
          async *fetch() {
            yield* [];
            throw new TipError(TipErrorCodes.SOURCE_REJECTED, 'refused by its own checks');
          },
        }));
      },
    });
    await using t = await startTestTip({ database: dialect, plugins: [blacklist(), third], config: { blacklist: { maxInvalidRatio: 0.5 } }, start: { schedule: false } });
    const run = await t.app.scheduler.trigger('blacklist');
    expect(run.status).toBe('partial');
    // core's TIP_SOURCE_REJECTED from a third-party source counts as rejected, like BL_FEED_REJECTED
    expect(await lastRun(t, 'refuses')).toMatchObject({ status: 'rejected', http_status: null });
    expect(await listed(t, 'third')).toEqual(['45.95.146.7', 'evil-domain-9.com']);
    const r = await lastRun(t, 'third');
    expect(r).toMatchObject({ status: 'succeeded', http_status: 200, invalid_samples: null });
    expect(Number(r.bytes)).toBe(Buffer.byteLength(body));
    expect(Number(r.invalid)).toBe(1);
  });

  it('a feed removed from the configuration is disabled at the next cycle, keeping its metadata and history', async () => {
    feeds.set('/ips.txt', IPS_V1);
    feeds.set('/hosts.txt', HOSTS);
    feeds.set('/urls.csv.gz', gzipSync(CSV));
    const database = await tempDatabase(dialect);
    try {
      const first = await startTestTip({ database, plugins: [blacklist()], config: config(), start: { schedule: false } });
      await first.app.scheduler.trigger('blacklist');
      await first.close();
      const fewer = { blacklist: { feeds: config().blacklist.feeds.filter((f) => f.id !== 'hosts') } };
      await using second = await startTestTip({ database, plugins: [blacklist()], config: fewer, start: { schedule: false } });
      await second.app.scheduler.trigger('blacklist');
      const hosts = (await second.app.get(BlacklistToken).sources()).find((x) => x.id === 'hosts')!;
      expect(hosts).toMatchObject({ enabled: false, listed: 3 });
      const row = (await executeRaw<{ url: string; format: string }>(second.app.em(), `select url, format from bl_source where id = 'hosts'`)).rows[0]!;
      expect(row).toEqual({ url: feeds.url('/hosts.txt'), format: 'hosts' });
    } finally {
      await database.drop();
    }
  });
});
