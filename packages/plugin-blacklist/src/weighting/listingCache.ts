import { executeRaw, type Database } from '@tip/core';
import type { Allowlist } from '../allowlists/allowlist.js';
import type { IpRange } from '../indicators/ip.js';
import type { IndicatorType } from '../indicators/types.js';
import { runSliced, runToEnd, Yielder } from '../ingest/Yielder.js';
import { F64List } from './intervals.js';
import { stableKeyOrder } from '../util/radix.js';
import { parseRecord, type ListingTable } from './listingTable.js';

/** Per source, what the weights fingerprint aggregates over `bl_listing` (all rows up to the cache's highest id). @internal */
export interface SourceListingStats {
  /** Listing rows. */
  n: number;
  /** Highest listing id. */
  maxId: number;
  /** Closed rows (removed_at set). */
  closed: number;
  /** Latest removed_at, null when none is closed. */
  lastRemoved: number | null;
}

/** Spare room of the columns after a full load (a share of the rows): deltas fill it without new arrays. */
const SPARE = 0.25;

/** Rows a delta read found missing in its id range (rolled back, or not yet committed): re-read this many steps. */
const GAP_STEPS = 16;
/** More missing ids than this: reload in full instead. */
const GAP_MAX = 4096;

/** A listing row as read from the database. */
interface Row {
  id: number | string;
  source_id: string;
  indicator_id: number | string;
  type: IndicatorType;
  value: string;
  first_seen: number | string;
  removed_at: number | string | null;
}

/** The columns, sorted by (key, listing id): rows [0, L) (the arrays may be longer: spare room). */
interface Columns {
  L: number;
  key: Float64Array;
  id: Float64Array;
  src: Int32Array;
  ind: Int32Array;
  indicators: number;
  first: Float64Array;
  removed: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  allowed: Uint8Array;
}

interface State extends Columns {
  db: Database;
  allowKey: string;
  windowMs: number;
  /** Rows closed before this are dropped (they are inert for any window starting at or after it). */
  from: number;
  /** Every row with id ≤ maxId is known (but for `gaps`). */
  maxId: number;
  /** When the last delta was read (the `now` of that step). */
  readAt: number;
  migrations: string;
  sources: string[];
  sourceIndex: Map<string, number>;
  stats: Map<string, SourceListingStats>;
  /** IPv6 ranges by listing id. */
  v6: Map<number, IpRange>;
  /** Ids missing from a delta read's range → steps left to look for them again. */
  gaps: Map<number, number>;
}

/** What {@link ListingCache.refresh} did. @internal */
export interface CacheRefresh {
  /** 'cold': loaded in full; 'delta': applied a delta; 'unchanged': no row changed since. */
  mode: 'cold' | 'delta' | 'unchanged';
  /** Rows read from the database by this refresh. */
  read: number;
  /** Why a full load happened (absent for a delta). */
  reason?: string;
}

/**
 * The listings the weights step last loaded, per app (held by the `BlacklistService`, never in a
 * module global), in typed columns sorted by (indicator key, listing id): per row the listing id,
 * source, indicator key and dense id, first seen, removed at, the IPv4 range and the allow-list
 * flag — 57 bytes per row, no strings. The next step reads only the delta: rows with an id above
 * the last highest id (up to the highest id at the start of the read: later inserts wait for the
 * next step), and rows closed since the last read (`removed_at` at or after its time, by the
 * `(source_id, removed_at)` index). Each delta is verified against the database: per source the
 * number of closed rows up to the known highest id must equal what the cache knows (closures only
 * ever go from open to closed), ids missing from a read range are looked for again, and a changed
 * migration state, allow-list or longer window, or a clock going back, cause a full reload. Rows
 * closed before the window are dropped when the next delta is merged.
 * @internal
 */
export class ListingCache {
  #s: State | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Runs `fn` after every earlier call has settled: a step refreshes the cache and computes over
   * its columns (which a concurrent refresh would move), so the steps of one app run one at a time.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Drops everything (the next refresh loads in full). */
  clear(): void {
    this.#s = null;
  }

  /** Rows held (0 when cold). */
  get rows(): number {
    return this.#s?.L ?? 0;
  }

  /** Bytes held by the columns (plus an estimate of 64 bytes per IPv6 range and per gap). */
  get bytes(): number {
    const s = this.#s;
    if (!s) return 0;
    const cols = [s.key, s.id, s.src, s.ind, s.first, s.removed, s.lo, s.hi, s.allowed];
    return cols.reduce((n, c) => n + c.byteLength, 0) + 64 * (s.v6.size + s.gaps.size);
  }

