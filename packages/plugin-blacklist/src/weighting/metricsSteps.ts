import type { IpRange } from '../indicators/ip.js';
import { type WeightFormula, computeWeight } from './formula.js';
import {
  type Intervals,
  type Space,
  EMPTY,
  IntervalCollector,
  containsInterval,
  differenceMeasure,
  intersectionMeasure,
  intersectsInterval,
  mergeIntervals,
  CHUNK,
  SegmentCursor,
  sortCoordinates,
  sweep,
  type SweepResult,
} from './intervals.js';
import type { ListingTable } from './listingTable.js';
import type { AddressMetrics, FamilyAddressMetrics, MetricsInput, SourceMetrics } from './metrics.js';
import { mean } from './stats.js';

/** {@link MetricsInput} with the listings already in columns. @internal */
export type TableMetricsInput = Omit<MetricsInput, 'listings'> & { table: ListingTable };

/** Per family, per source: the sets the address metrics need. */
interface FamilySets {
  readonly space: Space;
  /** Addresses listed at some time in the window. */
  readonly window: Intervals[];
  /** Listed just before the window (start of W). */
  readonly before: Intervals[];
  /** Listed at `now`. */
  readonly atNow: Intervals[];
  /** The allow-list's ranges of this family. */
  readonly allow: Intervals;
}

/**
 * The computation of {@link computeSourceMetrics} (input already validated), cut into steps: it
 * yields inside its loops whenever `due()` says the current slice of work is used up, and between
 * big steps (sorts) unconditionally, so the async variant can give the event loop a turn there
 * (a `Yielder` checkpoint); the sync variant drives it through every yield without pausing.
 *
 * Entry level: the records are grouped by indicator with a counting sort (no string keys); the
 * containment tests run against each source's merged address intervals (numbers, binary search),
 * and "inside the union of the others" is "touches no address only this source lists", which the
 * address sweep gives directly.
 * @internal
 */
