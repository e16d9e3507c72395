import { setImmediate as nextTurn } from 'node:timers/promises';
import { formatIp, ipv4RangeOf, parseCidr, rangeOf, rangeToCidrs, type IpVersion } from '../indicators/ip.js';
import { stableKeyOrder } from '../util/radix.js';
import type { SourceCategory } from '../indicators/types.js';
import type { AggregateStats, ExportEntries, ExportEntry } from './types.js';

/** Entries handled between two yields to the event loop while collecting, sorting or merging. */
const SLICE = 4096;

interface Member {
  start: bigint;
  end: bigint;
  entry: ExportEntry;
}

const byStart = (a: Member, b: Member): number => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : 0);

const TWO32 = 2 ** 32;

function formatV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The minimal CIDR blocks of the IPv4 range [start, end], as [start, prefix] pairs. */
function v4Blocks(start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let cur = start;
  while (cur <= end) {
    let size = 1;
    let prefix = 32;
    while (size < TWO32 && cur % (size * 2) === 0 && cur + size * 2 - 1 <= end) {
      size *= 2;
      prefix--;
    }
    out.push([cur, prefix]);
    cur += size;
  }
  return out;
}

/**
 * The entry an aggregated block carries: the highest score, the earliest `firstSeen`, the latest
 * `lastSeen` and the union of sources and categories of every input entry that overlaps it.
 * A block that is exactly one input entry keeps that entry's metadata unchanged.
 */
function blockEntry(version: IpVersion, start: bigint, end: bigint, prefix: number, members: readonly Member[]): ExportEntry {
  const single = (version === 4 && prefix === 32) || (version === 6 && prefix === 128);
  const value = single ? formatIp(version, start) : `${formatIp(version, start)}/${prefix}`;
  const exact = members.length === 1 && members[0]!.start === start && members[0]!.end === end;
  return mergedEntry(single ? 'ip' : 'cidr', value, exact, members.map((m) => m.entry));
}

/** The entry of a block `value`: the one member's entry when it is `exact`, else the members' merged metadata. */
function mergedEntry(type: 'ip' | 'cidr', value: string, exact: boolean, members: readonly ExportEntry[]): ExportEntry {
  if (exact) {
    const e = members[0]!;
    return e.type === type && e.value === value ? e : { ...e, type, value };
  }
  if (members.length === 1) return { ...members[0]!, type, value };
  let score = -Infinity;
  let first = Infinity;
  let last = -Infinity;
  const sources = new Set<string>();
  const categories = new Set<SourceCategory>();
  for (const entry of members) {
    if (Number.isFinite(entry.score) && entry.score > score) score = entry.score;
    first = Math.min(first, entry.firstSeen.getTime());
    last = Math.max(last, entry.lastSeen.getTime());
    for (const s of entry.sources) sources.add(s);
    for (const c of entry.categories) categories.add(c);
  }
  return {
    type,
    value,
    score: Number.isFinite(score) ? score : 0,
    firstSeen: new Date(first),
    lastSeen: new Date(last),
    sources: [...sources].sort(),
    categories: [...categories].sort(),
  };
}

/**
 * The IPv4 counterpart of {@link mergeFamily} on plain numbers (exact below 2^53): members sorted
 * through an index array by start, larger range first on ties.
 */
async function* mergeV4(starts: number[], ends: number[], members: ExportEntry[], stats: AggregateStats): AsyncGenerator<ExportEntry> {
  // sort key: start, then the larger range first (smaller prefix): start × 64 + prefix, exact in a double
  const keys = new Float64Array(starts.length);
  for (let k = 0; k < keys.length; k++) keys[k] = starts[k]! * 64 + (32 - Math.log2(ends[k]! - starts[k]! + 1));
  const order = stableKeyOrder(keys);
  await nextTurn();
  let i = 0;
  let work = 0;
  const active: number[] = [];
  const picked: ExportEntry[] = [];
  while (i < order.length) {
    const runStart = starts[order[i]!]!;
    let runEnd = ends[order[i]!]!;
    let j = i + 1;
    while (j < order.length && starts[order[j]!]! <= runEnd + 1) {
      if (ends[order[j]!]! > runEnd) runEnd = ends[order[j]!]!;
      j++;
    }
    // one block per member that is alone in its run and exactly a CIDR: the common case, no merging
    if (j === i + 1) {
      const m = order[i]!;
      for (const [start, prefix] of v4Blocks(runStart, runEnd)) {
        stats.blocks++;
        yield mergedEntry(prefix === 32 ? 'ip' : 'cidr', prefix === 32 ? formatV4(start) : `${formatV4(start)}/${prefix}`, start === runStart && prefix === 32 - Math.log2(runEnd - runStart + 1), [members[m]!]);
      }
      i = j;
      if (++work >= SLICE) {
        work = 0;
        await nextTurn();
      }
      continue;
    }
    const blocks = v4Blocks(runStart, runEnd);
    let next = i;
    active.length = 0;
    for (const [start, prefix] of blocks) {
      const end = start + 2 ** (32 - prefix) - 1;
      let kept = 0;
      for (let a = 0; a < active.length; a++) if (ends[active[a]!]! >= start) active[kept++] = active[a]!;
      active.length = kept;
      while (next < j && starts[order[next]!]! <= end) {
        const m = order[next]!;
        if (ends[m]! >= start) active.push(m);
        next++;
      }
      stats.blocks++;
      const exact = active.length === 1 && starts[active[0]!] === start && ends[active[0]!] === end;
      picked.length = 0;
      for (const m of active) picked.push(members[m]!);
      yield mergedEntry(prefix === 32 ? 'ip' : 'cidr', prefix === 32 ? formatV4(start) : `${formatV4(start)}/${prefix}`, exact, picked);
    }
    work += j - i + blocks.length;
    if (work >= SLICE) {
      work = 0;
      await nextTurn();
    }
    i = j;
  }
}

