// Benchmark: the web search API of the blacklist plugin at 1M indicators, SQLite and PostgreSQL.
// A migrated database is filled by direct SQL bulk inserts matching the plugin's schema (not
// timed): N indicators (65% IPv4 addresses, half of them in 64 dense /16s; 10% IPv4 CIDRs /12–/28;
// 5% IPv6 addresses and 2% IPv6 CIDRs in 16 /48s; 15% domains; 3% URLs) and 1.25 N open listings
// over 10 sources. The address keys (addr_lo/addr_hi) are left empty: the first CIDR search fills
// them, as after an upgrade (timed and printed). Then it times, interleaved per probe:
//   exact: GET /api/blacklist/search?q=<value> through RouteRouter.handle (routing, validation,
//          canonicalisation, queries, scoring, JSON: the full API path minus the socket) against
//          the bare exact query (indicator ⋈ listings ⋈ sources by (type, value)) on the bare driver;
//   CIDR:  GET /search?q=<cidr>&limit=50 for /16 and /24 IPv4 ranges and /48–/64 IPv6 ranges
//          against the bare range query (the first 51 indicators by addr_lo in the range with
//          their listings) on the bare driver.
// Usage: node --expose-gc bench/web/lookup.ts [--size 1000000] [--probes 600] [--dialects sqlite,postgresql]
// Goals: p99 < 20 ms exact, < 100 ms CIDR (route).
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { createTip, RouteRouter } from '@tip/core';
import blacklist, { canonicalize } from '@tip/plugin-blacklist';
import { PG_ADMIN, pgReachable, seededTarget, type Seed } from '../blacklist/seed.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '1000000' }, probes: { type: 'string', default: '600' }, dialects: { type: 'string', default: 'sqlite,postgresql' } } });
const N = Number(values.size);
const PROBES = Number(values.probes);
const silent = pino({ level: 'silent' });
const SOURCES = Array.from({ length: 10 }, (_, k) => `feed-${k}`);
const NOW = Date.now();
const DAY = 86_400_000;

// --- deterministic data ---------------------------------------------------------------------
let seed = 20261202;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }; // xorshift32
const octet1 = () => { let a; do a = 11 + (rnd() % 212); while (a === 127); return a; };
const HOT16 = Array.from({ length: 64 }, () => ((octet1() << 24) | ((rnd() % 256) << 16)) >>> 0);
const ipNum = () => (rnd() % 2 ? (HOT16[rnd() % 64]! | (rnd() % 65536)) >>> 0 : ((octet1() << 24) | ((rnd() % 256) << 16) | ((rnd() % 256) << 8) | (rnd() % 256)) >>> 0);
const ipStr = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const net = (n: number, p: number) => (p === 0 ? 0 : ((n >>> (32 - p)) << (32 - p)) >>> 0);
const HOT48 = Array.from({ length: 16 }, (_, k) => `2001:db8:${(k * 4099 + 17).toString(16)}`);
const v6 = () => `${HOT48[rnd() % 16]}:${(rnd() % 65536).toString(16)}::${(rnd() % 65536).toString(16)}:${(rnd() % 65536).toString(16)}`;
const canon = (v: string) => { const r = canonicalize(v); if (!r.ok) throw new Error(`bad value ${v}: ${r.reason}`); return r.indicators[0]!; };

type Type = 'ip' | 'cidr' | 'domain' | 'url';
const rows: Array<{ type: Type; value: string }> = [];
const seen = new Set<string>();
while (rows.length < N) {
  const k = rnd() % 100;
  let r: { type: Type; value: string };
  if (k < 65) r = { type: 'ip', value: ipStr(ipNum()) };
  else if (k < 75) { const p = 12 + (rnd() % 17); r = { type: 'cidr', value: `${ipStr(net(ipNum(), p))}/${p}` }; }
  else if (k < 80) r = canon(v6()) as typeof r;
  else if (k < 82) r = canon(`${v6()}/${48 + (rnd() % 17)}`) as typeof r;
  else if (k < 97) r = { type: 'domain', value: `h${(rnd() % 1e8).toString(36)}.${['evil', 'bad', 'phish', 'drop'][rnd() % 4]}${rnd() % 5000}.${['com', 'net', 'org'][rnd() % 3]}` };
  else r = { type: 'url', value: `http://u${(rnd() % 1e7).toString(36)}.example${rnd() % 100}.com/p/${rnd() % 1e6}` };
  const key = `${r.type} ${r.value}`;
  if (seen.has(key)) continue;
  seen.add(key);
  rows.push(r);
}
seen.clear();
const listings: Array<[string, number, number]> = [];
for (let i = 0; i < rows.length; i++) {
  const first = NOW - (rnd() % (30 * DAY));
  listings.push([SOURCES[i % 10]!, i + 1, first]);
  if (i % 4 === 0) listings.push([SOURCES[(i + 1 + (rnd() % 9)) % 10]!, i + 1, first + (rnd() % DAY)]);
}

