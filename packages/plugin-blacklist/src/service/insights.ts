import { executeRaw, TipError, TipErrorCodes, type Database } from '@tip/core';
import type { Indicator } from '../indicators/types.js';
import type { BlacklistCycleCompleted } from '../events.js';
import { storedIndicators } from './lookup.js';

/** Most events {@link indicatorHistory} returns (the most recent ones). */
export const HISTORY_LIMIT = 1000;

/** Listing history of one indicator. */
export interface IndicatorHistory {
  /** The canonical indicator. */
  indicator: Indicator;
  /** Every listing start (`listed`) and end (`unlisted`) by any source, oldest first. */
  events: Array<{
    /** When (epoch ms as a Date). */
    at: Date;
    /** The source id. */
    source: string;
    /** Whether the source started or stopped listing it. */
    action: 'listed' | 'unlisted';
  }>;
  /** True when older events were left out (more than 1,000). */
  truncated: boolean;
}

/**
 * The listing history of an indicator from the stored listing periods (`bl_listing` keeps every
 * period: its start, and its end once the source dropped it), all sources, enabled or not.
 */
export async function indicatorHistory(db: Database, indicator: Indicator): Promise<IndicatorHistory> {
  const [stored] = await storedIndicators(db, [indicator]);
  if (!stored) return { indicator, events: [], truncated: false };
  const ph = db.dialect === 'sqlite' ? '?' : '$1';
  // the most recent periods: a period gives at most 2 events
  const { rows } = await executeRaw<{ source_id: string; first_seen: number | string; removed_at: number | string | null }>(
    db.em(),
    `select source_id, first_seen, removed_at from bl_listing where indicator_id = ${ph} order by first_seen desc, id desc limit ${HISTORY_LIMIT + 1}`,
    [stored.id],
  );
  const events: IndicatorHistory['events'] = [];
  for (const r of rows.slice(0, HISTORY_LIMIT)) {
    events.push({ at: new Date(Number(r.first_seen)), source: r.source_id, action: 'listed' });
    if (r.removed_at !== null) events.push({ at: new Date(Number(r.removed_at)), source: r.source_id, action: 'unlisted' });
  }
  events.sort((a, b) => a.at.getTime() - b.at.getTime() || a.source.localeCompare(b.source) || (a.action === b.action ? 0 : a.action === 'listed' ? -1 : 1));
  const truncated = rows.length > HISTORY_LIMIT || events.length > HISTORY_LIMIT;
  return { indicator, events: events.slice(-HISTORY_LIMIT), truncated };
}

/** A recorded run of a source (a row of `bl_source_run`). */
export interface SourceRunRecord {
  /** The job run id (feeds), else `bl-<row id>` (submissions). */
  runId: string;
  /** When it started. */
  at: Date;
  /** `succeeded`, `unchanged`, `failed` or `rejected`. */
  status: string;
  /** Listings added. */
  added: number;
  /** Listings removed. */
  removed: number;
  /** Listings kept. */
  unchanged: number;
  /** Indicators in the snapshot (feeds) or submitted. */
  records: number;
  /** Invalid lines or values. */
  invalid: number;
  /** How long it took (ms). */
  durationMs: number;
  /** HTTP status of the fetch, when there was one. */
  httpStatus: number | null;
  /** Bytes received. */
  bytes: number;
  /** Why it failed, or null. */
  error: string | null;
}

/** The most recent runs of a source, newest first (`bl_source_run`, through its (source, started) index). */
export async function sourceRuns(db: Database, sourceId: string, limit: number): Promise<SourceRunRecord[]> {
  const ph = db.dialect === 'sqlite' ? '?' : '$1';
  const { rows } = await executeRaw<Record<string, string | number | null>>(
    db.em(),
    `select id, job_run_id, status, started_at, duration_ms, http_status, bytes, records, added, removed, unchanged, invalid, error
     from bl_source_run where source_id = ${ph} order by started_at desc, id desc limit ${Math.max(1, Math.min(1000, Math.trunc(limit)))}`,
    [sourceId],
  );
  return rows.map((r) => ({
    runId: r.job_run_id === null ? `bl-${r.id}` : String(r.job_run_id),
    at: new Date(Number(r.started_at)),
    status: String(r.status),
    added: Number(r.added),
    removed: Number(r.removed),
    unchanged: Number(r.unchanged),
    records: Number(r.records),
    invalid: Number(r.invalid),
    durationMs: Number(r.duration_ms),
    httpStatus: r.http_status === null ? null : Number(r.http_status),
    bytes: Number(r.bytes),
    error: r.error === null ? null : String(r.error),
  }));
}

