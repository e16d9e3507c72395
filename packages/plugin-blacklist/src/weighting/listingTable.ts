import type { Allowlist } from '../allowlists/allowlist.js';
import { type IpRange, ipv4RangeOf, rangeOf } from '../indicators/ip.js';
import type { IndicatorType } from '../indicators/types.js';
import { runToEnd } from '../ingest/Yielder.js';
import { stableKeyOrder } from '../util/radix.js';
import { F64List, sortCoordinates } from './intervals.js';

/**
 * Listing records in columns (typed arrays, no strings): what the metrics read. About 40 bytes per
 * record (plus the IPv6 ranges, kept aside), against several hundred for an object with strings,
 * so the weights step of the service loads a million listings in tens of MB.
 * @internal
 */
export interface ListingTable {
  /** Number of records. */
  readonly length: number;
  /** Per record: index of its source in the measured sources, -1 = not measured. */
  readonly source: Int32Array;
  /** Per record: dense indicator id in [0, indicators); equal ids = same (type, value). Records are sorted by it. */
  readonly indicator: Int32Array;
  /** Number of distinct indicators. */
  readonly indicators: number;
  /** Per record: first seen (ms epoch). */
  readonly firstSeen: Float64Array;
  /** Per record: removed at (ms epoch), NaN = still listed. */
  readonly removedAt: Float64Array;
  /** Per record: start of its IPv4 range, NaN when it is no IPv4 ip/cidr. */
  readonly v4lo: Float64Array;
  /** Per record: end + 1 of its IPv4 range. */
  readonly v4hi: Float64Array;
  /** Record → IPv6 range, for the (few) IPv6 ip/cidr records. */
  readonly v6: ReadonlyMap<number, IpRange>;
  /** Per record: 1 when its indicator matches the allow-list. */
  readonly allowed: Uint8Array;
}

class I32List {
  a: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.a = new Int32Array(Math.max(16, capacity));
  }
  push(x: number): void {
    if (this.length === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = x;
  }
  toArray(): Int32Array {
    return this.a.slice(0, this.length);
  }
}

class U8List {
  a: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.a = new Uint8Array(Math.max(16, capacity));
  }
  push(x: number): void {
    if (this.length === this.a.length) {
      const b = new Uint8Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = x;
  }
  toArray(): Uint8Array {
    return this.a.slice(0, this.length);
  }
}

const isRangeType = (t: IndicatorType): boolean => t === 'ip' || t === 'cidr';

/** Runs `fn` over [0, n) in slices of 64k, yielding after each (plain-function loops, see metricsSteps). */
function* steps(n: number, fn: (from: number, to: number) => void): Generator<void, void, void> {
  for (let i = 0; i < n; i += 65536) {
    fn(i, Math.min(n, i + 65536));
    yield;
  }
}

/**
 * The per-record columns of one listing (what {@link ListingTableBuilder.add} stores), written into
 * `out`: [key, v4lo, v4hi, allowed]. The key identifies (type, value): an IPv4 ip/cidr in canonical
 * form is keyed by its address (`written · 128 + (ip ? 0 : 65 − 2·prefix)`), any other by
 * `−1 − indicatorKey` (NaN when `indicatorKey` is NaN: the caller numbers it). The range and the
 * allow-list flag are only worked out for `measured` records (else NaN, NaN, 0). Returns the
 * record's IPv6 range, if it has one (and is measured).
 * @internal
 */
export function parseRecord(indicatorKey: number, type: IndicatorType, value: string, measured: boolean, allowlist: Allowlist | undefined, scratch: Float64Array, out: Float64Array): IpRange | undefined {
  let key = NaN;
  let parsed = false;
  if (isRangeType(type)) parsed = ipv4RangeOf(value, scratch);
  if (parsed) {
    const prefix = scratch[3]!;
    if (type === 'ip' && prefix === -1) key = scratch[2]! * 128;
    else if (type === 'cidr' && prefix >= 0) key = scratch[2]! * 128 + 65 - 2 * prefix;
  }
  if (Number.isNaN(key) && !Number.isNaN(indicatorKey)) key = -1 - indicatorKey;
  out[0] = key;
  let lo = NaN;
  let hi = NaN;
  let allowed = false;
  let r6: IpRange | undefined;
  if (measured && isRangeType(type)) {
    if (parsed) {
      lo = scratch[0]!;
      hi = scratch[1]! + 1;
      allowed = allowlist?.matchesIpv4(type as 'ip' | 'cidr', value, lo, hi - 1) ?? false;
    } else {
      if (value.includes(':')) {
        const r = rangeOf(value);
        if (r && r.version === 6) r6 = r;
      }
      allowed = allowlist !== undefined && allowlist.match({ type, value }) !== null;
    }
  } else if (measured && allowlist) allowed = allowlist.match({ type, value }) !== null;
  out[1] = lo;
  out[2] = hi;
  out[3] = allowed ? 1 : 0;
  return r6;
}