/**
 * Merges one family's ranges (sorted by start, larger first on ties) into disjoint runs, splits each
 * run into its minimal CIDR list and yields one entry per block with the metadata of the members
 * that overlap it. Yields to the event loop every {@link SLICE} members.
 */
async function* mergeFamily(version: IpVersion, members: Member[], stats: AggregateStats): AsyncGenerator<ExportEntry> {
  let i = 0;
  let work = 0;
  while (i < members.length) {
    // one run: members chained by overlap or adjacency
    const runStart = members[i]!.start;
    let runEnd = members[i]!.end;
    let j = i + 1;
    while (j < members.length && members[j]!.start <= runEnd + 1n) {
      if (members[j]!.end > runEnd) runEnd = members[j]!.end;
      j++;
    }
    // a run of one range needs at most 2 × width blocks
    const blocks = rangeToCidrs(version, runStart, runEnd, 2 * (version === 4 ? 32 : 128));
    // sweep: members are sorted by start, blocks too; `active` holds the members that may overlap the current block
    let next = i;
    let active: Member[] = [];
    for (const text of blocks) {
      const block = parseCidr(text)!;
      active = active.filter((m) => m.end >= block.start);
      while (next < j && members[next]!.start <= block.end) {
        if (members[next]!.end >= block.start) active.push(members[next]!);
        next++;
      }
      stats.blocks++;
      yield blockEntry(version, block.start, block.end, block.prefix, active);
    }
    work += j - i + blocks.length;
    if (work >= SLICE) {
      work = 0;
      await nextTurn();
    }
    i = j;
  }
}

/**
 * Aggregates the `ip` and `cidr` entries of an export: drops every entry covered by another,
 * merges overlapping and adjacent ranges and writes each merged range as its minimal list of CIDR
 * blocks (a single address as an `ip` entry, without `/32` or `/128`). The address set is
 * unchanged: the result equals `iprange --optimize` of the input, IPv4 and IPv6 alike.
 *
 * Domains, URLs (and any ip/cidr value that does not parse) pass through unchanged, in input
 * order, as they arrive; the aggregated blocks follow once the input is exhausted, IPv4 first,
 * each family in address order. The ip/cidr entries are held in memory until then.
 *
 * Metadata of a block: the highest score, earliest first-seen, latest last-seen and the union of
 * sources and categories of the entries overlapping it (a block equal to one entry keeps that
 * entry). Filters such as `minScore` apply before aggregation, so a block never takes in an entry
 * the filters left out.
 *
 * @param stats - when given, receives the number of ip/cidr entries read and blocks written
 */
export async function* aggregateEntries(entries: ExportEntries, stats: AggregateStats = { entries: 0, blocks: 0 }): AsyncGenerator<ExportEntry> {
  const v4Range = new Float64Array(2);
  const v4Starts: number[] = [];
  const v4Ends: number[] = [];
  const v4: ExportEntry[] = [];
  const v6: Member[] = [];
  let seen = 0;
  const take = (e: ExportEntry): boolean => {
    if (e.type !== 'ip' && e.type !== 'cidr') return false;
    // IPv4 (the bulk of most lists) on plain numbers; IPv6 through rangeOf (bigint)
    if (!e.value.includes(':') && ipv4RangeOf(e.value, v4Range)) {
      stats.entries++;
      v4Starts.push(v4Range[0]!);
      v4Ends.push(v4Range[1]!);
      v4.push(e);
      return true;
    }
    const r = rangeOf(e.value);
    if (!r || r.version !== 6) return false;
    stats.entries++;
    v6.push({ start: r.start, end: r.end, entry: e });
    return true;
  };
  if (Symbol.asyncIterator in entries) {
    for await (const e of entries) if (!take(e)) yield e;
  } else {
    for (const e of entries) {
      if (!take(e)) yield e;
      else if (++seen % SLICE === 0) await nextTurn();
    }
  }
  yield* mergeV4(v4Starts, v4Ends, v4, stats);
  v4.length = v4Starts.length = v4Ends.length = 0;
  if (v6.length > 50_000) await nextTurn();
  v6.sort(byStart);
  yield* mergeFamily(6, v6, stats);
}
