// Seeding for the benchmarks that need a large blacklist database (bench/blacklist/lookup.ts,
// bench/web/lookup.ts): a throwaway SQLite file or PostgreSQL database, filled after the plugin's
// migrations by direct SQL bulk inserts into its tables (bl_source, bl_indicator, bl_listing and any
// further table such as bl_source_metric), in one transaction, then analyzed. Going around TIP is
// what makes a million rows take seconds instead of the ingest path's minutes; the benchmarks time
// what comes after, not this. Each benchmark generates its own (deterministic) data.
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { createTip } from '@tip/core';
import { tempDatabase, testPostgresUrl } from '@tip/core/testing';
import blacklist from '@tip/plugin-blacklist';

/** The PostgreSQL server the benchmarks create their databases on (as the tests: `TIP_TEST_PG_URL`). */
export const PG_ADMIN = testPostgresUrl();

/** A source row; created 60 days before `Seed.now`, its k-th one last run (successfully) k hours before it. */
export interface SeedSource { id: string; title: string }
/** An indicator row; its id is its 1-based position in `Seed.indicators`. */
export interface SeedIndicator { type: string; value: string }
/** An open listing: source id, indicator id (1-based), first_seen (epoch ms). */
export type SeedListing = [source: string, indicator: number, firstSeen: number];
/**
 * Further rows for another table, inserted after the listings. `pgTypes` are the PostgreSQL types of
 * `columns` (the rows are sent as one array per column, `unnest($n::type[])`).
 */
export interface SeedTable { table: string; columns: readonly string[]; pgTypes: readonly string[]; rows: readonly (readonly unknown[])[] }
/** What a benchmark puts into a migrated database. */
export interface Seed {
  /** The benchmark's "now" (epoch ms): indicators were first seen 30 days before it. */
  now: number;
  sources: readonly SeedSource[];
  indicators: readonly SeedIndicator[];
  listings: readonly SeedListing[];
  extra?: readonly SeedTable[];
}

/** A throwaway database: `url` for TIP, `file` (SQLite) for the bare driver; `drop` deletes it. */
export interface Target { dialect: string; url: string; file?: string; drop(): Promise<void> }

/**
 * Creates an empty database for `dialect`: the test suites' throwaway databases (`tempDatabase`
 * of `@tip/core/testing`: a SQLite file in a new temporary directory, or a new database on the
 * PostgreSQL server of `TIP_TEST_PG_URL`), with the SQLite file's path for the bare driver.
 */
export async function target(dialect: string): Promise<Target> {
  if (dialect !== 'sqlite' && dialect !== 'postgresql') throw new Error(`unknown dialect "${dialect}" (sqlite or postgresql)`);
  const db = await tempDatabase(dialect);
  return { ...db, ...(dialect === 'sqlite' ? { file: db.url.slice('sqlite:'.length) } : {}) };
}

/**
 * A new database for `dialect` (see {@link target}) migrated with the blacklist plugin and filled
 * with `seed`; prints how long the fill took to stderr and returns it (ms). The caller drops it.
 */
export async function seededTarget(dialect: string, seed: Seed): Promise<{ target: Target; fillMs: number }> {
  const t = await target(dialect);
  try {
    const mig = await createTip({ logger: pino({ level: 'silent' }), config: { database: { url: t.url } }, plugins: [blacklist()] });
    await mig.migrate();
    await mig.stop();
    const start = performance.now();
    await fill(t, seed);
    const fillMs = performance.now() - start;
    console.error(`${dialect}: filled ${seed.indicators.length.toLocaleString('en')} indicators / ${seed.listings.length.toLocaleString('en')} listings in ${(fillMs / 1000).toFixed(1)} s`);
    return { target: t, fillMs };
  } catch (err) {
    await t.drop();
    throw err;
  }
}

/** Whether {@link PG_ADMIN} accepts a connection within 2 s (a benchmark skips PostgreSQL if not). */
export async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2000 });
  try { await c.connect(); await c.end(); return true; } catch { return false; }
}

