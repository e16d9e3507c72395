import type { Logger } from 'pino';
import type { Database } from '../database/Database.js';
import { JobRunEntity, JobStateEntity } from '../database/entities.js';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { writeHistoryBatch } from './historyWriter.js';
import type { HistoryQuery, JobRunRecord, JobRunStatus, RunReason } from './types.js';

/** The durable plan of one job (a row of `tip_job_state`). */
export interface JobPlanRow {
  /** The job's id. */
  jobId: string;
  /** Id of the job's last top-level run. */
  lastRunId?: string;
  /** Status of that run. */
  lastStatus?: JobRunStatus;
  /** When that run started. */
  lastStartedAt?: Date;
  /** When that run ended. */
  lastEndedAt?: Date;
  /** When the job runs next, if a time-based trigger plans it. */
  nextRunAt?: Date;
}

/** Tuning of {@link RunHistory} (the defaults suit production; tests shrink them). */
export interface RunHistoryOptions {
  /** Clock of the flush and retry timers (default: the system clock). */
  clock?: Clock;
  /** Flush as soon as this many finished runs are queued (default 2000). */
  flushRows?: number;
  /** Flush queued writes after this many ms (default 250); also the first retry delay. */
  flushMs?: number;
  /** Longest wait between retries of a failing flush (default 30 000 ms). */
  maxBackoffMs?: number;
  /** Rows kept while the database fails; past it the oldest finished child runs are dropped (default 100 000). */
  maxPendingRows?: number;
}

/**
 * Persists run records and job plans. Writes are buffered and flushed in one transaction every
 * 250 ms (or 2000 rows), so dispatching many small jobs does not cost one database round trip each.
 * Without a database it keeps nothing (runs are still reported through events and metrics).
 *
 * When a flush fails (database down) nothing is lost: rows stay queued and the flush is retried
 * with exponential back-off (250 ms doubling to 30 s, reset by a success). The first failure is
 * logged with its error, then one line per retry with the pending rows and consecutive failures,
 * and one line when writing works again. Past `maxPendingRows` the oldest finished child runs are
 * dropped, and how many is logged.
 */
export class RunHistory {
  readonly #db: Database | undefined;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #flushRows: number;
  readonly #flushMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxPending: number;
  #runs: JobRunRecord[] = [];
  /** Rows written (or to write) as upserts: top-level runs get a `running` row when they start. */
  #upserts = new Map<string, JobRunRecord>();
  /** Ids whose `running` row is written or queued. */
  #started = new Set<string>();
  /** Runs started with `lazy`: written `running` by the next flush only if they are still running then. */
  #lazyStarts = new Map<string, JobRunRecord>();
  #plans = new Map<string, JobPlanRow>();
  #timer: TimerHandle | undefined;
  #flushing: Promise<void> = Promise.resolve();
  /** A background flush is queued and not yet started. */
  #backgroundQueued = false;
  /** Consecutive failed flushes (0 when the last one succeeded). */
  #failures = 0;
  /** Delay before the next automatic attempt. */
  #delayMs: number;

  /**
   * @param db where to write (`undefined`: keep nothing)
   * @param log where write failures and recoveries are reported
   * @param options flush and retry tuning
   */
  constructor(db: Database | undefined, log: Logger, options: RunHistoryOptions = {}) {
    this.#db = db;
    this.#log = log;
    this.#clock = options.clock ?? systemClock;
    this.#flushRows = options.flushRows ?? 2000;
    this.#flushMs = options.flushMs ?? 250;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#maxPending = options.maxPendingRows ?? 100_000;
    this.#delayMs = this.#flushMs;
  }

  /**
   * The worker (this app's row in `tip_worker`) that owns the runs recorded from now on; set when
   * the app registers. Rows are written with it as `worker_id`.
   */
  workerId: string | undefined;

  /** Rows queued and not yet written (runs, upserts and plans). */
  get pendingRows(): number {
    return this.#runs.length + this.#upserts.size + this.#plans.size;
  }

