import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

/** A throwaway database for one test (file): its URL and how to remove it. */
export interface TestDatabase {
  /** Which database engine it is. */
  dialect: 'sqlite' | 'postgresql';
  /** Connection URL to pass as `database.url` (`sqlite:…` or `postgres://…`). */
  url: string;
  /** Drops the database (PostgreSQL) or deletes the file's folder (SQLite). */
  drop(): Promise<void>;
}

/** The PostgreSQL server tests use: `TIP_TEST_PG_URL` or `postgres://postgres@127.0.0.1:5432/test`. */
export const testPostgresUrl = (): string => process.env.TIP_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh SQLite file in a temp folder. */
export function tempSqlite(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'tip-test-'));
  return {
    dialect: 'sqlite',
    url: `sqlite:${join(dir, 'tip.sqlite')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A fresh PostgreSQL database (`tip_t_<random>`) on the test server; `drop()` removes it.
 * @param adminUrl a URL of an existing database on the server used to create/drop
 */
export async function tempPostgres(adminUrl = testPostgresUrl()): Promise<TestDatabase> {
  const { default: pg } = await import('pg');
  const name = `tip_t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    dialect: 'postgresql',
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        // Connections that are closing (a pool's end() in flight) get a moment to go by themselves:
        // forcing them would send their clients a FATAL "terminating connection" error that a
        // closing client may have no listener left for (an uncaught exception in the test).
        // Whatever still holds the database after that is terminated by `with (force)`.
        for (let i = 0; i < 60; i++) {
          const { rows } = await c.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = $1', [name]);
          if (Number(rows[0]?.n ?? 0) === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Creates a test database of the given dialect. */
export function tempDatabase(dialect: 'sqlite' | 'postgresql'): Promise<TestDatabase> {
  return dialect === 'sqlite' ? Promise.resolve(tempSqlite()) : tempPostgres();
}

/**
 * The dialects the test suite runs on: both by default; `TIP_TEST_DB=sqlite` or `=postgresql`
 * narrows it (e.g. on a machine without PostgreSQL).
 */
export function testDialects(): Array<'sqlite' | 'postgresql'> {
  const only = process.env.TIP_TEST_DB;
  if (only === 'sqlite' || only === 'postgresql') return [only];
  return ['sqlite', 'postgresql'];
}
