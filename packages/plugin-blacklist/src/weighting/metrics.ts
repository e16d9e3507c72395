import { TipError, TipErrorCodes } from '@tip/core';
import type { Allowlist } from '../allowlists/allowlist.js';
import { type IpRange, RangeSet, rangeOf } from '../indicators/ip.js';
import type { IndicatorType } from '../indicators/types.js';
import { type WeightFormula, computeWeight, resolveWeightParams } from './formula.js';
import { mean, median } from './stats.js';

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

interface Entry {
  readonly type: IndicatorType;
  readonly value: string;
  /** Source index → earliest firstSeen of its listing records that intersect the window. */
  readonly first: Map<number, number>;
  range?: IpRange | null;
  allowed?: boolean;
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

const isRangeType = (t: IndicatorType): boolean => t === 'ip' || t === 'cidr';

/**
 * Computes every {@link SourceMetrics} of each source in `input.sources`, in O(L + S·M·log R)
 * for L listing records, S sources, M = Σ volumes and R ranges per source: one map from
 * `type\tvalue` to the sources listing it, and one {@link RangeSet} per source for containment.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the bad option (`now`, `windowMs`, `sources`,
 *   `overlapMode`, or a formula parameter).
 */
export function computeSourceMetrics(input: MetricsInput, formula?: WeightFormula): SourceMetrics[] {
  validate(input);
  if (formula !== undefined && typeof formula !== 'function') resolveWeightParams(formula);
  const { now, sources } = input;
  const start = now - input.windowMs;
  const containment = (input.overlapMode ?? 'containment') === 'containment';
  const S = sources.length;
  const index = new Map(sources.map((s, i) => [s, i]));

  // 1. One pass over the listings: window membership, per-indicator sources, lifetimes, churn counts.
  const entries = new Map<string, Entry>();
  const lifetimes: number[][] = sources.map(() => []);
  const changes = new Array<number>(S).fill(0);
  for (const l of input.listings) {
    const si = index.get(l.source);
    if (si === undefined) continue;
    const end = l.removedAt ?? Infinity;
    if (l.firstSeen >= start && l.firstSeen <= now) changes[si]!++;
    if (l.removedAt !== undefined && l.removedAt >= start && l.removedAt <= now) changes[si]!++;
    if (l.firstSeen > now || end < start) continue;
    lifetimes[si]!.push(Math.max(0, Math.min(end, now) - l.firstSeen));
    const key = `${l.type}\t${l.value}`;
    let e = entries.get(key);
    if (!e) entries.set(key, (e = { type: l.type, value: l.value, first: new Map() }));
    const prev = e.first.get(si);
    if (prev === undefined || l.firstSeen < prev) e.first.set(si, l.firstSeen);
  }

  // 2. Members per source, exact pairwise overlap (Σ k² over indicators listed by k sources).
  const members: Entry[][] = sources.map(() => []);
  const exact: Float64Array[] = sources.map(() => new Float64Array(S));
  for (const e of entries.values()) {
    const list = [...e.first.keys()];
    for (const a of list) {
      members[a]!.push(e);
      for (const b of list) if (a !== b) exact[a]![b]!++;
    }
  }

  // 3. Per-source range sets (containment mode only).
  const sets: Array<RangeSet | null> = members.map((m) => {
    if (!containment) return null;
    const ranges: IpRange[] = [];
    for (const e of m) {
      if (!isRangeType(e.type)) continue;
      if (e.range === undefined) e.range = rangeOf(e.value);
      if (e.range) ranges.push(e.range);
    }
    return ranges.length ? new RangeSet(ranges) : null;
  });

  const runs = groupRuns(input, index, start);
  const results: SourceMetrics[] = [];
  for (let a = 0; a < S; a++) {
    const mine = members[a]!;
    const volume = mine.length;
    const inB = new Float64Array(S);
    let inAnyOther = 0;
    let unionOthers: RangeSet | null | undefined;
    const latencies: number[] = [];
    let allowed = 0;
    for (const e of mine) {
      let inOther = false;
      for (let b = 0; b < S; b++) {
        if (b === a) continue;
        const set = sets[b];
        const hit = e.first.has(b) || (e.range != null && set != null && set.contains(e.range));
        if (hit) {
          inB[b]!++;
          inOther = true;
        }
      }
      if (!inOther && e.range != null && e.range.start < e.range.end && intersectsTwo(sets, a, e.range)) {
        // A block inside no single other source may still be covered by their union. (An address
        // in the union is in one source, and one source's ranges are merged, so only blocks that
        // touch two or more other sources need the union, built once per source on demand.)
        if (unionOthers === undefined) unionOthers = buildUnion(members, a);
        inOther = unionOthers?.contains(e.range) ?? false;
      }
      if (inOther) inAnyOther++;
      if (e.first.size > 1) {
        let min = Infinity;
        for (const t of e.first.values()) if (t < min) min = t;
        latencies.push(e.first.get(a)! - min);
      }
      if (input.allowlist) {
        if (e.allowed === undefined) e.allowed = input.allowlist.match(e) !== null;
        if (e.allowed) allowed++;
      }
    }
    const overlap: Record<string, number> = {};
    const overlapExact: Record<string, number> = {};
    const differential: Record<string, number> = {};
    for (let b = 0; b < S; b++) {
      if (b === a) continue;
      const name = sources[b]!;
      overlap[name] = inB[b]!;
      overlapExact[name] = exact[a]![b]!;
      differential[name] = volume === 0 ? 0 : (volume - inB[b]!) / volume;
    }
    const run = runs[a]!;
    const m: Omit<SourceMetrics, 'weight'> = {
      source: sources[a]!,
      volume,
      overlap,
      overlapExact,
      differential,
      exclusive: volume === 0 ? 0 : (volume - inAnyOther) / volume,
      latencyMeanMs: mean(latencies),
      latencyMedianMs: median(latencies),
      persistenceMedianMs: median(lifetimes[a]!),
      churn: changes[a]! / Math.max(1, volume),
      falsePositiveRate: volume === 0 ? 0 : allowed / volume,
      availability: run.availability,
      freshnessMs: run.freshnessMs,
    };
    results.push({ ...m, weight: computeWeight(m, formula, input.expectedIntervalMs?.[sources[a]!] ?? 0) });
  }
  return results;
}

/** Union of the ip/cidr ranges of every source but `a`; null when empty. */
function buildUnion(members: Entry[][], a: number): RangeSet | null {
  const ranges: IpRange[] = [];
  members.forEach((m, b) => {
    if (b === a) return;
    for (const e of m) if (e.range) ranges.push(e.range);
  });
  return ranges.length ? new RangeSet(ranges) : null;
}

function intersectsTwo(sets: ReadonlyArray<RangeSet | null>, a: number, range: IpRange): boolean {
  let n = 0;
  for (let b = 0; b < sets.length; b++) if (b !== a && sets[b]?.intersects(range) && ++n >= 2) return true;
  return false;
}

/** Availability and freshness per source, in one pass over the runs. */
function groupRuns(input: MetricsInput, index: Map<string, number>, start: number): Array<{ availability: number | null; freshnessMs: number | null }> {
  const S = input.sources.length;
  const all = new Array<number>(S).fill(0);
  const ok = new Array<number>(S).fill(0);
  const lastOk = new Array<number>(S).fill(-Infinity);
  for (const r of input.runs) {
    const si = index.get(r.source);
    if (si === undefined || !(r.startedAt <= input.now)) continue;
    if (r.ok && r.startedAt > lastOk[si]!) lastOk[si] = r.startedAt;
    if (r.startedAt < start) continue;
    all[si]!++;
    if (r.ok) ok[si]!++;
  }
  return all.map((n, i) => ({
    availability: n === 0 ? null : ok[i]! / n,
    freshnessMs: lastOk[i] === -Infinity ? null : input.now - lastOk[i]!,
  }));
}
