/**
 * The `ipset`, `nftables` and `misp` writers on fixtures (IPv4 + IPv6, domains and URLs),
 * loaded by the real tools where they run: `ipset restore` and `nft -f` inside a private network
 * namespace (`unshare --net`, so the host's sets are never touched), else `nft -c` alone; checks
 * skip with a message when the tools are missing. Hostile names and values must not get through.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  aggregateEntries,
  checkSetName,
  exportWriters,
  ipsetWriter,
  mispEventUuid,
  mispWriter,
  nftablesWriter,
  writeExport,
  writeMispFeed,
  type ExportEntry,
  type ExportMeta,
} from '../src/export/index.js';
import { canonicalize } from '../src/indicators/canonical.js';
import { rangeOf, type IpRange } from '../src/indicators/ip.js';
import { parseFeed, ParserRegistry } from '../src/parsers/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'tip-export-formats-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const META: ExportMeta = { name: 'tip-test', generatedAt: new Date('2026-03-01T12:00:00Z'), description: 'fixture export' };

const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const netns = has('unshare', ['--net', 'true']);
const hasIpset = has('ipset', ['--version']);
const hasNft = has('nft', ['--version']);
if (!hasIpset || !netns) console.warn(`export-formats: ${hasIpset ? 'unshare --net does not work here' : 'ipset not installed (apt-get install ipset)'}: ipset restore checks are SKIPPED`);
if (!hasNft) console.warn('export-formats: nft not installed (apt-get install nftables): nft checks are SKIPPED');
else if (!netns) console.warn('export-formats: unshare --net does not work here: nftables files are only checked with nft -c');

function fixtureEntries(name: string, source: string, score: number): ExportEntry[] {
  const text = readFileSync(path.join(here, 'fixtures', 'exports', name), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .flatMap((l) => {
      const r = canonicalize(l.trim());
      if (!r.ok) throw new Error(`fixture line ${l}: ${r.reason}`);
      return r.indicators.map((i) => ({ ...i, score, firstSeen: new Date('2026-01-01T00:00:00Z'), lastSeen: new Date('2026-02-01T00:00:00Z'), sources: [source], categories: ['scanner' as const] }));
    });
}
const ENTRIES = [...fixtureEntries('aggregate-a.txt', 'a', 0.4), ...fixtureEntries('aggregate-b.txt', 'b', 0.9)];
const isIp = (e: ExportEntry) => e.type === 'ip' || e.type === 'cidr';
/** What the address-only formats leave out of ENTRIES. */
const SKIPPED = { domain: ENTRIES.filter((e) => e.type === 'domain').length, url: ENTRIES.filter((e) => e.type === 'url').length };

