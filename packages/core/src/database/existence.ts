import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import { databaseError } from './errors.js';

/** How to create a missing database, for error messages. @internal */
export const CREATE_HINT = 'create it with `tip migrate --create`, or set `database.create: true`';

/** Quotes a PostgreSQL identifier (`"na""me"`). @internal */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The database name of a PostgreSQL URL (URL-decoded), or `undefined` when it names none. @internal */
export function postgresDatabaseName(url: string): string | undefined {
  try {
    const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    return name.length > 0 ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The TipError for a database that does not exist. @internal */
export function missingDatabaseError(where: string, name: string, cause?: unknown): TipError {
  return new TipError(TipErrorCodes.DB_MISSING, `database ${where} does not exist: ${CREATE_HINT}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { database: where, name, reason: 'missing' },
  });
}

/** Options of {@link ensurePostgresDatabase}. @internal */
export interface EnsurePostgresOptions {
  /** Connection URL of the database. */
  url: string;
  /** The URL with the password redacted. */
  where: string;
  /** Create the database when missing (connecting to the `postgres` maintenance database). */
  create: boolean;
  /** Bound on connecting, in ms. */
  connectTimeoutMs: number;
  /** Where the creation of a database is logged. */
  log?: Logger;
}

/**
 * Checks that the PostgreSQL database of `url` exists by connecting to it. When it is missing,
 * creates it if `create` is set (quoted safely, tolerating a concurrent creation), else fails.
 * MikroORM would otherwise create it silently (`ensureDatabase`), which turns a typo in the
 * database name into a fresh empty database.
 *
 * @returns true when the database was created
 * @throws TipError `TIP_DB_MISSING` (`details.reason: 'missing'`) naming the database and the fix
 */
export async function ensurePostgresDatabase(options: EnsurePostgresOptions): Promise<boolean> {
  const { default: pg } = await import('pg');
  const name = postgresDatabaseName(options.url);
  const probe = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: options.connectTimeoutMs });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: unknown }).code !== '3D000' || name === undefined) throw databaseError(err, options.where, 'open');
    if (!options.create) throw missingDatabaseError(options.where, name, err);
  } finally {
    await probe.end().catch(() => undefined);
  }
  const adminUrl = new URL(options.url);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: options.connectTimeoutMs });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    await admin.query(`create database ${quoteIdent(name)}`);
    options.log?.info({ database: options.where }, `created database ${name}`);
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === '42P04') return false; // created concurrently
    throw databaseError(err, options.where, `create database ${quoteIdent(name)}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/**
 * Fails when a SQLite file is missing (read-only commands must not create an empty database).
 * @throws TipError `TIP_DB_MISSING` (`details.reason: 'missing'`) naming the path and the fix
 */
export function assertSqliteFileExists(path: string, where: string): void {
  if (path === ':memory:' || existsSync(path)) return;
  throw new TipError(TipErrorCodes.DB_MISSING, `database file ${path} does not exist: check database.url, or create it with \`tip migrate\``, {
    details: { database: where, path, reason: 'missing' },
  });
}
