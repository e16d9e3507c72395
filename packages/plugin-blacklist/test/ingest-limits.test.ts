import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTip, definePlugin, executeRaw, isTipError, TipErrorCodes } from '@tip/core';
import { serveFeeds, startTestTip, tempDatabase, tempSqlite, testDialects, type FeedServer, type TestTip } from '@tip/core/testing';
import { blacklistEntities } from '../src/db/entities.js';
import { blacklistMigrations } from '../src/db/migrations.js';
import { IndicatorSet } from '../src/ingest/IndicatorSet.js';
import { Ingester } from '../src/ingest/Ingester.js';
import blacklist, { BlacklistToken } from '../src/index.js';

// Ingest limits end to end: the line cap, identical bodies answered with 200, failed fetches'
// HTTP facts, and a correctly framed body cut in half. Feeds come from a local server.

let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds();
});
afterAll(() => feeds.close());

const addresses = (n: number, third = 0) => Array.from({ length: n }, (_, i) => `198.51.${third + Math.floor(i / 250)}.${(i % 250) + 1}`);
const scalar = async (t: TestTip, sql: string) => Number(Object.values((await executeRaw<Record<string, unknown>>(t.app.em(), sql)).rows[0]!)[0]);
const lastRun = async (t: TestTip, source: string) =>
  (await executeRaw<Record<string, unknown>>(t.app.em(), `select * from bl_source_run where source_id = '${source}' order by id desc`)).rows[0]!;
