// Benchmark: event-loop responsiveness while the blacklist plugin ingests a 1M-entry feed on SQLite.
// A generated feed (IPv4 addresses, CIDRs and domains) is served by a local HTTP server and run
// through the real plugin (the `blacklist` cycle job: fetch, parse, diff, SQL, snapshot, weights)
// while `monitorEventLoopDelay({ resolution: 10 })` samples the loop, for the first ingest and for
// a second ingest with 5% churn. The raw baseline does the same inserts with plain better-sqlite3
// prepared statements in one synchronous transaction (its whole duration is one block).
// A 2 ms watchdog timer attributes every block > 50 ms to the ingestion phase that was running.
// Usage: node --expose-gc bench/blacklist/loop.ts [--n 1000000] [--churn 0.05]
// Goal: event-loop delay p99 < 100 ms during both ingests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { threadId } from "node:worker_threads";
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { createTip } from '@tip/core';
import blacklist, { BlacklistToken, IndicatorSet, ParserRegistry, type FeedParser } from '@tip/plugin-blacklist';
// Same module instances as the package's (Node resolves the workspace symlink to these files).
import { Ingester } from '../../packages/plugin-blacklist/dist/ingest/Ingester.js';
import { ListingStore } from '../../packages/plugin-blacklist/dist/ingest/ListingStore.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '1000000' }, churn: { type: 'string', default: '0.05' } } });
const N = Number(values.n);
const CHURN = Math.round(N * Number(values.churn));

// Deterministic feed: 70% IPv4 addresses, 10% CIDRs, 20% domains.
let seed = 7;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }; // xorshift32
const octet1 = () => { let a; do a = 11 + (rnd() % 212); while (a === 127); return a; };
const entry = (): string => {
  const k = rnd() % 10;
  if (k < 7) return `${octet1()}.${rnd() % 256}.${rnd() % 256}.${1 + (rnd() % 254)}`;
  if (k < 8) return `${octet1()}.${rnd() % 256}.${rnd() % 256}.0/24`;
  return `h${(rnd() % 1e8).toString(36)}.${['evil', 'bad', 'phish', 'drop'][rnd() % 4]}${rnd() % 5000}.${['com', 'net', 'org', 'info'][rnd() % 4]}`;
};
const unique = new Set<string>();
while (unique.size < N + CHURN) unique.add(entry());
const all = [...unique];
unique.clear();
const bodies = [all.slice(0, N), all.slice(CHURN, N + CHURN)].map((v) => Buffer.from(`# loop bench feed\n${v.join('\n')}\n`));

