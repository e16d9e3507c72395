import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { executeRaw, type Dialect } from '@tip/core';
import type { EntityManager } from '@mikro-orm/sql';
import type { IndicatorType } from '../indicators/types.js';

/** `type \t value`: the key of an indicator in diffs and snapshots (canonical values hold no tabs). */
export type IndicatorKey = string;

/** Builds an {@link IndicatorKey}. */
export const keyOf = (type: IndicatorType, value: string): IndicatorKey => `${type}\t${value}`;

/** Rows per bulk statement: bounds the size of one parameter (JSON text or array). */
const CHUNK = 50_000;

/**
 * Set-based SQL for the hot path of ingestion, written once per dialect. Bulk values travel as
 * one bound parameter per statement — a JSON array read with `json_each` on SQLite, two text
 * arrays read with `unnest` on PostgreSQL — so a million rows cost a few dozen statements.
 */
export class ListingStore {
  readonly #dialect: Dialect;

  constructor(dialect: Dialect) {
    this.#dialect = dialect;
  }

  /** Inserts unknown indicators and opens a listing of `sourceId` for each key. */
  async addListings(em: EntityManager, sourceId: string, keys: readonly IndicatorKey[], now: number): Promise<void> {
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      if (this.#dialect === 'sqlite') {
        const json = JSON.stringify(chunk);
        await executeRaw(
          em,
          `insert into bl_indicator (type, value, first_seen)
           select substr(j.value, 1, instr(j.value, char(9)) - 1), substr(j.value, instr(j.value, char(9)) + 1), ?
           from json_each(?) j where true
           on conflict (type, value) do nothing`,
          [now, json],
        );
        await executeRaw(
          em,
          `insert into bl_listing (source_id, indicator_id, first_seen)
           select ?, i.id, ? from json_each(?) j
           join bl_indicator i on i.type = substr(j.value, 1, instr(j.value, char(9)) - 1)
                              and i.value = substr(j.value, instr(j.value, char(9)) + 1)`,
          [sourceId, now, json],
        );
      } else {
        const [types, values] = split(chunk);
        await executeRaw(
          em,
          `insert into bl_indicator (type, value, first_seen)
           select u.t, u.v, $3 from unnest($1::text[], $2::text[]) as u(t, v)
           on conflict (type, value) do nothing`,
          [types, values, now],
        );
        await executeRaw(
          em,
          `insert into bl_listing (source_id, indicator_id, first_seen)
           select $3, i.id, $4 from unnest($1::text[], $2::text[]) as u(t, v)
           join bl_indicator i on i.type = u.t and i.value = u.v`,
          [types, values, sourceId, now],
        );
      }
    }
  }

  /** Closes the open listings of `sourceId` for these keys: `removedAt = now`, `lastSeen = lastSeen`. */
  async closeListings(em: EntityManager, sourceId: string, keys: readonly IndicatorKey[], now: number, lastSeen: number): Promise<number> {
    let closed = 0;
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      if (this.#dialect === 'sqlite') {
        const r = await executeRaw(
          em,
          `update bl_listing set removed_at = ?, last_seen = ?
           where source_id = ? and removed_at is null and indicator_id in (
             select i.id from json_each(?) j
             join bl_indicator i on i.type = substr(j.value, 1, instr(j.value, char(9)) - 1)
                                and i.value = substr(j.value, instr(j.value, char(9)) + 1))`,
          [now, lastSeen, sourceId, JSON.stringify(chunk)],
        );
        closed += r.affected;
      } else {
        const [types, values] = split(chunk);
        const r = await executeRaw(
          em,
          `update bl_listing l set removed_at = $3, last_seen = $4
           from unnest($1::text[], $2::text[]) as u(t, v)
           join bl_indicator i on i.type = u.t and i.value = u.v
           where l.source_id = $5 and l.removed_at is null and l.indicator_id = i.id`,
          [types, values, now, lastSeen, sourceId],
        );
        closed += r.affected;
      }
    }
    return closed;
  }

  /** Keys of every open listing of a source, sorted (used when no snapshot exists). */
  async openKeys(em: EntityManager, sourceId: string): Promise<IndicatorKey[]> {
    const ph = this.#dialect === 'sqlite' ? '?' : '$1';
    const { rows } = await executeRaw<{ type: string; value: string }>(
      em,
      `select i.type, i.value from bl_listing l join bl_indicator i on i.id = l.indicator_id
       where l.source_id = ${ph} and l.removed_at is null`,
      [sourceId],
    );
    return rows.map((r) => `${r.type}\t${r.value}`).sort();
  }

  /** The source's last snapshot: its hash, and a loader for its keys. */
  async snapshot(em: EntityManager, sourceId: string): Promise<{ sha256: string; count: number; keys(): IndicatorKey[] } | undefined> {
    const ph = this.#dialect === 'sqlite' ? '?' : '$1';
    const { rows } = await executeRaw<{ sha256: string; count: number; data: Buffer | Uint8Array }>(
      em,
      `select sha256, count, data from bl_snapshot where source_id = ${ph}`,
      [sourceId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      sha256: row.sha256,
      count: Number(row.count),
      keys: () => {
        const text = gunzipSync(Buffer.from(row.data)).toString('utf8');
        return text.length === 0 ? [] : text.split('\n');
      },
    };
  }

  /** Stores the snapshot of a source (sorted keys), replacing the previous one. */
  async saveSnapshot(em: EntityManager, sourceId: string, sortedKeys: readonly IndicatorKey[], sha256: string, now: number): Promise<void> {
    const data = gzipSync(sortedKeys.join('\n'), { level: 1 });
    if (this.#dialect === 'sqlite') {
      await executeRaw(
        em,
        `insert into bl_snapshot (source_id, count, sha256, data, updated_at) values (?, ?, ?, ?, ?)
         on conflict (source_id) do update set count = excluded.count, sha256 = excluded.sha256, data = excluded.data, updated_at = excluded.updated_at`,
        [sourceId, sortedKeys.length, sha256, data, now],
      );
    } else {
      await executeRaw(
        em,
        `insert into bl_snapshot (source_id, count, sha256, data, updated_at) values ($1, $2, $3, $4, $5)
         on conflict (source_id) do update set count = excluded.count, sha256 = excluded.sha256, data = excluded.data, updated_at = excluded.updated_at`,
        [sourceId, sortedKeys.length, sha256, data, now],
      );
    }
  }
}

