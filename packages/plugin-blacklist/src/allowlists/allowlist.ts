import { domainToASCII } from 'node:url';
import { TipError, TipErrorCodes } from '@tip/core';
import { getDomain } from 'tldts';
import type { Indicator } from '../indicators/types.js';
import { type IpRange, RangeSet, rangeOf, rangeToCidrs } from '../indicators/ip.js';
import { parseMispWarninglist } from './misp.js';
import { POPULAR_DOMAINS_LIST_NAME, loadDomainList } from './popular.js';
import { RESERVED_IPV4, RESERVED_IPV6, RESERVED_LIST_NAME } from './reserved.js';
import type { AllowMatch, AllowlistEntryType, AllowlistOptions, AllowlistSource, BuiltInAllowlistOptions } from './types.js';

interface Block {
  readonly range: IpRange;
  readonly match: AllowMatch;
}

/** A match and the position of its list (lower = added earlier = wins). */
interface Hit {
  readonly order: number;
  readonly match: AllowMatch;
}

interface RangeList {
  readonly order: number;
  readonly set: RangeSet;
  readonly match: AllowMatch;
  /** Per-block reasons, most specific first (built-in lists only). */
  readonly blocks?: readonly Block[];
}

const ENTRY_TYPES = new Set<AllowlistEntryType>(['auto', 'cidr', 'hostname', 'string', 'substring']);
const HOST_RE = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;

function invalid(option: string, message: string, value?: unknown): TipError {
  return new TipError(TipErrorCodes.CONFIG_INVALID, `allow-list: ${option} ${message}`, {
    details: { option, ...(value === undefined ? {} : { value }) },
  });
}

/** Most blocks an overlap reason names before "and N more". */
const MAX_NAMED_BLOCKS = 4;

/**
 * The match of a range that no single special-purpose block contains: the outermost blocks it
 * overlaps (those inside another overlapping block are left out), each with its own reason: first
 * the block sharing the most addresses with the range (its `list` and `entry` are the match's),
 * then the others in address order.
 */
function overlapMatch(r: IpRange, blocks: readonly Block[], within: boolean): AllowMatch {
  const hits = blocks.filter((b) => b.range.version === r.version && r.start <= b.range.end && r.end >= b.range.start);
  const outer = hits
    .filter((b) => !hits.some((o) => o !== b && o.range.start <= b.range.start && o.range.end >= b.range.end))
    .sort((a, b) => (a.range.start < b.range.start ? -1 : 1));
  const shared = (b: Block): bigint => (b.range.end < r.end ? b.range.end : r.end) - (b.range.start > r.start ? b.range.start : r.start);
  const main = outer.reduce((best, b) => (shared(b) > shared(best) ? b : best), outer[0]!);
  const named = [main, ...outer.filter((b) => b !== main)].slice(0, MAX_NAMED_BLOCKS).map((b) => b.match.reason);
  const more = outer.length > MAX_NAMED_BLOCKS ? ` and ${outer.length - MAX_NAMED_BLOCKS} more` : '';
  const cidr = rangeToCidrs(r.version, r.start, r.end)[0] ?? '';
  const how = within ? 'lies within special-purpose blocks' : 'overlaps special-purpose space';
  return { list: main.match.list, reason: `${cidr} ${how}: ${named.join('; ')}${more}`, entry: main.match.entry ?? '' };
}

/** Lower-cases, strips `*.`/leading and trailing dots and converts IDN to punycode; null if not a host. */
function normaliseHost(entry: string): string | null {
  let h = entry.toLowerCase();
  if (h.startsWith('*.')) h = h.slice(2);
  h = h.replace(/^\.+|\.+$/g, '');
  if (/[^\x00-\x7f]/.test(h)) h = domainToASCII(h);
  return h && HOST_RE.test(h) ? h : null;
}

/** The host of a canonical URL indicator (IPv6 without brackets), or null. */
function hostOfUrl(value: string): string | null {
  try {
    const host = new URL(value).hostname;
    return host.startsWith('[') ? host.slice(1, -1) : host;
  } catch {
    return null;
  }
}

/**
 * Allow-lists used to measure false positives of blacklist sources: reserved/special-purpose IP
 * space, widely used domains, and user lists (plain values or MISP warninglists). Matching is
 * O(log n) for ranges and O(labels) for hosts, whatever the list sizes.
 *
 * When entries of several lists match, the list added first wins (so with `Allowlist.builtIn`
 * the special-purpose blocks and popular domains come before user lists).
 *
 * @example
 * ```ts
 * const allow = Allowlist.builtIn();
 * allow.add(parseMispWarninglist(readFileSync('tranco10k/list.json', 'utf8'), { name: 'tranco10k' }));
 * allow.match({ type: 'ip', value: '10.1.2.3' }); // { list: 'rfc1918', reason: '10.0.0.0/8 is private-use ...' }
 * ```
 */
