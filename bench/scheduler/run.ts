// Benchmark: dispatch N no-op jobs through the TIP scheduler, with and without SQLite run history,
// against two raw baselines measured in the same run:
//   - bare p-queue (dispatch only), and
//   - the fair baseline for a scheduler with history: p-queue plus one prepared better-sqlite3
//     INSERT per job (same columns as tip_job_run) in batched transactions of 2000 rows.
// Usage: node --expose-gc bench/scheduler/run.ts [--jobs 100000] [--concurrency 4] [--rounds 3]
// Prints a table of wall and CPU µs/job and the wall-time ratio to each baseline. Goal: TIP + SQLite history within 3× the fair baseline.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import PQueue from 'p-queue';
import { pino } from 'pino';
import { createTip, definePlugin, InProcessScheduler, RunHistory, TipEventBus, TipMetrics, systemClock } from '@tip/core';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '100000' }, concurrency: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' } } });
const N = Number(values.jobs);
const C = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const BATCH = 2000; // RunHistory's flush size
const silent = pino({ level: 'silent' });
const noop = async () => undefined;

/** CPU ms (user + system) of the last timed section: less sensitive than wall time to a busy machine. */
let lastCpuMs = 0;
async function time(fn: () => Promise<unknown>): Promise<number> {
  globalThis.gc?.();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  lastCpuMs = (c.user + c.system) / 1000;
  return ms;
}

async function bareQueue() {
  const q = new PQueue({ concurrency: C });
  const all: Array<Promise<unknown>> = [];
  for (let i = 0; i < N; i++) all.push(q.add(noop));
  await Promise.all(all);
}

/** A row of the raw baseline, with the columns of tip_job_run. */
interface RawRow {
  id: string;
  jobId: string;
  parentId: string;
  plugin: string;
  reason: string;
  status: string;
  attempt: number;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  error: null;
  counts: null;
}

