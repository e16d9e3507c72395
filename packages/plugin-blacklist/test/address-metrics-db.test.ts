import { describe, expect, it } from 'vitest';
import { definePlugin, executeRaw, type TipMigration } from '@tip/core';
import { startTestTip, tempDatabase, testDialects } from '@tip/core/testing';
import blacklist, { BlacklistToken, type Indicator, type SourceMetrics } from '../src/index.js';
import { blacklistMigrations } from '../src/db/migrations.js';
import { latestMetrics, loadListings, weightsStep } from '../src/service/weights.js';
import { blacklistEntities } from '../src/db/entities.js';
import { Ingester } from '../src/ingest/Ingester.js';
import { computeSourceMetrics } from '../src/weighting/index.js';

const H = 3_600_000;
const DAY = 24 * H;
const policy = { maxInvalidRatio: 0.25, allowEmpty: false };
const ind = (value: string): Indicator => ({ type: value.includes('/') ? 'cidr' : 'ip', value });
/** Everything but the run-derived terms and the weight (what a reuse takes from the stored rows). */
const listingDerived = ({ availability: _a, freshnessMs: _f, weight: _w, persistenceMedianMs: _p, ...rest }: SourceMetrics) => rest;

// Three sources with IPv4 blocks, single addresses and IPv6, ingested through the database:
//   A: day 0 {192.0.2.0/24, 198.51.100.7, 2001:db8::/126}, day 1 {192.0.2.0/25, 198.51.100.7, 2001:db8::/126, 2001:db8::8}
//   B: day 0 {192.0.2.128/26, 198.51.100.0/30, 2001:db8::2}
//   C: day 1 {203.0.113.5, example-bad.test}
describe.each(testDialects())('address metrics through the database on %s', (dialect) => {
  it('stores and returns them, equal to the pure computation; reuses them while no source changes', async () => {
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
    const snap = async (id: string, at: number, values: Indicator[]) => {
      const counts = await ing.snapshot({ sourceId: id, startedAt: at, now: at }, values, policy);
      await ing.recordRun({ sourceId: id, startedAt: at, now: at }, 'succeeded', counts);
    };
    await snap('A', t0, ['192.0.2.0/24', '198.51.100.7', '2001:db8::/126'].map(ind));
    await snap('B', t0, ['192.0.2.128/26', '198.51.100.0/30', '2001:db8::2'].map(ind));
    await snap('A', t0 + DAY, ['192.0.2.0/25', '198.51.100.7', '2001:db8::/126', '2001:db8::8'].map(ind));
    await snap('C', t0 + DAY, [ind('203.0.113.5'), { type: 'domain', value: 'example-bad.test' }]);
    await t.clock!.advanceTo(t0 + 2 * DAY);

    const first = await weightsStep(t.app.db, { now: t.clock!.now(), windowMs: 30 * DAY, overlap: 'containment', allowlist: svc.allowlist });
    expect(first.reused).toBe(false);
    const m = Object.fromEntries(first.metrics.map((x) => [x.source, x]));
    // hand-computed: A's IPv4 in W = 192.0.2.0/24 ∪ 198.51.100.7 = 257; B's = 64 + 4 = 68; common = the /26
    expect(m.A!.addresses.ipv4).toMatchObject({ volume: 257, overlap: { B: 64, C: 0 }, exclusiveAddresses: 193 });
    expect(m.B!.addresses.ipv4).toMatchObject({ volume: 68, overlap: { A: 64, C: 0 }, exclusiveAddresses: 4 });
    // churn: nothing was listed before the window, so what is listed now counts as added (/25 + 1)
    expect(m.A!.addresses.ipv4).toMatchObject({ added: 129, removed: 0 });
    // IPv6: A ::0-3 and ::8 (5), B ::2 (1); the documentation prefix is allow-listed (RFC 3849)
    expect(m.A!.addresses.ipv6).toMatchObject({ volume: 5, overlap: { B: 1, C: 0 }, exclusiveAddresses: 4, falsePositiveAddresses: 5 });
    expect(m.C!.addresses).toEqual({
      ipv4: { volume: 1, overlap: { A: 0, B: 0 }, differential: { A: 1, B: 1 }, exclusive: 1, exclusiveAddresses: 1, added: 1, removed: 0, falsePositiveAddresses: 1, falsePositiveRate: 1 },
      ipv6: null,
    });
    // all of A's IPv4 is documentation space (192.0.2.0/24 TEST-NET-1, 198.51.100.0/24 TEST-NET-2)
    expect(m.A!.addresses.ipv4!.falsePositiveRate).toBe(1);

    // the same as the pure function on the same records, and stored as computed
    const listings = await loadListings(t.app.db, t.clock!.now() - 30 * DAY, 1000);
    const runs = (await executeRaw<{ source_id: string; started_at: string | number; status: string }>(t.app.em(), 'select source_id, started_at, status from bl_source_run')).rows.map((r) => ({
      source: r.source_id,
      startedAt: Number(r.started_at),
      ok: r.status === 'succeeded',
    }));
    expect(computeSourceMetrics({ now: t.clock!.now(), windowMs: 30 * DAY, sources: ['A', 'B', 'C'], listings, runs, allowlist: svc.allowlist, overlapMode: 'containment' }).map((x) => x.addresses)).toEqual(
      first.metrics.map((x) => x.addresses),
    );
    const stored = await svc.latestMetrics();
    expect(stored.map((s) => s.addresses)).toEqual(first.metrics.map((x) => x.addresses));
    expect(stored.every((s) => s.metricsComputedAt === t.clock!.now())).toBe(true);

    // An hour later, nothing changed but a 304 of A: the listing-derived metrics are reused.
    await t.clock!.advance(H);
    await ing.recordRun({ sourceId: 'A', startedAt: t.clock!.now(), now: t.clock!.now() }, 'unchanged', {});
    const second = await weightsStep(t.app.db, { now: t.clock!.now(), windowMs: 30 * DAY, overlap: 'containment', allowlist: svc.allowlist });
    expect(second.reused).toBe(true);
    expect(second.loaded).toBe(0);
    const full = await weightsStep(t.app.db, { now: t.clock!.now(), windowMs: 30 * DAY, overlap: 'containment', allowlist: svc.allowlist, incremental: false, store: false });
    expect(full.reused).toBe(false);
    expect(second.metrics.map(listingDerived)).toEqual(full.metrics.map(listingDerived));
    // the run-derived terms are recomputed: A's freshness is 0 after its 304
    expect(second.metrics.map((x) => [x.availability, x.freshnessMs])).toEqual(full.metrics.map((x) => [x.availability, x.freshnessMs]));
    expect(second.metrics.find((x) => x.source === 'A')!.freshnessMs).toBe(0);
    expect((await svc.latestMetrics()).every((s) => s.metricsComputedAt === t0 + 2 * DAY && s.computedAt === t0 + 2 * DAY + H)).toBe(true);

    // A listing change (B drops an entry) → recomputed.
    await t.clock!.advance(H);
    await snap('B', t.clock!.now(), ['192.0.2.128/26', '198.51.100.0/30'].map(ind));
    const third = await weightsStep(t.app.db, { now: t.clock!.now(), windowMs: 30 * DAY, overlap: 'containment', allowlist: svc.allowlist });
    expect(third.reused).toBe(false);
    expect(third.metrics.find((x) => x.source === 'B')!.addresses.ipv6).toMatchObject({ volume: 1, added: 0, removed: 0 }); // nothing listed before W or now
    expect(third.metrics.find((x) => x.source === 'A')!.addresses.ipv6).toMatchObject({ overlap: { B: 1 } });

    // Nothing changes, but the window edge passes the first listings (day 0 + 30 d) → recomputed.
    await t.clock!.advanceTo(t0 + 30 * DAY + 1);
    const fourth = await weightsStep(t.app.db, { now: t.clock!.now(), windowMs: 30 * DAY, overlap: 'containment', allowlist: svc.allowlist });
    expect(fourth.reused).toBe(false);
    // now day 0 is before W: A's day-0 list → its list now: 192.0.2.128/25 removed, nothing added
    expect(fourth.metrics.find((x) => x.source === 'A')!.addresses.ipv4).toMatchObject({ volume: 257, added: 0, removed: 128 });
    // and another source set (C disabled) is another fingerprint
    await ing.upsertSource({ id: 'C', title: 'C', format: 'plain', category: 'spam', origin: 'feed', enabled: false }, t.clock!.now());
    const fifth = await weightsStep(t.app.db, { now: t.clock!.now(), windowMs: 30 * DAY, overlap: 'containment', allowlist: svc.allowlist });
    expect(fifth.reused).toBe(false);
    expect(fifth.metrics.map((x) => x.source)).toEqual(['A', 'B']);
    expect((await weightsStep(t.app.db, { now: t.clock!.now() + 1, windowMs: 30 * DAY, overlap: 'containment', allowlist: svc.allowlist })).reused).toBe(true);
    // an older full computation than reuseMaxAgeMs is not reused
    expect((await weightsStep(t.app.db, { now: t.clock!.now() + 2, windowMs: 30 * DAY, overlap: 'containment', allowlist: svc.allowlist, reuseMaxAgeMs: 1 })).reused).toBe(false);
  });

  it('reads rows stored before migration 0003 (no address metrics) and recomputes instead of reusing them', async () => {
    const database = await tempDatabase(dialect);
    try {
      const schema = (upTo: number) =>
        definePlugin({
          name: 'bl-schema', version: '0.0.0', core: '^0.2.0',
          register(ctx) {
            if (upTo === blacklistMigrations.length) ctx.entities(...blacklistEntities);
            ctx.migrations(...(blacklistMigrations.slice(0, upTo) as TipMigration[]));
          },
        });
      {
        await using old = await startTestTip({ database, plugins: [schema(2)] });
        await executeRaw(
          old.app.em(),
          `insert into bl_source (id, title, format, category, origin, enabled, created_at) values ('A', 'A', 'plain', 'spam', 'feed', ${dialect === 'sqlite' ? 1 : 'true'}, 0)`,
        );
        await executeRaw(
          old.app.em(),
          `insert into bl_source_metric (source_id, computed_at, window_ms, volume, exclusive, churn, false_positive_rate, weight, overlap, differential) values ('A', 1, 1, 3, 1, 0, 0, 0.5, '{}', '{}')`,
        );
      }
      await using t = await startTestTip({ database, plugins: [schema(blacklistMigrations.length)] });
      expect(await latestMetrics(t.app.db)).toMatchObject([{ source: 'A', volume: 3, addresses: null, metricsComputedAt: null }]);
      const ing = new Ingester(t.app.db, t.app.log);
      const now = t.clock!.now();
      const counts = await ing.snapshot({ sourceId: 'A', startedAt: now, now }, [ind('198.18.0.0/15')], policy);
      expect(counts.added).toBe(1);
      // the latest stored row has no fingerprint: computed in full
      const r = await weightsStep(t.app.db, { now, windowMs: DAY, overlap: 'containment', incremental: true });
      expect(r.reused).toBe(false);
      expect(r.metrics[0]!.addresses.ipv4!.volume).toBe(2 ** 17);
      expect((await latestMetrics(t.app.db))[0]).toMatchObject({ computedAt: now, metricsComputedAt: now, addresses: { ipv4: { volume: 2 ** 17 }, ipv6: null } });
    } finally {
      await database.drop();
    }
  });
});
