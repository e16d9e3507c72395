// The test plugin of the cluster contract tests: the same jobs in every worker process and in the
// test's client app. Each job writes what it did to `tip_probe` (one row per attempt start and per
// successful end), so a test can count executions independently of the scheduler's own history.
// Imported by worker.ts under plain `node` (type stripping: erasable TypeScript only) and by the
// harness under vitest, so it imports '@tip/core' by name and nothing from ../src.
import { after, cron, definePlugin, executeRaw, sqlMigration, type EntityManager, type JobDefinition, type JobRun, type TipPlugin } from '@tip/core';

declare module '@tip/core' {
  interface TipEvents {
    /** Emitted by the `emitter` job of the cluster tests. */
    'test.ping': TestPing;
  }
}

/** Payload of `test.ping`. */
export interface TestPing {
  /** The emitter run's payload `n`. */
  n: number;
  /** The emitter run's id (the event's source). */
  emitter: string;
}

/** Manual leaf jobs `probe/0` … `probe/<PROBE_JOBS - 1>`. */
export const PROBE_JOBS = 1000;
/** Children of the `fan` group. */
export const FAN_CHILDREN = 50;
/** How long `slow` waits for a `release` row at most. */
export const SLOW_MAX_MS = 60_000;

/** Options of {@link probePlugin}. */
export interface ProbeOptions {
  /** The label rows are written with (`w0`, `A`, `client`, …). */
  worker: string;
  /** Register `tick` (cron every 2 s); only the restart test asks for it. */
  tick?: boolean;
}

/** A row of `tip_probe`, as the tests read it. */
export interface ProbeRow {
  kind: 'start' | 'end' | 'release';
  job_id: string | null;
  run_id: string | null;
  worker: string | null;
  pid: number | null;
  attempt: number | null;
  payload: unknown;
  event_id: string | null;
  at: Date;
}

const migration = sqlMigration('0001-cluster-probe', {
  sqlite: [
    'create table tip_probe (id integer primary key autoincrement, kind text not null, job_id text, run_id text, worker text, pid integer, attempt integer, payload json, event_id text, at datetime not null default current_timestamp)',
    'create table tip_probe_summary (id integer primary key autoincrement, run_id text not null, worker text not null, summary json not null, at datetime not null default current_timestamp)',
  ],
  postgresql: [
    'create table tip_probe (id bigserial primary key, kind varchar(16) not null, job_id text, run_id text, worker text, pid int, attempt int, payload jsonb, event_id text, at timestamptz not null default clock_timestamp())',
    'create index tip_probe_job_id on tip_probe (job_id)',
    'create table tip_probe_summary (id bigserial primary key, run_id text not null, worker text not null, summary jsonb not null, at timestamptz not null default clock_timestamp())',
  ],
});

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/** The probe plugin: jobs `probe/*`, `leaf`, `fan`, `emitter`, `listener`, `slow` and (optionally) `tick`. PostgreSQL only. */
export function probePlugin(options: ProbeOptions): TipPlugin<unknown> {
  return definePlugin<unknown>({
    name: 'cluster-probe',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      ctx.migrations(migration);
      let em: (() => EntityManager) | undefined;
      const db = (): EntityManager => {
        if (!em) throw new Error('cluster-probe: the app is not initialised');
        return em();
      };
      const record = async (kind: 'start' | 'end', run: JobRun): Promise<void> => {
        await executeRaw(db(), 'insert into tip_probe (kind, job_id, run_id, worker, pid, attempt, payload, event_id) values ($1, $2, $3, $4, $5, $6, $7, $8)', [
          kind,
          run.jobId,
          run.id,
          options.worker,
          process.pid,
          run.attempt,
          run.payload === undefined ? null : JSON.stringify(run.payload),
          run.event?.id ?? null,
        ]);
      };
      /** A job whose `run` is recorded: a start row, the work, an end row when it succeeded. */
      const probed = (job: Omit<JobDefinition, 'run'>, work: (run: JobRun) => Promise<{ counts?: Record<string, number> } | void>): JobDefinition => ({
        ...job,
        run: async (run) => {
          await record('start', run);
          const result = await work(run);
          await record('end', run);
          return result;
        },
      });

      const jobs: JobDefinition[] = [];
      for (let i = 0; i < PROBE_JOBS; i++) jobs.push(probed({ id: `probe/${i}` }, (run) => sleep(2 + (i % 5), run.signal)));
      jobs.push(
        probed({ id: 'leaf' }, async (run) => {
          await sleep(5, run.signal);
          const { i } = run.payload as { i: number };
          return { counts: { i, one: 1 } };
        }),
        {
          id: 'fan',
          children: () => Array.from({ length: FAN_CHILDREN }, (_, i) => ({ job: 'leaf', id: `fan/${i}`, payload: { i } })),
          onComplete: async (summary) => {
            await executeRaw(db(), 'insert into tip_probe_summary (run_id, worker, summary) values ($1, $2, $3)', [summary.runId, options.worker, JSON.stringify(summary)]);
          },
        },
        probed({ id: 'emitter' }, async (run) => {
          const { n } = run.payload as { n: number };
          await ctx.events.emit('test.ping', { n, emitter: run.id });
        }),
        probed({ id: 'listener', trigger: after('test.ping') }, async () => undefined),
        probed({ id: 'slow' }, async (run) => {
          const until = Date.now() + SLOW_MAX_MS;
          while (Date.now() < until) {
            const { rows } = await executeRaw(db(), "select 1 from tip_probe where kind = 'release' limit 1");
            if (rows.length > 0) return;
            await sleep(200, run.signal);
          }
          throw new Error(`slow: no release row within ${SLOW_MAX_MS} ms`);
        }),
      );
      if (options.tick) jobs.push(probed({ id: 'tick', trigger: cron('*/2 * * * * *') }, async () => undefined));
      ctx.jobs.add(...jobs);
      return {
        init(ictx) {
          em = () => ictx.em();
        },
      };
    },
  });
}
