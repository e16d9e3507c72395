/**
 * Numeric interval sets and the multi-source sweep behind the address-level metrics.
 *
 * Coordinates are plain numbers: IPv4 addresses themselves (exact: < 2^32), IPv6 addresses as
 * ranks into a sorted array of every IPv6 boundary in play ({@link Space.coords}), so one code path
 * serves both families and no bigint is touched per address. Measures (address counts) are exact:
 * IPv4 sums stay far below 2^53, IPv6 sums are accumulated as bigint and rounded to the nearest
 * double only at the end.
 * @internal
 */

import { toOffsets } from '../util/radix.js';

/** Sorted, disjoint, non-adjacent half-open intervals [start[i], end[i]). @internal */
export interface Intervals {
  readonly start: Float64Array;
  readonly end: Float64Array;
}

/** How to measure a coordinate interval: IPv4 directly, IPv6 through its boundary array. @internal */
export interface Space {
  /** Sorted distinct IPv6 boundaries (rank → address); undefined for IPv4. */
  readonly coords?: readonly bigint[];
}

/** An exact sum of interval lengths in a {@link Space}. @internal */
export class Measure {
  n = 0;
  b = 0n;
  constructor(readonly space: Space) {}
  add(p: number, q: number): void {
    const c = this.space.coords;
    if (c) this.b += c[q]! - c[p]!;
    else this.n += q - p;
  }
  /** The sum (IPv6: rounded to the nearest double). */
  get value(): number {
    return this.space.coords ? Number(this.b) : this.n;
  }
}

/** A growable Float64Array (public fields: hot path, kept monomorphic). @internal */
export class F64List {
  a: Float64Array;
  length = 0;
  constructor(capacity = 16) {
    this.a = new Float64Array(Math.max(1, capacity));
  }
  push(x: number): void {
    if (this.length === this.a.length) this.grow();
    this.a[this.length++] = x;
  }
  grow(): void {
    const b = new Float64Array(this.a.length * 2);
    b.set(this.a);
    this.a = b;
  }
  /** The last element (undefined when empty). */
  toArrayLast(): number | undefined {
    return this.length > 0 ? this.a[this.length - 1] : undefined;
  }
  /** Overwrites the last element. */
  setLast(x: number): void {
    this.a[this.length - 1] = x;
  }
  /** The content: a view of the buffer when it is at least half full (no copy at the peak), else a copy. */
  toArray(): Float64Array {
    return this.length * 2 >= this.a.length ? this.a.subarray(0, this.length) : this.a.slice(0, this.length);
  }
}

/** Raw half-open intervals [lo, hi) of one set, in any order, possibly overlapping. @internal */
export class IntervalCollector {
  readonly lo: F64List;
  readonly hi: F64List;
  constructor(capacity = 16) {
    this.lo = new F64List(capacity);
    this.hi = new F64List(capacity);
  }
  add(lo: number, hi: number): void {
    this.lo.push(lo);
    this.hi.push(hi);
  }
  get size(): number {
    return this.lo.length;
  }
}

export const EMPTY: Intervals = Object.freeze({ start: new Float64Array(0), end: new Float64Array(0) });

/**
 * Merges raw intervals into an {@link Intervals} set (overlapping and adjacent ones joined). The
 * starts and the ends are sorted separately (native numeric sorts): the coverage count at any point
 * is #starts ≤ x − #ends ≤ x, so pairing them back is not needed.
 */
export function mergeIntervals(raw: IntervalCollector): Intervals {
  const n = raw.size;
  if (n === 0) return EMPTY;
  // records sorted by indicator come in address order: then one pass with a running end, no sort
  if (isSorted(raw.lo.a, n)) return mergeSortedStarts(raw.lo.a, raw.hi.a, n);
  const s = sortIfNeeded(raw.lo.toArray());
  const e = sortIfNeeded(raw.hi.toArray());
  const outS = new Float64Array(n);
  const outE = new Float64Array(n);
  let i = 0;
  let j = 0;
  let c = 0;
  let open = 0;
  let k = 0;
  while (j < n) {
    if (i < n && s[i]! <= e[j]!) {
      // a start at the same point as an end comes first: adjacent intervals merge
      if (c++ === 0) open = s[i]!;
      i++;
    } else {
      if (--c === 0) {
        outS[k] = open;
        outE[k++] = e[j]!;
      }
      j++;
    }
  }
  return k * 2 >= n ? { start: outS.subarray(0, k), end: outE.subarray(0, k) } : { start: outS.slice(0, k), end: outE.slice(0, k) };
}