  /** The per-source listing aggregates (count, highest id, closed, latest removal) as the database has them now. */
  get stats(): ReadonlyMap<string, SourceListingStats> {
    return this.#s?.stats ?? new Map();
  }

  /**
   * Brings the cache up to date with the database for a step at `now` over `windowMs`: a delta
   * when it is warm and still valid, else a full load (rows open, or closed at or after
   * `now − windowMs`).
   */
  async refresh(db: Database, now: number, windowMs: number, allowlist: Allowlist | undefined, pageSize: number): Promise<CacheRefresh> {
    const from = now - windowMs;
    const allowKey = allowlistKey(allowlist);
    const migrations = await migrationState(db);
    const s = this.#s;
    let reason: string | undefined;
    if (!s) reason = 'cold';
    else if (s.db !== db) reason = 'another database';
    else if (s.migrations !== migrations) reason = 'migration state changed';
    else if (s.allowKey !== allowKey) reason = 'allow-list changed';
    else if (s.windowMs !== windowMs || from < s.from) reason = 'window changed';
    else if (now < s.readAt) reason = 'clock went back';
    try {
      if (!reason) {
        // the delta is read in one transaction: one snapshot of the database (PostgreSQL: repeatable
        // read; SQLite: the connection is held, so no ingest commits between its statements)
        const r = await db.em().transactional(async (tx) => {
          if (db.dialect === 'postgresql') await executeRaw(tx, 'set transaction isolation level repeatable read');
          return this.#delta(s!, tx, db.dialect, now, from, allowlist, pageSize);
        });
        if (typeof r !== 'string') return r;
        reason = r;
      }
      this.#s = null;
      return await this.#load(db, now, windowMs, allowlist, allowKey, migrations, pageSize, reason);
    } catch (err) {
      // a failed read or merge may have left the columns half updated: the next step loads in full
      this.#s = null;
      throw err;
    }
  }

  /**
   * The cache as a {@link ListingTable} for the metrics over `sources` (in that order): rows of
   * other sources get source −1; rows closed before the window are inert in the metrics.
   */
  table(sources: readonly string[]): ListingTable {
    const s = this.#s!;
    const map = new Int32Array(s.sources.length).fill(-1);
    sources.forEach((id, i) => {
      const k = s.sourceIndex.get(id);
      if (k !== undefined) map[k] = i;
    });
    const source = new Int32Array(s.L);
    for (let r = 0; r < s.L; r++) source[r] = map[s.src[r]!]!;
    const v6 = new Map<number, IpRange>();
    if (s.v6.size > 0) for (let r = 0; r < s.L; r++) if (Number.isNaN(s.lo[r]!)) {
      const r6 = s.v6.get(s.id[r]!);
      if (r6) v6.set(r, r6);
    }
    const L = s.L;
    return {
      length: L,
      source,
      indicator: s.ind.subarray(0, L),
      indicators: s.indicators,
      firstSeen: s.first.subarray(0, L),
      removedAt: s.removed.subarray(0, L),
      v4lo: s.lo.subarray(0, L),
      v4hi: s.hi.subarray(0, L),
      v6,
      allowed: s.allowed.subarray(0, L),
    };
  }

