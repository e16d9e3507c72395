import type { Logger } from 'pino';
import type { JobRun, RunReason } from './types.js';

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
  /** The event payload or `trigger()` payload. */
  readonly payload: unknown;
  /** Called once when the attempt is aborted (timeout or app stop); set by the attempt runner. */
  onAbort: ((reason: unknown) => void) | undefined = undefined;
  readonly #startedAt: number;
  readonly #baseLog: Logger;
  #log: Logger | undefined;
  #controller: AbortController | undefined;
  readonly #fixedSignal: AbortSignal | undefined;
  #aborted = false;
  #abortReason: unknown;

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
    payload: unknown,
    startedAt: number,
    baseLog: Logger,
    fixedSignal?: AbortSignal,
  ) {
    this.id = id;
    this.jobId = jobId;
    this.parentRunId = parentRunId;
    this.attempt = attempt;
    this.reason = reason;
    this.payload = payload;
    this.#startedAt = startedAt;
    this.#baseLog = baseLog;
    this.#fixedSignal = fixedSignal;
  }

  /** When this attempt started (scheduler clock). */
  get startedAt(): Date {
    return new Date(this.#startedAt);
  }

  /** pino child logger with `{ job, run }`. */
  get log(): Logger {
    return (this.#log ??= this.#baseLog.child({ job: this.jobId, run: this.id }));
  }

  /** Aborted on timeout or when the app stops. */
  get signal(): AbortSignal {
    if (this.#fixedSignal) return this.#fixedSignal;
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Whether {@link RunHandle.abort} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why it was aborted. */
  get abortReason(): unknown {
    return this.#abortReason;
  }

  /** Aborts the attempt: aborts `signal` (if a job made one) and calls `onAbort` (once). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    this.onAbort?.(reason);
  }
}
