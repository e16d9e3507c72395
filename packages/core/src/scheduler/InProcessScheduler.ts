import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import type { TipEventBus } from '../events/EventBus.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { Clock } from '../util/clock.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { settlesWithin } from '../util/sleep.js';
import { ConcurrencyLimiter, type ConcurrencyOptions } from './ConcurrencyLimiter.js';
import { JobPlanner, type JobEntry } from './JobPlanner.js';
import { jobPlans } from './jobPlans.js';
import { subscribeAfterTriggers } from './events.js';
import { jsonPayload, rejectedTicket, ticketOf } from './payload.js';
import { validateNewJob } from './jobValidation.js';
import type { RunContext, RunInput } from './RunContext.js';
import { RunExecutor } from './RunExecutor.js';
import type { RunHistory } from './RunHistory.js';
import { nextDue, triggerList } from './triggers.js';
import type { HistoryQuery, JobDefinition, JobInfo, JobPlan, JobRunRecord, RunReason, RunTicket, Scheduler, TriggerEvent, TriggerOptions, WorkerInfo } from './types.js';
import type { WorkerRegistry } from './WorkerRegistry.js';

/** Options of {@link InProcessScheduler}. */
export interface InProcessSchedulerOptions extends ConcurrencyOptions {
  /** The clock timers, timeouts and retry back-off run on (`systemClock`, or a `ManualClock` in tests). */
  clock: Clock;
  /** The app's event bus: `after` triggers listen on it, run events are emitted on it. */
  events: TipEventBus;
  /** Where run records and plans are persisted (a `RunHistory` without database keeps nothing). */
  history: RunHistory;
  /** The scheduler's logger. */
  log: Logger;
  /** Job metrics (runs, durations, runs in progress); none when omitted. */
  metrics?: TipMetrics;
  /** Timeout for jobs that declare none (default: none). */
  defaultTimeout?: Duration;
  /** How long `stop()` waits for running jobs before aborting them (default 30 s). */
  drainTimeout?: Duration;
  /** After the drain timeout aborted a job, how long to wait for it to really end before recording it (default 5 s). */
  abortGrace?: Duration;
  /**
   * Called when the drain timeout passed, right after running jobs were aborted: cancels their
   * database work in flight (the app passes `db.cancelInFlight()`), so jobs that ignore their
   * signal inside a transaction end now instead of holding the database through shutdown.
   */
  onDrainTimeout?: () => Promise<unknown>;
  /**
   * The app's worker registry: at start only runs of workers that stopped or whose lease expired
   * (and runs without an owner) are marked aborted, and {@link InProcessScheduler.workers} lists
   * it. Without one, every `running` row is marked aborted at start (a single-process database).
   */
  workers?: WorkerRegistry;
  /**
   * Resolves a group child given as `{ source: id }`: a job running that registered source under
   * `childId` (the app passes its source runner's). Without it, source children fail naming the group.
   */
  sources?: (sourceId: string, childId: string) => JobDefinition | undefined;
}

/** A trigger that arrived while its job was running: coalesced into one rerun right after. */
interface PendingRun {
  runId: string;
  promise: Promise<JobRunRecord>;
  resolve(r: JobRunRecord): void;
  reason: RunReason;
  input: RunInput;
}

/**
 * The default, embedded scheduler: timers on a {@link Clock}, concurrency through p-queue, run
 * history and the plan persisted through {@link RunHistory}.
 *
 * A job never overlaps itself: a trigger that arrives while it runs is coalesced into one rerun
 * right after. The next scheduled time is computed when a run (a whole group) ends.
 *
 * This class is the facade of three parts: the `JobPlanner` (next runs, timer, persisted plans,
 * missed runs), the `RunExecutor` with its `AttemptRunner` (timeout, abort, retry, concurrency)
 * and `GroupRunner` (children fan-out, summary, `job.group.completed`).
 */
export class InProcessScheduler implements Scheduler {
  readonly #o: InProcessSchedulerOptions;
  readonly #jobs = new Map<string, JobEntry>();
  readonly #pending = new Map<JobEntry, PendingRun>();
  /** One event id per emission, shared by every job it starts (listeners get the same payload object). */
  readonly #eventIds = new WeakMap<object, TriggerEvent>();
  /** Top-level runs in progress, including their bookkeeping (children are inside them). */
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #stopping = new AbortController();
  readonly #abortAll = new AbortController();
  readonly #planner: JobPlanner;
  readonly #executor: RunExecutor;
  #state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';

