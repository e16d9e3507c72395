import { TipError, TipErrorCodes } from '@tip/core';
import type { Allowlist } from '../allowlists/allowlist.js';
import { runSliced, runToEnd, Yielder } from '../ingest/Yielder.js';
import type { IndicatorType } from '../indicators/types.js';
import { type WeightFormula, resolveWeightParams } from './formula.js';
import { metricsSteps } from './metricsSteps.js';

/** One listing period of an indicator by a source (times in ms since the epoch). */
export interface ListingRecord {
  /** Source id. */
  source: string;
  /** Indicator type. */
  type: IndicatorType;
  /** Canonical indicator value. */
  value: string;
  /** When the source first listed it (this listing period). */
  firstSeen: number;
  /** When the source last listed it. */
  lastSeen: number;
  /** When the source was seen to have dropped it; unset = still listed. */
  removedAt?: number;
}

/** One fetch attempt of a source. */
export interface RunRecord {
  /** Source id. */
  source: string;
  /** Start of the attempt (ms since the epoch). */
  startedAt: number;
  /** Whether it succeeded. */
  ok: boolean;
}

/**
 * How `overlap`, `differential` and `exclusive` decide that an indicator of A is "in" B:
 * `containment` (default) — same (type, value), or an ip/cidr of A lies entirely inside B's ip/cidr
 * ranges (FireHOL's overlap semantics); `exact` — same (type, value) only.
 */
export type OverlapMode = 'containment' | 'exact';

/** Input of {@link computeSourceMetrics}. */
export interface MetricsInput {
  /** End of the window (ms since the epoch). */
  now: number;
  /** Window length (ms); the window is [now − windowMs, now]. */
  windowMs: number;
  /** Sources to measure, in output order; listings and runs of other sources are ignored. */
  sources: string[];
  /** Listing records. */
  listings: ListingRecord[];
  /** Fetch attempts. */
  runs: RunRecord[];
  /** Allow-list for the false-positive rate (none → rate 0). */
  allowlist?: Allowlist;
  /** Per source, its expected fetch interval (ms): freshness within it is not penalised by the default weight. */
  expectedIntervalMs?: Record<string, number>;
  /** See {@link OverlapMode}; default `containment`. */
  overlapMode?: OverlapMode;
}

/** Quality metrics of one source over the window (definitions: `docs/blacklist-weighting.md`). */
export interface SourceMetrics {
  /** Source id. */
  source: string;
  /** |A|: distinct indicators listed at some time in the window. */
  volume: number;
  /** Per other source B: number of indicators of A that are in B (per {@link OverlapMode}). */
  overlap: Record<string, number>;
  /** Per other source B: |A ∩ B| on exact (type, value) identity, whatever the mode. */
  overlapExact: Record<string, number>;
  /** Per other source B: |A ∖ B| / |A| (per {@link OverlapMode}); 0 when A is empty. */
  differential: Record<string, number>;
  /** |A ∖ ⋃ others| / |A| (per {@link OverlapMode}); 0 when A is empty. */
  exclusive: number;
  /** Median of firstSeen_A − min over sources of firstSeen, over indicators shared with another source; null if none. */
  latencyMedianMs: number | null;
  /** Mean of the same latencies; null if none. */
  latencyMeanMs: number | null;
  /** Median of (removedAt ?? now) − firstSeen over A's listing records in the window; null if none. */
  persistenceMedianMs: number | null;
  /** (records added in W + records removed in W) / max(1, volume). */
  churn: number;
  /** Share of A matching the allow-list. */
  falsePositiveRate: number;
  /** Successful / all fetch attempts started in the window; null without attempts. */
  availability: number | null;
  /** now − start of the last successful fetch (any time up to now); null if never. */
  freshnessMs: number | null;
  /** Weight in [0, 1] (see `computeWeight`). */
  weight: number;
}

function invalid(option: string, message: string, value: unknown): TipError {
  return new TipError(TipErrorCodes.CONFIG_INVALID, `source metrics: ${option} ${message}`, { details: { option, value } });
}

function validate(input: MetricsInput): void {
  if (!Number.isFinite(input.now)) throw invalid('now', 'must be a finite number (ms epoch)', input.now);
  if (!Number.isFinite(input.windowMs) || input.windowMs <= 0) throw invalid('windowMs', 'must be a finite number > 0', input.windowMs);
  if (!Array.isArray(input.sources) || new Set(input.sources).size !== input.sources.length) {
    throw invalid('sources', 'must be an array of distinct source ids', input.sources);
  }
  const mode = input.overlapMode ?? 'containment';
  if (mode !== 'containment' && mode !== 'exact') throw invalid('overlapMode', "must be 'containment' or 'exact'", mode);
}

/**
 * Computes every {@link SourceMetrics} of each source in `input.sources`, in O(L + S·M·log R)
 * for L listing records, S sources, M = Σ volumes and R ranges per source: one map from
 * `type\tvalue` to the sources listing it, and one `RangeSet` per source for containment.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the bad option (`now`, `windowMs`, `sources`,
 *   `overlapMode`, or a formula parameter).
 */
export function computeSourceMetrics(input: MetricsInput, formula?: WeightFormula): SourceMetrics[] {
  validate(input);
  if (formula !== undefined && typeof formula !== 'function') resolveWeightParams(formula);
  return runToEnd(metricsSteps(input, formula, () => false));
}

/**
 * {@link computeSourceMetrics} without blocking the event loop: the same computation (identical
 * results), giving the loop a turn about every 15 ms of work. What the service's weights step
 * uses on a million listings.
 *
 * @param yielder - paces the pauses (default: a new `Yielder` with its default 15 ms slices)
 * @throws TipError `TIP_CONFIG_INVALID`, as {@link computeSourceMetrics} (the promise rejects).
 * @internal
 */
export async function computeSourceMetricsAsync(input: MetricsInput, formula?: WeightFormula, yielder = new Yielder()): Promise<SourceMetrics[]> {
  validate(input);
  if (formula !== undefined && typeof formula !== 'function') resolveWeightParams(formula);
  return runSliced(metricsSteps(input, formula, () => yielder.due()), yielder);
}
