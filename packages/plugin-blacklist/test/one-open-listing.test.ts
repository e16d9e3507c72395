import { describe, expect, it } from 'vitest';
import { definePlugin, executeRaw, type TipMigration } from '@tip/core';
import { startTestTip, tempDatabase, testDialects, type TestTip } from '@tip/core/testing';
import { blacklistEntities } from '../src/db/entities.js';
import { blacklistMigrations } from '../src/db/migrations.js';
import { Ingester } from '../src/ingest/Ingester.js';
import type { Indicator } from '../src/indicators/types.js';

// The schema of the plugin with its migrations up to `upTo` (the owner name stays the same, so a
// later app with every migration applies only the missing ones).
const schema = (upTo = blacklistMigrations.length) =>
  definePlugin({
    name: 'bl-schema', version: '0.0.0', core: '^0.2.0',
    register(ctx) {
      if (upTo === blacklistMigrations.length) ctx.entities(...blacklistEntities);
      ctx.migrations(...(blacklistMigrations.slice(0, upTo) as TipMigration[]));
    },
  });
const ips = (from: number, to: number): Indicator[] =>
  Array.from({ length: to - from }, (_, k) => from + k).map((i) => ({ type: 'ip', value: `45.2.${Math.floor(i / 256)}.${i % 256}` }));
const policy = { maxInvalidRatio: 0.25, allowEmpty: false };
const num = (v: unknown) => Number(v);
const scalar = async (t: TestTip, sql: string) => num(Object.values((await executeRaw<Record<string, unknown>>(t.app.em(), sql)).rows[0]!)[0]);
const openDuplicates = (t: TestTip) =>
  scalar(t, 'select count(*) as n from (select source_id, indicator_id from bl_listing where removed_at is null group by source_id, indicator_id having count(*) > 1) d');

