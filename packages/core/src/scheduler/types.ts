import type { Logger } from 'pino';
import type { AppRole } from '../app/types.js';
import type { TipEventName, TipEvents } from '../events/EventBus.js';
import type { Duration } from '../util/duration.js';

/** Run the job at a fixed interval, measured from the end of the previous run (default first run: at start). */
export interface EveryTrigger {
  /** The interval between the end of one run and the start of the next (`'1h'`, `90_000`, …). */
  every: Duration;
  /** Run once right at the first start when the job has never run (default `true`). */
  immediate?: boolean;
}
/** Run the job on a cron schedule (5 or 6 fields; seconds optional). */
export interface CronTrigger {
  /** The cron expression, e.g. `'0 * * * *'` (5 fields) or `'30 0 * * * *'` (6, the first is seconds). */
  cron: string;
  /** IANA time zone, default UTC. */
  tz?: string;
}
/** Run the job once at a point in time. */
export interface AtTrigger {
  /** The moment: a Date, an ISO 8601 string or epoch milliseconds. Past once a run started at or after it. */
  at: Date | string | number;
}
/**
 * Run the job each time event `E` is emitted (events arriving during a run coalesce into one
 * rerun). Build it with `after(event, when?)`, which infers `E` and types `when`'s payload.
 */
export interface AfterTrigger<E extends TipEventName = TipEventName> {
  /** The event name (core's or one a plugin declared on `TipEvents`). */
  after: E;
  /** Only payloads that pass this run the job. */
  when?: (payload: TipEvents[E]) => boolean;
}
/**
 * An `after` trigger for any one event: the union of `AfterTrigger<E>` over every event name, so
 * `after('job.group.completed', (s) => s.failed > 0)` (whose `when` takes only a `GroupSummary`)
 * is assignable to it. Events plugins add to `TipEvents` by declaration merging are included.
 */
export type AnyAfterTrigger = { [E in TipEventName]: AfterTrigger<E> }[TipEventName];
/** When a job runs. A job may have several triggers; it then runs at the earliest. */
export type Trigger = EveryTrigger | CronTrigger | AtTrigger | AnyAfterTrigger;

/** Why a run started. */
export type RunReason = 'schedule' | 'overdue' | 'manual' | 'event' | 'group' | 'retry';

/** Final (or current) status of a run. `partial`: a group in which some children failed. */
export type JobRunStatus = 'running' | 'succeeded' | 'failed' | 'timeout' | 'aborted' | 'partial';

/** What a job's `run` may return: counters recorded with the run (`added`, `removed`, …). */
export interface JobResult {
  /** Counters stored with the run record (`added`, `removed`, …). */
  counts?: Record<string, number>;
}

/** The handle a running job gets. */
export interface JobRun {
  /** Run id (a UUID). */
  readonly id: string;
  /** The job's id. */
  readonly jobId: string;
  /** The group run this run belongs to, if it is a child. */
  readonly parentRunId?: string;
  /** Aborted on timeout or when the app stops; pass it to every I/O call. */
  readonly signal: AbortSignal;
  /** pino child logger with `{ job, run }`. */
  readonly log: Logger;
  /** 1 for the first attempt, then 2, 3… on retries. */
  readonly attempt: number;
  /** When this attempt started (scheduler clock). */
  readonly startedAt: Date;
  /** Why the run started. */
  readonly reason: RunReason;
  /**
   * The run's payload, always plain JSON (Dates arrive as ISO strings), whichever backend runs
   * it: the event payload for runs started by an `after` trigger, `trigger()`'s payload, or a
   * group child's {@link ChildSpec.payload} (else its group's payload).
   */
  readonly payload?: unknown;
  /** The event that started the run (runs started by an `after` trigger). */
  readonly event?: TriggerEvent;
}

/** The event behind a run started by an `after` trigger. */
export interface TriggerEvent {
  /** Unique id of this emission (a UUID): one run per job and event id, cluster-wide. */
  readonly id: string;
  /** The event name. */
  readonly name: string;
  /** When it was emitted (ISO 8601, scheduler clock). */
  readonly at: string;
}

