import type { Logger } from 'pino';
import type { RunInput } from './RunContext.js';
import type { JobRun, RunReason, TriggerEvent } from './types.js';

/** Mutable and lazily created parts of a handle, shared with objects derived from it. */
interface HandleState {
  readonly startedAt: number;
  readonly baseLog: Logger;
  readonly fixedSignal: AbortSignal | undefined;
  log: Logger | undefined;
  controller: AbortController | undefined;
  aborted: boolean;
  abortReason: unknown;
  onAbort: ((reason: unknown) => void) | undefined;
}

/**
 * Where a handle keeps its state: a symbol rather than `#private` fields, so objects derived with
 * `Object.create(handle, …)` (as `SourceRunner` does) read the same state through the prototype.
 */
const STATE = Symbol('RunHandle.state');

/**
 * The {@link JobRun} handle of one attempt (or of a group's `children`/`onComplete` calls).
 *
 * Cheap to create: the pino child logger, the `startedAt` Date and the AbortController behind
 * `signal` are only made when a job reads them, so a dispatch of 100k no-op jobs allocates none.
 * @internal
 */
export class RunHandle implements JobRun {
  /** Run id (a UUID). */
  readonly id: string;
  /** The job's id. */
  readonly jobId: string;
  /** The group run this run belongs to, if it is a child. */
  readonly parentRunId: string | undefined;
  /** 1 for the first attempt, then 2, 3… on retries. */
  readonly attempt: number;
  /** Why the run started. */
  readonly reason: RunReason;
  /** The event payload or `trigger()` payload (JSON). */
  readonly payload: unknown;
  /** The event that started the run, if an `after` trigger did. */
  readonly event: TriggerEvent | undefined;
  /** The handle's state (see {@link STATE}). */
  readonly [STATE]: HandleState;

  /**
   * @param startedAt when the attempt started (scheduler clock ms)
   * @param baseLog the scheduler logger the lazy child logger derives from
   * @param fixedSignal use this signal instead of an own one (group handles get the app's abort signal)
   */
  constructor(
    id: string,
    jobId: string,
    parentRunId: string | undefined,
    attempt: number,
    reason: RunReason,
    input: RunInput,
    startedAt: number,
    baseLog: Logger,
    fixedSignal?: AbortSignal,
  ) {
    this.id = id;
    this.jobId = jobId;
    this.parentRunId = parentRunId;
    this.attempt = attempt;
    this.reason = reason;
    this.payload = input.payload;
    this.event = input.event;
    this[STATE] = { startedAt, baseLog, fixedSignal, log: undefined, controller: undefined, aborted: false, abortReason: undefined, onAbort: undefined };
  }

  /** When this attempt started (scheduler clock). */
  get startedAt(): Date {
    return new Date(this[STATE].startedAt);
  }

  /** pino child logger with `{ job, run }`. */
  get log(): Logger {
    const s = this[STATE];
    return (s.log ??= s.baseLog.child({ job: this.jobId, run: this.id }));
  }

  /** Aborted on timeout or when the app stops. */
  get signal(): AbortSignal {
    const s = this[STATE];
    if (s.fixedSignal) return s.fixedSignal;
    if (!s.controller) {
      s.controller = new AbortController();
      if (s.aborted) s.controller.abort(s.abortReason);
    }
    return s.controller.signal;
  }

  /** Whether {@link RunHandle.abort} was called. */
  get aborted(): boolean {
    return this[STATE].aborted;
  }

  /** Why it was aborted. */
  get abortReason(): unknown {
    return this[STATE].abortReason;
  }

  /** Called once when the attempt is aborted (timeout or app stop); set by the attempt runner. */
  set onAbort(fn: ((reason: unknown) => void) | undefined) {
    this[STATE].onAbort = fn;
  }

  /** Aborts the attempt: aborts `signal` (if a job made one) and calls `onAbort` (once). */
  abort(reason: unknown): void {
    const s = this[STATE];
    if (s.aborted) return;
    s.aborted = true;
    s.abortReason = reason;
    s.controller?.abort(reason);
    s.onAbort?.(reason);
  }
}
