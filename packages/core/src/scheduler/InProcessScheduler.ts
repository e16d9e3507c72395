import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes, describeError, isTipError } from '../errors/TipError.js';
import type { TipEventBus } from '../events/EventBus.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { Clock } from '../util/clock.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { ConcurrencyLimiter, type ConcurrencyOptions } from './ConcurrencyLimiter.js';
import type { JobPlanRow, RunHistory } from './RunHistory.js';
import { nextDue, nextDueAfterNow, triggerList, validateTriggers } from './triggers.js';
import type {
  ChildOutcome,
  GroupSummary,
  HistoryQuery,
  JobDefinition,
  JobInfo,
  JobRun,
  JobRunRecord,
  JobRunStatus,
  RunReason,
  Scheduler,
  Trigger,
  TriggerOptions,
} from './types.js';

/** Options of {@link InProcessScheduler}. */
export interface InProcessSchedulerOptions extends ConcurrencyOptions {
  clock: Clock;
  events: TipEventBus;
  history: RunHistory;
  log: Logger;
  metrics?: TipMetrics;
  /** Timeout for jobs that declare none (default: none). */
  defaultTimeout?: Duration;
  /** How long `stop()` waits for running jobs before aborting them (default 30 s). */
  drainTimeout?: Duration;
}

interface Deferred {
  promise: Promise<JobRunRecord>;
  resolve(r: JobRunRecord): void;
  reason: RunReason;
  payload: unknown;
}

interface Entry {
  def: JobDefinition;
  owner?: string;
  triggers: readonly Trigger[];
  nextRunAt?: number;
  nextReason: RunReason;
  running?: Promise<JobRunRecord>;
  pending?: Deferred;
  last?: JobPlanRow;
  unsubscribe: Array<() => void>;
}

interface Outcome {
  status: JobRunStatus;
  error?: string;
  counts?: Record<string, number>;
}

/**
 * The default, embedded scheduler: timers on a {@link Clock}, concurrency through p-queue, run
 * history and the plan persisted through {@link RunHistory}.
 *
 * A job never overlaps itself: a trigger that arrives while it runs is coalesced into one rerun
 * right after. The next scheduled time is computed when a run (a whole group) ends.
 */
export class InProcessScheduler implements Scheduler {
  readonly #o: InProcessSchedulerOptions;
  readonly #jobs = new Map<string, Entry>();
  readonly #limiter: ConcurrencyLimiter;
  readonly #inflight = new Set<Promise<unknown>>();
  /** Aborted when stop() begins: cancels retry back-off waits and queued, not yet started runs. */
  #stopping = new AbortController();
  /** Aborted when the drain timeout passes: aborts every running job. */
  #abortAll = new AbortController();
  #state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  #timer: object | undefined;
  #timerAt: number | undefined;
  #plans = new Map<string, JobPlanRow>();
  readonly #defaultTimeout: number | undefined;
  /** How many children of one group are dispatched (running or queued) at a time. */
  readonly #window: number;

  constructor(options: InProcessSchedulerOptions) {
    this.#o = options;
    this.#limiter = new ConcurrencyLimiter(options);
    const c = options.concurrency ?? 4;
    this.#window = Number.isFinite(c) ? Math.max(64, c * 8) : 1024;
    this.#defaultTimeout =
      options.defaultTimeout === undefined ? undefined : parseDuration(options.defaultTimeout, 'scheduler.defaultTimeout');
  }

