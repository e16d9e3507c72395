import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Allowlist } from '../src/allowlists/index.js';
import { formatIpv4 } from '../src/indicators/ip.js';
import { computeSourceMetrics, computeSourceMetricsAsync, type ListingRecord, type SourceMetrics } from '../src/weighting/index.js';
import { SWEEP_LIMITS, sortCoordinates } from '../src/weighting/intervals.js';

const H = 3_600_000;
const D = 24 * H;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const corpus = resolve(repoRoot, '../shared/corpus/blocklists/ip');
const hasCorpus = existsSync(corpus);
const hasIprange = spawnSync('iprange', ['--has-compare']).status === 0;
if (!hasCorpus) console.warn(`address metrics: corpus not found at ${corpus}: the iprange comparisons on real lists are SKIPPED`);
if (!hasIprange) console.warn('address metrics: iprange not installed (Debian: apt-get install iprange): the iprange comparisons are SKIPPED');

const rec = (source: string, value: string, firstSeen: number, removedAt?: number): ListingRecord => ({
  source,
  type: value.includes('/') ? 'cidr' : 'ip',
  value,
  firstSeen,
  lastSeen: removedAt ?? firstSeen,
  ...(removedAt === undefined ? {} : { removedAt }),
});

/** Non-comment lines of a FireHOL ipset/netset. */
function entries(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function iprange(args: string[], input?: string): string {
  const r = spawnSync('iprange', args, { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`iprange ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
/** `iprange ... | iprange -C` → unique addresses. */
function countUnique(args: string[]): number {
  const out = iprange(['-C'], iprange(args));
  return Number(out.trim().split(',')[1]);
}

describe.skipIf(!hasCorpus || !hasIprange)('address metrics on the FireHOL corpus equal iprange', () => {
  const files = hasCorpus ? readdirSync(corpus).filter((f) => /\.(ipset|netset)$/.test(f)).sort() : [];
  const now = Date.UTC(2024, 0, 24, 12);
  const tmp = mkdtempSync(join(tmpdir(), 'tip-addr-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const listings: ListingRecord[] = files.flatMap((f) => entries(join(corpus, f)).map((v) => rec(f, v, now - H)));
  const allow = Allowlist.builtIn();
  let metrics: Map<string, SourceMetrics>;
  const get = (f: string) => metrics.get(f)!.addresses.ipv4!;

  it('volume and pairwise common addresses (iprange --compare, --count-unique)', () => {
    metrics = new Map(computeSourceMetrics({ now, windowMs: D, sources: files, listings, runs: [], allowlist: allow }).map((m) => [m.source, m]));
    const compare = iprange(['--compare', ...files.map((f) => join(corpus, f))]);
    let pairs = 0;
    for (const line of compare.trim().split('\n')) {
      const [n1, n2, , , ips1, ips2, , common] = line.split(',');
      const a = n1!.split('/').pop()!;
      const b = n2!.split('/').pop()!;
      expect(get(a).volume).toBe(Number(ips1));
      expect(get(b).volume).toBe(Number(ips2));
      expect(get(a).overlap[b]).toBe(Number(common));
      expect(get(b).overlap[a]).toBe(Number(common));
      expect(get(a).differential[b]).toBeCloseTo((Number(ips1) - Number(common)) / Number(ips1), 12);
      pairs++;
    }
    expect(pairs).toBe((files.length * (files.length - 1)) / 2);
    for (const f of files) {
      expect(get(f).volume).toBe(Number(iprange(['-C', join(corpus, f)]).trim().split(',')[1]));
      expect(metrics.get(f)!.addresses.ipv6).toBeNull();
    }
  });

  it('exclusive addresses (iprange A --exclude-next others)', () => {
    for (const f of files) {
      const others = files.filter((o) => o !== f).map((o) => join(corpus, o));
      const own = countUnique([join(corpus, f), '--exclude-next', ...others]);
      expect(get(f).exclusiveAddresses).toBe(own);
      expect(get(f).exclusive).toBeCloseTo(own / get(f).volume, 12);
    }
    // the example: level1 adds few entries of its own but almost all of its addresses
    expect(metrics.get('firehol_level1.netset')!.exclusive).toBeLessThan(0.4);
    expect(get('firehol_level1.netset').exclusive).toBeGreaterThan(0.95);
  });

  it('false positives by addresses (iprange --common A allow-list)', () => {
    const allowFile = join(tmp, 'allow.txt');
    const v4 = allow.ipRanges().filter((r) => r.version === 4);
    writeFileSync(allowFile, v4.map((r) => `${formatIpv4(r.start)} - ${formatIpv4(r.end)}\n`).join(''));
    let some = 0;
    for (const f of files) {
      const fp = countUnique(['--common', join(corpus, f), allowFile]);
      expect(get(f).falsePositiveAddresses).toBe(fp);
      expect(get(f).falsePositiveRate).toBeCloseTo(fp / get(f).volume, 12);
      if (fp > 0) some++;
    }
    expect(some).toBeGreaterThan(0); // level1 includes bogons
  });

  it('churn between versions (iprange new --exclude-next old and vice versa)', async () => {
    const hist = join(corpus, 'history');
    const chains = [
      ['spamhaus_drop.netset@2022-01-19', 'spamhaus_drop.netset@2023-03-22', '../spamhaus_drop.netset'],
      ['blocklist_de.ipset@2022-01-24', 'blocklist_de.ipset@2023-03-23', '../blocklist_de.ipset'],
      ['dshield.netset@2022-01-24', '../dshield.netset'],
    ];
    for (const chain of chains) {
      const paths = chain.map((c) => join(hist, c));
      const times = paths.map((_, i) => now - (paths.length - i) * 10 * D);
      // one record per entry and listing period: opened at the version that adds it, closed at the first version without it
      const records: ListingRecord[] = [];
      const sets = paths.map((p) => new Set(entries(p)));
      sets.forEach((set, i) => {
        for (const v of set) {
          if (i > 0 && sets[i - 1]!.has(v)) continue;
          let j = i + 1;
          while (j < sets.length && sets[j]!.has(v)) j++;
          records.push(rec('S', v, times[i]!, j < sets.length ? times[j] : undefined));
        }
      });
      for (let from = 0; from < paths.length - 1; from++) {
        // window starts after version `from` was listed: before = version `from`, now = the last version
        const windowMs = now - times[from]! - 1;
        const m = (await computeSourceMetricsAsync({ now, windowMs, sources: ['S'], listings: records, runs: [] }))[0]!.addresses.ipv4!;
        const last = paths[paths.length - 1]!;
        expect(m.added, `${chain[from]} → now: added`).toBe(countUnique([last, '--exclude-next', paths[from]!]));
        expect(m.removed, `${chain[from]} → now: removed`).toBe(countUnique([paths[from]!, '--exclude-next', last]));
        const everything = countUnique([...paths.slice(from)]);
        expect(m.volume).toBe(everything);
      }
    }
  });
});

describe('address metrics on hand-made fixtures', () => {
  const now = 100 * D;
  const run = (listings: ListingRecord[], sources: string[], allowlist?: Allowlist, windowMs = 10 * D, overlapMode: 'containment' | 'exact' = 'containment') =>
    new Map(computeSourceMetrics({ now, windowMs, sources, listings, runs: [], allowlist, overlapMode }).map((m) => [m.source, m]));

  it('counts IPv6 addresses per family, never mixing them with IPv4', () => {
    // A: 2001:db8::/126 (4) + 2001:db8::10 (1) + 192.0.2.0/30 (4)
    // B: 2001:db8::2/127 (2: ::2, ::3) + 2001:db8::10 + 2001:db8::11 (adjacent singles) + 198.51.100.1
    // C: 2001:db8::/32 (2^96) — contains everything IPv6 of A and B
    const t = now - D;
    const m = run(
      [
        rec('A', '2001:db8::/126', t),
        rec('A', '2001:db8::10', t),
        rec('A', '192.0.2.0/30', t),
        rec('B', '2001:db8::2/127', t),
        rec('B', '2001:db8::10', t),
        rec('B', '2001:db8::11', t),
        rec('B', '198.51.100.1', t),
        rec('C', '2001:db8::/32', t),
      ],
      ['A', 'B', 'C'],
    );
    const a6 = m.get('A')!.addresses.ipv6!;
    const b6 = m.get('B')!.addresses.ipv6!;
    const c6 = m.get('C')!.addresses.ipv6!;
    expect(a6.volume).toBe(5);
    expect(b6.volume).toBe(4);
    expect(c6.volume).toBe(2 ** 96);
    expect(a6.overlap).toEqual({ B: 3, C: 5 }); // ::2, ::3, ::10
    expect(b6.overlap).toEqual({ A: 3, C: 4 });
    expect(c6.overlap).toEqual({ A: 5, B: 4 });
    expect(a6.differential.B).toBeCloseTo(2 / 5, 12);
    expect(a6.exclusive).toBe(0);
    expect(c6.exclusiveAddresses).toBe(2 ** 96 - 6); // ::0..3, ::10, ::11 are listed by A or B
    expect(m.get('A')!.addresses.ipv4).toMatchObject({ volume: 4, overlap: { B: 0, C: 0 }, exclusive: 1 });
    expect(m.get('C')!.addresses.ipv4).toBeNull();
    // entry level (containment): A's /126 is not inside B; both of A's IPv6 entries are inside C
    expect(m.get('A')!.overlap).toEqual({ B: 1, C: 2 });
    expect(m.get('B')!.overlap).toEqual({ A: 2, C: 3 });
  });

  it('keeps IPv6 sums exact before rounding (2^127 + 1 addresses)', () => {
    const m = run([rec('A', '::/1', now - D), rec('A', '8000::1', now - D), rec('B', '8000::/128', now - D)], ['A', 'B']);
    expect(m.get('A')!.addresses.ipv6!.volume).toBe(Number(2n ** 127n + 1n));
    expect(m.get('B')!.addresses.ipv6!.exclusiveAddresses).toBe(1);
    expect(m.get('A')!.addresses.ipv6!.overlap.B).toBe(0);
  });

  it('measures IPv6 churn and false positives by addresses', () => {
    // before the window: A lists 2001:db8::/127 and fe80::/126; in the window it drops fe80::/126 and adds 2001:db8::/126
    const old = now - 20 * D;
    const m = run(
      [rec('A', '2001:db8::/127', old, now - 5 * D), rec('A', 'fe80::/126', old, now - 5 * D), rec('A', '2001:db8::/126', now - 5 * D)],
      ['A'],
      Allowlist.builtIn(),
    );
    const a6 = m.get('A')!.addresses.ipv6!;
    expect(a6.volume).toBe(8);
    expect(a6.added).toBe(2); // ::2, ::3
    expect(a6.removed).toBe(4); // fe80::0..3
    expect(a6.falsePositiveAddresses).toBe(8); // fe80::/10 link-local and 2001:db8::/32 documentation
    expect(a6.falsePositiveRate).toBe(1);
  });

  it('counts churn as the net change of the listed addresses, not of the entries', () => {
    // a /24 re-aggregated into two /25s: two entries added, one removed, no address changed
    const m = run([rec('A', '203.0.113.0/24', now - 20 * D, now - D), rec('A', '203.0.113.0/25', now - D), rec('A', '203.0.113.128/25', now - D)], ['A']);
    expect(m.get('A')!.churn).toBe(1); // entries: (2 added + 1 removed) / 3
    expect(m.get('A')!.addresses.ipv4).toMatchObject({ volume: 256, added: 0, removed: 0 });
  });

  // exact mode records no segments, so it adds up covering sets of up to 4 sources directly
  it.each(['containment', 'exact'] as const)('agrees with brute-force set counting on random IPv4 sets (also above 52 sources), %s mode', (mode) => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (const S of [5, 60]) {
      const base = 0x0a000000; // 10.0.0.0, outside nothing: no allow-list here
      const listings: ListingRecord[] = [];
      const sets: Array<Set<number>> = [];
      const sources = Array.from({ length: S }, (_, i) => `s${i}`);
      for (let s = 0; s < S; s++) {
        const set = new Set<number>();
        for (let k = 0; k < 12; k++) {
          const prefix = 24 + rnd(9); // /24../32 inside 10.0.0.0/22
          const size = 2 ** (32 - prefix);
          const start = base + Math.floor(rnd(1024) / size) * size;
          listings.push(rec(sources[s]!, prefix === 32 ? formatIpv4(BigInt(start)) : `${formatIpv4(BigInt(start))}/${prefix}`, now - D));
          for (let x = start; x < start + size; x++) set.add(x);
        }
        sets.push(set);
      }
      const m = run(listings, sources, undefined, 10 * D, mode);
      for (let a = 0; a < S; a++) {
        const got = m.get(sources[a]!)!.addresses.ipv4!;
        expect(got.volume).toBe(sets[a]!.size);
        let own = 0;
        for (const x of sets[a]!) if (!sets.some((o, b) => b !== a && o.has(x))) own++;
        expect(got.exclusiveAddresses).toBe(own);
        for (let b = 0; b < S; b += 7) {
          if (b === a) continue;
          let common = 0;
          for (const x of sets[a]!) if (sets[b]!.has(x)) common++;
          expect(got.overlap[sources[b]!]).toBe(common);
        }
      }
    }
  });

  it('is identical sync and async, and in both overlap modes', async () => {
    const listings = [rec('A', '192.0.2.0/24', now - D), rec('B', '192.0.2.7', now - D), rec('B', '2001:db8::/64', now - D), rec('A', '2001:db8::1', now - D)];
    const input = { now, windowMs: D * 2, sources: ['A', 'B'], listings, runs: [] };
    const sync = computeSourceMetrics(input);
    expect(await computeSourceMetricsAsync(input)).toEqual(sync);
    const exact = computeSourceMetrics({ ...input, overlapMode: 'exact' });
    expect(exact.map((m) => m.addresses)).toEqual(sync.map((m) => m.addresses));
    expect(exact[1]!.overlap.A).toBe(0);
    expect(sync[1]!.overlap.A).toBe(1);
  });

  it('sorts coordinates with the radix sort exactly like the native sort', () => {
    let seed = 5;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    // with values up to 2^33 − 1 (three passes) and below 2^32 (two 16-bit passes)
    for (const [n, mod] of [[2048, 2 ** 33], [50_000, 2 ** 33], [50_000, 2 ** 32]] as const) {
      const a = Float64Array.from({ length: n }, (_, i) => (i % 97 === 0 ? [0, 2 ** 32, 2 ** 33 - 1, 2 ** 32 - 1][i % 4]! % mod : (rnd() * 4 + (rnd() % 4)) % mod));
      const expected = a.slice().sort();
      expect(Array.from(sortCoordinates(a))).toEqual(Array.from(expected));
    }
    // not coordinates (negative, fractional): the native sort
    expect(Array.from(sortCoordinates(Float64Array.from({ length: 3000 }, (_, i) => (i % 2 ? -i : i / 3))))).toEqual(Array.from(Float64Array.from({ length: 3000 }, (_, i) => (i % 2 ? -i : i / 3)).sort()));
  });

  it('gives the same metrics when the covering classes are capped (entries tested source by source)', () => {
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const sources = ['a', 'b', 'c', 'd', 'e', 'f'];
    const listings: ListingRecord[] = [];
    for (const s of sources) {
      for (let k = 0; k < 40; k++) {
        const prefix = 26 + rnd(7);
        const start = 0x0a000000 + Math.floor(rnd(2048) / 2 ** (32 - prefix)) * 2 ** (32 - prefix);
        listings.push(rec(s, prefix === 32 ? formatIpv4(BigInt(start)) : `${formatIpv4(BigInt(start))}/${prefix}`, now - D));
      }
    }
    const full = computeSourceMetrics({ now, windowMs: D * 2, sources, listings, runs: [] });
    const cap = SWEEP_LIMITS.classCap;
    SWEEP_LIMITS.classCap = 2;
    try {
      expect(computeSourceMetrics({ now, windowMs: D * 2, sources, listings, runs: [] })).toEqual(full);
    } finally {
      SWEEP_LIMITS.classCap = cap;
    }
    expect(full.some((m) => Object.values(m.overlap).some((n) => n > 0))).toBe(true);
  });
});
