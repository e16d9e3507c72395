import { describe, expect, it } from 'vitest';
import { executeRaw } from '@tip/core';
import { startTestTip, testDialects } from '@tip/core/testing';
import blacklist, { BlacklistToken, type Indicator } from '../src/index.js';
import { weightsStep, type WeightRunOptions } from '../src/service/weights.js';
import { fastMedian } from '../src/weighting/metricsSteps.js';
import { ListingCache } from '../src/weighting/listingCache.js';

const DAY = 86_400_000;
const policy = { maxInvalidRatio: 0.25, allowEmpty: true, maxRemovedRatio: 1 };

// A pool mixing IPv4 addresses (some allow-listed: 10/8, 192.168/16), CIDRs nesting them, IPv6
// addresses and blocks, and domains; each cycle every source lists a pseudo-random part of it, so
// indicators are added, removed and listed again across cycles.
const POOL: Indicator[] = [
  ...Array.from({ length: 60 }, (_, i): Indicator => ({ type: 'ip', value: `45.95.${i % 4}.${i}` })),
  ...Array.from({ length: 6 }, (_, i): Indicator => ({ type: 'ip', value: `10.0.0.${i + 1}` })),
  ...Array.from({ length: 8 }, (_, i): Indicator => ({ type: 'cidr', value: `45.95.${i % 4}.${(i >> 2) * 32}/27` })),
  { type: 'cidr', value: '192.168.0.0/24' },
  { type: 'cidr', value: '45.95.0.0/22' },
  ...Array.from({ length: 8 }, (_, i): Indicator => ({ type: 'ip', value: `2001:db8::${i + 1}` })),
  { type: 'cidr', value: '2001:db8::/120' },
  ...Array.from({ length: 12 }, (_, i): Indicator => ({ type: 'domain', value: `bad-${i}.example.net` })),
];

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Same numbers, with the volatile run-derived terms and the order of keys irrelevant. */
function normalise(ms: Awaited<ReturnType<typeof weightsStep>>['metrics']): unknown {
  return [...ms].sort((a, b) => (a.source < b.source ? -1 : 1)).map((m) => JSON.parse(JSON.stringify(m, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v))));
}

