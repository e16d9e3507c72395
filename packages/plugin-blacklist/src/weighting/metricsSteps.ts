import { type IpRange, RangeSet, rangeOf } from '../indicators/ip.js';
import type { IndicatorType } from '../indicators/types.js';
import { type WeightFormula, computeWeight } from './formula.js';
import type { MetricsInput, SourceMetrics } from './metrics.js';
import { mean } from './stats.js';

interface Entry {
  readonly type: IndicatorType;
  readonly value: string;
  /** Source index → earliest firstSeen of its listing records that intersect the window. */
  readonly first: Map<number, number>;
  range?: IpRange | null;
  allowed?: boolean;
}

const isRangeType = (t: IndicatorType): boolean => t === 'ip' || t === 'cidr';

/**
 * The computation of {@link computeSourceMetrics} (input already validated), cut into steps: it
 * yields inside its loops whenever `due()` says the current slice of work is used up, and between
 * big steps (sorts) unconditionally, so the async variant can give the event loop a turn there
 * (a `Yielder` checkpoint); the sync variant drives it through every yield without pausing.
 * @internal
 */
export function* metricsSteps(input: MetricsInput, formula: WeightFormula | undefined, due: () => boolean): Generator<void, SourceMetrics[], void> {
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
    if (due()) yield;
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
    if (due()) yield;
    const list = [...e.first.keys()];
    for (const a of list) {
      members[a]!.push(e);
      for (const b of list) if (a !== b) exact[a]![b]!++;
    }
  }

  // 3. Per-source range sets (containment mode only; a set is only read for the other sources, so
  // a single source needs none: building one for a million ranges takes seconds).
  const sets: Array<RangeSet | null> = [];
  for (const m of members) {
    if (!containment || S < 2) {
      sets.push(null);
      continue;
    }
    const ranges: IpRange[] = [];
    for (const e of m) {
      if (due()) yield;
      if (!isRangeType(e.type)) continue;
      if (e.range === undefined) e.range = rangeOf(e.value);
      if (e.range) ranges.push(e.range);
    }
    yield; // a range set sorts its ranges
    sets.push(ranges.length ? new RangeSet(ranges) : null);
  }

  const runs = yield* groupRuns(input, index, start, due);
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
      if (due()) yield;
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
        if (unionOthers === undefined) unionOthers = yield* buildUnion(members, a, due);
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
    yield; // between big steps: each median sorts up to a million numbers
    const latencyMedianMs = fastMedian(latencies);
    yield;
    const persistenceMedianMs = fastMedian(lifetimes[a]!);
    yield;
    const m: Omit<SourceMetrics, 'weight'> = {
      source: sources[a]!,
      volume,
      overlap,
      overlapExact,
      differential,
      exclusive: volume === 0 ? 0 : (volume - inAnyOther) / volume,
      latencyMeanMs: mean(latencies),
      latencyMedianMs,
      persistenceMedianMs,
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
function* buildUnion(members: Entry[][], a: number, due: () => boolean): Generator<void, RangeSet | null, void> {
  const ranges: IpRange[] = [];
  for (let b = 0; b < members.length; b++) {
    if (b === a) continue;
    for (const e of members[b]!) {
      if (due()) yield;
      if (e.range) ranges.push(e.range);
    }
  }
  return ranges.length ? new RangeSet(ranges) : null;
}

function intersectsTwo(sets: ReadonlyArray<RangeSet | null>, a: number, range: IpRange): boolean {
  let n = 0;
  for (let b = 0; b < sets.length; b++) if (b !== a && sets[b]?.intersects(range) && ++n >= 2) return true;
  return false;
}

/** Availability and freshness per source, in one pass over the runs. */
function* groupRuns(input: MetricsInput, index: Map<string, number>, start: number, due: () => boolean): Generator<void, Array<{ availability: number | null; freshnessMs: number | null }>, void> {
  const S = input.sources.length;
  const all = new Array<number>(S).fill(0);
  const ok = new Array<number>(S).fill(0);
  const lastOk = new Array<number>(S).fill(-Infinity);
  for (const r of input.runs) {
    if (due()) yield;
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

/**
 * `median` (stats.ts) of a copy sorted as a `Float64Array` (a native numeric sort, several times faster
 * than `Array#sort` with a comparator on a million numbers); the same value for finite numbers.
 */
function fastMedian(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
