import { CompiledQuery } from 'kysely';
import type { EntityManager } from '@mikro-orm/sql';

/**
 * Runs one SQL statement with **driver-bound parameters** on the given EntityManager (inside its
 * transaction when it is a transactional fork). Use the dialect's own placeholders: `?` on SQLite,
 * `$1, $2…` on PostgreSQL. Unlike `em.execute()`, parameters are not inlined into the SQL text,
 * so large arrays (PostgreSQL `unnest($1::text[])`) and large JSON strings (SQLite `json_each(?)`)
 * are passed efficiently — this is the path for bulk ingestion.
 *
 * @returns the result rows (empty for statements without RETURNING), and the affected row count
 */
export async function executeRaw<R = Record<string, unknown>>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[] = [],
): Promise<{
  /** Rows the statement returned (empty without RETURNING / for non-queries). */
  rows: R[];
  /** Number of rows the statement inserted, updated or deleted. */
  affected: number;
}> {
  const res = await em.getKysely().executeQuery<R>(CompiledQuery.raw(sql, [...params]));
  return { rows: res.rows, affected: Number(res.numAffectedRows ?? 0n) };
}
