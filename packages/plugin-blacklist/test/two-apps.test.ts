import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeRaw } from '@tip/core';
import { serveFeeds, startTestTip, testDialects, type FeedServer, type TestTip } from '@tip/core/testing';
import blacklist, { BlacklistToken } from '../src/index.js';
import { parseFeed, ParserRegistry } from '../src/parsers/index.js';

// One plugin object, two apps in one process: each app's feeds, rows and service stay its own.
const FIXTURES = new URL('./fixtures/feeds/', import.meta.url);
const feeds = { '/a.txt': readFileSync(new URL('hosts.txt', FIXTURES)), '/b.txt': readFileSync(new URL('drop.txt', FIXTURES)) };
let server: FeedServer;

beforeAll(async () => {
  server = await serveFeeds(feeds);
});
afterAll(() => server.close());

const expected = (file: keyof typeof feeds, format: string) =>
  parseFeed(ParserRegistry.withDefaults(), format, feeds[file]).indicators.map((i) => i.value).sort();
const listed = async (t: TestTip) =>
  (await executeRaw<{ source_id: string; value: string }>(t.app.em(), 'select l.source_id, i.value from bl_listing l join bl_indicator i on i.id = l.indicator_id where l.removed_at is null'))
    .rows;
const sources = async (t: TestTip) => (await executeRaw<{ id: string }>(t.app.em(), 'select id from bl_source order by id')).rows.map((r) => r.id);

describe.each(testDialects())('one blacklist plugin object in two apps on %s', (dialect) => {
  it('keeps each app in its own database', async () => {
    const plugin = blacklist();
    const app = (id: string, file: string, format: string) =>
      startTestTip({ database: dialect, plugins: [plugin], config: { blacklist: { maxInvalidRatio: 0.5, feeds: [{ id, url: server.url(file), format, category: 'malware' }] } }, start: { schedule: false } });
    await using first = await app('feed-a', '/a.txt', 'hosts');
    await using second = await app('feed-b', '/b.txt', 'drop');

    // the first app runs after the second was initialised: it must still use its own service and sources
    const runA = await first.app.scheduler.trigger('blacklist');
    expect(runA.status, JSON.stringify(await first.app.scheduler.history({ parentId: runA.id }))).toBe('succeeded');
    const runB = await second.app.scheduler.trigger('blacklist');
    expect(runB.status, JSON.stringify(await second.app.scheduler.history({ parentId: runB.id }))).toBe('succeeded');

    const a = await listed(first);
    const b = await listed(second);
    expect(new Set(a.map((r) => r.source_id))).toEqual(new Set(['feed-a']));
    expect(new Set(b.map((r) => r.source_id))).toEqual(new Set(['feed-b']));
    expect(a.map((r) => r.value).sort()).toEqual(expected('/a.txt', 'hosts'));
    expect(b.map((r) => r.value).sort()).toEqual(expected('/b.txt', 'drop'));
    expect(await sources(first)).toEqual(['feed-a']);
    expect(await sources(second)).toEqual(['feed-b']);
    expect((await first.app.get(BlacklistToken).sources()).map((s) => s.id)).toEqual(['feed-a']);
    expect((await second.app.get(BlacklistToken).sources()).map((s) => s.id)).toEqual(['feed-b']);
    expect(first.app.get(BlacklistToken)).not.toBe(second.app.get(BlacklistToken));
  });
});