export class Allowlist {
  readonly #cidrIntersects: boolean;
  readonly #ranges: RangeList[] = [];
  readonly #hosts = new Map<string, Hit>();
  readonly #strings = new Map<string, Hit>();
  readonly #substrings: Array<[string, Hit]> = [];
  readonly #names: string[] = [];

  /**
   * An empty allow-list.
   *
   * @throws TipError `TIP_CONFIG_INVALID` (details.option = `cidrMatch`) for an unknown mode.
   */
  constructor(options: AllowlistOptions = {}) {
    const mode = options.cidrMatch ?? 'intersects';
    if (mode !== 'intersects' && mode !== 'contains') throw invalid('cidrMatch', "must be 'intersects' or 'contains'", mode);
    this.#cidrIntersects = mode === 'intersects';
  }

  /**
   * The built-in allow-list: the IANA special-purpose IPv4/IPv6 blocks (each match names its RFC)
   * and the shipped hand-curated popular-domains list (matching a domain and its subdomains).
   */
  static builtIn(options: BuiltInAllowlistOptions = {}): Allowlist {
    const allow = new Allowlist(options);
    if (options.reserved ?? true) allow.#addReserved();
    if (options.popularDomains ?? true) {
      allow.add({
        name: POPULAR_DOMAINS_LIST_NAME,
        reason: 'widely used domain (hand-curated allow-list)',
        type: 'hostname',
        entries: loadDomainList(options.popularDomainsFile),
      });
    }
    return allow;
  }

  /**
   * A new allow-list holding one MISP warninglist (JSON text or parsed object).
   *
   * @throws TipError `TIP_CONFIG_INVALID` when the JSON is not a supported warninglist.
   */
  static fromMispWarninglist(json: unknown, options: AllowlistOptions & { name?: string } = {}): Allowlist {
    const allow = new Allowlist(options);
    allow.add(parseMispWarninglist(json, options.name === undefined ? {} : { name: options.name }));
    return allow;
  }

  /** Names of the lists added so far, in order (the built-in special-purpose blocks count as `reserved`). */
  get lists(): readonly string[] {
    return this.#names;
  }