  async #load(db: Database, now: number, windowMs: number, allowlist: Allowlist | undefined, allowKey: string, migrations: string, pageSize: number, reason: string): Promise<CacheRefresh> {
    const em = db.em();
    const sqlite = db.dialect === 'sqlite';
    const top = await maxListingId(em);
    const from = now - windowMs;
    const stats = await aggregate(db, top);
    let total = 0;
    for (const st of stats.values()) total += st.n;
    const acc = new Accumulator(allowlist, [], new Map(), Math.min(total, 1 << 21));
    const y = new Yielder();
    const limit = Math.max(1, Math.floor(pageSize));
    for (let after = 0; ; ) {
      const { rows } = await executeRaw<Row>(
        em,
        `${SELECT} where l.id > ${sqlite ? '?' : '$1'} and l.id <= ${sqlite ? '?' : '$2'} and (l.removed_at is null or l.removed_at >= ${sqlite ? '?' : '$3'})
         order by l.id limit ${limit}`,
        [after, top, from],
      );
      for (const r of rows) {
        if (y.due()) await y.pause();
        acc.add(r);
      }
      if (rows.length < limit) break;
      after = Number(rows[rows.length - 1]!.id);
      await y.checkpoint();
    }
    await y.checkpoint();
    const cols = await runSliced(acc.sortedSteps(SPARE), y);
    this.#s = { ...cols, db, allowKey, windowMs, from, maxId: top, readAt: now, migrations, sources: acc.sources, sourceIndex: acc.sourceIndex, stats, v6: acc.v6, gaps: new Map() };
    return { mode: 'cold', read: cols.L, reason };
  }

  /** Applies the delta since the last read; a string (the reason) when a full load is needed instead. */
  async #delta(s: State, em: Em, dialect: Database['dialect'], now: number, from: number, allowlist: Allowlist | undefined, pageSize: number): Promise<CacheRefresh | string> {
    const sqlite = dialect === 'sqlite';
    const ph = (n: number) => (sqlite ? '?' : `$${n}`);
    const top = await maxListingId(em);
    if (top < s.maxId) return 'listing rows deleted';
    // 1. New rows (id in (maxId, top]) and the gaps of earlier reads.
    const acc = new Accumulator(allowlist, s.sources, s.sourceIndex);
    const seen = new Set<number>();
    const limit = Math.max(1, Math.floor(pageSize));
    for (let after = s.maxId; after < top; ) {
      const { rows } = await executeRaw<Row>(em, `${SELECT} where l.id > ${ph(1)} and l.id <= ${ph(2)} order by l.id limit ${limit}`, [after, top]);
      for (const r of rows) acc.add(r);
      if (rows.length < limit) break;
      after = Number(rows[rows.length - 1]!.id);
    }
    const gapIds = [...s.gaps.keys()];
    const closedGaps = new Map<string, number>();
    for (let i = 0; i < gapIds.length; i += 500) {
      const part = gapIds.slice(i, i + 500);
      const { rows } = await executeRaw<Row>(em, `${SELECT} where l.id in (${part.map((_, k) => ph(k + 1)).join(', ')})`, part);
      for (const r of rows) {
        acc.add(r);
        seen.add(Number(r.id));
        if (r.removed_at !== null) closedGaps.set(r.source_id, (closedGaps.get(r.source_id) ?? 0) + 1);
      }
    }
    // 2. Rows closed since the last read (up to the known highest id: newer rows came with their state).
    type Closed = { id: number | string; indicator_id: number | string; type: IndicatorType; value: string; removed_at: number | string };
    const closures: Closed[] = [];
    for (const src of s.sources) {
      const { rows } = await executeRaw<Closed>(
        em,
        `select l.id, l.indicator_id, i.type, i.value, l.removed_at from bl_listing l join bl_indicator i on i.id = l.indicator_id
         where l.source_id = ${ph(1)} and l.removed_at >= ${ph(2)} and l.id <= ${ph(3)}`,
        [src, s.readAt, s.maxId],
      );
      closures.push(...rows);
    }
    // 3. Verify before touching anything: closures only go from open to closed, so per source the
    //    closed rows up to maxId must number what was known plus what flipped now.
    const scratch = new Float64Array(4);
    const out = new Float64Array(4);
    const flips: Array<[number, number]> = [];
    const flipped = new Map<string, number>();
    const lastRemoved = new Map<string, number>();
    for (const c of closures) {
      parseRecord(Number(c.indicator_id), c.type, c.value, false, undefined, scratch, out);
      const at = findRow(s, out[0]!, Number(c.id));
      const removed = Number(c.removed_at);
      const src = at >= 0 ? s.sources[s.src[at]!]! : null;
      if (at >= 0 && Number.isNaN(s.removed[at]!)) {
        flips.push([at, removed]);
        flipped.set(src!, (flipped.get(src!) ?? 0) + 1);
      } else if (at >= 0 && s.removed[at] !== removed) return 'a closed listing changed';
      if (src) lastRemoved.set(src, Math.max(lastRemoved.get(src) ?? -Infinity, removed));
    }
    for (const src of s.sources) {
      const { rows } = await executeRaw<{ n: number | string }>(em, `select count(*) as n from bl_listing where source_id = ${ph(1)} and removed_at is not null and id <= ${ph(2)}`, [src, s.maxId]);
      const known = s.stats.get(src)?.closed ?? 0;
      if (Number(rows[0]?.n ?? 0) !== known + (flipped.get(src) ?? 0) + (closedGaps.get(src) ?? 0)) return 'closures the delta did not see';
    }
    for (const id of seen) s.gaps.delete(id);
    // missing ids of the new range: rolled back, or still being written
    const gaps = new Map<number, number>();
    for (const [id, left] of s.gaps) if (left > 1) gaps.set(id, left - 1);
    {
      const got = acc.ids();
      let k = 0;
      for (let id = s.maxId + 1; id <= top; id++) {
        while (k < got.length && got[k]! < id) k++;
        if (k < got.length && got[k] === id) continue;
        gaps.set(id, GAP_STEPS);
        if (gaps.size > GAP_MAX) return 'too many missing listing ids';
      }
    }
    // 4. Apply: closures in place, then the stats, then merge the new rows (dropping rows closed before the window).
    for (const [at, removed] of flips) s.removed[at] = removed;
    for (const [src, n] of flipped) {
      const st = s.stats.get(src)!;
      st.closed += n;
    }
    for (const [src, t] of lastRemoved) {
      const st = s.stats.get(src);
      if (st) st.lastRemoved = st.lastRemoved === null ? t : Math.max(st.lastRemoved, t);
    }
    acc.addStats(s.stats);
    s.gaps = gaps;
    s.maxId = top;
    s.readAt = now;
    const read = acc.length + closures.length;
    // nothing changed: keep the columns as they are (rows closed before the window are inert)
    if (acc.length === 0 && flips.length === 0) return { mode: 'unchanged', read };
    const fresh = acc.sorted();
    for (const [id, r6] of acc.v6) s.v6.set(id, r6);
    await runSliced(mergeSteps(s, fresh, from), new Yielder());
    s.from = from;
    if (s.v6.size > 0) {
      const kept = new Map<number, IpRange>();
      for (let r = 0; r < s.L; r++) if (Number.isNaN(s.lo[r]!)) {
        const r6 = s.v6.get(s.id[r]!);
        if (r6) kept.set(s.id[r]!, r6);
      }
      s.v6 = kept;
    }
    return { mode: 'delta', read };
  }
}

