import { TipError, TipErrorCodes } from '@tip/core';
import type { Allowlist } from '../allowlists/allowlist.js';
import { runSliced, runToEnd, Yielder } from '../ingest/Yielder.js';
import type { IndicatorType } from '../indicators/types.js';
import { type WeightFormula, resolveWeightParams } from './formula.js';
import { CHUNK } from './intervals.js';
import { ListingTableBuilder, type ListingTable } from './listingTable.js';
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
 * How the entry-level `overlap`, `differential` and `exclusive` decide that an indicator of A is
 * "in" B: `containment` (default) — same (type, value), or an ip/cidr of A lies entirely inside B's
 * ip/cidr ranges; `exact` — same (type, value) only. (Counting addresses instead, as
 * `iprange --compare` does, is {@link SourceMetrics.addresses}, computed in both modes.)
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

/**
 * Address-level metrics of one source in one address family over the window (definitions:
 * `docs/blacklist-weighting.md` §2.1). Every count is a number of addresses: exact for IPv4;
 * for IPv6 an exact 128-bit sum rounded to the nearest double (so above 2^53 it is approximate).
 * Overlaps only involve the same family. Same semantics as `iprange --compare`,
 * `--count-unique` and `--exclude-next`.
 */
export interface FamilyAddressMetrics {
  /** Unique addresses A listed at some time in the window (`iprange --count-unique`). */
  volume: number;
  /** Per other source B: addresses listed by both (`iprange --compare` common IPs); 0 when B has none of this family. */
  overlap: Record<string, number>;
  /** Per other source B: \|A ∖ B\| / \|A\| by addresses. */
  differential: Record<string, number>;
  /** \|A ∖ ⋃ others\| / \|A\| by addresses. */
  exclusive: number;
  /** \|A ∖ ⋃ others\|: addresses no other source lists. */
  exclusiveAddresses: number;
  /** Addresses listed at `now` that were not listed just before the window (`iprange now --exclude-next before`). */
  added: number;
  /** Addresses listed just before the window that are not listed at `now` (`iprange before --exclude-next now`). */
  removed: number;
  /** Addresses of A inside the allow-list's IP ranges. */
  falsePositiveAddresses: number;
  /** falsePositiveAddresses / volume. */
  falsePositiveRate: number;
}

/** Address-level metrics of a source per family; null = the source listed no address of that family in the window. */
export interface AddressMetrics {
  /** IPv4 (exact counts). */
  ipv4: FamilyAddressMetrics | null;
  /** IPv6 (counts as doubles). */
  ipv6: FamilyAddressMetrics | null;
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
  /** The same questions answered in addresses, per family (ip/cidr listings only). */
  addresses: AddressMetrics;
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

/** A plain function (optimised while it runs, unlike a generator's loop). */
function addRecords(b: ListingTableBuilder, list: readonly ListingRecord[], index: Map<string, number>, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const l = list[i]!;
    b.add(index.get(l.source) ?? -1, NaN, l.type, l.value, l.firstSeen, l.removedAt);
  }
}

/** The records in columns (indicator ids from a `type\tvalue` map). */
function* toTable(input: MetricsInput, due: () => boolean): Generator<void, ListingTable, void> {
  const index = new Map(input.sources.map((s, i) => [s, i]));
  const b = new ListingTableBuilder(input.allowlist, input.listings.length);
  const list = input.listings;
  for (let i = 0; i < list.length; i += CHUNK) {
    addRecords(b, list, index, i, Math.min(list.length, i + CHUNK));
    yield;
  }
  yield;
  return b.build();
}

function* fromRecords(input: MetricsInput, formula: WeightFormula | undefined, due: () => boolean): Generator<void, SourceMetrics[], void> {
  const table = yield* toTable(input, due);
  return yield* metricsSteps({ ...input, table }, formula, due);
}

/**
 * Computes every {@link SourceMetrics} of each source in `input.sources`, in O(L log L + N log S
 * + E·S·log R) for L listing records, N address-range boundaries, S sources, E entries and R
 * ranges per source: records in typed columns grouped by indicator (counting sort), one merged
 * interval set per source, and one sweep over all sources' boundaries for the address metrics.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the bad option (`now`, `windowMs`, `sources`,
 *   `overlapMode`, or a formula parameter).
 */
export function computeSourceMetrics(input: MetricsInput, formula?: WeightFormula): SourceMetrics[] {
  validate(input);
  if (formula !== undefined && typeof formula !== 'function') resolveWeightParams(formula);
  return runToEnd(fromRecords(input, formula, () => false));
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
  return runSliced(fromRecords(input, formula, () => yielder.due()), yielder);
}

/**
 * {@link computeSourceMetricsAsync} on records already in columns (what the service loads).
 * @internal
 */
export async function computeTableMetricsAsync(input: Omit<MetricsInput, 'listings'>, table: ListingTable, formula?: WeightFormula, yielder = new Yielder()): Promise<SourceMetrics[]> {
  validate({ ...input, listings: [] });
  if (formula !== undefined && typeof formula !== 'function') resolveWeightParams(formula);
  return runSliced(metricsSteps({ ...input, table }, formula, () => yielder.due()), yielder);
}