/** p-queue + a prepared INSERT per job into a tip_job_run-shaped table, 2000 rows per transaction. */
async function queueWithSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'tip-bench-raw-'));
  const db = new BetterSqlite3(join(dir, 'raw.sqlite'));
  try {
    db.pragma('journal_mode = wal');
    for (const ddl of [
      'create table tip_job_run (id text not null primary key, job_id text not null, parent_id text null, plugin text null, reason text not null, status text not null, attempt integer not null, started_at datetime not null, ended_at datetime null, duration_ms integer null, error text null, counts json null)',
      'create index tip_job_run_job_id_index on tip_job_run (job_id)',
      'create index tip_job_run_parent_id_index on tip_job_run (parent_id)',
      'create index tip_job_run_started_at_index on tip_job_run (started_at)',
    ]) db.prepare(ddl).run();
    const insert = db.prepare('insert into tip_job_run (id, job_id, parent_id, plugin, reason, status, attempt, started_at, ended_at, duration_ms, error, counts) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    let written = 0;
    const writeBatch = db.transaction((rows: RawRow[]) => {
      for (const r of rows) written += insert.run(r.id, r.jobId, r.parentId, r.plugin, r.reason, r.status, r.attempt, r.startedAt, r.endedAt, r.durationMs, r.error, r.counts).changes;
    });
    return await time(async () => {
      const parentId = randomUUID();
      const q = new PQueue({ concurrency: C });
      let batch: RawRow[] = [];
      const all: Array<Promise<unknown>> = [];
      for (let i = 0; i < N; i++) {
        const jobId = `noop/${i}`;
        all.push(
          q.add(async () => {
            const startedAt = Date.now();
            await noop();
            const endedAt = Date.now();
            batch.push({ id: randomUUID(), jobId, parentId, plugin: 'bench', reason: 'group', status: 'succeeded', attempt: 1, startedAt, endedAt, durationMs: endedAt - startedAt, error: null, counts: null });
            if (batch.length >= BATCH) {
              writeBatch(batch);
              batch = [];
            }
          }),
        );
      }
      await Promise.all(all);
      writeBatch(batch);
      if (written !== N) throw new Error(`expected ${N} rows, got ${written}`);
    });
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const children = Array.from({ length: N }, (_, i) => ({ id: `noop/${i}`, run: noop }));

async function schedulerOnly() {
  const s = new InProcessScheduler({
    clock: systemClock, events: new TipEventBus(silent), history: new RunHistory(undefined, silent), log: silent,
    metrics: new TipMetrics(), concurrency: C,
  });
  s.add({ id: 'bench', children: () => children });
  const rec = await s.trigger('bench');
  if (rec.status !== 'succeeded' || rec.counts?.succeeded !== N) throw new Error(`bad run ${JSON.stringify(rec.counts)}`);
}

/** A full app on a SQLite file: every one of the N + 1 runs is stored in tip_job_run. */
async function fullApp() {
  const dir = mkdtempSync(join(tmpdir(), 'tip-bench-'));
  const app = await createTip({
    logger: silent,
    config: { database: { url: `sqlite:${join(dir, 'tip.sqlite')}` }, scheduler: { concurrency: C } },
    plugins: [definePlugin({ name: 'bench', version: '1.0.0', core: '^0.2.0', register: (ctx) => ctx.jobs.add({ id: 'bench', children: () => children }) })],
  });
  await app.start();
  let ms: number;
  try {
    ms = await time(async () => {
      const rec = await app.scheduler.trigger('bench');
      if (rec.status !== 'succeeded') throw new Error('bench failed');
      await app.scheduler.history({ limit: 1 }); // flushes every buffered run record to SQLite
    });
    const stored = await app.em().getConnection().execute('select count(*) as n from tip_job_run');
    if (Number(stored[0].n) !== N + 1) throw new Error(`expected ${N + 1} run rows, got ${stored[0].n}`);
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return ms;
}

const rows: Array<{ name: string; ms: number; cpu: number; rss: number }> = [];
const best = async (name: string, fn: () => Promise<number | void>, timed = true): Promise<number> => {
  let min = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const ms = timed ? await time(fn) : Number(await fn());
    if (ms < min) [min, cpu] = [ms, lastCpuMs];
  }
  rows.push({ name, ms: min, cpu, rss: process.resourceUsage().maxRSS / 1024 });
  return min;
};
const bare = await best('raw p-queue (baseline)', bareQueue);
const fair = await best('raw p-queue + SQLite INSERT (baseline)', queueWithSqlite, false);
await best('TIP scheduler, no database', schedulerOnly);
const tip = await best('TIP scheduler + SQLite run history', fullApp, false);

const fmt = (n: string, w: number): string => String(n).padStart(w);
console.log(`\nbench/scheduler: ${N.toLocaleString('en')} no-op jobs, concurrency ${C}, best of ${ROUNDS} (Node ${process.version})\n`);
console.log(`${'variant'.padEnd(40)}${fmt('total ms', 10)}${fmt('µs/job', 9)}${fmt('CPU µs/job', 12)}${fmt('× p-queue', 11)}${fmt('× p-queue+SQLite', 18)}${fmt('peak RSS MiB', 14)}`);
for (const r of rows) {
  const per = (r.ms * 1000) / N;
  const cpu = (r.cpu * 1000) / N;
  console.log(`${r.name.padEnd(40)}${fmt(r.ms.toFixed(0), 10)}${fmt(per.toFixed(2), 9)}${fmt(cpu.toFixed(2), 12)}${fmt((r.ms / bare).toFixed(2), 11)}${fmt((r.ms / fair).toFixed(2), 18)}${fmt(r.rss.toFixed(0), 14)}`);
}
const ratio = tip / fair;
console.log(`\n(peak RSS is the process high-water mark after each variant) goal: TIP + SQLite history <= 3× the p-queue + SQLite baseline -> ${ratio <= 3 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}×)`);
