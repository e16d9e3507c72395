import { isIP } from 'node:net';

/** An IP address family. */
export type IpVersion = 4 | 6;

/** An inclusive address range; addresses as bigint so IPv4 and IPv6 share one code path. */
export interface IpRange {
  version: IpVersion;
  start: bigint;
  end: bigint;
}

const V4_BITS = 32n;
const V6_BITS = 128n;

/** Parses a dotted-quad IPv4 address strictly (no leading zeros beyond "0", 4 parts); null if invalid. */
export function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || !/^\d+$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

/** Parses an IPv6 address (with `::` compression and an optional embedded IPv4 tail); null if invalid. */
export function parseIpv6(text: string): bigint | null {
  if (isIP(text) !== 6) return null;
  let head = text;
  let tail4: bigint | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (tail4 === null) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.split('::') as [string, string | undefined];
  const l = left ? left.split(':') : [];
  const r = right === undefined ? [] : right ? right.split(':') : [];
  const missing = 8 - l.length - r.length;
  const groups = right === undefined ? l : [...l, ...Array<string>(missing).fill('0'), ...r];
  if (groups.length !== 8) return null;
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  if (tail4 !== null) n = (n & ~0xffffffffn) | tail4;
  return n;
}

/**
 * {@link parseIpv4} without bigint: the address as a number in [0, 2^32), or -1 if invalid (same
 * strictness: 4 parts, decimal, no leading zeros, each ≤ 255).
 */
export function parseIpv4Number(text: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  let lead0 = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255 || (lead0 && digits > 1) || ++parts > 4) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) lead0 = c === 48;
      if (++digits > 3) return -1;
      part = part * 10 + (c - 48);
    } else return -1;
  }
  return parts === 4 ? n : -1;
}

/**
 * The inclusive range of an IPv4 `ip` or `cidr` value as numbers, written to `out[0]` (start) and
 * `out[1]` (end) — {@link rangeOf} for IPv4 without bigint (host bits cleared). When `out` has 4
 * slots, `out[2]` gets the address as written (host bits kept) and `out[3]` the prefix length
 * (-1 without a slash, -2 for a prefix written with a leading zero). False (and `out` untouched)
 * for anything else, including IPv6.
 */
export function ipv4RangeOf(value: string, out: Float64Array): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) {
    const a = parseIpv4Number(value);
    if (a < 0) return false;
    out[0] = a;
    out[1] = a;
    if (out.length >= 4) {
      out[2] = a;
      out[3] = -1;
    }
    return true;
  }
  const prefixText = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return false;
  const prefix = Number(prefixText);
  const a = parseIpv4Number(value.slice(0, slash));
  if (a < 0 || prefix > 32) return false;
  const size = 2 ** (32 - prefix);
  const start = a - (a % size);
  out[0] = start;
  out[1] = start + size - 1;
  if (out.length >= 4) {
    out[2] = a;
    out[3] = prefixText.length > 1 && prefixText[0] === '0' ? -2 : prefix;
  }
  return true;
}

/** Parses either family; returns the address and its version, or null. */
export function parseIp(text: string): { version: IpVersion; value: bigint } | null {
  if (text.includes(':')) {
    const v = parseIpv6(text);
    return v === null ? null : { version: 6, value: v };
  }
  const v = parseIpv4(text);
  return v === null ? null : { version: 4, value: v };
}

/** Formats an IPv4 address. */
export function formatIpv4(n: bigint): string {
  return `${(n >> 24n) & 255n}.${(n >> 16n) & 255n}.${(n >> 8n) & 255n}.${n & 255n}`;
}

/** The eight 16-bit groups of an IPv6 address, most significant first. */
export function ipv6Groups(n: bigint): number[] {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return groups;
}

/**
 * The run RFC 5952 compresses to `::`: the longest run of at least two zero groups, the first one
 * on ties. `start` is -1 when there is none.
 */
export function longestZeroRun(groups: readonly number[]): { start: number; length: number } {
  let start = -1;
  let length = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > length) {
      start = i;
      length = j - i;
    }
    i = j;
  }
  return { start, length };
}

/** Formats an IPv6 address in RFC 5952 form (lower case, longest zero run compressed). */
export function formatIpv6(n: bigint): string {
  const groups = ipv6Groups(n);
  const { start, length } = longestZeroRun(groups);
  const hex = groups.map((g) => g.toString(16));
  if (start < 0) return hex.join(':');
  return `${hex.slice(0, start).join(':')}::${hex.slice(start + length).join(':')}`;
}

