import type { Database } from '../database/Database.js';
import type { Dialect } from '../database/migrations.js';
import { executeRaw } from '../database/raw.js';
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
  /** The owner written for runs that do not name their worker. */
  readonly workerId?: string;
}

/**
 * A run's values in `tip_job_run` column order (`id, job_id, parent_id, plugin, reason, status,
 * attempt, started_at, ended_at, duration_ms, error, counts, worker_id`): the error cut to 4000
 * characters, timestamps through `ts`, the owner defaulting to `workerId`.
 * @internal
 */
export function runValues(r: JobRunRecord, ts: (d: Date | undefined) => number | string | null, workerId?: string): unknown[] {
  return [
    r.id,
    r.jobId,
    r.parentId ?? null,
    r.plugin ?? null,
    r.reason,
    r.status,
    r.attempt,
    ts(r.startedAt),
    ts(r.endedAt),
    r.durationMs ?? null,
    r.error ? r.error.slice(0, 4000) : null,
    r.counts ?? null,
    r.workerId ?? workerId ?? null,
  ];
}

/** Rows per statement: each statement binds one JSON array of rows. */
const ROWS_PER_STATEMENT = 5000;

const RUN_COLUMNS = ['id', 'job_id', 'parent_id', 'plugin', 'reason', 'status', 'attempt', 'started_at', 'ended_at', 'duration_ms', 'error', 'counts', 'worker_id'] as const;
const PLAN_COLUMNS = ['job_id', 'last_run_id', 'last_status', 'last_started_at', 'last_ended_at', 'next_run_at', 'updated_at'] as const;
/** PostgreSQL casts of each column read from a JSON array element (`v->>i`). */
const RUN_PG = ['', '', '', '', '', '', '::int', '::timestamptz', '::timestamptz', '::int', '', 'json', ''];
const PLAN_PG = ['', '', '', '::timestamptz', '::timestamptz', '::timestamptz', '::timestamptz'];

/**
 * Writes one batch in one transaction; throws (writing nothing) when the database fails.
 *
 * Rows go in as one JSON array per statement (`json_each(?)` on SQLite, `jsonb_array_elements($1)`
 * on PostgreSQL) through driver-bound parameters: one short statement per 5000 rows instead of an
 * ORM insert (or a prepared statement) per row.
 * @internal
 */
export async function writeHistoryBatch(db: Database, batch: HistoryBatch): Promise<void> {
  const dialect = db.dialect;
  const ts: (d: Date | undefined) => number | string | null =
    dialect === 'sqlite' ? (d) => (d ? d.getTime() : null) : (d) => (d ? d.toISOString() : null);
  const runRow = (r: JobRunRecord): unknown[] => runValues(r, ts, batch.workerId);
  const now = new Date();
  const planRow = (p: JobPlanRow): unknown[] => [p.jobId, p.lastRunId ?? null, p.lastStatus ?? null, ts(p.lastStartedAt), ts(p.lastEndedAt), ts(p.nextRunAt), ts(now)];
  const insertRuns = insertSql(dialect, 'tip_job_run', RUN_COLUMNS, RUN_PG);
  const upsertRuns = insertRuns + upsertClause(RUN_COLUMNS);
  const upsertPlans = insertSql(dialect, 'tip_job_state', PLAN_COLUMNS, PLAN_PG) + upsertClause(PLAN_COLUMNS);
  await db.em().transactional(async (em) => {
    for (let i = 0; i < batch.runs.length; i += ROWS_PER_STATEMENT) {
      await executeRaw(em, insertRuns, [JSON.stringify(batch.runs.slice(i, i + ROWS_PER_STATEMENT).map(runRow))]);
    }
    if (batch.upserts.length > 0) await executeRaw(em, upsertRuns, [JSON.stringify(batch.upserts.map(runRow))]);
    if (batch.plans.length > 0) await executeRaw(em, upsertPlans, [JSON.stringify(batch.plans.map(planRow))]);
  });
}

/** `insert into table (cols) select … from <the JSON array of rows bound as the only parameter>`. */
function insertSql(dialect: Dialect, table: string, columns: readonly string[], pgCasts: readonly string[]): string {
  if (dialect === 'sqlite') {
    // `->>` yields SQL values (text, integer, NULL; an object as its JSON text).
    return `insert into ${table} (${columns.join(', ')}) select ${columns.map((_, i) => `value ->> ${i}`).join(', ')} from json_each(?) where true`;
  }
  const values = pgCasts.map((cast, i) => (cast === 'json' ? `nullif(v -> ${i}, 'null'::jsonb)` : `(v ->> ${i})${cast}`));
  return `insert into ${table} (${columns.join(', ')}) select ${values.join(', ')} from jsonb_array_elements($1::jsonb) as v`;
}

/** `on conflict (key) do update set col = excluded.col …` for every column but the key. */
function upsertClause(columns: readonly string[]): string {
  const [key, ...rest] = columns;
  return ` on conflict (${key}) do update set ${rest.map((c) => `${c} = excluded.${c}`).join(', ')}`;
}
