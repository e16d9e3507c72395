import { createHash } from 'node:crypto';
import type { Database } from '../../database/Database.js';
import { executeRaw } from '../../database/raw.js';
import { runValues } from '../historyWriter.js';
import type { JobRunRecord, JobRunStatus, RunReason } from '../types.js';

/**
 * A UUID derived from a name (SHA-1, shaped like a version-5 UUID): the same name always gives
 * the same id, which is how the pg-boss backend makes enqueueing idempotent (a schedule slot, an
 * event's run of a job, a group's n-th child).
 * @internal
 */
export function nameUuid(name: string): string {
  const h = createHash('sha1').update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** One row of `tip_job_state` as the cluster planner reads it. @internal */
export interface ClusterPlan {
  jobId: string;
  nextRunAt: Date | undefined;
  claimedRunId: string | undefined;
  lastRunId: string | undefined;
  lastStatus: JobRunStatus | undefined;
  lastStartedAt: Date | undefined;
  lastEndedAt: Date | undefined;
  updatedAt: Date;
}

/** A child as stored with its group (enough to enqueue it again). @internal */
export interface StoredChild {
  /** The child's run id (its pg-boss job id). */
  runId: string;
  /** The child's id in the group (its run's `jobId`). */
  childId: string;
  /** The spec: `{ job }` or `{ source }` with the payload. */
  job?: string;
  source?: string;
  payload?: unknown;
}

/** The fan-in row of one group run. @internal */
export interface GroupRow {
  runId: string;
  jobId: string;
  total: number;
  ended: number;
  failed: number;
  children: StoredChild[];
  completedAt: Date | undefined;
}

/** Upserts a job's plan after a run: `$1` job, `$2` run, `$3` status, `$4`/`$5` start/end, `$6` next run, `$7` now. */
const PLAN_UPSERT = `insert into tip_job_state (job_id, last_run_id, last_status, last_started_at, last_ended_at, next_run_at, claimed_run_id, updated_at) values ($1, $2, $3, $4, $5, $6, null, $7)
       on conflict (job_id) do update set last_run_id = excluded.last_run_id, last_status = excluded.last_status, last_started_at = excluded.last_started_at,
         last_ended_at = excluded.last_ended_at, next_run_at = excluded.next_run_at, claimed_run_id = null, updated_at = excluded.updated_at`;

/** A timestamp as PostgreSQL reads it. */
const iso = (d: Date | undefined): string | null => (d ? d.toISOString() : null);

const RUN_COLUMNS = 'id, job_id, parent_id, plugin, reason, status, attempt, started_at, ended_at, duration_ms, error, counts, worker_id';

/**
 * The pg-boss backend's SQL on TIP's own tables (PostgreSQL only): run records written before a
 * pg-boss job completes, the shared schedule plan (`tip_job_state`, claimed by compare-and-set)
 * and the group fan-in counters (`tip_job_group`).
 * @internal
 */
export class ClusterStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  // ---- run records ------------------------------------------------------------------------

  /**
   * Writes a run's `running` row (a new attempt), unless the run already ended: a retried child
   * whose first attempt already recorded its end keeps that record.
   */
  async recordRunning(r: JobRunRecord): Promise<void> {
    await executeRaw(
      this.#db.em(),
      `insert into tip_job_run (${RUN_COLUMNS}) values ($1, $2, $3, $4, $5, 'running', $6, $7, null, null, $8, null, $9)
       on conflict (id) do update set status = 'running', attempt = excluded.attempt, worker_id = excluded.worker_id, error = excluded.error, started_at = least(tip_job_run.started_at, excluded.started_at)
       where tip_job_run.status in ('running', 'aborted')`,
      [r.id, r.jobId, r.parentId ?? null, r.plugin ?? null, r.reason, r.attempt, r.startedAt.toISOString(), r.error?.slice(0, 4000) ?? null, r.workerId ?? null],
    );
  }

  /**
   * Writes a run's final record. For a group child, in the same statement (one atomic CTE), counts
   * it in its group's fan-in row — only when the record really changed from `running` (or
   * `aborted` by a sweep), so a child retried after it had recorded its end is never counted twice.
   * @returns whether the record was written (false: it had already ended)
   */
  async recordEnd(r: JobRunRecord, plan?: { next: Date | undefined; now: Date }): Promise<boolean> {
    const upsert = `insert into tip_job_run (${RUN_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13)
         on conflict (id) do update set status = excluded.status, attempt = excluded.attempt, started_at = least(tip_job_run.started_at, excluded.started_at), ended_at = excluded.ended_at,
           duration_ms = excluded.duration_ms, error = excluded.error, counts = excluded.counts, worker_id = excluded.worker_id
         where tip_job_run.status in ('running', 'aborted')
         returning id`;
    const params = runValues(r, iso);
    params[11] = r.counts ? JSON.stringify(r.counts) : null;
    if (!r.parentId && plan) {
      // A top-level run: its record and the job's plan (last run, next run, claim cleared) at once.
      const { rows } = await executeRaw<{ written: number | string }>(
        this.#db.em(),
        `with w as (${upsert}),
              s as (${PLAN_UPSERT.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + 13}`)} returning job_id)
         select (select count(*) from w) as written`,
        [...params, ...this.#planParams(r, plan.next, plan.now)],
      );
      return Number(rows[0]?.written ?? 0) > 0;
    }
    if (!r.parentId) return (await executeRaw(this.#db.em(), upsert, params)).rows.length > 0;
    const { rows } = await executeRaw<{ written: number | string }>(
      this.#db.em(),
      `with w as (${upsert}),
            g as (update tip_job_group set ended = ended + 1, failed = failed + $14 where run_id = $3 and exists (select 1 from w) returning run_id)
       select (select count(*) from w) as written`,
      [...params, r.status === 'succeeded' ? 0 : 1],
    );
    return Number(rows[0]?.written ?? 0) > 0;
  }

  /**
   * The runs among `ids` that ended: their records (status other than `running`).
   */
  async ended(ids: readonly string[]): Promise<Map<string, JobRunRecord>> {
    if (ids.length === 0) return new Map();
    const { rows } = await executeRaw<Record<string, unknown>>(this.#db.em(), `select ${RUN_COLUMNS} from tip_job_run where id = any($1::text[]) and status <> 'running'`, [ids]);
    return new Map(rows.map((row) => [row.id as string, toRecord(row)]));
  }

  /**
   * pg-boss's state of the top-level runs among `ids` (jobs it no longer holds are absent).
   * @param schema pg-boss's schema (a validated identifier)
   */
  async queueStates(schema: string, queue: string, ids: readonly string[]): Promise<Map<string, { state: string; retryCount: number; output: unknown; data: unknown; createdOn: Date; startedOn?: Date; completedOn?: Date }>> {
    if (ids.length === 0) return new Map();
    const { rows } = await executeRaw<{ id: string; state: string; retry_count: number; output: unknown; data: unknown; created_on: Date; started_on: Date | null; completed_on: Date | null }>(
      this.#db.em(),
      `select id::text as id, state::text as state, retry_count, output, data, created_on, started_on, completed_on from ${schema}.job where name = $1 and id = any($2::uuid[])`,
      [queue, ids],
    );
    return new Map(
      rows.map((row) => [
        row.id,
        {
          state: row.state,
          retryCount: Number(row.retry_count),
          output: row.output,
          data: row.data,
          createdOn: new Date(row.created_on),
          startedOn: row.started_on ? new Date(row.started_on) : undefined,
          completedOn: row.completed_on ? new Date(row.completed_on) : undefined,
        },
      ]),
    );
  }

  /** A run's record, if written. */
  async run(id: string): Promise<JobRunRecord | undefined> {
    const { rows } = await executeRaw<Record<string, unknown>>(this.#db.em(), `select ${RUN_COLUMNS} from tip_job_run where id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** The records of a group's children. */
  async children(parentId: string): Promise<JobRunRecord[]> {
    const { rows } = await executeRaw<Record<string, unknown>>(this.#db.em(), `select ${RUN_COLUMNS} from tip_job_run where parent_id = $1`, [parentId]);
    return rows.map(toRecord);
  }

  // ---- groups -----------------------------------------------------------------------------

  /** Creates a group's fan-in row (kept as is when it exists: a resumed group). */
  async createGroup(runId: string, jobId: string, children: StoredChild[], now: Date): Promise<void> {
    await executeRaw(
      this.#db.em(),
      'insert into tip_job_group (run_id, job_id, total, ended, failed, children, created_at) values ($1, $2, $3, 0, 0, $4::jsonb, $5) on conflict (run_id) do nothing',
      [runId, jobId, children.length, JSON.stringify(children), now.toISOString()],
    );
  }

  /** A group's fan-in row (`children` only with `withChildren`). */
  async group(runId: string, withChildren = false): Promise<GroupRow | undefined> {
    const { rows } = await executeRaw<{ run_id: string; job_id: string; total: number; ended: number; failed: number; children: StoredChild[] | string | null; completed_at: Date | string | null }>(
      this.#db.em(),
      `select run_id, job_id, total, ended, failed, ${withChildren ? 'children' : 'null as children'}, completed_at from tip_job_group where run_id = $1`,
      [runId],
    );
    const r = rows[0];
    if (!r) return undefined;
    const children = typeof r.children === 'string' ? (JSON.parse(r.children) as StoredChild[]) : (r.children ?? []);
    return { runId: r.run_id, jobId: r.job_id, total: Number(r.total), ended: Number(r.ended), failed: Number(r.failed), children, completedAt: r.completed_at ? new Date(r.completed_at) : undefined };
  }

  /** Marks a group completed (after its `onComplete` and event). */
  async completeGroup(runId: string, now: Date): Promise<void> {
    await executeRaw(this.#db.em(), 'update tip_job_group set completed_at = $2 where run_id = $1 and completed_at is null', [runId, now.toISOString()]);
  }

  /** Deletes fan-in rows of groups completed before `before`. */
  async pruneGroups(before: Date): Promise<number> {
    const { affected } = await executeRaw(this.#db.em(), 'delete from tip_job_group where completed_at < $1', [before.toISOString()]);
    return affected;
  }

  // ---- the shared plan --------------------------------------------------------------------

  /** Every job's plan row. */
  async plans(): Promise<Map<string, ClusterPlan>> {
    const { rows } = await executeRaw<{
      job_id: string;
      next_run_at: Date | null;
      claimed_run_id: string | null;
      last_run_id: string | null;
      last_status: string | null;
      last_started_at: Date | null;
      last_ended_at: Date | null;
      updated_at: Date;
    }>(this.#db.em(), 'select job_id, next_run_at, claimed_run_id, last_run_id, last_status, last_started_at, last_ended_at, updated_at from tip_job_state');
    return new Map(
      rows.map((r) => [
        r.job_id,
        {
          jobId: r.job_id,
          nextRunAt: r.next_run_at ? new Date(r.next_run_at) : undefined,
          claimedRunId: r.claimed_run_id ?? undefined,
          lastRunId: r.last_run_id ?? undefined,
          lastStatus: (r.last_status as JobRunStatus | null) ?? undefined,
          lastStartedAt: r.last_started_at ? new Date(r.last_started_at) : undefined,
          lastEndedAt: r.last_ended_at ? new Date(r.last_ended_at) : undefined,
          updatedAt: new Date(r.updated_at),
        },
      ]),
    );
  }

  /** Plans a job that has no plan row yet (the first worker to start wins). */
  async insertPlan(jobId: string, next: Date | undefined, now: Date): Promise<void> {
    await executeRaw(this.#db.em(), 'insert into tip_job_state (job_id, next_run_at, updated_at) values ($1, $2, $3) on conflict (job_id) do nothing', [
      jobId,
      next?.toISOString() ?? null,
      now.toISOString(),
    ]);
  }

  /**
   * Replans a job if its plan is still what this worker read (compare-and-set on next run and
   * claim): concurrent workers starting at once do not overwrite each other.
   * @returns whether it was written
   */
  async replan(jobId: string, seen: { nextRunAt: Date | undefined; claimedRunId: string | undefined }, next: Date | undefined, now: Date): Promise<boolean> {
    const { affected } = await executeRaw(
      this.#db.em(),
      `update tip_job_state set next_run_at = $2, claimed_run_id = null, updated_at = $3
       where job_id = $1 and next_run_at is not distinct from $4::timestamptz and claimed_run_id is not distinct from $5`,
      [jobId, next?.toISOString() ?? null, now.toISOString(), seen.nextRunAt?.toISOString() ?? null, seen.claimedRunId ?? null],
    );
    return affected === 1;
  }

  /** Jobs due at `now` among `jobIds`. */
  async due(jobIds: readonly string[], now: Date): Promise<Array<{ jobId: string; nextRunAt: Date }>> {
    if (jobIds.length === 0) return [];
    const { rows } = await executeRaw<{ job_id: string; next_run_at: Date }>(
      this.#db.em(),
      'select job_id, next_run_at from tip_job_state where next_run_at <= $1 and job_id = any($2::text[]) order by next_run_at',
      [now.toISOString(), jobIds],
    );
    return rows.map((r) => ({ jobId: r.job_id, nextRunAt: new Date(r.next_run_at) }));
  }

  /** The earliest planned run among `jobIds` (to arm the timer). */
  async earliest(jobIds: readonly string[]): Promise<Date | undefined> {
    if (jobIds.length === 0) return undefined;
    const { rows } = await executeRaw<{ at: Date | null }>(this.#db.em(), 'select min(next_run_at) as at from tip_job_state where job_id = any($1::text[])', [jobIds]);
    return rows[0]?.at ? new Date(rows[0].at) : undefined;
  }

  /**
   * Claims a due slot: clears its next run and records the run id that will take it, if the slot is
   * still the one read. Exactly one worker wins a slot.
   */
  async claim(jobId: string, slot: Date, runId: string, now: Date): Promise<boolean> {
    const { affected } = await executeRaw(
      this.#db.em(),
      'update tip_job_state set next_run_at = null, claimed_run_id = $3, updated_at = $4 where job_id = $1 and next_run_at = $2',
      [jobId, slot.toISOString(), runId, now.toISOString()],
    );
    return affected === 1;
  }

  /** Records a finished top-level run and the job's next planned run. */
  async ran(r: JobRunRecord, next: Date | undefined, now: Date): Promise<void> {
    await executeRaw(this.#db.em(), PLAN_UPSERT, this.#planParams(r, next, now));
  }

  #planParams(r: JobRunRecord, next: Date | undefined, now: Date): unknown[] {
    return [r.jobId, r.id, r.status, r.startedAt.toISOString(), r.endedAt?.toISOString() ?? now.toISOString(), next?.toISOString() ?? null, now.toISOString()];
  }
}

function toRecord(r: Record<string, unknown>): JobRunRecord {
  const date = (v: unknown) => (v === null || v === undefined ? undefined : new Date(v as string));
  const counts = r.counts === null || r.counts === undefined ? undefined : typeof r.counts === 'string' ? (JSON.parse(r.counts) as Record<string, number>) : (r.counts as Record<string, number>);
  return {
    id: r.id as string,
    jobId: r.job_id as string,
    parentId: (r.parent_id as string | null) ?? undefined,
    plugin: (r.plugin as string | null) ?? undefined,
    reason: r.reason as RunReason,
    status: r.status as JobRunStatus,
    attempt: Number(r.attempt),
    startedAt: date(r.started_at)!,
    endedAt: date(r.ended_at),
    durationMs: r.duration_ms === null || r.duration_ms === undefined ? undefined : Number(r.duration_ms),
    error: (r.error as string | null) ?? undefined,
    counts,
    workerId: (r.worker_id as string | null) ?? undefined,
  };
}
