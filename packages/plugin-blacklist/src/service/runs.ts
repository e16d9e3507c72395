import { executeRaw, type Database } from '@tip/core';

/** The last recorded run of a source (a row of `bl_source_run`). */
export interface SourceRunSummary {
  /** `succeeded`, `unchanged`, `failed` or `rejected`. */
  status: string;
  /** When it started (epoch ms). */
  startedAt: number;
  /** When it ended (epoch ms). */
  endedAt: number;
  /** HTTP status of the fetch, when there was one. */
  httpStatus: number | null;
  /** Bytes received. */
  bytes: number;
  /** Indicators in the snapshot. */
  records: number;
  /** Listings added. */
  added: number;
  /** Listings removed. */
  removed: number;
  /** Invalid lines or values. */
  invalid: number;
  /** Why it failed (code and message), or null. */
  error: string | null;
}

/** The last run of every source that has one, by source id. */
export async function lastRuns(db: Database): Promise<Map<string, SourceRunSummary>> {
  const { rows } = await executeRaw<Record<string, unknown>>(
    db.em(),
    `select r.* from bl_source_run r join (select source_id, max(id) as id from bl_source_run group by source_id) last on last.id = r.id`,
  );
  return new Map(
    rows.map((r) => [
      String(r.source_id),
      {
        status: String(r.status),
        startedAt: Number(r.started_at),
        endedAt: Number(r.ended_at),
        httpStatus: r.http_status === null ? null : Number(r.http_status),
        bytes: Number(r.bytes),
        records: Number(r.records),
        added: Number(r.added),
        removed: Number(r.removed),
        invalid: Number(r.invalid),
        error: r.error === null ? null : String(r.error),
      },
    ]),
  );
}
