import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Constructor, EntitySchema } from '@mikro-orm/core';
import type { EntityManager, SqlMikroORM } from '@mikro-orm/sql';
import { Migration } from '@mikro-orm/migrations';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import type { Dialect, TipMigration } from './migrations.js';

/** Where the database lives, parsed from a URL. */
export interface DatabaseTarget {
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

/** Options of {@link Database.open}. */
export interface DatabaseOpenOptions {
  /** Database URL, see {@link parseDatabaseUrl}. */
  url: string;
  /** Directory relative SQLite paths are resolved against. */
  baseDir?: string;
  /** Entity schemas of core and every plugin. */
  entities: readonly EntitySchema[];
  /** Migrations by owner, applied owner by owner in the given order. */
  migrations: ReadonlyArray<{ owner: string; migration: TipMigration }>;
  /** Maximum pool size for PostgreSQL (default 10). */
  poolSize?: number;
  log?: Logger;
}

/**
 * The database of one app: a MikroORM 7 instance on SQLite (default) or PostgreSQL, plus the
 * migrations core and the plugins registered.
 */
export class Database {
  /** The SQL dialect in use. */
  readonly dialect: Dialect;
  /** The underlying MikroORM instance (escape hatch; prefer {@link Database.em}). */
  readonly orm: SqlMikroORM;
  readonly #target: DatabaseTarget;

  private constructor(orm: SqlMikroORM, target: DatabaseTarget) {
    this.orm = orm;
    this.dialect = target.dialect;
    this.#target = target;
  }

  /**
   * Connects (creating the SQLite file's folder when needed). Does not migrate.
   * @throws TipError `TIP_DB_FAILED` naming the database when it cannot be opened
   */
  static async open(options: DatabaseOpenOptions): Promise<Database> {
    const target = parseDatabaseUrl(options.url, options.baseDir);
    const migrationsList = options.migrations.map(({ owner, migration }) => ({
      name: `${owner}/${migration.name}`,
      class: adaptMigration(`${owner}/${migration.name}`, migration, target.dialect),
    }));
    const common = {
      entities: [...options.entities],
      discovery: { warnWhenNoEntities: false },
      allowGlobalContext: false,
      debug: false,
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
    const where = target.dialect === 'sqlite' ? `sqlite:${target.location}` : redactUrl(target.location);
    try {
      let orm: SqlMikroORM;
      if (target.dialect === 'sqlite') {
        if (target.location !== ':memory:') mkdirSync(dirname(target.location), { recursive: true });
        const { MikroORM } = await import('@mikro-orm/sqlite');
        orm = (await MikroORM.init({ ...common, dbName: target.location })) as unknown as SqlMikroORM;
        await orm.em.getConnection().execute('pragma journal_mode = wal');
        await orm.em.getConnection().execute('pragma busy_timeout = 5000');
      } else {
        const { MikroORM } = await import('@mikro-orm/postgresql');
        orm = (await MikroORM.init({
          ...common,
          clientUrl: target.location,
          pool: { max: options.poolSize ?? 10 },
        })) as unknown as SqlMikroORM;
        await orm.em.getConnection().execute('select 1');
      }
      options.log?.debug({ database: where }, 'database opened');
      return new Database(orm, target);
    } catch (err) {
      throw new TipError(TipErrorCodes.DB_FAILED, `cannot open database ${where}: ${describeError(err)}`, {
        cause: err,
        details: { database: where },
      });
    }
  }

  /** A fresh EntityManager fork: use one per unit of work, never share across jobs. */
  em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /** A human-readable name of the database, with any password removed. */
  get where(): string {
    return this.dialect === 'sqlite' ? `sqlite:${this.#target.location}` : redactUrl(this.#target.location);
  }

  /** Names of migrations not applied yet. */
  async pendingMigrations(): Promise<string[]> {
    return (await this.orm.migrator.getPending()).map((m) => m.name);
  }

  /**
   * Applies every pending migration in one transaction (all or nothing).
   * @returns the names applied
   * @throws TipError `TIP_DB_FAILED` naming the failing migration
   */
  async migrate(): Promise<string[]> {
    try {
      return (await this.orm.migrator.up()).map((m) => m.name);
    } catch (err) {
      throw new TipError(TipErrorCodes.DB_FAILED, `migrating ${this.where} failed: ${describeError(err)}`, {
        cause: err,
        details: { database: this.where },
      });
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await this.orm.close(true);
  }
}

function adaptMigration(name: string, migration: TipMigration, dialect: Dialect): Constructor<Migration> {
  return class extends Migration {
    override name = name;
    override async up(): Promise<void> {
      await migration.up({ dialect, execute: (sql, params) => this.execute(sql, params) });
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
