import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Constructor, EntitySchema } from '@mikro-orm/core';
import type { EntityManager, SqlMikroORM } from '@mikro-orm/sql';
import { Migration } from '@mikro-orm/migrations';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import type { Dialect, TipMigration } from './migrations.js';
import { cancelInFlight, closeDatabase, pingDatabase, type DatabaseCloseOptions, type DatabaseHandle, type DatabasePing } from './closing.js';
import { databaseError, isDriverError } from './errors.js';
import { assertSqliteFileExists, ensurePostgresDatabase } from './existence.js';
import type { ConnectionGuard } from './guardedDriver.js';
import { installConnectionGuard } from './guardConnection.js';
import { withMigrationLock } from './migrationLock.js';

/** Where the database lives, parsed from a URL. */
export interface DatabaseTarget {
  /** The SQL dialect the URL selects. */
  dialect: Dialect;
  /** SQLite file path (absolute) or `:memory:`; for PostgreSQL the connection URL. */
  location: string;
}

/**
 * Parses a database URL: `sqlite:./data/tip.sqlite`, `sqlite:/abs/file.db`, `sqlite::memory:`,
 * a bare path ending in `.sqlite`/`.db`, or `postgres://user@host:5432/db` (`postgresql://` too).
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the URL when it is neither
 */