async function render(format: string, entries: ExportEntry[] = ENTRIES, meta: ExportMeta = META, options: { aggregate?: boolean } = {}, writers = exportWriters()) {
  let text = '';
  const result = await writeExport(format, entries, meta, (c) => void (text += c), writers, options);
  const file = path.join(tmp, `${format}-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  return { text, file, result };
}

/** The aggregated address blocks of the entries, per family, as the writers must hold them. */
async function expectedBlocks(entries: ExportEntry[]): Promise<{ v4: string[]; v6: string[] }> {
  const out: string[] = [];
  for await (const e of aggregateEntries(entries)) if (isIp(e)) out.push(e.value);
  return { v4: out.filter((v) => !v.includes(':')), v6: out.filter((v) => v.includes(':')) };
}

/** Ranges merged (overlapping or adjacent), as `start-end` strings: equal lists mean equal address sets. */
function merged(ranges: IpRange[]): string[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Array<[bigint, bigint]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last[1] + 1n) last[1] = r.end > last[1] ? r.end : last[1];
    else out.push([r.start, r.end]);
  }
  return out.map(([a, b]) => `${a}-${b}`);
}

/** Runs a shell script in a fresh network namespace (its own empty ipset / nftables state). */
function inNetns(script: string): { status: number | null; out: string; err: string } {
  const r = spawnSync('unshare', ['--net', 'sh', '-ec', script], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('ipset', () => {
  it('writes create/add/swap lines that ipset restore loads, twice, into the aggregated sets', async () => {
    const { text, file, result } = await render('ipset');
    const blocks = await expectedBlocks(ENTRIES);
    expect(result.aggregated).toBeDefined();
    expect(result.written).toBe(blocks.v4.length + blocks.v6.length);
    expect(result.skipped).toEqual(SKIPPED);
    expect(text).toContain('create tip-test-v4 hash:net family inet hashsize 1024 maxelem 65536 -exist\n');
    expect(text).toContain('create tip-test-v6 hash:net family inet6 hashsize 1024 maxelem 65536 -exist\n');
    expect(text).toContain('swap tip-test-v4-tmp tip-test-v4\ndestroy tip-test-v4-tmp\n');
    const adds = (set: string) => text.split('\n').filter((l) => l.startsWith(`add ${set} `)).map((l) => l.split(' ')[2]);
    expect(adds('tip-test-v4-tmp')).toEqual(blocks.v4);
    expect(adds('tip-test-v6-tmp')).toEqual(blocks.v6);
    if (!hasIpset || !netns) return;
    // loaded twice (a reload), then a smaller list: what left the list leaves the set
    const { file: smaller } = await render('ipset', ENTRIES.filter((e) => e.value !== '91.0.0.0/8' && e.value !== '2a01:4f8::/32'));
    const r = inNetns(`ipset restore -file ${file}; ipset restore -file ${file}; ipset save; echo ---; ipset restore -file ${smaller}; ipset save`);
    expect(r.status, r.err).toBe(0);
    const [first, second] = r.out.split('---\n') as [string, string];
    const saved = (out: string, set: string) => out.split('\n').filter((l) => l.startsWith(`add ${set} `)).map((l) => l.split(' ')[2]).sort();
    expect(saved(first, 'tip-test-v4')).toEqual([...blocks.v4].sort());
    expect(saved(first, 'tip-test-v6')).toEqual([...blocks.v6].sort());
    expect(first).not.toContain('tip-test-v4-tmp');
    expect(saved(second, 'tip-test-v4')).not.toContain('91.0.0.0/8');
    expect(saved(second, 'tip-test-v6')).not.toContain('2a01:4f8::/31');
  });

  it('without aggregation keeps every entry (ipset accepts nested nets); sizes maxelem to the count', async () => {
    const { text, result } = await render('ipset', ENTRIES, META, { aggregate: false });
    expect(result.aggregated).toBeUndefined();
    expect(result.written).toBe(ENTRIES.filter(isIp).length);
    expect(text).toContain('add tip-test-v4-tmp 45.2.0.7\n');
    const many = Array.from({ length: 70_000 }, (_, i): ExportEntry => ({ ...ENTRIES[0]!, type: 'ip', value: `45.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));
    const big = await render('ipset', many.filter((_, i) => i % 2 === 0), META, { aggregate: false });
    expect(big.text).toContain('create tip-test-v4 hash:net family inet hashsize 16384 maxelem 65536 -exist');
    const bigger = await render('ipset', many, META, { aggregate: false });
    expect(bigger.text).toContain('create tip-test-v4 hash:net family inet hashsize 32768 maxelem 131072 -exist');
    const pinned = new Map([['ipset', ipsetWriter({ setName: 'pinned', maxelem: 1000 })]]);
    const p = await render('ipset', many.slice(0, 2000), META, { aggregate: false }, pinned);
    expect(p.text).toContain('create pinned-v4 hash:net family inet hashsize 1024 maxelem 1000 -exist');
    expect(p.text).toContain('# warning: 2000 IPv4 elements exceed maxelem 1000');
  });

  it('splits a /0 into two halves (hash:net takes no /0) and writes an element once', async () => {
    const zero = { ...ENTRIES[0]!, type: 'cidr' as const, value: '0.0.0.0/0' };
    const { text, file, result } = await render('ipset', [zero, { ...zero, type: 'cidr', value: '0.0.0.0/1' }, { ...zero }], META, { aggregate: false });
    expect(text).toContain('add tip-test-v4-tmp 0.0.0.0/1\nadd tip-test-v4-tmp 128.0.0.0/1\n');
    expect(text.match(/0\.0\.0\.0\/1/g)).toHaveLength(1);
    expect(result).toMatchObject({ written: 1, skipped: { duplicate: 2 } });
    if (hasIpset && netns) expect(inNetns(`ipset restore -file ${file}`).status).toBe(0);
  });
});

