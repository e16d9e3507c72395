import type { EntitySchema } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { CoreConfig } from '../config/schema.js';
import { Database } from '../database/Database.js';
import type { TipMigration } from '../database/migrations.js';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import type { DatabaseHealth } from './health.js';

/** @internal How the app opens its database. */
export interface OpenAppDatabaseOptions {
  config: Readonly<CoreConfig>;
  entities: readonly EntitySchema[];
  migrations: ReadonlyArray<{ owner: string; migration: TipMigration }>;
  log: Logger;
  /** Apply pending migrations (else pending ones are an error). */
  migrate: boolean;
  /** Create a missing database. */
  create: boolean;
  /** Read-only use: a missing database is an error, never created. */
  readOnly: boolean;
}

/**
 * @internal Opens the app's database; migrates it, or checks that nothing is pending.
 * On failure after opening, closes it before rethrowing.
 * @throws TipError `TIP_DB_FAILED` naming the database (pending migrations, cannot open)
 */
export async function openAppDatabase(o: OpenAppDatabaseOptions): Promise<{ db: Database; applied: string[] }> {
  const db = await Database.open({
    url: o.config.database.url,
    baseDir: o.config.baseDir,
    entities: o.entities,
    migrations: o.migrations,
    poolSize: o.config.database.poolSize,
    log: o.log,
    create: o.create || (o.config.database.create && !o.readOnly),
    mustExist: o.readOnly,
    connectTimeoutMs: o.config.database.connectTimeout,
    statementTimeoutMs: o.config.database.statementTimeout,
  });
  try {
    if (o.migrate) {
      const applied = await db.migrate();
      if (applied.length > 0) o.log.info({ applied }, `applied ${applied.length} migration(s)`);
      return { db, applied };
    }
    const pending = await db.pendingMigrations();
    if (pending.length > 0) {
      throw new TipError(TipErrorCodes.DB_FAILED, `${db.where} has ${pending.length} pending migration(s): run "tip migrate" (or set database.autoMigrate)`, {
        details: { pending, database: db.where },
      });
    }
    return { db, applied: [] };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/** @internal `select 1` bounded by a timeout; never throws. */
export async function pingDatabase(db: Database, timeoutMs: number): Promise<DatabaseHealth> {
  const ping = await db.ping(timeoutMs);
  return ping.ok ? { ok: true, latencyMs: ping.latencyMs } : { ok: false, latencyMs: ping.latencyMs, error: `${db.where}: ${ping.error ?? 'no answer'}` };
}
