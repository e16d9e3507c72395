import { createHash } from 'node:crypto';
import { executeRaw, type Database } from '@tip/core';
import { runSliced, runToEnd, Yielder } from '../ingest/Yielder.js';
import type { Allowlist } from '../allowlists/index.js';
import type { IndicatorType } from '../indicators/types.js';
import { computeWeight, type AddressMetrics, type ListingRecord, type OverlapMode, type RunRecord, type SourceMetrics, type WeightFormula } from '../weighting/index.js';
import { ListingTableBuilder, type ListingTable } from '../weighting/listingTable.js';
import type { ListingCache, SourceListingStats } from '../weighting/listingCache.js';
import { computeTableMetricsAsync } from '../weighting/metrics.js';
import { runTerms } from '../weighting/metricsSteps.js';
import { LISTING_LAST_SEEN } from './entries.js';

/** Options of {@link computeAndStoreWeights}. */
export interface WeightRunOptions {
  now: number;
  windowMs: number;
  overlap: OverlapMode;
  formula?: WeightFormula;
  allowlist?: Allowlist;
  /** Expected fetch interval of every source (the cycle interval). */
  intervalMs?: number;
  /** Append the results to `bl_source_metric` (default true); false computes only (read-only). */
  store?: boolean;
  /**
   * Reuse the listing-derived metrics of the last stored computation when its input fingerprint
   * still holds (default true); false always recomputes them.
   */
  incremental?: boolean;
  /**
   * Longest reuse of one full computation (ms; default {@link REUSE_MAX_AGE_MS}): the persistence
   * of still-open listings grows with time, so it is recomputed at least this often.
   * @internal
   */
  reuseMaxAgeMs?: number;
  /**
   * Listing rows read per statement (default {@link LISTING_PAGE_ROWS}); tests set it small.
   * @internal
   */
  pageSize?: number;
  /**
   * The app's listing cache (the service passes its own): the step reads only the rows changed
   * since the last one and recomputes from the cached columns. Ignored when `incremental` is false.
   * @internal
   */
  cache?: ListingCache;
}

/**
 * Listing rows read per statement by {@link computeAndStoreWeights}: on SQLite (synchronous) a
 * page of 5,000 rows takes a few ms, and the event loop gets a turn between pages.
 * @internal
 */
export const LISTING_PAGE_ROWS = 5000;

/** Listing ids per fingerprint statement on SQLite. @internal */
export const FINGERPRINT_ID_SPAN = 100_000;

/** Default longest reuse of a full metrics computation: 6 h. @internal */
export const REUSE_MAX_AGE_MS = 6 * 3_600_000;

/** Units of the stored metrics, as the weights and sources routes state them. @internal */
export const METRIC_UNITS = Object.freeze({
  volume: 'entries (distinct indicators listed in the window)',
  overlap: 'entries of this source that are in the other (per the overlap mode)',
  differential: 'share of entries',
  exclusive: 'share of entries',
  falsePositiveRate: 'share of entries',
  churn: 'listing changes per entry',
  latencyMedianMs: 'ms',
  persistenceMedianMs: 'ms',
  freshnessMs: 'ms',
  availability: 'share of fetch attempts',
  'addresses.ipv4': 'IPv4 addresses (exact counts); differential, exclusive and falsePositiveRate are shares of addresses',
  'addresses.ipv6': 'IPv6 addresses (exact sums rounded to double precision); rates are shares of addresses',
});

/** A source's metrics and weight as last stored by a cycle (a row of `bl_source_metric`). */
export interface StoredSourceMetrics
  extends Pick<SourceMetrics, 'source' | 'volume' | 'exclusive' | 'latencyMedianMs' | 'persistenceMedianMs' | 'churn' | 'falsePositiveRate' | 'availability' | 'freshnessMs' | 'weight' | 'overlap' | 'differential'> {
  /** When they were computed (epoch ms). */
  computedAt: number;
  /** Length of the window they cover (ms). */
  windowMs: number;
  /** Address-level metrics per family (units: addresses); null on rows stored before they existed. */
  addresses: AddressMetrics | null;
  /** When the listing-derived metrics were last computed in full (epoch ms; earlier than `computedAt` when a cycle reused them because no source changed); null on older rows. */
  metricsComputedAt: number | null;
}

