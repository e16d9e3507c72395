// Benchmark: ingest a 1M-indicator feed into SQLite and PostgreSQL through the blacklist plugin's
// ingestion, and re-ingest it with 1% churn, against a raw-driver baseline measured in the same run
// (better-sqlite3 prepared inserts in one transaction; unnest() inserts with pg).
// Usage: node --expose-gc bench/blacklist/run.ts [--n 1000000] [--dialects sqlite,postgresql]
// Goals: first ingest >= 0.5x raw speed; 1%-churn re-ingest >= 5x faster than the first.
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { createTip } from '@tip/core';
import { target, type Target } from './seed.ts';
import blacklist, { BlacklistToken, ParserRegistry, parseFeed } from '@tip/plugin-blacklist';

const { values } = parseArgs({ options: { n: { type: 'string', default: '1000000' }, dialects: { type: 'string', default: 'sqlite,postgresql' } } });
const N = Number(values.n);
const CHURN = Math.round(N * 0.01);
const silent = pino({ level: 'silent' });
const policy = { maxInvalidRatio: 0.25, allowEmpty: false };

// Deterministic public-looking IPv4 addresses (first octet 11..222, skipping 127).
let seed = 42;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }; // xorshift32
const ip = () => { let a; do a = 11 + (rnd() % 212); while (a === 127); return `${a}.${rnd() % 256}.${rnd() % 256}.${1 + (rnd() % 254)}`; };
const unique = new Set<string>();
while (unique.size < N + CHURN) unique.add(ip());
const all = [...unique];
const v1 = all.slice(0, N);
const v2 = all.slice(CHURN, N + CHURN); // 1% dropped from the head, 1% new at the tail
const feed1 = `# bench feed\n${v1.join('\n')}\n`;
const feed2 = `# bench feed\n${v2.join('\n')}\n`;

const time = async <T>(fn: () => T | Promise<T>): Promise<[number, T]> => { globalThis.gc?.(); const t = process.hrtime.bigint(); const r = await fn(); return [Number(process.hrtime.bigint() - t) / 1e6, r]; };

const rss = () => process.resourceUsage().maxRSS / 1024;
const registry = ParserRegistry.withDefaults();
const parse = (text: string) => parseFeed(registry, 'plain', text, {}, 256 * 1024 * 1024);
const [parseMs, check] = await time(() => parse(feed1));
if (check.set.size !== N) throw new Error('parse lost entries');

async function migrated(dialect: string): Promise<Target> {
  const t = await target(dialect);
  const app = await createTip({ logger: silent, config: { database: { url: t.url } }, plugins: [blacklist()] });
  await app.migrate();
  return t;
}

async function rawSqlite(t: Target): Promise<number> {
  const db = new Database(t.file ?? '');
  db.pragma('journal_mode = wal');
  const ins = db.prepare('insert into bl_indicator (type, value, first_seen) values (?, ?, ?)');
  const lst = db.prepare('insert into bl_listing (source_id, indicator_id, first_seen) values (?, ?, ?)');
  const now = Date.now();
  const [ms] = await time(() => db.transaction(() => { for (const v of v1) lst.run('raw', ins.run('ip', v, now).lastInsertRowid, now); })());
  db.close();
  return ms;
}
async function rawPostgres(t: Target): Promise<number> {
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  const now = Date.now();
  const [ms] = await time(async () => {
    await c.query('begin');
    for (let i = 0; i < v1.length; i += 50_000) {
      const { rows } = await c.query<{ id: number }>(`insert into bl_indicator (type, value, first_seen) select 'ip', v, $2 from unnest($1::text[]) as u(v) returning id`, [v1.slice(i, i + 50_000), now]);
      await c.query(`insert into bl_listing (source_id, indicator_id, first_seen) select 'raw', id, $2 from unnest($1::int[]) as u(id)`, [rows.map((r) => r.id), now]);
    }
    await c.query('commit');
  });
  await c.end();
  return ms;
}

async function tip(t: Target): Promise<{ first: number; churn: number }> {
  const app = await createTip({ logger: silent, config: { database: { url: t.url }, scheduler: { enabled: false } }, plugins: [blacklist()] });
  await app.start();
  const ing = app.get(BlacklistToken).ingester;
  await ing.upsertSource({ id: 'bench', title: 'bench', format: 'plain', category: 'scanner', origin: 'feed', enabled: true }, 1);
  // Each run gets a freshly parsed set (the ingester takes ownership of it); parsing is not timed.
  const set1 = parse(feed1).set;
  const [first, c1] = await time(() => ing.snapshot({ sourceId: 'bench', startedAt: 1, now: 1000 }, set1, policy));
  const set2 = parse(feed2).set;
  const [churn, c2] = await time(() => ing.snapshot({ sourceId: 'bench', startedAt: 2, now: 2000 }, set2, policy));
  if (c1.added !== N || c2.added !== CHURN || c2.removed !== CHURN) throw new Error(`bad counts ${JSON.stringify([c1, c2])}`);
  await app.stop();
  return { first, churn };
}

const rows: Array<{ dialect: string; rawMs: number; first: number; churn: number; rss: number }> = [];
for (const dialect of values.dialects.split(',')) {
  const r = await migrated(dialect);
  const rawMs = dialect === 'sqlite' ? await rawSqlite(r) : await rawPostgres(r);
  await r.drop();
  const t = await migrated(dialect);
  const { first, churn } = await tip(t);
  await t.drop();
  rows.push({ dialect, rawMs, first, churn, rss: rss() });
}

const f = (n: number, w: number, d = 0): string => n.toFixed(d).padStart(w);
console.log(`\nbench/blacklist: ${N.toLocaleString('en')} IPv4 indicators, 1% churn = ${CHURN.toLocaleString('en')} removed + ${CHURN.toLocaleString('en')} added (Node ${process.version})`);
console.log(`parse of the ${(feed1.length / 1048576).toFixed(1)} MiB feed (same for every variant, not included below): ${parseMs.toFixed(0)} ms\n`);
console.log(`${'dialect'.padEnd(12)}${'raw ms'.padStart(9)}${'TIP first ms'.padStart(14)}${'first vs raw'.padStart(14)}${'TIP 1% churn ms'.padStart(17)}${'first/churn'.padStart(13)}${'peak RSS MiB'.padStart(14)}`);
for (const r of rows) {
  console.log(`${r.dialect.padEnd(12)}${f(r.rawMs, 9)}${f(r.first, 14)}${f(r.rawMs / r.first, 13, 2)}x${f(r.churn, 17)}${f(r.first / r.churn, 12, 1)}x${f(r.rss, 14)}`);
}
console.log('\ngoals: first vs raw >= 0.50x; first/churn >= 5x');
for (const r of rows) console.log(`  ${r.dialect}: first ${r.rawMs / r.first >= 0.5 ? 'met' : 'NOT met'}, churn ${r.first / r.churn >= 5 ? 'met' : 'NOT met'}`);