// probes
const pick = <T>(a: readonly T[]) => a[rnd() % a.length]!;
const of = (t: Type, f: (v: string) => boolean = () => true) => rows.filter((r) => r.type === t && f(r.value)).map((r) => r.value);
const ips = of('ip');
const v6ips = of('ip', (v) => v.includes(':'));
const exactProbes: Array<{ kind: string; value: string }> = [];
const per = Math.max(1, Math.floor(PROBES / 6));
for (let i = 0; i < per; i++) exactProbes.push({ kind: 'listed IPv4', value: pick(ips) });
for (let i = 0; i < per; i++) exactProbes.push({ kind: 'IPv4 miss', value: ipStr(ipNum()) });
for (let i = 0; i < per; i++) exactProbes.push({ kind: 'listed IPv6', value: pick(v6ips) });
for (let i = 0; i < per; i++) exactProbes.push({ kind: 'domain miss', value: `www.x${i}.${pick(of('domain'))}` }); // a CIDR q is a containment search (below)
for (let i = 0; i < per; i++) exactProbes.push({ kind: 'listed domain', value: pick(of('domain')).toUpperCase() });
for (let i = 0; i < per; i++) exactProbes.push({ kind: 'listed URL', value: pick(of('url')) });
const cidrProbes = { '/16': [] as string[], '/24': [] as string[], 'IPv6 /48–/64': [] as string[] };
for (let i = 0; i < PROBES / 2; i++) cidrProbes['/16'].push(`${ipStr(net(i % 2 ? HOT16[rnd() % 64]! : ipNum(), 16))}/16`);
for (let i = 0; i < PROBES / 2; i++) cidrProbes['/24'].push(`${ipStr(net(canonIp(pick(ips)), 24))}/24`);
for (let i = 0; i < PROBES / 4; i++) cidrProbes['IPv6 /48–/64'].push(canon(`${v6()}/${[48, 56, 64][i % 3]}`).value);
function canonIp(v: string): number { return v.includes(':') ? ipNum() : v.split('.').reduce((a, o) => a * 256 + Number(o), 0) >>> 0; }

const data: Seed = { now: NOW, sources: SOURCES.map((s, k) => ({ id: s, title: `Feed ${k}` })), indicators: rows, listings };

// --- bare queries --------------------------------------------------------------------------------
const EXACT = (ph: (n: number) => string, enabled: string) =>
  `select i.id, i.type, i.value, i.first_seen, l.source_id, coalesce(l.last_seen, s.last_success_at, l.first_seen) as last_seen, s.title
   from bl_indicator i join bl_listing l on l.indicator_id = i.id join bl_source s on s.id = l.source_id
   where l.removed_at is null and s.enabled = ${enabled} and i.type = ${ph(1)} and i.value = ${ph(2)}`;
const RANGE = (ph: (n: number) => string, enabled: string) =>
  `select i.id, i.type, i.value, i.first_seen, l.source_id, coalesce(l.last_seen, s.last_success_at, l.first_seen) as last_seen, s.title
   from (select id, type, value, first_seen, addr_lo from bl_indicator where addr_lo >= ${ph(1)} and addr_lo <= ${ph(2)} and addr_hi <= ${ph(3)} order by addr_lo, id limit 51) i
   join bl_listing l on l.indicator_id = i.id join bl_source s on s.id = l.source_id
   where l.removed_at is null and s.enabled = ${enabled} order by i.addr_lo, i.id`;