/**
 * Builds a {@link ListingTable} one record at a time. Indicator keys are any integers identifying
 * (type, value) (database ids, or ids from a map); {@link build} renumbers them densely.
 * @internal
 */
export class ListingTableBuilder {
  readonly #source: I32List;
  readonly #key: F64List;
  readonly #first: F64List;
  readonly #removed: F64List;
  readonly #lo: F64List;
  readonly #hi: F64List;
  readonly #allowed: U8List;
  readonly #v6 = new Map<number, IpRange>();
  readonly #scratch = new Float64Array(4);
  readonly #out = new Float64Array(4);
  readonly #byValue = new Map<IndicatorType, Map<string, number>>();
  #nextString = 0;

  /**
   * @param allowlist - for the per-record allow-list flag
   * @param capacity - expected number of records (the arrays grow past it)
   */
  constructor(
    private readonly allowlist?: Allowlist,
    capacity = 1024,
  ) {
    this.#source = new I32List(capacity);
    this.#key = new F64List(capacity);
    this.#first = new F64List(capacity);
    this.#removed = new F64List(capacity);
    this.#lo = new F64List(capacity);
    this.#hi = new F64List(capacity);
    this.#allowed = new U8List(capacity);
  }

  get length(): number {
    return this.#source.length;
  }

  /**
   * Adds one record; `source` -1 = not measured. `indicatorKey` identifies (type, value) (a
   * database id), or NaN: then an id comes from a per-type value map. An IPv4 ip/cidr in canonical
   * form is keyed by its address instead (`written · 128 + (ip ? 0 : 65 − 2·prefix)`, whatever
   * `indicatorKey` says), so after {@link build} the IPv4 indicators are numbered in address order;
   * the other keys are made negative, so the two never collide.
   */
  add(source: number, indicatorKey: number, type: IndicatorType, value: string, firstSeen: number, removedAt: number | undefined): void {
    const row = this.#source.length;
    const out = this.#out;
    const r6 = parseRecord(indicatorKey, type, value, source >= 0, this.allowlist, this.#scratch, out);
    let key = out[0]!;
    if (Number.isNaN(key)) {
      let m = this.#byValue.get(type);
      if (!m) this.#byValue.set(type, (m = new Map()));
      let id = m.get(value);
      if (id === undefined) {
        id = -1 - this.#nextString++;
        m.set(value, id);
      }
      key = id;
    }
    this.#source.push(source);
    this.#key.push(key);
    this.#first.push(firstSeen);
    this.#removed.push(removedAt ?? NaN);
    if (r6) this.#v6.set(row, r6);
    this.#lo.push(out[1]!);
    this.#hi.push(out[2]!);
    this.#allowed.push(out[3]!);
  }

  /**
   * The table: the records in the stable order of their keys ({@link stableKeyOrder}, a radix
   * sort), indicators numbered 0..n-1 in it, so that each indicator's records are contiguous (in
   * insertion order) and IPv4 indicators come in address order.
   */
  build(): ListingTable {
    return runToEnd(this.buildSteps());
  }

  /** {@link build} in steps (yields every 64k records of its passes), for `runSliced`. */
  *buildSteps(): Generator<void, ListingTable, void> {
    const keys = this.#key.toArray();
    const L = keys.length;
    // stable order by key (records of one indicator stay in insertion order), dense ids in it
    const perm = stableKeyOrder(keys);
    yield;
    const sortedIndicator = new Int32Array(L);
    let n = 0;
    for (let i = 0; i < L; i++) {
      if (i > 0 && keys[perm[i]!] !== keys[perm[i - 1]!]) n++;
      sortedIndicator[i] = n;
    }
    if (L > 0) n++;
    yield;
    const source = new Int32Array(L);
    const allowed = new Uint8Array(L);
    const src = this.#source.a;
    const alw = this.#allowed.a;
    yield* steps(L, (from, to) => {
      for (let i = from; i < to; i++) {
        const r = perm[i]!;
        source[i] = src[r]!;
        allowed[i] = alw[r]!;
      }
    });
    const v6 = new Map<number, IpRange>();
    if (this.#v6.size > 0) for (let i = 0; i < L; i++) {
      const r6 = this.#v6.get(perm[i]!);
      if (r6) v6.set(i, r6);
    }
    const f64 = function* (col: Float64Array): Generator<void, Float64Array, void> {
      const out = new Float64Array(L);
      yield* steps(L, (from, to) => {
        for (let i = from; i < to; i++) out[i] = col[perm[i]!]!;
      });
      return out;
    };
    const firstSeen = yield* f64(this.#first.a);
    const removedAt = yield* f64(this.#removed.a);
    const v4lo = yield* f64(this.#lo.a);
    const v4hi = yield* f64(this.#hi.a);
    return { length: L, source, indicator: sortedIndicator, indicators: n, firstSeen, removedAt, v4lo, v4hi, v6, allowed };
  }
}