  /** @param options clock, events, history, logger, metrics and concurrency settings */
  constructor(options: InProcessSchedulerOptions) {
    this.#o = options;
    const c = options.concurrency ?? 4;
    const ctx: RunContext = {
      clock: options.clock,
      events: options.events,
      history: options.history,
      log: options.log,
      metrics: options.metrics,
      limiter: new ConcurrencyLimiter(options),
      defaultTimeoutMs: options.defaultTimeout === undefined ? undefined : parseDuration(options.defaultTimeout, 'scheduler.defaultTimeout'),
      groupWindow: Number.isFinite(c) ? Math.max(64, c * 8) : 1024,
      stopping: this.#stopping.signal,
      abortAll: this.#abortAll.signal,
      abortGraceMs: options.abortGrace === undefined ? 5000 : parseDuration(options.abortGrace, 'scheduler.abortGrace'),
      children: { job: (id) => this.#jobs.get(id)?.def, source: (id, childId) => options.sources?.(id, childId) },
    };
    this.#executor = new RunExecutor(ctx);
    this.#planner = new JobPlanner(options.clock, options.history, this.#jobs, (entry, reason) => {
      void this.#runTop(entry, reason, {}).catch(() => undefined);
    });
  }

  /** {@inheritDoc Scheduler.add} */
  add(job: JobDefinition, owner?: string): void {
    validateNewJob(job, owner, this.#jobs);
    const entry: JobEntry = {
      def: job,
      owner,
      triggers: triggerList(job.trigger),
      nextRunAt: undefined,
      nextReason: 'schedule',
      running: undefined,
      last: undefined,
      unsubscribe: [],
    };
    this.#jobs.set(job.id, entry);
    if (this.#state === 'started') {
      this.#planner.plan(entry);
      this.#subscribe(entry);
      this.#planner.arm();
    }
  }

  /** {@inheritDoc Scheduler.remove} */
  remove(id: string): boolean {
    const entry = this.#jobs.get(id);
    if (!entry) return false;
    for (const off of entry.unsubscribe) off();
    this.#jobs.delete(id);
    this.#planner.arm();
    return true;
  }

  /** {@inheritDoc Scheduler.jobs} */
  jobs(): JobInfo[] {
    return [...this.#jobs.values()].map((e) => ({
      id: e.def.id,
      description: e.def.description,
      plugin: e.owner,
      group: typeof e.def.children === 'function',
      triggers: e.triggers,
      running: e.running !== undefined,
      nextRunAt: e.nextRunAt === undefined ? undefined : new Date(e.nextRunAt),
      lastRun: e.last?.lastRunId
        ? { id: e.last.lastRunId, status: e.last.lastStatus ?? 'succeeded', startedAt: e.last.lastStartedAt, endedAt: e.last.lastEndedAt }
        : undefined,
    }));
  }

  /** {@inheritDoc Scheduler.trigger} */
  trigger(id: string, options: TriggerOptions = {}): RunTicket {
    const entry = this.#jobs.get(id);
    if (!entry) {
      return rejectedTicket(new TipError(TipErrorCodes.JOB_UNKNOWN, `no job "${id}"`, { details: { jobId: id, known: [...this.#jobs.keys()] } }));
    }
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return rejectedTicket(new TipError(TipErrorCodes.APP_STATE, `cannot trigger job "${id}": the scheduler is stopping`, { details: { jobId: id } }));
    }
    let payload: unknown;
    try {
      payload = jsonPayload(options.payload, `trigger("${id}") payload`);
    } catch (err) {
      return rejectedTicket(err);
    }
    return this.#runTop(entry, options.reason ?? 'manual', { payload });
  }

  /** {@inheritDoc Scheduler.history} */
  history(query?: HistoryQuery): Promise<JobRunRecord[]> {
    return this.#o.history.query(query);
  }

  /** {@inheritDoc Scheduler.plans} */
  async plans(): Promise<JobPlan[]> {
    const stored = await this.#o.history.loadPlans();
    const now = this.#o.clock.now();
    const live = this.#state === 'started';
    // Started: this scheduler's own plan (unset while the job runs). Otherwise (read mode, or
    // timers off) the stored plan, or for a job never planned when a start would run it.
    const next = (e: JobEntry) => {
      if (live) return e.nextRunAt;
      const plan = stored.get(e.def.id);
      return plan ? plan.nextRunAt?.getTime() : nextDue(e.triggers, {}, now);
    };
    return jobPlans(this.#jobs.values(), this.#o.history, next, (e) => e.running !== undefined);
  }

  /** {@inheritDoc Scheduler.workers} */
  workers(): Promise<WorkerInfo[]> {
    return this.#o.workers?.list() ?? Promise.resolve([]);
  }

  /** {@inheritDoc Scheduler.idle} */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** {@inheritDoc Scheduler.start} */
  async start(options: { schedule?: boolean } = {}): Promise<void> {
    // Without schedules it stays as it is: runs happen only when triggered, in this process.
    if (options.schedule === false) return;
    if (this.#state !== 'new') {
      throw new TipError(TipErrorCodes.APP_STATE, `scheduler cannot start from state "${this.#state}"`);
    }
    await this.#planner.load();
    if (this.#o.workers) {
      // Only runs whose worker is gone (stopped, lease expired, unknown) or that have no owner.
      await this.#o.workers.sweep({ orphans: true });
    } else {
      const interrupted = await this.#o.history.markInterrupted(new Date(this.#o.clock.now()));
      if (interrupted > 0) this.#o.log.warn({ interrupted }, `${interrupted} run(s) of a previous process never finished; marked aborted`);
    }
    this.#state = 'started';
    this.#planner.activate();
    for (const entry of this.#jobs.values()) {
      this.#planner.plan(entry);
      this.#subscribe(entry);
    }
    this.#planner.arm();
  }

  /** {@inheritDoc Scheduler.stop} */
  async stop(options: { drainTimeout?: Duration } = {}): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return this.idle();
    this.#state = 'stopping';
    this.#planner.stop();
    for (const entry of this.#jobs.values()) for (const off of entry.unsubscribe.splice(0)) off();
    this.#stopping.abort(new TipError(TipErrorCodes.JOB_ABORTED, 'the app is stopping'));
    const drainMs = parseDuration(options.drainTimeout ?? this.#o.drainTimeout ?? '30s', 'drainTimeout');
    if (!(await settlesWithin(this.idle(), drainMs))) {
      this.#o.log.warn({ drainMs, running: this.#inflight.size }, 'jobs still running after the drain timeout; aborting them');
      this.#abortAll.abort(new TipError(TipErrorCodes.JOB_ABORTED, `aborted: still running ${drainMs} ms after stop()`));
      await this.#o.onDrainTimeout?.().catch((err: unknown) => this.#o.log.warn({ err }, 'cancelling database work in flight failed'));
      await this.idle();
    }
    try {
      // One last write attempt; when the database fails it rejects (TIP_DB_FAILED, naming the
      // rows not written) instead of retrying forever, and stop() reports that to its caller. It is
      // bounded too: a job still holding the database (a SQLite transaction it never ends) would
      // otherwise make the write wait forever. Rows not written leave `running` rows behind, which
      // the next start marks as interrupted.
      let flushTimer: NodeJS.Timeout | undefined;
      const flushMs = Math.max(drainMs, 10_000);
      await Promise.race([
        this.#o.history.flush(),
        new Promise<never>((_, reject) => {
          flushTimer = setTimeout(
            () => reject(new TipError(TipErrorCodes.DB_FAILED, `the last run-history write did not finish within ${flushMs} ms (the database is busy or stuck); ${this.#o.history.pendingRows} row(s) not written`)),
            flushMs,
          );
        }),
      ]).finally(() => clearTimeout(flushTimer));
    } finally {
      this.#state = 'stopped';
    }
  }

  #subscribe(entry: JobEntry): void {
    const o = { events: this.#o.events, clock: this.#o.clock, log: this.#o.log, ids: this.#eventIds };
    entry.unsubscribe.push(
      ...subscribeAfterTriggers(o, entry.def.id, entry.triggers, () => this.#state === 'started', (input) => void this.#runTop(entry, 'event', input).catch(() => undefined)),
    );
  }

  /** Starts a top-level run, or coalesces it into one rerun after the run in progress. */
  #runTop(entry: JobEntry, reason: RunReason, input: RunInput, runId: string = randomUUID()): RunTicket {
    if (entry.running) {
      const queued = this.#pending.get(entry);
      if (queued) return ticketOf(queued.runId, queued.promise);
      let resolve!: (r: JobRunRecord) => void;
      const promise = new Promise<JobRunRecord>((r) => (resolve = r));
      this.#pending.set(entry, { runId, promise, resolve, reason, input });
      return ticketOf(runId, promise);
    }
    entry.nextRunAt = undefined;
    const startedAt = this.#o.clock.now();
    const running = this.#executor.execute(entry.def, entry.owner, reason, input, undefined, runId).then((record) => {
      entry.running = undefined;
      this.#planner.ran(entry, record, startedAt);
      const pending = this.#pending.get(entry);
      this.#pending.delete(entry);
      if (pending) {
        if (this.#state === 'stopping' || this.#state === 'stopped') pending.resolve(this.#skipped(entry, pending.reason, pending.runId));
        else void this.#runTop(entry, pending.reason, pending.input, pending.runId).then(pending.resolve);
      }
      this.#planner.arm();
      return record;
    });
    entry.running = running;
    this.#inflight.add(running);
    void running.finally(() => this.#inflight.delete(running)).catch(() => undefined);
    this.#planner.arm();
    return ticketOf(runId, running);
  }

  /** The record of a coalesced rerun that never started because the app stopped. */
  #skipped(entry: JobEntry, reason: RunReason, id: string): JobRunRecord {
    const now = new Date(this.#o.clock.now());
    return {
      id,
      jobId: entry.def.id,
      plugin: entry.owner,
      reason,
      status: 'aborted',
      attempt: 0,
      startedAt: now,
      endedAt: now,
      durationMs: 0,
      error: 'not started: the app is stopping',
    };
  }
}