const corpus = path.resolve(here, '..', '..', '..', '..', 'shared', 'corpus', 'blocklists', 'ip');
const hasCorpus = existsSync(corpus);
if (!hasCorpus) console.warn(`export-formats: corpus loads skipped, the shared corpus is not at ${corpus}`);

describe.skipIf(!hasCorpus || !netns || !hasIpset || !hasNft)('the corpus FireHOL lists, loaded by ipset and nft', () => {
  it('the union of every list loads into ipset and nftables sets holding exactly the aggregated blocks', async () => {
    const registry = ParserRegistry.withDefaults();
    const entries: ExportEntry[] = readdirSync(corpus)
      .filter((f) => /\.(ipset|netset)$/.test(f))
      .flatMap((f) => parseFeed(registry, 'plain', readFileSync(path.join(corpus, f)), {}).indicators.map((i): ExportEntry => ({ ...ENTRIES[0]!, ...i, sources: [f] })));
    const blocks = await expectedBlocks(entries);
    const ipset = await render('ipset', entries);
    const nft = await render('nftables', entries);
    const r = inNetns(`ipset restore -file ${ipset.file}; ipset save | grep -c '^add tip-test-v4 '; nft -f ${nft.file}; nft -j list set inet tip tip-test-v4`);
    expect(r.status, r.err.slice(0, 500)).toBe(0);
    const [count, json] = r.out.split('\n', 2) as [string, string];
    expect(Number(count)).toBe(blocks.v4.length);
    type Elem = string | { prefix: { addr: string; len: number } } | { range: [string, string] };
    const elems = (JSON.parse(json) as { nftables: Array<{ set?: { elem?: Elem[] } }> }).nftables.find((o) => o.set)!.set!.elem!;
    const loaded = merged(elems.map((e) => (typeof e === 'string' ? rangeOf(e)! : 'prefix' in e ? rangeOf(`${e.prefix.addr}/${e.prefix.len}`)! : { ...rangeOf(e.range[0])!, end: rangeOf(e.range[1])!.end })));
    expect(loaded).toEqual(merged(blocks.v4.map((v) => rangeOf(v)!)));
  }, 120_000);
});

