/**
 * Export aggregation: the address set equals `iprange --optimize` of the unaggregated export
 * (computed here by spawning iprange, IPv4 only: iprange 1.0 has no IPv6), no block is covered
 * by another, and the CIDR list is minimal (disjoint, no two sibling blocks). On the fixtures and
 * on the shared corpus' FireHOL lists (skipped with a message when absent).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregateEntries, writeExport, type AggregateStats, type ExportEntry, type ExportMeta } from '../src/export/index.js';
import { canonicalize } from '../src/indicators/canonical.js';
import { rangeOf, RangeSet, rangeToCidrs, type IpRange } from '../src/indicators/ip.js';
import type { SourceCategory } from '../src/indicators/types.js';
import { parseFeed, ParserRegistry } from '../src/parsers/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => readFileSync(path.join(here, 'fixtures', 'exports', name), 'utf8');
const corpus = path.resolve(here, '..', '..', '..', '..', 'shared', 'corpus', 'blocklists', 'ip');
const hasCorpus = existsSync(corpus);
if (!hasCorpus) console.warn(`export-aggregate: corpus checks skipped, the shared corpus is not at ${corpus}`);
const hasIprange = spawnSync('iprange', ['--has-compare']).status === 0;
if (!hasIprange) console.warn('export-aggregate: iprange not found (Debian: apt-get install iprange): the iprange reference checks are SKIPPED');

const tmp = mkdtempSync(path.join(tmpdir(), 'tip-aggregate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const META: ExportMeta = { name: 'aggregate test', generatedAt: new Date('2026-03-01T00:00:00Z') };

/** Entries of a fixture, canonicalised, all with the given source metadata. */
function entriesOf(text: string, source: string, score: number, category: SourceCategory, day: number): ExportEntry[] {
  const out: ExportEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const r = canonicalize(line.trim());
    if (!r.ok) throw new Error(`fixture line "${line}": ${r.reason}`);
    for (const i of r.indicators) {
      out.push({ ...i, score, firstSeen: new Date(Date.UTC(2026, 0, day)), lastSeen: new Date(Date.UTC(2026, 1, day)), sources: [source], categories: [category] });
    }
  }
  return out;
}

