import type { Allowlist } from '../allowlists/allowlist.js';
import { type IpRange, ipv4RangeOf, rangeOf } from '../indicators/ip.js';
import type { IndicatorType } from '../indicators/types.js';
import { F64List } from './intervals.js';

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
  /** Per record: dense indicator id in [0, indicators); equal ids = same (type, value). */
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
  #a = new Int32Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.#a.length) {
      const b = new Int32Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.length++] = x;
  }
  toArray(): Int32Array {
    return this.#a.slice(0, this.length);
  }
}

class U8List {
  #a = new Uint8Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.#a.length) {
      const b = new Uint8Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.length++] = x;
  }
  toArray(): Uint8Array {
    return this.#a.slice(0, this.length);
  }
}

const isRangeType = (t: IndicatorType): boolean => t === 'ip' || t === 'cidr';

/**
 * Builds a {@link ListingTable} one record at a time. Indicator keys are any integers identifying
 * (type, value) (database ids, or ids from a map); {@link build} renumbers them densely.
 * @internal
 */
export class ListingTableBuilder {
  readonly #source = new I32List();
  readonly #key = new F64List(1024);
  readonly #first = new F64List(1024);
  readonly #removed = new F64List(1024);
  readonly #lo = new F64List(1024);
  readonly #hi = new F64List(1024);
  readonly #allowed = new U8List();
  readonly #v6 = new Map<number, IpRange>();
  readonly #scratch = new Float64Array(2);

  constructor(private readonly allowlist?: Allowlist) {}

  get length(): number {
    return this.#source.length;
  }

  /** Adds one record; `source` -1 = not measured (skipped cheaply). */
  add(source: number, indicatorKey: number, type: IndicatorType, value: string, firstSeen: number, removedAt: number | undefined): void {
    const row = this.#source.length;
    this.#source.push(source);
    this.#key.push(indicatorKey);
    this.#first.push(firstSeen);
    this.#removed.push(removedAt ?? NaN);
    let lo = NaN;
    let hi = NaN;
    if (source >= 0 && isRangeType(type)) {
      if (ipv4RangeOf(value, this.#scratch)) {
        lo = this.#scratch[0]!;
        hi = this.#scratch[1]! + 1;
      } else if (value.includes(':')) {
        const r = rangeOf(value);
        if (r && r.version === 6) this.#v6.set(row, r);
      }
    }
    this.#lo.push(lo);
    this.#hi.push(hi);
    this.#allowed.push(source >= 0 && this.allowlist && this.allowlist.match({ type, value }) !== null ? 1 : 0);
  }

  /** The table; indicator keys renumbered 0..n-1 (sorted unique keys, binary search per record). */
  build(): ListingTable {
    const keys = this.#key.toArray();
    const uniq = keys.slice().sort();
    let n = 0;
    for (let i = 0; i < uniq.length; i++) if (i === 0 || uniq[i] !== uniq[i - 1]) uniq[n++] = uniq[i]!;
    const indicator = new Int32Array(keys.length);
    for (let r = 0; r < keys.length; r++) {
      const k = keys[r]!;
      let a = 0;
      let b = n;
      while (a < b) {
        const m = (a + b) >> 1;
        if (uniq[m]! < k) a = m + 1;
        else b = m;
      }
      indicator[r] = a;
    }
    return {
      length: keys.length,
      source: this.#source.toArray(),
      indicator,
      indicators: n,
      firstSeen: this.#first.toArray(),
      removedAt: this.#removed.toArray(),
      v4lo: this.#lo.toArray(),
      v4hi: this.#hi.toArray(),
      v6: this.#v6,
      allowed: this.#allowed.toArray(),
    };
  }
}