  add(job: JobDefinition, owner?: string): void {
    if (this.#jobs.has(job.id)) {
      throw new TipError(TipErrorCodes.DUPLICATE_ID, `job "${job.id}" is already registered`, {
        details: { jobId: job.id, owner, registeredBy: this.#jobs.get(job.id)?.owner },
      });
    }
    checkJob(job);
    const entry: Entry = { def: job, owner, triggers: triggerList(job.trigger), nextReason: 'schedule', unsubscribe: [] };
    this.#jobs.set(job.id, entry);
    if (this.#state === 'started') {
      this.#plan(entry);
      this.#subscribe(entry);
      this.#arm();
    }
  }

  remove(id: string): boolean {
    const entry = this.#jobs.get(id);
    if (!entry) return false;
    for (const off of entry.unsubscribe) off();
    this.#jobs.delete(id);
    this.#arm();
    return true;
  }

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

  trigger(id: string, options: TriggerOptions = {}): Promise<JobRunRecord> {
    const entry = this.#jobs.get(id);
    if (!entry) {
      return Promise.reject(
        new TipError(TipErrorCodes.JOB_UNKNOWN, `no job "${id}"`, { details: { jobId: id, known: [...this.#jobs.keys()] } }),
      );
    }
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return Promise.reject(new TipError(TipErrorCodes.APP_STATE, `cannot trigger job "${id}": the scheduler is stopping`, { details: { jobId: id } }));
    }
    return this.#runTop(entry, options.reason ?? 'manual', options.payload);
  }

  history(query?: HistoryQuery): Promise<JobRunRecord[]> {
    return this.#o.history.query(query);
  }

  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') {
      throw new TipError(TipErrorCodes.APP_STATE, `scheduler cannot start from state "${this.#state}"`);
    }
    this.#plans = await this.#o.history.loadPlans();
    const interrupted = await this.#o.history.markInterrupted(new Date(this.#o.clock.now()));
    if (interrupted > 0) this.#o.log.warn({ interrupted }, `${interrupted} run(s) of a previous process never finished; marked aborted`);
    this.#state = 'started';
    for (const entry of this.#jobs.values()) {
      this.#plan(entry);
      this.#subscribe(entry);
    }
    this.#arm();
  }

  async stop(options: { drainTimeout?: Duration } = {}): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return this.idle();
    this.#state = 'stopping';
    this.#disarm();
    for (const entry of this.#jobs.values()) for (const off of entry.unsubscribe.splice(0)) off();
    this.#stopping.abort(new TipError(TipErrorCodes.JOB_ABORTED, 'the app is stopping'));
    const drainMs = parseDuration(options.drainTimeout ?? this.#o.drainTimeout ?? '30s', 'drainTimeout');
    const drained = this.idle();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), drainMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.#o.log.warn({ drainMs, running: this.#inflight.size }, 'jobs still running after the drain timeout; aborting them');
      this.#abortAll.abort(new TipError(TipErrorCodes.JOB_ABORTED, `aborted: still running ${drainMs} ms after stop()`));
      await this.idle();
    }
    await this.#o.history.flush();
    this.#state = 'stopped';
  }

  // ---- planning ------------------------------------------------------------------------

  #plan(entry: Entry): void {
    const now = this.#o.clock.now();
    const prior = this.#plans.get(entry.def.id);
    entry.last = prior;
    const state = { lastEndedAt: prior?.lastEndedAt?.getTime(), lastStartedAt: prior?.lastStartedAt?.getTime() };
    let due = nextDue(entry.triggers, state, now);
    // A job planned but never run keeps its planned slot across restarts.
    if (due !== undefined && prior?.nextRunAt && !prior.lastEndedAt) due = Math.min(due, prior.nextRunAt.getTime());
    entry.nextReason = 'schedule';
    if (due !== undefined && due <= now && (prior?.lastStartedAt || prior?.nextRunAt)) {
      if (entry.def.missed === 'skip') due = nextDueAfterNow(entry.triggers, now);
      else entry.nextReason = 'overdue';
    }
    entry.nextRunAt = due;
    if (prior || due !== undefined) this.#savePlan(entry);
  }