function isSorted(a: Float64Array, n: number): boolean {
  for (let i = 1; i < n; i++) if (a[i]! < a[i - 1]!) return false;
  return true;
}

/** {@link mergeIntervals} of pairs whose starts ascend: a new interval starts past the running end. */
function mergeSortedStarts(lo: Float64Array, hi: Float64Array, n: number): Intervals {
  const outS = new Float64Array(n);
  const outE = new Float64Array(n);
  let k = 0;
  let open = lo[0]!;
  let end = hi[0]!;
  for (let i = 1; i < n; i++) {
    const l = lo[i]!;
    const h = hi[i]!;
    if (l <= end) {
      // overlapping or adjacent: joined
      if (h > end) end = h;
    } else {
      outS[k] = open;
      outE[k++] = end;
      open = l;
      end = h;
    }
  }
  outS[k] = open;
  outE[k++] = end;
  return k * 2 >= n ? { start: outS.subarray(0, k), end: outE.subarray(0, k) } : { start: outS.slice(0, k), end: outE.slice(0, k) };
}

function sortIfNeeded(a: Float64Array): Float64Array {
  for (let i = 1; i < a.length; i++) if (a[i]! < a[i - 1]!) return sortCoordinates(a);
  return a;
}

/**
 * Sorts non-negative integers below 2^44 (coordinates: IPv4 addresses and ends, IPv6 ranks; also
 * shifted keys and durations in ms) ascending: LSD radix sort (two passes of 16 bits below 2^32,
 * else passes of 11 bits), several times faster than the native sort on a million numbers; the
 * native sort for short arrays or anything else.
 */
export function sortCoordinates(a: Float64Array): Float64Array {
  const n = a.length;
  if (n < 2048) return a.sort();
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = a[i]!;
    if (!(v >= 0 && v < 17592186044416 && Math.floor(v) === v)) return a.sort();
    if (v > max) max = v;
  }
  if (max < 4294967296) {
    // 32-bit integers: two passes of 16 bits on a Uint32Array (integer ops only)
    let u = Uint32Array.from(a);
    let t = new Uint32Array(n);
    const c16 = new Int32Array(65536);
    for (let shift = 0; shift < 32; shift += 16) {
      c16.fill(0);
      for (let i = 0; i < n; i++) c16[(u[i]! >>> shift) & 65535]!++;
      toOffsets(c16);
      for (let i = 0; i < n; i++) {
        const v = u[i]!;
        t[c16[(v >>> shift) & 65535]!++] = v;
      }
      const x = u;
      u = t;
      t = x;
    }
    for (let i = 0; i < n; i++) a[i] = u[i]!;
    return a;
  }
  let passes = 0;
  for (let m = max; m >= 1; m = Math.floor(m / 2048)) passes++;
  let src: Float64Array = a;
  let dst: Float64Array = new Float64Array(n);
  const count = new Int32Array(2048);
  for (let pass = 0, div = 1; pass < passes; pass++, div *= 2048) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[Math.floor(src[i]! / div) & 2047]!++;
    toOffsets(count);
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      dst[count[Math.floor(v / div) & 2047]!++] = v;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== a) a.set(src);
  return a;
}

/**
 * {@link segmentOf} for lookups in mostly increasing order: gallops forward from the previous hit
 * and bisects only when the position goes back.
 */
export class SegmentCursor {
  #at = 0;
  constructor(readonly segments: SweepResult['segments']) {}
  find(lo: number, hi: number): number {
    const s = this.segments.lo;
    const n = s.length;
    let a = 0;
    let b = n;
    const at = this.#at;
    if (at < n && s[at]! <= lo) {
      a = at;
      let step = 1;
      while (a + step < n && s[a + step]! <= lo) {
        a += step;
        step *= 2;
      }
      b = Math.min(n, a + step);
      // invariant: s[a] <= lo; find the last index with s <= lo in [a, b)
      a++;
    }
    while (a < b) {
      const m = (a + b) >> 1;
      if (s[m]! <= lo) a = m + 1;
      else b = m;
    }
    a--;
    if (a < 0) return -1;
    this.#at = a;
    return hi <= this.segments.hi[a]! ? a : -1;
  }
}