const SELECT = `select l.id, l.source_id, l.indicator_id, i.type, i.value, l.first_seen, l.removed_at from bl_listing l join bl_indicator i on i.id = l.indicator_id`;

type Em = ReturnType<Database['em']>;

async function maxListingId(em: Em): Promise<number> {
  const { rows } = await executeRaw<{ m: number | string | null }>(em, 'select max(id) as m from bl_listing');
  return Number(rows[0]?.m ?? 0);
}

/** Per source: count, highest id, closed count and latest removal of the rows with id ≤ top. */
async function aggregate(db: Database, top: number): Promise<Map<string, SourceListingStats>> {
  const sqlite = db.dialect === 'sqlite';
  type R = { source_id: string; n: number | string; max_id: number | string | null; closed: number | string; last_removed: number | string | null };
  const agg = `select source_id, count(*) as n, max(id) as max_id, count(removed_at) as closed, max(removed_at) as last_removed from bl_listing`;
  const out = new Map<string, SourceListingStats>();
  const y = new Yielder();
  // On SQLite (synchronous) in id ranges, so that no statement blocks the event loop for long.
  const span = sqlite ? 100_000 : Number.MAX_SAFE_INTEGER;
  for (let lo = 0; lo < top; lo += span) {
    const hi = Math.min(top, lo + span);
    const { rows } = await executeRaw<R>(db.em(), `${agg} where id > ${sqlite ? '?' : '$1'} and id <= ${sqlite ? '?' : '$2'} group by source_id`, [lo, hi]);
    for (const r of rows) {
      const p = out.get(r.source_id) ?? { n: 0, maxId: 0, closed: 0, lastRemoved: null };
      const removed = r.last_removed === null ? null : Number(r.last_removed);
      out.set(r.source_id, {
        n: p.n + Number(r.n),
        maxId: Math.max(p.maxId, Number(r.max_id ?? 0)),
        closed: p.closed + Number(r.closed),
        lastRemoved: removed === null ? p.lastRemoved : Math.max(p.lastRemoved ?? removed, removed),
      });
    }
    await y.checkpoint();
  }
  return out;
}

/** Identifies the migrations applied (their number and the latest), so that a migrated database reloads. */
async function migrationState(db: Database): Promise<string> {
  try {
    const { rows } = await executeRaw<{ n: number | string; m: string | null }>(db.em(), 'select count(*) as n, max(name) as m from tip_migrations');
    return `${rows[0]?.n ?? 0}:${rows[0]?.m ?? ''}`;
  } catch {
    return 'none';
  }
}