export function* metricsSteps(input: TableMetricsInput, formula: WeightFormula | undefined, due: () => boolean): Generator<void, SourceMetrics[], void> {
  const { now, sources, table } = input;
  const start = now - input.windowMs;
  const containment = (input.overlapMode ?? 'containment') === 'containment';
  const S = sources.length;
  const L = table.length;

  // 1. One pass over the records: window membership, lifetimes, churn counts, raw address sets.
  const inWindow = new Uint8Array(L);
  // per source its records' lifetimes (sized by its record count: no growth)
  const lifetimes: Float64Array[] = [];
  const nLife = new Int32Array(S);
  const changes = new Array<number>(S).fill(0);
  const perSource = new Int32Array(S);
  for (let r = 0; r < L; r++) if (table.source[r]! >= 0) perSource[table.source[r]!]!++;
  for (let i = 0; i < S; i++) lifetimes.push(new Float64Array(perSource[i]!));
  const raw4 = {
    window: sources.map((_, i) => new IntervalCollector(perSource[i])),
    before: [] as IntervalCollector[],
    atNow: [] as IntervalCollector[],
  };
  const raw6 = { window: sources.map((): IpRange[] => []), before: sources.map((): IpRange[] => []), atNow: sources.map((): IpRange[] => []) };
  // per source: records in W, of which listed before W, listed at now (equal counts → same set)
  const nWin = new Int32Array(S);
  const nBefore = new Int32Array(S);
  const nNow = new Int32Array(S);
  const rowPass = (from: number, to: number): void => {
    for (let r = from; r < to; r++) {
      const si = table.source[r]!;
      if (si < 0) continue;
      const first = table.firstSeen[r]!;
      const removed = table.removedAt[r]!;
      const listed = Number.isNaN(removed);
      if (first >= start && first <= now) changes[si]!++;
      if (!listed && removed >= start && removed <= now) changes[si]!++;
      if (first > now || (!listed && removed < start)) continue;
      const isBefore = first < start;
      const isNow = listed || removed > now;
      inWindow[r] = 1 | (isBefore ? 2 : 0) | (isNow ? 4 : 0);
      nWin[si]!++;
      if (isBefore) nBefore[si]!++;
      if (isNow) nNow[si]!++;
      lifetimes[si]![nLife[si]!++] = Math.max(0, Math.min(listed ? Infinity : removed, now) - first);
      const lo = table.v4lo[r]!;
      if (!Number.isNaN(lo)) raw4.window[si]!.add(lo, table.v4hi[r]!);
      else {
        const r6 = table.v6.get(r);
        if (r6) raw6.window[si]!.push(r6);
      }
    }
  };
  yield* chunked(L, rowPass);
  const same = { before: sources.map((_, i) => nBefore[i] === nWin[i]), atNow: sources.map((_, i) => nNow[i] === nWin[i]) };
  for (let i = 0; i < S; i++) {
    raw4.before.push(new IntervalCollector(same.before[i] ? 1 : nBefore[i]));
    raw4.atNow.push(new IntervalCollector(same.atNow[i] ? 1 : nNow[i]));
  }
  // The sets before W and at now, only for the sources where they differ from the window's.
  if (same.before.includes(false) || same.atNow.includes(false)) {
    const edgePass = (from: number, to: number): void => {
      for (let r = from; r < to; r++) {
        const f = inWindow[r]!;
        if (f === 0) continue;
        const si = table.source[r]!;
        const b = (f & 2) !== 0 && !same.before[si];
        const n = (f & 4) !== 0 && !same.atNow[si];
        if (!b && !n) continue;
        const lo = table.v4lo[r]!;
        if (!Number.isNaN(lo)) {
          if (b) raw4.before[si]!.add(lo, table.v4hi[r]!);
          if (n) raw4.atNow[si]!.add(lo, table.v4hi[r]!);
        } else {
          const r6 = table.v6.get(r);
          if (r6 && b) raw6.before[si]!.push(r6);
          if (r6 && n) raw6.atNow[si]!.push(r6);
        }
      }
    };
    yield* chunked(L, edgePass);
  }

  // 2. Merged address sets per source and family (IPv6 in rank space over its boundaries).
  yield;
  const allowRanges = input.allowlist?.ipRanges() ?? [];
  const v4 = yield* familySets({}, raw4, collect4(allowRanges), same, due);
  const coords = v6Coords([...raw6.window.flat(), ...allowRanges.filter((r) => r.version === 6)]);
  const rank = (x: bigint): number => lowerBound(coords, x);
  const toRanks = (list: readonly IpRange[]): IntervalCollector => {
    const c = new IntervalCollector();
    for (const r of list) if (r.version === 6) c.add(rank(r.start), rank(r.end + 1n));
    return c;
  };
  const v6 = yield* familySets(
    { coords },
    { window: raw6.window.map(toRanks), before: raw6.before.map(toRanks), atNow: raw6.atNow.map(toRanks) },
    toRanks(allowRanges),
    same,
    due,
  );

  // 3. The sweep: per family, the measure of every covering-source set and each source's own part.
  const sweep4 = yield* sweep(v4.window, v4.space, containment);
  const sweep6 = yield* sweep(v6.window, v6.space, containment);

  // 4. Entry level, one group of records per indicator (the table is sorted by indicator).
  const volume = new Float64Array(S);
  const exact = new Float64Array(S * S);
  const inB = new Float64Array(S * S);
  const inAnyOther = new Float64Array(S);
  const allowed = new Float64Array(S);
  const latencies: number[][] = sources.map(() => []);
  const stamp = new Int32Array(S).fill(-1);
  const firstOf = new Float64Array(S);
  const list = new Int32Array(S);
  const cursor4 = new SegmentCursor(sweep4.segments);
  const cursor6 = new SegmentCursor(sweep6.segments);
  /** Processes the groups (runs of one indicator) starting in [from, limit); returns where the next one starts. */
  const groupPass = (from: number, limit: number): number => {
    const { source, firstSeen, v4lo, v4hi, indicator } = table;
    let g = from;
    while (g < limit) {
      const ind = indicator[g]!;
      let end = g + 1;
      while (end < L && indicator[end] === ind) end++;
      const groupStart = g;
      g = end;
      let k = 0;
      let min = Infinity;
      let rep = -1;
      for (let r = groupStart; r < end; r++) {
        if (!inWindow[r]) continue;
        if (rep < 0) rep = r;
        const si = source[r]!;
        const f = firstSeen[r]!;
        if (stamp[si] !== ind) {
          stamp[si] = ind;
          firstOf[si] = f;
          list[k++] = si;
        } else if (f < firstOf[si]!) firstOf[si] = f;
        if (f < min) min = f;
      }
      if (rep < 0) continue;
      let lo = v4lo[rep]!;
      let hi = NaN;
      let fam: FamilySets | null = null;
      let sw: SweepResult | null = null;
      let cursor: SegmentCursor | null = null;
      if (!Number.isNaN(lo)) {
        hi = v4hi[rep]!;
        fam = v4;
        sw = sweep4;
        cursor = cursor4;
      } else {
        const r6 = table.v6.get(rep);
        if (r6) {
          lo = rank(r6.start);
          hi = rank(r6.end + 1n);
          fam = v6;
          sw = sweep6;
          cursor = cursor6;
        }
      }
      // Inside one elementary segment (every single address, most blocks): the sources containing
      // the entry are exactly that segment's covering set, whatever the number of sources.
      const seg = containment && cursor ? cursor.find(lo, hi) : -1;
      const cls = seg >= 0 ? sw!.segments.cls[seg]! : -1;
      const covering = cls >= 0 ? sw!.classes[cls]!.members : null;
      const isAllowed = table.allowed[rep] === 1;
      for (let x = 0; x < k; x++) {
        const a = list[x]!;
        volume[a]!++;
        if (isAllowed) allowed[a]!++;
        if (k > 1) latencies[a]!.push(firstOf[a]! - min);
        for (let y = 0; y < k; y++) if (y !== x) exact[a * S + list[y]!]!++;
        if (covering) {
          for (let y = 0; y < covering.length; y++) if (covering[y] !== a) inB[a * S + covering[y]!]!++;
          if (covering.length > 1) inAnyOther[a]!++;
        } else if (containment && fam) {
          for (let b = 0; b < S; b++) {
            if (b === a) continue;
            if (stamp[b] === ind || containsInterval(fam.window[b]!, lo, hi)) inB[a * S + b]!++;
          }
          // inside ⋃ others ⇔ touches no address that only A lists
          if (k > 1 || !intersectsInterval(sw!.only[a]!, lo, hi)) inAnyOther[a]!++;
        } else {
          for (let y = 0; y < k; y++) if (y !== x) inB[a * S + list[y]!]!++;
          if (k > 1) inAnyOther[a]!++;
        }
      }
    }
    return g;
  };
  for (let r = 0; r < L; ) {
    r = groupPass(r, Math.min(L, r + CHUNK));
    yield;
  }

  // 5. Address metrics per family from the covering sets.
  yield;
  const addr4 = familyMetrics(sources, v4, sweep4);
  const addr6 = familyMetrics(sources, v6, sweep6);

  const runs = yield* groupRuns(input, start, due);
  const results: SourceMetrics[] = [];
  for (let a = 0; a < S; a++) {
    const vol = volume[a]!;
    const overlap: Record<string, number> = {};
    const overlapExact: Record<string, number> = {};
    const differential: Record<string, number> = {};
    for (let b = 0; b < S; b++) {
      if (b === a) continue;
      const name = sources[b]!;
      overlap[name] = inB[a * S + b]!;
      overlapExact[name] = exact[a * S + b]!;
      differential[name] = vol === 0 ? 0 : (vol - inB[a * S + b]!) / vol;
    }
    const run = runs[a]!;
    yield; // between big steps: each median sorts up to a million numbers
    const latencyMedianMs = fastMedian(latencies[a]!);
    yield;
    const persistenceMedianMs = fastMedian(lifetimes[a]!.subarray(0, nLife[a]!));
    yield;
    const addresses: AddressMetrics = { ipv4: addr4[a]!, ipv6: addr6[a]! };
    const m: Omit<SourceMetrics, 'weight'> = {
      source: sources[a]!,
      volume: vol,
      overlap,
      overlapExact,
      differential,
      exclusive: vol === 0 ? 0 : (vol - inAnyOther[a]!) / vol,
      latencyMeanMs: mean(latencies[a]!),
      latencyMedianMs,
      persistenceMedianMs,
      churn: changes[a]! / Math.max(1, vol),
      falsePositiveRate: vol === 0 ? 0 : allowed[a]! / vol,
      availability: run.availability,
      freshnessMs: run.freshnessMs,
      addresses,
    };
    results.push({ ...m, weight: computeWeight(m, formula, input.expectedIntervalMs?.[sources[a]!] ?? 0) });
  }
  return results;
}

