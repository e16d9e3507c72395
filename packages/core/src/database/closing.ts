import type { SqlMikroORM } from '@mikro-orm/sql';
import type { Logger } from 'pino';
import { describeError } from '../errors/TipError.js';
import type { ConnectionGuard } from './guardedDriver.js';

/** Result of {@link Database.ping}. */
export interface DatabasePing {
  /** True when the database answered `select 1` in time. */
  ok: boolean;
  /** How long the ping took (ms), whether it succeeded or not. */
  latencyMs: number;
  /** Why the ping failed (absent when `ok`). */
  error?: string;
}

/** Options of {@link Database.close}. */
export interface DatabaseCloseOptions {
  /**
   * How long to wait for in-flight queries and transactions before cancelling them (ms, default
   * 10 000). Closing never waits much longer than twice this.
   */
  timeoutMs?: number;
}

/** What {@link closeDatabase} and {@link pingDatabase} need. @internal */
export interface DatabaseHandle {
  /** The MikroORM instance to close or ping. */
  orm: SqlMikroORM;
  /** The guard tracking this database's checked-out connections. */
  guard: ConnectionGuard;
  /** The SQL dialect. */
  dialect: 'sqlite' | 'postgresql';
  /** Connection URL (PostgreSQL), for the control connection that terminates backends. */
  url: string;
  /** The database, password redacted. */
  where: string;
  /** Where forced cancellations are logged. */
  log?: Logger;
}

/** Resolves `true` when `promise` settles first, `false` when `ms` passes first. @internal */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function terminateBackends(h: DatabaseHandle, pids: number[], timeoutMs: number): Promise<void> {
  const { default: pg } = await import('pg');
  const control = new pg.Client({ connectionString: h.url, connectionTimeoutMillis: Math.max(500, timeoutMs) });
  control.on('error', () => undefined);
  try {
    await control.connect();
    await control.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids]);
  } finally {
    await control.end().catch(() => undefined);
  }
}

/**
 * Cancels the work in flight on a database that stays open: terminates the PostgreSQL backends of
 * this pool's checked-out connections (their queries fail, their transactions roll back), and on
 * SQLite rolls back and releases a connection held by a transaction that does not end. Used when
 * the drain timeout passed and jobs ignored their abort signal.
 * @returns how many connections were in flight
 * @internal
 */
export async function cancelInFlight(h: DatabaseHandle, timeoutMs: number, why = 'cancelled: the app is stopping'): Promise<number> {
  const busy = [...h.guard.checkedOut];
  if (busy.length === 0) return 0;
  h.log?.warn({ database: h.where, inFlight: busy.length }, `${h.where}: cancelling ${busy.length} in-flight connection(s) (${why})`);
  const pids = busy.map((c) => c.pgClient?.processID).filter((pid): pid is number => typeof pid === 'number');
  if (h.dialect === 'postgresql' && pids.length > 0) {
    await within(
      terminateBackends(h, pids, Math.max(1000, timeoutMs)).catch((err: unknown) =>
        h.log?.warn({ database: h.where, err }, `cannot terminate in-flight queries: ${describeError(err)}`),
      ),
      Math.max(1000, timeoutMs),
    );
  }
  if (!(await within(h.guard.idle(), Math.max(500, Math.min(timeoutMs, 2000))))) h.guard.forceRelease(new Error(why));
  return busy.length;
}

/**
 * Closes a database without ever hanging: waits up to `timeoutMs` for checked-out connections
 * to come back, then terminates their PostgreSQL backends (through a separate connection) so
 * in-flight queries fail, then force-releases whatever is still out, then closes the pool.
 * @internal
 */
export async function closeDatabase(h: DatabaseHandle, timeoutMs: number): Promise<void> {
  if (!(await within(h.guard.idle(), timeoutMs))) await cancelInFlight(h, timeoutMs, `closing: still in flight after ${timeoutMs} ms`);
  if (!(await within(h.orm.close(true), Math.max(1000, timeoutMs)))) {
    h.log?.warn({ database: h.where }, `closing ${h.where} did not finish in time; giving up on it`);
  }
}

/**
 * Checks the database answers, bounded by `timeoutMs` (a timer races the query; PostgreSQL also
 * gets a `statement_timeout` of `timeoutMs`). Never throws.
 * @internal
 */
export async function pingDatabase(h: DatabaseHandle, timeoutMs: number): Promise<DatabasePing> {
  const started = performance.now();
  const connection = h.orm.em.getConnection();
  const work =
    h.dialect === 'postgresql'
      ? connection.transactional(async (trx) => {
          await connection.execute(`set local statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`, [], 'run', trx);
          await connection.execute('select 1', [], 'all', trx);
        })
      : connection.execute('select 1');
  let error: string | undefined;
  const settled = work.then(
    () => undefined,
    (err: unknown) => {
      error = describeError(err);
    },
  );
  const inTime = await within(settled, timeoutMs);
  const latencyMs = Math.round((performance.now() - started) * 10) / 10;
  if (!inTime) return { ok: false, latencyMs, error: `${h.where} did not answer within ${timeoutMs} ms` };
  return error === undefined ? { ok: true, latencyMs } : { ok: false, latencyMs, error };
}