/** Formats an address of the given version. */
export function formatIp(version: IpVersion, n: bigint): string {
  return version === 4 ? formatIpv4(n) : formatIpv6(n);
}

/** Bits in an address of the given version. */
export function bits(version: IpVersion): bigint {
  return version === 4 ? V4_BITS : V6_BITS;
}

/** Parses `addr/prefix` into its inclusive range; host bits are cleared. Null if invalid. */
export function parseCidr(text: string): (IpRange & { prefix: number }) | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  const width = bits(ip.version);
  if (prefix > Number(width)) return null;
  const hostBits = width - BigInt(prefix);
  const mask = ((1n << width) - 1n) ^ ((1n << hostBits) - 1n);
  const start = ip.value & mask;
  return { version: ip.version, start, end: start | ((1n << hostBits) - 1n), prefix };
}

/** The range an `ip` or `cidr` indicator value covers. Null if the value is neither. */
export function rangeOf(value: string): IpRange | null {
  if (value.includes('/')) return parseCidr(value);
  const ip = parseIp(value);
  return ip ? { version: ip.version, start: ip.value, end: ip.value } : null;
}

/** Splits an inclusive address range into the minimal list of CIDR blocks (as `addr/prefix` strings). */
export function rangeToCidrs(version: IpVersion, start: bigint, end: bigint, limit = 1024): string[] {
  const out: string[] = [];
  const width = bits(version);
  let cur = start;
  while (cur <= end) {
    let size = 0n;
    while (size < width) {
      const next = size + 1n;
      const block = 1n << next;
      if ((cur & (block - 1n)) !== 0n || cur + block - 1n > end) break;
      size = next;
    }
    out.push(`${formatIp(version, cur)}/${width - size}`);
    if (out.length > limit) throw new RangeError(`range ${formatIp(version, start)}-${formatIp(version, end)} needs more than ${limit} CIDR blocks`);
    cur += 1n << size;
  }
  return out;
}

/**
 * A sorted, merged set of address ranges with O(log n) containment tests. Used for allow-lists
 * (is this IP/CIDR inside a reserved range?) and for overlap between sources.
 */
export class RangeSet {
  readonly #v4: Array<[bigint, bigint]>;
  readonly #v6: Array<[bigint, bigint]>;

  constructor(ranges: Iterable<IpRange>) {
    const v4: Array<[bigint, bigint]> = [];
    const v6: Array<[bigint, bigint]> = [];
    for (const r of ranges) (r.version === 4 ? v4 : v6).push([r.start, r.end]);
    this.#v4 = merge(v4);
    this.#v6 = merge(v6);
  }

  /** Builds a set from `ip`/`cidr` strings, ignoring anything else. */
  static from(values: Iterable<string>): RangeSet {
    const ranges: IpRange[] = [];
    for (const v of values) {
      const r = rangeOf(v);
      if (r) ranges.push(r);
    }
    return new RangeSet(ranges);
  }

  /** Number of merged ranges. */
  get size(): number {
    return this.#v4.length + this.#v6.length;
  }

  /** True when the whole `range` lies inside one merged range of the set. */
  contains(range: IpRange): boolean {
    const hit = this.#firstEndingAtOrAfter(range);
    return hit !== undefined && hit[0] <= range.start && range.end <= hit[1];
  }

  /** True when any address of `range` is in the set. */
  intersects(range: IpRange): boolean {
    const hit = this.#firstEndingAtOrAfter(range);
    return hit !== undefined && hit[0] <= range.end;
  }

  /** Binary search: the first merged range (they are sorted and disjoint) whose end ≥ `range.start`. */
  #firstEndingAtOrAfter(range: IpRange): [bigint, bigint] | undefined {
    const list = range.version === 4 ? this.#v4 : this.#v6;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]![1] < range.start) lo = mid + 1;
      else hi = mid;
    }
    return list[lo];
  }

  /** The merged ranges of the set (IPv4 first, each family in address order). */
  ranges(): IpRange[] {
    return [...this.#v4.map(([start, end]) => ({ version: 4 as const, start, end })), ...this.#v6.map(([start, end]) => ({ version: 6 as const, start, end }))];
  }

  /** Contains for an `ip`/`cidr` string (false for anything else). */
  containsValue(value: string): boolean {
    const r = rangeOf(value);
    return r !== null && this.contains(r);
  }
}

function merge(list: Array<[bigint, bigint]>): Array<[bigint, bigint]> {
  list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Array<[bigint, bigint]> = [];
  for (const [s, e] of list) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1n) {
      if (e > last[1]) last[1] = e;
    } else out.push([s, e]);
  }
  return out;
}
