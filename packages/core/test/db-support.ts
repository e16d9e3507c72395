import { Database, sqlMigration, type DatabaseOpenOptions } from '../src/index.js';
import { coreEntities } from '../src/database/entities.js';
import { coreMigrations } from '../src/database/migrations.js';

/** A tiny table `t (id, body)` plus core's, for database fault tests. */
export const itemsMigration = sqlMigration('0001-items', {
  sqlite: ['create table t (id integer primary key autoincrement, body text not null)'],
  postgresql: ['create table t (id serial primary key, body text not null)'],
});

/** Every migration the fault tests use, by owner. */
export const testMigrations = [
  ...coreMigrations.map((migration) => ({ owner: '@tip/core', migration })),
  { owner: 'test', migration: itemsMigration },
];

/** Opens (and optionally migrates) a database with core's entities and the `t` table. */
export async function openTestDatabase(url: string, extra: Partial<DatabaseOpenOptions> = {}, migrate = true): Promise<Database> {
  const db = await Database.open({ url, entities: [...coreEntities], migrations: testMigrations, ...extra });
  if (migrate) await db.migrate();
  return db;
}

/** Polls `check` until it returns true (generous deadline; never asserts timings). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (!(await check())) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