describe.each(testDialects())('incremental weights step on %s', (dialect) => {
  it('equals a full recomputation after every cycle (adds, removes, re-listings, a disabled source, window expiry, concurrent writers)', async () => {
    await using t = await startTestTip({
      database: dialect,
      plugins: [blacklist()],
      config: { blacklist: { interval: '1d', weighting: { window: '3d', overlap: 'containment' } } },
      start: { schedule: false },
    });
    const svc = t.app.get(BlacklistToken);
    const ing = svc.ingester;
    const db = t.app.db;
    const clock = t.clock!;
    const t0 = clock.now();
    const ids = ['A', 'B', 'C', 'D'];
    const upsert = (id: string, enabled: boolean) => ing.upsertSource({ id, title: id, format: 'plain', category: 'spam', origin: 'feed', enabled }, clock.now());
    for (const id of ids) await upsert(id, true);
    const options = (): WeightRunOptions => ({ now: clock.now(), windowMs: 3 * DAY, overlap: 'containment', allowlist: svc.allowlist, intervalMs: DAY });
    const own = new ListingCache();
    const random = rng(42);
    const loads: string[] = [];
    for (let k = 0; k < 10; k++) {
      await clock.advanceTo(t0 + k * DAY + 1000);
      if (k === 3) await upsert('C', false); // disabled: its listings no longer count
      if (k === 6) await upsert('C', true); // enabled again
      for (const id of ids) {
        if (id === 'D' && k >= 5) continue; // D stops: its listings age out of the 3-day window
        const share = id === 'A' ? 0.6 : 0.35;
        const now = clock.now();
        const set = POOL.filter(() => random() < share);
        const counts = await ing.snapshot({ sourceId: id, startedAt: now, now }, set, policy);
        await ing.recordRun({ sourceId: id, startedAt: now, now }, 'succeeded', counts);
      }
      if (k === 7) {
        // a writer that was still running during the last step: a row with an id the step already
        // skipped (the one below the highest it saw), committed only now
        const max = Number((await executeRaw<{ m: number | string }>(db.em(), 'select max(id) as m from bl_listing')).rows[0]!.m);
        const ind = Number((await executeRaw<{ id: number | string }>(db.em(), `select id from bl_indicator where value = '45.95.1.1'`)).rows[0]!.id);
        const ph = (n: number) => (dialect === 'sqlite' ? '?' : `$${n}`);
        const insert = (id: number) => executeRaw(db.em(), `insert into bl_listing (id, source_id, indicator_id, first_seen, last_seen) values (${ph(1)}, 'B', ${ph(2)}, ${ph(3)}, ${ph(4)})`, [id, ind, clock.now(), clock.now()]);
        await executeRaw(db.em(), `update bl_listing set removed_at = ${ph(1)} where source_id = 'B' and indicator_id = ${ph(2)} and removed_at is null`, [clock.now(), ind]);
        await insert(max + 2);
        if (dialect === 'postgresql') await executeRaw(db.em(), `select setval(pg_get_serial_sequence('bl_listing', 'id'), ${max + 2})::text as v`);
        const mid = await weightsStep(db, { ...options(), cache: own, store: false });
        const full = await weightsStep(db, { ...options(), incremental: false, store: false });
        expect(mid.load).toBe('delta');
        expect(normalise(mid.metrics)).toEqual(normalise(full.metrics));
        // the late row arrives (its id is below what the last step read up to), closed at once
        await executeRaw(db.em(), `update bl_listing set removed_at = ${ph(1)} where id = ${ph(2)}`, [clock.now(), max + 2]);
        await insert(max + 1);
      }
      if (k === 8) {
        // a closure committed late, with a time before the last step's read: must not be missed
        const ph = (n: number) => (dialect === 'sqlite' ? '?' : `$${n}`);
        await executeRaw(db.em(), `update bl_listing set removed_at = ${ph(1)} where id = (select min(id) from bl_listing where source_id = 'A' and removed_at is null)`, [t0 + 7 * DAY]);
      }
      const inc = await weightsStep(db, { ...options(), cache: own, store: false });
      const full = await weightsStep(db, { ...options(), incremental: false, store: false });
      expect(full.load).toBe('full');
      loads.push(inc.load);
      expect(normalise(inc.metrics), `cycle ${k}`).toEqual(normalise(full.metrics));
      // the service's own (per-app) cache, storing, reusing when nothing changed
      const viaService = await svc.computeWeights();
      expect(normalise(viaService), `service, cycle ${k}`).toEqual(normalise(full.metrics));
      // a restarted app (a cold cache) gets the same
      if (k % 3 === 2) {
        const cold = await weightsStep(db, { ...options(), cache: new ListingCache(), store: false });
        expect(cold.load).toBe('full');
        expect(normalise(cold.metrics)).toEqual(normalise(full.metrics));
      }
      expect(own.rows).toBeGreaterThan(0);
    }
    // every step after the first read only a delta, except the one after the late closure (reloaded)
    expect(loads).toEqual(['full', 'delta', 'delta', 'delta', 'delta', 'delta', 'delta', 'delta', 'full', 'delta']);
    // the cache drops listings closed before the window: fewer rows than the table holds
    const total = Number((await executeRaw<{ n: number | string }>(db.em(), 'select count(*) as n from bl_listing')).rows[0]!.n);
    expect(own.rows).toBeLessThan(total);
    // 57 bytes per row of the columns, up to a quarter spare (+16), and 64 per IPv6 range or missing id
    expect(own.bytes).toBeLessThanOrEqual(57 * Math.ceil(own.rows * 1.25 + 16) + 64 * 32);
  });

  it('runs concurrent steps of one app one at a time (each equal to a full recomputation)', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], start: { schedule: false } });
    const svc = t.app.get(BlacklistToken);
    const clock = t.clock!;
    const t0 = clock.now();
    for (const id of ['A', 'B']) await svc.ingester.upsertSource({ id, title: id, format: 'plain', category: 'spam', origin: 'feed', enabled: true }, t0);
    const cache = new ListingCache();
    const random = rng(3);
    for (let k = 0; k < 4; k++) {
      await clock.advanceTo(t0 + k * 3_600_000 + 1);
      const now = clock.now();
      for (const id of ['A', 'B']) await svc.ingester.snapshot({ sourceId: id, startedAt: now, now }, POOL.filter(() => random() < 0.5), policy);
      const o: WeightRunOptions = { now, windowMs: DAY, overlap: 'containment', allowlist: svc.allowlist, store: false };
      const full = async () => normalise((await weightsStep(t.app.db, { ...o, incremental: false })).metrics);
      // two steps on one cache at once (a cycle and an API call): both right
      const before = await full();
      const [x, y] = await Promise.all([weightsStep(t.app.db, { ...o, cache }), weightsStep(t.app.db, { ...o, cache })]);
      expect(normalise(x.metrics)).toEqual(before);
      expect(normalise(y.metrics)).toEqual(before);
      // a step racing an ingest and a step after it: the first sees the ingest or not, the second does
      const [w, z] = await Promise.all([
        weightsStep(t.app.db, { ...o, cache }),
        svc.ingester.snapshot({ sourceId: 'B', startedAt: now, now }, POOL.slice(0, 5 + k), policy).then(() => weightsStep(t.app.db, { ...o, cache })),
      ]);
      const after = await full();
      expect([before, after]).toContainEqual(normalise(w.metrics));
      expect(normalise(z.metrics)).toEqual(after);
    }
  });

  it('reloads in full when the allow-list, the window or the database changes', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], start: { schedule: false } });
    const svc = t.app.get(BlacklistToken);
    const now = t.clock!.now();
    await svc.ingester.upsertSource({ id: 'A', title: 'A', format: 'plain', category: 'spam', origin: 'feed', enabled: true }, now);
    await svc.ingester.snapshot({ sourceId: 'A', startedAt: now, now }, [{ type: 'ip', value: '45.95.0.1' }], policy);
    const cache = new ListingCache();
    const o: WeightRunOptions = { now, windowMs: DAY, overlap: 'containment', allowlist: svc.allowlist, cache, store: false };
    expect((await weightsStep(t.app.db, o)).load).toBe('full');
    expect((await weightsStep(t.app.db, o)).load).toBe('delta');
    expect((await weightsStep(t.app.db, { ...o, windowMs: 2 * DAY })).load).toBe('full');
    expect((await weightsStep(t.app.db, { ...o, windowMs: 2 * DAY, allowlist: undefined })).load).toBe('full');
    expect((await weightsStep(t.app.db, { ...o, windowMs: 2 * DAY, allowlist: undefined, now: now - 1 })).load).toBe('full');
    await using other = await startTestTip({ database: dialect, plugins: [blacklist()], start: { schedule: false } });
    await other.app.get(BlacklistToken).ingester.upsertSource({ id: 'A', title: 'A', format: 'plain', category: 'spam', origin: 'feed', enabled: true }, now);
    const r = await weightsStep(other.app.db, { ...o, windowMs: 2 * DAY, allowlist: undefined, now: now - 1 });
    expect(r.load).toBe('full');
    expect(r.metrics.map((m) => m.volume)).toEqual([0]);
  });
});

describe('medians by selection (fastMedian)', () => {
  it('equal the sorted median on large inputs with many ties, sorted or reversed runs, odd and even counts', () => {
    const random = rng(7);
    const median = (xs: ArrayLike<number>) => {
      const v = Array.from(xs).sort((x, y) => x - y);
      return v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    const inputs: number[][] = [[5], [3, 1], [2, 2, 2, 2]];
    for (const n of [4999, 5000, 100_000]) {
      inputs.push(Array.from({ length: n }, () => Math.floor(random() * 20) * 3_600_000)); // many ties
      inputs.push(Array.from({ length: n }, () => random() * 1e6)); // fractions
      inputs.push(Array.from({ length: n }, (_, i) => i)); // sorted
      inputs.push(Array.from({ length: n }, (_, i) => n - i)); // reversed
      inputs.push(Array.from({ length: n }, (_, i) => (i % 2 ? i : n - i))); // organ pipe
    }
    for (const xs of inputs) {
      const expected = median(xs);
      expect(fastMedian(xs)).toBe(expected);
      expect(fastMedian(Float64Array.from(xs))).toBe(expected);
    }
    expect(fastMedian([])).toBeNull();
  });
});
