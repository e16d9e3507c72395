import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFeeds, startTestTip, testDialects, type FeedServer } from '@tip/core/testing';
import blacklist, { BlacklistToken } from '../src/index.js';

// 400 addresses; a "truncated" answer carries the first half of them.
const all = Array.from({ length: 400 }, (_, i) => `198.51.${Math.floor(i / 200)}.${(i % 200) + 1}`);
let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds();
});
afterAll(() => feeds.close());
const serve = (body: string) => feeds.set('/list.txt', body);

const feedConfig = (extra: Record<string, unknown> = {}) => ({ blacklist: { feeds: [{ id: 'half', url: feeds.url('/list.txt'), format: 'plain', category: 'scanner', ...extra }] } });

describe.each(testDialects())('shrink guard on %s', (dialect) => {
  it('rejects a run that would remove more than maxRemovedRatio of the listings, keeping them', async () => {
    serve(all.join('\n'));
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], config: feedConfig(), start: { schedule: false } });
    await t.app.scheduler.trigger('blacklist');
    serve(all.slice(0, 200).join('\n')); // cut in half: 50% would go
    const run = await t.app.scheduler.trigger('blacklist');
    const [child] = await t.app.scheduler.history({ parentId: run.id });
    expect(child).toMatchObject({ status: 'failed', error: expect.stringContaining('BL_FEED_REJECTED') });
    expect(child?.error).toContain('would remove 200 of its 400 listings');
    const sources = await t.app.get(BlacklistToken).sources();
    expect(sources.find((s) => s.id === 'half')?.listed).toBe(400);
    // A normal change (10% removed) goes through.
    serve(all.slice(0, 360).join('\n'));
    const next = await t.app.scheduler.trigger('blacklist');
    const [ok] = await t.app.scheduler.history({ parentId: next.id });
    expect(ok).toMatchObject({ status: 'succeeded', counts: expect.objectContaining({ removed: 40 }) });
  });

  it('a feed may allow more shrinking', async () => {
    serve(all.join('\n'));
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], config: feedConfig({ maxRemovedRatio: 0.9 }), start: { schedule: false } });
    await t.app.scheduler.trigger('blacklist');
    serve(all.slice(0, 200).join('\n'));
    const run = await t.app.scheduler.trigger('blacklist');
    const [child] = await t.app.scheduler.history({ parentId: run.id });
    expect(child).toMatchObject({ status: 'succeeded', counts: expect.objectContaining({ removed: 200 }) });
  });
});
