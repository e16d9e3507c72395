import { describe, expect, it } from 'vitest';
import { tempDatabase, testDialects } from '../src/testing/index.js';
import { Database, sqlMigration, TipErrorCodes, type TipError } from '../src/index.js';
import { coreEntities } from '../src/database/entities.js';
import { openTestDatabase, testMigrations } from './db-support.js';

describe.each(testDialects())('migrations on %s', (dialect) => {
  it('a failing migration is named in the error and nothing of the batch is applied', async () => {
    const target = await tempDatabase(dialect);
    const broken = sqlMigration('0002-broken', { sqlite: ['create table u (id integer)', 'select * from missing_table'], postgresql: ['create table u (id int)', 'select * from missing_table'] });
    const db = await Database.open({ url: target.url, entities: [...coreEntities], migrations: [...testMigrations, { owner: 'test', migration: broken }] });
    try {
      const err = await db.migrate().then(
        () => undefined,
        (e: unknown) => e as TipError,
      );
      expect(err).toMatchObject({ code: TipErrorCodes.DB_FAILED, details: { migration: 'test/0002-broken', database: db.where } });
      expect(err?.message).toContain('test/0002-broken');
      expect(err?.message).toContain('missing_table');
      expect(await db.pendingMigrations()).toHaveLength(testMigrations.length + 1);
    } finally {
      await db.close();
      await target.drop();
    }
  });

  it('two processes (separate pools) migrating one empty database both succeed and apply every migration once', async () => {
    const target = await tempDatabase(dialect);
    const a = await openTestDatabase(target.url, {}, false);
    const b = await openTestDatabase(target.url, {}, false);
    try {
      const [appliedA, appliedB] = await Promise.all([a.migrate(), b.migrate()]);
      const all = testMigrations.map((m) => `${m.owner}/${m.migration.name}`);
      expect([...appliedA, ...appliedB].sort()).toEqual([...all].sort());
      const rows = await a.em().execute<Array<{ name: string; n: number }>>('select name, count(*) as n from tip_migrations group by name order by name');
      expect(rows.map((r) => [r.name, Number(r.n)])).toEqual([...all].sort().map((n) => [n, 1]));
      expect(await b.pendingMigrations()).toEqual([]);
    } finally {
      await a.close();
      await b.close();
      await target.drop();
    }
  });
});
