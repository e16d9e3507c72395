import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { executeRaw, type Dialect } from '@tip/core';
import type { EntityManager } from '@tip/core';
import { addressKeys } from '../indicators/addressKeys.js';
import type { IndicatorType } from '../indicators/types.js';
import { IndicatorSet } from './IndicatorSet.js';
import { sortStrings } from './sortStrings.js';
import { StatementSizer } from './StatementSizer.js';
import { Yielder } from './Yielder.js';

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

/** Rows per bulk statement on PostgreSQL: bounds the size of one parameter (a text array). */
const CHUNK = 50_000;

/** Address keys filled at once past which PostgreSQL's statistics of `bl_indicator` are refreshed. */
const ANALYZE_KEYS_AFTER = 10_000;

/** Rows per page when SQLite reads a source's open listings. */
export const SQLITE_PAGE = 5_000;

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

  /**
   * Inserts unknown indicators and opens a listing of `sourceId` for each.
   * @param y - cuts the work into slices between statements (default: a fresh {@link Yielder})
   * @param lastSeen - the new listings' own last-seen (submitted sources); null (feeds): as of the source's last success
   */
  async addListings(em: EntityManager, sourceId: string, set: IndicatorSet, now: number, y = new Yielder(), lastSeen: number | null = null): Promise<void> {
    const sizer = new StatementSizer();
    const sqlite = this.#dialect === 'sqlite';
    for await (const [type, chunk] of sortedChunks(set, sqlite ? () => sizer.size : () => CHUNK, y)) {
      if (sqlite) {
        await this.#addSqlite(em, sourceId, type, chunk, now, lastSeen, y, sizer);
      } else {
        await this.#addPostgres(em, sourceId, type, chunk, now, lastSeen);
        await y.checkpoint();
      }
    }
  }

  async #addSqlite(em: EntityManager, sourceId: string, type: IndicatorType, values: string[], now: number, lastSeen: number | null, y: Yielder, sizer: StatementSizer): Promise<void> {
    const json = JSON.stringify(values);
    let t = performance.now();
    // CROSS JOIN pins json_each as the outer loop: SQLite then probes the (type, value) index once
    // per value instead of scanning every indicator of that type per value.
    // new indicators come with their address keys (see fillAddressKeys): never pending
    const keyed = type === 'ip' || type === 'cidr';
    await executeRaw(
      em,
      keyed
        ? // one string per value, `lo + hi + value` (keys of 9 or 33 characters by family, see
          // keyedValue): cut with substr, cheaper than a JSON array per row
          `insert into bl_indicator (type, value, first_seen, addr_lo, addr_hi)
           select ?, substr(x, case when n = 0 then 2 else 2 * n + 1 end), ?, substr(x, 1, n), substr(x, n + 1, n)
           from (select j.value as x, case substr(j.value, 1, 1) when '4' then 9 when '6' then 33 else 0 end as n from json_each(?) j) where true
           on conflict (type, value) do nothing`
        : `insert into bl_indicator (type, value, first_seen, addr_lo, addr_hi)
           select ?, j.value, ?, '', '' from json_each(?) j where true
           on conflict (type, value) do nothing`,
      [type, now, keyed ? JSON.stringify(values.map(keyedValue)) : json],
    );
    const first = performance.now() - t;
    await y.checkpoint();
    t = performance.now();
    await executeRaw(
      em,
      `insert into bl_listing (source_id, indicator_id, first_seen, last_seen)
       select ?, i.id, ?, ? from json_each(?) j cross join bl_indicator i where i.type = ? and i.value = j.value`,
      [sourceId, now, lastSeen, json, type],
    );
    sizer.fit(values.length, Math.max(first, performance.now() - t));
    await y.checkpoint();
  }

  async #addPostgres(em: EntityManager, sourceId: string, type: IndicatorType, values: string[], now: number, lastSeen: number | null): Promise<void> {
    // Existing indicators are found by the join; new ones come back from RETURNING. Both CTEs read
    // the same snapshot, so a key inserted concurrently by another transaction can be missed by
    // both: the fix-up statement catches that rare case.
    const { rows } = await executeRaw<{ n: string | number }>(
      em,
      `with u as (select v, lo, hi from unnest($1::text[], $6::text[], $7::text[]) as u(v, lo, hi)),
       ins as (insert into bl_indicator (type, value, first_seen, addr_lo, addr_hi) select $2, v, $3, lo, hi from u
               on conflict (type, value) do nothing returning id),
       ids as (select id from ins union all select i.id from u join bl_indicator i on i.type = $2 and i.value = u.v),
       l as (insert into bl_listing (source_id, indicator_id, first_seen, last_seen) select $4, id, $3, $5::bigint from ids returning 1)
       select count(*) as n from l`,
      [values, type, now, sourceId, lastSeen, ...keyArrays(type, values)],
    );
    if (Number(rows[0]?.n ?? 0) !== values.length) {
      await executeRaw(
        em,
        `insert into bl_listing (source_id, indicator_id, first_seen, last_seen)
         select $3::varchar, i.id, $4::bigint, $5::bigint from unnest($1::text[]) as u(v) join bl_indicator i on i.type = $2 and i.value = u.v
         where not exists (select 1 from bl_listing l where l.source_id = $3::varchar and l.indicator_id = i.id and l.removed_at is null)`,
        [values, type, sourceId, now, lastSeen],
      );
    }
  }

  /**
   * Closes the open listings of `sourceId` for these indicators: `removedAt = now`, and `lastSeen`
   * the listing's own last-seen when it has one (a submitted source's), else `lastSeen`.
   * @param y - cuts the work into slices between statements (default: a fresh {@link Yielder})
   */
  async closeListings(em: EntityManager, sourceId: string, set: IndicatorSet, now: number, lastSeen: number, y = new Yielder()): Promise<number> {
    return this.#updateOpen(em, sourceId, set, y, {
      sqlite: ['removed_at = ?, last_seen = coalesce(last_seen, ?)', [now, lastSeen]],
      postgresql: ['removed_at = $4, last_seen = coalesce(l.last_seen, $5)', [now, lastSeen]],
    });
  }

  /**
   * Sets the last-seen of the open listings of `sourceId` for these indicators to `now` (a
   * submitted source confirmed them again); indicators it does not list are ignored.
   * @param y - cuts the work into slices between statements (default: a fresh {@link Yielder})
   */
  async touchListings(em: EntityManager, sourceId: string, set: IndicatorSet, now: number, y = new Yielder()): Promise<number> {
    return this.#updateOpen(em, sourceId, set, y, { sqlite: ['last_seen = ?', [now]], postgresql: ['last_seen = $4', [now]] });
  }

  /**
   * Updates the open listings of `sourceId` for the indicators of `set` (`assign`: the SET clause
   * and its parameters per dialect; on PostgreSQL they are numbered from `$4`).
   */
  async #updateOpen(
    em: EntityManager,
    sourceId: string,
    set: IndicatorSet,
    y: Yielder,
    assign: { sqlite: [string, unknown[]]; postgresql: [string, unknown[]] },
  ): Promise<number> {
    let changed = 0;
    const sizer = new StatementSizer();
    for await (const [type, chunk] of sortedChunks(set, this.#dialect === 'sqlite' ? () => sizer.size : () => CHUNK, y)) {
      const t = performance.now();
      const r =
        this.#dialect === 'sqlite'
          ? await executeRaw(
              em,
              // Driven from the values (CROSS JOIN fixes the order: value → indicator → its
              // listings), not from the source's open listings, which may number millions.
              `update bl_listing set ${assign.sqlite[0]}
               where id in (
                 select l.id from json_each(?) j cross join bl_indicator i cross join bl_listing l
                 where i.type = ? and i.value = j.value and l.indicator_id = i.id and l.source_id = ? and l.removed_at is null)`,
              [...assign.sqlite[1], JSON.stringify(chunk), type, sourceId],
            )
          : await executeRaw(
              em,
              `update bl_listing l set ${assign.postgresql[0]}
               from unnest($1::text[]) as u(v) join bl_indicator i on i.type = $2 and i.value = u.v
               where l.source_id = $3 and l.removed_at is null and l.indicator_id = i.id`,
              [chunk, type, sourceId, ...assign.postgresql[1]],
            );
      changed += r.affected;
      sizer.fit(chunk.length, performance.now() - t);
      await y.checkpoint();
    }
    return changed;
  }

  /**
   * Closes (`removedAt = now`) the open listings of `sourceId` last seen at or before `cutoff`: a
   * listing's own last-seen, else the source's `lastSuccessAt`, else its first-seen. Used for the
   * `ttl` of submitted sources. On SQLite the open listings are read in pages of
   * {@link SQLITE_PAGE} rows (keyset on the listing id), yielding between them.
   * @param y - cuts the work into slices (default: a fresh {@link Yielder})
   */
  async expireListings(em: EntityManager, sourceId: string, cutoff: number, lastSuccessAt: number | null, now: number, y = new Yielder()): Promise<number> {
    if (this.#dialect === 'postgresql') {
      const r = await executeRaw(
        em,
        `update bl_listing set removed_at = $1
         where source_id = $2 and removed_at is null and coalesce(last_seen, $3::bigint, first_seen) <= $4`,
        [now, sourceId, lastSuccessAt, cutoff],
      );
      return r.affected;
    }
    let closed = 0;
    for (let after = 0; ; ) {
      const { rows } = await executeRaw<{ id: number; seen: number | string }>(
        em,
        `select id, coalesce(last_seen, ?, first_seen) as seen from bl_listing
         where source_id = ? and removed_at is null and id > ? order by id limit ${SQLITE_PAGE}`,
        [lastSuccessAt, sourceId, after],
      );
      const expired = rows.filter((r) => Number(r.seen) <= cutoff).map((r) => r.id);
      if (expired.length) {
        const r = await executeRaw(em, `update bl_listing set removed_at = ? where id in (select value from json_each(?))`, [now, JSON.stringify(expired)]);
        closed += r.affected;
      }
      if (rows.length < SQLITE_PAGE) return closed;
      after = rows[rows.length - 1]!.id;
      await y.checkpoint();
    }
  }

  /**
   * Fills the address keys (`addr_lo`, `addr_hi`, see `addressKeys`) of every indicator that has
   * none yet — rows stored before migration `0005-address-keys` (ingestion inserts new ones with
   * their keys), or written by other means: ip/cidr rows get
   * their range's keys, others an empty key. Pages of ids are read through the partial "pending"
   * index, keys computed here and written back in one statement per page. On PostgreSQL a large
   * fill refreshes the table's statistics (so the planner knows few keys are missing). Returns how
   * many rows were filled.
   * @param y - cuts the work into slices (default: a fresh {@link Yielder})
   */
  async fillAddressKeys(em: EntityManager, y = new Yielder()): Promise<number> {
    const sqlite = this.#dialect === 'sqlite';
    const page = sqlite ? SQLITE_PAGE : CHUNK;
    let filled = 0;
    for (;;) {
      const { rows } = await executeRaw<{ id: number | string; type: IndicatorType; value: string }>(
        em,
        `select id, type, value from bl_indicator${sqlite ? ' indexed by bl_indicator_addr_pending_index' : ''} where addr_lo is null order by id limit ${page}`,
      );
      if (rows.length === 0) {
        if (!sqlite && filled >= ANALYZE_KEYS_AFTER) await executeRaw(em, 'analyze bl_indicator');
        return filled;
      }
      if (rows.length === 0) return filled;
      const ids: number[] = [];
      const lo: string[] = [];
      const hi: string[] = [];
      for (const r of rows) {
        // other types (and a value that is no range, never canonical) get an empty key: never in a searched range, never pending again
        const k = (r.type === 'ip' || r.type === 'cidr' ? addressKeys(r.value) : null) ?? { lo: '', hi: '' };
        ids.push(Number(r.id));
        lo.push(k.lo);
        hi.push(k.hi);
      }
      if (sqlite) {
        await executeRaw(
          em,
          `update bl_indicator set addr_lo = u.lo, addr_hi = u.hi
           from (select json_extract(value, '$[0]') as id, json_extract(value, '$[1]') as lo, json_extract(value, '$[2]') as hi from json_each(?)) as u
           where bl_indicator.id = u.id`,
          [JSON.stringify(ids.map((id, k) => [id, lo[k], hi[k]]))],
        );
      } else {
        await executeRaw(
          em,
          `update bl_indicator i set addr_lo = u.lo, addr_hi = u.hi from unnest($1::int[], $2::text[], $3::text[]) as u(id, lo, hi) where i.id = u.id`,
          [ids, lo, hi],
        );
      }
      filled += rows.length;
      await y.checkpoint();
    }
  }

  /**
   * Refreshes planner statistics after a bulk change (PostgreSQL plans the diff statements with
   * them; without, a fresh million-row table can get sequential scans).
   */
  async analyze(em: EntityManager): Promise<void> {
    if (this.#dialect === 'postgresql') return void (await executeRaw(em, 'analyze bl_listing, bl_indicator'));
    // A full ANALYZE reads every index entry synchronously (about 200 ms per million listings);
    // sampled statistics are enough here, the diff statements fix their join order with CROSS JOIN.
    await executeRaw(em, 'pragma analysis_limit = 1000');
    try {
      await executeRaw(em, 'analyze bl_listing');
    } finally {
      await executeRaw(em, 'pragma analysis_limit = 0');
    }
  }

  /**
   * Every open listing of a source (used when no snapshot exists). On SQLite it is read in pages
   * of {@link SQLITE_PAGE} rows (keyset on the listing id), yielding between them.
   * @param y - cuts the work into slices (default: a fresh {@link Yielder})
   */
  async openSet(em: EntityManager, sourceId: string, y = new Yielder()): Promise<IndicatorSet> {
    const set = new IndicatorSet();
    if (this.#dialect === 'postgresql') {
      const { rows } = await executeRaw<{ type: IndicatorType; value: string }>(
        em,
        `select i.type, i.value from bl_listing l join bl_indicator i on i.id = l.indicator_id
         where l.source_id = $1 and l.removed_at is null`,
        [sourceId],
      );
      for (const r of rows) {
        set.add(r.type, r.value);
        if (y.due()) await y.pause();
      }
      return set;
    }
    // The (source_id, removed_at) index ends with the rowid, so each page is an index range.
    for (let after = 0; ; ) {
      const { rows } = await executeRaw<{ id: number; type: IndicatorType; value: string }>(
        em,
        `select l.id, i.type, i.value from bl_listing l join bl_indicator i on i.id = l.indicator_id
         where l.source_id = ? and l.removed_at is null and l.id > ? order by l.id limit ${SQLITE_PAGE}`,
        [sourceId, after],
      );
      for (const r of rows) set.add(r.type, r.value);
      if (rows.length < SQLITE_PAGE) return set;
      after = rows[rows.length - 1]!.id;
      await y.checkpoint();
    }
  }

  /**
   * The source's last snapshot: its content hash and version, and a loader for its indicators
   * (`load(y)` decompresses on the libuv thread pool and parses in slices cut by `y`).
   */
  async snapshot(em: EntityManager, sourceId: string): Promise<{ sha256: string; count: number; updatedAt: number; deltaEntries: number; load(y?: Yielder): Promise<IndicatorSet> } | undefined> {
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
      load: async (y = new Yielder()) => {
        const base = (await executeRaw<{ data: Buffer | Uint8Array }>(em, `select data from bl_snapshot where source_id = ${this.#ph(1)}`, [sourceId])).rows[0]!.data;
        const set = await IndicatorSet.parseAsync(await unzip(base), y);
        const deltas = await executeRaw<{ added: Buffer | Uint8Array; removed: Buffer | Uint8Array }>(
          em,
          `select added, removed from bl_snapshot_delta where source_id = ${this.#ph(1)} order by id`,
          [sourceId],
        );
        for (const d of deltas.rows) {
          await set.mergeAsync(await IndicatorSet.parseAsync(await unzip(d.removed), y), y, true);
          await set.mergeAsync(await IndicatorSet.parseAsync(await unzip(d.added), y), y);
        }
        return set;
      },
    };
  }

  /**
   * Stores a new base snapshot of a source (compressed), dropping its deltas.
   * @param y - cuts the serialisation into slices (compression runs on the libuv thread pool)
   */
  async saveSnapshot(em: EntityManager, sourceId: string, set: IndicatorSet, sha256: string, now: number, y = new Yielder()): Promise<void> {
    const data = await zip(set, y);
    const ph = [1, 2, 3, 4, 5].map((n) => this.#ph(n)).join(', ');
    await executeRaw(
      em,
      `insert into bl_snapshot (source_id, count, sha256, data, updated_at, delta_entries) values (${ph}, 0)
       on conflict (source_id) do update set count = excluded.count, sha256 = excluded.sha256, data = excluded.data,
         updated_at = excluded.updated_at, delta_entries = 0`,
      [sourceId, set.size, sha256, data, now],
    );
    await executeRaw(em, `delete from bl_snapshot_delta where source_id = ${this.#ph(1)}`, [sourceId]);
  }

  /**
   * Appends a run's changes to the source's snapshot instead of rewriting it.
   * @param y - cuts the serialisation into slices (compression runs on the libuv thread pool)
   */
  async appendDelta(em: EntityManager, sourceId: string, added: IndicatorSet, removed: IndicatorSet, sha256: string, count: number, now: number, y = new Yielder()): Promise<void> {
    const [a, r] = [await zip(added, y), await zip(removed, y)];
    await executeRaw(
      em,
      `insert into bl_snapshot_delta (source_id, added, removed, created_at) values (${[1, 2, 3, 4].map((n) => this.#ph(n)).join(', ')})`,
      [sourceId, a, r, now],
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

/**
 * The values of `set`, type by type, sorted (UTF-16 code units, in slices cut by `y`) and cut
 * into chunks of `size()` values (asked again for each chunk).
 *
 * Why sorted: in feed order (random) each value of a statement probes or inserts into a random
 * page of the (type, value) index — and new indicators into a random page of the (addr_lo, id)
 * index —, and SQLite's page cache holds a small part of a million-entry index, so most of them
 * miss it; in order the pages are visited in runs (and the indexes grow in runs: IPv4 addresses
 * with one first octet are neighbours in both). The first ingestion of 1M IPv4 indicators on
 * SQLite takes less than half the time (docs/benchmarks.md). On PostgreSQL it is also the lock
 * order of the unique index, the same in concurrent ingestions.
 */
async function* sortedChunks(set: IndicatorSet, size: () => number, y: Yielder): AsyncGenerator<[IndicatorType, string[]]> {
  for (const type of set.types()) {
    const values: string[] = [];
    for (const v of set.values(type)) {
      values.push(v);
      if (y.due()) await y.pause();
    }
    const sorted = await sortStrings(values, y);
    for (let i = 0; i < sorted.length; ) {
      const chunk = sorted.slice(i, i + Math.max(1, size())); // at least one value: always progresses
      i += chunk.length;
      yield [type, chunk];
    }
  }
}

/** The compressed text form of a set: serialised in slices, gzipped on the libuv thread pool. */
async function zip(set: IndicatorSet, y: Yielder): Promise<Buffer> {
  return gzip(await set.serializeAsync(y), { level: 1 });
}

/** The text of a compressed set (gunzipped on the libuv thread pool). */
async function unzip(data: Buffer | Uint8Array): Promise<string> {
  return (await gunzip(Buffer.from(data))).toString('utf8');
}

/**
 * An ip/cidr value with its keys in front, `lo + hi + value` (each key 9 characters for IPv4, 33
 * for IPv6, starting with the family digit), or `-` + value for a value that is no range (empty keys).
 */
function keyedValue(value: string): string {
  const k = addressKeys(value);
  return k ? k.lo + k.hi + value : `-${value}`;
}

/** The `addr_lo` and `addr_hi` arrays of new indicators of one type (empty keys for non-addresses). */
function keyArrays(type: IndicatorType, values: readonly string[]): [string[], string[]] {
  const lo: string[] = new Array<string>(values.length);
  const hi: string[] = new Array<string>(values.length);
  const keyed = type === 'ip' || type === 'cidr';
  for (let i = 0; i < values.length; i++) {
    const k = keyed ? addressKeys(values[i]!) : null;
    lo[i] = k ? k.lo : '';
    hi[i] = k ? k.hi : '';
  }
  return [lo, hi];
}
