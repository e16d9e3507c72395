import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { TipErrorCodes, type TipError } from '../src/index.js';
import { tempSqlite, testDialects, testPostgresUrl } from '../src/testing/index.js';
import { openTestDatabase } from './db-support.js';

const onPostgres = testDialects().includes('postgresql');
const onSqlite = testDialects().includes('sqlite');

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: testPostgresUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const databaseExists = (name: string): Promise<boolean> =>
  admin(async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);

function urlOf(name: string): string {
  const url = new URL(testPostgresUrl());
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

describe.runIf(onPostgres)('a missing PostgreSQL database', () => {
  it('is an error naming the database and the fix, and is not created', async () => {
    const name = `tip_t_typo_${randomUUID().slice(0, 8)}`;
    const err = await openTestDatabase(urlOf(name), {}, false).then(
      () => undefined,
      (e: unknown) => e as TipError,
    );
    expect(err).toMatchObject({ code: TipErrorCodes.DB_MISSING, details: { reason: 'missing', name } });
    expect(err?.message).toContain(name);
    expect(err?.message).toContain('tip migrate --create');
    expect(err?.message).toContain('database.create: true');
    expect(await databaseExists(name)).toBe(false);
  });

  it('is created explicitly with create: true (name quoted safely), then migrates', async () => {
    const name = `Tip-T ${randomUUID().slice(0, 8)}"q`;
    try {
      const db = await openTestDatabase(urlOf(name), { create: true });
      try {
        expect(await databaseExists(name)).toBe(true);
        expect(await db.pendingMigrations()).toEqual([]);
      } finally {
        await db.close();
      }
      // an existing database with create: true is simply opened
      const again = await openTestDatabase(urlOf(name), { create: true }, false);
      await again.close();
    } finally {
      await admin((c) => c.query(`drop database if exists "${name.replaceAll('"', '""')}" with (force)`));
    }
  });
});

describe.runIf(onSqlite)('a missing SQLite file', () => {
  it('with mustExist is an error naming the path, and no file is created', async () => {
    const target = tempSqlite();
    const path = target.url.slice('sqlite:'.length);
    try {
      const err = await openTestDatabase(target.url, { mustExist: true }, false).then(
        () => undefined,
        (e: unknown) => e as TipError,
      );
      expect(err).toMatchObject({ code: TipErrorCodes.DB_MISSING, details: { reason: 'missing', path } });
      expect(err?.message).toContain(path);
      expect(existsSync(path)).toBe(false);

      const created = await openTestDatabase(target.url);
      await created.close();
      const opened = await openTestDatabase(target.url, { mustExist: true }, false);
      expect(await opened.pendingMigrations()).toEqual([]);
      await opened.close();
    } finally {
      await target.drop();
    }
  });
});