/** What the weights step did. @internal */
export interface WeightStepResult {
  metrics: SourceMetrics[];
  /** True when the listing-derived metrics were reused (no source changed), false when computed. */
  reused: boolean;
  /** Listing rows the metrics were computed over (0 when reused). */
  loaded: number;
  /** Listing rows read from the database by this step (a full load, or the delta with a cache). */
  read: number;
  /** How the listings were brought up to date: 'full' (no cache, or a cold or invalidated cache), 'delta' (from the cache). */
  load: 'full' | 'delta';
  /** Rows and bytes the cache holds after the step (0 without one). */
  cacheRows: number;
  cacheBytes: number;
}

/** Stored in `bl_source_metric.fingerprint`: when a full computation's listing-derived metrics still hold. */
interface Fingerprint {
  /** Hash of the enabled sources, their listing table state, window, overlap mode and allow-list. */
  data: string;
  /** When the full computation ran (ms epoch). */
  fullAt: number;
  /** From this time on, some listing enters or leaves the window (or a window edge): recompute. */
  validUntil: number;
}

/**
 * Loads the listings and runs of the window, computes every enabled source's metrics and weight,
 * and appends them to `bl_source_metric` (history is kept) unless `store` is false.
 */
export async function computeAndStoreWeights(db: Database, o: WeightRunOptions): Promise<SourceMetrics[]> {
  return (await weightsStep(db, o)).metrics;
}

/**
 * {@link computeAndStoreWeights} telling whether the heavy part was reused. When the input
 * fingerprint of the last stored computation (enabled sources; per source the count, highest id,
 * closed count and latest removal of its listings — index-only aggregates; window; overlap mode;
 * allow-list) is unchanged, no listing entered or left the window since, and the computation is
 * younger than `reuseMaxAgeMs`, the listing-derived metrics are taken from the stored rows and
 * only the run-derived terms (availability, freshness) and the weight are recomputed.
 * @internal
 */
export async function weightsStep(db: Database, o: WeightRunOptions): Promise<WeightStepResult> {
  // one step at a time per cache: a step reads the cache's columns while it computes
  if (o.cache && o.incremental !== false) return o.cache.exclusive(() => step(db, o));
  return step(db, o);
}

async function step(db: Database, o: WeightRunOptions): Promise<WeightStepResult> {
  const em = db.em();
  const ph = (n: number) => (db.dialect === 'sqlite' ? '?' : `$${n}`);
  const from = o.now - o.windowMs;
  const sources = (await executeRaw<{ id: string }>(em, `select id from bl_source where enabled = ${db.dialect === 'sqlite' ? 1 : 'true'} order by id`)).rows.map((r) => r.id);
  if (sources.length === 0) return { metrics: [], reused: false, loaded: 0, read: 0, load: 'full', cacheRows: o.cache?.rows ?? 0, cacheBytes: o.cache?.bytes ?? 0 };
  const runs: RunRecord[] = (
    await executeRaw<{ source_id: string; started_at: number | string; status: string }>(em, `select source_id, started_at, status from bl_source_run where started_at >= ${ph(1)}`, [from])
  ).rows.map((r) => ({ source: r.source_id, startedAt: Number(r.started_at), ok: r.status === 'succeeded' || r.status === 'unchanged' }));
  const expected = o.intervalMs ? Object.fromEntries(sources.map((s) => [s, o.intervalMs!])) : undefined;
  const cache = o.incremental !== false ? o.cache : undefined;
  let read = 0;
  let load: 'full' | 'delta' = 'full';
  let data: string;
  if (cache) {
    const r = await cache.refresh(db, o.now, o.windowMs, o.allowlist, o.pageSize ?? LISTING_PAGE_ROWS);
    read = r.read;
    if (r.mode !== 'cold') load = 'delta';
    data = fingerprintText(sources, statsState(cache.stats), o);
  } else data = await dataFingerprint(db, sources, o);
  const input = { now: o.now, windowMs: o.windowMs, sources, runs, allowlist: o.allowlist, expectedIntervalMs: expected, overlapMode: o.overlap };

  let metrics: SourceMetrics[] | null = null;
  let fp: Fingerprint | null = null;
  if (o.incremental !== false) {
    const last = await lastComputation(db);
    const maxAge = o.reuseMaxAgeMs ?? REUSE_MAX_AGE_MS;
    if (last && last.fp.data === data && o.now < last.fp.validUntil && o.now - last.fp.fullAt < maxAge && o.now >= last.computedAt && sources.every((s) => last.rows.has(s))) {
      fp = last.fp;
      const terms = runToEnd(runTerms(runs, sources, o.now, from, () => false));
      metrics = sources.map((s, i) => {
        const m: Omit<SourceMetrics, 'weight'> = { ...last.rows.get(s)!, availability: terms[i]!.availability, freshnessMs: terms[i]!.freshnessMs };
        return { ...m, weight: computeWeight(m, o.formula, expected?.[s] ?? 0) };
      });
    }
  }
  const reused = metrics !== null;
  let loaded = 0;
  if (!metrics) {
    const table = cache ? cache.table(sources) : await loadListingTable(db, sources, from, o.pageSize ?? LISTING_PAGE_ROWS, o.allowlist);
    if (!cache) read = table.length;
    loaded = table.length;
    metrics = await computeTableMetricsAsync(input, table, o.formula);
    fp = { data, fullAt: o.now, validUntil: validUntil(table, o.now, o.windowMs) };
  }
  const done = { metrics, reused, loaded, read, load, cacheRows: cache?.rows ?? 0, cacheBytes: cache?.bytes ?? 0 };
  if (o.store === false) return done;
  const fpText = JSON.stringify(fp);
  await db.em().transactional(async (tx) => {
    for (const m of metrics) {
      const values = [
        m.source, o.now, o.windowMs, m.volume, m.exclusive, m.latencyMedianMs, m.persistenceMedianMs, m.churn, m.falsePositiveRate, m.availability, m.freshnessMs, m.weight,
        JSON.stringify(m.overlap), JSON.stringify(m.differential), JSON.stringify(m.addresses), JSON.stringify(m.overlapExact), m.latencyMeanMs, fpText,
      ];
      await executeRaw(
        tx,
        `insert into bl_source_metric (source_id, computed_at, window_ms, volume, exclusive, latency_median_ms, persistence_median_ms, churn, false_positive_rate, availability, freshness_ms, weight, overlap, differential, addresses, overlap_exact, latency_mean_ms, fingerprint)
         values (${values.map((_, i) => ph(i + 1)).join(', ')})`,
        values,
      );
    }
  });
  return done;
}