const listedCount = (t: TestTip, source: string) => scalar(t, `select count(*) as n from bl_listing where source_id = '${source}' and removed_at is null`);
const feed = (id: string, extra: Record<string, unknown> = {}) => ({ id, url: feeds.url(`/${id}`), format: 'plain', category: 'scanner', ...extra });
const start = (dialect: 'sqlite' | 'postgresql', blacklistConfig: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  startTestTip({ database: dialect, plugins: [blacklist()], config: { blacklist: blacklistConfig, ...extra }, start: { schedule: false } });

describe.each(testDialects())('ingest limits on %s', (dialect) => {
  it('maxLines rejects a longer feed while parsing (section default and per-feed override), keeping the listings', async () => {
    feeds.set('/capped', addresses(40).join('\n'));
    feeds.set('/roomy', addresses(40).join('\n'));
    await using t = await start(dialect, { maxLines: 50, feeds: [feed('capped'), feed('roomy', { maxLines: 1000 })] });
    await t.app.scheduler.trigger('blacklist');
    expect(await listedCount(t, 'capped')).toBe(40);

    // 60 lines, half of them comments: the cap counts lines, not indicators
    const longer = [...addresses(30), ...Array.from({ length: 30 }, (_, i) => `# note ${i}`)].join('\n');
    feeds.set('/capped', longer);
    feeds.set('/roomy', longer);
    await t.clock!.advance(60_000);
    const run = await t.app.scheduler.trigger('blacklist');
    expect(run.status).toBe('partial');
    expect(await listedCount(t, 'capped')).toBe(40);
    const r = await lastRun(t, 'capped');
    expect(r.status).toBe('rejected');
    expect(String(r.error)).toContain('BL_FEED_REJECTED');
    expect(String(r.error)).toContain('feed "capped" has more than 50 lines (maxLines)');
    expect(r.http_status).toBe(200);
    expect(Number(r.bytes)).toBe(Buffer.byteLength(longer));
    // the feed with its own, larger cap went through (10 of its 40 addresses removed)
    expect(await lastRun(t, 'roomy')).toMatchObject({ status: 'succeeded' });
    expect(await listedCount(t, 'roomy')).toBe(30);
    const prom = await t.app.metrics.text();
    expect(prom).toContain('tip_blacklist_runs_rejected_total{source="capped",reason="line-cap"} 1');
    expect(prom).toContain('tip_blacklist_runs_total{source="capped",status="rejected"} 1');
  });

  it('an identical body answered with 200 is recorded unchanged without parsing or writing; other parse options are new data', async () => {
    const body = gzipSync([...addresses(120), 'evil.example.com'].join('\n'));
    feeds.set('/same', body);
    const database = await tempDatabase(dialect);
    try {
      {
        await using t = await startTestTip({ database, plugins: [blacklist()], config: { blacklist: { feeds: [feed('same')] } }, start: { schedule: false } });
        await t.app.scheduler.trigger('blacklist');
        expect(await lastRun(t, 'same')).toMatchObject({ status: 'succeeded', http_status: 200 });
        const listings = await scalar(t, 'select count(*) as n from bl_listing');
        expect(listings).toBe(121);
        const snapshotAt = await scalar(t, 'select updated_at from bl_snapshot');
        await t.clock!.advance(60_000);
        const run = await t.app.scheduler.trigger('blacklist');
        const [child] = await t.app.scheduler.history({ parentId: run.id });
        expect(child).toMatchObject({ status: 'succeeded', counts: { notModified: 1 } });
        const r = await lastRun(t, 'same');
        expect(r).toMatchObject({ status: 'unchanged', http_status: 200 });
        expect(Number(r.bytes)).toBe(body.length);
        expect(Number(r.added) + Number(r.removed) + Number(r.invalid)).toBe(0);
        expect(await scalar(t, 'select count(*) as n from bl_listing')).toBe(listings);
        expect(await scalar(t, 'select updated_at from bl_snapshot')).toBe(snapshotAt);
        expect((await t.app.get(BlacklistToken).sources()).find((s) => s.id === 'same')?.lastSuccessAt).toBe(t.clock!.now());
        expect(await t.app.metrics.text()).toContain('tip_blacklist_runs_total{source="same",status="unchanged"} 1');
      }
      // Same body, but the feed now keeps only domains: parsed again (the hash covers the options).
      await using t2 = await startTestTip({ database, plugins: [blacklist()], config: { blacklist: { maxInvalidRatio: 1, maxRemovedRatio: 1, feeds: [feed('same', { types: ['domain'] })] } }, start: { schedule: false } });
      await t2.app.scheduler.trigger('blacklist');
      expect(await lastRun(t2, 'same')).toMatchObject({ status: 'succeeded' });
      expect(await listedCount(t2, 'same')).toBe(1);
    } finally {
      await database.drop();
    }
  });

  it('the ingester refuses a snapshot whose content hash is the stored one (a concurrent run got there first)', async () => {
    const schemaOnly = definePlugin({
      name: 'bl-schema', version: '0.0.0', core: '^0.2.0',
      register(ctx) { ctx.entities(...blacklistEntities); ctx.migrations(...blacklistMigrations); },
    });
    await using t = await startTestTip({ database: dialect, plugins: [schemaOnly] });
    const ing = new Ingester(t.app.db, t.app.log);
    await ing.upsertSource({ id: 'a', title: 'A', format: 'plain', category: 'spam', origin: 'feed', enabled: true }, 1);
    const set = () => {
      const s = new IndicatorSet();
      for (const v of addresses(10)) s.add('ip', v);
      return s;
    };
    const policy = { maxInvalidRatio: 0.25, allowEmpty: false };
    const report = { contentHash: 'h1' };
    expect(await ing.snapshot({ sourceId: 'a', startedAt: 1, now: 1000, report }, set(), policy)).toMatchObject({ added: 10 });
    expect(await ing.contentHash('a')).toBe('h1');
    await expect(ing.snapshot({ sourceId: 'a', startedAt: 2, now: 2000, report }, set(), policy)).rejects.toMatchObject({
      code: TipErrorCodes.HTTP_NOT_MODIFIED,
      details: { source: 'a', sameContent: true },
    });
    expect(await scalar(t, 'select updated_at from bl_snapshot')).toBe(1000);
    expect(await ing.contentHash('nope')).toBeUndefined();
  });

  it('a correctly framed gzip body cut in half is refused by the shrink guard; an oversized stream records status and bytes', async () => {
    const all = addresses(2000);
    feeds.set('/half', gzipSync(all.join('\n')));
    feeds.set('/big', all.join('\n'));
    await using t = await start(dialect, { feeds: [feed('half'), feed('big', { maxBytes: 20_000 })] }, {});
    await t.app.scheduler.trigger('blacklist');
    expect(await listedCount(t, 'half')).toBe(2000);
    expect(await lastRun(t, 'big')).toMatchObject({ status: 'failed', http_status: 200 });
    // a streamed (chunked) body over the limit: the status and what arrived are recorded
    feeds.set('/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 10; i++) res.write(`${all.slice(i * 200, (i + 1) * 200).join('\n')}\n`);
      res.end();
    });
    feeds.set('/half', gzipSync(all.slice(0, 1000).join('\n')));
    await t.clock!.advance(60_000);
    await t.app.scheduler.trigger('blacklist');
    const half = await lastRun(t, 'half');
    expect(half).toMatchObject({ status: 'rejected', http_status: 200 });
    expect(String(half.error)).toContain('would remove 1000 of its 2000 listings');
    expect(await listedCount(t, 'half')).toBe(2000);
    const big = await lastRun(t, 'big');
    expect(big).toMatchObject({ status: 'failed', http_status: 200 });
    expect(String(big.error)).toContain('TIP_HTTP_TOO_LARGE');
    expect(Number(big.bytes)).toBeGreaterThan(20_000);
    expect(await t.app.metrics.text()).toContain('tip_blacklist_runs_rejected_total{source="half",reason="shrink"} 1');
  });
});

describe('maxLines configuration', () => {
  it('refuses a bad cap naming the option, in the section and in a feed', async () => {
    for (const [section, path] of [
      [{ maxLines: 0 }, 'blacklist.maxLines'],
      [{ maxLines: 1.5 }, 'blacklist.maxLines'],
      [{ maxLines: 'many' }, 'blacklist.maxLines'],
      [{ feeds: [{ id: 'f', url: 'http://127.0.0.1:9/x', format: 'plain', category: 'spam', maxLines: -1 }] }, 'blacklist.feeds[0].maxLines'],
    ] as const) {
      const db = tempSqlite();
      try {
        const app = await createTip({ config: { database: { url: db.url }, log: { level: 'silent' }, blacklist: section }, plugins: [blacklist()] });
        const err = await app.start().then(async () => void (await app.stop()), (e: unknown) => e);
        expect(isTipError(err, TipErrorCodes.CONFIG_INVALID), String(err)).toBe(true);
        expect((err as Error).message).toContain(path);
      } finally {
        await db.drop();
      }
    }
  });
});
