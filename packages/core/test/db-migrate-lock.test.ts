import { describe, expect, it } from 'vitest';
import { tempDatabase, testDialects } from '../src/testing/index.js';
import { openTestDatabase, testMigrations } from './db-support.js';

describe.each(testDialects())('concurrent migrations on %s', (dialect) => {
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