/** One stored metrics computation of a source (a row of `bl_source_metric`). */
export interface MetricsPoint {
  /** When the cycle computed it. */
  at: Date;
  /** The weight exports used from then on. */
  weight: number;
  /** Distinct indicators listed in the window. */
  volume: number;
  /** Share of its entries no other source lists. */
  exclusive: number;
  /** Listing changes per entry. */
  churn: number;
  /** Share of its entries the allow-list matches. */
  falsePositiveRate: number;
  /** Share of fetch attempts that succeeded; null without runs. */
  availability: number | null;
  /** Age of its data (ms); null when unknown. */
  freshnessMs: number | null;
  /** Median listing latency against the other sources (ms); null when none. */
  latencyMedianMs: number | null;
  /** Median listing persistence (ms); null when none. */
  persistenceMedianMs: number | null;
}

/** The stored metrics of a source over the last cycles, oldest first (at most `limit`, the most recent). */
export async function metricsHistory(db: Database, sourceId: string, limit: number): Promise<MetricsPoint[]> {
  const ph = db.dialect === 'sqlite' ? '?' : '$1';
  const { rows } = await executeRaw<Record<string, string | number | null>>(
    db.em(),
    `select computed_at, weight, volume, exclusive, churn, false_positive_rate, availability, freshness_ms, latency_median_ms, persistence_median_ms
     from bl_source_metric where source_id = ${ph} order by computed_at desc, id desc limit ${Math.max(1, Math.min(1000, Math.trunc(limit)))}`,
    [sourceId],
  );
  const num = (v: string | number | null) => (v === null ? null : Number(v));
  return rows.reverse().map((r) => ({
    at: new Date(Number(r.computed_at)),
    weight: Number(r.weight),
    volume: Number(r.volume),
    exclusive: Number(r.exclusive),
    churn: Number(r.churn),
    falsePositiveRate: Number(r.false_positive_rate),
    availability: num(r.availability),
    freshnessMs: num(r.freshness_ms),
    latencyMedianMs: num(r.latency_median_ms),
    persistenceMedianMs: num(r.persistence_median_ms),
  }));
}

/** The pairwise overlap of the enabled sources. */
export interface OverlapMatrix {
  /** The enabled sources, in matrix order (by id). */
  sources: Array<{
    /** Source id. */
    id: string;
    /** Source title. */
    title: string;
  }>;
  /** `[i][j]`: share of source i's entries also listed by source j (0..1; 1 on the diagonal when i lists anything). */
  matrix: number[][];
  /** `[i][j]`: how many of source i's entries source j lists too; `[i][i]`: i's entries. */
  counts: number[][];
  /**
   * Where the figures come from: `metrics` (the last cycle's stored overlaps, counted per the
   * configured overlap mode) or `listings` (exact (type, value) identity over the current
   * listings, when some enabled source has no stored metrics yet).
   */
  basis: 'metrics' | 'listings';
  /** When the metrics were computed (basis `metrics`). */
  computedAt?: Date;
}

/** Most open listings {@link overlapMatrix} joins when it counts from the listings. */
export const OVERLAP_LISTING_LIMIT = 5_000_000;

/**
 * The pairwise overlap matrix of the enabled sources: from each source's latest stored metrics
 * (its `overlap` per other source and `volume`) when every enabled source has some, else counted
 * from the open listings (exact identity; one grouped self-join, refused past
 * {@link OVERLAP_LISTING_LIMIT} open listings).
 */
