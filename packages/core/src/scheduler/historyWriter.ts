import type { Database } from '../database/Database.js';
import { JobRunEntity, JobStateEntity } from '../database/entities.js';
import type { JobPlanRow } from './RunHistory.js';
import type { JobRunRecord } from './types.js';

/**
 * One flush of {@link RunHistory}: finished runs to insert, runs to upsert (written `running`
 * when they started), and job plans to upsert.
 * @internal
 */
export interface HistoryBatch {
  /** Finished runs never written before (plain inserts). */
  readonly runs: readonly JobRunRecord[];
  /** Runs that may already have a row (a top-level run's `running` row): upserted by id. */
  readonly upserts: readonly JobRunRecord[];
  /** Job plans, upserted by job id. */
  readonly plans: readonly JobPlanRow[];
}

/**
 * Writes one batch in one transaction; throws (writing nothing) when the database fails.
 * @internal
 */
export async function writeHistoryBatch(db: Database, batch: HistoryBatch): Promise<void> {
  await db.em().transactional(async (em) => {
    for (let i = 0; i < batch.runs.length; i += 500) {
      await em.insertMany(JobRunEntity, batch.runs.slice(i, i + 500).map(toRow));
    }
    for (const r of batch.upserts) await em.upsert(JobRunEntity, toRow(r));
    const now = new Date();
    for (const p of batch.plans) {
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