/** Fills a migrated `target` with `seed` (see {@link fillSqlite} and {@link fillPostgres}). */
export async function fill(t: Target, seed: Seed): Promise<void> {
  if (t.file !== undefined) fillSqlite(t.file, seed);
  else await fillPostgres(t.url, seed);
}

const DAY = 86_400_000;
const sourceTimes = (seed: Seed, k: number) => [seed.now - 60 * DAY, seed.now - k * 3_600_000] as const;

/** Fills a migrated SQLite file with `seed`: prepared inserts in one transaction (WAL), then `analyze`. */
export function fillSqlite(file: string, seed: Seed): void {
  const db = new Database(file);
  db.pragma('journal_mode = wal');
  const src = db.prepare(`insert into bl_source (id, title, format, category, origin, enabled, created_at, last_run_at, last_success_at) values (?, ?, 'plain', 'spam', 'feed', 1, ?, ?, ?)`);
  const ind = db.prepare('insert into bl_indicator (id, type, value, first_seen) values (?, ?, ?, ?)');
  const lst = db.prepare('insert into bl_listing (source_id, indicator_id, first_seen) values (?, ?, ?)');
  const extra = (seed.extra ?? []).map((t) => ({ t, stmt: db.prepare(`insert into ${t.table} (${t.columns.join(', ')}) values (${t.columns.map(() => '?').join(', ')})`) }));
  db.transaction(() => {
    for (const [k, s] of seed.sources.entries()) { const [created, run] = sourceTimes(seed, k); src.run(s.id, s.title, created, run, run); }
    for (const [i, r] of seed.indicators.entries()) ind.run(i + 1, r.type, r.value, seed.now - 30 * DAY);
    for (const l of seed.listings) lst.run(...l);
    for (const { t, stmt } of extra) for (const r of t.rows) stmt.run(...r);
  })();
  db.exec('analyze');
  db.close();
}

/**
 * Fills a migrated PostgreSQL database with `seed`: `insert … select * from unnest(…)` in batches
 * of 50,000 rows in one transaction, the indicator id sequence moved past the ids given, then
 * `analyze`.
 */
export async function fillPostgres(url: string, seed: Seed): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const B = 50_000;
  // rows are turned into column arrays a batch at a time (a million at once would double the memory)
  const bulk = async <T>(table: string, columns: readonly string[], pgTypes: readonly string[], items: readonly T[], row: (item: T, index: number) => readonly unknown[]) => {
    for (let i = 0; i < items.length; i += B) {
      const part = items.slice(i, i + B).map((x, k) => row(x, i + k));
      await c.query(`insert into ${table} (${columns.join(', ')}) select * from unnest(${pgTypes.map((t, j) => `$${j + 1}::${t}[]`).join(', ')})`, columns.map((_, j) => part.map((r) => r[j])));
    }
  };
  await c.query('begin');
  for (const [k, s] of seed.sources.entries()) { const [created, run] = sourceTimes(seed, k); await c.query(`insert into bl_source (id, title, format, category, origin, enabled, created_at, last_run_at, last_success_at) values ($1, $2, 'plain', 'spam', 'feed', true, $3, $4, $4)`, [s.id, s.title, created, run]); }
  await bulk('bl_indicator', ['id', 'type', 'value', 'first_seen'], ['int', 'text', 'text', 'bigint'], seed.indicators, (r, i) => [i + 1, r.type, r.value, seed.now - 30 * DAY]);
  await bulk('bl_listing', ['source_id', 'indicator_id', 'first_seen'], ['text', 'int', 'bigint'], seed.listings, (l) => l);
  for (const t of seed.extra ?? []) await bulk(t.table, t.columns, t.pgTypes, t.rows, (r) => r);
  await c.query(`select setval('bl_indicator_id_seq', $1)`, [seed.indicators.length]);
  await c.query('commit');
  await c.query('analyze');
  await c.end();
}
