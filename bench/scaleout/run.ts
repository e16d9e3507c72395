// Benchmark: N no-op jobs through W worker processes sharing one PostgreSQL, TIP's pg-boss backend
// against bare pg-boss measured in the same run with the same concurrency C and poll interval:
//   - pg-boss: W processes each `new PgBoss()` + `work('bench', { localConcurrency: C,
//     pollingIntervalSeconds }, noop)` — the options TIP's backend passes to its own work() calls;
//     the parent inserts N jobs (batches of 500) and waits until all N are completed. Note: with
//     batchSize 1, each of pg-boss's C fetch loops sleeps out the polling interval after every job
//     (pg-boss only fetches back-to-back in "burst" mode, which needs batchSize > 1), so this is
//     bounded by W × C ÷ poll interval (8 jobs/s per worker at 500ms) whatever a job costs;
//   - pg-boss burst: the throughput ceiling, `{ localConcurrency: 1, batchSize: C, burstWhenBatchFull:
//     true }` — C jobs in flight per worker, fetched back-to-back while the queue has more;
//   - TIP (jobs): W TipApps (scheduler.backend 'pg-boss', scheduler.concurrency C, role worker); a client
//     app started with `work: false` triggers the N registered no-op jobs `noop/<i>` once each and
//     waits until the N runs succeeded in tip_job_run;
//   - TIP (group children): the same workers; the client triggers one group whose N children are data
//     (`{ job: 'noop', id: 'g/<i>' }`) and waits until the group run succeeded.
// Wall time runs from the first insert/trigger to the last completion (the database is polled every
// 20 ms); worker start-up is not timed. Each W and variant gets a fresh database, dropped at the end.
// Usage: node bench/scaleout/run.ts [--n 2000] [--concurrency 4] [--workers 1,2,3] [--poll 500ms]
//          [--variants pg-boss,pg-boss-burst,tip] [--timeout 600s]
//   N defaults to $SCALEOUT_N or 2000. Needs the PostgreSQL of the tests ($TIP_TEST_PG_URL or
//   postgres://postgres@127.0.0.1:5432/test). Goal: TIP's cost per job <= 2× pg-boss's (same options).
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { pino } from 'pino';
import * as core from '@tip/core';
import { tempPostgres, type TestDatabase } from '@tip/core/testing';
import { benchPlugin, GROUP_JOB, PGBOSS_QUEUE, PGBOSS_SCHEMA } from './plugin.ts';
import type { WorkerSpec } from './worker.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    workers: { type: 'string', default: '1,2,3' },
    poll: { type: 'string', default: '500ms' },
    variants: { type: 'string', default: 'pg-boss,pg-boss-burst,tip' },
    timeout: { type: 'string', default: '600s' },
  },
});
const N = Number(values.n ?? process.env.SCALEOUT_N ?? 2000);
const C = Number(values.concurrency);
const WORKERS = values.workers.split(',').map(Number);
const POLL_MS = core.parseDuration(values.poll, '--poll');
const TIMEOUT_MS = core.parseDuration(values.timeout, '--timeout');
/** pg-boss work() options of the two baselines (pollingIntervalSeconds is added from --poll). */
const SAME_AS_TIP = { localConcurrency: C };
const BURST = { localConcurrency: 1, batchSize: C, burstWhenBatchFull: true };
const VARIANTS = new Set(values.variants.split(','));
if (!(N > 0) || !(C > 0) || WORKERS.some((w) => !(w > 0))) throw new Error('--n, --concurrency and --workers must be positive numbers');
// Until the pg-boss backend is on this branch the TIP columns cannot be measured; say so in the table.
const tipBackend = 'PgBossScheduler' in core;
const silent = pino({ level: 'silent' });
const workerScript = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Polls `check` every 20 ms until it returns true; throws naming `what` after TIMEOUT_MS. */
async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench/scaleout: timed out after ${values.timeout} waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** W worker processes of one kind, each started and READY. */
async function startWorkers(spec: WorkerSpec, w: number): Promise<ChildProcess[]> {
  const procs: ChildProcess[] = [];
  try {
    await Promise.all(
      Array.from({ length: w }, () => {
        const child = spawn(process.execPath, [workerScript, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
        procs.push(child);
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          process.stderr.write(d);
        });
        return new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${spec.kind} worker ${child.pid} not READY within 60s; stderr: ${stderr}`)), 60_000);
          child.stdout!.on('data', (d: Buffer) => {
            if (d.toString().includes('READY')) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`${spec.kind} worker ${child.pid} exited with code ${code} before READY; stderr: ${stderr}`));
          });
        });
      }),
    );
  } catch (err) {
    await stopWorkers(procs);
    throw err;
  }
  return procs;
}

/** SIGTERM to every worker, then waits for each to exit (SIGKILL after 30 s). */
async function stopWorkers(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => {
            console.error(`bench/scaleout: worker ${child.pid} did not exit 30s after SIGTERM; killing it`);
            child.kill('SIGKILL');
          }, 30_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** Counts rows with one query on a short-lived client of the bench database. */
async function count(client: pg.Client, sql: string, params: unknown[] = []): Promise<number> {
  const res = await client.query<{ n: number }>(sql, params);
  return Number(res.rows[0]?.n ?? 0);
}

async function withDatabase<T>(fn: (db: TestDatabase, client: pg.Client) => Promise<T>): Promise<T> {
  const db = await tempPostgres();
  const client = new pg.Client({ connectionString: db.url });
  try {
    await client.connect();
    return await fn(db, client);
  } finally {
    await client.end().catch(() => undefined);
    await db.drop();
  }
}

/** Bare pg-boss: ms until N inserted jobs are completed by W workers with these work() options. */
function measurePgBoss(w: number, work: Record<string, unknown>): Promise<number> {
  return withDatabase(async (db, client) => {
    const boss = new PgBoss({ connectionString: db.url, schema: PGBOSS_SCHEMA, max: 2, schedule: false, supervise: false });
    boss.on('error', (err) => console.error(`bench/scaleout: pg-boss (parent) error: ${err.message}`));
    await boss.start();
    await boss.createQueue(PGBOSS_QUEUE);
    const workers = await startWorkers({ kind: 'pg-boss', url: db.url, concurrency: C, pollMs: POLL_MS, n: N, work }, w);
    try {
      const t0 = performance.now();
      for (let i = 0; i < N; i += 500) {
        await boss.insert(PGBOSS_QUEUE, Array.from({ length: Math.min(500, N - i) }, (_, k) => ({ data: { i: i + k } })));
      }
      const done = `select count(*)::int as n from ${PGBOSS_SCHEMA}.job where name = $1 and state = 'completed'`;
      await waitFor(`${N} pg-boss jobs completed by ${w} worker(s)`, async () => (await count(client, done, [PGBOSS_QUEUE])) >= N);
      return performance.now() - t0;
    } finally {
      await stopWorkers(workers);
      await boss.stop({ graceful: false, timeout: 5_000 });
    }
  });
}

/** TIP with the pg-boss backend: ms for N triggered jobs, and ms for one group of N children. */
function measureTip(w: number): Promise<{ jobsMs: number; groupMs: number }> {
  return withDatabase(async (db, client) => {
    const config: core.CoreConfigInput = {
      database: { url: db.url },
      log: { level: 'warn' },
      scheduler: { backend: 'pg-boss', concurrency: C, pgBoss: { pollInterval: POLL_MS } },
    };
    // The client app migrates the database before the workers start, then only enqueues.
    const app = await core.createTip({ logger: silent, config, plugins: [benchPlugin(N)] });
    await app.start({ mode: 'run', schedule: false, work: false });
    let workers: ChildProcess[] = [];
    try {
      workers = await startWorkers({ kind: 'tip', url: db.url, concurrency: C, pollMs: POLL_MS, n: N }, w);
      const notOk = `select count(*)::int as n from tip_job_run where status not in ('running', 'succeeded')`;

      let t0 = performance.now();
      const tickets = Array.from({ length: N }, (_, i) => app.scheduler.trigger(`noop/${i}`));
      for (const t of tickets) t.catch(() => undefined); // checked below; no unhandled rejection if the wait fails first
      const ok = `select count(*)::int as n from tip_job_run where job_id like 'noop/%' and status = 'succeeded'`;
      await waitFor(`${N} TIP noop/<i> runs succeeded on ${w} worker(s)`, async () => {
        if ((await count(client, notOk)) > 0) throw new Error('bench/scaleout: a TIP run did not succeed (see tip_job_run)');
        return (await count(client, ok)) >= N;
      });
      const jobsMs = performance.now() - t0;
      const records = await Promise.all(tickets);
      if (records.some((r) => r.status !== 'succeeded')) throw new Error('bench/scaleout: a noop/<i> ticket did not resolve to a succeeded run');

      t0 = performance.now();
      const ticket = app.scheduler.trigger(GROUP_JOB);
      const groupOk = `select count(*)::int as n from tip_job_run where id = $1 and status = 'succeeded'`;
      await waitFor(`the TIP group of ${N} children on ${w} worker(s)`, async () => {
        if ((await count(client, notOk)) > 0) throw new Error('bench/scaleout: a TIP group child or the group did not succeed (see tip_job_run)');
        return (await count(client, groupOk, [ticket.runId])) === 1;
      });
      const groupMs = performance.now() - t0;
      const rec = await ticket;
      if (rec.status !== 'succeeded' || rec.counts?.succeeded !== N) throw new Error(`bench/scaleout: group run ended ${rec.status} with counts ${JSON.stringify(rec.counts)}`);
      return { jobsMs, groupMs };
    } finally {
      await stopWorkers(workers);
      await app.stop();
    }
  });
}

interface Row {
  w: number;
  pgboss?: number;
  burst?: number;
  tipJobs?: number;
  tipGroup?: number;
}
const rows: Row[] = [];
const load0 = loadavg();
for (const w of WORKERS) {
  const row: Row = { w };
  if (VARIANTS.has('pg-boss')) row.pgboss = await measurePgBoss(w, SAME_AS_TIP);
  if (VARIANTS.has('pg-boss-burst')) row.burst = await measurePgBoss(w, BURST);
  if (VARIANTS.has('tip') && tipBackend) {
    const tip = await measureTip(w);
    row.tipJobs = tip.jobsMs;
    row.tipGroup = tip.groupMs;
  }
  rows.push(row);
}
const load1 = loadavg();

const pad = (s: string, n: number): string => s.padStart(n);
const rate = (ms: number | undefined): string => (ms === undefined ? 'n/a' : ((N * 1000) / ms).toFixed(0));
const ratio = (tip: number | undefined, base: number | undefined): string => (tip === undefined || base === undefined ? 'n/a' : `${(tip / base).toFixed(2)}×`);
console.log(`\nbench/scaleout: ${N.toLocaleString('en')} no-op jobs per variant, concurrency ${C} per worker, poll ${values.poll} (Node ${process.version})`);
console.log(`pg-boss work options: ${JSON.stringify(SAME_AS_TIP)} (as TIP's backend), burst ${JSON.stringify(BURST)}\n`);
const cols: Array<[string, number]> = [['W', 3], ['pg-boss/s', 11], ['burst/s', 9], ['TIP jobs/s', 12], ['TIP children/s', 16], ['jobs ÷ pg-boss', 16], ['children ÷ pg-boss', 21], ['jobs ÷ burst', 14], ['children ÷ burst', 18]];
console.log(cols.map(([name, w], i) => (i === 0 ? name.padEnd(w) : pad(name, w))).join(''));
for (const r of rows) {
  const cells = [String(r.w), rate(r.pgboss), rate(r.burst), rate(r.tipJobs), rate(r.tipGroup), ratio(r.tipJobs, r.pgboss), ratio(r.tipGroup, r.pgboss), ratio(r.tipJobs, r.burst), ratio(r.tipGroup, r.burst)];
  console.log(cells.map((c, i) => (i === 0 ? c.padEnd(cols[0]![1]) : pad(c, cols[i]![1]))).join(''));
}
if (!tipBackend) console.log('\nTIP columns n/a: @tip/core has no PgBossScheduler in this build (the pg-boss backend has not landed).');
const ratios = rows.flatMap((r) => (r.pgboss === undefined ? [] : [r.tipJobs, r.tipGroup].filter((x) => x !== undefined).map((x) => x / r.pgboss!)));
if (ratios.length) {
  const worst = Math.max(...ratios);
  console.log(`\ngoal: TIP's cost per job <= 2× pg-boss's with the same work() options -> ${worst <= 2 ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)}×)`);
}
console.log(`(cost ratio = TIP wall time ÷ pg-boss wall time for the same N and W; load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')})`);