/**
 * Runs `fn` over [0, n) in chunks of {@link CHUNK}, yielding between them. The loops live in plain
 * closures, not in the generator: V8 optimises a hot loop of a plain function while it runs (OSR),
 * not one of a generator.
 */
function* chunked(n: number, fn: (from: number, to: number) => void): Generator<void, void, void> {
  for (let i = 0; i < n; i += CHUNK) {
    fn(i, Math.min(n, i + CHUNK));
    yield;
  }
}

function collect4(ranges: readonly IpRange[]): IntervalCollector {
  const c = new IntervalCollector();
  for (const r of ranges) if (r.version === 4) c.add(Number(r.start), Number(r.end) + 1);
  return c;
}

function* familySets(
  space: Space,
  raw: { window: IntervalCollector[]; before: IntervalCollector[]; atNow: IntervalCollector[] },
  allow: IntervalCollector,
  same: { before: boolean[]; atNow: boolean[] },
  due: () => boolean,
): Generator<void, FamilySets, void> {
  const merge = function* (list: IntervalCollector[], reuse?: { sets: Intervals[]; same: boolean[] }): Generator<void, Intervals[], void> {
    const out: Intervals[] = [];
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      // the same records as the window's → the same set, no second sort
      if (reuse?.same[i]) out.push(reuse.sets[i]!);
      else out.push(c.size === 0 ? EMPTY : mergeIntervals(c));
      if (c.size > 0 || due()) yield; // a merge sorts up to a million numbers
    }
    return out;
  };
  const window = yield* merge(raw.window);
  return {
    space,
    window,
    before: yield* merge(raw.before, { sets: window, same: same.before }),
    atNow: yield* merge(raw.atNow, { sets: window, same: same.atNow }),
    allow: mergeIntervals(allow),
  };
}

