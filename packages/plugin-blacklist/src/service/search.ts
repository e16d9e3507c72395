import { executeRaw, TipError, TipErrorCodes, type Database } from '@tip/core';
import { rangeKeys } from '../indicators/addressKeys.js';
import { canonicalize } from '../indicators/canonical.js';
import { ListingStore } from '../ingest/ListingStore.js';
import { parseCidr } from '../indicators/ip.js';
import type { Indicator, IndicatorType } from '../indicators/types.js';
import { LISTING_LAST_SEEN, scoreListings, type ScoringContext } from './entries.js';
import { groupById, listingsOf, storedIndicators, weightsOfRows, type ListingRow, type StoredIndicator } from './lookup.js';

/** Largest page of {@link searchIndicators}. */
export const SEARCH_MAX_LIMIT = 500;

/**
 * Most candidate indicators one search page examines when `minScore` filters them (the score is
 * computed from the listings, not in SQL): past it the page ends early with `truncated` and a
 * cursor to continue.
 */
export const SEARCH_SCAN_LIMIT = 10_000;

/** Indicator ids one no-`q` search page walks through at most (keyset windows of {@link ID_WINDOW}). */
export const SEARCH_ID_SPAN = 1_000_000;

/** Ids per statement of a no-`q` search (a window of the primary key). */
const ID_WINDOW = 100_000;

