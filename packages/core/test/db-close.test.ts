import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { TipErrorCodes } from '../src/index.js';
import { tempDatabase, tempPostgres, testDialects, testPostgresUrl } from '../src/testing/index.js';
import { openTestDatabase, waitFor } from './db-support.js';

const onPostgres = testDialects().includes('postgresql');

/** Number of backends of database `name` currently running a `pg_sleep`. */
async function sleepers(name: string): Promise<number> {
  const c = new pg.Client({ connectionString: testPostgresUrl() });
  await c.connect();
  try {
    const res = await c.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and query like 'select pg_sleep%' and state = 'active'`, [name]);
    return res.rows[0].n as number;
  } finally {
    await c.end();
  }
}

/** Rows of `t` as seen by a fresh connection (the transaction cut by close left none). */
async function reopenCount(url: string): Promise<number> {
  const db = await openTestDatabase(url, {}, false);
  try {
    const [{ n }] = await db.em().execute<Array<{ n: number }>>('select count(*) as n from t');
    return Number(n);
  } finally {
    await db.close();
  }
}

const dbName = (url: string): string => new URL(url).pathname.slice(1);

describe.runIf(onPostgres)('bounded close and calls on PostgreSQL', () => {
  it('close({ timeoutMs }) cancels an in-flight query and a transaction, resolves, and the callers get errors', async () => {
    const target = await tempPostgres();
    const db = await openTestDatabase(target.url);
    try {
      const query = db.em().execute('select pg_sleep(30)').then(
        () => 'resolved',
        () => 'rejected',
      );
      const transaction = db
        .em()
        .transactional(async (em) => {
          await em.execute(`insert into t (body) values ('in flight')`);
          await em.execute('select pg_sleep(30)');
        })
        .then(
          () => 'resolved',
          (e: unknown) => (e as { code?: string }).code,
        );
      await waitFor(async () => (await sleepers(dbName(target.url))) === 2, 'both sleeps to run');
      let closed = false;
      await db.close({ timeoutMs: 500 }).then(() => (closed = true));
      expect(closed).toBe(true);
      expect(await query).toBe('rejected');
      expect(await transaction).toBe(TipErrorCodes.DB_FAILED);
      expect((await db.ping()).ok).toBe(false);
    } finally {
      await db.close();
      await target.drop();
    }
  });

  it('ping never hangs: ok on a live database, not ok (bounded) when the pool is exhausted', async () => {
    const target = await tempPostgres();
    const db = await openTestDatabase(target.url, { poolSize: 1 });
    try {
      const live = await db.ping(30_000);
      expect(live).toMatchObject({ ok: true });
      expect(live.latencyMs).toBeGreaterThanOrEqual(0);
      const hog = db.em().execute('select pg_sleep(30)').catch(() => undefined);
      await waitFor(async () => (await sleepers(dbName(target.url))) === 1, 'the sleep to run');
      const stuck = await db.ping(300);
      expect(stuck.ok).toBe(false);
      expect(stuck.error).toContain('300 ms');
      await db.close({ timeoutMs: 100 });
      await hog;
    } finally {
      await db.close();
      await target.drop();
    }
  });

  it('statementTimeoutMs bounds every statement', async () => {
    const target = await tempPostgres();
    const db = await openTestDatabase(target.url, { statementTimeoutMs: 200 });
    try {
      const err = await db
        .em()
        .transactional((em) => em.execute('select pg_sleep(30)'))
        .then(
          () => undefined,
          (e: unknown) => e as { code: string; details: Record<string, unknown> },
        );
      expect(err).toMatchObject({ code: TipErrorCodes.DB_FAILED, details: { reason: 'timeout', code: '57014' } });
      expect((await db.ping(30_000)).ok).toBe(true);
    } finally {
      await db.close();
      await target.drop();
    }
  });
});

describe.each(testDialects())('close and ping on %s', (dialect) => {
  it('close waits for an open transaction only up to timeoutMs; ping reports a closed database', async () => {
    const target = await tempDatabase(dialect);
    const db = await openTestDatabase(target.url);
    try {
      expect((await db.ping(30_000)).ok).toBe(true);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let started!: () => void;
      const inTransaction = new Promise<void>((r) => (started = r));
      const transaction = db
        .em()
        .transactional(async (em) => {
          await em.execute(`insert into t (body) values ('x')`);
          started();
          await held;
          await em.execute(`insert into t (body) values ('y')`);
        })
        .then(
          () => 'resolved',
          () => 'rejected',
        );
      await inTransaction;
      await db.close({ timeoutMs: 200 });
      release();
      expect(await transaction).toBe('rejected');
      expect(await db.ping()).toMatchObject({ ok: false, error: expect.stringContaining('closed') });
      // no silent reconnect after close
      await expect(db.em().execute('select 1')).rejects.toMatchObject({ code: TipErrorCodes.DB_FAILED, details: { reason: 'closed' } });
      const rows = await reopenCount(target.url);
      expect(rows).toBe(0);
    } finally {
      await db.close();
      await target.drop();
    }
  });
});