/** A JSON value (what payloads and child specs may carry). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A group child as data (what {@link JobDefinition.children} returns): a **registered job** or a
 * **registered source**, plus a JSON payload. Any worker can run it, since every worker registers
 * the same jobs and sources; that is what lets a distributed backend spread one group's children
 * over several processes.
 */
export type ChildSpec = JobChildSpec | SourceChildSpec;

/** A child that runs a registered job (its `run`, or its own children) with a payload. */
export interface JobChildSpec {
  /** The registered job to run. */
  job: string;
  /** The child's id within the group (recorded as its run's `jobId`; default `job`). Unique per group. */
  id?: string;
  /** Passed as `run.payload` (default: the group's payload). */
  payload?: JsonValue;
}

/** A child that runs a registered source (fetch and ingest), as `SourceRunner.job()` would. */
export interface SourceChildSpec {
  /** The registered source's id. */
  source: string;
  /** The child's id within the group (default `<group id>/<source id>`). Unique per group. */
  id?: string;
  /** Passed as `run.payload` (default: the group's payload). */
  payload?: JsonValue;
}

/**
 * A running (or queued) run: a promise of its finished record that also carries the run's id
 * right away. `await scheduler.trigger(id)` waits for the record as before; `ticket.runId` lets a
 * caller enqueue without waiting and find the run in history later.
 */
export interface RunTicket extends Promise<JobRunRecord> {
  /** The run's id (a UUID), known before it starts; a trigger coalesced into a queued run gets that run's id. */
  readonly runId: string;
  /** Resolves with the finished record (the same as awaiting the ticket). */
  done(): Promise<JobRunRecord>;
  /**
   * Resolves once the run is queued, with the id of the run that will happen: `runId`, or, when
   * this trigger was coalesced into a run of the job already queued, that run's id. Rejects when
   * it could not be queued (unknown job, database down).
   */
  enqueued(): Promise<string>;
}

/** Retry policy: `attempts` counts the first try; waits `backoff · 2^(n-1)`, capped by `maxBackoff`. */
export interface RetryPolicy {
  /** Attempts in total, the first one included (1 = no retry). */
  attempts: number;
  /** Wait before the first retry; doubles for each further one (default 1 s). */
  backoff?: Duration;
  /** Longest wait between two attempts (default: no cap). */
  maxBackoff?: Duration;
}

/** Whether an overdue job (its slot passed while the app was down) runs once at start or waits. */
export type MissedRunPolicy = 'run-once' | 'skip';

/**
 * A job: plain data plus functions. A job with `children` is a **group**: it fans out one child job
 * per item (e.g. per source); when every child has ended (succeeded or failed) the group completes,
 * `onComplete` runs, `job.group.completed` is emitted, and only then is the next run computed.
 *
 * Children should be data ({@link ChildSpec}: a registered job or source plus a JSON payload), so
 * any worker can run them. Closures (`JobDefinition`s built at run time) still work with the
 * in-process backend, which runs them in the process that computed them; the pg-boss backend
 * refuses them, naming the group.
 */
export interface JobDefinition {
  /** Unique id, e.g. `'blacklist'` or `'blacklist/spamhaus-drop'`. */
  id: string;
  /** Human description shown by `tip jobs`. */
  description?: string;
  /** When the job runs; none means manual (or as a group child) only. */
  trigger?: Trigger | readonly Trigger[];
  /** Abort the run after this long (default from config `scheduler.defaultTimeout`). */
  timeout?: Duration;
  /** Retry failed attempts (default: no retry). */
  retry?: RetryPolicy;
  /** Runs sharing a key run one at a time (or `scheduler.keys[key]` at a time). */
  concurrencyKey?: string;
  /** Overdue-run policy (default `'run-once'`). */
  missed?: MissedRunPolicy;
  /** The leaf work. For a group it runs first, before children are computed. */
  run?(run: JobRun): Promise<JobResult | void> | JobResult | void;
  /** Makes this job a group: the children to fan out for this run (see {@link ChildSpec}). */
  children?(run: JobRun): Promise<readonly GroupChild[]> | readonly GroupChild[];
  /** Called once all children have ended. */
  onComplete?(summary: GroupSummary, run: JobRun): Promise<void> | void;
}

