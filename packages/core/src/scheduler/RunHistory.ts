import type { Logger } from 'pino';
import type { Database } from '../database/Database.js';
import { JobRunEntity, JobStateEntity } from '../database/entities.js';
import type { HistoryQuery, JobRunRecord, JobRunStatus, RunReason } from './types.js';

/** The durable plan of one job. */
export interface JobPlanRow {
  jobId: string;
  lastRunId?: string;
  lastStatus?: JobRunStatus;
  lastStartedAt?: Date;
  lastEndedAt?: Date;
  nextRunAt?: Date;
}

const FLUSH_ROWS = 2000;
const FLUSH_MS = 250;

/**
 * Persists run records and job plans. Writes are buffered and flushed in one transaction every
 * 250 ms (or 2000 rows), so dispatching many small jobs does not cost one database round trip each.
 * Without a database it keeps nothing (runs are still reported through events and metrics).
 */
export class RunHistory {
  readonly #db: Database | undefined;
  readonly #log: Logger;
  #runs: JobRunRecord[] = [];
  /** Rows written (or to write) as upserts: top-level runs get a `running` row when they start. */
  #upserts = new Map<string, JobRunRecord>();
  /** Ids whose `running` row is written or queued. */
  #started = new Set<string>();
  #plans = new Map<string, JobPlanRow>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(db: Database | undefined, log: Logger) {
    this.#db = db;
    this.#log = log;
  }

  /**
   * Queues a `running` row for a run that just started (used for top-level runs, so another
   * process — `tip status` — sees what is in progress). The finished record replaces it.
   */
  recordStart(run: JobRunRecord): void {
    if (!this.#db) return;
    this.#started.add(run.id);
    this.#upserts.set(run.id, { ...run });
    this.#arm();
  }

  /** Queues a finished run. */
  record(run: JobRunRecord): void {
    if (!this.#db) return;
    if (this.#started.delete(run.id)) this.#upserts.set(run.id, { ...run });
    else this.#runs.push(run);
    if (this.#runs.length >= FLUSH_ROWS) void this.flush();
    else this.#arm();
  }

  /**
   * Marks runs left `running` by a process that ended without finishing them as `aborted`.
   * Called when the in-process scheduler starts (it is the only writer of its database).
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

  /** Writes everything queued so far; resolves when it is on disk. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
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

  /** Past runs, newest first. */
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
    }));
  }

  /** Deletes runs that started before `before`; returns how many. */
  async prune(before: Date): Promise<number> {
    if (!this.#db) return 0;
    return this.#db.em().nativeDelete(JobRunEntity, { startedAt: { $lt: before } });
  }

  #arm(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, FLUSH_MS);
    this.#timer.unref?.();
  }

  async #write(): Promise<void> {
    const db = this.#db;
    if (!db || (this.#runs.length === 0 && this.#plans.size === 0 && this.#upserts.size === 0)) return;
    const runs = this.#runs;
    const upserts = [...this.#upserts.values()];
    const plans = [...this.#plans.values()];
    this.#runs = [];
    this.#upserts = new Map();
    this.#plans = new Map();
    try {
      await db.em().transactional(async (em) => {
        for (let i = 0; i < runs.length; i += 500) {
          await em.insertMany(
            JobRunEntity,
            runs.slice(i, i + 500).map(toRow),
          );
        }
        for (const r of upserts) await em.upsert(JobRunEntity, toRow(r));
        const now = new Date();
        for (const p of plans) {
          await em.upsert(JobStateEntity, {
            jobId: p.jobId,
            lastRunId: p.lastRunId ?? null,
            lastStatus: p.lastStatus ?? null,
            lastStartedAt: p.lastStartedAt ?? null,
            lastEndedAt: p.lastEndedAt ?? null,
            nextRunAt: p.nextRunAt ?? null,
            updatedAt: now,
          });
        }
      });
    } catch (err) {
      // Keep what failed for the next flush rather than dropping history.
      this.#runs = runs.concat(this.#runs);
      for (const r of upserts) if (!this.#upserts.has(r.id)) this.#upserts.set(r.id, r);
      for (const p of plans) if (!this.#plans.has(p.jobId)) this.#plans.set(p.jobId, p);
      this.#log.error({ err, runs: runs.length, plans: plans.length }, 'writing run history failed; will retry');
      this.#arm();
    }
  }
}

function toRow(r: JobRunRecord) {
  return {
    id: r.id,
    jobId: r.jobId,
    parentId: r.parentId ?? null,
    plugin: r.plugin ?? null,
    reason: r.reason,
    status: r.status,
    attempt: r.attempt,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? null,
    durationMs: r.durationMs ?? null,
    error: r.error ? r.error.slice(0, 4000) : null,
    counts: r.counts ?? null,
  };
}