  /** Consecutive failed flushes (0 when the last flush succeeded). */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /**
   * Queues a `running` row for a run that just started, so another process (`tip status`) sees
   * what is in progress and a killed process leaves a trace. The finished record replaces it.
   *
   * With `lazy` (used for the children of a group) the row is written by the next flush (within
   * `flushMs`) only if the run is still running then: a child that ends before costs no extra row
   * or upsert, one that runs long gets its `running` row like a top-level run.
   * @param run - the live record (read again at the flush when `lazy`)
   * @param options - `lazy`: see above
   */
  recordStart(run: JobRunRecord, options: { lazy?: boolean } = {}): void {
    if (!this.#db) return;
    if (options.lazy) {
      this.#lazyStarts.set(run.id, run);
      this.#arm();
      return;
    }
    this.#started.add(run.id);
    this.#upserts.set(run.id, { ...run });
    this.#arm();
  }

  /** Queues a finished run. */
  record(run: JobRunRecord): void {
    if (!this.#db) return;
    this.#lazyStarts.delete(run.id);
    if (this.#started.delete(run.id)) this.#upserts.set(run.id, { ...run });
    else if (this.#runs.push(run) > this.#maxPending) this.#shed();
    if (this.#runs.length >= this.#flushRows && this.#failures === 0) this.#flushInBackground();
    else this.#arm();
  }

  /**
   * Marks every run left `running` as `aborted`, whoever owns it. The in-process scheduler calls
   * it at start only when the app has no worker registry; with one, `WorkerRegistry.sweep()`
   * aborts only runs of workers that stopped or whose lease expired.
   * @returns how many were marked
   */
  async markInterrupted(at: Date): Promise<number> {
    if (!this.#db) return 0;
    return this.#db.em().nativeUpdate(JobRunEntity, { status: 'running' }, { status: 'aborted', endedAt: at, error: 'interrupted: the process stopped while the job ran' });
  }

  /** Queues a job's new plan (replaces a queued older one). */
  plan(row: JobPlanRow): void {
    if (!this.#db) return;
    this.#plans.set(row.jobId, row);
    this.#arm();
  }

  /**
   * Writes everything queued so far, in one attempt (after a flush already under way).
   * Resolves when it is on disk; when the database fails it rejects with a `TIP_DB_FAILED`
   * TipError (the rows stay queued and are retried in the background), so it never hangs.
   */
  flush(): Promise<void> {
    this.#disarm();
    const attempt = this.#flushing.then(() => this.#write(false));
    this.#flushing = attempt.catch(() => undefined);
    return attempt;
  }

  /** Loads every job's plan. */
  async loadPlans(): Promise<Map<string, JobPlanRow>> {
    const out = new Map<string, JobPlanRow>();
    if (!this.#db) return out;
    const rows = await this.#db.em().find(JobStateEntity, {});
    for (const r of rows) {
      out.set(r.jobId, {
        jobId: r.jobId,
        lastRunId: r.lastRunId ?? undefined,
        lastStatus: (r.lastStatus as JobRunStatus | null) ?? undefined,
        lastStartedAt: r.lastStartedAt ?? undefined,
        lastEndedAt: r.lastEndedAt ?? undefined,
        nextRunAt: r.nextRunAt ?? undefined,
      });
    }
    return out;
  }

  /** Past runs, newest first (flushes queued runs first). */
  async query(q: HistoryQuery = {}): Promise<JobRunRecord[]> {
    if (!this.#db) return [];
    await this.flush();
    const where: Record<string, unknown> = {};
    if (q.jobId) where.jobId = q.jobId;
    if (q.parentId) where.parentId = q.parentId;
    if (q.status) where.status = q.status;
    const rows = await this.#db.em().find(JobRunEntity, where, {
      orderBy: { startedAt: 'desc', id: 'asc' },
      limit: q.limit ?? 100,
    });
    return rows.map((r) => ({
      id: r.id,
      jobId: r.jobId,
      parentId: r.parentId ?? undefined,
      plugin: r.plugin ?? undefined,
      reason: r.reason as RunReason,
      status: r.status as JobRunStatus,
      attempt: r.attempt,
      startedAt: r.startedAt,
      endedAt: r.endedAt ?? undefined,
      durationMs: r.durationMs ?? undefined,
      error: r.error ?? undefined,
      counts: r.counts ?? undefined,
      workerId: r.workerId ?? undefined,
    }));
  }

  /** Deletes runs that started before `before`; returns how many. */
  async prune(before: Date): Promise<number> {
    if (!this.#db) return 0;
    return this.#db.em().nativeDelete(JobRunEntity, { startedAt: { $lt: before } });
  }

  #arm(): void {
    if (this.#timer) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#flushInBackground(true);
    }, this.#delayMs);
  }

  #disarm(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * A flush nobody awaits: failures are handled (logged, retried) by #write. At most one is
   * queued behind the write in progress (it takes every row queued by the time it starts), so a
   * burst of records does not chain one small transaction per record.
   */
  #flushInBackground(scheduled = false): void {
    this.#disarm();
    if (this.#backgroundQueued) return;
    this.#backgroundQueued = true;
    this.#flushing = this.#flushing
      .then(() => {
        this.#backgroundQueued = false;
        return this.#write(scheduled);
      })
      .catch(() => undefined);
  }

  /** One write attempt of everything queued; on failure re-queues it, backs off and rethrows. */
  async #write(scheduled: boolean): Promise<void> {
    const db = this.#db;
    for (const [id, run] of this.#lazyStarts) {
      this.#started.add(id);
      this.#upserts.set(id, { ...run });
    }
    this.#lazyStarts.clear();
    if (!db || (this.#runs.length === 0 && this.#plans.size === 0 && this.#upserts.size === 0)) return;
    const runs = this.#runs;
    const upserts = [...this.#upserts.values()];
    const plans = [...this.#plans.values()];
    this.#runs = [];
    this.#upserts = new Map();
    this.#plans = new Map();
    try {
      await writeHistoryBatch(db, { runs, upserts, plans, workerId: this.workerId });
    } catch (err) {
      // Keep what failed for the next attempt rather than dropping history.
      this.#runs = runs.concat(this.#runs);
      for (const r of upserts) if (!this.#upserts.has(r.id)) this.#upserts.set(r.id, r);
      for (const p of plans) if (!this.#plans.has(p.jobId)) this.#plans.set(p.jobId, p);
      if (this.#runs.length > this.#maxPending) this.#shed();
      this.#failed(err, scheduled);
      throw new TipError(TipErrorCodes.DB_FAILED, `writing run history failed: ${describeError(err)}`, {
        cause: err,
        details: { pendingRows: this.pendingRows, consecutiveFailures: this.#failures },
      });
    }
    if (this.#failures > 0) {
      this.#log.info({ failures: this.#failures, written: runs.length + upserts.length + plans.length }, `run history written again after ${this.#failures} failed attempt(s)`);
      this.#failures = 0;
      this.#delayMs = this.#flushMs;
    }
  }

  /** Counts a failure, logs it (rate-limited to one line per back-off step) and schedules a retry. */
  #failed(err: unknown, scheduled: boolean): void {
    this.#failures++;
    const fields = { pendingRows: this.pendingRows, consecutiveFailures: this.#failures, retryInMs: this.#delayMs };
    if (this.#failures === 1) this.#log.error({ ...fields, err }, 'writing run history failed; keeping the rows and retrying with back-off');
    else if (scheduled) this.#log.warn(fields, 'writing run history still fails');
    this.#disarm();
    this.#arm();
    this.#delayMs = Math.min(this.#maxBackoffMs, this.#delayMs * 2);
  }

  /** Drops the oldest finished child runs until the queue is back under its bound. */
  #shed(): void {
    if (this.#runs.length <= this.#maxPending) return;
    // Shed down to 90% of the bound, so a full queue drops rows in chunks, not one per record.
    const excess = this.#runs.length - Math.floor(this.#maxPending * 0.9);
    let dropped = 0;
    const kept: JobRunRecord[] = [];
    for (const r of this.#runs) {
      if (dropped < excess && r.parentId !== undefined) dropped++;
      else kept.push(r);
    }
    if (dropped === 0) return;
    this.#runs = kept;
    this.#log.warn({ dropped, pendingRows: this.pendingRows, maxPendingRows: this.#maxPending }, `run history: dropped the ${dropped} oldest child run record(s) not yet written`);
  }
}
