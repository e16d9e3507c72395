import { z } from 'zod';
import { TipError } from '../errors/TipError.js';
import { formatDuration, MAX_DURATION_MS, parseDuration, resolveBounds, type Duration, type DurationBounds } from '../util/duration.js';

const WHAT = 'duration';

/** `between 1s and 1d`, `at least 1h`, `at most 1h`, or `at most 3650d` (the global maximum). */
function describeBounds(bounds: DurationBounds): string {
  const { minMs, maxMs } = resolveBounds(bounds);
  if (minMs !== undefined && maxMs !== undefined) return `between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`;
  if (minMs !== undefined) return `at least ${formatDuration(minMs)}`;
  return `at most ${formatDuration(maxMs ?? MAX_DURATION_MS)}`;
}

/**
 * A zod schema for a duration in configuration: a number of **milliseconds** (`30000`) or a string
 * of `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d`, `w` (`"30s"`, `"1h30m"`, `"2d"`).
 * The value is checked with {@link parseDuration}: finite, non-negative, at most 10 years, and
 * within `bounds` (inclusive). An invalid value yields one issue whose message says what is wrong,
 * the accepted forms and the bounds (zod adds the path).
 *
 * **Output: the duration normalised to a whole number of milliseconds** (`"1h30m"` → `5400000`),
 * so consumers never parse again; the input type stays `number | string`. Use `.prefault("30s")`
 * for a default written as a duration string (it is validated like user input), or
 * `.default(30_000)` for a default in milliseconds.
 *
 * @param bounds optional inclusive `min` / `max`, themselves durations
 * @throws TipError `TIP_CONFIG_INVALID` (when called) if `bounds` are malformed
 *
 * @example
 * ```ts
 * const schema = z.object({ interval: durationSchema({ min: '1m' }).prefault('1h') });
 * schema.parse({ interval: '2h' }); // { interval: 7_200_000 }
 * schema.parse({});                 // { interval: 3_600_000 }
 * ```
 */
export function durationSchema(bounds: DurationBounds = {}): z.ZodPipe<z.ZodUnion<readonly [z.ZodNumber, z.ZodString]>, z.ZodTransform<number, number | string>> {
  const expected = `expected a duration ${describeBounds(bounds)}: a number of milliseconds or a string like "30s", "1h30m", "2d"`;
  return z.union([z.number(), z.string()], { error: expected }).transform((value: Duration, ctx) => {
    try {
      return parseDuration(value, WHAT, bounds);
    } catch (err) {
      const problem = err instanceof TipError ? err.message.slice(WHAT.length + 2).replace(/ \(use .*\)$/, '') : String(err);
      ctx.issues.push({ code: 'custom', message: `${problem}; ${expected}`, input: value });
      return z.NEVER;
    }
  });
}

/** The scheduler backends (`scheduler.backend`). */
const SCHEDULER_BACKENDS = {
  /** One process runs every job (SQLite or PostgreSQL). */
  'in-process': 'in-process',
  /** Several worker processes share one PostgreSQL; pg-boss distributes the runs. */
  'pg-boss': 'pg-boss',
} as const;

/** Log levels, most to least severe; each also enables the ones above it. */
const LOG_LEVELS = {
  /** Only fatal errors. */
  fatal: 'fatal',
  /** Errors. */
  error: 'error',
  /** Warnings. */
  warn: 'warn',
  /** Lifecycle and run summaries (the default). */
  info: 'info',
  /** Per-request and per-step details. */
  debug: 'debug',
  /** Everything. */
  trace: 'trace',
  /** Nothing. */
  silent: 'silent',
} as const;

const positiveInt = z.number().int().positive();

/**
 * The schema of core's own configuration keys. Plugins' keys sit beside these. Durations are
 * validated with {@link durationSchema} and come out as milliseconds. The keys are documented on
 * {@link CoreConfig} (output) and {@link CoreConfigInput} (what you write).
 */