/**
 * The input fingerprint of the listing-derived metrics: one grouped, index-only aggregate over
 * `bl_listing` (count, highest id, closed count, latest removal per source — every insert, removal
 * or deletion changes one of them) plus the options that shape the metrics.
 */
async function dataFingerprint(db: Database, sources: readonly string[], o: WeightRunOptions): Promise<string> {
  // On SQLite (synchronous) in id ranges of FINGERPRINT_ID_SPAN, so that no statement blocks the
  // event loop for long (one over a million rows takes ~0.2 s); PostgreSQL does it in one.
  type Row = { source_id: string; n: number | string; max_id: number | string | null; closed: number | string; last_removed: number | string | null };
  const agg = `select source_id, count(*) as n, max(id) as max_id, count(removed_at) as closed, max(removed_at) as last_removed from bl_listing`;
  let rows: Row[];
  if (db.dialect === 'sqlite') {
    const top = Number((await executeRaw<{ m: number | null }>(db.em(), 'select max(id) as m from bl_listing')).rows[0]?.m ?? 0);
    const y = new Yielder();
    rows = [];
    for (let lo = 0; lo < top; lo += FINGERPRINT_ID_SPAN) {
      rows.push(...(await executeRaw<Row>(db.em(), `${agg} where id > ? and id <= ? group by source_id`, [lo, lo + FINGERPRINT_ID_SPAN])).rows);
      await y.checkpoint();
    }
  } else rows = (await executeRaw<Row>(db.em(), `${agg} group by source_id`)).rows;
  const per = new Map<string, [number, number, number, number | null]>();
  for (const r of rows) {
    const p = per.get(r.source_id) ?? [0, 0, 0, null];
    const removed = r.last_removed === null ? null : Number(r.last_removed);
    per.set(r.source_id, [p[0] + Number(r.n), Math.max(p[1], Number(r.max_id ?? 0)), p[2] + Number(r.closed), removed === null ? p[3] : Math.max(p[3] ?? removed, removed)]);
  }
  return fingerprintText(sources, per, o);
}

/** The per-source aggregates of a {@link ListingCache} in the form {@link dataFingerprint} reads them. */
function statsState(stats: ReadonlyMap<string, SourceListingStats>): Map<string, [number, number, number, number | null]> {
  return new Map([...stats].filter(([, st]) => st.n > 0).map(([id, st]) => [id, [st.n, st.maxId, st.closed, st.lastRemoved]]));
}