/** The keys of a CIDR's first and last address, as bl_indicator stores them (computed here independently). */
function keys(cidr: string): [string, string, string] {
  const [a, p] = cidr.split('/') as [string, string];
  if (!a.includes(':')) {
    const lo = net(canonIp(a), Number(p));
    const hi = (lo + 2 ** (32 - Number(p)) - 1) >>> 0;
    const k = (n: number) => `4${n.toString(16).padStart(8, '0')}`;
    return [k(lo), k(hi), k(hi)];
  }
  const parts = a.split('::');
  const head = parts[0] ? parts[0].split(':') : [];
  const tail = parts[1] ? parts[1].split(':') : [];
  const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  const n = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  const host = 128n - BigInt(p);
  const lo = (n >> host) << host;
  const hi = lo | ((1n << host) - 1n);
  const k = (x: bigint) => `6${x.toString(16).padStart(32, '0')}`;
  return [k(lo), k(hi), k(hi)];
}

// --- measurement ----------------------------------------------------------------------------------
interface Stats { p50: number; p99: number; max: number }
const stats = (ms: number[]): Stats => {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1]! };
};
const now = () => Number(process.hrtime.bigint()) / 1e6;
/**
 * Times both variants on every probe, alternating which goes first (load hits them alike), REPS
 * times in a row: `first` holds each probe's first time (what a caller sees), `best` the best of
 * the REPS (the probe's own cost with preemption by other processes filtered out).
 */
const REPS = 3;
async function pair(probes: readonly string[], route: (v: string) => Promise<unknown>, bare: (v: string) => Promise<unknown>, warm: () => void): Promise<{ first: [number[], number[]]; best: [number[], number[]] }> {
  for (const p of probes.slice(0, 50)) { await route(p); await bare(p); } // warm-up
  warm();
  globalThis.gc?.();
  const first: [number[], number[]] = [[], []];
  const best: [number[], number[]] = [[], []];
  for (const [i, p] of probes.entries()) {
    const mins = [Infinity, Infinity];
    for (let r = 0; r < REPS; r++) {
      for (const k of (i + r) % 2 ? [0, 1] : [1, 0]) {
        const t = now();
        await (k === 0 ? route(p) : bare(p));
        const ms = now() - t;
        if (r === 0) first[k]!.push(ms);
        mins[k] = Math.min(mins[k]!, ms);
      }
    }
    best[0].push(mins[0]!);
    best[1].push(mins[1]!);
  }
  return { first, best };
}

interface Line { dialect: string; what: string; route: Stats; bare: Stats; routeBest99: number; bareBest99: number; goal: number; items: number }
async function run(dialect: string): Promise<{ lines: Line[]; fillMs: number; keysMs: number }> {
  const { target: t, fillMs } = await seededTarget(dialect, data);
  try {
    const app = await createTip({ logger: silent, config: { database: { url: t.url }, scheduler: { enabled: false } }, plugins: [blacklist()] });
    await app.start();
    let close: () => Promise<void> = async () => {};
    try {
      const router = new RouteRouter(app.routes(), { log: app.log, servedScopes: ['read'] });
      let items = 0;
      const route = async (url: string) => {
        const res = await router.handle({ method: 'GET', url });
        if (res?.status !== 200) throw new Error(`${url}: ${res?.status} ${JSON.stringify(res?.body).slice(0, 300)}`);
        items += (JSON.parse(res.body as string) as { items: unknown[] }).items.length; // the client parses it too
      };
      // the first CIDR search fills every ip/cidr row's address keys (what an upgraded database goes through once)
      const k0 = now();
      await route(`/api/blacklist/search?q=${encodeURIComponent('10.0.0.0/8')}`);
      const keysMs = now() - k0;
      console.error(`${dialect}: first CIDR search (fills the address keys) ${(keysMs / 1000).toFixed(1)} s`);
      if (dialect === 'postgresql') { const c = new pg.Client({ connectionString: t.url }); await c.connect(); await c.query('analyze bl_indicator'); await c.end(); }

      let exactBare: (v: string) => Promise<unknown>;
      let rangeBare: (v: string) => Promise<unknown>;
      if (dialect === 'sqlite') {
        const db = new Database(t.file!);
        const e = db.prepare(EXACT(() => '?', '1'));
        const r = db.prepare(RANGE(() => '?', '1'));
        exactBare = async (v) => { const c = canon(v); return e.all(c.type, c.value); };
        rangeBare = async (v) => r.all(...keys(v));
        close = async () => db.close();
      } else {
        const c = new pg.Client({ connectionString: t.url });
        await c.connect();
        const e = EXACT((n) => `$${n}`, 'true');
        const r = RANGE((n) => `$${n}`, 'true');
        exactBare = (v) => { const x = canon(v); return c.query({ name: 'exact', text: e, values: [x.type, x.value] }); };
        rangeBare = (v) => c.query({ name: 'range', text: r, values: keys(v) });
        close = () => c.end();
      }
      const lines: Line[] = [];
      items = 0;
      const e = await pair(exactProbes.map((p) => p.value), (v) => route(`/api/blacklist/search?q=${encodeURIComponent(v)}`), exactBare, () => (items = 0));
      lines.push({ dialect, what: `exact (${exactProbes.length} probes)`, route: stats(e.first[0]), bare: stats(e.first[1]), routeBest99: stats(e.best[0]).p99, bareBest99: stats(e.best[1]).p99, goal: 20, items: items / REPS });
      for (const [name, probes] of Object.entries(cidrProbes)) {
        items = 0;
        const c = await pair(probes, (v) => route(`/api/blacklist/search?q=${encodeURIComponent(v)}&limit=50`), rangeBare, () => (items = 0));
        lines.push({ dialect, what: `CIDR ${name} (${probes.length}), limit 50`, route: stats(c.first[0]), bare: stats(c.first[1]), routeBest99: stats(c.best[0]).p99, bareBest99: stats(c.best[1]).p99, goal: 100, items: items / REPS });
      }
      return { lines, fillMs, keysMs };
    } finally {
      await close();
      await app.stop();
    }
  } finally {
    await t.drop();
  }
}