function allowlistKey(allowlist: Allowlist | undefined): string {
  return allowlist ? JSON.stringify([allowlist.lists, allowlist.ipRanges().length]) : 'none';
}

/** Position of the row with this key and listing id, or −1. */
function findRow(s: Columns, key: number, id: number): number {
  let a = 0;
  let b = s.L;
  while (a < b) {
    const m = (a + b) >> 1;
    if (s.key[m]! < key || (s.key[m] === key && s.id[m]! < id)) a = m + 1;
    else b = m;
  }
  return a < s.L && s.key[a] === key && s.id[a] === id ? a : -1;
}

/** Rows in id order, parsed into columns; {@link sorted} orders them by (key, id). */
class Accumulator {
  readonly sources: string[];
  readonly sourceIndex: Map<string, number>;
  readonly v6 = new Map<number, IpRange>();
  readonly #cols: Record<'key' | 'id' | 'src' | 'first' | 'removed' | 'lo' | 'hi' | 'allowed', F64List>;
  readonly #scratch = new Float64Array(4);
  readonly #out = new Float64Array(4);
  readonly #per = new Map<string, SourceListingStats>();

  constructor(
    private readonly allowlist: Allowlist | undefined,
    sources: string[] = [],
    sourceIndex = new Map<string, number>(),
    capacity = 16,
  ) {
    this.sources = sources;
    this.sourceIndex = sourceIndex;
    const l = () => new F64List(capacity);
    this.#cols = { key: l(), id: l(), src: l(), first: l(), removed: l(), lo: l(), hi: l(), allowed: l() };
  }

  get length(): number {
    return this.#cols.id.length;
  }

