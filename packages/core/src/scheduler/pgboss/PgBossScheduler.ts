import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import type { JobInsert, JobWithMetadata, PgBoss, SendOptions } from 'pg-boss';
import type { SchedulerDeps } from '../../app/types.js';
import { TipError, TipErrorCodes, describeError } from '../../errors/TipError.js';
import { systemClock } from '../../util/clock.js';
import { parseDuration, type Duration } from '../../util/duration.js';
import { settlesWithin, sleepOnClock } from '../../util/sleep.js';
import { AttemptRunner } from '../AttemptRunner.js';
import { completeGroup } from '../GroupRunner.js';
import { jobPlans } from '../jobPlans.js';
import { resolveChildren, resolveSpec, type ChildResolver } from '../children.js';
import { ConcurrencyLimiter } from '../ConcurrencyLimiter.js';
import { subscribeAfterTriggers } from '../events.js';
import { jsonPayload, rejectedTicket } from '../payload.js';
import type { Outcome, RunContext, RunInput } from '../RunContext.js';
import { RunHandle } from '../RunHandle.js';
import { nextDue, nextDueAfterNow, triggerList } from '../triggers.js';
import { validateNewJob } from '../jobValidation.js';
import type {
  ChildOutcome,
  HistoryQuery,
  JobDefinition,
  JobInfo,
  JobPlan,
  JobRunRecord,
  JobRunStatus,
  JsonValue,
  RunReason,
  RunTicket,
  Scheduler,
  Trigger,
  TriggerEvent,
  TriggerOptions,
  WorkerInfo,
} from '../types.js';
import { ClusterLocks } from './ClusterLocks.js';
import { ClusterStore, nameUuid, type ClusterPlan, type StoredChild } from './clusterStore.js';
import { ClusterTicket } from './ClusterTicket.js';

/** pg-boss queue of top-level runs (policy `stately`, singleton key = job id). */
export const TOP_QUEUE = 'tip-job';
/** pg-boss queue of group children (policy `standard`). */
export const CHILD_QUEUE = 'tip-child';

/** What a top-level run's pg-boss job carries. */
interface TopData {
  jobId: string;
  reason: RunReason;
  payload?: JsonValue;
  event?: TriggerEvent;
}

/** What a child's pg-boss job carries. */
interface ChildData {
  group: string;
  groupJob: string;
  childId: string;
  job?: string;
  source?: string;
  payload?: unknown;
}

/** A registered job. */
interface Entry {
  def: JobDefinition;
  owner: string | undefined;
  triggers: readonly Trigger[];
  timed: boolean;
  unsubscribe: Array<() => void>;
}

/** Thrown by a handler to give its pg-boss job back (retried by another worker). */
class HandBack extends Error {}

/** Longest pg-boss expiry (pg-boss caps it below 24 h), for runs without a timeout and groups waiting on children; an expired group resumes waiting on another worker. */
const LONG_EXPIRY_S = 23 * 3600;
/** A child's `running` row is only written if it still runs after this long. */
const LAZY_RUNNING_MS = 1000;
/** Children inserted per pg-boss statement. */
const INSERT_CHUNK = 1000;

/**
 * The distributed scheduler: several worker processes share one PostgreSQL and **pg-boss**
 * distributes the runs (`scheduler.backend: pg-boss`).
 *
 * - **Top-level runs** are pg-boss jobs on queue `tip-job` with policy `stately` and the TIP job id as
 *   singleton key: a job never overlaps itself and at most one rerun is queued (the in-process
 *   coalescing). The pg-boss job id is the TIP run id.
 * - **Schedules** (`every`, cron with seconds, `at`) are planned in `tip_job_state`; a due slot is
 *   claimed by compare-and-set on its `next_run_at`, so one worker enqueues it however many poll;
 *   the worker that finishes a run plans the next one. A claim whose run got lost is replanned
 *   after the worker lease.
 * - **Groups**: children (data: a registered job or source + JSON payload) are pg-boss jobs on
 *   `tip-child`, run by any worker; each child's final record and its fan-in count (`tip_job_group`)
 *   commit in one transaction. The group's own pg-boss job waits for the count to reach the total,
 *   then builds the summary from the children's records, runs `onComplete` and emits
 *   `job.group.completed` — once.
 * - **Events**: an `after` job is enqueued by the process where the event was emitted, with a pg-boss
 *   id derived from (event id, job id): once per event and job.
 * - **Retries** map to pg-boss (`retryLimit`, `retryDelay`, `retryBackoff`, `retryDelayMax`): a failed
 *   attempt is retried by any worker. A killed worker stops heartbeating its pg-boss jobs
 *   (`scheduler.pgBoss.jobHeartbeat`); pg-boss then retries them elsewhere (`crashRetries` extra
 *   attempts). Timeouts abort the attempt locally; the pg-boss expiry is the timeout plus a margin.
 * - **Concurrency**: `scheduler.concurrency` and plugin caps are per worker; `keyConcurrency` caps
 *   are cluster-wide (PostgreSQL advisory locks, see `ClusterLocks`).
 * - **Stop**: fetching stops at once, groups waiting on children hand their job back, running
 *   attempts get `drainTimeout`; those still running are aborted and handed back to pg-boss.
 */