export function parseDatabaseUrl(url: string, baseDir = process.cwd()): DatabaseTarget {
  const u = url.trim();
  if (/^postgres(ql)?:\/\//i.test(u)) return { dialect: 'postgresql', location: u };
  let path: string | undefined;
  if (u.startsWith('sqlite://')) path = u.slice('sqlite://'.length);
  else if (u.startsWith('sqlite:')) path = u.slice('sqlite:'.length);
  else if (u.startsWith('file:')) path = u.slice('file:'.length);
  else if (/\.(sqlite3?|db)$/i.test(u) && !u.includes('://')) path = u;
  if (path === undefined || path.length === 0) {
    throw new TipError(
      TipErrorCodes.CONFIG_INVALID,
      `database.url "${url}" is not a database URL (use "sqlite:./data/tip.sqlite" or "postgres://user@host/db")`,
      { details: { path: 'database.url', input: url } },
    );
  }
  return { dialect: 'sqlite', location: path === ':memory:' ? path : resolve(baseDir, path) };
}

/** Options of {@link Database.open}. New options are optional, so older callers keep working. */
export interface DatabaseOpenOptions {
  /** Database URL, see {@link parseDatabaseUrl}. */
  url: string;
  /** Directory relative SQLite paths are resolved against. */
  baseDir?: string;
  /** Entity schemas of core and every plugin. */
  entities: readonly EntitySchema[];
  /** Migrations by owner, applied owner by owner in the given order. */
  migrations: ReadonlyArray<{
    /** Who owns the migration (`@tip/core` or a plugin name); recorded with it. */
    owner: string;
    /** The migration itself. */
    migration: TipMigration;
  }>;
  /** Maximum pool size for PostgreSQL (default 10). */
  poolSize?: number;
  /**
   * Create a missing PostgreSQL database (`CREATE DATABASE` through the `postgres` maintenance
   * database, logged). Default false: a missing database is an error, so a typo in its name never
   * yields a fresh empty database. SQLite files are created unless {@link DatabaseOpenOptions.mustExist} is set.
   */
  create?: boolean;
  /**
   * SQLite: fail when the file does not exist instead of creating an empty one (read-only
   * commands set this). PostgreSQL databases always must exist unless {@link DatabaseOpenOptions.create} is set.
   */
  mustExist?: boolean;
  /** PostgreSQL: how long to wait for a connection, from the server or the pool (ms, default 10 000). */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL: `statement_timeout` of every pooled connection (ms). Default none — bulk
   * ingestion statements may legitimately run for minutes.
   */
  statementTimeoutMs?: number;
  /** How long {@link Database.migrate} waits for another process's migration lock (ms, default 300 000). */
  migrationLockTimeoutMs?: number;
  /** Logger for database lifecycle events (created, rollback failures, forced close). */
  log?: Logger;
}

/**
 * The database of one app: a MikroORM 7 instance on SQLite (default) or PostgreSQL, plus the
 * migrations core and the plugins registered.
 *
 * Every transaction releases its connection whatever ROLLBACK does, driver errors of
 * `em.transactional()` surface as `TIP_DB_FAILED` naming the database ({@link databaseError}),
 * migrations run under a cross-process lock, and {@link Database.ping} and
 * {@link Database.close} are bounded in time.
 *
 * @preventInline SqlMikroORM
 */
export class Database {
  /** The SQL dialect in use. */
  readonly dialect: Dialect;
  /** The underlying MikroORM instance (escape hatch; prefer {@link Database.em}). */
  readonly orm: SqlMikroORM;
  readonly #target: DatabaseTarget;
  readonly #guard: ConnectionGuard;
  readonly #options: DatabaseOpenOptions;
  #closing: Promise<void> | undefined;

  private constructor(orm: SqlMikroORM, target: DatabaseTarget, guard: ConnectionGuard, options: DatabaseOpenOptions) {
    this.orm = orm;
    this.dialect = target.dialect;
    this.#target = target;
    this.#guard = guard;
    this.#options = options;
  }

  /**
   * Connects (creating the SQLite file and its folder unless `mustExist`; a PostgreSQL database
   * only when `create`). Does not migrate.
   * @throws TipError `TIP_DB_FAILED` naming the database when it cannot be opened; with
   *   `details.reason: 'missing'` when it does not exist (the message says how to create it)
   */
  static async open(options: DatabaseOpenOptions): Promise<Database> {
    const target = parseDatabaseUrl(options.url, options.baseDir);
    const where = describeTarget(target);
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const migrationsList = options.migrations.map(({ owner, migration }) => ({
      name: `${owner}/${migration.name}`,
      class: adaptMigration(`${owner}/${migration.name}`, migration, target.dialect, where),
    }));
    const common = {
      entities: [...options.entities],
      discovery: { warnWhenNoEntities: false },
      allowGlobalContext: false,
      debug: false,
      // never let MikroORM create a missing database behind our back (see ensurePostgresDatabase)
      ensureDatabase: false,
      migrations: {
        migrationsList,
        tableName: 'tip_migrations',
        transactional: true,
        allOrNothing: true,
        snapshot: false,
        silent: true,
      },
      extensions: [(await import('@mikro-orm/migrations')).Migrator],
    };
    let orm: SqlMikroORM | undefined;
    try {
      let guard: ConnectionGuard;
      if (target.dialect === 'sqlite') {
        if (options.mustExist) assertSqliteFileExists(target.location, where);
        else if (target.location !== ':memory:') mkdirSync(dirname(target.location), { recursive: true });
        const { MikroORM } = await import('@mikro-orm/sqlite');
        orm = (await MikroORM.init({
          ...common,
          dbName: target.location,
          driverOptions: options.mustExist ? { fileMustExist: true } : {},
        })) as unknown as SqlMikroORM;
        const connection = orm.driver.getConnection() as unknown as { database?: { inTransaction: boolean; exec(sql: string): void } };
        guard = installConnectionGuard(orm, {
          where,
          log: options.log,
          immediateBegin: true,
          recoverSingle: () => {
            if (connection.database?.inTransaction) connection.database.exec('rollback');
          },
        });
        await orm.em.getConnection().execute('pragma journal_mode = wal');
        await orm.em.getConnection().execute('pragma busy_timeout = 5000');
      } else {
        await ensurePostgresDatabase({ url: target.location, where, create: options.create ?? false, connectTimeoutMs, log: options.log });
        const { MikroORM } = await import('@mikro-orm/postgresql');
        orm = (await MikroORM.init({
          ...common,
          clientUrl: target.location,
          pool: { max: options.poolSize ?? 10 },
          driverOptions: {
            connectionTimeoutMillis: connectTimeoutMs,
            ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
          },
        })) as unknown as SqlMikroORM;
        guard = installConnectionGuard(orm, { where, log: options.log, onPool: () => undefined });
        neverCreateDatabase(orm);
        await orm.em.getConnection().execute('select 1');
      }
      options.log?.debug({ database: where }, 'database opened');
      return new Database(orm, target, guard, options);
    } catch (err) {
      await orm?.close(true).catch(() => undefined);
      if (err instanceof TipError) throw err;
      throw databaseError(err, where, 'open');
    }
  }

  /** A fresh EntityManager fork: use one per unit of work, never share across jobs. */
  em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /** A human-readable name of the database, with any password removed. */
  get where(): string {
    return describeTarget(this.#target);
  }

  /**
   * Names of migrations not applied yet (read under the migration lock, so never a half-applied
   * view of a concurrent `migrate()`).
   */
  async pendingMigrations(): Promise<string[]> {
    return this.#withLock('reading migrations', async () => (await this.orm.migrator.getPending()).map((m) => m.name));
  }

  /**
   * Applies every pending migration in one transaction (all or nothing), holding the migration
   * lock (PostgreSQL advisory lock, SQLite lock file) so concurrent processes apply each migration
   * once; pending migrations are read after the lock is taken.
   * @returns the names applied
   * @throws TipError `TIP_DB_FAILED` naming the database and the failure
   */
  async migrate(): Promise<string[]> {
    return this.#withLock('migrating', async () => (await this.orm.migrator.up()).map((m) => m.name));
  }

  /**
   * Checks the database answers within `timeoutMs` (for `/healthz`). Never throws, never hangs.
   * @param timeoutMs upper bound on the check (default 2000)
   */
  async ping(timeoutMs = 2000): Promise<DatabasePing> {
    if (this.#closing) return { ok: false, latencyMs: 0, error: `${this.where} is closed` };
    return pingDatabase(this.#handle(), timeoutMs);
  }

  /**
   * Cancels queries and transactions in flight without closing the database (PostgreSQL:
   * terminates this pool's busy backends; SQLite: rolls back and releases a transaction that does
   * not end). Their callers get an error; the database stays usable. Never hangs.
   * @param timeoutMs bound on the cancellation (default 5000)
   * @returns how many connections were in flight
   */
  cancelInFlight(timeoutMs = 5000): Promise<number> {
    return cancelInFlight(this.#handle(), timeoutMs);
  }

  /**
   * Closes every connection. Waits up to `timeoutMs` (default 10 000) for in-flight queries and
   * transactions, then cancels them (PostgreSQL: terminates this pool's busy backends; their
   * callers get an error) and closes. Never hangs; idempotent.
   */
  close(options: DatabaseCloseOptions = {}): Promise<void> {
    if (!this.#closing) {
      this.#refuseReconnect();
      this.#closing = closeDatabase(this.#handle(), options.timeoutMs ?? 10_000);
    }
    return this.#closing;
  }

  /**
   * MikroORM reconnects lazily on the next query, which would silently open a new pool after
   * close (and keep the process alive): fail loudly instead.
   */
  #refuseReconnect(): void {
    const connection = this.orm.driver.getConnection() as unknown as { connect: () => Promise<void> };
    const where = this.where;
    connection.connect = async () => {
      throw new TipError(TipErrorCodes.DB_FAILED, `database ${where} is closed`, { details: { database: where, reason: 'closed' } });
    };
  }

  #handle(): DatabaseHandle {
    return { orm: this.orm, guard: this.#guard, dialect: this.dialect, url: this.#target.location, where: this.where, log: this.#options.log };
  }

  async #withLock<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const target = { ...this.#target, where: this.where, connectTimeoutMs: this.#options.connectTimeoutMs ?? 10_000 };
    try {
      return await withMigrationLock(target, this.#options.migrationLockTimeoutMs ?? 300_000, fn);
    } catch (err) {
      if (err instanceof TipError) throw err;
      if (isDriverError(err)) throw databaseError(err, this.where, operation);
      throw new TipError(TipErrorCodes.DB_FAILED, `${operation} ${this.where} failed: ${describeError(err)}`, {
        cause: err,
        details: { database: this.where, operation },
      });
    }
  }
}

/**
 * MikroORM's migrator calls `SchemaGenerator.ensureDatabase()`, which creates a missing database
 * (connecting to the `postgres` maintenance database). Creation is explicit in TIP
 * ({@link DatabaseOpenOptions.create}), so this turns it into "connect, never create".
 */
function neverCreateDatabase(orm: SqlMikroORM): void {
  const generator = orm.config.getExtension<{ ensureDatabase: (options?: unknown) => Promise<boolean> }>('@mikro-orm/schema-generator');
  if (!generator) return;
  generator.ensureDatabase = async () => {
    await orm.em.getConnection().ensureConnection();
    return false;
  };
}

function describeTarget(target: DatabaseTarget): string {
  return target.dialect === 'sqlite' ? `sqlite:${target.location}` : redactUrl(target.location);
}

function adaptMigration(name: string, migration: TipMigration, dialect: Dialect, where: string): Constructor<Migration> {
  return class extends Migration {
    override name = name;
    override async up(): Promise<void> {
      try {
        await migration.up({ dialect, execute: (sql, params) => this.execute(sql, params) });
      } catch (err) {
        // name the failing migration (MikroORM's migrator does not)
        const failure = databaseError(err, where, `migration ${name}`);
        failure.details.migration ??= name;
        throw failure;
      }
    }
  };
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