describe('nftables', () => {
  it('declares interval sets in the table and fills them with the aggregated blocks; nft loads it', async () => {
    const { text, file, result } = await render('nftables');
    const blocks = await expectedBlocks(ENTRIES);
    expect(result.written).toBe(blocks.v4.length + blocks.v6.length);
    expect(result.skipped).toEqual(SKIPPED);
    expect(text).toContain('table inet tip {\n\tset tip-test-v4 { type ipv4_addr; flags interval; }\n\tset tip-test-v6 { type ipv6_addr; flags interval; }\n}\n');
    expect(text).toContain('flush set inet tip tip-test-v4\n');
    const elements = (set: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`add element inet tip ${set} `))
        .flatMap((l) => l.slice(l.indexOf('{') + 1, l.lastIndexOf('}')).split(',').map((s) => s.trim()));
    expect(elements('tip-test-v4')).toEqual(blocks.v4);
    expect(elements('tip-test-v6')).toEqual(blocks.v6);
    if (!hasNft) return;
    const check = spawnSync('nft', ['-c', '-f', file], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    if (!netns) return;
    const r = inNetns(`nft -f ${file}; nft -f ${file}; nft -j list set inet tip tip-test-v4; echo; nft -j list set inet tip tip-test-v6`);
    expect(r.status, r.err).toBe(0);
    type Elem = string | { prefix: { addr: string; len: number } } | { range: [string, string] };
    const loaded = r.out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => (JSON.parse(l) as { nftables: Array<{ set?: { elem?: Elem[] } }> }).nftables.find((o) => o.set)!.set!.elem ?? [])
      .map((elems) =>
        merged(elems.map((e) => (typeof e === 'string' ? rangeOf(e)! : 'prefix' in e ? rangeOf(`${e.prefix.addr}/${e.prefix.len}`)! : { ...rangeOf(e.range[0])!, end: rangeOf(e.range[1])!.end }))),
      );
    // nft may show adjacent blocks as one range: compare the address sets
    expect(loaded).toEqual([merged(blocks.v4.map((v) => rangeOf(v)!)), merged(blocks.v6.map((v) => rangeOf(v)!))]);
  });

  it('aggregates even when told not to: interval sets refuse overlapping elements', async () => {
    const { text, file } = await render('nftables', ENTRIES, META, { aggregate: false });
    expect(text).not.toContain('45.2.0.7');
    if (hasNft) expect(spawnSync('nft', ['-c', '-f', file], { encoding: 'utf8' }).status).toBe(0);
    // the unaggregated elements are what nft refuses
    if (hasNft) {
      const bad = path.join(tmp, 'overlap.nft');
      writeFileSync(bad, 'table inet tip {\n\tset x-v4 { type ipv4_addr; flags interval; }\n}\nadd element inet tip x-v4 { 45.2.0.0/24, 45.2.0.7 }\n');
      expect(spawnSync('nft', ['-c', '-f', bad], { encoding: 'utf8' }).stderr).toContain('conflicting intervals');
    }
  });

  it('family ip keeps IPv4 only; table and set names are options', async () => {
    const writers = new Map([['nftables', nftablesWriter({ family: 'ip', table: 'filter', setName: 'bl' })]]);
    const { text, file, result } = await render('nftables', ENTRIES, META, {}, writers);
    expect(text).toContain('table ip filter {\n\tset bl-v4 { type ipv4_addr; flags interval; }\n}\n');
    expect(text).not.toContain('bl-v6');
    expect(result.skipped.ipv6).toBeGreaterThan(0);
    if (hasNft) expect(spawnSync('nft', ['-c', '-f', file], { encoding: 'utf8' }).status).toBe(0);
  });
});

