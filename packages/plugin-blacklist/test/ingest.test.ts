import { describe, expect, it } from 'vitest';
import { definePlugin, executeRaw, TipErrorCodes } from '@tip/core';
import { startTestTip, testDialects } from '@tip/core/testing';
import { blacklistEntities } from '../src/db/entities.js';
import { blacklistMigrations } from '../src/db/migrations.js';
import { BlacklistErrors } from '../src/errors.js';
import { Ingester } from '../src/ingest/Ingester.js';
import { addressKeys } from '../src/indicators/addressKeys.js';
import { canonicalize } from '../src/indicators/canonical.js';
import type { Indicator } from '../src/indicators/types.js';

const schemaOnly = definePlugin({
  name: 'bl-schema', version: '0.0.0', core: '^0.2.0',
  register(ctx) { ctx.entities(...blacklistEntities); ctx.migrations(...blacklistMigrations); },
});
const ips = (...n: number[]): Indicator[] => n.map((i) => ({ type: 'ip', value: `45.1.${Math.floor(i / 256)}.${i % 256}` }));
const policy = { maxInvalidRatio: 0.25, allowEmpty: false };

describe.each(testDialects())('ingestion on %s', (dialect) => {
  it('diffs snapshots, keeps history, refuses bad data, applies deltas', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [schemaOnly] });
    const ing = new Ingester(t.app.db, t.app.log);
    const em = () => t.app.em();
    await ing.upsertSource({ id: 'a', title: 'A', format: 'plain', category: 'spam', origin: 'feed', enabled: true }, 1);
    const ctx = (now: number) => ({ sourceId: 'a', startedAt: now, now });

    expect(await ing.snapshot(ctx(1000), ips(1, 2, 3, 3), policy)).toEqual({ records: 3, added: 3, removed: 0, unchanged: 0, invalid: 0 });
    expect(await ing.snapshot(ctx(2000), ips(2, 3, 4), policy)).toEqual({ records: 3, added: 1, removed: 1, unchanged: 2, invalid: 0 });
    // identical snapshot: nothing written but lastSuccessAt moves
    expect(await ing.snapshot(ctx(3000), ips(4, 3, 2), policy)).toEqual({ records: 3, added: 0, removed: 0, unchanged: 3, invalid: 0 });
    // re-listing after removal opens a new listing row; history stays
    expect(await ing.snapshot(ctx(4000), ips(1, 2, 3, 4), policy)).toMatchObject({ added: 1, removed: 0 });
    const rows = (await executeRaw<{ value: string; first_seen: number; last_seen: number | null; removed_at: number | null }>(em(),
      `select i.value, l.first_seen, l.last_seen, l.removed_at from bl_listing l join bl_indicator i on i.id = l.indicator_id order by i.value, l.first_seen`)).rows
      .map((r) => [r.value, Number(r.first_seen), r.last_seen === null ? null : Number(r.last_seen), r.removed_at === null ? null : Number(r.removed_at)]);
    expect(rows).toEqual([
      ['45.1.0.1', 1000, 1000, 2000],
      ['45.1.0.1', 4000, null, null],
      ['45.1.0.2', 1000, null, null],
      ['45.1.0.3', 1000, null, null],
      ['45.1.0.4', 2000, null, null],
    ]);
    // a fresh ingester (empty in-memory cache) rebuilds the snapshot from its base + appended deltas
    const deltas = Number((await executeRaw<{ n: number }>(em(), 'select count(*) as n from bl_snapshot_delta')).rows[0]!.n);
    expect(deltas).toBeGreaterThan(0);
    const fresh = new Ingester(t.app.db, t.app.log);
    expect(await fresh.snapshot(ctx(4500), ips(1, 2, 3, 4, 5), policy)).toMatchObject({ added: 1, removed: 0, unchanged: 4 });
    expect(await fresh.snapshot(ctx(4600), ips(1, 2, 3, 4), policy)).toMatchObject({ added: 0, removed: 1, unchanged: 4 });
    const src = (await executeRaw<{ last_success_at: number }>(em(), `select last_success_at from bl_source`)).rows[0]!;
    expect(Number(src.last_success_at)).toBe(4600);

    // too many invalid lines: rejected, nothing changes
    await expect(ing.snapshot({ ...ctx(5000), report: { bytes: 10, lines: 10, invalid: 6, samples: [] } }, ips(9), policy))
      .rejects.toMatchObject({ code: BlacklistErrors.FEED_REJECTED });
    // empty list where there was data: rejected unless allowed
    await expect(ing.snapshot(ctx(5000), [], policy)).rejects.toMatchObject({ code: BlacklistErrors.FEED_REJECTED, message: expect.stringContaining('empty') });
    await expect(ing.snapshot({ sourceId: 'unregistered', startedAt: 1, now: 1 }, ips(1), policy)).rejects.toMatchObject({ code: BlacklistErrors.SOURCE_UNKNOWN, details: { source: 'unregistered' } });
    expect((await executeRaw(em(), 'select count(*) as n from bl_listing where removed_at is null')).rows[0]).toMatchObject({ n: expect.anything() });
    const open = async () => Number((await executeRaw<{ n: number }>(em(), 'select count(*) as n from bl_listing where removed_at is null')).rows[0]!.n);
    expect(await open()).toBe(4);

    // deltas from another plugin
    expect(await ing.delta(ctx(6000), ips(7, 1), ips(2, 99))).toMatchObject({ added: 1, removed: 1 });
    expect(await open()).toBe(4);
    // the snapshot is dropped after a delta; the next snapshot diffs against open listings
    expect(await ing.snapshot(ctx(7000), ips(1, 3, 4, 7), policy)).toMatchObject({ added: 0, removed: 0, unchanged: 4 });
    expect(await ing.snapshot(ctx(8000), [], { ...policy, allowEmpty: true })).toMatchObject({ removed: 4 });
    expect(await open()).toBe(0);
  });

  it('concurrent ingestion of overlapping new indicators by two sources loses no listing', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [schemaOnly] });
    const ing = new Ingester(t.app.db, t.app.log);
    for (const id of ['x', 'y', 'z']) await ing.upsertSource({ id, title: id, format: 'plain', category: 'spam', origin: 'feed', enabled: true }, 1);
    const shared = Array.from({ length: 3000 }, (_, i) => i);
    await Promise.all(['x', 'y', 'z'].map((id) => ing.snapshot({ sourceId: id, startedAt: 1, now: 1 }, ips(...shared), policy)));
    const counts = (await executeRaw<{ source_id: string; n: number }>(t.app.em(), 'select source_id, count(*) as n from bl_listing group by source_id order by source_id')).rows;
    expect(counts.map((c) => [c.source_id, Number(c.n)])).toEqual([['x', 3000], ['y', 3000], ['z', 3000]]);
    expect(Number((await executeRaw<{ n: number }>(t.app.em(), 'select count(*) as n from bl_indicator')).rows[0]!.n)).toBe(3000);
  });

  it('stores every new indicator with its address keys, inserted in many sorted statements', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [schemaOnly] });
    const ing = new Ingester(t.app.db, t.app.log);
    for (const id of ['a', 'b']) await ing.upsertSource({ id, title: id, format: 'plain', category: 'spam', origin: 'feed', enabled: true }, 1);
    // more values of one type than a statement takes (and than one native sort run: 16k), in
    // feed order that is not the insertion order; every type and both address families
    let x = 7; // xorshift32: every bit varies (an LCG's low bits repeat quickly)
    const next = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
    const raw = new Set<string>();
    while (raw.size < 24_000) raw.add(`${11 + (next() % 200)}.${next() % 256}.${next() % 256}.${next() % 256}`);
    for (let i = 0; i < 300; i++) {
      raw.add(`2001:db8:${(next() % 65536).toString(16)}::${(next() % 65536).toString(16)}`);
      raw.add(`${20 + (next() % 200)}.${next() % 256}.${next() % 256}.0/24`);
      raw.add(`2001:db8:${(next() % 65536).toString(16)}::/48`);
      raw.add(`host${next()}.example.com`);
      raw.add(`http://site${next()}.example.org/p?q=${i}`);
    }
    const all: Indicator[] = [];
    for (const r of raw) {
      const c = canonicalize(r);
      if (!c.ok) throw new Error(`test value ${r}: ${c.reason}`);
      all.push(...c.indicators);
    }
    const unique = new Map(all.map((i) => [`${i.type} ${i.value}`, i]));
    expect(new Set([...unique.values()].map((i) => i.type))).toEqual(new Set(['ip', 'cidr', 'domain', 'url']));
    // b lists every other one first: a then inserts half new indicators and finds half stored
    const half = [...unique.values()].filter((_, k) => k % 2 === 0);
    expect(await ing.snapshot({ sourceId: 'b', startedAt: 1, now: 1 }, half, policy)).toMatchObject({ added: half.length });
    expect(await ing.snapshot({ sourceId: 'a', startedAt: 2, now: 2 }, all, policy)).toMatchObject({ added: unique.size });

    const rows = (await executeRaw<{ type: string; value: string; addr_lo: string | null; addr_hi: string | null }>(t.app.em(), 'select type, value, addr_lo, addr_hi from bl_indicator')).rows;
    expect(rows.length).toBe(unique.size);
    const wrong = rows.filter((r) => {
      const k = (r.type === 'ip' || r.type === 'cidr' ? addressKeys(r.value) : null) ?? { lo: '', hi: '' };
      return r.addr_lo !== k.lo || r.addr_hi !== k.hi || !unique.has(`${r.type} ${r.value}`);
    });
    expect(wrong).toEqual([]);
    const open = (await executeRaw<{ source_id: string; n: number; d: number }>(t.app.em(),
      'select source_id, count(*) as n, count(distinct indicator_id) as d from bl_listing where removed_at is null group by source_id order by source_id')).rows;
    expect(open.map((o) => [o.source_id, Number(o.n), Number(o.d)])).toEqual([['a', unique.size, unique.size], ['b', half.length, half.length]]);
  });
});

describe.each(testDialects())('blacklist schema on %s', (dialect) => {
  it('migrations create exactly the schema the entities describe', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [schemaOnly] });
    const diff = await t.app.db.orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });
});