export class PgBossScheduler implements Scheduler {
  readonly #d: SchedulerDeps;
  readonly #store: ClusterStore;
  readonly #jobs = new Map<string, Entry>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** Top-level runs in progress here, by job id. */
  readonly #runningHere = new Map<string, number>();
  readonly #stopping = new AbortController();
  readonly #abortAll = new AbortController();
  readonly #attempts: AttemptRunner;
  readonly #ctx: RunContext;
  readonly #locks: ClusterLocks;
  readonly #resolver: ChildResolver;
  readonly #eventIds = new WeakMap<object, TriggerEvent>();
  readonly #pollMs: number;
  readonly #leaseMs: number;
  #boss: PgBoss | undefined;
  #booting: Promise<PgBoss> | undefined;
  #state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  #schedule = false;
  #startedAt = 0;
  #tickTimer: ReturnType<typeof setTimeout> | undefined;
  #ticking: Promise<void> | undefined;
  #ticks = 0;
  #plans = new Map<string, ClusterPlan>();
  /** Top-level sends in flight at once (the rest wait here, not for a pool connection). */
  readonly #sends = new PQueue({ concurrency: 2 });
  /** Tickets waiting for their run's record, by run id. */
  readonly #waiters = new Map<string, Array<{ resolve(r: JobRunRecord): void; reject(e: unknown): void }>>();
  #waiting: Promise<void> | undefined;