/** True when [lo, hi) lies inside one interval of `set`. */
export function containsInterval(set: Intervals, lo: number, hi: number): boolean {
  const i = lastStartAtOrBefore(set, lo);
  return i >= 0 && hi <= set.end[i]!;
}

/** True when [lo, hi) shares a point with `set`. */
export function intersectsInterval(set: Intervals, lo: number, hi: number): boolean {
  // first interval whose end > lo
  const { start, end } = set;
  let a = 0;
  let b = end.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (end[m]! <= lo) a = m + 1;
    else b = m;
  }
  return a < end.length && start[a]! < hi;
}

function lastStartAtOrBefore(set: Intervals, x: number): number {
  const start = set.start;
  let a = 0;
  let b = start.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (start[m]! <= x) a = m + 1;
    else b = m;
  }
  return a - 1;
}

/** Size of `set`. */
export function measureOf(set: Intervals, space: Space): number {
  const m = new Measure(space);
  for (let i = 0; i < set.start.length; i++) m.add(set.start[i]!, set.end[i]!);
  return m.value;
}

/** Size of a ∩ b (two-pointer walk). */
export function intersectionMeasure(a: Intervals, b: Intervals, space: Space): number {
  const m = new Measure(space);
  let i = 0;
  let j = 0;
  while (i < a.start.length && j < b.start.length) {
    const lo = Math.max(a.start[i]!, b.start[j]!);
    const hi = Math.min(a.end[i]!, b.end[j]!);
    if (lo < hi) m.add(lo, hi);
    if (a.end[i]! < b.end[j]!) i++;
    else j++;
  }
  return m.value;
}

/** Size of a ∖ b. */
export function differenceMeasure(a: Intervals, b: Intervals, space: Space): number {
  const all = new Measure(space);
  const common = new Measure(space);
  for (let i = 0; i < a.start.length; i++) all.add(a.start[i]!, a.end[i]!);
  let i = 0;
  let j = 0;
  while (i < a.start.length && j < b.start.length) {
    const lo = Math.max(a.start[i]!, b.start[j]!);
    const hi = Math.min(a.end[i]!, b.end[j]!);
    if (lo < hi) common.add(lo, hi);
    if (a.end[i]! < b.end[j]!) i++;
    else j++;
  }
  return space.coords ? Number(all.b - common.b) : all.n - common.n;
}

/** Addresses covered by exactly one set of sources (one entry per distinct covering set). @internal */
export interface CoverClass {
  /** Indices of the covering sources, ascending. */
  readonly members: Int32Array;
  /** Addresses covered by exactly these sources. */
  readonly measure: Measure;
}

/** Result of {@link sweep}. @internal */
export interface SweepResult {
  /** Every distinct covering set with its measure. */
  readonly classes: CoverClass[];
  /** Per source, the addresses no other source covers. */
  readonly only: Intervals[];
  /** The elementary segments [lo, hi) in address order with the index of their covering class (when recorded). */
  readonly segments: { readonly lo: Float64Array; readonly hi: Float64Array; readonly cls: Int32Array };
  /**
   * IPv4 (numbers): every segment added up directly — per source its volume and own part, per
   * ordered pair (a·S + b) the common part — so the classes only serve the segments' covering sets
   * and their number can be capped; null for IPv6, whose class measures are exact bigint sums.
   */
  readonly direct: { readonly volume: Float64Array; readonly own: Float64Array; readonly common: Float64Array } | null;
}

/**
 * Most covering classes kept for the segments (IPv4); a segment whose covering set would be a new
 * class beyond it gets class -1, and its entries are tested source by source instead. Bounds the
 * memory when many big blocks overlap in ever new combinations. @internal
 */
export const SWEEP_LIMITS = { classCap: 1 << 20 };

/** Index of the segment containing [lo, hi) entirely, or -1 when it spans several (or none). */
export function segmentOf(segments: SweepResult['segments'], lo: number, hi: number): number {
  const s = segments.lo;
  let a = 0;
  let b = s.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (s[m]! <= lo) a = m + 1;
    else b = m;
  }
  a--;
  return a >= 0 && hi <= segments.hi[a]! ? a : -1;
}