function familyMetrics(sources: readonly string[], fam: FamilySets, sweepResult: SweepResult): Array<FamilyAddressMetrics | null> {
  const S = sources.length;
  const { classes, direct } = sweepResult;
  const vol = direct ? direct.volume.slice() : new Float64Array(S);
  const common = direct ? direct.common.slice() : new Float64Array(S * S);
  const own = direct ? direct.own.slice() : new Float64Array(S);
  if (!direct) for (const c of classes) {
    const v = c.measure.value;
    const m = c.members;
    if (m.length === 1) own[m[0]!]! += v;
    for (let x = 0; x < m.length; x++) {
      vol[m[x]!]! += v;
      for (let y = 0; y < m.length; y++) if (y !== x) common[m[x]! * S + m[y]!]! += v;
    }
  }
  return sources.map((_, a) => {
    const volume = vol[a]!;
    if (volume === 0) return null;
    const overlap: Record<string, number> = {};
    const differential: Record<string, number> = {};
    for (let b = 0; b < S; b++) {
      if (b === a) continue;
      overlap[sources[b]!] = common[a * S + b]!;
      differential[sources[b]!] = (volume - common[a * S + b]!) / volume;
    }
    const fp = intersectionMeasure(fam.window[a]!, fam.allow, fam.space);
    return {
      volume,
      overlap,
      differential,
      exclusive: own[a]! / volume,
      exclusiveAddresses: own[a]!,
      added: differenceMeasure(fam.atNow[a]!, fam.before[a]!, fam.space),
      removed: differenceMeasure(fam.before[a]!, fam.atNow[a]!, fam.space),
      falsePositiveAddresses: fp,
      falsePositiveRate: fp / volume,
    };
  });
}