const dialects = values.dialects.split(',').filter(Boolean);
const all: Line[] = [];
const notes: string[] = [];
for (const d of dialects) {
  if (d === 'postgresql' && !(await pgReachable())) { notes.push(`postgresql: not reachable at ${PG_ADMIN.replace(/\/\/[^@]*@/, '//')}, skipped`); continue; }
  const r = await run(d);
  all.push(...r.lines);
  notes.push(`${d}: bulk fill ${(r.fillMs / 1000).toFixed(1)} s (not timed below); first CIDR search, filling the address keys of every ip/cidr row: ${(r.keysMs / 1000).toFixed(1)} s`);
}
const f = (n: number, w: number, d = 2) => n.toFixed(d).padStart(w);
const v6n = rows.filter((r) => r.value.includes(':') && r.type !== 'url').length;
console.log(`\nbench/web/lookup: ${rows.length.toLocaleString('en')} indicators (${rows.filter((r) => r.type === 'cidr').length.toLocaleString('en')} CIDRs, ${v6n.toLocaleString('en')} IPv6), ${listings.length.toLocaleString('en')} listings, ${SOURCES.length} sources (Node ${process.version})`);
for (const n of notes) console.log(`  ${n}`);
console.log(`\n${'dialect'.padEnd(12)}${'query'.padEnd(34)}${'route p50'.padStart(11)}${'route p99'.padStart(11)}${'bare p50'.padStart(10)}${'bare p99'.padStart(10)}${'p50 ratio'.padStart(11)}${'p99 ratio'.padStart(11)}${'best-of-3 p99 route/bare'.padStart(26)}${'items/q'.padStart(9)}  goal (route p99)`);
for (const l of all) {
  const n = l.what.match(/\((\d+)/)?.[1];
  console.log(`${l.dialect.padEnd(12)}${l.what.padEnd(34)}${f(l.route.p50, 11)}${f(l.route.p99, 11)}${f(l.bare.p50, 10)}${f(l.bare.p99, 10)}${f(l.route.p50 / l.bare.p50, 10, 1)}x${f(l.route.p99 / l.bare.p99, 10, 1)}x${`${l.routeBest99.toFixed(2)} / ${l.bareBest99.toFixed(2)}`.padStart(26)}${f(l.items / Number(n), 9, 1)}  < ${l.goal} ms: ${l.route.p99 < l.goal ? 'met' : 'NOT met'}${l.routeBest99 < l.goal ? '' : ' (best-of-3: NOT met)'}`);
}
console.log(`\n(ms; route = RouteRouter.handle of GET /api/blacklist/search, bare = the same rows by the bare driver)`);
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
