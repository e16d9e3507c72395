import { describe, expect, it } from 'vitest';
import { executeRaw } from '../src/index.js';
import { tempDatabase, testDialects } from '../src/testing/index.js';
import { openTestDatabase } from './db-support.js';

describe.each(testDialects())('cancelling work in flight on %s', (dialect) => {
  it('ends a transaction whose holder never finishes, rolls it back, and keeps the database usable', async () => {
    const target = await tempDatabase(dialect);
    const db = await openTestDatabase(target.url);
    try {
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const stuck = db.em().transactional(async (tx) => {
        await tx.execute(`insert into t (body) values ('never committed')`);
        entered();
        // Ignores every signal: on PostgreSQL a long query, on SQLite a wait inside the transaction.
        if (dialect === 'postgresql') await tx.execute('select pg_sleep(3600)');
        else for (;;) await new Promise((r) => setTimeout(r, 20));
      });
      const outcome = stuck.then(
        () => 'resolved',
        (err: unknown) => `rejected: ${String(err)}`,
      );
      await inside;
      expect(await db.cancelInFlight(1000)).toBe(1);
      // The database answers again, and the stuck transaction's insert is gone.
      const { rows } = await executeRaw<{ n: number | string }>(db.em(), 'select count(*) as n from t');
      expect(Number(rows[0]!.n)).toBe(0);
      await executeRaw(db.em(), `insert into t (body) values ('after')`);
      if (dialect === 'postgresql') expect(await outcome).toMatch(/^rejected/);
    } finally {
      await db.close({ timeoutMs: 1000 });
      await target.drop();
    }
  });
});