/** SHA-256 of sorted keys: equal hashes mean an identical snapshot. */
export function snapshotHash(sortedKeys: readonly IndicatorKey[]): string {
  const h = createHash('sha256');
  for (const k of sortedKeys) h.update(k).update('\n');
  return h.digest('hex');
}

/** Set difference of two sorted, de-duplicated key lists in one merge pass. */
export function diffSorted(previous: readonly IndicatorKey[], next: readonly IndicatorKey[]): { added: IndicatorKey[]; removed: IndicatorKey[]; unchanged: number } {
  const added: IndicatorKey[] = [];
  const removed: IndicatorKey[] = [];
  let unchanged = 0;
  let i = 0;
  let j = 0;
  while (i < previous.length && j < next.length) {
    const a = previous[i]!;
    const b = next[j]!;
    if (a === b) {
      unchanged++;
      i++;
      j++;
    } else if (a < b) {
      removed.push(a);
      i++;
    } else {
      added.push(b);
      j++;
    }
  }
  while (i < previous.length) removed.push(previous[i++]!);
  while (j < next.length) added.push(next[j++]!);
  return { added, removed, unchanged };
}

function split(keys: readonly IndicatorKey[]): [string[], string[]] {
  const types: string[] = new Array(keys.length);
  const values: string[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const tab = k.indexOf('\t');
    types[i] = k.slice(0, tab);
    values[i] = k.slice(tab + 1);
  }
  return [types, values];
}
