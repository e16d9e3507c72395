import { setImmediate as nextTurn } from 'node:timers/promises';
import { formatIp, parseCidr, rangeOf, rangeToCidrs, type IpVersion } from '../indicators/ip.js';
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

/**
 * The entry an aggregated block carries: the highest score, the earliest `firstSeen`, the latest
 * `lastSeen` and the union of sources and categories of every input entry that overlaps it.
 * A block that is exactly one input entry keeps that entry's metadata unchanged.
 */
function blockEntry(version: IpVersion, start: bigint, end: bigint, prefix: number, members: readonly Member[]): ExportEntry {
  const single = (version === 4 && prefix === 32) || (version === 6 && prefix === 128);
  const value = single ? formatIp(version, start) : `${formatIp(version, start)}/${prefix}`;
  const type = single ? 'ip' : 'cidr';
  if (members.length === 1 && members[0]!.start === start && members[0]!.end === end) {
    const e = members[0]!.entry;
    return e.type === type && e.value === value ? e : { ...e, type, value };
  }
  let score = -Infinity;
  let first = Infinity;
  let last = -Infinity;
  const sources = new Set<string>();
  const categories = new Set<SourceCategory>();
  for (const { entry } of members) {
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
  const v4: Member[] = [];
  const v6: Member[] = [];
  let seen = 0;
  const take = (e: ExportEntry): boolean => {
    if (e.type !== 'ip' && e.type !== 'cidr') return false;
    const r = rangeOf(e.value);
    if (!r) return false;
    stats.entries++;
    (r.version === 4 ? v4 : v6).push({ start: r.start, end: r.end, entry: e });
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
  for (const [version, list] of [[4, v4], [6, v6]] as const) {
    if (list.length > 50_000) await nextTurn();
    list.sort(byStart);
    yield* mergeFamily(version, list, stats);
    list.length = 0;
  }
}
