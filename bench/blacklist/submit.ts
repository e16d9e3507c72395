// Benchmark: submissions of another plugin (BlacklistService.submit, the delta path) now keep a
// last-seen per listing. Measures a first submission of N new IPv4 indicators, a re-submission of
// the same N (every listing refreshed), and the ttl expiry closing half of them, on SQLite and
// PostgreSQL, against a raw-driver baseline inserting the same N listings in the same run
// (better-sqlite3 prepared inserts in one transaction; unnest() inserts with pg).
// Usage: node --expose-gc bench/blacklist/submit.ts [--n 200000] [--dialects sqlite,postgresql]
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { createTip } from '@tip/core';
import { ManualClock } from '@tip/core/testing';
import { target, type Target } from './seed.ts';
import blacklist, { BlacklistToken, type Indicator } from '@tip/plugin-blacklist';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200000' }, dialects: { type: 'string', default: 'sqlite,postgresql' } } });
const N = Number(values.n);
const silent = pino({ level: 'silent' });
const DAY = 86_400_000;

// Deterministic public-looking IPv4 addresses (first octet 11..222, skipping 127).
let seed = 42;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }; // xorshift32
const ip = () => { let a; do a = 11 + (rnd() % 212); while (a === 127); return `${a}.${rnd() % 256}.${rnd() % 256}.${1 + (rnd() % 254)}`; };
const unique = new Set<string>();
while (unique.size < N) unique.add(ip());
const all = [...unique];
const indicators: Indicator[] = all.map((value) => ({ type: 'ip', value }));
const half = indicators.filter((_, k) => k % 2 === 0);

const time = async <T>(fn: () => T | Promise<T>): Promise<[number, T]> => { globalThis.gc?.(); const t = process.hrtime.bigint(); const r = await fn(); return [Number(process.hrtime.bigint() - t) / 1e6, r]; };

async function migrated(dialect: string): Promise<Target> {
  const t = await target(dialect);
  const app = await createTip({ logger: silent, config: { database: { url: t.url } }, plugins: [blacklist()] });
  await app.migrate();
  return t;
}

async function raw(dialect: string, t: Target): Promise<number> {
  const now = Date.now();
  if (dialect === 'sqlite') {
    const db = new Database(t.file ?? '');
    db.pragma('journal_mode = wal');
    const ins = db.prepare('insert into bl_indicator (type, value, first_seen) values (?, ?, ?)');
    const lst = db.prepare('insert into bl_listing (source_id, indicator_id, first_seen, last_seen) values (?, ?, ?, ?)');
    const [ms] = await time(() => db.transaction(() => { for (const v of all) lst.run('raw', ins.run('ip', v, now).lastInsertRowid, now, now); })());
    db.close();
    return ms;
  }
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  const [ms] = await time(async () => {
    await c.query('begin');
    for (let i = 0; i < all.length; i += 50_000) {
      const { rows } = await c.query<{ id: number }>(`insert into bl_indicator (type, value, first_seen) select 'ip', v, $2 from unnest($1::text[]) as u(v) returning id`, [all.slice(i, i + 50_000), now]);
      await c.query(`insert into bl_listing (source_id, indicator_id, first_seen, last_seen) select 'raw', id, $2, $2 from unnest($1::int[]) as u(id)`, [rows.map((r) => r.id), now]);
    }
    await c.query('commit');
  });
  await c.end();
  return ms;
}

async function tip(t: Target): Promise<{ first: number; again: number; expire: number }> {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
  const app = await createTip({ logger: silent, clock, config: { database: { url: t.url }, scheduler: { enabled: false } }, plugins: [blacklist()] });
  await app.start();
  const svc = app.get(BlacklistToken);
  await svc.registerSource({ id: 'bench', title: 'bench', category: 'scanner', ttl: '10d' });
  const t0 = clock.now();
  const [first, c1] = await time(() => svc.submit('bench', indicators));
  await clock.advanceTo(t0 + DAY);
  const [again, c2] = await time(() => svc.submit('bench', indicators));
  await clock.advanceTo(t0 + 5 * DAY);
  await svc.submit('bench', half);
  await clock.advanceTo(t0 + 12 * DAY);
  const [expire, closed] = await time(() => svc.expireSubmitted());
  if (c1.added !== N || c2.unchanged !== N || closed.get('bench') !== N - half.length) throw new Error(`bad counts ${JSON.stringify([c1, c2, [...closed]])}`);
  await app.stop();
  return { first, again, expire };
}

const rows: Array<{ dialect: string; rawMs: number; first: number; again: number; expire: number }> = [];
for (const dialect of values.dialects.split(',')) {
  const r = await migrated(dialect);
  const rawMs = await raw(dialect, r);
  await r.drop();
  const t = await migrated(dialect);
  rows.push({ dialect, rawMs, ...(await tip(t)) });
  await t.drop();
}

const f = (n: number, w: number, d = 0): string => n.toFixed(d).padStart(w);
console.log(`\nbench/blacklist/submit: ${N.toLocaleString('en')} IPv4 indicators submitted by another plugin (Node ${process.version})`);
console.log('first = submit N new; again = submit the same N (each listing\'s last-seen refreshed); expire = ttl closes the N/2 not submitted again\n');
console.log(`${'dialect'.padEnd(12)}${'raw ms'.padStart(9)}${'first ms'.padStart(10)}${'first vs raw'.padStart(14)}${'again ms'.padStart(10)}${'again/first'.padStart(13)}${'expire ms'.padStart(11)}${'expire/first'.padStart(14)}`);
for (const r of rows) {
  console.log(`${r.dialect.padEnd(12)}${f(r.rawMs, 9)}${f(r.first, 10)}${f(r.rawMs / r.first, 13, 2)}x${f(r.again, 10)}${f(r.again / r.first, 12, 2)}x${f(r.expire, 11)}${f(r.expire / r.first, 13, 2)}x`);
}
