import { describe, expect, it } from 'vitest';
import { startTestTip, testDialects } from '@tip/core/testing';
import blacklist, { BlacklistToken, type Indicator } from '../src/index.js';
import { computeAndStoreWeights, loadListings } from '../src/service/weights.js';
import { computeSourceMetrics } from '../src/weighting/index.js';

const DAY = 86_400_000;
const ip = (v: string): Indicator => ({ type: 'ip', value: v });
const policy = { maxInvalidRatio: 0.25, allowEmpty: false };

// Three sources ingested through the database at chosen times; every expected value is computed
// by hand below (window 30 d, now = day 2, containment overlap — no CIDRs, so it equals exact):
//   A: day 0 {1,2,3,4}, day 1 {1,2,3} (4 removed)        runs: ok, ok
//   B: day 0 {1,2,10.0.0.1}, day 1 fetch failed           runs: ok, failed
//   C: day 1 {1, evil-domain-7.com}                        runs: ok
describe.each(testDialects())('source weights from the database on %s', (dialect) => {
  it('match hand-computed metrics on a 3-source fixture', async () => {
    await using t = await startTestTip({
      database: dialect,
      plugins: [blacklist()],
      config: { blacklist: { weighting: { window: '30d', overlap: 'containment' } } },
      start: { schedule: false },
    });
    const svc = t.app.get(BlacklistToken);
    const ing = svc.ingester;
    const t0 = t.clock!.now();
    for (const id of ['A', 'B', 'C']) await ing.upsertSource({ id, title: id, format: 'plain', category: 'spam', origin: 'feed', enabled: true }, t0);
    const snap = async (id: string, day: number, values: Indicator[]) => {
      const now = t0 + day * DAY;
      const counts = await ing.snapshot({ sourceId: id, startedAt: now, now }, values, policy);
      await ing.recordRun({ sourceId: id, startedAt: now, now }, 'succeeded', counts);
    };
    const [i1, i2, i3, i4] = ['45.95.146.1', '45.95.146.2', '45.95.146.3', '45.95.146.4'].map(ip) as [Indicator, Indicator, Indicator, Indicator];
    await snap('A', 0, [i1, i2, i3, i4]);
    await snap('B', 0, [i1, i2, ip('10.0.0.1')]);
    await snap('A', 1, [i1, i2, i3]);
    await ing.recordRun({ sourceId: 'B', startedAt: t0 + DAY, now: t0 + DAY }, 'failed', {}, new Error('HTTP 500'));
    await snap('C', 1, [i1, { type: 'domain', value: 'evil-domain-7.com' }]);
    await t.clock!.advanceTo(t0 + 2 * DAY);

    const metrics = Object.fromEntries((await svc.computeWeights()).map((m) => [m.source, m]));
    // volume: indicators listed at any time in the window
    expect([metrics.A!.volume, metrics.B!.volume, metrics.C!.volume]).toEqual([4, 3, 2]);
    // overlap |A∩B| = {1,2}, |A∩C| = {1}, |B∩C| = {1}
    expect(metrics.A!.overlap).toMatchObject({ B: 2, C: 1 });
    expect(metrics.B!.overlap).toMatchObject({ A: 2, C: 1 });
    // differential |A∖B|/|A| = 2/4, |A∖C|/|A| = 3/4; |C∖A|/|C| = 1/2
    expect(metrics.A!.differential).toMatchObject({ B: 0.5, C: 0.75 });
    expect(metrics.C!.differential).toMatchObject({ A: 0.5, B: 0.5 });
    // exclusive: A {3,4}/4, B {10.0.0.1}/3, C {domain}/2
    expect(metrics.A!.exclusive).toBe(0.5);
    expect(metrics.B!.exclusive).toBeCloseTo(1 / 3, 10);
    expect(metrics.C!.exclusive).toBe(0.5);
    // false positives: 10.0.0.1 is private (RFC 1918)
    expect([metrics.A!.falsePositiveRate, metrics.B!.falsePositiveRate, metrics.C!.falsePositiveRate]).toEqual([0, 1 / 3, 0]);
    // availability: A 2/2, B 1/2, C 1/1; freshness: now − last ok run
    expect([metrics.A!.availability, metrics.B!.availability, metrics.C!.availability]).toEqual([1, 0.5, 1]);
    expect([metrics.A!.freshnessMs, metrics.B!.freshnessMs, metrics.C!.freshnessMs]).toEqual([DAY, 2 * DAY, DAY]);
    // latency: C listed indicator 1 one day after A and B did; A and B were first
    expect(metrics.C!.latencyMedianMs).toBe(DAY);
    expect(metrics.A!.latencyMedianMs).toBe(0);
    // persistence: A's lifetimes 2d, 2d, 2d, 1d (4 removed at day 1) → median 2d
    expect(metrics.A!.persistenceMedianMs).toBe(2 * DAY);
    // churn: A added 4 + removed 1 over volume 4
    expect(metrics.A!.churn).toBe(1.25);
    for (const m of Object.values(metrics)) expect(m.weight).toBeGreaterThan(0);
    // B (a false positive, a failed run) weighs less than A
    expect(metrics.B!.weight).toBeLessThan(metrics.A!.weight);
    // history: the metrics were stored, and weights() returns the latest
    expect(await svc.weights()).toEqual(new Map(Object.values(metrics).map((m) => [m.source, m.weight])));
  });
});

describe.each(testDialects())('paged listing load for the weights on %s', (dialect) => {
  it('gives the same metrics whatever the page size', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], start: { schedule: false } });
    const ing = t.app.get(BlacklistToken).ingester;
    const t0 = t.clock!.now();
    for (const id of ['A', 'B']) await ing.upsertSource({ id, title: id, format: 'plain', category: 'spam', origin: 'feed', enabled: true }, t0);
    const ips = (from: number, n: number) => Array.from({ length: n }, (_, i) => ip(`45.95.146.${from + i}`));
    await ing.snapshot({ sourceId: 'A', startedAt: t0, now: t0 }, ips(1, 9), policy);
    await ing.snapshot({ sourceId: 'B', startedAt: t0, now: t0 }, ips(5, 9), policy);
    await ing.snapshot({ sourceId: 'A', startedAt: t0 + DAY, now: t0 + DAY }, ips(3, 9), policy);
    const run = (pageSize?: number) => computeAndStoreWeights(t.app.db, { now: t0 + 2 * DAY, windowMs: 30 * DAY, overlap: 'containment', store: false, pageSize });
    const all = await run();
    expect(all.map((m) => m.volume)).toEqual([11, 9]);
    for (const size of [1, 2, 3, 7, 22, 23]) expect(await run(size)).toEqual(all);
    const listings = await loadListings(t.app.db, t0, 4);
    expect(listings).toHaveLength(20); // A: 9 rows, then 2 closed and 2 new ones; B: 9 rows
    // The service's async computation agrees with the sync one on the same rows.
    expect(computeSourceMetrics({ now: t0 + 2 * DAY, windowMs: 30 * DAY, sources: ['A', 'B'], listings, runs: [], overlapMode: 'containment' })).toEqual(all);
  });
});
