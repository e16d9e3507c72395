import type { Dialect as KyselyDialect } from 'kysely';
import type { SqlMikroORM } from '@mikro-orm/sql';
import type { Logger } from 'pino';
import { TipError } from '../errors/TipError.js';
import { databaseError, isDriverError } from './errors.js';
import { ConnectionGuard, type GuardedConnection, type GuardedTransaction } from './guardedDriver.js';

/** The parts of MikroORM's `AbstractSqlConnection` the guard patches. @internal */
interface PatchableConnection {
  createKyselyDialect(overrides: Record<string, unknown>): KyselyDialect | Promise<KyselyDialect>;
  transactional<T>(cb: (trx: unknown) => Promise<T>, options?: TransactionalOptions): Promise<T>;
  begin(options?: TransactionalOptions): Promise<ControlledTrx>;
  commit(ctx: ControlledTrx, eventBroadcaster?: unknown, loggerContext?: unknown): Promise<void>;
  rollback(ctx: ControlledTrx, eventBroadcaster?: unknown, loggerContext?: unknown): Promise<void>;
}

/** Options MikroORM passes to `transactional()` (only what the guard forwards). @internal */
interface TransactionalOptions {
  eventBroadcaster?: unknown;
  loggerContext?: unknown;
  [key: string]: unknown;
}

/** A kysely controlled transaction (only what the guard uses). @internal */
interface ControlledTrx {
  getExecutor(): { provideConnection<T>(consumer: (c: unknown) => Promise<T>): Promise<T> };
}

/** Options of {@link installConnectionGuard}. @internal */
export interface ConnectionGuardOptions {
  /** The database, password redacted, for error messages. */
  where: string;
  /** Logger for swallowed ROLLBACK failures. */
  log?: Logger;
  /** For SQLite: rolls back a transaction SQLite left open after a failed ROLLBACK. */
  recoverSingle?: () => void;
  /** Start transactions with `BEGIN IMMEDIATE` (SQLite). */
  immediateBegin?: boolean;
  /** Receives the `pg` pool when it is created (PostgreSQL only). */
  onPool?: (pool: { connect: (...args: unknown[]) => unknown }) => void;
}

async function transactionOf(trx: ControlledTrx): Promise<GuardedTransaction | undefined> {
  try {
    return await trx.getExecutor().provideConnection(async (c) => (c as GuardedConnection).transaction);
  } catch {
    return undefined;
  }
}

/**
 * Guards a MikroORM SQL connection before its first use (MikroORM 7 connects lazily):
 *
 * - its kysely dialect's driver is wrapped by a {@link ConnectionGuard}, so a failed ROLLBACK
 *   (or BEGIN) never leaks a connection — for `em.transactional()`, explicit `em.begin()` and
 *   direct kysely transactions alike;
 * - `transactional()` rethrows the ORIGINAL error; driver errors (and any error whose ROLLBACK
 *   failed too) become a `TIP_DB_FAILED` {@link TipError} naming the database, with the rollback
 *   failure attached.
 *
 * @internal
 */
export function installConnectionGuard(orm: SqlMikroORM, options: ConnectionGuardOptions): ConnectionGuard {
  const { where, log } = options;
  const guard = new ConnectionGuard({
    onBroken: (err, phase) =>
      log?.warn({ database: where, err }, `${phase === 'begin' ? 'BEGIN' : 'ROLLBACK'} failed on ${where}; the connection is discarded`),
    recoverSingle: options.recoverSingle,
    immediateBegin: options.immediateBegin,
  });
  const connection = orm.driver.getConnection() as unknown as PatchableConnection;
  const createDialect = connection.createKyselyDialect.bind(connection);
  connection.createKyselyDialect = (overrides) => {
    const withPool = options.onPool
      ? {
          ...overrides,
          onPoolCreated: (pool: { connect: (...args: unknown[]) => unknown }) => {
            guard.watchPool(pool);
            options.onPool?.(pool);
            return (overrides.onPoolCreated as ((p: unknown) => unknown) | undefined)?.(pool);
          },
        }
      : overrides;
    const dialect = createDialect(withPool);
    return dialect instanceof Promise ? dialect.then((d) => guard.wrapDialect(d)) : guard.wrapDialect(dialect);
  };
  connection.transactional = async function guardedTransactional<T>(
    this: PatchableConnection,
    cb: (trx: unknown) => Promise<T>,
    txOptions: TransactionalOptions = {},
  ): Promise<T> {
    let trx: ControlledTrx;
    try {
      trx = await this.begin(txOptions);
    } catch (err) {
      throw isDriverError(err) ? databaseError(err, where, 'begin transaction') : err;
    }
    try {
      const result = await cb(trx);
      await this.commit(trx, txOptions.eventBroadcaster, txOptions.loggerContext);
      return result;
    } catch (error) {
      const tx = await transactionOf(trx);
      let rollbackError: unknown;
      try {
        await this.rollback(trx, txOptions.eventBroadcaster, txOptions.loggerContext);
      } catch (err) {
        rollbackError = err;
      }
      rollbackError ??= tx?.rollbackError;
      if (error instanceof TipError) {
        if (rollbackError !== undefined) log?.warn({ database: where, err: rollbackError }, `rollback failed on ${where}`);
        throw error;
      }
      if (rollbackError === undefined && !isDriverError(error)) throw error;
      throw databaseError(error, where, 'transaction', rollbackError === undefined ? {} : { rollbackError });
    }
  };
  return guard;
}