/** The fingerprint of the enabled sources' listing aggregates and the options that shape the metrics. */
function fingerprintText(sources: readonly string[], per: ReadonlyMap<string, [number, number, number, number | null]>, o: WeightRunOptions): string {
  const enabled = new Set(sources);
  const state = [...per].filter(([id]) => enabled.has(id)).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const allow = o.allowlist ? [o.allowlist.lists, o.allowlist.ipRanges().length] : null;
  return createHash('sha256').update(JSON.stringify({ v: 1, sources, state, windowMs: o.windowMs, overlap: o.overlap, allow })).digest('hex');
}

/** The first time after `now` at which a loaded listing enters or leaves the window or its edges. */
function validUntil(table: ListingTable, now: number, windowMs: number): number {
  let until = Infinity;
  const consider = (t: number) => {
    if (t > now && t < until) until = t;
  };
  for (let r = 0; r < table.length; r++) {
    const f = table.firstSeen[r]!;
    const x = table.removedAt[r]!;
    consider(f); // a future listing starts
    consider(f + windowMs); // its start leaves the window (churn, the set before W)
    if (!Number.isNaN(x)) {
      consider(x); // a future removal
      consider(x + windowMs); // the listing leaves the window
    }
  }
  return until === Infinity ? Number.MAX_SAFE_INTEGER : until;
}

/** The rows of the latest stored computation, with its fingerprint, or null. */
async function lastComputation(db: Database): Promise<{ computedAt: number; fp: Fingerprint; rows: Map<string, Omit<SourceMetrics, 'weight' | 'availability' | 'freshnessMs'>> } | null> {
  const { rows } = await executeRaw<Record<string, unknown>>(db.em(), `select * from bl_source_metric where computed_at = (select max(computed_at) from bl_source_metric) order by id`);
  // two computations may share a time: the latest is the one of the last row
  const lastText = rows[rows.length - 1]?.fingerprint;
  if (typeof lastText !== 'string') return null;
  const fp = JSON.parse(lastText) as Fingerprint;
  const out = new Map<string, Omit<SourceMetrics, 'weight' | 'availability' | 'freshnessMs'>>();
  for (const r of rows) {
    if (r.fingerprint !== lastText) continue;
    if (r.addresses === null || r.overlap_exact === null) return null;
    const m = rowToMetrics(r);
    out.set(m.source, {
      source: m.source,
      volume: m.volume,
      overlap: m.overlap,
      overlapExact: json(r.overlap_exact),
      differential: m.differential,
      exclusive: m.exclusive,
      latencyMedianMs: m.latencyMedianMs,
      latencyMeanMs: num(r.latency_mean_ms),
      persistenceMedianMs: m.persistenceMedianMs,
      churn: m.churn,
      falsePositiveRate: m.falsePositiveRate,
      addresses: m.addresses!,
    });
  }
  return { computedAt: Number(rows[0]!.computed_at), fp, rows: out };
}

/**
 * Every listing period of the window (open, or closed at or after `from`) in columns: per row the
 * source index, indicator id, times and the parsed address range; the indicator value is read page
 * by page (to parse it and match the allow-list) and not kept. About 40 bytes per listing.
 * @internal
 */
export async function loadListingTable(db: Database, sources: readonly string[], from: number, pageSize: number, allowlist?: Allowlist): Promise<ListingTable> {
  const em = db.em();
  const sqlite = db.dialect === 'sqlite';
  const index = new Map(sources.map((s, i) => [s, i]));
  const y = new Yielder();
  const b = new ListingTableBuilder(allowlist);
  const limit = Math.max(1, Math.floor(pageSize));
  let after = 0;
  for (;;) {
    const { rows } = await executeRaw<{ id: number | string; source_id: string; indicator_id: number | string; type: IndicatorType; value: string; first_seen: number | string; removed_at: number | string | null }>(
      em,
      `select l.id, l.source_id, l.indicator_id, i.type, i.value, l.first_seen, l.removed_at
       from bl_listing l join bl_indicator i on i.id = l.indicator_id
       where l.id > ${sqlite ? '?' : '$1'} and (l.removed_at is null or l.removed_at >= ${sqlite ? '?' : '$2'})
       order by l.id limit ${limit}`,
      [after, from],
    );
    for (const r of rows) {
      if (y.due()) await y.pause();
      b.add(index.get(r.source_id) ?? -1, Number(r.indicator_id), r.type, r.value, Number(r.first_seen), r.removed_at === null ? undefined : Number(r.removed_at));
    }
    if (rows.length < limit) break;
    after = Number(rows[rows.length - 1]!.id);
    await y.checkpoint();
  }
  await y.checkpoint();
  return runSliced(b.buildSteps(), y);
}

