import { gunzipSync, gzipSync } from 'node:zlib';
import { executeRaw, type Dialect } from '@tip/core';
import type { EntityManager } from '@tip/core';
import type { IndicatorType } from '../indicators/types.js';
import { IndicatorSet } from './IndicatorSet.js';

/** Rows per bulk statement: bounds the size of one parameter (JSON text or array). */
const CHUNK = 50_000;

/**
 * Set-based SQL for the hot path of ingestion, written once per dialect. Bulk values travel as
 * one bound parameter per statement — a JSON array read with `json_each` on SQLite, a text array
 * read with `unnest` on PostgreSQL — so a million rows cost a few dozen statements.
 */
export class ListingStore {
  readonly #dialect: Dialect;

  constructor(dialect: Dialect) {
    this.#dialect = dialect;
  }

  /** Inserts unknown indicators and opens a listing of `sourceId` for each. */
  async addListings(em: EntityManager, sourceId: string, set: IndicatorSet, now: number): Promise<void> {
    for (const [type, values] of set.groups()) {
      if (this.#dialect === 'postgresql') values.sort(); // same lock order in concurrent ingestions
      for (let i = 0; i < values.length; i += CHUNK) {
        const chunk = values.slice(i, i + CHUNK);
        if (this.#dialect === 'sqlite') await this.#addSqlite(em, sourceId, type, chunk, now);
        else await this.#addPostgres(em, sourceId, type, chunk, now);
      }
    }
  }

  async #addSqlite(em: EntityManager, sourceId: string, type: IndicatorType, values: string[], now: number): Promise<void> {
    const json = JSON.stringify(values);
    // CROSS JOIN pins json_each as the outer loop: SQLite then probes the (type, value) index once
    // per value instead of scanning every indicator of that type per value.
    await executeRaw(
      em,
      `insert into bl_indicator (type, value, first_seen)
       select ?, j.value, ? from json_each(?) j where true
       on conflict (type, value) do nothing`,
      [type, now, json],
    );
    await executeRaw(
      em,
      `insert into bl_listing (source_id, indicator_id, first_seen)
       select ?, i.id, ? from json_each(?) j cross join bl_indicator i where i.type = ? and i.value = j.value`,
      [sourceId, now, json, type],
    );
  }

  async #addPostgres(em: EntityManager, sourceId: string, type: IndicatorType, values: string[], now: number): Promise<void> {
    // Existing indicators are found by the join; new ones come back from RETURNING. Both CTEs read
    // the same snapshot, so a key inserted concurrently by another transaction can be missed by
    // both: the fix-up statement catches that rare case.
    const { rows } = await executeRaw<{ n: string | number }>(
      em,
      `with u as (select v from unnest($1::text[]) as u(v)),
       ins as (insert into bl_indicator (type, value, first_seen) select $2, v, $3 from u
               on conflict (type, value) do nothing returning id),
       ids as (select id from ins union all select i.id from u join bl_indicator i on i.type = $2 and i.value = u.v),
       l as (insert into bl_listing (source_id, indicator_id, first_seen) select $4, id, $3 from ids returning 1)
       select count(*) as n from l`,
      [values, type, now, sourceId],
    );
    if (Number(rows[0]?.n ?? 0) !== values.length) {
      await executeRaw(
        em,
        `insert into bl_listing (source_id, indicator_id, first_seen)
         select $3::varchar, i.id, $4::bigint from unnest($1::text[]) as u(v) join bl_indicator i on i.type = $2 and i.value = u.v
         where not exists (select 1 from bl_listing l where l.source_id = $3::varchar and l.indicator_id = i.id and l.removed_at is null)`,
        [values, type, sourceId, now],
      );
    }
  }

  /** Closes the open listings of `sourceId` for these indicators: `removedAt = now`, `lastSeen = lastSeen`. */
  async closeListings(em: EntityManager, sourceId: string, set: IndicatorSet, now: number, lastSeen: number): Promise<number> {
    let closed = 0;
    for (const [type, values] of set.groups()) {
      for (let i = 0; i < values.length; i += CHUNK) {
        const chunk = values.slice(i, i + CHUNK);
        const r =
          this.#dialect === 'sqlite'
            ? await executeRaw(
                em,
                // Driven from the values (CROSS JOIN fixes the order: value → indicator → its
                // listings), not from the source's open listings, which may number millions.
                `update bl_listing set removed_at = ?, last_seen = ?
                 where id in (
                   select l.id from json_each(?) j cross join bl_indicator i cross join bl_listing l
                   where i.type = ? and i.value = j.value and l.indicator_id = i.id and l.source_id = ? and l.removed_at is null)`,
                [now, lastSeen, JSON.stringify(chunk), type, sourceId],
              )
            : await executeRaw(
                em,
                `update bl_listing l set removed_at = $3, last_seen = $4
                 from unnest($1::text[]) as u(v) join bl_indicator i on i.type = $2 and i.value = u.v
                 where l.source_id = $5 and l.removed_at is null and l.indicator_id = i.id`,
                [chunk, type, now, lastSeen, sourceId],
              );
        closed += r.affected;
      }
    }
    return closed;
  }