  #subscribe(entry: Entry): void {
    for (const t of entry.triggers) {
      if (!('after' in t)) continue;
      const off = this.#o.events.on(t.after, (payload: unknown) => {
        if (this.#state !== 'started') return;
        if (t.when && !(t.when as (p: unknown) => boolean)(payload)) return;
        void this.#runTop(entry, 'event', payload).catch(() => undefined);
      });
      entry.unsubscribe.push(off);
    }
  }

  #savePlan(entry: Entry): void {
    const row: JobPlanRow = {
      ...(entry.last ?? {}),
      jobId: entry.def.id,
      nextRunAt: entry.nextRunAt === undefined ? undefined : new Date(entry.nextRunAt),
    };
    entry.last = row;
    this.#plans.set(row.jobId, row);
    this.#o.history.plan(row);
  }

  #arm(): void {
    if (this.#state !== 'started') return;
    let earliest: number | undefined;
    for (const e of this.#jobs.values()) {
      if (e.running || e.nextRunAt === undefined) continue;
      if (earliest === undefined || e.nextRunAt < earliest) earliest = e.nextRunAt;
    }
    if (earliest === this.#timerAt && this.#timer) return;
    this.#disarm();
    if (earliest === undefined) return;
    this.#timerAt = earliest;
    this.#timer = this.#o.clock.setTimeout(() => this.#fire(), Math.max(0, earliest - this.#o.clock.now()));
  }

  #disarm(): void {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    if (this.#state !== 'started') return;
    const now = this.#o.clock.now();
    for (const entry of this.#jobs.values()) {
      if (entry.running || entry.nextRunAt === undefined || entry.nextRunAt > now) continue;
      const reason = entry.nextReason;
      entry.nextRunAt = undefined;
      void this.#runTop(entry, reason, undefined).catch(() => undefined);
    }
    this.#arm();
  }

  // ---- running -------------------------------------------------------------------------

  #runTop(entry: Entry, reason: RunReason, payload: unknown): Promise<JobRunRecord> {
    if (entry.running) {
      if (entry.pending) return entry.pending.promise;
      let resolve!: (r: JobRunRecord) => void;
      const promise = new Promise<JobRunRecord>((r) => (resolve = r));
      entry.pending = { promise, resolve, reason, payload };
      return promise;
    }
    entry.nextRunAt = undefined;
    const startedAt = this.#o.clock.now();
    const running = this.#execute(entry.def, entry.owner, reason, payload, undefined).then((record) => {
      entry.running = undefined;
      entry.last = {
        jobId: entry.def.id,
        lastRunId: record.id,
        lastStatus: record.status,
        lastStartedAt: new Date(startedAt),
        lastEndedAt: record.endedAt,
      };
      this.#plans.set(entry.def.id, entry.last);
      if (this.#jobs.get(entry.def.id) === entry) {
        const now = this.#o.clock.now();
        entry.nextRunAt = nextDue(entry.triggers, { lastEndedAt: now, lastStartedAt: startedAt }, now);
        entry.nextReason = 'schedule';
        this.#savePlan(entry);
      }
      const pending = entry.pending;
      entry.pending = undefined;
      if (pending) {
        if (this.#state === 'stopping' || this.#state === 'stopped') pending.resolve(this.#skipped(entry, pending.reason));
        else void this.#runTop(entry, pending.reason, pending.payload).then(pending.resolve);
      }
      this.#arm();
      return record;
    });
    entry.running = running;
    this.#arm();
    return running;
  }

  #skipped(entry: Entry, reason: RunReason): JobRunRecord {
    const now = new Date(this.#o.clock.now());
    return {
      id: randomUUID(),
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

  #execute(def: JobDefinition, owner: string | undefined, reason: RunReason, payload: unknown, parent: JobRunRecord | undefined): Promise<JobRunRecord> {
    const p = this.#executeInner(def, owner, reason, payload, parent);
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
    return p;
  }

  async #executeInner(def: JobDefinition, owner: string | undefined, reason: RunReason, payload: unknown, parent: JobRunRecord | undefined): Promise<JobRunRecord> {
    const clock = this.#o.clock;
    const record: JobRunRecord = {
      id: randomUUID(),
      jobId: def.id,
      parentId: parent?.id,
      plugin: owner,
      reason,
      status: 'running',
      attempt: 1,
      startedAt: new Date(clock.now()),
    };
    this.#o.metrics?.jobStarted(def.id);
    if (!parent) this.#o.history.recordStart(record);
    if (this.#o.events.listenerCount('job.started') > 0) {
      void this.#o.events.emit('job.started', { jobId: def.id, runId: record.id, parentRunId: parent?.id, attempt: 1, reason });
    }
    let outcome: Outcome = { status: 'succeeded' };
    if (def.run) outcome = await this.#runWithRetry(def, owner, record, payload);
    if (outcome.status === 'succeeded' && def.children) outcome = await this.#runGroup(def, owner, record, payload);
    const end = clock.now();
    record.status = outcome.status;
    record.error = outcome.error;
    record.counts = outcome.counts;
    record.endedAt = new Date(end);
    record.durationMs = Math.max(0, end - record.startedAt.getTime());
    this.#o.history.record(record);
    this.#o.metrics?.jobFinished(def.id, record.status, record.durationMs);
    if (record.status !== 'succeeded') {
      this.#o.log.warn({ job: def.id, run: record.id, status: record.status, error: record.error }, `job ${def.id} ${record.status}`);
    }
    if (this.#o.events.listenerCount('job.finished') > 0) {
      void this.#o.events.emit('job.finished', {
        jobId: def.id,
        runId: record.id,
        parentRunId: parent?.id,
        status: record.status,
        error: record.error,
        durationMs: record.durationMs,
        counts: record.counts,
      });
    }
    return record;
  }

  async #runWithRetry(def: JobDefinition, owner: string | undefined, record: JobRunRecord, payload: unknown): Promise<Outcome> {
    const attempts = Math.max(1, def.retry?.attempts ?? 1);
    const base = def.retry?.backoff === undefined ? 1000 : parseDuration(def.retry.backoff, `job "${def.id}" retry.backoff`);
    const cap = def.retry?.maxBackoff === undefined ? Infinity : parseDuration(def.retry.maxBackoff, `job "${def.id}" retry.maxBackoff`);
    let outcome: Outcome = { status: 'failed' };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      record.attempt = attempt;
      outcome = await this.#limiter.run(owner, def.concurrencyKey, () => this.#attempt(def, record, attempt, payload));
      if (outcome.status === 'succeeded' || outcome.status === 'aborted' || attempt === attempts) break;
      const wait = Math.min(cap, base * 2 ** (attempt - 1));
      this.#o.log.info({ job: def.id, run: record.id, attempt, waitMs: wait, error: outcome.error }, `retrying job ${def.id}`);
      if (!(await this.#sleep(wait))) break;
    }
    return outcome;
  }

  /** Waits on the scheduler clock; false when stop() interrupted the wait. */
  #sleep(ms: number): Promise<boolean> {
    const stopping = this.#stopping.signal;
    if (stopping.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onStop = () => {
        this.#o.clock.clearTimeout(timer);
        resolve(false);
      };
      const timer = this.#o.clock.setTimeout(() => {
        stopping.removeEventListener('abort', onStop);
        resolve(true);
      }, ms);
      stopping.addEventListener('abort', onStop, { once: true });
    });
  }

  async #attempt(def: JobDefinition, record: JobRunRecord, attempt: number, payload: unknown): Promise<Outcome> {
    if (this.#stopping.signal.aborted) return { status: 'aborted', error: 'not started: the app is stopping' };
    const clock = this.#o.clock;
    const controller = new AbortController();
    const signal = controller.signal;
    const abortAll = this.#abortAll.signal;
    const onAbortAll = () => controller.abort(abortAll.reason);
    abortAll.addEventListener('abort', onAbortAll, { once: true });
    const timeoutMs = def.timeout === undefined ? this.#defaultTimeout : parseDuration(def.timeout, `job "${def.id}" timeout`);
    const timer =
      timeoutMs === undefined
        ? undefined
        : clock.setTimeout(
            () => controller.abort(new TipError(TipErrorCodes.JOB_TIMEOUT, `job "${def.id}" timed out after ${timeoutMs} ms`, { details: { jobId: def.id, timeoutMs } })),
            timeoutMs,
          );
    const run = this.#handle(def, record, attempt, payload, signal);
    try {
      const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      aborted.catch(() => undefined);
      const result = await Promise.race([Promise.resolve().then(() => def.run!(run)), aborted]);
      return { status: 'succeeded', counts: result ? result.counts : undefined };
    } catch (err) {
      if (signal.aborted) {
        const why = signal.reason;
        return { status: isTipError(why, TipErrorCodes.JOB_TIMEOUT) ? 'timeout' : 'aborted', error: describeError(why) };
      }
      return { status: 'failed', error: describeError(err) };
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      abortAll.removeEventListener('abort', onAbortAll);
    }
  }

  #handle(def: JobDefinition, record: JobRunRecord, attempt: number, payload: unknown, signal: AbortSignal): JobRun {
    const baseLog = this.#o.log;
    let log: Logger | undefined;
    return {
      id: record.id,
      jobId: def.id,
      parentRunId: record.parentId,
      signal,
      get log() {
        return (log ??= baseLog.child({ job: def.id, run: record.id }));
      },
      attempt,
      startedAt: new Date(this.#o.clock.now()),
      reason: record.reason,
      payload,
    };
  }

  async #runGroup(def: JobDefinition, owner: string | undefined, record: JobRunRecord, payload: unknown): Promise<Outcome> {
    const handle = this.#handle(def, record, record.attempt, payload, this.#abortAll.signal);
    let children: readonly JobDefinition[];
    try {
      children = await def.children!(handle);
      const seen = new Set<string>();
      for (const child of children) {
        checkJob(child);
        if (seen.has(child.id)) {
          throw new TipError(TipErrorCodes.DUPLICATE_ID, `group "${def.id}" has two children with id "${child.id}"`, {
            details: { jobId: def.id, childId: child.id },
          });
        }
        seen.add(child.id);
      }
    } catch (err) {
      return { status: 'failed', error: `computing children failed: ${describeError(err)}` };
    }
    // Children are dispatched through a bounded window rather than all at once: the queues below
    // limit what runs, the window limits what is allocated and waiting (a 100k-source fan-out would
    // otherwise hold 100k pending promise chains).
    const records: JobRunRecord[] = new Array(children.length);
    let next = 0;
    const worker = async () => {
      while (next < children.length) {
        const i = next++;
        records[i] = await this.#execute(children[i]!, owner, 'group', payload, record);
      }
    };
    await Promise.all(Array.from({ length: Math.min(children.length, this.#window) }, worker));
    const outcomes: ChildOutcome[] = records.map((r) => ({
      jobId: r.jobId,
      runId: r.id,
      status: r.status,
      error: r.error,
      counts: r.counts,
    }));
    const failed = outcomes.filter((o) => o.status !== 'succeeded').length;
    const summary: GroupSummary = {
      jobId: def.id,
      runId: record.id,
      startedAt: record.startedAt,
      endedAt: new Date(this.#o.clock.now()),
      total: outcomes.length,
      succeeded: outcomes.length - failed,
      failed,
      children: outcomes,
    };
    const counts: Record<string, number> = { children: summary.total, succeeded: summary.succeeded, failed };
    let error: string | undefined = failed > 0 ? `${failed} of ${summary.total} children did not succeed` : undefined;
    if (def.onComplete) {
      try {
        await def.onComplete(summary, handle);
      } catch (err) {
        error = `onComplete failed: ${describeError(err)}`;
        this.#o.log.error({ err, job: def.id }, `group ${def.id}: onComplete failed`);
      }
    }
    await this.#o.events.emit('job.group.completed', summary);
    const status: JobRunStatus = failed === 0 ? (error ? 'failed' : 'succeeded') : failed === summary.total ? 'failed' : 'partial';
    return { status, error, counts };
  }
}

function checkJob(job: JobDefinition): void {
  if (!job || typeof job.id !== 'string' || job.id.length === 0 || job.id.length > 200) {
    throw new TipError(TipErrorCodes.TRIGGER_INVALID, `a job needs an id of 1 to 200 characters (got ${JSON.stringify(job?.id)})`, {
      details: { jobId: job?.id },
    });
  }
  if (typeof job.run !== 'function' && typeof job.children !== 'function') {
    throw new TipError(TipErrorCodes.TRIGGER_INVALID, `job "${job.id}" has neither run() nor children()`, { details: { jobId: job.id } });
  }
  validateTriggers(job.id, triggerList(job.trigger));
  if (job.timeout !== undefined) parseDuration(job.timeout, `job "${job.id}" timeout`);
}