  /**
   * @param deps the app's clock, events, history, logger, metrics, config, database (PostgreSQL)
   *   and worker registry
   * @throws TipError `TIP_CONFIG_INVALID` on a database that is not PostgreSQL
   */
  constructor(deps: SchedulerDeps) {
    if (deps.db.dialect !== 'postgresql') {
      throw new TipError(
        TipErrorCodes.CONFIG_INVALID,
        `scheduler.backend "pg-boss" needs PostgreSQL, but database.url is ${deps.db.where}: use a postgres:// URL, or scheduler.backend "in-process" for SQLite`,
        { details: { path: 'scheduler.backend', backend: 'pg-boss', database: deps.db.where } },
      );
    }
    this.#d = deps;
    this.#store = new ClusterStore(deps.db);
    const s = deps.config.scheduler;
    this.#pollMs = parseDuration(s.pgBoss.pollInterval, 'scheduler.pgBoss.pollInterval');
    this.#leaseMs = deps.workers.leaseMs;
    this.#locks = new ClusterLocks(deps.config.database.url, s.keyConcurrency, deps.log);
    this.#resolver = { job: (id) => this.#jobs.get(id)?.def, source: (id, childId) => deps.resolveSource(id, childId) };
    const locks = this.#locks;
    const stopping = this.#stopping.signal;
    class ClusterLimiter extends ConcurrencyLimiter {
      override run<T>(plugin: string | undefined, key: string | undefined, fn: () => Promise<T>): Promise<T> {
        return super.run(plugin, key, key === undefined ? fn : () => locks.with(key, stopping, fn));
      }
    }
    this.#ctx = {
      clock: deps.clock,
      events: deps.events,
      history: deps.history,
      log: deps.log,
      metrics: deps.metrics,
      limiter: new ClusterLimiter({ concurrency: s.concurrency, pluginConcurrency: s.pluginConcurrency, keyConcurrency: s.keyConcurrency }),
      defaultTimeoutMs: s.defaultTimeout === undefined ? undefined : parseDuration(s.defaultTimeout, 'scheduler.defaultTimeout'),
      groupWindow: 64,
      stopping: this.#stopping.signal,
      abortAll: this.#abortAll.signal,
      abortGraceMs: 5000,
      children: this.#resolver,
    };
    this.#attempts = new AttemptRunner(this.#ctx);
  }

  // ---- registry -----------------------------------------------------------------------------

  /** {@inheritDoc Scheduler.add} */
  add(job: JobDefinition, owner?: string): void {
    validateNewJob(job, owner, this.#jobs);
    const triggers = triggerList(job.trigger);
    const entry: Entry = { def: job, owner, triggers, timed: triggers.some((t) => !('after' in t)), unsubscribe: [] };
    this.#jobs.set(job.id, entry);
    if (this.#state === 'started') {
      this.#subscribe(entry);
      if (this.#schedule && entry.timed) void this.#planAll([entry]).catch((err: unknown) => this.#d.log.warn({ err, job: job.id }, `planning job ${job.id} failed`));
    }
  }

  /** {@inheritDoc Scheduler.remove} */
  remove(id: string): boolean {
    const entry = this.#jobs.get(id);
    if (!entry) return false;
    for (const off of entry.unsubscribe) off();
    this.#jobs.delete(id);
    return true;
  }

  /** {@inheritDoc Scheduler.jobs} */
  jobs(): JobInfo[] {
    return [...this.#jobs.values()].map((e) => {
      const plan = this.#plans.get(e.def.id);
      return {
        id: e.def.id,
        description: e.def.description,
        plugin: e.owner,
        group: typeof e.def.children === 'function',
        triggers: e.triggers,
        running: (this.#runningHere.get(e.def.id) ?? 0) > 0,
        nextRunAt: plan?.nextRunAt,
        lastRun: plan?.lastRunId ? { id: plan.lastRunId, status: plan.lastStatus ?? 'succeeded', startedAt: plan.lastStartedAt, endedAt: plan.lastEndedAt } : undefined,
      };
    });
  }

  /** {@inheritDoc Scheduler.history} */
  history(query?: HistoryQuery): Promise<JobRunRecord[]> {
    return this.#d.history.query(query);
  }

  /** {@inheritDoc Scheduler.plans} */
  async plans(): Promise<JobPlan[]> {
    const stored = await this.#store.plans();
    const now = this.#d.clock.now();
    const next = (e: Entry) => {
      const plan = stored.get(e.def.id);
      return plan ? plan.nextRunAt?.getTime() : nextDue(e.triggers, {}, now);
    };
    return jobPlans(this.#jobs.values(), this.#d.history, next, (e) => this.#runningHere.has(e.def.id));
  }

  /** {@inheritDoc Scheduler.workers} */
  workers(): Promise<WorkerInfo[]> {
    return this.#d.workers.list();
  }

  /** {@inheritDoc Scheduler.idle} */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /**
   * Connects pg-boss (installing its schema on first use) and creates the queues; then, when this
   * process takes jobs (`SchedulerDeps.work`), starts taking them; with `schedule` (default true)
   * plans the time-triggered jobs and claims their due slots. Events emitted in this process
   * enqueue their `after` jobs whatever the role (unless `scheduler.enabled` is false).
   */
  async start(options: { schedule?: boolean } = {}): Promise<void> {
    if (this.#state !== 'new') throw new TipError(TipErrorCodes.APP_STATE, `scheduler cannot start from state "${this.#state}"`);
    this.#schedule = options.schedule ?? true;
    const boss = await this.#ready();
    this.#startedAt = this.#d.clock.now();
    await this.#d.workers.sweep({ orphans: true });
    const keep = parseDuration(this.#d.config.scheduler.historyRetention, 'scheduler.historyRetention');
    await this.#store.pruneGroups(new Date(this.#startedAt - keep)).catch((err: unknown) => this.#d.log.warn({ err }, 'pruning old group fan-in rows failed'));
    this.#state = 'started';
    this.#plans = await this.#store.plans();
    if (this.#d.work) {
      const c = this.#d.config.scheduler.concurrency;
      const poll = Math.max(0.5, this.#pollMs / 1000);
      // burstWhenReadyExceeds: while a backlog is queued, fetch again right after each job instead
      // of waiting a poll interval (pg-boss reads the backlog from its queue cache).
      await boss.work(TOP_QUEUE, { localConcurrency: c, pollingIntervalSeconds: poll, burstWhenReadyExceeds: 1, includeMetadata: true }, async ([job]: JobWithMetadata<TopData>[]) => this.#track(this.#onTop(job!)));
      await boss.work(CHILD_QUEUE, { localConcurrency: c, pollingIntervalSeconds: poll, burstWhenReadyExceeds: 1, includeMetadata: true }, async ([job]: JobWithMetadata<ChildData>[]) => this.#track(this.#onChild(job!)));
    }
    // Events emitted in this process enqueue their `after` jobs, whatever its role: a web process's
    // events start jobs on the workers (unless scheduler.enabled is false).
    for (const e of this.#jobs.values()) this.#subscribe(e);
    if (this.#schedule) {
      await this.#planAll([...this.#jobs.values()].filter((e) => e.timed));
    }
    // Every process ticks: a scheduling one claims due slots; any keeps its view of the plan fresh
    // (jobs(), the status page of a web process).
    this.#armTick(0);
    this.#d.log.info({ work: this.#d.work, schedule: this.#schedule, jobs: this.#jobs.size }, 'pg-boss scheduler started');
  }

  /** {@inheritDoc Scheduler.stop} */
  async stop(options: { drainTimeout?: Duration } = {}): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return this.idle();
    const wasStarted = this.#state === 'started';
    this.#state = 'stopping';
    if (this.#tickTimer) clearTimeout(this.#tickTimer);
    await this.#ticking;
    for (const e of this.#jobs.values()) for (const off of e.unsubscribe.splice(0)) off();
    this.#stopping.abort(new TipError(TipErrorCodes.JOB_ABORTED, 'the app is stopping'));
    const boss = this.#boss ?? (await this.#booting?.catch(() => undefined));
    try {
      if (boss && wasStarted && this.#d.work) {
        await Promise.all([boss.offWork(TOP_QUEUE, { wait: false }), boss.offWork(CHILD_QUEUE, { wait: false })]).catch(() => undefined);
      }
      const drainMs = parseDuration(options.drainTimeout ?? this.#d.config.scheduler.drainTimeout, 'drainTimeout');
      if (!(await settlesWithin(this.idle(), drainMs))) {
        this.#d.log.warn({ drainMs, running: this.#inflight.size }, 'jobs still running after the drain timeout; aborting them and handing them back to pg-boss');
        this.#abortAll.abort(new TipError(TipErrorCodes.JOB_ABORTED, `aborted: still running ${drainMs} ms after stop()`));
        await this.#d.db.cancelInFlight().catch(() => undefined);
        await this.idle();
      }
    } finally {
      await boss?.stop({ graceful: true, timeout: 5000, close: true }).catch((err: unknown) => this.#d.log.warn({ err }, 'stopping pg-boss failed'));
      await this.#locks.close();
      this.#state = 'stopped';
      // Tickets still waiting: the runs go on in the cluster, this process can no longer follow them.
      for (const id of [...this.#waiters.keys()]) {
        this.#settle(id, (w) => w.reject(new TipError(TipErrorCodes.APP_STATE, `stopped while waiting for run ${id}; it goes on in the cluster (see tip status)`, { details: { runId: id } })));
      }
    }
  }

  // ---- triggering ---------------------------------------------------------------------------

  /** {@inheritDoc Scheduler.trigger} */
  trigger(id: string, options: TriggerOptions = {}): RunTicket {
    const entry = this.#jobs.get(id);
    if (!entry) return rejectedTicket(new TipError(TipErrorCodes.JOB_UNKNOWN, `no job "${id}"`, { details: { jobId: id, known: [...this.#jobs.keys()] } }));
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return rejectedTicket(new TipError(TipErrorCodes.APP_STATE, `cannot trigger job "${id}": the scheduler is stopping`, { details: { jobId: id } }));
    }
    let payload: JsonValue | undefined;
    try {
      payload = jsonPayload(options.payload, `trigger("${id}") payload`);
    } catch (err) {
      return rejectedTicket(err);
    }
    const runId = randomUUID();
    const enqueued = this.#enqueueTop(entry, { jobId: id, reason: options.reason ?? 'manual', payload }, runId);
    enqueued.catch((err: unknown) => this.#d.log.warn({ err, job: id, run: runId }, `queueing run ${runId} of job ${id} failed: ${describeError(err)}`));
    return new ClusterTicket(runId, enqueued, (rid) => this.#awaitRun(rid));
  }

  /** Sends a top-level run; resolves with its run id, or the id of the run it was coalesced into. */
  async #enqueueTop(entry: Entry, data: TopData, runId: string): Promise<string> {
    const boss = await this.#ready();
    // Sends go through a small local queue: a burst of triggers (a web process, a script) waits its
    // turn instead of every send competing for the pool and timing out waiting for a connection.
    return this.#sends.add(() => this.#sendTop(boss, entry, data, runId)) as Promise<string>;
  }

  async #sendTop(boss: PgBoss, entry: Entry, data: TopData, runId: string): Promise<string> {
    const sent = await boss.send(TOP_QUEUE, data as unknown as object, { ...this.#sendOptions(entry.def, true), id: runId, singletonKey: entry.def.id });
    if (sent) return sent;
    // Coalesced: a run of this job is already queued (stately policy); the trigger joins it.
    const queued = await boss.findJobs(TOP_QUEUE, { key: entry.def.id, queued: true }).catch(() => []);
    return queued[0]?.id ?? runId;
  }

  /**
   * Waits for a run's final record. Every waiting ticket of this process shares one poll loop (two
   * queries per round for all of them): pg-boss's job state first (a run being retried is not
   * over, even if a sweep marked its record aborted), then the record.
   */
  #awaitRun(runId: string): Promise<JobRunRecord> {
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(runId) ?? [];
      list.push({ resolve, reject });
      this.#waiters.set(runId, list);
      if (!this.#waiting) {
        this.#waiting = this.#pollWaiters().finally(() => (this.#waiting = undefined));
      }
    });
  }

  async #pollWaiters(): Promise<void> {
    let wait = 50;
    const missingSince = new Map<string, number>();
    while (this.#waiters.size > 0) {
      const ids = [...this.#waiters.keys()];
      try {
        const queued = await this.#store.queueStates(this.#d.config.scheduler.pgBoss.schema, TOP_QUEUE, ids);
        const over = ids.filter((id) => {
          const state = queued.get(id)?.state;
          return state !== 'created' && state !== 'retry' && state !== 'active';
        });
        const records = await this.#store.ended(over);
        let settled = 0;
        for (const id of over) {
          const job = queued.get(id);
          let record = records.get(id);
          if (!record && job) record = this.#recordFromQueue(id, job);
          if (!record) {
            const since = missingSince.get(id) ?? Date.now();
            missingSince.set(id, since);
            // Neither queued nor recorded: give the writes a moment, then give up naming the run.
            if (Date.now() - since < 30_000) continue;
            this.#settle(id, (w) => w.reject(new TipError(TipErrorCodes.NOT_FOUND, `run ${id} is neither queued in pg-boss nor recorded`, { details: { runId: id } })));
          } else {
            const r = record;
            this.#settle(id, (w) => w.resolve(r));
          }
          settled++;
        }
        wait = settled > 0 ? 50 : Math.min(500, Math.round(wait * 1.5));
      } catch (err) {
        this.#d.log.warn({ err, runs: ids.length }, `waiting for runs: ${describeError(err)}`);
        wait = 1000;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  #settle(id: string, fn: (w: { resolve(r: JobRunRecord): void; reject(e: unknown): void }) => void): void {
    for (const w of this.#waiters.get(id) ?? []) fn(w);
    this.#waiters.delete(id);
  }

  /** The record of a pg-boss job that ended without one (its handler never got to write it). */
  #recordFromQueue(id: string, job: { state: string; retryCount: number; output: unknown; data: unknown; createdOn: Date; startedOn?: Date; completedOn?: Date }): JobRunRecord | undefined {
    if (job.state !== 'completed' && job.state !== 'failed' && job.state !== 'cancelled') return undefined;
    const data = job.data as TopData;
    return {
      id,
      jobId: data.jobId,
      reason: data.reason,
      status: job.state === 'completed' ? 'succeeded' : job.state === 'cancelled' ? 'aborted' : 'failed',
      attempt: job.retryCount + 1,
      startedAt: job.startedOn ?? job.createdOn,
      endedAt: job.completedOn ?? new Date(),
      error: job.state === 'completed' ? undefined : `pg-boss job ${job.state}: ${describeError(job.output)}`,
    };
  }

  #subscribe(entry: Entry): void {
    if (!this.#d.config.scheduler.enabled) return;
    const o = { events: this.#d.events, clock: this.#d.clock, log: this.#d.log, ids: this.#eventIds };
    const id = entry.def.id;
    entry.unsubscribe.push(
      ...subscribeAfterTriggers(o, id, entry.triggers, () => this.#state === 'started', (input) => {
        // One pg-boss id per (event, job): enqueued once however often this listener fires for it.
        void this.#enqueueTop(entry, { jobId: id, reason: 'event', payload: input.payload as JsonValue | undefined, event: input.event }, nameUuid(`event/${input.event.id}/${id}`)).catch(
          (err: unknown) => this.#d.log.error({ err, job: id, event: input.event.name }, `enqueueing job ${id} after event ${input.event.name} failed`),
        );
      }),
    );
  }

  // ---- planning -----------------------------------------------------------------------------

  /**
   * Plans time-triggered jobs at start: a job without a plan row gets one (the first worker to
   * start wins), a stored plan is recomputed from its last run (so changed triggers apply) and
   * written only if it differs and nobody changed it meanwhile; runs in flight are left alone.
   */
  async #planAll(entries: Entry[]): Promise<void> {
    const plans = await this.#store.plans();
    const now = this.#d.clock.now();
    for (const e of entries) {
      const prior = plans.get(e.def.id);
      if (!prior) {
        const due = nextDue(e.triggers, {}, now);
        await this.#store.insertPlan(e.def.id, due === undefined ? undefined : new Date(due), new Date(now));
        continue;
      }
      if (prior.nextRunAt === undefined && prior.claimedRunId !== undefined) continue;
      let due = nextDue(e.triggers, { lastEndedAt: prior.lastEndedAt?.getTime(), lastStartedAt: prior.lastStartedAt?.getTime() }, now);
      if (due !== undefined && prior.nextRunAt && !prior.lastEndedAt) due = Math.min(due, prior.nextRunAt.getTime());
      if (due !== undefined && due <= now && e.def.missed === 'skip') due = nextDueAfterNow(e.triggers, now);
      if (due !== prior.nextRunAt?.getTime()) await this.#store.replan(e.def.id, prior, due === undefined ? undefined : new Date(due), new Date(now));
    }
    this.#plans = await this.#store.plans();
  }

  #armTick(ms: number): void {
    if (this.#state !== 'started') return;
    if (this.#tickTimer) clearTimeout(this.#tickTimer);
    this.#tickTimer = setTimeout(() => {
      this.#tickTimer = undefined;
      this.#ticking = this.#tick()
        .catch((err: unknown) => this.#d.log.warn({ err }, `claiming due schedules failed: ${describeError(err)}`))
        .finally(() => {
          this.#ticking = undefined;
          this.#armTick(this.#pollMs);
        });
    }, ms);
    this.#tickTimer.unref?.();
  }

  /** Claims every due slot (compare-and-set) and enqueues what it won; now and then, replans lost claims. */
  async #tick(): Promise<void> {
    if (!this.#schedule) {
      if (++this.#ticks % 5 === 0) this.#plans = await this.#store.plans();
      return;
    }
    const timed = [...this.#jobs.values()].filter((e) => e.timed).map((e) => e.def.id);
    if (timed.length === 0) return;
    const now = this.#d.clock.now();
    for (const due of await this.#store.due(timed, new Date(now))) {
      if (this.#state !== 'started') return;
      const entry = this.#jobs.get(due.jobId);
      if (!entry) continue;
      const runId = nameUuid(`slot/${due.jobId}/${due.nextRunAt.toISOString()}`);
      if (!(await this.#store.claim(due.jobId, due.nextRunAt, runId, new Date(now)))) continue;
      const reason: RunReason = due.nextRunAt.getTime() < this.#startedAt ? 'overdue' : 'schedule';
      const sent = await this.#enqueueTop(entry, { jobId: due.jobId, reason }, runId);
      if (sent !== runId) {
        // Coalesced into a run already queued: that run plans the next slot when it ends.
        await this.#store.replan(due.jobId, { nextRunAt: undefined, claimedRunId: runId }, undefined, new Date(now));
      }
    }
    this.#plans = await this.#store.plans();
    if (++this.#ticks % 5 === 0) await this.#replanLostClaims(timed, now);
  }

  /**
   * A claimed slot whose run is neither queued nor running in pg-boss any more, and did not plan
   * the next slot (its worker died between the two), is replanned: at once if the run never
   * recorded its end, else from that end.
   */
  async #replanLostClaims(timed: string[], now: number): Promise<void> {
    const boss = await this.#ready();
    const before = now - this.#leaseMs;
    // The plan this tick just read: slots claimed (no next run) longer ago than the lease.
    for (const id of timed) {
      const p = this.#plans.get(id);
      if (!p || p.nextRunAt !== undefined || p.claimedRunId === undefined || p.updatedAt.getTime() >= before) continue;
      const entry = this.#jobs.get(id);
      if (!entry) continue;
      const job = await boss.getJobById(TOP_QUEUE, p.claimedRunId).catch(() => null);
      if (job && (job.state === 'created' || job.state === 'retry' || job.state === 'active')) continue;
      const record = await this.#store.run(p.claimedRunId);
      const ended = record?.endedAt?.getTime();
      const due = ended === undefined || !record ? new Date(now) : this.#nextAfter(entry, record.startedAt.getTime(), ended, now);
      if (await this.#store.replan(p.jobId, p, due, new Date(now))) {
        this.#d.log.warn({ job: p.jobId, run: p.claimedRunId }, `job ${p.jobId}: the run that claimed its slot is gone (state ${job?.state ?? 'unknown'}); replanned`);
      }
    }
  }

  // ---- running ------------------------------------------------------------------------------

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p)).catch(() => undefined);
    return p;
  }

  /** Handles a top-level run. Throws to give the pg-boss job back (retry or hand-back). */
  async #onTop(job: JobWithMetadata<TopData>): Promise<void> {
    const data = job.data;
    const entry = this.#jobs.get(data.jobId);
    if (!entry) throw new Error(`worker ${this.#d.workers.id} has no job "${data.jobId}" (another worker may run a different plugin set)`);
    const { def, owner } = entry;
    if (job.retryCount > 0) {
      // A retry whose earlier attempt recorded its end (its worker died before completing the
      // pg-boss job): do not run it again, only plan the next slot.
      const ended = await this.#store.run(job.id);
      if (ended && ended.status !== 'running' && ended.status !== 'aborted') {
        const end = ended.endedAt?.getTime() ?? this.#d.clock.now();
        await this.#store.ran(ended, this.#nextAfter(entry, ended.startedAt.getTime(), end), new Date(end));
        return;
      }
    }
    const record = this.#newRecord(job.id, def.id, owner, data.reason, job.retryCount + 1, undefined);
    const input: RunInput = { payload: data.payload, event: data.event };
    this.#runningHere.set(def.id, (this.#runningHere.get(def.id) ?? 0) + 1);
    // The `running` row is written only if the run is still running a moment later (groups at once):
    // a short run costs one write, its end.
    const lazy = this.#lazyRunning(record, def.children ? 0 : LAZY_RUNNING_MS);
    try {
      this.#d.metrics?.jobStarted(def.id);
      this.#emitStarted(record);
      const outcome = def.children ? await this.#runGroup(entry, record, input) : await this.#attemptOnce(def, owner, record, input);
      await this.#retryOrHandBack(def, record, outcome, lazy.settle);
      await lazy.settle();
      // The record and the job's next planned run go in one statement.
      await this.#finish(record, outcome, (end) => this.#nextAfter(entry, record.startedAt.getTime(), end));
    } finally {
      lazy.cancel();
      const n = (this.#runningHere.get(def.id) ?? 1) - 1;
      if (n > 0) this.#runningHere.set(def.id, n);
      else this.#runningHere.delete(def.id);
    }
  }

  /** Handles a group child. Throws to give the pg-boss job back (retry or hand-back). */
  async #onChild(job: JobWithMetadata<ChildData>): Promise<void> {
    const data = job.data;
    if (job.retryCount > 0) {
      // Its end is already recorded (and counted in the group): nothing left to do.
      const ended = await this.#store.run(job.id);
      if (ended && ended.status !== 'running' && ended.status !== 'aborted') return;
    }
    const owner = this.#jobs.get(data.groupJob)?.owner;
    const record = this.#newRecord(job.id, data.childId, owner, 'group', job.retryCount + 1, data.group);
    const def = this.#resolveStored(data);
    const lazy = this.#lazyRunning(record, LAZY_RUNNING_MS);
    let outcome: Outcome;
    try {
      if (!def) {
        outcome = { status: 'failed', error: `child "${data.childId}" of group run ${data.group} names ${data.job !== undefined ? `job "${data.job}"` : `source "${data.source}"`}, which this worker does not have` };
      } else if (def.children) {
        outcome = { status: 'failed', error: `child "${data.childId}" is itself a group; the pg-boss backend runs leaf children only` };
      } else {
        this.#d.metrics?.jobStarted(def.id);
        outcome = await this.#attemptOnce(def, owner, record, { payload: data.payload });
        await this.#retryOrHandBack(def, record, outcome, lazy.settle);
      }
      await lazy.settle();
    } finally {
      lazy.cancel();
    }
    await this.#finish(record, outcome);
  }

  /**
   * Writes the run's `running` row after `delayMs` (at once for 0) unless it settles first.
   * `settle()` stops the timer and waits for a write in flight (so the end is written after it).
   */
  #lazyRunning(record: JobRunRecord, delayMs: number): { settle: () => Promise<void>; cancel: () => void } {
    let write: Promise<void> | undefined;
    const start = () => (write = this.#store.recordRunning(record).catch((err: unknown) => this.#d.log.warn({ err, run: record.id }, `writing the running row of ${record.jobId} failed: ${describeError(err)}`)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (delayMs === 0) start();
    else {
      timer = setTimeout(start, delayMs);
      timer.unref?.();
    }
    const cancel = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    };
    return {
      cancel,
      settle: async () => {
        cancel();
        await write;
      },
    };
  }

  /** One attempt of a leaf (the pg-boss retry brings the next one, on any worker). */
  #attemptOnce(def: JobDefinition, owner: string | undefined, record: JobRunRecord, input: RunInput): Promise<Outcome> {
    if (!def.run) return Promise.resolve({ status: 'succeeded' });
    return this.#attempts.run(def.retry ? { ...def, retry: undefined } : def, owner, record, input);
  }

  /**
   * Gives the pg-boss job back (by throwing) when the attempt failed and the job's retry policy
   * has attempts left, or when the worker is stopping and the run was aborted or never started.
   */
  async #retryOrHandBack(def: JobDefinition, record: JobRunRecord, outcome: Outcome, before?: () => Promise<void>): Promise<void> {
    const stopping = this.#stopping.signal.aborted && outcome.status === 'aborted';
    const retry = (outcome.status === 'failed' || outcome.status === 'timeout') && record.attempt < (def.retry?.attempts ?? 1);
    if (!stopping && !retry) return;
    await before?.();
    const why = stopping ? `handed back by worker ${this.#d.workers.id} at stop: ${outcome.error ?? 'not started'}` : `attempt ${record.attempt} ${outcome.status}: ${outcome.error ?? ''}; retrying`;
    await this.#store.recordRunning({ ...record, error: why }).catch(() => undefined);
    if (retry) this.#d.log.info({ job: def.id, run: record.id, attempt: record.attempt, error: outcome.error }, `retrying job ${def.id}`);
    throw stopping ? new HandBack(why) : new Error(why);
  }

  /**
   * Records a run's end (for a child: with its fan-in count; for a top-level run: with the job's
   * next run from `plan`), metrics and `job.finished`.
   */
  async #finish(record: JobRunRecord, outcome: Outcome, plan?: (end: number) => Date | undefined): Promise<void> {
    const end = this.#d.clock.now();
    record.status = outcome.status;
    record.error = outcome.error;
    record.counts = outcome.counts;
    record.endedAt = new Date(end);
    record.durationMs = Math.max(0, end - record.startedAt.getTime());
    await this.#store.recordEnd(record, plan ? { next: plan(end), now: new Date(end) } : undefined);
    this.#d.metrics?.jobFinished(record.jobId, record.status, record.durationMs);
    if (record.status !== 'succeeded') this.#d.log.warn({ job: record.jobId, run: record.id, status: record.status, error: record.error }, `job ${record.jobId} ${record.status}`);
    if (this.#d.events.listenerCount('job.finished') > 0) {
      void this.#d.events.emit('job.finished', {
        jobId: record.jobId,
        runId: record.id,
        parentRunId: record.parentId,
        status: record.status,
        error: record.error,
        durationMs: record.durationMs,
        counts: record.counts,
      });
    }
  }

  /**
   * A group run: `run` (if any), children computed and stored with the fan-in row, enqueued (again,
   * idempotently, when resumed by another worker), then wait for every child to end and complete.
   */
  async #runGroup(entry: Entry, record: JobRunRecord, input: RunInput): Promise<Outcome> {
    const { def, owner } = entry;
    let group = await this.#store.group(record.id, true);
    if (!group) {
      if (def.run) {
        const first = await this.#attemptOnce(def, owner, record, input);
        if (first.status !== 'succeeded') return first;
      }
      const handle = new RunHandle(record.id, def.id, undefined, record.attempt, record.reason, input, this.#d.clock.now(), this.#d.log, this.#abortAll.signal);
      let children: StoredChild[];
      try {
        const resolved = resolveChildren(def, await def.children!(handle), input.payload, this.#resolver, false);
        children = resolved.map((c, i) => ({
          runId: nameUuid(`child/${record.id}/${i}`),
          childId: c.def.id,
          ...(c.spec && 'job' in c.spec ? { job: c.spec.job } : { source: c.spec && 'source' in c.spec ? c.spec.source : undefined }),
          payload: c.payload,
        }));
      } catch (err) {
        return { status: 'failed', error: `computing children failed: ${describeError(err)}` };
      }
      await this.#store.createGroup(record.id, def.id, children, new Date(this.#d.clock.now()));
      group = (await this.#store.group(record.id, true))!;
    }
    if (!group.completedAt) {
      await this.#sendChildren(def, record.id, group.children);
      await this.#waitForChildren(record.id, group.total);
    }
    return this.#completeGroup(entry, record, input, group.children, group.completedAt !== undefined);
  }

  async #sendChildren(group: JobDefinition, runId: string, children: StoredChild[]): Promise<void> {
    const boss = await this.#ready();
    for (let i = 0; i < children.length; i += INSERT_CHUNK) {
      const batch: JobInsert[] = children.slice(i, i + INSERT_CHUNK).map((c) => {
        const def = this.#resolveStored(c);
        const data: ChildData = { group: runId, groupJob: group.id, childId: c.childId, job: c.job, source: c.source, payload: c.payload };
        return { id: c.runId, data, ...this.#sendOptions(def, false) };
      });
      await boss.insert(CHILD_QUEUE, batch);
    }
  }

  /** Waits until the fan-in count reaches the total; a stopping worker hands the group back. */
  async #waitForChildren(runId: string, total: number): Promise<void> {
    let wait = 50;
    for (;;) {
      const g = await this.#store.group(runId);
      if (!g || g.ended >= total) return;
      if (this.#stopping.signal.aborted) throw new HandBack(`group run ${runId} handed back by worker ${this.#d.workers.id} at stop (${g.ended} of ${total} children ended)`);
      await sleepOnClock(systemClock, wait, this.#stopping.signal);
      wait = Math.min(1000, Math.round(wait * 1.5));
    }
  }

  /** Builds the summary from the children's records (in `children()` order), runs onComplete, emits, marks the group complete. */
  async #completeGroup(entry: Entry, record: JobRunRecord, input: RunInput, children: StoredChild[], alreadyCompleted: boolean): Promise<Outcome> {
    const { def } = entry;
    const byId = new Map((await this.#store.children(record.id)).map((r) => [r.id, r]));
    const outcomes: ChildOutcome[] = children.map((c) => {
      const r = byId.get(c.runId);
      return r ? { jobId: r.jobId, runId: r.id, status: r.status, error: r.error, counts: r.counts } : { jobId: c.childId, runId: c.runId, status: 'aborted' as JobRunStatus, error: 'no record of this child' };
    });
    const now = this.#d.clock.now();
    const handle = new RunHandle(record.id, def.id, undefined, record.attempt, record.reason, input, now, this.#d.log, this.#abortAll.signal);
    const outcome = await completeGroup({ def, record, outcomes, handle, endedAt: now, events: this.#d.events, log: this.#d.log, callbacks: !alreadyCompleted });
    if (!alreadyCompleted) await this.#store.completeGroup(record.id, new Date(this.#d.clock.now()));
    return outcome;
  }

  // ---- helpers ------------------------------------------------------------------------------

  /**
   * When a job runs next after a run that started at `startedAt` and ended at `end` (its
   * time-based triggers from that end, as seen at `now`); `undefined` for a job without them.
   */
  #nextAfter(entry: Entry, startedAt: number, end: number, now = end): Date | undefined {
    if (!entry.timed) return undefined;
    const next = nextDue(entry.triggers, { lastEndedAt: end, lastStartedAt: startedAt }, now);
    return next === undefined ? undefined : new Date(next);
  }

  #newRecord(id: string, jobId: string, owner: string | undefined, reason: RunReason, attempt: number, parentId: string | undefined): JobRunRecord {
    const record: JobRunRecord = { id, jobId, parentId, plugin: owner, reason, status: 'running', attempt, startedAt: new Date(this.#d.clock.now()) };
    if (this.#d.workers.id) record.workerId = this.#d.workers.id;
    return record;
  }

  #emitStarted(record: JobRunRecord): void {
    if (this.#d.events.listenerCount('job.started') > 0) {
      void this.#d.events.emit('job.started', { jobId: record.jobId, runId: record.id, parentRunId: record.parentId, attempt: record.attempt, reason: record.reason });
    }
  }

  #resolveStored(c: Pick<ChildData, 'childId' | 'job' | 'source'>): JobDefinition | undefined {
    return resolveSpec(c, c.childId, this.#resolver);
  }

  /** pg-boss retry, expiry and heartbeat options of a run of `def`. */
  #sendOptions(def: JobDefinition | undefined, top: boolean): SendOptions {
    const p = this.#d.config.scheduler.pgBoss;
    const attempts = Math.max(1, def?.retry?.attempts ?? 1);
    const backoffMs = def?.retry ? (def.retry.backoff === undefined ? 1000 : parseDuration(def.retry.backoff)) : 0;
    const maxMs = def?.retry?.maxBackoff === undefined ? undefined : parseDuration(def.retry.maxBackoff);
    const timeoutMs = def?.timeout === undefined ? this.#ctx.defaultTimeoutMs : parseDuration(def.timeout);
    const group = top && typeof def?.children === 'function';
    const options: SendOptions = {
      retryLimit: attempts - 1 + p.crashRetries,
      retryDelay: Math.ceil(backoffMs / 1000),
      retryBackoff: def?.retry !== undefined,
      expireInSeconds: group || timeoutMs === undefined ? LONG_EXPIRY_S : Math.min(LONG_EXPIRY_S, Math.ceil(timeoutMs / 1000) + 60),
      heartbeatSeconds: Math.max(10, Math.ceil(parseDuration(p.jobHeartbeat) / 1000)),
    };
    if (maxMs !== undefined) options.retryDelayMax = Math.max(1, Math.ceil(maxMs / 1000));
    return options;
  }

  /** Starts pg-boss once (lazily for a process that only enqueues) and creates the queues. */
  #ready(): Promise<PgBoss> {
    if (this.#boss) return Promise.resolve(this.#boss);
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return Promise.reject(new TipError(TipErrorCodes.APP_STATE, 'the scheduler is stopped', { details: { state: this.#state } }));
    }
    this.#booting ??= (async () => {
      const p = this.#d.config.scheduler.pgBoss;
      const monitorS = Math.max(1, Math.round(parseDuration(p.monitorInterval) / 1000));
      // Loaded on first use: apps on the in-process backend (and CLI commands) never load pg-boss.
      const { PgBoss } = await import('pg-boss');
      const boss = new PgBoss({
        connectionString: this.#d.config.database.url,
        schema: p.schema,
        application_name: `tip-${this.#d.workers.id ?? 'client'}`.slice(0, 63),
        // Lazily opened, bounded: fetches and completions queue for a connection rather than open many.
        max: Math.max(3, Math.min(20, this.#d.config.scheduler.concurrency + 2)),
        schedule: false,
        superviseIntervalSeconds: monitorS,
        monitorIntervalSeconds: monitorS,
        queueCacheIntervalSeconds: monitorS,
      });
      boss.on('error', (err: unknown) => this.#d.log.warn({ err }, `pg-boss: ${err instanceof Error ? describeError(err) : safeJson(err)}`));
      try {
        await boss.start();
        await boss.createQueue(TOP_QUEUE, { policy: 'stately' });
        await boss.createQueue(CHILD_QUEUE, { policy: 'standard' });
      } catch (err) {
        await boss.stop({ graceful: false, close: true }).catch(() => undefined);
        throw new TipError(TipErrorCodes.DB_FAILED, `starting pg-boss on ${this.#d.db.where} (schema ${p.schema}) failed: ${describeError(err)}`, {
          cause: err,
          details: { database: this.#d.db.where, schema: p.schema },
        });
      }
      this.#boss = boss;
      return boss;
    })();
    this.#booting.catch(() => (this.#booting = undefined));
    return this.#booting;
  }
}

/** A value as JSON for a log line (pg-boss reports some errors as plain objects). */
function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