describe('hostile names and values', () => {
  const HOSTILE_NAMES = ['bad name', 'x;flush ruleset', 'a}', 'x\nflush', '-x', '.x', '', 'x'.repeat(65), 'tip\u00e9', 'a#b', 'a"b', "a'b", 'a/b'];

  it('set and table names: only letters, digits, "_", "." and "-" get through', () => {
    for (const name of HOSTILE_NAMES) {
      expect(() => ipsetWriter({ setName: name }), JSON.stringify(name)).toThrow(expect.objectContaining({ code: 'TIP_CONFIG_INVALID', details: expect.objectContaining({ path: 'ipset.setName' }) }));
      expect(() => nftablesWriter({ table: name }), JSON.stringify(name)).toThrow(expect.objectContaining({ code: 'TIP_CONFIG_INVALID' }));
    }
    for (const keyword of ['ip', 'table', 'set', 'counter', 'inet', 'drop']) expect(() => nftablesWriter({ table: keyword }), keyword).toThrow(/nft keyword/);
    expect(() => nftablesWriter({ table: '1abc' })).toThrow(/start with a letter/);
    expect(() => nftablesWriter({ family: 'arp' as 'ip' })).toThrow(expect.objectContaining({ details: expect.objectContaining({ path: 'nftables.family' }) }));
    expect(checkSetName('Tip_bl.1-x', 'x', 24)).toBe('Tip_bl.1-x');
    expect(() => ipsetWriter({ setName: 'x'.repeat(25) })).toThrow(/1 to 24/);
    expect(() => ipsetWriter({ maxelem: 0 })).toThrow(/ipset.maxelem/);
  });

  it('a list name that cannot name a set is refused before anything is written, naming `name`', async () => {
    for (const format of ['ipset', 'nftables']) {
      const writer = exportWriters().get(format)!;
      expect(() => writer.check!({ ...META, name: 'my list; flush ruleset' })).toThrow(expect.objectContaining({ code: 'TIP_INPUT_INVALID', details: expect.objectContaining({ path: 'name' }) }));
      await expect(render(format, ENTRIES, { ...META, name: 'x y' })).rejects.toMatchObject({ code: 'TIP_INPUT_INVALID' });
    }
  });

  it('the canonicaliser refuses values that could break the syntax; writers skip what is not an address', async () => {
    for (const v of ['evil.com;flush ruleset', 'evil.com }', 'a b.com', '1.2.3.4 }', '1.2.3.4\nadd x 0.0.0.0/0', '"quoted".com', 'evil.com#x', 'evil.com\u0000', '1.2.3.0/24 -exist']) {
      const r = canonicalize(v);
      const through = r.ok ? r.indicators.map((i) => i.value) : [];
      for (const value of through) expect(value, JSON.stringify(v)).toMatch(/^[a-z0-9.:/_-]+$|^https?:\/\//);
      expect(through.some((x) => /[\s;{}"#]/.test(x) && !x.startsWith('http')), JSON.stringify(v)).toBe(false);
    }
    // hand-made entries that never went through the canonicaliser: skipped as invalid, nothing of them is written
    const hostile: ExportEntry[] = ['1.2.3.4 } ; flush ruleset', '1.2.3.4\nadd x 0.0.0.0/0', '45.2.0.0/24 -exist', '999.1.1.1'].map((value) => ({ ...ENTRIES[0]!, type: 'ip', value }));
    for (const format of ['ipset', 'nftables']) {
      for (const aggregate of [true, false]) {
        const { text, result } = await render(format, hostile, META, { aggregate });
        expect(result.written, format).toBe(0);
        expect(text, format).not.toMatch(/flush ruleset|0\.0\.0\.0\/0|999|^add /m);
      }
    }
  });
});

describe('misp', () => {
  interface Attr { uuid: string; type: string; category: string; to_ids: boolean; value: string; comment: string; timestamp: string; first_seen: string; last_seen: string }
  interface MispEvent { Event: { uuid: string; info: string; date: string; timestamp: string; published: boolean; analysis: string; threat_level_id: string; Orgc: { name: string; uuid: string }; Tag: Array<{ name: string }>; Attribute: Attr[] } }

  it('writes an event with ip-dst / domain / url attributes, to_ids by score, stable uuids', async () => {
    const { text, result } = await render('misp');
    const doc = JSON.parse(text) as MispEvent;
    expect(result.written).toBe(ENTRIES.length);
    const e = doc.Event;
    expect(e.uuid).toBe(mispEventUuid('tip-test'));
    expect(e).toMatchObject({ info: 'tip-test: fixture export', date: '2026-03-01', timestamp: String(Date.parse('2026-03-01T12:00:00Z') / 1000), published: true, analysis: '2', threat_level_id: '4' });
    expect(e.Orgc.name).toBe('TIP');
    expect(e.Tag.map((t) => t.name)).toEqual(['tlp:white', 'tip:category="scanner"']);
    expect(e.Attribute.map((a) => [a.type, a.value])).toEqual(ENTRIES.map((x) => [x.type === 'ip' || x.type === 'cidr' ? 'ip-dst' : x.type, x.value]));
    for (const [i, a] of e.Attribute.entries()) {
      expect(a.category).toBe('Network activity');
      expect(a.to_ids).toBe(ENTRIES[i]!.score >= 0.5);
      expect(a.comment).toContain(`sources: ${ENTRIES[i]!.sources.join(', ')}`);
      expect(a.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(a).toMatchObject({ first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-02-01T00:00:00.000Z' });
    }
    // a re-export keeps event and attribute uuids (MISP updates instead of duplicating)
    const again = JSON.parse((await render('misp')).text) as MispEvent;
    expect(again.Event.Attribute.map((a) => a.uuid)).toEqual(e.Attribute.map((a) => a.uuid));
    // with aggregation, CIDR blocks become ip-dst attributes too
    const agg = JSON.parse((await render('misp', ENTRIES, META, { aggregate: true })).text) as MispEvent;
    expect(agg.Event.Attribute.filter((a) => a.type === 'ip-dst').map((a) => a.value)).toContain('45.2.0.0/23');
  });

  it('writes a feed directory: manifest.json, <uuid>.json, hashes.csv (md5 of each value)', async () => {
    const dir = path.join(tmp, 'misp-feed');
    const r = await writeMispFeed(dir, ENTRIES, META, { orgName: 'Example CERT', tags: ['tlp:green'], threatLevel: 3 });
    expect(readdirSync(dir).sort()).toEqual([`${r.eventUuid}.json`, 'hashes.csv', 'manifest.json'].sort());
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, { info: string; date: string; timestamp: string; threat_level_id: string; Orgc: { name: string }; Tag: Array<{ name: string }> }>;
    const event = (JSON.parse(readFileSync(path.join(dir, `${r.eventUuid}.json`), 'utf8')) as MispEvent).Event;
    expect(Object.keys(manifest)).toEqual([event.uuid]);
    expect(manifest[event.uuid]).toMatchObject({ info: event.info, date: event.date, timestamp: event.timestamp, threat_level_id: '3', Orgc: { name: 'Example CERT' } });
    expect(manifest[event.uuid]!.Tag.map((t) => t.name)).toEqual(event.Tag.map((t) => t.name));
    expect(event.Tag.map((t) => t.name)[0]).toBe('tlp:green');
    const hashes = readFileSync(path.join(dir, 'hashes.csv'), 'utf8').trim().split('\n');
    expect(hashes).toEqual(event.Attribute.map((a) => `${createHash('md5').update(a.value).digest('hex')},${event.uuid}`));
    expect(r).toMatchObject({ count: ENTRIES.length, written: ENTRIES.length });
  });

  it('a directory it cannot write is a TipError naming it; a failing input leaves the previous feed as it was', async () => {
    const file = path.join(tmp, 'not-a-dir');
    writeFileSync(file, 'x');
    await expect(writeMispFeed(file, ENTRIES, META)).rejects.toMatchObject({ code: 'TIP_INPUT_INVALID', details: { path: 'dir', input: file } });
    const dir = path.join(tmp, 'misp-keep');
    const first = await writeMispFeed(dir, ENTRIES, META);
    const before = readFileSync(path.join(dir, `${first.eventUuid}.json`), 'utf8');
    async function* failing(): AsyncGenerator<ExportEntry> {
      yield ENTRIES[0]!;
      throw new Error('database went away');
    }
    await expect(writeMispFeed(dir, failing(), { ...META, generatedAt: new Date('2026-04-01T00:00:00Z') })).rejects.toThrow('database went away');
    expect(readdirSync(dir).sort()).toEqual([`${first.eventUuid}.json`, 'hashes.csv', 'manifest.json'].sort());
    expect(readFileSync(path.join(dir, `${first.eventUuid}.json`), 'utf8')).toBe(before);
  });

  it('validates its options', () => {
    expect(() => mispWriter({ orgUuid: 'nope' })).toThrow(expect.objectContaining({ details: expect.objectContaining({ path: 'misp.orgUuid' }) }));
    expect(() => mispWriter({ threatLevel: 7 as 1 })).toThrow(/misp.threatLevel/);
    expect(() => mispWriter({ toIdsMinScore: 2 })).toThrow(/misp.toIdsMinScore/);
    expect(() => mispWriter({ tags: [''] })).toThrow(/misp.tags/);
  });
});

describe('writer results', () => {
  it('hosts: says how many indicators it wrote, not how many entries it read; bytes are the document', async () => {
    const { text, result } = await render('hosts');
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(result.written).toBe(lines.length);
    expect(result.count).toBe(ENTRIES.length);
    expect(result.skipped).toEqual({ ip: ENTRIES.filter((e) => e.type === 'ip').length, cidr: ENTRIES.filter((e) => e.type === 'cidr').length, url: 1 });
    expect(result.bytes).toBe(Buffer.byteLength(text));
    // every format: bytes measured on what the sink got, written = lines/objects in the document
    for (const format of ['plain', 'csv', 'json', 'rpz', 'stix', 'ipset', 'nftables', 'misp']) {
      const r = await render(format);
      expect(r.result.bytes, format).toBe(readFileSync(r.file).length);
      expect(r.result.written + Object.values(r.result.skipped).reduce((a, b) => a + b, 0), format).toBe(r.result.aggregated ? r.result.aggregated.blocks + ENTRIES.filter((e) => !isIp(e)).length : ENTRIES.length);
    }
  });

});