/** Query of a search (`BlacklistService.search`, `GET /search`). */
export interface SearchQuery {
  /** An indicator (exact search) or a CIDR (every listed ip/cidr inside it); none: everything, newest first. */
  q?: string;
  /** Only this type. */
  type?: IndicatorType;
  /** Only indicators listed by one of these sources. */
  sources?: readonly string[];
  /** Minimum decayed score in [0, 1]. */
  minScore?: number;
  /** Only indicators last seen at or after this time (epoch ms). */
  since?: number;
  /** Items per page (1 to 500, default 50). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** One item of a search page. */
export interface SearchItem {
  /** Indicator type. */
  type: IndicatorType;
  /** Canonical value. */
  value: string;
  /** Decayed score (the export's). */
  score: number;
  /** The enabled sources listing it. */
  sources: Array<{
    /** Source id. */
    id: string;
    /** Source title. */
    title: string;
  }>;
  /** When it was first stored. */
  firstSeen: Date;
  /** When a source last confirmed it. */
  lastSeen: Date;
}

/** A page of search results. */
export interface SearchPage {
  /** The page's items: exact matches, or in address order (CIDR search), or newest indicators first. */
  items: SearchItem[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
  /** Exact searches: the number of items (there is no other page). */
  total?: number;
  /** What `q` was understood as: `exact`, `cidr` (containment) or `all` (no `q`). */
  mode: 'exact' | 'cidr' | 'all';
  /** Candidate indicators examined for this page. */
  scanned: number;
  /** True when the page stopped at its scan bound before filling: continue with `nextCursor`. */
  truncated: boolean;
}

/** Cursor payload (base64url JSON), bound to the query mode. */
type Cursor = { m: 'cidr'; k: string; i: number } | { m: 'all'; i: number };

const badInput = (path: string, message: string, input?: unknown) =>
  new TipError(TipErrorCodes.INPUT_INVALID, `${path}: ${message}`, { details: { path, input, issues: [{ path, message }] } });

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(text: string, mode: Cursor['m']): Cursor {
  let c: unknown;
  try {
    if (text.length > 200) throw new Error('too long');
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw badInput('cursor', 'not a cursor of this API (pass nextCursor unchanged)', text.slice(0, 200));
  }
  const o = c as Record<string, unknown>;
  const ok =
    o !== null &&
    typeof o === 'object' &&
    o.m === mode &&
    Number.isSafeInteger(o.i) &&
    (mode === 'all' || (typeof o.k === 'string' && /^[46][0-9a-f]{8,32}$/.test(o.k)));
  if (!ok) throw badInput('cursor', `not a cursor of this search (a cursor continues the query it came from)`, text.slice(0, 200));
  return o as Cursor;
}

/** What the search understood `q` as. */
type Target = { mode: 'all' } | { mode: 'exact'; indicators: Indicator[] } | { mode: 'cidr'; lo: string; hi: string };

function target(q: string | undefined): Target {
  if (q === undefined || q.trim() === '') return { mode: 'all' };
  const r = canonicalize(q);
  if (!r.ok) throw badInput('q', `"${q.slice(0, 200)}" is no indicator or CIDR: ${r.reason}`, q.slice(0, 200));
  const cidrs = r.indicators.filter((i) => i.type === 'cidr');
  if (cidrs.length > 1) throw badInput('q', `"${q.slice(0, 200)}" is an address range of ${cidrs.length} CIDRs: search one CIDR at a time`, q.slice(0, 200));
  if (cidrs.length === 1) return { mode: 'cidr', ...rangeKeys(parseCidr(cidrs[0]!.value)!) };
  return { mode: 'exact', indicators: r.indicators };
}

/** SQL conditions on candidate indicators `i` (listed now, type, sources, since) with their parameters. */
function listedConditions(sqlite: boolean, q: SearchQuery, next: () => string): { sql: string; params: unknown[] } {
  const enabled = sqlite ? '1' : 'true';
  const params: unknown[] = [];
  // A scalar subquery rather than EXISTS: PostgreSQL turns EXISTS into a semi-join that, planned
  // without statistics (a fresh table), walks every open listing per candidate; a subplan is
  // always probed with the candidate's id through the open-listings index.
  const open = `select 1 from bl_listing l join bl_source s on s.id = l.source_id where l.indicator_id = i.id and l.removed_at is null and s.enabled = ${enabled}`;
  const exists = (cond: string) => `(${open}${cond} limit 1) is not null`;
  let sql = '';
  if (q.type) {
    sql += ` and i.type = ${next()}`;
    params.push(q.type);
  }
  if (q.sources?.length) {
    sql += ` and ${exists(` and l.source_id in (${q.sources.map(() => next()).join(', ')})`)}`;
    params.push(...q.sources);
  }
  if (q.since !== undefined) {
    sql += ` and ${exists(` and ${LISTING_LAST_SEEN} >= ${next()}`)}`;
    params.push(q.since);
  }
  if (!q.sources?.length && q.since === undefined) sql += ` and ${exists('')}`;
  return { sql, params };
}

/** The items of some candidate indicators (all their enabled listings, scored), minScore applied. */
function itemsOf(rows: readonly ListingRow[], ctx: Omit<ScoringContext, 'weights'>, minScore: number | undefined): Map<number, SearchItem> {
  const scoring: ScoringContext = { ...ctx, weights: weightsOfRows(rows) };
  const out = new Map<number, SearchItem>();
  for (const group of groupById(rows)) {
    const e = scoreListings(group, scoring);
    if (minScore !== undefined && e.score < minScore) continue;
    const titles = new Map(group.map((r) => [r.source_id, r.title]));
    out.set(Number(group[0]!.id), { type: e.type, value: e.value, score: e.score, sources: e.sources.map((id) => ({ id, title: titles.get(id) ?? id })), firstSeen: e.firstSeen, lastSeen: e.lastSeen });
  }
  return out;
}

/**
 * How many candidates a keyset search reads next, `found` items into the page and `scanned`
 * candidates examined: one more than the page still needs (the extra one tells whether another
 * page follows), or with `minScore` (which drops candidates after the query) at least 100 and no
 * more than the scan bound leaves.
 */
function batchSize(query: SearchQuery, limit: number, found: number, scanned: number): number {
  return query.minScore === undefined ? limit + 1 - found : Math.min(Math.max(limit + 1 - found, 100), SEARCH_SCAN_LIMIT - scanned);
}

/**
 * Scores a batch of candidates (in page order) and appends the listed ones to `items`, calling
 * `passed` for each candidate once it is on the page or dropped (the caller moves its cursor past
 * it). Returns true on reaching a listed candidate beyond `limit`: the page is full and that
 * candidate starts the next one (the cursor is not moved past it).
 */
async function fillPage<C extends StoredIndicator & { id: number }>(
  db: Database,
  ctx: Omit<ScoringContext, 'weights'>,
  query: SearchQuery,
  candidates: readonly C[],
  items: SearchItem[],
  limit: number,
  passed: (c: C) => void,
): Promise<boolean> {
  const scored = itemsOf(await listingsOf(db, candidates), ctx, query.minScore);
  for (const c of candidates) {
    const item = scored.get(c.id);
    if (item) {
      if (items.length === limit) return true;
      items.push(item);
    }
    passed(c);
  }
  return false;
}

/**
 * Searches the current listings of enabled sources: an exact indicator (canonicalised), every
 * listed ip/cidr inside a CIDR (IPv4 or IPv6: one range scan of the `addr_lo` index, keyset on
 * (addr_lo, id)), or, without `q`, every listed indicator, newest stored first (keyset on the id,
 * walked in windows of the primary key). Filters: type, sources (listed by one of them), since
 * (last seen at or after), minScore (decayed score, computed as exports do). A page reads at most
 * `limit + 1` candidates when no `minScore` is given; with one it examines at most
 * {@link SEARCH_SCAN_LIMIT} candidates and may end early (`truncated`, with a cursor to go on).
 * Cursors stay valid under inserts: a new indicator shows up on a later page or, when it sorts
 * before the cursor, not at all in this walk; no row repeats or goes missing.
 * @throws TipError `TIP_INPUT_INVALID` naming the parameter (`q`, `cursor`, `limit`) in `details.path`
 */
export async function searchIndicators(db: Database, query: SearchQuery, ctx: Omit<ScoringContext, 'weights'>): Promise<SearchPage> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_MAX_LIMIT) throw badInput('limit', `must be an integer from 1 to ${SEARCH_MAX_LIMIT}`, limit);
  const t = target(query.q);
  const sqlite = db.dialect === 'sqlite';
  if (t.mode === 'exact') {
    if (query.cursor) throw badInput('cursor', 'an exact search has a single page', query.cursor.slice(0, 200));
    const wanted = t.indicators.filter((i) => !query.type || i.type === query.type);
    const rows = await listingsOf(db, await storedIndicators(db, wanted));
    const keep = rows.filter((r) => (!query.sources?.length || rows.some((o) => o.id === r.id && query.sources!.includes(o.source_id))) && (query.since === undefined || rows.some((o) => o.id === r.id && Number(o.last_seen) >= query.since!)));
    const items = [...itemsOf(keep, ctx, query.minScore).values()].slice(0, limit);
    return { items, nextCursor: null, total: items.length, mode: 'exact', scanned: wanted.length, truncated: false };
  }
  if (t.mode === 'cidr') {
    await fillPendingKeys(db);
    let cursor = query.cursor ? (decodeCursor(query.cursor, 'cidr') as Extract<Cursor, { m: 'cidr' }>) : undefined;
    const items: SearchItem[] = [];
    let scanned = 0;
    for (;;) {
      const batch = batchSize(query, limit, items.length, scanned);
      let n = 0;
      const next = () => (sqlite ? '?' : `$${++n}`);
      const range = `i.addr_lo >= ${next()} and i.addr_lo <= ${next()} and i.addr_hi <= ${next()}`;
      const params: unknown[] = [cursor ? (cursor.k > t.lo ? cursor.k : t.lo) : t.lo, t.hi, t.hi];
      let sql = range;
      if (cursor) {
        sql += ` and (i.addr_lo > ${next()} or i.id > ${next()})`;
        params.push(cursor.k, cursor.i);
      }
      const cond = listedConditions(sqlite, query, next);
      const { rows } = await executeRaw<StoredIndicator & { addr_lo: string }>(
        db.em(),
        `select i.id, i.type, i.value, i.first_seen, i.addr_lo from bl_indicator i where ${sql}${cond.sql} order by i.addr_lo, i.id limit ${batch}`,
        [...params, ...cond.params],
      );
      scanned += rows.length;
      const candidates = rows.map((r) => ({ ...r, id: Number(r.id) }));
      if (await fillPage(db, ctx, query, candidates, items, limit, (c) => (cursor = { m: 'cidr', k: c.addr_lo, i: c.id }))) {
        return { items, nextCursor: encodeCursor(cursor!), mode: 'cidr', scanned, truncated: false };
      }
      if (rows.length < batch) return { items, nextCursor: null, mode: 'cidr', scanned, truncated: false };
      if (scanned >= SEARCH_SCAN_LIMIT) return { items, nextCursor: encodeCursor(cursor!), mode: 'cidr', scanned, truncated: true };
    }
  }
  // everything: newest stored first, keyset on the id, in windows of the primary key
  const start = query.cursor
    ? (decodeCursor(query.cursor, 'all') as Extract<Cursor, { m: 'all' }>).i
    : Number((await executeRaw<{ n: number | string | null }>(db.em(), 'select max(id) as n from bl_indicator')).rows[0]?.n ?? 0) + 1;
  const items: SearchItem[] = [];
  let scanned = 0;
  let below = start; // every id ≥ below was examined
  let before = start; // the cursor: items come from ids < before
  while (below > 1) {
    const floor = Math.max(1, below - ID_WINDOW);
    let n = 0;
    const next = () => (sqlite ? '?' : `$${++n}`);
    const params: unknown[] = [before, floor];
    const head = `i.id < ${next()} and i.id >= ${next()}`;
    const cond = listedConditions(sqlite, query, next);
    const want = batchSize(query, limit, items.length, scanned);
    const { rows } = await executeRaw<StoredIndicator>(
      db.em(),
      `select i.id, i.type, i.value, i.first_seen from bl_indicator i where ${head}${cond.sql} order by i.id desc limit ${want}`,
      [...params, ...cond.params],
    );
    scanned += rows.length;
    const candidates = rows.map((r) => ({ ...r, id: Number(r.id) }));
    if (await fillPage(db, ctx, query, candidates, items, limit, (c) => (before = c.id))) {
      return { items, nextCursor: encodeCursor({ m: 'all', i: before }), mode: 'all', scanned, truncated: false };
    }
    if (rows.length === want) {
      if (scanned >= SEARCH_SCAN_LIMIT) return { items, nextCursor: encodeCursor({ m: 'all', i: before }), mode: 'all', scanned, truncated: true };
      continue; // more in this window
    }
    below = floor;
    before = floor;
    if (start - below >= SEARCH_ID_SPAN && below > 1) return { items, nextCursor: encodeCursor({ m: 'all', i: before }), mode: 'all', scanned, truncated: true };
  }
  return { items, nextCursor: null, mode: 'all', scanned, truncated: false };
}

/** Fills missing address keys first (one probe of the partial index when there are none). */
async function fillPendingKeys(db: Database): Promise<void> {
  // SQLite might walk another index: name the partial one
  const from = db.dialect === 'sqlite' ? 'bl_indicator indexed by bl_indicator_addr_pending_index' : 'bl_indicator';
  const { rows } = await executeRaw<{ id: number }>(db.em(), `select id from ${from} where addr_lo is null limit 1`);
  if (rows.length > 0) await new ListingStore(db.dialect).fillAddressKeys(db.em());
}
