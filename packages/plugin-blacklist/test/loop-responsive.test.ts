import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTip, executeRaw } from '@tip/core';
import { serveFeeds, startTestTip, testDialects, type FeedServer, type TestTip } from '@tip/core/testing';
import { pino } from 'pino';
import blacklist, { BlacklistToken, IndicatorSet } from '../src/index.js';

// Proves that ingestion yields to the event loop (no timing is asserted): a 5 ms ticker keeps
// ticking while a large feed is ingested, and a feed run leaves `running` rows while it runs.

let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds();
});
afterAll(() => feeds.close());

/** `n` distinct public IPv4 addresses, deterministic. */
function addresses(n: number, offset = 0): string[] {
  const out: string[] = [];
  for (let i = offset; i < offset + n; i++) out.push(`${11 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.7`);
  return out;
}

const feedConfig = (path: string) => ({ blacklist: { interval: '1h', feeds: [{ id: 'big', url: feeds.url(path), format: 'plain', category: 'scanner' }] } });

/** Counts the ticks of a 5 ms interval while `fn` runs. */
async function ticksDuring(fn: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => void ticks++, 5);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

describe('blacklist ingestion keeps the event loop turning on sqlite', () => {
  const N = 200_000;

  it('a 200k-entry feed ingested through the plugin lets a 5 ms ticker run many times', async () => {
    const body = `# big feed\n${addresses(N).join('\n')}\n`;
    feeds.set('/big.txt', body);
    await using t = await startTestTip({ database: 'sqlite', clock: 'system', plugins: [blacklist()], config: feedConfig('/big.txt'), start: { schedule: false } });
    let status = '';
    const ticks = await ticksDuring(async () => {
      status = (await t.app.scheduler.trigger('blacklist')).status;
    });
    expect(status).toBe('succeeded');
    const { rows } = await executeRaw<{ n: number }>(t.app.em(), `select count(*) as n from bl_listing where source_id = 'big' and removed_at is null`);
    expect(Number(rows[0]!.n)).toBe(N);
    // A run that never yielded would let the ticker fire at most once (after it); on a busy machine
    // timers coalesce, so only a low bar is robust.
    expect(ticks).toBeGreaterThan(3);

    // A 5% churn re-run, straight through the ingester (diff, close, add, snapshot delta).
    const next = new IndicatorSet();
    for (const v of addresses(N, N / 20)) next.add('ip', v);
    const ingester = t.app.get(BlacklistToken).ingester;
    let counts = { added: 0, removed: 0 };
    const churnTicks = await ticksDuring(async () => {
      counts = await ingester.snapshot({ sourceId: 'big', startedAt: Date.now(), now: Date.now() }, next, { maxInvalidRatio: 0.25, allowEmpty: false });
    });
    expect(counts).toMatchObject({ added: N / 20, removed: N / 20 });
    expect(churnTicks).toBeGreaterThan(1);
  });
});

describe.each(testDialects())('a running feed leaves a trace on %s', (dialect) => {
  it('the cycle and its feed child have `running` rows in tip_job_run while the feed is fetched', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    feeds.set('/slow.txt', (_req, res) => void released.then(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('45.95.146.7\n')));
    await using t: TestTip = await startTestTip({ database: dialect, clock: 'system', plugins: [blacklist()], config: feedConfig('/slow.txt'), start: { schedule: false } });
    // A second connection, as `tip status` (or an operator after kill -9) would read the table.
    const reader = await createTip({ logger: pino({ level: 'silent' }), config: { database: { url: t.database.url } } });
    await reader.start({ mode: 'read' });
    try {
      const run = t.app.scheduler.trigger('blacklist');
      const deadline = Date.now() + 20_000;
      let running: string[] = [];
      while (Date.now() < deadline) {
        const { rows } = await executeRaw<{ job_id: string }>(reader.em(), `select job_id from tip_job_run where status = 'running' order by job_id`);
        running = rows.map((r) => r.job_id);
        if (running.length >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(running).toEqual(['blacklist', 'blacklist/big']);
      release();
      expect((await run).status).toBe('succeeded');
      await t.app.scheduler.history(); // flushes
      const { rows } = await executeRaw<{ job_id: string; status: string }>(reader.em(), `select job_id, status from tip_job_run order by job_id`);
      expect(rows.map((r) => `${r.job_id}:${r.status}`)).toEqual(['blacklist:succeeded', 'blacklist/big:succeeded']);
    } finally {
      release();
      await reader.stop();
    }
  });
});