export async function overlapMatrix(db: Database): Promise<OverlapMatrix> {
  const sqlite = db.dialect === 'sqlite';
  const enabled = sqlite ? '1' : 'true';
  const { rows: srcRows } = await executeRaw<{ id: string; title: string }>(db.em(), `select id, title from bl_source where enabled = ${enabled} order by id`);
  const sources = srcRows.map((r) => ({ id: r.id, title: r.title }));
  const index = new Map(sources.map((s, k) => [s.id, k]));
  const n = sources.length;
  const counts = sources.map(() => new Array<number>(n).fill(0));
  const { rows: metricRows } = await executeRaw<{ source_id: string; computed_at: number | string; volume: number | string; overlap: string | Record<string, number> }>(
    db.em(),
    `select m.source_id, m.computed_at, m.volume, m.overlap from bl_source_metric m join bl_source s on s.id = m.source_id
     where s.enabled = ${enabled} and m.id = (select m2.id from bl_source_metric m2 where m2.source_id = m.source_id order by m2.computed_at desc, m2.id desc limit 1)`,
  );
  let basis: OverlapMatrix['basis'] = 'listings';
  let computedAt: number | undefined;
  if (n > 0 && metricRows.length === n) {
    basis = 'metrics';
    for (const r of metricRows) {
      const i = index.get(r.source_id)!;
      counts[i]![i] = Number(r.volume);
      const overlap = typeof r.overlap === 'string' ? (JSON.parse(r.overlap) as Record<string, number>) : r.overlap;
      for (const [other, c] of Object.entries(overlap ?? {})) {
        const j = index.get(other);
        if (j !== undefined && j !== i) counts[i]![j] = Number(c);
      }
      computedAt = Math.max(computedAt ?? 0, Number(r.computed_at));
    }
  } else if (n > 0) {
    const { rows: total } = await executeRaw<{ n: number | string }>(
      db.em(),
      `select count(*) as n from bl_listing l join bl_source s on s.id = l.source_id where l.removed_at is null and s.enabled = ${enabled}`,
    );
    if (Number(total[0]?.n ?? 0) > OVERLAP_LISTING_LIMIT) {
      throw new TipError(TipErrorCodes.APP_STATE, `the overlap matrix needs the stored metrics of a cycle past ${OVERLAP_LISTING_LIMIT} open listings: run a blacklist cycle first`);
    }
    const { rows } = await executeRaw<{ a: string; b: string; n: number | string }>(
      db.em(),
      `select a.source_id as a, b.source_id as b, count(*) as n
       from bl_listing a join bl_listing b on b.indicator_id = a.indicator_id and b.removed_at is null
       join bl_source sa on sa.id = a.source_id join bl_source sb on sb.id = b.source_id
       where a.removed_at is null and sa.enabled = ${enabled} and sb.enabled = ${enabled}
       group by a.source_id, b.source_id`,
    );
    for (const r of rows) {
      const i = index.get(r.a);
      const j = index.get(r.b);
      if (i !== undefined && j !== undefined) counts[i]![j] = Number(r.n);
    }
  }
  const matrix = counts.map((row, i) => row.map((c) => (row[i]! > 0 ? Math.min(1, c / row[i]!) : 0)));
  return { sources, matrix, counts, basis, ...(computedAt !== undefined ? { computedAt: new Date(computedAt) } : {}) };
}

/** One completed cycle of the timeline. */
export interface TimelinePoint {
  /** When the cycle completed. */
  at: Date;
  /** Distinct indicators listed by enabled sources after it. */
  listed: number;
  /** Listings added by its feeds. */
  added: number;
  /** Listings removed by its feeds. */
  removed: number;
  /** Run id of the `blacklist` group job. */
  cycleId: string;
}

/** Most points {@link cycleTimeline} returns (the most recent). */
export const TIMELINE_LIMIT = 5000;

/** The recorded cycles completed at or after `since` (epoch ms), oldest first. */
export async function cycleTimeline(db: Database, since: number): Promise<TimelinePoint[]> {
  const ph = db.dialect === 'sqlite' ? '?' : '$1';
  const { rows } = await executeRaw<{ cycle_id: string; at: number | string; listed: number | string; added: number | string; removed: number | string }>(
    db.em(),
    `select cycle_id, at, listed, added, removed from bl_cycle where at >= ${ph} order by at desc, id desc limit ${TIMELINE_LIMIT}`,
    [since],
  );
  return rows.reverse().map((r) => ({ at: new Date(Number(r.at)), listed: Number(r.listed), added: Number(r.added), removed: Number(r.removed), cycleId: r.cycle_id }));
}

/** What is stored about a completed cycle (`bl_cycle`): what the `blacklist.cycle.completed` event tells. */
export type CycleRecord = BlacklistCycleCompleted;

/** Appends a completed cycle to `bl_cycle` with the distinct indicators enabled sources list now. */
export async function recordCycle(db: Database, cycle: CycleRecord, now: number): Promise<void> {
  const sqlite = db.dialect === 'sqlite';
  const { rows } = await executeRaw<{ n: number | string }>(
    db.em(),
    `select count(distinct l.indicator_id) as n from bl_listing l join bl_source s on s.id = l.source_id where l.removed_at is null and s.enabled = ${sqlite ? '1' : 'true'}`,
  );
  const values = [cycle.cycleId.slice(0, 100), now, Number(rows[0]?.n ?? 0), cycle.added, cycle.removed, cycle.sources, cycle.succeeded, cycle.failed];
  await executeRaw(
    db.em(),
    `insert into bl_cycle (cycle_id, at, listed, added, removed, sources, succeeded, failed) values (${values.map((_, k) => (sqlite ? '?' : `$${k + 1}`)).join(', ')})`,
    values,
  );
}