  add(r: Row): void {
    const c = this.#cols;
    const id = Number(r.id);
    let si = this.sourceIndex.get(r.source_id);
    if (si === undefined) {
      si = this.sources.length;
      this.sources.push(r.source_id);
      this.sourceIndex.set(r.source_id, si);
    }
    const r6 = parseRecord(Number(r.indicator_id), r.type, r.value, true, this.allowlist, this.#scratch, this.#out);
    if (r6) this.v6.set(id, r6);
    const removed = r.removed_at === null ? NaN : Number(r.removed_at);
    c.key.push(this.#out[0]!);
    c.id.push(id);
    c.src.push(si);
    c.first.push(Number(r.first_seen));
    c.removed.push(removed);
    c.lo.push(this.#out[1]!);
    c.hi.push(this.#out[2]!);
    c.allowed.push(this.#out[3]!);
    const p = this.#per.get(r.source_id) ?? { n: 0, maxId: 0, closed: 0, lastRemoved: null };
    p.n++;
    p.maxId = Math.max(p.maxId, id);
    if (!Number.isNaN(removed)) {
      p.closed++;
      p.lastRemoved = p.lastRemoved === null ? removed : Math.max(p.lastRemoved, removed);
    }
    this.#per.set(r.source_id, p);
  }

  /** The listing ids read, ascending. */
  ids(): Float64Array {
    return this.#cols.id.a.slice(0, this.length).sort();
  }

  /** Adds the aggregates of the rows read to `stats`. */
  addStats(stats: Map<string, SourceListingStats>): void {
    for (const [src, p] of this.#per) {
      const st = stats.get(src);
      if (!st) stats.set(src, { ...p });
      else {
        st.n += p.n;
        st.maxId = Math.max(st.maxId, p.maxId);
        st.closed += p.closed;
        if (p.lastRemoved !== null) st.lastRemoved = st.lastRemoved === null ? p.lastRemoved : Math.max(st.lastRemoved, p.lastRemoved);
      }
    }
  }

  /** {@link sortedSteps} at once (a delta's few rows). */
  sorted(spare = 0): Columns {
    return runToEnd(this.sortedSteps(spare));
  }

  /**
   * The rows sorted by (key, id) (stable on the id order they came in; gap rows are re-sorted by
   * id first), in steps: it yields after the sort and after each column (for `runSliced`).
   */
  *sortedSteps(spare = 0): Generator<void, Columns, void> {
    const c = this.#cols;
    const L = this.length;
    const cap = L + Math.ceil(L * spare);
    const ids = c.id.a.subarray(0, L);
    let inOrder = true;
    for (let i = 1; i < L && inOrder; i++) if (ids[i]! < ids[i - 1]!) inOrder = false;
    // by id first when gap rows came after newer ones, then stably by key
    let byId: Int32Array | null = null;
    if (!inOrder) byId = Int32Array.from({ length: L }, (_, i) => i).sort((x, y) => ids[x]! - ids[y]!);
    const at = (i: number) => (byId ? byId[i]! : i);
    const keys = new Float64Array(L);
    for (let i = 0; i < L; i++) keys[i] = c.key.a[at(i)]!;
    const order = stableKeyOrder(keys);
    yield;
    const perm = new Int32Array(L);
    for (let i = 0; i < L; i++) perm[i] = at(order[i]!);
    const f64 = (col: F64List) => {
      const out = new Float64Array(cap);
      for (let i = 0; i < L; i++) out[i] = col.a[perm[i]!]!;
      return out;
    };
    const key = f64(c.key);
    yield;
    const src = new Int32Array(cap);
    const allowed = new Uint8Array(cap);
    const ind = new Int32Array(cap);
    let n = 0;
    for (let i = 0; i < L; i++) {
      const r = perm[i]!;
      src[i] = c.src.a[r]!;
      allowed[i] = c.allowed.a[r]!;
      if (i > 0 && key[i] !== key[i - 1]) n++;
      ind[i] = n;
    }
    yield;
    const id = f64(c.id);
    yield;
    const first = f64(c.first);
    yield;
    const removed = f64(c.removed);
    yield;
    const lo = f64(c.lo);
    yield;
    const hi = f64(c.hi);
    return { L, key, id, src, ind, indicators: L > 0 ? n + 1 : 0, first, removed, lo, hi, allowed };
  }
}

const COLUMNS = ['key', 'id', 'src', 'first', 'removed', 'lo', 'hi', 'allowed'] as const;

/**
 * Merges the (key, id)-sorted rows `b` into `s` in place, dropping rows closed before `from` and
 * renumbering the indicators. The columns keep spare capacity (a quarter) so that a delta moves
 * each row at most once (block moves from the end, no new arrays, no garbage); they grow only when
 * the spare room is used up.
 */
function* mergeSteps(s: Columns, b: Columns, from: number): Generator<void, void, void> {
  // 1. drop the rows closed before the window (a forward compaction, only when there are some)
  let drop = 0;
  for (let r = 0; r < s.L; r++) if (s.removed[r]! < from) drop++;
  if (drop > 0) {
    let w = 0;
    for (let r = 0; r < s.L; r++) {
      if (s.removed[r]! < from) continue;
      if (w !== r) for (const c of COLUMNS) s[c][w] = s[c][r]!;
      w++;
    }
    s.L = w;
  }
  let bl = 0;
  const keepB = new Int32Array(b.L);
  for (let j = 0; j < b.L; j++) if (!(b.removed[j]! < from)) keepB[bl++] = j;
  // 2. room for the new rows
  const need = s.L + bl;
  if (need > s.key.length) {
    const cap = need + Math.ceil(need * SPARE) + 16;
    for (const c of COLUMNS) {
      const old = s[c];
      const grown = new (old.constructor as Float64ArrayConstructor)(cap);
      grown.set(old.subarray(0, s.L));
      (s as unknown as Record<string, unknown>)[c] = grown;
    }
    const ind = new Int32Array(cap);
    s.ind = ind;
  }
  // 3. where each new row goes (before the first row with a greater (key, id)), then block moves from the end
  const at = new Int32Array(bl);
  for (let x = 0, lo0 = 0; x < bl; x++) {
    const j = keepB[x]!;
    const key = b.key[j]!;
    const id = b.id[j]!;
    let lo = lo0;
    let hi = s.L;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (s.key[m]! < key || (s.key[m] === key && s.id[m]! < id)) lo = m + 1;
      else hi = m;
    }
    at[x] = lo0 = lo;
  }
  for (const c of COLUMNS) {
    const col = s[c];
    const src = b[c];
    let i = s.L;
    let k = need;
    for (let x = bl - 1; x >= 0; x--) {
      const p = at[x]!;
      const n = i - p;
      if (n > 0) col.copyWithin(k - n, p, i);
      k -= n;
      i = p;
      col[--k] = src[keepB[x]!]!;
    }
    yield;
  }
  s.L = need;
  // 4. dense indicator ids
  let n = 0;
  const key = s.key;
  const ind = s.ind;
  if (need > 0) ind[0] = 0;
  for (let r = 1; r < need; r++) {
    if (key[r] !== key[r - 1]) n++;
    ind[r] = n;
  }
  s.indicators = need > 0 ? n + 1 : 0;
}
