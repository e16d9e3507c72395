import type { Clock, TimerHandle } from '../util/clock.js';
import type { JobPlanRow, RunHistory } from './RunHistory.js';
import { nextDue, nextDueAfterNow } from './triggers.js';
import type { JobDefinition, JobRunRecord, RunReason, Trigger } from './types.js';

/**
 * A registered job and its scheduling state.
 * @internal
 */
export interface JobEntry {
  /** The definition as added. */
  readonly def: JobDefinition;
  /** The plugin that added it. */
  readonly owner: string | undefined;
  /** `def.trigger` as an array. */
  readonly triggers: readonly Trigger[];
  /** When it is due next (scheduler clock ms); `undefined` while running or when nothing is planned. */
  nextRunAt: number | undefined;
  /** The reason the planned run will carry (`schedule`, or `overdue` after a restart). */
  nextReason: RunReason;
  /** The top-level run in progress. */
  running: Promise<JobRunRecord> | undefined;
  /** The durable plan row (last run and next run). */
  last: JobPlanRow | undefined;
  /** Unsubscribes the entry's `after` triggers. */
  unsubscribe: Array<() => void>;
}

/**
 * Computes when each job runs next, keeps the persisted plans, applies the missed-run policy and
 * arms one clock timer for the earliest due job.
 * @internal
 */
export class JobPlanner {
  readonly #clock: Clock;
  readonly #history: RunHistory;
  readonly #jobs: ReadonlyMap<string, JobEntry>;
  readonly #fire: (entry: JobEntry, reason: RunReason) => void;
  #plans = new Map<string, JobPlanRow>();
  #timer: TimerHandle | undefined;
  #timerAt: number | undefined;
  #active = false;

  /**
   * @param jobs the scheduler's registered jobs (read, never changed here)
   * @param fire starts a due job's run
   */
  constructor(clock: Clock, history: RunHistory, jobs: ReadonlyMap<string, JobEntry>, fire: (entry: JobEntry, reason: RunReason) => void) {
    this.#clock = clock;
    this.#history = history;
    this.#jobs = jobs;
    this.#fire = fire;
  }

  /** Loads the persisted plans (before {@link JobPlanner.activate}). */
  async load(): Promise<void> {
    this.#plans = await this.#history.loadPlans();
  }

  /** Starts arming timers (the scheduler started). */
  activate(): void {
    this.#active = true;
  }

  /** Stops arming timers and cancels the armed one. */
  stop(): void {
    this.#active = false;
    this.disarm();
  }

  /**
   * Plans a job just registered (or registered before start): its next due time from its
   * triggers and persisted past, a never-run planned slot kept across restarts, and the
   * missed-run policy for a slot that passed while the app was down.
   */
  plan(entry: JobEntry): void {
    const now = this.#clock.now();
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
    if (prior || due !== undefined) this.#save(entry);
  }

  /**
   * Records a finished top-level run and, when the entry is still registered, plans its next run
   * from the time it ended.
   */
  ran(entry: JobEntry, record: JobRunRecord, startedAt: number): void {
    entry.last = {
      jobId: entry.def.id,
      lastRunId: record.id,
      lastStatus: record.status,
      lastStartedAt: new Date(startedAt),
      lastEndedAt: record.endedAt,
    };
    this.#plans.set(entry.def.id, entry.last);
    if (this.#jobs.get(entry.def.id) !== entry) return;
    const now = this.#clock.now();
    entry.nextRunAt = nextDue(entry.triggers, { lastEndedAt: now, lastStartedAt: startedAt }, now);
    entry.nextReason = 'schedule';
    this.#save(entry);
  }

  /** (Re-)arms the timer for the earliest job due that is not running. */
  arm(): void {
    if (!this.#active) return;
    let earliest: number | undefined;
    for (const e of this.#jobs.values()) {
      if (e.running || e.nextRunAt === undefined) continue;
      if (earliest === undefined || e.nextRunAt < earliest) earliest = e.nextRunAt;
    }
    if (earliest === this.#timerAt && this.#timer) return;
    this.disarm();
    if (earliest === undefined) return;
    this.#timerAt = earliest;
    this.#timer = this.#clock.setTimeout(() => this.#due(), Math.max(0, earliest - this.#clock.now()));
  }

  /** Cancels the armed timer. */
  disarm(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
  }

  #due(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    if (!this.#active) return;
    const now = this.#clock.now();
    for (const entry of this.#jobs.values()) {
      if (entry.running || entry.nextRunAt === undefined || entry.nextRunAt > now) continue;
      const reason = entry.nextReason;
      entry.nextRunAt = undefined;
      this.#fire(entry, reason);
    }
    this.arm();
  }

  #save(entry: JobEntry): void {
    const row: JobPlanRow = {
      ...(entry.last ?? {}),
      jobId: entry.def.id,
      nextRunAt: entry.nextRunAt === undefined ? undefined : new Date(entry.nextRunAt),
    };
    entry.last = row;
    this.#plans.set(row.jobId, row);
    this.#history.plan(row);
  }
}