/** What `children()` may return: a {@link ChildSpec} (portable) or a job definition (in-process only). */
export type GroupChild = ChildSpec | JobDefinition;

/** One child's outcome inside a {@link GroupSummary}. */
export interface ChildOutcome {
  /** The child job's id. */
  jobId: string;
  /** The child run's id (its record in history). */
  runId: string;
  /** How the child run ended. */
  status: JobRunStatus;
  /** Why it did not succeed. */
  error?: string;
  /** The counters the child returned. */
  counts?: Record<string, number>;
}

/** What a group reports when all its children have ended. */
export interface GroupSummary {
  /** The group job's id. */
  jobId: string;
  /** The group run's id (parent of every child run). */
  runId: string;
  /** When the group run started (scheduler clock). */
  startedAt: Date;
  /** When its last child ended. */
  endedAt: Date;
  /** Number of children. */
  total: number;
  /** Children that succeeded. */
  succeeded: number;
  /** Children that did not succeed (failed, timed out or aborted). */
  failed: number;
  /** Every child's outcome, in the order `children()` returned them. */
  children: ChildOutcome[];
}

/** A persisted (or in-flight) run, as history returns it. */
export interface JobRunRecord {
  /** Run id (a UUID). */
  id: string;
  /** The job's id. */
  jobId: string;
  /** The group run this run is a child of. */
  parentId?: string;
  /** The plugin that registered the job. */
  plugin?: string;
  /** Why the run started. */
  reason: RunReason;
  /** Its status (`running` until it ends). */
  status: JobRunStatus;
  /** The attempt that ended it (1 without retries; 0 for a rerun that never started). */
  attempt: number;
  /** When it started (scheduler clock). */
  startedAt: Date;
  /** When it ended. */
  endedAt?: Date;
  /** `endedAt - startedAt` in ms, retries and back-off waits included. */
  durationMs?: number;
  /** Why it did not succeed (stored up to 4000 characters). */
  error?: string;
  /** Counters the job returned (for a group: `children`, `succeeded`, `failed`). */
  counts?: Record<string, number>;
  /** The worker that ran it (see {@link WorkerInfo}); unset for runs recorded before worker tracking. */
  workerId?: string;
}

/** A job as the scheduler sees it now. */
export interface JobInfo {
  /** The job's id. */
  id: string;
  /** Its description. */
  description?: string;
  /** The plugin that registered it. */
  plugin?: string;
  /** Whether it is a group (has `children`). */
  group: boolean;
  /** Its triggers (empty: manual only). */
  triggers: readonly Trigger[];
  /** Whether a top-level run of it is in progress. */
  running: boolean;
  /** When it runs next, if a time-based trigger plans it (unset while it runs). */
  nextRunAt?: Date;
  /** Its last top-level run, if any (from this process or the persisted plan). */
  lastRun?: {
    /** Run id. */
    id: string;
    /** How it ended. */
    status: JobRunStatus;
    /** When it started. */
    startedAt?: Date;
    /** When it ended. */
    endedAt?: Date;
  };
}

/** A job's last and next run, as `tip status` shows it ({@link Scheduler.plans}). */
export interface JobPlan {
  /** The job's id. */
  id: string;
  /** The plugin that registered it. */
  plugin?: string;
  /** Whether it is a group. */
  group: boolean;
  /** Its triggers (empty: manual only). */
  triggers: readonly Trigger[];
  /** Whether a top-level run of it is in progress in this process. */
  running: boolean;
  /** Its latest top-level run in the run history (any worker's), if it ever ran. */
  lastRun?: JobRunRecord;
  /**
   * When it runs next: this scheduler's plan when it is started, else the plan stored in the
   * database, else (a job never planned) when a start would run it.
   */
  nextRunAt?: Date;
}

/** `live`: heartbeating within its lease; `expired`: its lease passed without a heartbeat; `stopped`: it stopped cleanly. */
export type WorkerStatus = 'live' | 'expired' | 'stopped';

