import type { Logger } from 'pino';
import type { TipEventName, TipEvents } from '../events/EventBus.js';
import type { Duration } from '../util/duration.js';

/** Run the job at a fixed interval, measured from the end of the previous run (default first run: at start). */
export interface EveryTrigger {
  every: Duration;
  /** Run once right at the first start when the job has never run (default `true`). */
  immediate?: boolean;
}
/** Run the job on a cron schedule (5 or 6 fields; seconds optional). */
export interface CronTrigger {
  cron: string;
  /** IANA time zone, default UTC. */
  tz?: string;
}
/** Run the job once at a point in time. */
export interface AtTrigger {
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
  /** The event payload for runs started by an `after` trigger or passed to `trigger()`. */
  readonly payload?: unknown;
}

/** Retry policy: `attempts` counts the first try; waits `backoff · 2^(n-1)`, capped by `maxBackoff`. */
export interface RetryPolicy {
  attempts: number;
  backoff?: Duration;
  maxBackoff?: Duration;
}

/** Whether an overdue job (its slot passed while the app was down) runs once at start or waits. */
export type MissedRunPolicy = 'run-once' | 'skip';

/**
 * A job: plain data plus functions. A job with `children` is a **group**: it fans out one child job
 * per item (e.g. per source); when every child has ended (succeeded or failed) the group completes,
 * `onComplete` runs, `job.group.completed` is emitted, and only then is the next run computed.
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
  /** Makes this job a group: the children to fan out for this run. */
  children?(run: JobRun): Promise<readonly JobDefinition[]> | readonly JobDefinition[];
  /** Called once all children have ended. */
  onComplete?(summary: GroupSummary, run: JobRun): Promise<void> | void;
}

/** One child's outcome inside a {@link GroupSummary}. */
export interface ChildOutcome {
  jobId: string;
  runId: string;
  status: JobRunStatus;
  error?: string;
  counts?: Record<string, number>;
}

/** What a group reports when all its children have ended. */
export interface GroupSummary {
  jobId: string;
  runId: string;
  startedAt: Date;
  endedAt: Date;
  total: number;
  succeeded: number;
  failed: number;
  children: ChildOutcome[];
}

/** A persisted (or in-flight) run, as history returns it. */
export interface JobRunRecord {
  id: string;
  jobId: string;
  parentId?: string;
  plugin?: string;
  reason: RunReason;
  status: JobRunStatus;
  attempt: number;
  startedAt: Date;
  endedAt?: Date;
  durationMs?: number;
  error?: string;
  counts?: Record<string, number>;
}

/** A job as the scheduler sees it now. */
export interface JobInfo {
  id: string;
  description?: string;
  plugin?: string;
  group: boolean;
  triggers: readonly Trigger[];
  running: boolean;
  nextRunAt?: Date;
  lastRun?: { id: string; status: JobRunStatus; startedAt?: Date; endedAt?: Date };
}

/** Filter for {@link Scheduler.history}. */
export interface HistoryQuery {
  jobId?: string;
  parentId?: string;
  status?: JobRunStatus;
  limit?: number;
}

/** Options of {@link Scheduler.trigger}. */
export interface TriggerOptions {
  payload?: unknown;
  reason?: RunReason;
}

/**
 * The scheduler contract. The in-process backend implements it today; a pg-boss backend for
 * several workers sharing one PostgreSQL implements the same interface.
 */
export interface Scheduler {
  /** Adds a job (before or after start). */
  add(job: JobDefinition, owner?: string): void;
  /** Removes a job; a running run finishes. */
  remove(id: string): boolean;
  /** Every job with its plan. */
  jobs(): JobInfo[];
  /** Runs a job now (coalescing with a run in progress) and resolves with its record when it ends. */
  trigger(id: string, options?: TriggerOptions): Promise<JobRunRecord>;
  /** Past runs, newest first (flushes buffered history first). */
  history(query?: HistoryQuery): Promise<JobRunRecord[]>;
  /** Resolves when no run is in progress or queued. */
  idle(): Promise<void>;
  /** Loads the plan from the database and starts the timers. */
  start(): Promise<void>;
  /**
   * Stops timers, waits for running jobs (aborting them after `drainTimeout`), flushes history.
   * Rejects (after stopping) when the last history flush fails.
   */
  stop(options?: { drainTimeout?: Duration }): Promise<void>;
}