/** Sorted distinct boundaries (start and end + 1) of IPv6 ranges. */
function v6Coords(ranges: readonly IpRange[]): bigint[] {
  const all: bigint[] = [];
  for (const r of ranges) if (r.version === 6) all.push(r.start, r.end + 1n);
  all.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const out: bigint[] = [];
  for (const x of all) if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  return out;
}

function lowerBound(list: readonly bigint[], x: bigint): number {
  let a = 0;
  let b = list.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (list[m]! < x) a = m + 1;
    else b = m;
  }
  return a;
}

/** Availability and freshness per source, in one pass over the runs. */
function* groupRuns(input: TableMetricsInput, start: number, due: () => boolean): Generator<void, Array<{ availability: number | null; freshnessMs: number | null }>, void> {
  return yield* runTerms(input.runs, input.sources, input.now, start, due);
}

/**
 * Availability and freshness per source from the runs (the cheap, run-derived terms).
 * @internal
 */
export function* runTerms(
  runs: MetricsInput['runs'],
  sources: readonly string[],
  now: number,
  start: number,
  due: () => boolean,
): Generator<void, Array<{ availability: number | null; freshnessMs: number | null }>, void> {
  const S = sources.length;
  const index = new Map(sources.map((s, i) => [s, i]));
  const all = new Array<number>(S).fill(0);
  const ok = new Array<number>(S).fill(0);
  const lastOk = new Array<number>(S).fill(-Infinity);
  for (const r of runs) {
    if (due()) yield;
    const si = index.get(r.source);
    if (si === undefined || !(r.startedAt <= now)) continue;
    if (r.ok && r.startedAt > lastOk[si]!) lastOk[si] = r.startedAt;
    if (r.startedAt < start) continue;
    all[si]!++;
    if (r.ok) ok[si]!++;
  }
  return all.map((n, i) => ({
    availability: n === 0 ? null : ok[i]! / n,
    freshnessMs: lastOk[i] === -Infinity ? null : now - lastOk[i]!,
  }));
}

/**
 * `median` (stats.ts) without sorting: a quickselect (three-way partitions, median-of-three pivots;
 * after more rounds than 2·log2(n) + 8 it sorts instead, so no input makes it quadratic). The same
 * value for finite numbers. A `Float64Array` argument is reordered in place (the caller's scratch).
 * @internal
 */
export function fastMedian(values: readonly number[] | Float64Array): number | null {
  const n = values.length;
  if (n === 0) return null;
  const a = values instanceof Float64Array ? values : Float64Array.from(values);
  const mid = n >> 1;
  const hiVal = selectKth(a, mid);
  if (n % 2 === 1) return hiVal;
  // a[0, mid) now holds the mid smallest: the largest of them is the other middle value
  let loVal = -Infinity;
  for (let i = 0; i < mid; i++) if (a[i]! > loVal) loVal = a[i]!;
  return (loVal + hiVal) / 2;
}

/** The k-th smallest of `a` (0-based), leaving a[0, k) ≤ a[k] ≤ a(k, n). */
function selectKth(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  let rounds = 2 * Math.log2(a.length + 1) + 8;
  while (lo < hi) {
    if (rounds-- <= 0) {
      sortCoordinates(a.subarray(lo, hi + 1));
      return a[k]!;
    }
    const x = a[lo]!;
    const y = a[(lo + hi) >> 1]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = a[i]!;
      if (v < pivot) {
        a[i] = a[lt]!;
        a[lt++] = v;
        i++;
      } else if (v > pivot) {
        a[i] = a[gt]!;
        a[gt--] = v;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
  return a[k]!;
}
