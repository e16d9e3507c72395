// One worker process of bench/scaleout (started by run.ts, not by hand): takes the bench's no-op
// jobs from a shared PostgreSQL until SIGTERM. Argument: one JSON WorkerSpec.
//   pg-boss  a bare PgBoss instance working queue `bench` with a no-op handler
//   tip      a TipApp with scheduler.backend 'pg-boss' and the bench plugin (role worker)
// Prints `READY <pid>` on stdout once it takes jobs; exits 0 after a clean stop.
import { PgBoss } from 'pg-boss';
import { pino } from 'pino';
import { createTip, type CoreConfigInput, type TipApp } from '@tip/core';
import { benchPlugin, PGBOSS_QUEUE, PGBOSS_SCHEMA } from './plugin.ts';

/** What run.ts passes to each worker. */
export interface WorkerSpec {
  kind: 'pg-boss' | 'tip';
  /** The bench database. */
  url: string;
  /** Jobs this worker runs at once (pg-boss localConcurrency / scheduler.concurrency). */
  concurrency: number;
  /** Idle poll interval in ms (pg-boss pollingIntervalSeconds / scheduler.pgBoss.pollInterval). */
  pollMs: number;
  /** Number of `noop/<i>` jobs and of group children the TIP plugin registers. */
  n: number;
  /** pg-boss's monitor / supervise / queue-cache interval in ms (scheduler.pgBoss.monitorInterval). */
  monitorMs: number;
  /** The bare baseline's pg-boss work() options (localConcurrency, batchSize, …). */
  work?: Record<string, unknown>;
}

const spec = JSON.parse(process.argv[2] ?? '') as WorkerSpec;
const silent = pino({ level: 'silent' });
const fail = (what: string, err: unknown): never => {
  console.error(`scaleout worker ${process.pid} (${spec.kind}): ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
};

let stop: () => Promise<void>;
if (spec.kind === 'pg-boss') {
  // The constructor options PgBossScheduler uses (see its #ready()), so that the queue cache that
  // drives burstWhenReadyExceeds refreshes as often as TIP's.
  const monitorS = Math.max(1, Math.round(spec.monitorMs / 1000));
  const boss = new PgBoss({
    connectionString: spec.url,
    schema: PGBOSS_SCHEMA,
    max: Math.max(3, Math.min(20, spec.concurrency + 2)),
    schedule: false,
    migrate: false,
    superviseIntervalSeconds: monitorS,
    monitorIntervalSeconds: monitorS,
    queueCacheIntervalSeconds: monitorS,
  });
  boss.on('error', (err) => console.error(`scaleout worker ${process.pid}: pg-boss error: ${err.message}`));
  await boss.start().catch((err: unknown) => fail('pg-boss start', err));
  await boss.work(PGBOSS_QUEUE, { pollingIntervalSeconds: spec.pollMs / 1000, ...spec.work }, async () => undefined);
  stop = () => boss.stop({ graceful: true, timeout: 10_000 });
} else {
  const config: CoreConfigInput = {
    database: { url: spec.url, poolSize: 4 }, // + pg-boss's pool: keep W workers + the client under max_connections
    log: { level: 'warn' },
    scheduler: { backend: 'pg-boss', concurrency: spec.concurrency, pgBoss: { pollInterval: spec.pollMs, monitorInterval: spec.monitorMs } },
  };
  const app: TipApp = await createTip({ logger: silent, config, plugins: [benchPlugin(spec.n)] });
  await app.start({ mode: 'serve', role: 'worker' }).catch((err: unknown) => fail('TIP start', err));
  stop = () => app.stop();
}

process.once('SIGTERM', () => {
  stop().then(
    () => process.exit(0),
    (err: unknown) => fail('stop', err),
  );
});
// Core's and pg-boss's timers may be unref'd: keep the process alive until SIGTERM.
setInterval(() => undefined, 1 << 30);
console.log(`READY ${process.pid}`);
