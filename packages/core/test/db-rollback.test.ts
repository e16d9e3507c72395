import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { sql } from 'kysely';
import { executeRaw, TipErrorCodes, type TipError } from '../src/index.js';
import { tempPostgres, tempSqlite, testDialects, testPostgresUrl } from '../src/testing/index.js';
import { openTestDatabase } from './db-support.js';

const onPostgres = testDialects().includes('postgresql');
const onSqlite = testDialects().includes('sqlite');

async function terminate(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: testPostgresUrl() });
  await admin.connect();
  try {
    await admin.query('select pg_terminate_backend($1, 20000)', [pid]);
  } finally {
    await admin.end();
  }
}

describe.runIf(onPostgres)('a transaction whose backend is terminated (PostgreSQL, poolSize 1)', () => {
  it('fails clearly, releases its connection, and later transactions, queries and close work', async () => {
    const target = await tempPostgres();
    const db = await openTestDatabase(target.url, { poolSize: 1 });
    try {
      const failed = await db
        .em()
        .transactional(async (em) => {
          await em.execute(`insert into t (body) values ('lost')`);
          const [{ pid }] = await em.execute<Array<{ pid: number }>>('select pg_backend_pid() as pid');
          await terminate(pid);
          await em.execute('select 1');
        })
        .then(
          () => undefined,
          (e: unknown) => e as TipError,
        );
      expect(failed).toMatchObject({ code: TipErrorCodes.DB_FAILED, details: { database: db.where } });
      expect(failed?.message).toContain(db.where);
      expect(failed?.message).toMatch(/terminat|connection/i);

      // a direct kysely transaction on a terminated backend: same guarantees
      const kyselyFailed = await db
        .em()
        .getKysely()
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          await terminate(rows[0].pid);
          await sql`select 1`.execute(trx);
        })
        .then(
          () => 'resolved',
          () => 'rejected',
        );
      expect(kyselyFailed).toBe('rejected');

      await db.em().transactional(async (em) => {
        await executeRaw(em, 'insert into t (body) values ($1)', ['kept']);
      });
      const rows = await db.em().execute<Array<{ body: string }>>('select body from t order by id');
      expect(rows.map((r) => r.body)).toEqual(['kept']);
      await db.close();
    } finally {
      await db.close();
      await target.drop();
    }
  });
});

describe.runIf(onSqlite)('SQLite faults inside transactions', () => {
  it('a full database fails with "database or disk is full" naming the file; reads keep working; writes resume after the limit is raised', async () => {
    const target = tempSqlite();
    const db = await openTestDatabase(target.url);
    try {
      await db.em().transactional((em) => em.execute(`insert into t (body) values ('committed before')`));
      const [{ page_count: pages }] = await db.em().execute<Array<{ page_count: number }>>('pragma page_count');
      await db.em().execute(`pragma max_page_count = ${pages + 1}`);

      const err = await db
        .em()
        .transactional(async (em) => {
          await em.execute(`insert into t (body) values ('small')`);
          await em.execute(`insert into t (body) select hex(randomblob(100000))`);
        })
        .then(
          () => undefined,
          (e: unknown) => e as TipError,
        );
      expect(err).toMatchObject({ code: TipErrorCodes.DB_FAILED, details: { reason: 'disk-full' } });
      expect(err?.message).toContain('database or disk is full');
      expect(err?.message).toContain(target.url.slice('sqlite:'.length));

      const afterFull = await db.em().execute<Array<{ body: string }>>('select body from t order by id');
      expect(afterFull.map((r) => r.body)).toEqual(['committed before']);

      await db.em().execute('pragma max_page_count = 1073741823');
      await db.em().transactional((em) => em.execute(`insert into t (body) select hex(randomblob(100000))`));
      const rows = await db.em().execute<Array<{ n: number }>>('select count(*) as n from t');
      expect(rows[0].n).toBe(2);
    } finally {
      await db.close();
      await target.drop();
    }
  });

  it('a ROLLBACK that fails (SQLite already rolled back) still releases the connection and keeps the original error', async () => {
    const target = tempSqlite();
    const db = await openTestDatabase(target.url);
    try {
      const err = await db
        .em()
        .transactional(async (em) => {
          await em.execute(`insert into t (body) values ('gone')`);
          await em.execute('rollback'); // what SQLite does by itself on some I/O errors
          throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
        })
        .then(
          () => undefined,
          (e: unknown) => e as TipError,
        );
      expect(err).toMatchObject({ code: TipErrorCodes.DB_FAILED, details: { rollbackError: expect.stringContaining('no transaction is active') } });
      expect(err?.message).toContain('disk I/O error');
      expect(err?.message).toContain(target.url.slice('sqlite:'.length));
      await db.em().transactional((em) => em.execute(`insert into t (body) values ('next')`));
      const rows = await db.em().execute<Array<{ body: string }>>('select body from t');
      expect(rows.map((r) => r.body)).toEqual(['next']);
    } finally {
      await db.close();
      await target.drop();
    }
  });
});