/**
 * Every listing period open at or closed after `from`, read in pages of `pageSize` rows in id
 * order (keyset pagination), so no single statement reads the whole table and the event loop
 * gets a turn between pages.
 * @internal
 */
export async function loadListings(db: Database, from: number, pageSize: number): Promise<ListingRecord[]> {
  const em = db.em();
  const sqlite = db.dialect === 'sqlite';
  const y = new Yielder();
  const listings: ListingRecord[] = [];
  const limit = Math.max(1, Math.floor(pageSize));
  let after = 0;
  for (;;) {
    const { rows } = await executeRaw<{ id: number | string; source_id: string; type: IndicatorType; value: string; first_seen: number | string; last_seen: number | string | null; removed_at: number | string | null }>(
      em,
      `select l.id, l.source_id, i.type, i.value, l.first_seen, ${LISTING_LAST_SEEN} as last_seen, l.removed_at
       from bl_listing l join bl_indicator i on i.id = l.indicator_id join bl_source s on s.id = l.source_id
       where l.id > ${sqlite ? '?' : '$1'} and (l.removed_at is null or l.removed_at >= ${sqlite ? '?' : '$2'})
       order by l.id limit ${limit}`,
      [after, from],
    );
    for (const r of rows) {
      listings.push({
        source: r.source_id,
        type: r.type,
        value: r.value,
        firstSeen: Number(r.first_seen),
        lastSeen: Number(r.last_seen ?? r.first_seen),
        ...(r.removed_at === null ? {} : { removedAt: Number(r.removed_at) }),
      });
    }
    if (rows.length < limit) return listings;
    after = Number(rows[rows.length - 1]!.id);
    await y.checkpoint();
  }
}

/** The latest weight of every source that has one. */
export async function latestWeights(db: Database): Promise<Map<string, number>> {
  const { rows } = await executeRaw<{ source_id: string; weight: number }>(
    db.em(),
    `select m.source_id, m.weight from bl_source_metric m
     join (select source_id, max(computed_at) as at from bl_source_metric group by source_id) last
       on last.source_id = m.source_id and last.at = m.computed_at`,
  );
  return new Map(rows.map((r) => [r.source_id, Number(r.weight)]));
}

/** The latest stored metrics of every source that has some, by source id. */
export async function latestMetrics(db: Database): Promise<StoredSourceMetrics[]> {
  const { rows } = await executeRaw<Record<string, unknown>>(
    db.em(),
    `select m.* from bl_source_metric m
     join (select source_id, max(computed_at) as at from bl_source_metric group by source_id) last
       on last.source_id = m.source_id and last.at = m.computed_at
     order by m.source_id`,
  );
  return rows.map(rowToMetrics);
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : (v ?? {})) as Record<string, number>;

/**
 * A `bl_source_metric` row (column names as stored) as {@link StoredSourceMetrics}; what
 * `latestMetrics` returns and `explain` reads with a listing.
 * @internal
 */
export function rowToMetrics(r: Record<string, unknown>): StoredSourceMetrics {
  const fp = typeof r.fingerprint === 'string' ? (JSON.parse(r.fingerprint) as Fingerprint) : null;
  const addresses = r.addresses === null || r.addresses === undefined ? null : ((typeof r.addresses === 'string' ? JSON.parse(r.addresses) : r.addresses) as AddressMetrics);
  return {
    source: String(r.source_id),
    computedAt: Number(r.computed_at),
    windowMs: Number(r.window_ms),
    volume: Number(r.volume),
    exclusive: Number(r.exclusive),
    latencyMedianMs: num(r.latency_median_ms),
    persistenceMedianMs: num(r.persistence_median_ms),
    churn: Number(r.churn),
    falsePositiveRate: Number(r.false_positive_rate),
    availability: num(r.availability),
    freshnessMs: num(r.freshness_ms),
    weight: Number(r.weight),
    overlap: json(r.overlap),
    differential: json(r.differential),
    addresses,
    metricsComputedAt: fp ? fp.fullAt : null,
  };
}
