import { executeRaw, type Database } from '@tip/core';
import { Yielder } from '../ingest/Yielder.js';
import type { Allowlist } from '../allowlists/index.js';
import type { IndicatorType } from '../indicators/types.js';
import { computeSourceMetricsAsync, type ListingRecord, type OverlapMode, type RunRecord, type SourceMetrics, type WeightFormula } from '../weighting/index.js';

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
   * Listing rows read per statement (default {@link LISTING_PAGE_ROWS}); tests set it small.
   * @internal
   */
  pageSize?: number;
}

/**
 * Listing rows read per statement by {@link computeAndStoreWeights}: on SQLite (synchronous) a
 * page of 5,000 rows takes a few ms, and the event loop gets a turn between pages.
 * @internal
 */
export const LISTING_PAGE_ROWS = 5000;

/** A source's metrics and weight as last stored by a cycle (a row of `bl_source_metric`). */
export interface StoredSourceMetrics extends Pick<SourceMetrics, 'source' | 'volume' | 'exclusive' | 'latencyMedianMs' | 'persistenceMedianMs' | 'churn' | 'falsePositiveRate' | 'availability' | 'freshnessMs' | 'weight' | 'overlap' | 'differential'> {
  /** When they were computed (epoch ms). */
  computedAt: number;
  /** Length of the window they cover (ms). */
  windowMs: number;
}

/**
 * Loads the listings and runs of the window, computes every enabled source's metrics and weight,
 * and appends them to `bl_source_metric` (history is kept) unless `store` is false.
 */
export async function computeAndStoreWeights(db: Database, o: WeightRunOptions): Promise<SourceMetrics[]> {
  const em = db.em();
  const ph = (n: number) => (db.dialect === 'sqlite' ? '?' : `$${n}`);
  const from = o.now - o.windowMs;
  const sources = (await executeRaw<{ id: string }>(em, `select id from bl_source where enabled = ${db.dialect === 'sqlite' ? 1 : 'true'} order by id`)).rows.map((r) => r.id);
  if (sources.length === 0) return [];
  const listings = await loadListings(db, from, o.pageSize ?? LISTING_PAGE_ROWS);
  const runs: RunRecord[] = (
    await executeRaw<{ source_id: string; started_at: number | string; status: string }>(em, `select source_id, started_at, status from bl_source_run where started_at >= ${ph(1)}`, [from])
  ).rows.map((r) => ({ source: r.source_id, startedAt: Number(r.started_at), ok: r.status === 'succeeded' || r.status === 'unchanged' }));
  const expected = o.intervalMs ? Object.fromEntries(sources.map((s) => [s, o.intervalMs!])) : undefined;
  const metrics = await computeSourceMetricsAsync(
    { now: o.now, windowMs: o.windowMs, sources, listings, runs, allowlist: o.allowlist, expectedIntervalMs: expected, overlapMode: o.overlap },
    o.formula,
  );
  if (o.store === false) return metrics;
  await db.em().transactional(async (tx) => {
    for (const m of metrics) {
      const values = [m.source, o.now, o.windowMs, m.volume, m.exclusive, m.latencyMedianMs, m.persistenceMedianMs, m.churn, m.falsePositiveRate, m.availability, m.freshnessMs, m.weight, JSON.stringify(m.overlap), JSON.stringify(m.differential)];
      await executeRaw(
        tx,
        `insert into bl_source_metric (source_id, computed_at, window_ms, volume, exclusive, latency_median_ms, persistence_median_ms, churn, false_positive_rate, availability, freshness_ms, weight, overlap, differential)
         values (${values.map((_, i) => ph(i + 1)).join(', ')})`,
        values,
      );
    }
  });
  return metrics;
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
      `select l.id, l.source_id, i.type, i.value, l.first_seen, coalesce(l.last_seen, s.last_success_at, l.first_seen) as last_seen, l.removed_at
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
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : (v ?? {})) as Record<string, number>;
  return rows.map((r) => ({
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
  }));
}