  /**
   * Refreshes planner statistics after a bulk change (PostgreSQL plans the diff statements with
   * them; without, a fresh million-row table can get sequential scans).
   */
  async analyze(em: EntityManager): Promise<void> {
    await executeRaw(em, this.#dialect === 'sqlite' ? 'analyze bl_listing' : 'analyze bl_listing, bl_indicator');
  }

  /** Every open listing of a source (used when no snapshot exists). */
  async openSet(em: EntityManager, sourceId: string): Promise<IndicatorSet> {
    const { rows } = await executeRaw<{ type: IndicatorType; value: string }>(
      em,
      `select i.type, i.value from bl_listing l join bl_indicator i on i.id = l.indicator_id
       where l.source_id = ${this.#ph(1)} and l.removed_at is null`,
      [sourceId],
    );
    const set = new IndicatorSet();
    for (const r of rows) set.add(r.type, r.value);
    return set;
  }

  /** The source's last snapshot: its content hash and version, and a loader for its indicators. */
  async snapshot(em: EntityManager, sourceId: string): Promise<{ sha256: string; count: number; updatedAt: number; deltaEntries: number; load(): Promise<IndicatorSet> } | undefined> {
    const { rows } = await executeRaw<{ sha256: string; count: number; updated_at: number | string; delta_entries: number }>(
      em,
      `select sha256, count, updated_at, delta_entries from bl_snapshot where source_id = ${this.#ph(1)}`,
      [sourceId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      sha256: row.sha256,
      count: Number(row.count),
      updatedAt: Number(row.updated_at),
      deltaEntries: Number(row.delta_entries),
      load: async () => {
        const base = (await executeRaw<{ data: Buffer | Uint8Array }>(em, `select data from bl_snapshot where source_id = ${this.#ph(1)}`, [sourceId])).rows[0]!.data;
        const set = IndicatorSet.parse(unzip(base));
        const deltas = await executeRaw<{ added: Buffer | Uint8Array; removed: Buffer | Uint8Array }>(
          em,
          `select added, removed from bl_snapshot_delta where source_id = ${this.#ph(1)} order by id`,
          [sourceId],
        );
        for (const d of deltas.rows) {
          for (const i of IndicatorSet.parse(unzip(d.removed))) set.delete(i.type, i.value);
          for (const i of IndicatorSet.parse(unzip(d.added))) set.add(i.type, i.value);
        }
        return set;
      },
    };
  }

  /** Stores a new base snapshot of a source (compressed), dropping its deltas. */
  async saveSnapshot(em: EntityManager, sourceId: string, set: IndicatorSet, sha256: string, now: number): Promise<void> {
    const ph = [1, 2, 3, 4, 5].map((n) => this.#ph(n)).join(', ');
    await executeRaw(
      em,
      `insert into bl_snapshot (source_id, count, sha256, data, updated_at, delta_entries) values (${ph}, 0)
       on conflict (source_id) do update set count = excluded.count, sha256 = excluded.sha256, data = excluded.data,
         updated_at = excluded.updated_at, delta_entries = 0`,
      [sourceId, set.size, sha256, zip(set), now],
    );
    await executeRaw(em, `delete from bl_snapshot_delta where source_id = ${this.#ph(1)}`, [sourceId]);
  }

  /** Appends a run's changes to the source's snapshot instead of rewriting it. */
  async appendDelta(em: EntityManager, sourceId: string, added: IndicatorSet, removed: IndicatorSet, sha256: string, count: number, now: number): Promise<void> {
    await executeRaw(
      em,
      `insert into bl_snapshot_delta (source_id, added, removed, created_at) values (${[1, 2, 3, 4].map((n) => this.#ph(n)).join(', ')})`,
      [sourceId, zip(added), zip(removed), now],
    );
    await executeRaw(
      em,
      `update bl_snapshot set sha256 = ${this.#ph(1)}, count = ${this.#ph(2)}, updated_at = ${this.#ph(3)}, delta_entries = delta_entries + ${this.#ph(4)}
       where source_id = ${this.#ph(5)}`,
      [sha256, count, now, added.size + removed.size, sourceId],
    );
  }

  /** Deletes a source's snapshot (after a delta made it stale). */
  async dropSnapshot(em: EntityManager, sourceId: string): Promise<void> {
    await executeRaw(em, `delete from bl_snapshot_delta where source_id = ${this.#ph(1)}`, [sourceId]);
    await executeRaw(em, `delete from bl_snapshot where source_id = ${this.#ph(1)}`, [sourceId]);
  }

  #ph(n: number): string {
    return this.#dialect === 'sqlite' ? '?' : `$${n}`;
  }
}

function zip(set: IndicatorSet): Buffer {
  return gzipSync(set.serialize(), { level: 1 });
}

function unzip(data: Buffer | Uint8Array): string {
  return gunzipSync(Buffer.from(data)).toString('utf8');
}
