// Benchmark: dispatch N no-op jobs through the TIP scheduler vs the same through p-queue alone.
// Usage: node --expose-gc bench/scheduler/run.ts [--jobs 100000] [--concurrency 4]
// Prints a table; the baseline (raw p-queue) is measured in the same run. Goal: <= 50 µs overhead per job.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import PQueue from 'p-queue';
import { pino } from 'pino';
import { createTip, definePlugin, InProcessScheduler, RunHistory, TipEventBus, TipMetrics, systemClock } from '@tip/core';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '100000' }, concurrency: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' } } });
const N = Number(values.jobs);
const C = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const silent = pino({ level: 'silent' });
const noop = async () => undefined;

async function time(fn: () => Promise<unknown>): Promise<number> {
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function baseline() {
  const q = new PQueue({ concurrency: C });
  const all: Array<Promise<unknown>> = [];
  for (let i = 0; i < N; i++) all.push(q.add(noop));
  await Promise.all(all);
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

async function fullApp() {
  const dir = mkdtempSync(join(tmpdir(), 'tip-bench-'));
  const app = await createTip({
    logger: silent,
    config: { database: { url: `sqlite:${join(dir, 'tip.sqlite')}` }, scheduler: { concurrency: C } },
    plugins: [definePlugin({ name: 'bench', version: '1.0.0', core: '^0.1.0', register: (ctx) => ctx.jobs.add({ id: 'bench', children: () => children }) })],
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

const rows: Array<{ name: string; ms: number; rss: number }> = [];
const best = async (name: string, fn: () => Promise<number | void>, timed = true): Promise<number> => {
  let min = Infinity;
  for (let r = 0; r < ROUNDS; r++) min = Math.min(min, timed ? await time(fn) : Number(await fn()));
  rows.push({ name, ms: min, rss: process.resourceUsage().maxRSS / 1024 });
  return min;
};
const base = await best('raw p-queue (baseline)', baseline);
await best('scheduler, no database', schedulerOnly);
await best('scheduler + SQLite run history', fullApp, false);

const fmt = (n: string, w: number): string => String(n).padStart(w);
console.log(`\nbench/scheduler: ${N.toLocaleString('en')} no-op jobs, concurrency ${C}, best of ${ROUNDS} (Node ${process.version})\n`);
console.log(`${'variant'.padEnd(34)}${fmt('total ms', 11)}${fmt('µs/job', 9)}${fmt('overhead µs/job', 17)}${fmt('× baseline', 12)}${fmt('peak RSS MiB', 14)}`);
for (const r of rows) {
  const per = (r.ms * 1000) / N;
  const over = ((r.ms - base) * 1000) / N;
  console.log(`${r.name.padEnd(34)}${fmt(r.ms.toFixed(0), 11)}${fmt(per.toFixed(2), 9)}${fmt(over.toFixed(2), 17)}${fmt((r.ms / base).toFixed(1), 12)}${fmt(r.rss.toFixed(0), 14)}`);
}
const worst = Math.max(...rows.map((r) => ((r.ms - base) * 1000) / N));
console.log(`\n(peak RSS is the process high-water mark after each variant) goal: overhead <= 50 µs/job -> ${worst <= 50 ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)} µs/job)`);
