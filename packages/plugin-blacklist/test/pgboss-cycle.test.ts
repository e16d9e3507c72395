import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeRaw } from '@tip/core';
import { serveFeeds, startTestTip, tempPostgres, testDialects, type FeedServer, type TestTip } from '@tip/core/testing';
import blacklist, { BlacklistToken } from '../src/index.js';

// The blacklist cycle on the pg-boss backend: two workers (two apps) share one PostgreSQL; the
// group's source children run on either, the cycle completes once, weights are computed once.
let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds();
});
afterAll(() => feeds.close());

describe.skipIf(!testDialects().includes('postgresql'))('blacklist cycle on the pg-boss backend (two workers)', () => {
  it('fans the feeds out over both workers and completes the cycle once', async () => {
    feeds.set('/ips.txt', ['45.95.146.7', '89.248.165.12', '185.156.73.0/24'].join('\n'));
    feeds.set('/hosts.txt', ['0.0.0.0 malware-drop-1.com', '0.0.0.0 login-paypa1.net'].join('\n'));
    feeds.set('/urls.csv.gz', gzipSync(['first_seen,url', '2024-01-01,http://login-paypa1.net/x.php'].join('\n')));
    const config = {
      scheduler: { backend: 'pg-boss', heartbeat: '1s', pgBoss: { pollInterval: '500ms', monitorInterval: '1s' } },
      blacklist: {
        interval: '1h',
        feeds: [
          { id: 'ips', url: feeds.url('/ips.txt'), format: 'plain', category: 'scanner' },
          { id: 'hosts', url: feeds.url('/hosts.txt'), format: 'hosts', category: 'malware' },
          { id: 'urls', url: feeds.url('/urls.csv.gz'), format: 'csv', options: { column: 'url' }, category: 'phishing' },
        ],
      },
    };
    const database = await tempPostgres();
    const apps: TestTip[] = [];
    try {
      for (let i = 0; i < 2; i++) apps.push(await startTestTip({ database, clock: 'system', plugins: [blacklist()], config, start: { schedule: false } }));
      const cycles: unknown[] = [];
      for (const t of apps) t.app.events.on('blacklist.cycle.completed', (e) => void cycles.push(e));
      const run = await apps[0]!.app.scheduler.trigger('blacklist');
      expect(run.status, run.error).toBe('succeeded');
      expect(run.counts).toEqual({ children: 3, succeeded: 3, failed: 0 });
      const children = await apps[0]!.app.scheduler.history({ parentId: run.id });
      expect(children.map((c) => [c.jobId, c.status]).sort()).toEqual([
        ['blacklist/hosts', 'succeeded'],
        ['blacklist/ips', 'succeeded'],
        ['blacklist/urls', 'succeeded'],
      ]);
      expect(new Set(children.map((c) => c.workerId)).size).toBeGreaterThanOrEqual(1);
      expect(cycles).toHaveLength(1);
      expect(cycles[0]).toMatchObject({ cycleId: run.id, sources: 3, succeeded: 3, failed: 0 });
      const listed = await executeRaw<{ n: string }>(apps[1]!.app.em(), 'select count(*) as n from bl_listing where removed_at is null');
      expect(Number(listed.rows[0]!.n)).toBeGreaterThanOrEqual(6);
      expect([...(await apps[1]!.app.get(BlacklistToken).weights()).keys()].sort()).toEqual(['hosts', 'ips', 'urls']);
    } finally {
      for (const t of apps) await t.close();
      await database.drop();
    }
  });
});