describe.each(testDialects())('one open listing per source and indicator on %s', (dialect) => {
  it('two apps ingesting the same source at once: the second diffs against the first', async () => {
    const database = await tempDatabase(dialect);
    try {
      await using first = await startTestTip({ database, plugins: [schema()] });
      // PostgreSQL: a second app (its own pool) on the same database. SQLite: better-sqlite3 waits
      // for a locked database synchronously, so two apps in one thread would block each other
      // (busy_timeout); there the two ingesters share one app, whose transactions queue.
      await using other = dialect === 'postgresql' ? await startTestTip({ database, plugins: [schema()] }) : undefined;
      const second = other ?? first;
      const ingesters = [new Ingester(first.app.db, first.app.log), new Ingester(second.app.db, second.app.log)];
      await ingesters[0]!.upsertSource({ id: 's', title: 'S', format: 'plain', category: 'spam', origin: 'feed', enabled: true }, 1);
      // overlapping snapshots: 0..2999 and 1500..4499, each new to the source
      const sets = [ips(0, 3000), ips(1500, 4500)];
      const [a, b] = await Promise.all(ingesters.map((ing, k) => ing.snapshot({ sourceId: 's', startedAt: 10 + k, now: 10 + k }, sets[k]!, policy)));
      expect(await openDuplicates(first)).toBe(0);
      // one run committed first (added everything); the other diffed against it
      const [firstRun, lastRun, lastSet] = a!.removed === 0 && a!.added === 3000 ? [a!, b!, sets[1]!] : [b!, a!, sets[0]!];
      expect(firstRun).toEqual({ records: 3000, added: 3000, removed: 0, unchanged: 0, invalid: 0 });
      expect(lastRun).toEqual({ records: 3000, added: 1500, removed: 1500, unchanged: 1500, invalid: 0 });
      const open = (await executeRaw<{ value: string }>(first.app.em(),
        `select i.value from bl_listing l join bl_indicator i on i.id = l.indicator_id where l.source_id = 's' and l.removed_at is null`)).rows.map((r) => r.value).sort();
      expect(open).toEqual(lastSet.map((i) => i.value).sort());
      expect(await scalar(first, 'select count(*) as n from bl_listing')).toBe(4500);
      expect(await scalar(first, 'select count(*) as n from bl_indicator')).toBe(4500);
      // a later run of either app diffs correctly against the committed state
      expect(await ingesters[0]!.snapshot({ sourceId: 's', startedAt: 20, now: 20 }, ips(0, 4500), policy)).toMatchObject({ added: 1500, removed: 0, unchanged: 3000 });
      expect(await openDuplicates(second)).toBe(0);
      expect(await scalar(second, `select count(*) as n from bl_listing where removed_at is null`)).toBe(4500);
    } finally {
      await database.drop();
    }
  });

  it('the 0002 migration repairs duplicate open listings, then the index refuses new ones', async () => {
    const database = await tempDatabase(dialect);
    try {
      {
        await using old = await startTestTip({ database, plugins: [schema(1)] });
        const em = old.app.em();
        await executeRaw(em, `insert into bl_source (id, title, format, category, origin, enabled, created_at) values ('s', 'S', 'plain', 'spam', 'feed', ${dialect === 'sqlite' ? 1 : 'true'}, 1)`);
        await executeRaw(em, `insert into bl_indicator (id, type, value, first_seen) values (1, 'ip', '45.3.0.1', 100), (2, 'ip', '45.3.0.2', 100), (3, 'ip', '45.3.0.3', 100)`);
        // indicator 1: three open listings (the earliest first_seen is not the lowest id) plus a closed one;
        // indicator 2: two open with the same first_seen; indicator 3: one open (untouched); source t: its own
        await executeRaw(em, `insert into bl_listing (id, source_id, indicator_id, first_seen, last_seen, removed_at) values
          (1, 's', 1, 300, null, null), (2, 's', 1, 200, null, null), (3, 's', 1, 400, null, null), (4, 's', 1, 50, 90, 100),
          (5, 's', 2, 200, null, null), (6, 's', 2, 200, null, null),
          (7, 's', 3, 200, null, null),
          (8, 't', 1, 500, null, null)`);
        if (dialect === 'postgresql') await executeRaw(em, `select setval('bl_listing_id_seq', 8), setval('bl_indicator_id_seq', 3)`);
        expect(await openDuplicates(old)).toBe(2);
      }
      await using t = await startTestTip({ database, plugins: [schema()] });
      const rows = (await executeRaw<{ id: number; source_id: string; indicator_id: number; first_seen: number; last_seen: number | null; removed_at: number | null }>(
        t.app.em(), 'select id, source_id, indicator_id, first_seen, last_seen, removed_at from bl_listing order by id')).rows
        .map((r) => [num(r.id), r.source_id, num(r.indicator_id), num(r.first_seen), r.last_seen === null ? null : num(r.last_seen), r.removed_at === null ? null : num(r.removed_at)]);
      expect(rows).toEqual([
        [2, 's', 1, 200, null, null],
        [4, 's', 1, 50, 90, 100],
        [5, 's', 2, 200, null, null],
        [7, 's', 3, 200, null, null],
        [8, 't', 1, 500, null, null],
      ]);
      expect(await openDuplicates(t)).toBe(0);
      expect(await scalar(t, 'select count(*) as n from bl_indicator')).toBe(3);
      expect(await scalar(t, 'select count(*) as n from bl_source')).toBe(1);
      const diff = await t.app.db.orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(diff.trim()).toBe('');

      // the index: a second open listing is refused, a closed one (history) and a re-listing after closing are not
      await expect(executeRaw(t.app.em(), `insert into bl_listing (source_id, indicator_id, first_seen) values ('s', 1, 600)`)).rejects.toThrow(/unique/i);
      await executeRaw(t.app.em(), `insert into bl_listing (source_id, indicator_id, first_seen, last_seen, removed_at) values ('s', 1, 10, 20, 30)`);
      await executeRaw(t.app.em(), `update bl_listing set removed_at = 700, last_seen = 700 where source_id = 's' and indicator_id = 2 and removed_at is null`);
      await executeRaw(t.app.em(), `insert into bl_listing (source_id, indicator_id, first_seen) values ('s', 2, 800)`);
      expect(await openDuplicates(t)).toBe(0);
      // the ingester still works on the repaired data
      const ing = new Ingester(t.app.db, t.app.log);
      const values = ['45.3.0.1', '45.3.0.2', '45.3.0.3', '45.3.0.4'].map((value): Indicator => ({ type: 'ip', value }));
      expect(await ing.snapshot({ sourceId: 's', startedAt: 900, now: 900 }, values, policy)).toMatchObject({ added: 1, removed: 0, unchanged: 3 });
    } finally {
      await database.drop();
    }
  });
});