/** A worker: an app (process) that runs jobs on the shared database ({@link Scheduler.workers}). */
export interface WorkerInfo {
  /** The worker id (a UUID), recorded with each of its runs as `workerId`. */
  id: string;
  /** The host it runs on. */
  host: string;
  /** Its process id on that host. */
  pid: number;
  /** How the app was started (`serve`: `tip run`; `run`: one-shot commands such as `tip trigger`). */
  mode: string;
  /** Whether its scheduler runs timers and event triggers. */
  scheduling: boolean;
  /**
   * Its part in the deployment (`all`, `worker` or `web`; see `StartOptions.role`); unset for
   * workers registered before roles were recorded.
   */
  role?: AppRole;
  /** The TIP core version it runs. */
  version: string;
  /** Its lease in ms: it counts as dead once `heartbeatAt + leaseMs` passed. */
  leaseMs: number;
  /** When it registered. */
  startedAt: Date;
  /** Its last heartbeat. */
  heartbeatAt: Date;
  /** When it stopped cleanly. */
  stoppedAt?: Date;
  /** Milliseconds since its last heartbeat (on the reader's clock). */
  heartbeatAgeMs: number;
  /** Live, expired or stopped (on the reader's clock). */
  status: WorkerStatus;
  /** Its runs still recorded as `running`. */
  running: number;
  /** Whether it is the app asking. */
  self: boolean;
}

/** Filter for {@link Scheduler.history}. */
export interface HistoryQuery {
  /** Only runs of this job. */
  jobId?: string;
  /** Only the children of this group run. */
  parentId?: string;
  /** Only runs in this status. */
  status?: JobRunStatus;
  /** At most this many runs (default 100). */
  limit?: number;
}

/** Options of {@link Scheduler.trigger}. */
export interface TriggerOptions {
  /** Passed to the job as `run.payload`, as JSON (Dates become ISO strings; at most 256 KiB). */
  payload?: unknown;
  /** The reason recorded for the run (default `'manual'`). */
  reason?: RunReason;
}

/**
 * The scheduler contract, implemented by the in-process backend (one process, any database) and
 * the pg-boss backend (several workers sharing one PostgreSQL; `scheduler.backend: pg-boss`).
 * Both pass the same contract tests: a run starts once, a group completes once with every child's
 * outcome, an event starts each `after` job once, a restart keeps the schedule.
 */
export interface Scheduler {
  /** Adds a job (before or after start). */
  add(job: JobDefinition, owner?: string): void;
  /** Removes a job; a running run finishes. */
  remove(id: string): boolean;
  /** Every job with its plan. */
  jobs(): JobInfo[];
  /**
   * Runs a job now, coalescing with a run in progress (at most one rerun is queued). Returns a
   * {@link RunTicket} at once: its `runId`, and a promise of the record when the run ends. The
   * in-process backend runs it in this process; the pg-boss backend enqueues it for whichever
   * worker takes it. Rejects (`TIP_JOB_UNKNOWN`) for an unknown job, (`TIP_APP_STATE`) while
   * stopping, and (`TIP_INPUT_INVALID`) for a payload that is not JSON.
   */
  trigger(id: string, options?: TriggerOptions): RunTicket;
  /** Past runs, newest first (flushes buffered history first). */
  history(query?: HistoryQuery): Promise<JobRunRecord[]>;
  /**
   * Each job with its last run and next run, sorted by id (what `tip status` and `/api/jobs`
   * consumers show). Reads the run history and the stored plan; works in read mode too.
   */
  plans(): Promise<JobPlan[]>;
  /**
   * The workers registered on the database (every app that ran jobs, this one included), newest
   * heartbeat first, each live, expired or stopped. Empty without a database.
   */
  workers(): Promise<WorkerInfo[]>;
  /**
   * Resolves when no run is in progress or queued **in this process**. It is local: runs of other
   * workers sharing the database are not waited for.
   */
  idle(): Promise<void>;
  /**
   * Starts the scheduler: loads the plan and, with `schedule` (default true), starts the timers and
   * event triggers. The in-process backend with `schedule: false` stays as it is (runs only what is
   * triggered); the pg-boss backend still connects, and takes jobs when the process works.
   */
  start(options?: { schedule?: boolean }): Promise<void>;
  /**
   * Stops timers, waits for running jobs (aborting them after `drainTimeout`), flushes history.
   * Rejects (after stopping) when the last history flush fails.
   */
  stop(options?: { drainTimeout?: Duration }): Promise<void>;
}
