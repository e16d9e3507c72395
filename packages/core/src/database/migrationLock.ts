import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import { databaseError } from './errors.js';

/**
 * Key of the PostgreSQL session advisory lock held while migrating (`'TIP' 0x01`). Every TIP
 * process migrating the same database takes this lock, so only one applies migrations at a time.
 */
export const MIGRATION_LOCK_KEY = 0x54495001;

/** What {@link withMigrationLock} needs. @internal */
export interface MigrationLockTarget {
  /** The SQL dialect. */
  dialect: 'sqlite' | 'postgresql';
  /** PostgreSQL URL, or the SQLite file path. */
  location: string;
  /** The database, password redacted. */
  where: string;
  /** Bound on connecting (PostgreSQL), ms. */
  connectTimeoutMs: number;
}

/**
 * Runs `fn` (which must read the pending migrations itself, i.e. after the lock is held) while
 * holding the migration lock of the database:
 *
 * - PostgreSQL: `pg_advisory_lock(MIGRATION_LOCK_KEY)` on a dedicated connection (released by
 *   `pg_advisory_unlock` and in any case when that connection ends), waiting at most `waitMs`
 *   (`lock_timeout`);
 * - SQLite: an exclusive lock file `<file>.migrate-lock` holding the owner's pid (a lock left by a
 *   dead process is taken over), polled until `waitMs` passes. `:memory:` and files in a
 *   read-only folder need no lock.
 *
 * @throws TipError `TIP_DB_FAILED` when the lock cannot be taken within `waitMs`
 * @internal
 */
export async function withMigrationLock<T>(target: MigrationLockTarget, waitMs: number, fn: () => Promise<T>): Promise<T> {
  if (target.dialect === 'postgresql') return withAdvisoryLock(target, waitMs, fn);
  if (target.location === ':memory:') return fn();
  return withLockFile(target, waitMs, fn);
}

async function withAdvisoryLock<T>(target: MigrationLockTarget, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: target.location, connectionTimeoutMillis: target.connectTimeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(`set lock_timeout = ${Math.max(1, Math.round(waitMs))}`);
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw databaseError(err, target.where, 'taking the migration lock');
  }
  try {
    return await fn();
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

function lockOwnerAlive(lockFile: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
  } catch {
    return true; // being written or just removed: retry
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

async function withLockFile<T>(target: MigrationLockTarget, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const lockFile = `${target.location}.migrate-lock`;
  const deadline = performance.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // a read-only folder: nothing can migrate here either, so there is nothing to serialise
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') return fn();
      if (code !== 'EEXIST') throw databaseError(err, target.where, 'taking the migration lock');
      if (!lockOwnerAlive(lockFile)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (performance.now() > deadline) {
        throw new TipError(TipErrorCodes.DB_FAILED, `another process is migrating ${target.where} (lock file ${lockFile} still held after ${waitMs} ms)`, {
          details: { database: target.where, lockFile, reason: 'busy' },
        });
      }
      await sleep(25);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}