export const coreConfigSchema = z
  .object({
    /** Where runs, state and plugin data are stored. */
    database: z
      .object({
        /** `sqlite:<path>` (relative to `baseDir`) or `postgres://…` (default `sqlite:./data/tip.sqlite`). */
        url: z.string().min(1).default('sqlite:./data/tip.sqlite'),
        /** Apply pending migrations at start (default true); when false, pending migrations fail the start. */
        autoMigrate: z.boolean().default(true),
        /** Create a missing PostgreSQL database at start (default false: a missing database is an error naming it). */
        create: z.boolean().default(false),
        /** Maximum PostgreSQL connections (1 to 200, default 10). */
        poolSize: positiveInt.max(200).default(10),
        /** How long to wait for a PostgreSQL connection (connecting, or a free pool client; 100ms to 10m, default 10s). */
        connectTimeout: durationSchema({ min: '100ms', max: '10m' }).prefault('10s'),
        /** PostgreSQL `statement_timeout` for every statement (default none: bulk ingestion is long). */
        statementTimeout: durationSchema({ min: '1s' }).optional(),
      })
      .strict()
      .prefault({}),
    /** The job scheduler. */
    scheduler: z
      .object({
        /** Run scheduled jobs and event triggers (default true; false = only manual runs). */
        enabled: z.boolean().default(true),
        /** Leaf job runs in progress at once across the app (1 to 1024, default 4). */
        concurrency: positiveInt.max(1024).default(4),
        /** Per-plugin caps on concurrent runs, by plugin name (default: only the global cap). */
        pluginConcurrency: z.record(z.string(), positiveInt).default({}),
        /** Per-`concurrencyKey` caps on concurrent runs (default 1 for any key not listed). */
        keyConcurrency: z.record(z.string(), positiveInt).default({}),
        /** Timeout of jobs that set none (at least 1s); unset = no timeout. */
        defaultTimeout: durationSchema({ min: '1s' }).optional(),
        /** How long `stop()` waits for running jobs (0 to 1h, default 30s). */
        drainTimeout: durationSchema({ min: 0, max: '1h' }).prefault('30s'),
        /** How long run history is kept (at least 1h, default 30d). */
        historyRetention: durationSchema({ min: '1h' }).prefault('30d'),
        /** How often a worker (an app that runs jobs) refreshes its row in `tip_worker` (100ms to 1h, default 10s). */
        heartbeat: durationSchema({ min: '100ms', max: '1h' }).prefault('10s'),
        /**
         * How long after its last heartbeat a worker counts as dead, its running jobs then marked
         * aborted by the other workers (longer than `heartbeat`, at most 1d; default 3 × heartbeat).
         */
        lease: durationSchema({ min: '200ms', max: '1d' }).optional(),
        /**
         * Which scheduler runs the jobs: `in-process` (default: one process, SQLite or PostgreSQL) or
         * `pg-boss` (several worker processes sharing one PostgreSQL; pg-boss distributes the runs).
         */
        backend: z.enum(SCHEDULER_BACKENDS).default('in-process'),
        /** Settings of the `pg-boss` backend (ignored by `in-process`). */
        pgBoss: z
          .object({
            /** PostgreSQL schema pg-boss keeps its queues in (default `tip_pgboss`). */
            schema: z.string().regex(/^[a-z_][a-z0-9_]{0,49}$/, 'a lower-case SQL identifier of at most 50 characters').default('tip_pgboss'),
            /** How often an idle worker polls for jobs and due schedules (500ms to 1m, default 1s). */
            pollInterval: durationSchema({ min: '500ms', max: '1m' }).prefault('1s'),
            /** How often pg-boss looks for jobs whose worker stopped heartbeating or that expired (1s to 10m, default 10s). */
            monitorInterval: durationSchema({ min: '1s', max: '10m' }).prefault('10s'),
            /**
             * A worker heartbeats each job it runs; one silent for this long (a killed worker) loses the
             * job, which is retried elsewhere (10s to 1h, default 30s).
             */
            jobHeartbeat: durationSchema({ min: '10s', max: '1h' }).prefault('30s'),
            /** Extra attempts a run gets when its worker died under it (0 to 10, default 2). */
            crashRetries: z.number().int().min(0).max(10).default(2),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .refine((s) => s.lease === undefined || s.lease > s.heartbeat, {
        message: 'scheduler.lease must be longer than scheduler.heartbeat',
        path: ['lease'],
      })
      .prefault({}),
    /** The HTTP client sources fetch feeds with. */
    http: z
      .object({
        /** Connect timeout of feed requests (100ms to 1d, default 10s). */
        connectTimeout: durationSchema({ min: '100ms', max: '1d' }).prefault('10s'),
        /** Total timeout of feed requests (100ms to 1d, default 2m). */
        timeout: durationSchema({ min: '100ms', max: '1d' }).prefault('2m'),
        /** Largest response body in bytes (default 256 MiB). */
        maxBytes: positiveInt.default(256 * 1024 * 1024),
        /** Redirects followed per request (0 to 20, default 5). */
        maxRedirects: z.number().int().min(0).max(20).default(5),
        /** `User-Agent` header of requests (default TIP's own). */
        userAgent: z.string().optional(),
      })
      .strict()
      .prefault({}),
    /** Logging. */
    log: z
      .object({
        /** Minimum level logged (default `info`). */
        level: z.enum(LOG_LEVELS).default('info'),
      })
      .strict()
      .prefault({}),
    /** Prometheus metrics. */
    metrics: z
      .object({
        /** Also export Node.js process metrics (CPU, memory, GC, handles) as `tip_process_*` / `tip_nodejs_*` (default false). */
        processMetrics: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Timeouts of the app's start and stop. */
    lifecycle: z
      .object({
        /** Longest a plugin's `init` or `stop` hook may take before start/stop fails naming the plugin and hook (10ms to 1d, default 60s). */
        hookTimeout: durationSchema({ min: '10ms', max: '1d' }).prefault('60s'),
        /** Longest services get to return after the app asked them to stop (0 to 1h, default 30s). */
        serviceStopTimeout: durationSchema({ min: 0, max: '1h' }).prefault('30s'),
      })
      .strict()
      .prefault({}),
    /** Directory relative paths in the config are resolved against (set by the CLI to the config file's folder). */
    baseDir: z.string().optional(),
  })
  .passthrough();

/**
 * Core's validated configuration (the output of {@link coreConfigSchema}): defaults applied,
 * durations in milliseconds.
 *
 * @interface
 */
export type CoreConfig = z.output<typeof coreConfigSchema>;
/**
 * What users may write for core's keys (everything has a default); durations may be strings such
 * as `"30s"`.
 *
 * @interface
 */
export type CoreConfigInput = z.input<typeof coreConfigSchema>;