/**
 * One sweep over the boundaries of all sources' merged sets at once (a k-way merge through a
 * binary heap keyed by each source's next boundary): every elementary segment between two
 * consecutive boundaries is added to the measure of its covering-source set. O(N log S) for N
 * boundaries and S sources; the pairwise figures are derived from the (few) distinct covering
 * sets afterwards, not per segment. `recordSegments` keeps the segments (for entry-level containment).
 */
export function* sweep(sets: readonly Intervals[], space: Space, recordSegments = true): Generator<void, SweepResult, void> {
  // The loop lives in a class method, not in this generator: V8 optimises hot loops of plain
  // functions on the fly (OSR) but not those of a generator, which would run several times slower.
  const sw = new Sweeper(sets, space, recordSegments);
  while (!sw.run(CHUNK)) yield;
  return sw.result();
}

/** Work units (events, records) between two yields of the metrics steps: well under a millisecond. @internal */
export const CHUNK = 4096;

class Sweeper {
  readonly S: number;
  readonly ptr: Int32Array;
  readonly inside: Uint8Array;
  readonly key: Float64Array;
  readonly heap: Int32Array;
  size = 0;
  readonly only: Array<{ lo: F64List; hi: F64List }>;
  readonly byKey = new Map<number | string, CoverClass & { index: number }>();
  readonly classes: Array<CoverClass & { index: number }> = [];
  // segments ≤ distinct boundary positions − 1: sized once (no growth, no copies at the peak)
  readonly segLo: F64List;
  readonly segHi: F64List;
  readonly segCls: Int32Array;
  segN = 0;
  readonly small: boolean;
  /** S ≤ 16: class index by covering mask (−1 = none yet). */
  readonly byMask: Int32Array | null;
  maskLo = 0;
  maskHi = 0;
  active = 0;
  xor = 0;
  current: (CoverClass & { index: number }) | null = null;
  dirty = true;
  prev = 0;
  /** The active sources (unordered) and each one's index in it. */
  readonly act: Int32Array;
  readonly actAt: Int32Array;
  readonly direct: { volume: Float64Array; own: Float64Array; common: Float64Array } | null;

  constructor(
    readonly sets: readonly Intervals[],
    readonly space: Space,
    readonly recordSegments: boolean,
  ) {
    const S = (this.S = sets.length);
    this.ptr = new Int32Array(S);
    this.inside = new Uint8Array(S);
    this.key = new Float64Array(S);
    this.heap = new Int32Array(S);
    this.only = sets.map((x) => ({ lo: new F64List(x.start.length), hi: new F64List(x.start.length) }));
    let boundaries = 0;
    for (const x of sets) boundaries += 2 * x.start.length;
    const cap = recordSegments ? Math.max(1, boundaries) : 1;
    this.segLo = new F64List(cap);
    this.segHi = new F64List(cap);
    this.segCls = new Int32Array(cap);
    this.small = S <= 52;
    this.byMask = S <= 16 ? new Int32Array(1 << S).fill(-1) : null;
    this.act = new Int32Array(S);
    this.actAt = new Int32Array(S);
    this.direct = space.coords ? null : { volume: new Float64Array(S), own: new Float64Array(S), common: new Float64Array(S * S) };
    for (let s = 0; s < S; s++) {
      if (sets[s]!.start.length === 0) continue;
      this.key[s] = sets[s]!.start[0]!;
      this.heap[this.size++] = s;
      this.siftUp(this.size - 1);
    }
  }

  less(x: number, y: number): boolean {
    const key = this.key;
    return key[x]! < key[y]! || (key[x] === key[y] && x < y);
  }

  siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) return;
      const r = l + 1;
      const c = r < this.size && this.less(heap[r]!, heap[l]!) ? r : l;
      if (!this.less(heap[c]!, heap[i]!)) return;
      const t = heap[c]!;
      heap[c] = heap[i]!;
      heap[i] = t;
      i = c;
    }
  }

  siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[p]!)) return;
      const t = heap[p]!;
      heap[p] = heap[i]!;
      heap[i] = t;
      i = p;
    }
  }

  activeList(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.S; s++) if (this.inside[s]) out.push(s);
    return out;
  }

  /** The class of the current covering set; `lookupOnly`: null instead of creating one. */
  classFor(lookupOnly = false): (CoverClass & { index: number }) | null {
    // S ≤ 16: a table indexed by the mask (no hashing: this runs at every segment)
    const byMask = this.byMask;
    if (byMask) {
      const at = byMask[this.maskLo]!;
      if (at >= 0) return this.classes[at]!;
      if (lookupOnly) return null;
      const c = { members: Int32Array.from(this.activeList()), measure: new Measure(this.space), index: this.classes.length };
      byMask[this.maskLo] = c.index;
      this.classes.push(c);
      return c;
    }
    // S ≤ 52: the covering set as a 52-bit mask (exact); more sources: the list of their indices
    const k: number | string = this.small ? this.maskHi * 4294967296 + (this.maskLo >>> 0) : this.activeList().join(',');
    let c = this.byKey.get(k);
    if (!c) {
      if (lookupOnly) return null;
      c = { members: Int32Array.from(this.activeList()), measure: new Measure(this.space), index: this.classes.length };
      this.byKey.set(k, c);
      this.classes.push(c);
    }
    return c;
  }

  toggle(s: number): void {
    if (s < 32) this.maskLo ^= 1 << s;
    else if (s < 52) this.maskHi ^= 2 ** (s - 32); // < 2^20: exact in 32-bit xor
    this.xor ^= s;
    this.dirty = true;
  }

  /** Processes up to `budget` boundary positions; true when done. */
  run(budget: number): boolean {
    const { key, heap, inside, ptr, sets } = this;
    while (this.size > 0 && budget-- > 0) {
      const pos = key[heap[0]!]!;
      const prev = this.prev;
      if (this.active > 0 && pos > prev) {
        const direct = this.direct;
        if (direct) {
          // IPv4: every segment added up directly, O(k²) for k covering sources
          const len = pos - prev;
          const act = this.act;
          const k = this.active;
          const S = this.S;
          for (let i = 0; i < k; i++) {
            const a = act[i]!;
            direct.volume[a]! += len;
            for (let j = i + 1; j < k; j++) {
              const b = act[j]!;
              direct.common[a * S + b]! += len;
              direct.common[b * S + a]! += len;
            }
          }
          if (k === 1) direct.own[act[0]!]! += len;
        }
        if (!direct || this.recordSegments) {
          if (this.dirty) {
            this.current = this.classFor(direct !== null && this.classes.length >= SWEEP_LIMITS.classCap);
            this.dirty = false;
          }
          const current = this.current;
          if (!direct) current!.measure.add(prev, pos);
          if (this.recordSegments) {
            this.segLo.push(prev);
            this.segHi.push(pos);
            this.segCls[this.segN++] = current ? current.index : -1;
          }
        }
        if (this.active === 1) {
          const o = this.only[this.xor]!;
          if (o.hi.length > 0 && o.hi.a[o.hi.length - 1] === prev) o.hi.a[o.hi.length - 1] = pos;
          else {
            o.lo.push(prev);
            o.hi.push(pos);
          }
        }
      }
      while (this.size > 0 && key[heap[0]!] === pos) {
        const s = heap[0]!;
        const set = sets[s]!;
        this.toggle(s);
        if (inside[s]) {
          inside[s] = 0;
          // swap-remove from the active list
          const at = this.actAt[s]!;
          const last = this.act[--this.active]!;
          this.act[at] = last;
          this.actAt[last] = at;
          ptr[s]++;
          if (ptr[s]! < set.start.length) key[s] = set.start[ptr[s]!]!;
          else {
            heap[0] = heap[--this.size]!;
            this.siftDown(0);
            continue;
          }
        } else {
          inside[s] = 1;
          this.actAt[s] = this.active;
          this.act[this.active++] = s;
          key[s] = set.end[ptr[s]!]!;
        }
        this.siftDown(0);
      }
      this.prev = pos;
    }
    return this.size === 0;
  }

  result(): SweepResult {
    return {
      classes: this.classes,
      only: this.only.map((o) => ({ start: o.lo.toArray(), end: o.hi.toArray() })),
      segments: { lo: this.segLo.toArray(), hi: this.segHi.toArray(), cls: this.segCls.subarray(0, this.segN) },
      direct: this.direct,
    };
  }
}
