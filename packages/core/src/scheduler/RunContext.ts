import type { Logger } from 'pino';
import type { TipEventBus } from '../events/EventBus.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { Clock } from '../util/clock.js';
import type { ChildResolver } from './children.js';
import type { ConcurrencyLimiter } from './ConcurrencyLimiter.js';
import type { RunHistory } from './RunHistory.js';
import type { JobRunStatus, TriggerEvent } from './types.js';

/**
 * What the parts of the in-process scheduler share: its clock, event bus, history, logger,
 * metrics, concurrency limiter and the two stop signals.
 * @internal
 */
export interface RunContext {
  /** The scheduler clock (timers, timeouts, retry back-off). */
  readonly clock: Clock;
  /** The app's event bus (`job.started`, `job.finished`, `job.group.completed`, `after` triggers). */
  readonly events: TipEventBus;
  /** Where run records and plans are persisted. */
  readonly history: RunHistory;
  /** The scheduler's logger. */
  readonly log: Logger;
  /** Job metrics, when the app has them. */
  readonly metrics: TipMetrics | undefined;
  /** Global, per-plugin and per-key slots for leaf work. */
  readonly limiter: ConcurrencyLimiter;
  /** Timeout in ms for jobs that declare none (`undefined`: none). */
  readonly defaultTimeoutMs: number | undefined;
  /** How many children of one group are dispatched (running or queued) at a time. */
  readonly groupWindow: number;
  /** Aborted when `stop()` begins: cancels retry back-off waits and attempts not yet started. */
  readonly stopping: AbortSignal;
  /** Aborted when the drain timeout passes: aborts every running job. */
  readonly abortAll: AbortSignal;
  /**
   * After a stop aborted a running job, how long (ms, real time) to wait for the job to really
   * end, so its record says what happened (it may still commit, or roll back).
   */
  readonly abortGraceMs: number;
  /** Resolves group children given as data (registered jobs and sources). */
  readonly children: ChildResolver;
}

/**
 * How one attempt, a retry sequence or a group ended (before it becomes a `JobRunRecord`).
 * @internal
 */
export interface Outcome {
  /** Final status. */
  readonly status: JobRunStatus;
  /** Error text when it did not succeed. */
  readonly error?: string;
  /** Counters to record with the run. */
  readonly counts?: Record<string, number>;
}

/**
 * What a run is given besides its definition: its JSON payload and, for runs started by an
 * `after` trigger, the event.
 * @internal
 */
export interface RunInput {
  /** `run.payload`. */
  readonly payload?: unknown;
  /** `run.event`. */
  readonly event?: TriggerEvent;
}

/** No payload, no event. @internal */
export const NO_INPUT: RunInput = Object.freeze({});

/** The outcome of a successful run without counters (shared: outcomes are never mutated). @internal */
export const SUCCEEDED: Outcome = Object.freeze({ status: 'succeeded' });