  /**
   * Adds a list.
   *
   * @throws TipError `TIP_CONFIG_INVALID` naming the bad option (`name`, `type`, `entries[i]`).
   */
  add(list: AllowlistSource): void {
    if (typeof list?.name !== 'string' || list.name.trim() === '') throw invalid('name', 'must be a non-empty string', list?.name);
    const type = list.type ?? 'auto';
    if (!ENTRY_TYPES.has(type)) throw invalid('type', 'must be auto, cidr, hostname, string or substring', type);
    const base: AllowMatch = { list: list.name, reason: list.reason ?? `listed in ${list.name}` };
    const order = this.#names.length;
    const ranges: IpRange[] = [];
    let i = -1;
    for (const raw of list.entries) {
      i++;
      if (typeof raw !== 'string') throw invalid(`entries[${i}]`, 'must be a string', raw);
      const entry = raw.trim();
      if (entry === '' || entry.startsWith('#')) continue;
      const kind = type === 'auto' ? (rangeOf(entry) ? 'cidr' : entry.includes('://') ? 'string' : 'hostname') : type;
      if (kind === 'cidr') {
        const r = rangeOf(entry);
        if (!r) throw invalid(`entries[${i}]`, `is not an IP address or CIDR (list ${list.name})`, entry);
        ranges.push(r);
      } else if (kind === 'hostname') {
        const host = normaliseHost(entry);
        if (host === null) throw invalid(`entries[${i}]`, `is not a host name (list ${list.name})`, entry);
        if (!this.#hosts.has(host)) this.#hosts.set(host, { order, match: { ...base, entry: host } });
      } else if (kind === 'string') {
        const s = entry.toLowerCase();
        if (!this.#strings.has(s)) this.#strings.set(s, { order, match: { ...base, entry: s } });
      } else {
        this.#substrings.push([entry.toLowerCase(), { order, match: { ...base, entry: entry.toLowerCase() } }]);
      }
    }
    if (ranges.length > 0) this.#ranges.push({ order, set: new RangeSet(ranges), match: base });
    this.#names.push(list.name);
  }

  #v4Sets: Array<{ start: Float64Array; end: Float64Array }> = [];

  /**
   * `match(ind) !== null` for an IPv4 `ip`/`cidr` indicator whose inclusive range the caller has
   * already parsed as numbers: the same answer without bigint parsing (the metrics test millions).
   * @internal
   */
  matchesIpv4(type: 'ip' | 'cidr', value: string, start: number, end: number): boolean {
    while (this.#v4Sets.length < this.#ranges.length) {
      const v4 = this.#ranges[this.#v4Sets.length]!.set.ranges().filter((r) => r.version === 4);
      this.#v4Sets.push({ start: Float64Array.from(v4, (r) => Number(r.start)), end: Float64Array.from(v4, (r) => Number(r.end)) });
    }
    const intersects = type === 'cidr' && this.#cidrIntersects;
    for (const set of this.#v4Sets) {
      // first merged range whose end >= start
      let a = 0;
      let b = set.end.length;
      while (a < b) {
        const m = (a + b) >> 1;
        if (set.end[m]! < start) a = m + 1;
        else b = m;
      }
      if (a < set.end.length && (intersects ? set.start[a]! <= end : set.start[a]! <= start && end <= set.end[a]!)) return true;
    }
    return this.#matchString(value) !== null || this.#matchSubstring(value) !== null;
  }

  /** Every IP range of the allow-list (all lists, merged per list), for address-level metrics. */
  ipRanges(): IpRange[] {
    return this.#ranges.flatMap((list) => list.set.ranges());
  }

  /**
   * Why `ind` is allow-listed, or null. When entries of several lists match, the list added first
   * wins. Never throws: a malformed value simply does not match.
   */
  match(ind: Indicator): AllowMatch | null {
    const value = ind.value;
    let best: Hit | null = null;
    const consider = (hit: Hit | null | undefined): void => {
      if (hit && (best === null || hit.order < best.order)) best = hit;
    };
    switch (ind.type) {
      case 'ip':
      case 'cidr': {
        const r = rangeOf(value);
        if (r) consider(this.#matchRange(r, ind.type === 'cidr' && this.#cidrIntersects));
        consider(this.#matchString(value));
        break;
      }
      case 'domain': {
        const host = value.toLowerCase();
        consider(this.#matchString(host));
        consider(this.#matchHost(host));
        break;
      }
      case 'url': {
        consider(this.#matchString(value));
        const host = hostOfUrl(value);
        if (host) {
          const r = host.includes(':') || /^[\d.]+$/.test(host) ? rangeOf(host) : null;
          if (r) consider(this.#matchRange(r, false));
          else consider(this.#matchHost(host));
          consider(this.#matchString(host));
        }
        break;
      }
      default:
        return null;
    }
    consider(this.#matchSubstring(value));
    return (best as Hit | null)?.match ?? null;
  }

  #addReserved(): void {
    const blocks: Block[] = [];
    for (const block of [...RESERVED_IPV4, ...RESERVED_IPV6]) {
      const range = rangeOf(block.cidr);
      if (range) blocks.push({ range, match: { list: block.list, reason: block.reason, entry: block.cidr } });
    }
    // Most specific first, so 255.255.255.255 reports "limited broadcast", not 240.0.0.0/4.
    const size = (b: Block): bigint => b.range.end - b.range.start;
    blocks.sort((a, b) => (size(a) < size(b) ? -1 : size(a) > size(b) ? 1 : 0));
    const match: AllowMatch = { list: RESERVED_LIST_NAME, reason: 'IANA special-purpose address space (RFC 6890)' };
    this.#ranges.push({ order: this.#names.length, set: new RangeSet(blocks.map((b) => b.range)), match, blocks });
    this.#names.push(RESERVED_LIST_NAME);
  }

  #matchRange(r: IpRange, intersects: boolean): Hit | null {
    for (const list of this.#ranges) {
      if (!(intersects ? list.set.intersects(r) : list.set.contains(r))) continue;
      if (!list.blocks) return list;
      // The most specific block containing the range explains it with its own reason.
      for (const b of list.blocks) {
        if (b.range.version === r.version && r.start >= b.range.start && r.end <= b.range.end) return { order: list.order, match: b.match };
      }
      // Otherwise the range is wider than any one block (224.0.0.0/3 holds 224.0.0.0/4 multicast,
      // 240.0.0.0/4 class E and the broadcast address): name the outermost blocks it overlaps,
      // never one block as if it were the whole range.
      return { order: list.order, match: overlapMatch(r, list.blocks, list.set.contains(r)) };
    }
    return null;
  }

  #matchString(value: string): Hit | null {
    if (this.#strings.size === 0) return null;
    return this.#strings.get(value.toLowerCase()) ?? null;
  }

  /** `host` or a parent of it, down to the host's registrable domain (PSL incl. private section). */
  #matchHost(host: string): Hit | null {
    if (this.#hosts.size === 0) return null;
    let best = this.#hosts.get(host) ?? null;
    const registrable = getDomain(host, { allowPrivateDomains: true });
    if (registrable === null) return best;
    let cand = host;
    while (cand.length > registrable.length) {
      const dot = cand.indexOf('.');
      if (dot < 0) break;
      cand = cand.slice(dot + 1);
      const hit = this.#hosts.get(cand);
      if (hit && (best === null || hit.order < best.order)) best = hit;
    }
    return best;
  }

  #matchSubstring(value: string): Hit | null {
    if (this.#substrings.length === 0) return null;
    const v = value.toLowerCase();
    for (const [s, hit] of this.#substrings) if (v.includes(s)) return hit;
    return null;
  }
}