async function collect(it: AsyncIterable<ExportEntry>): Promise<ExportEntry[]> {
  const out: ExportEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const isIp = (e: ExportEntry) => e.type === 'ip' || e.type === 'cidr';
const v4 = (v: string) => !v.includes(':');

/** `iprange --optimize` of the values (IPv4 only), one CIDR or address per line. */
function iprange(values: string[]): string[] {
  const file = path.join(tmp, `in-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, `${values.join('\n')}\n`);
  const r = spawnSync('iprange', ['--optimize', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`iprange failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * The blocks are a minimal CIDR cover: sorted they are disjoint (so none covers another) and no
 * two are siblings that would merge into their parent block. Returns the sorted ranges.
 */
function assertMinimalCover(values: string[]): IpRange[] {
  const ranges = values.map((v) => {
    const r = rangeOf(v);
    expect(r, v).not.toBeNull();
    return r!;
  });
  ranges.sort((a, b) => (a.version !== b.version ? a.version - b.version : a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (let i = 1; i < ranges.length; i++) {
    const [a, b] = [ranges[i - 1]!, ranges[i]!];
    if (a.version !== b.version) continue;
    expect(b.start > a.end, `${values[i - 1]} and ${values[i]} overlap`).toBe(true);
    const size = a.end - a.start + 1n;
    const siblings = b.start === a.end + 1n && b.end - b.start + 1n === size && a.start % (2n * size) === 0n;
    expect(siblings, `blocks starting at ${a.start} and ${b.start} are siblings`).toBe(false);
  }
  return ranges;
}

/** Same address set: every input is inside the output, every output block inside the input. */
function assertSameAddresses(input: string[], output: string[]): void {
  const inSet = RangeSet.from(input);
  const outSet = RangeSet.from(output);
  for (const v of input) expect(outSet.containsValue(v), `input ${v} is not covered by the output`).toBe(true);
  for (const v of output) expect(inSet.containsValue(v), `output ${v} holds addresses the input does not`).toBe(true);
}

describe('aggregateEntries on the fixtures', () => {
  const a = entriesOf(fixture('aggregate-a.txt'), 'a', 0.4, 'scanner', 1);
  const b = entriesOf(fixture('aggregate-b.txt'), 'b', 0.9, 'spam', 2);
  const input = [...a, ...b];

  it('equals iprange --optimize (IPv4), covers the same addresses (IPv6 too) and is minimal', async () => {
    const stats: AggregateStats = { entries: 0, blocks: 0 };
    const out = await collect(aggregateEntries(input, stats));
    const inValues = input.filter(isIp).map((e) => e.value);
    const outValues = out.filter(isIp).map((e) => e.value);
    expect(stats).toEqual({ entries: inValues.length, blocks: outValues.length });
    expect(outValues.length).toBeLessThan(inValues.length);
    assertMinimalCover(outValues);
    assertSameAddresses(inValues, outValues);
    if (hasIprange) expect(outValues.filter(v4)).toEqual(iprange(inValues.filter(v4)));
    // a single address is written as an ip entry, without /32 or /128
    for (const e of out.filter(isIp)) expect(e.type).toBe(e.value.includes('/') ? 'cidr' : 'ip');
    // IPv4 first, each family in address order, after the pass-through entries
    const firstIp = out.findIndex(isIp);
    expect(out.slice(0, firstIp).map((e) => e.value)).toEqual(input.filter((e) => !isIp(e)).map((e) => e.value));
    expect(out.slice(firstIp).every(isIp)).toBe(true);
  });

  it('a block carries the highest score, the union of sources and categories, the widest dates', async () => {
    const out = await collect(aggregateEntries(input));
    const block = (value: string) => out.find((e) => e.value === value)!;
    const inside = (value: string) => input.filter((e) => isIp(e) && RangeSet.from([value]).intersects(rangeOf(e.value)!));
    for (const value of out.filter(isIp).map((e) => e.value)) {
      const members = inside(value);
      const e = block(value);
      expect(e.score, value).toBe(Math.max(...members.map((m) => m.score)));
      expect(e.sources, value).toEqual([...new Set(members.flatMap((m) => m.sources))].sort());
      expect(e.categories, value).toEqual([...new Set(members.flatMap((m) => m.categories))].sort());
      expect(e.firstSeen.getTime(), value).toBe(Math.min(...members.map((m) => m.firstSeen.getTime())));
      expect(e.lastSeen.getTime(), value).toBe(Math.max(...members.map((m) => m.lastSeen.getTime())));
    }
    // one listed by a alone keeps its entry as is
    const only = out.find((e) => e.sources.length === 1 && e.sources[0] === 'a' && isIp(e))!;
    expect(input).toContain(only);
  });

  it('streams from an async source, and writeExport counts entries in, blocks out', async () => {
    async function* slow(): AsyncGenerator<ExportEntry> {
      for (const e of input) {
        await new Promise((r) => setImmediate(r));
        yield e;
      }
    }
    let text = '';
    const r = await writeExport('plain', slow(), META, (c) => void (text += c), undefined, { aggregate: true });
    const values = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(r.count).toBe(input.length);
    expect(r.aggregated).toEqual({ entries: input.filter(isIp).length, blocks: values.filter((v) => rangeOf(v) !== null).length });
    expect(r.written).toBe(values.length);
    expect(values).toEqual((await collect(aggregateEntries(input))).map((e) => e.value));
    // without aggregation nothing changes
    let plain = '';
    const unchanged = await writeExport('plain', input, META, (c) => void (plain += c));
    expect(unchanged.aggregated).toBeUndefined();
    expect(plain.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(input.map((e) => e.value));
  });

  it('yields to the event loop while aggregating a large in-memory list (no timing: counts turns)', async () => {
    const N = 200_000;
    const many: ExportEntry[] = Array.from({ length: N }, (_, i) => ({ ...a[0]!, type: 'ip', value: `45.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));
    many.push(...Array.from({ length: 5000 }, (_, i): ExportEntry => ({ ...a[0]!, type: 'ip', value: `2a01:4f8::${i.toString(16)}:1` })));
    // a probe that re-arms itself on every turn of the loop: it only runs when the aggregation yields
    let turns = 0;
    let stop = false;
    const probe = () => {
      turns++;
      if (!stop) setImmediate(probe);
    };
    setImmediate(probe);
    const out = await collect(aggregateEntries(many));
    stop = true;
    // one contiguous IPv4 range (its CIDR split by ip.ts' rangeToCidrs) and 5000 separate IPv6 addresses
    const v4Values = out.filter((e) => !e.value.includes(':')).map((e) => e.value);
    expect(v4Values).toEqual(rangeToCidrs(4, rangeOf('45.0.0.0')!.start, rangeOf(many[N - 1]!.value)!.end).map((c) => c.replace(/\/32$/, '')));
    expect(out.filter((e) => e.value.includes(':'))).toHaveLength(5000);
    expect(turns).toBeGreaterThanOrEqual(Math.floor(N / 4096));
  });

  it('handles the edges: whole address space, /0 inputs, duplicates, nothing at all', async () => {
    const e = (value: string): ExportEntry => ({ type: value.includes('/') ? 'cidr' : 'ip', value, score: 0.5, firstSeen: META.generatedAt, lastSeen: META.generatedAt, sources: ['s'], categories: [] });
    expect((await collect(aggregateEntries([e('0.0.0.0/1'), e('128.0.0.0/1')]))).map((x) => x.value)).toEqual(['0.0.0.0/0']);
    expect((await collect(aggregateEntries([e('::/0'), e('2a01::1'), e('0.0.0.0/0')]))).map((x) => x.value)).toEqual(['0.0.0.0/0', '::/0']);
    expect((await collect(aggregateEntries([e('45.2.0.1'), e('45.2.0.1'), e('45.2.0.1/32')]))).map((x) => x.value)).toEqual(['45.2.0.1']);
    expect((await collect(aggregateEntries([e('255.255.255.255'), e('255.255.255.254')]))).map((x) => x.value)).toEqual(['255.255.255.254/31']);
    expect(await collect(aggregateEntries([]))).toEqual([]);
  });
});

describe.skipIf(!hasCorpus)('aggregation of the corpus FireHOL lists', () => {
  const registry = ParserRegistry.withDefaults();
  const files = hasCorpus ? readdirSync(corpus).filter((f) => /\.(ipset|netset)$/.test(f)).sort() : [];

  it('every list and their union: same as iprange --optimize, minimal, no entry covered by another', async () => {
    const all: ExportEntry[] = [];
    const rows: string[] = [];
    for (const file of files) {
      const parsed = parseFeed(registry, 'plain', readFileSync(path.join(corpus, file)), {});
      const entries = parsed.indicators.map((i): ExportEntry => ({ ...i, score: 0.5, firstSeen: META.generatedAt, lastSeen: META.generatedAt, sources: [file], categories: ['other'] }));
      all.push(...entries);
      const outValues = await checkList(entries);
      rows.push(`${file}: ${entries.length} -> ${outValues}`);
    }
    const blocks = await checkList(all);
    rows.push(`union: ${all.length} -> ${blocks}`);
    console.info(`corpus aggregation (entries -> blocks):\n${rows.join('\n')}`);
  }, 120_000);

  async function checkList(entries: ExportEntry[]): Promise<number> {
    // the unaggregated export, as the plain writer writes it (iprange reads its # comments as comments)
    let unaggregated = '';
    await writeExport('plain', entries, META, (c) => void (unaggregated += c));
    let aggregated = '';
    const r = await writeExport('plain', entries, META, (c) => void (aggregated += c), undefined, { aggregate: true });
    const values = aggregated.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(r.written).toBe(values.length);
    assertMinimalCover(values);
    if (hasIprange) {
      const file = path.join(tmp, 'unaggregated.txt');
      writeFileSync(file, unaggregated);
      const ref = spawnSync('iprange', ['--optimize', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      expect(ref.status, ref.stderr).toBe(0);
      expect(values).toEqual(ref.stdout.split('\n').filter(Boolean));
    } else assertSameAddresses(entries.map((e) => e.value), values);
    return values.length;
  }
});