let body = bodies[0]!;
const server = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(body));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed.txt`;

// --- phase attribution: wrap the ingestion steps, time them, and watch for blocks --------------
// `phase` is the innermost wrapped step running; `spent` adds up each step's wall time (exclusive
// of nested wrapped steps). Before the loop yields, a step's wall time is all blocking time.
let phase = 'fetch+parse+other';
let spent = new Map<string, number>();
let sinceTick = new Map<string, number>();
let mark = performance.now();
const account = (): void => {
  const now = performance.now();
  spent.set(phase, (spent.get(phase) ?? 0) + now - mark);
  sinceTick.set(phase, (sinceTick.get(phase) ?? 0) + now - mark);
  mark = now;
};
const enterPhase = (p: string): void => {
  account();
  phase = p;
};
const wrap = (proto: object, name: string, label = name): void => {
  const p = proto as Record<string, (...a: unknown[]) => unknown>;
  const orig = p[name]!;
  p[name] = function (this: unknown, ...args: unknown[]) {
    const outer = phase;
    enterPhase(label);
    const done = () => enterPhase(outer);
    let r: unknown;
    try {
      r = orig.apply(this, args);
    } catch (e) {
      done();
      throw e;
    }
    if (r instanceof Promise) return r.finally(done);
    done();
    return r;
  };
};
wrap(Ingester.prototype, 'snapshot', 'ingest (other)');
wrap(Ingester.prototype, 'recordRun', 'recordRun');
for (const m of ['addListings', 'closeListings', 'saveSnapshot', 'appendDelta', 'analyze', 'openSet']) wrap(ListingStore.prototype, m);
for (const m of ['consumeDiff', 'consumeDiffAsync', 'serialize', 'serializeAsync', 'mergeAsync']) if (m in IndicatorSet.prototype) wrap(IndicatorSet.prototype, m);
wrap(IndicatorSet, 'parse', 'IndicatorSet.parse');
if ('parseAsync' in IndicatorSet) wrap(IndicatorSet, 'parseAsync', 'IndicatorSet.parse');
// The feed parser: its generator is consumed by parseFeed; time it from first to last item.
const getParser = ParserRegistry.prototype.get;
ParserRegistry.prototype.get = function (this: ParserRegistry, format: string) {
  const parser = getParser.call(this, format) as FeedParser | undefined;
  if (!parser) return parser;
  return {
    format: parser.format,
    parse: (text: string, options: object, stats: Parameters<FeedParser['parse']>[2]) => {
      const inner = parser.parse(text, options, stats);
      return (function* () {
        const outer = phase;
        enterPhase('parse (parser)');
        try {
          yield* inner;
        } finally {
          enterPhase(outer);
        }
      })();
    },
  } as FeedParser;
} as typeof getParser;

interface Block { ms: number; phase: string }
let blocks: Block[] = [];
// A block is attributed to the step that ran longest in it ("+" when other steps ran > 10 ms too).
let last = performance.now();
const watchdog = setInterval(() => {
  account();
  const now = performance.now();
  const gap = now - last - 2;
  if (gap > 50) {
    const steps = [...sinceTick].filter(([, ms]) => ms > 10).sort((x, y) => y[1] - x[1]);
    blocks.push({ ms: gap, phase: `${steps[0]?.[0] ?? phase}${steps.length > 1 ? ' +' : ''}` });
  }
  sinceTick = new Map();
  last = now;
}, 2);

// --- runs ---------------------------------------------------------------------------------------
interface Row { name: string; wallMs: number; p50: number; p99: number; max: number; blocks: Block[]; spent: Map<string, number> }
const rows: Row[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function measure(name: string, fn: () => Promise<unknown>): Promise<void> {
  globalThis.gc?.();
  await sleep(30);
  const h = monitorEventLoopDelay({ resolution: 10 });
  blocks = [];
  spent = new Map();
  phase = 'fetch+parse+other';
  h.enable();
  await sleep(30); // a first sample, so a loop blocked from the start still shows
  const t = performance.now();
  mark = t;
  sinceTick = new Map();
  await fn();
  const wallMs = performance.now() - t;
  enterPhase(phase);
  await sleep(30); // let the histogram and the watchdog see the last block
  h.disable();
  rows.push({ name, wallMs, p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, blocks, spent });
}

const dir = mkdtempSync(join(tmpdir(), 'tip-blloop-'));
try {
  const app = await createTip({
    logger: pino({ level: 'silent' }),
    config: {
      database: { url: `sqlite:${join(dir, 'tip.sqlite')}` },
      http: { maxBytes: 256 * 1024 * 1024 },
      blacklist: { interval: '1h', feeds: [{ id: 'bench', url, format: 'plain', category: 'scanner', timeout: '30m' }] },
    },
    plugins: [blacklist()],
  });
  await app.start({ schedule: false });
  wrap(Object.getPrototypeOf(app.get(BlacklistToken)) as object, 'computeWeights');
  for (const [i, name] of ['first ingest', `${Math.round((CHURN / N) * 100)}% churn ingest`].entries()) {
    body = bodies[i]!;
    await measure(`TIP ${name}`, async () => {
      const run = await app.scheduler.trigger('blacklist');
      if (run.status !== "succeeded") throw new Error(`cycle ${run.status}: ${run.error}`);
          });
  }
  await app.stop();

  // Raw baseline: the same indicators and listings, plain prepared statements, one transaction.
  const db = new Database(join(dir, 'raw.sqlite'));
  db.pragma('journal_mode = wal');
  for (const sql of [
    'create table bl_indicator (id integer primary key, type text not null, value text not null, first_seen integer not null, unique (type, value))',
    'create table bl_listing (id integer primary key, source_id text not null, indicator_id integer not null, first_seen integer not null)',
  ]) db.prepare(sql).run();
  const ins = db.prepare('insert into bl_indicator (type, value, first_seen) values (?, ?, ?)');
  const lst = db.prepare('insert into bl_listing (source_id, indicator_id, first_seen) values (?, ?, ?)');
  const now = Date.now();
  const v1 = all.slice(0, N);
  await measure('raw better-sqlite3, 1 sync transaction', async () => {
    db.transaction(() => { for (const v of v1) lst.run('raw', ins.run('ip', v, now).lastInsertRowid, now); })();
  });
  db.close();
} finally {
  clearInterval(watchdog);
  server.close();
  rmSync(dir, { recursive: true, force: true });
}

const f = (n: number, w: number): string => n.toFixed(0).padStart(w);
console.log(`\nbench/blacklist/loop: ${N.toLocaleString('en')} entries (70% IPv4, 10% CIDR, 20% domains), churn ${CHURN.toLocaleString('en')} removed + ${CHURN.toLocaleString('en')} added, SQLite (Node ${process.version})\n`);
console.log(`${'run'.padEnd(42)}${'wall ms'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'blocks>50ms'.padStart(13)}`);
for (const r of rows) console.log(`${r.name.padEnd(42)}${f(r.wallMs, 9)}${f(r.p50, 9)}${f(r.p99, 9)}${f(r.max, 9)}${f(r.blocks.length, 13)}`);
for (const r of rows.slice(0, 2)) {
  const byPhase = new Map<string, { n: number; total: number; max: number }>();
  for (const b of r.blocks) {
    const e = byPhase.get(b.phase) ?? { n: 0, total: 0, max: 0 };
    e.n++; e.total += b.ms; e.max = Math.max(e.max, b.ms);
    byPhase.set(b.phase, e);
  }
  console.log(`\n${r.name}: wall time per step, and blocks > 50 ms (each attributed to the step that ran longest in it; + = others ran > 10 ms too)`);
  console.log(`  ${'step'.padEnd(44)}${'wall ms'.padStart(9)}   ${'block'.padEnd(50)}${'blocks'.padStart(7)}${'total ms'.padStart(10)}${'max ms'.padStart(9)}`);
  const steps = [...r.spent].sort((a, b) => b[1] - a[1]);
  const bl = [...byPhase].sort((a, b) => b[1].total - a[1].total);
  for (let i = 0; i < Math.max(steps.length, bl.length); i++) {
    const s = steps[i];
    const b = bl[i];
    console.log(`  ${(s?.[0] ?? '').padEnd(44)}${s ? f(s[1], 9) : ''.padStart(9)}   ${(b?.[0] ?? '').padEnd(50)}${b ? f(b[1].n, 7) + f(b[1].total, 10) + f(b[1].max, 9) : ''}`);
  }
}
const tip = rows.slice(0, 2);
console.log('\nlongest block outside computeWeights (the weights step, after the ingest):');
for (const r of tip) console.log(`  ${r.name}: ${f(Math.max(0, ...r.blocks.filter((b) => !b.phase.startsWith('computeWeights')).map((b) => b.ms)), 0)} ms`);
console.log(`\ngoal: p99 < 100 ms during both ingests: ${tip.every((r) => r.p99 < 100) ? 'met' : 'NOT met'}`);
