import { CompiledQuery } from 'kysely';
import type { DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';

/**
 * One checked-out `pg` client as the pool hands it out (only what the guard uses).
 * @internal
 */
export interface PooledPgClient {
  /** Returns the client to the pool; with an error the pool discards it. */
  release(err?: Error | boolean): void;
  /** Backend process id (set once connected). */
  processID?: number | null;
}

/**
 * A transaction on a guarded connection: collects the ROLLBACK failure so the transaction's
 * caller can attach it to the original error.
 * @internal
 */
export interface GuardedTransaction {
  /** The error ROLLBACK raised (swallowed so the connection is still released). */
  rollbackError?: unknown;
}

/**
 * Wraps a kysely connection: after a failed BEGIN or ROLLBACK the connection is "broken" — every
 * further query on it fails with that error until it is released, and releasing destroys it.
 * @internal
 */
export class GuardedConnection implements DatabaseConnection {
  /** The driver's own connection. */
  readonly inner: DatabaseConnection;
  /** The `pg` client behind this connection (PostgreSQL only). */
  pgClient?: PooledPgClient;
  /** The error that made this connection unusable, until it is released. */
  broken?: unknown;
  /** The transaction currently open on this connection. */
  transaction?: GuardedTransaction;
  /** Set when {@link ConnectionGuard.forceRelease} gave the client back already. */
  forceReleased = false;
  /** Gives a single-connection driver's connection back (SQLite: rolls back, releases its mutex). */
  releaseSingle?: (reason: Error) => Promise<void>;

  /** Wraps `inner`, exposing its optional cancel/kill/session hooks unchanged. */
  constructor(inner: DatabaseConnection) {
    this.inner = inner;
    if (inner.cancelQuery) this.cancelQuery = (p) => inner.cancelQuery!(p);
    if (inner.killSession) this.killSession = (p) => inner.killSession!(p);
    if (inner.collectSessionInfo) this.collectSessionInfo = () => inner.collectSessionInfo!();
  }

  /** @inheritDoc */
  cancelQuery?: DatabaseConnection['cancelQuery'];
  /** @inheritDoc */
  killSession?: DatabaseConnection['killSession'];
  /** @inheritDoc */
  collectSessionInfo?: DatabaseConnection['collectSessionInfo'];

  /** Runs the query, or fails with the error that broke this connection. */
  async executeQuery<R>(query: CompiledQuery, options?: Parameters<DatabaseConnection['executeQuery']>[1]): Promise<QueryResult<R>> {
    if (this.broken !== undefined) throw this.broken;
    return this.inner.executeQuery<R>(query, options);
  }

  /** Streams the query, or fails with the error that broke this connection. */
  async *streamQuery<R>(query: CompiledQuery, chunkSize: number, options?: Parameters<DatabaseConnection['streamQuery']>[2]): AsyncIterableIterator<QueryResult<R>> {
    if (this.broken !== undefined) throw this.broken;
    yield* this.inner.streamQuery<R>(query, chunkSize, options);
  }
}

/** What the guard needs from the database it protects. @internal */
export interface ConnectionGuardHooks {
  /** Called when a ROLLBACK (or BEGIN) failed: for logging. */
  onBroken(err: unknown, phase: 'begin' | 'rollback'): void;
  /** Cleans up after a broken connection that cannot be destroyed (SQLite: roll back a leftover transaction). */
  recoverSingle?(): void;
  /**
   * Start transactions with `BEGIN IMMEDIATE` (SQLite): the write lock is taken up front, so
   * concurrent writers queue on `busy_timeout` instead of failing with `SQLITE_BUSY` later.
   */
  immediateBegin?: boolean;
}

/**
 * Tracks the connections of one database and wraps its kysely driver so that every transaction
 * releases its connection whatever ROLLBACK does:
 *
 * - kysely releases a connection only after a *successful* ROLLBACK (and on SQLite holds a mutex
 *   until then), so a failed ROLLBACK is swallowed here and recorded on the
 *   {@link GuardedTransaction}; the caller's original error still propagates.
 * - a connection whose ROLLBACK or BEGIN failed is destroyed on release (PostgreSQL:
 *   `client.release(err)`, so the pool discards it) instead of going back to the pool.
 *
 * @internal
 */
export class ConnectionGuard {
  readonly #hooks: ConnectionGuardHooks;
  readonly #connections = new WeakMap<DatabaseConnection, GuardedConnection>();
  /** Connections checked out right now (acquired, not yet released). */
  readonly checkedOut = new Set<GuardedConnection>();
  #slot: { client?: PooledPgClient } | undefined;
  #idleWaiters: Array<() => void> = [];
  /**
   * Single-connection dialects (SQLite): kysely would serialise them with a mutex of its own that
   * nobody can release for a holder that never ends; the guard keeps that mutex instead.
   */
  #single = false;
  #locked = false;
  #lockWaiters: Array<() => void> = [];

  /** A guard reporting through `hooks`. */
  constructor(hooks: ConnectionGuardHooks) {
    this.#hooks = hooks;
  }

  /**
   * Patches a `pg` pool so the guard learns which client backs which connection. kysely's
   * `PostgresDriver.acquireConnection` calls `pool.connect()` synchronously as its first step,
   * so the client resolved there belongs to the acquire that set the slot.
   */
  watchPool(pool: { connect: (...args: unknown[]) => unknown }): void {
    const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
    pool.connect = (...args: unknown[]) => {
      const slot = this.#slot;
      const result = connect(...args);
      if (slot && args.length === 0 && result instanceof Promise) {
        result.then((client: PooledPgClient) => (slot.client = client), () => undefined);
      }
      return result;
    };
  }

  /** A dialect like `dialect` whose driver is guarded. */
  wrapDialect(dialect: Dialect): Dialect {
    const guard = this;
    return {
      createAdapter: () => {
        const adapter = dialect.createAdapter();
        if (adapter.supportsMultipleConnections !== false) return adapter;
        guard.#single = true;
        return new Proxy(adapter, {
          get(target, prop) {
            if (prop === 'supportsMultipleConnections') return true; // the guard serialises instead
            const value: unknown = Reflect.get(target, prop, target);
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
      createIntrospector: (db) => dialect.createIntrospector(db),
      createQueryCompiler: () => dialect.createQueryCompiler(),
      createDriver: () => guard.#wrapDriver(dialect.createDriver()),
    };
  }

  /** Resolves once no connection is checked out (immediately when none is). */
  idle(): Promise<void> {
    if (this.checkedOut.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Gives every checked-out connection back as broken (last resort of close and of a stop whose
   * jobs ignore their abort): a `pg` client goes back to its pool to be discarded; a SQLite
   * connection held by a transaction that never ends is rolled back and released, and its holder's
   * next query fails with `reason`.
   */
  forceRelease(reason: Error): void {
    for (const conn of [...this.checkedOut]) {
      if (conn.forceReleased) continue;
      conn.forceReleased = true;
      if (conn.pgClient) {
        try {
          conn.pgClient.release(reason);
        } catch {
          // already released
        }
      } else if (conn.releaseSingle) {
        // The holder keeps this (now broken) wrapper; the next acquirer gets a fresh one.
        conn.broken = reason;
        void conn.releaseSingle(reason).finally(() => {
          this.#released(conn);
          this.#unlock();
        });
      }
    }
  }

  async #lock(): Promise<void> {
    while (this.#locked) await new Promise<void>((resolve) => this.#lockWaiters.push(resolve));
    this.#locked = true;
  }

  #unlock(): void {
    this.#locked = false;
    this.#lockWaiters.shift()?.();
  }

  #guard(inner: DatabaseConnection): GuardedConnection {
    let g = this.#connections.get(inner);
    if (!g) {
      g = new GuardedConnection(inner);
      this.#connections.set(inner, g);
    }
    return g;
  }

  #released(conn: GuardedConnection): void {
    this.checkedOut.delete(conn);
    if (this.checkedOut.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #wrapDriver(driver: Driver): Driver {
    const guard = this;
    const unwrap = (c: DatabaseConnection): GuardedConnection => c as GuardedConnection;
    return {
      init: (o) => driver.init(o),
      async acquireConnection(options) {
        if (guard.#single) await guard.#lock();
        const slot: { client?: PooledPgClient } = {};
        guard.#slot = slot;
        let pending: Promise<DatabaseConnection>;
        try {
          pending = driver.acquireConnection(options);
        } catch (err) {
          if (guard.#single) guard.#unlock();
          throw err;
        } finally {
          guard.#slot = undefined;
        }
        const conn = guard.#single ? new GuardedConnection(await pending) : guard.#guard(await pending);
        if (slot.client) conn.pgClient = slot.client;
        conn.broken = undefined;
        conn.forceReleased = false;
        if (!slot.client) {
          conn.releaseSingle = async () => {
            await conn.inner.executeQuery(CompiledQuery.raw('rollback')).catch(() => undefined);
            await driver.releaseConnection(conn.inner);
          };
        }
        guard.checkedOut.add(conn);
        return conn;
      },
      async beginTransaction(c, settings: TransactionSettings) {
        const conn = unwrap(c);
        conn.transaction = {};
        try {
          if (guard.#hooks.immediateBegin) await conn.inner.executeQuery(CompiledQuery.raw('begin immediate'));
          else await driver.beginTransaction(conn.inner, settings);
        } catch (err) {
          // kysely's controlled transactions never release a connection whose BEGIN failed:
          // keep going with a broken connection so the caller's first query (or COMMIT) fails with
          // this error and the usual rollback/release path runs.
          conn.broken = err;
          guard.#hooks.onBroken(err, 'begin');
        }
      },
      async commitTransaction(c) {
        const conn = unwrap(c);
        if (conn.broken !== undefined) throw conn.broken;
        await driver.commitTransaction(conn.inner);
      },
      async rollbackTransaction(c) {
        const conn = unwrap(c);
        if (conn.broken !== undefined) return;
        try {
          await driver.rollbackTransaction(conn.inner);
        } catch (err) {
          conn.broken = err;
          if (conn.transaction) conn.transaction.rollbackError = err;
          guard.#hooks.onBroken(err, 'rollback');
        }
      },
      async savepoint(c, name, compile) {
        const conn = unwrap(c);
        if (conn.broken !== undefined) throw conn.broken;
        await driver.savepoint!(conn.inner, name, compile);
      },
      async rollbackToSavepoint(c, name, compile) {
        const conn = unwrap(c);
        if (conn.broken !== undefined) throw conn.broken;
        await driver.rollbackToSavepoint!(conn.inner, name, compile);
      },
      async releaseSavepoint(c, name, compile) {
        const conn = unwrap(c);
        if (conn.broken !== undefined) throw conn.broken;
        await driver.releaseSavepoint!(conn.inner, name, compile);
      },
      async releaseConnection(c, options) {
        const conn = unwrap(c);
        const broken = conn.broken;
        conn.broken = undefined;
        conn.transaction = undefined;
        if (conn.forceReleased) {
          guard.#released(conn); // given back already (its successor may hold the lock now)
          return;
        }
        try {
          if (broken === undefined) {
            await driver.releaseConnection(conn.inner, options);
          } else if (conn.pgClient) {
            conn.pgClient.release(broken instanceof Error ? broken : new Error(String(broken)));
          } else {
            await driver.releaseConnection(conn.inner, options);
            guard.#hooks.recoverSingle?.();
          }
        } finally {
          guard.#released(conn);
          if (guard.#single) guard.#unlock();
        }
      },
      destroy: (o) => driver.destroy(o),
    };
  }
}
