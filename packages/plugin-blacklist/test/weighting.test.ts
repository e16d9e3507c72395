import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { configError } from './helpers.js';
import { describe, expect, it } from 'vitest';
import { Allowlist } from '../src/allowlists/index.js';
import { Yielder } from '../src/ingest/Yielder.js';
import type { IndicatorType } from '../src/indicators/types.js';
import {
  DEFAULT_DECAY_MODEL,
  computeSourceMetrics,
  computeSourceMetricsAsync,
  decay,
  decayModel,
  decayedScore,
  scoreIndicator,
  type ListingRecord,
  type MetricsInput,
  type RunRecord,
  type SourceMetrics,
} from '../src/weighting/index.js';

const H = 3_600_000;
const D = 24 * H;
const T = Date.UTC(2024, 0, 31); // now
const W = 7 * D; // window [T − 7d, T]


/** A listing: first seen `first` days before now, removed `removed` days before now (undefined = still listed). */
const L = (source: string, type: IndicatorType, value: string, first: number, removed?: number): ListingRecord => ({
  source,
  type,
  value,
  firstSeen: T - first * D,
  lastSeen: removed === undefined ? T : T - removed * D,
  ...(removed === undefined ? {} : { removedAt: T - removed * D }),
});
const R = (source: string, daysAgo: number, ok: boolean): RunRecord => ({ source, startedAt: T - daysAgo * D, ok });

/*
 * Fixture: three sources, window W = [T−7d, T]. Listing interval = [firstSeen, removedAt ?? ∞).
 *
 * alpha (10 records in W, 9 distinct):      lifetime   added∈W  removed∈W
 *   45.1.1.1        −10d, listed             10d
 *   45.1.1.2        −6d → removed −2d         4d        +1       +1
 *   45.1.1.2        −1d, listed (re-listed)   1d        +1
 *   45.1.1.3        −5d                       5d        +1
 *   91.0.0.7        −4d   (inside gamma's 91.0.0.0/24)  4d  +1
 *   91.0.0.128/25   −3d   (inside gamma's 91.0.0.0/24)  3d  +1
 *   10.1.2.3        −2d   RFC 1918 → false positive     2d  +1
 *   45.2.0.1        −20d → removed −1d       19d                 +1
 *   45.2.0.2        −1d                       1d        +1
 *   45.6.0.0/31     −6d  (= beta's 45.6.0.0 ∪ gamma's 45.6.0.1)  6d  +1
 *   45.2.0.3        −30d → removed −8d: entirely before W, ignored
 * beta (10 records, 10 distinct):
 *   45.1.1.1 −12d (12d); 45.1.1.2 −7d (7d, +1: the window start is inclusive); 45.1.1.4 −3d → −1d (2d, +1 +1);
 *   domain evil-example.xyz −2d (2d, +1); url http://evil-example.xyz/payload.exe −2d (2d, +1);
 *   domain www.google.com −5d → −4d (1d, +1 +1; popular domain → false positive);
 *   45.3.0.1 −9d → −7d (2d, removal at the window start counts, +1); 45.3.0.2 −1d (1d, +1);
 *   cidr 45.4.0.0/16 −8d (8d); 45.6.0.0 −4d (4d, +1)
 * gamma (10 records, 10 distinct):
 *   45.1.1.1 −8d (8d); 45.1.1.3 −6d (6d, +1); 45.1.1.4 −5d (5d, +1); cidr 91.0.0.0/24 −7d (7d, +1);
 *   domain evil-example.xyz −3d (3d, +1); 45.4.1.1 −2d (2d, +1; inside beta's /16); 45.5.0.1 −1d (1d, +1);
 *   45.5.0.2 −1d (1d, +1); 45.5.0.3 −3d → −2d (1d, +1 +1); 45.6.0.1 −14d (14d)
 */
const listings: ListingRecord[] = [
  L('alpha', 'ip', '45.1.1.1', 10),
  L('alpha', 'ip', '45.1.1.2', 6, 2),
  L('alpha', 'ip', '45.1.1.2', 1),
  L('alpha', 'ip', '45.1.1.3', 5),
  L('alpha', 'ip', '91.0.0.7', 4),
  L('alpha', 'cidr', '91.0.0.128/25', 3),
  L('alpha', 'ip', '10.1.2.3', 2),
  L('alpha', 'ip', '45.2.0.1', 20, 1),
  L('alpha', 'ip', '45.2.0.2', 1),
  L('alpha', 'cidr', '45.6.0.0/31', 6),
  L('alpha', 'ip', '45.2.0.3', 30, 8),
  L('beta', 'ip', '45.1.1.1', 12),
  L('beta', 'ip', '45.1.1.2', 7),
  L('beta', 'ip', '45.1.1.4', 3, 1),
  L('beta', 'domain', 'evil-example.xyz', 2),
  L('beta', 'url', 'http://evil-example.xyz/payload.exe', 2),
  L('beta', 'domain', 'www.google.com', 5, 4),
  L('beta', 'ip', '45.3.0.1', 9, 7),
  L('beta', 'ip', '45.3.0.2', 1),
  L('beta', 'cidr', '45.4.0.0/16', 8),
  L('beta', 'ip', '45.6.0.0', 4),
  L('gamma', 'ip', '45.1.1.1', 8),
  L('gamma', 'ip', '45.1.1.3', 6),
  L('gamma', 'ip', '45.1.1.4', 5),
  L('gamma', 'cidr', '91.0.0.0/24', 7),
  L('gamma', 'domain', 'evil-example.xyz', 3),
  L('gamma', 'ip', '45.4.1.1', 2),
  L('gamma', 'ip', '45.5.0.1', 1),
  L('gamma', 'ip', '45.5.0.2', 1),
  L('gamma', 'ip', '45.5.0.3', 3, 2),
  L('gamma', 'ip', '45.6.0.1', 14),
  L('other', 'ip', '45.2.0.1', 100), // not in `sources`: ignored everywhere
];

/*
 * Runs. alpha: −8d ok (before W: freshness only), −6d ok, −4d ok, −2d fail, −1d ok, +1h ok (after now: ignored)
 *   → availability 3/4 = 0.75, freshness 1d. beta: −9d ok (before W), −3d, −1d, −12h fail → availability 0/3 = 0,
 *   freshness 9d. gamma: no runs → availability null, freshness null.
 */
const runs: RunRecord[] = [
  R('alpha', 8, true), R('alpha', 6, true), R('alpha', 4, true), R('alpha', 2, false), R('alpha', 1, true), R('alpha', -1 / 24, true),
  R('beta', 9, true), R('beta', 3, false), R('beta', 1, false), R('beta', 0.5, false),
];

const input: MetricsInput = {
  now: T,
  windowMs: W,
  sources: ['alpha', 'beta', 'gamma'],
  listings,
  runs,
  allowlist: Allowlist.builtIn(),
  expectedIntervalMs: { alpha: D },
};

describe('computeSourceMetrics on a hand-built fixture', () => {
  const metrics = computeSourceMetrics(input);
  const by = (s: string): SourceMetrics => metrics.find((m) => m.source === s)!;
  const [alpha, beta, gamma] = [by('alpha'), by('beta'), by('gamma')];

  it('keeps the order of `sources`', () => {
    expect(metrics.map((m) => m.source)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('volume = distinct indicators listed at some time in W', () => {
    expect([alpha.volume, beta.volume, gamma.volume]).toEqual([9, 10, 10]);
  });

  it('exact overlap |A ∩ B|', () => {
    // α∩β = {45.1.1.1, 45.1.1.2}; α∩γ = {45.1.1.1, 45.1.1.3}; β∩γ = {45.1.1.1, 45.1.1.4, evil-example.xyz}
    expect(alpha.overlapExact).toEqual({ beta: 2, gamma: 2 });
    expect(beta.overlapExact).toEqual({ alpha: 2, gamma: 3 });
    expect(gamma.overlapExact).toEqual({ alpha: 2, beta: 3 });
  });

  it('containment overlap: indicators of A inside B (exact or within B’s ranges)', () => {
    // α in γ: 45.1.1.1, 45.1.1.3 + 91.0.0.7 and 91.0.0.128/25 ⊂ 91.0.0.0/24 = 4
    // β in α: 45.1.1.1, 45.1.1.2 + 45.6.0.0 ⊂ 45.6.0.0/31 = 3; β in γ: exact 3 (45.4.0.0/16 ⊄ γ)
    // γ in α: 45.1.1.1, 45.1.1.3 + 45.6.0.1 = 3 (91.0.0.0/24 ⊄ α); γ in β: exact 3 + 45.4.1.1 ⊂ 45.4.0.0/16 = 4
    expect(alpha.overlap).toEqual({ beta: 2, gamma: 4 });
    expect(beta.overlap).toEqual({ alpha: 3, gamma: 3 });
    expect(gamma.overlap).toEqual({ alpha: 3, beta: 4 });
  });

  it('differential |A ∖ B| / |A| (containment)', () => {
    expect(alpha.differential).toEqual({ beta: 7 / 9, gamma: 5 / 9 });
    expect(beta.differential).toEqual({ alpha: 7 / 10, gamma: 7 / 10 });
    expect(gamma.differential).toEqual({ alpha: 7 / 10, beta: 6 / 10 });
  });

  it('exclusive |A ∖ ⋃others| / |A| (containment, union-aware)', () => {
    // α: in others = 45.1.1.1, 45.1.1.2, 45.1.1.3, 91.0.0.7, 91.0.0.128/25, and 45.6.0.0/31, which lies in no
    //    single other source but in β ∪ γ → 6 of 9 → exclusive 3/9 (10.1.2.3, 45.2.0.1, 45.2.0.2)
    // β: in others = 45.1.1.1, 45.1.1.2, 45.1.1.4, evil-example.xyz, 45.6.0.0 → 5/10 → 0.5
    // γ: exclusive = 91.0.0.0/24 (α covers only .7 and .128/25), 45.5.0.1, 45.5.0.2, 45.5.0.3 → 4/10
    expect(alpha.exclusive).toBe(3 / 9);
    expect(beta.exclusive).toBe(0.5);
    expect(gamma.exclusive).toBe(0.4);
  });

  it('exact mode uses (type, value) identity only', () => {
    const exact = computeSourceMetrics({ ...input, overlapMode: 'exact' });
    // α exclusive: 91.0.0.7, 91.0.0.128/25, 10.1.2.3, 45.2.0.1, 45.2.0.2, 45.6.0.0/31 → 6/9
    expect(exact[0]!.exclusive).toBe(6 / 9);
    expect(exact[0]!.overlap).toEqual({ beta: 2, gamma: 2 });
    expect(exact[0]!.differential).toEqual({ beta: 7 / 9, gamma: 7 / 9 });
    expect(exact[2]!.exclusive).toBe(6 / 10); // γ: 91.0.0.0/24, 45.4.1.1, 45.5.0.1-3, 45.6.0.1
  });

  it('latency: firstSeen_A − earliest firstSeen of any source, over indicators shared exactly', () => {
    // earliest: 45.1.1.1 −12d (β); 45.1.1.2 −7d (β); 45.1.1.3 −6d (γ); 45.1.1.4 −5d (γ); evil-example.xyz −3d (γ)
    // α: 45.1.1.1 2d, 45.1.1.2 1d (its earliest windowed listing is −6d), 45.1.1.3 1d → [1,1,2]: median 1d, mean 4/3 d
    // β: 0, 0, 45.1.1.4 2d, evil-example.xyz 1d → [0,0,1,2]: median 0.5d, mean 0.75d
    // γ: 45.1.1.1 4d, 0, 0, 0 → median 0, mean 1d
    expect([alpha.latencyMedianMs, alpha.latencyMeanMs]).toEqual([D, (4 / 3) * D]);
    expect([beta.latencyMedianMs, beta.latencyMeanMs]).toEqual([0.5 * D, 0.75 * D]);
    expect([gamma.latencyMedianMs, gamma.latencyMeanMs]).toEqual([0, D]);
  });

  it('persistence: median lifetime of the listing records in W', () => {
    // α [1,1,2,3,4,4,5,6,10,19] → 4d; β [1,1,2,2,2,2,4,7,8,12] → 2d; γ [1,1,1,2,3,5,6,7,8,14] → 4d
    expect([alpha.persistenceMedianMs, beta.persistenceMedianMs, gamma.persistenceMedianMs]).toEqual([4 * D, 2 * D, 4 * D]);
  });

  it('churn: (added + removed in W) / volume', () => {
    // α (8 + 2) / 9; β (7 + 3) / 10; γ (8 + 1) / 10
    expect([alpha.churn, beta.churn, gamma.churn]).toEqual([10 / 9, 1, 0.9]);
  });

  it('false-positive rate: share of A on the allow-list', () => {
    // α: 10.1.2.3 (RFC 1918); β: www.google.com (popular domain); γ: none
    expect([alpha.falsePositiveRate, beta.falsePositiveRate, gamma.falsePositiveRate]).toEqual([1 / 9, 1 / 10, 0]);
    expect(computeSourceMetrics({ ...input, allowlist: undefined })[0]!.falsePositiveRate).toBe(0);
  });

  it('availability and freshness from the runs', () => {
    expect([alpha.availability, beta.availability, gamma.availability]).toEqual([0.75, 0, null]);
    expect([alpha.freshnessMs, beta.freshnessMs, gamma.freshnessMs]).toEqual([D, 9 * D, null]);
  });

  it('default weight = (1 − fpr)² × mean of the known terms', () => {
    // α: terms exclusive 1/3, availability 3/4, freshness 0.5^(max(0, 1d − 1d expected)/1d) = 1,
    //    persistence 4/(4+7) = 4/11, latency 1/(1+1) = 1/2 → mean (44+99+132+48+66)/132/5 = 389/660;
    //    × (8/9)² = 64/81 → 24896/53460 ≈ 0.4657
    // β: 1/2, 0, 0.5^9 = 1/512, 2/(2+7) = 2/9, 1/(1+0.5) = 2/3 → 6409/4608/5 = 6409/23040; × 0.9² → ≈ 0.2253
    // γ: availability and freshness unknown (left out): (2/5 + 4/11 + 1)/3 = 97/165 ≈ 0.5879; fpr 0
    expect(alpha.weight).toBeCloseTo((64 / 81) * (389 / 660), 12);
    expect(beta.weight).toBeCloseTo(0.81 * (6409 / 23040), 12);
    expect(gamma.weight).toBeCloseTo(97 / 165, 12);
  });

  it('takes formula parameters and custom functions', () => {
    const onlyExclusive = computeSourceMetrics(input, { weights: { fpr: 0, availability: 0, freshness: 0, persistence: 0, latency: 0 } });
    expect(onlyExclusive.map((m) => m.weight)).toEqual([3 / 9, 0.5, 0.4]);
    const fn = computeSourceMetrics(input, (m) => m.exclusive * (1 - m.falsePositiveRate));
    expect(fn.map((m) => m.weight)).toEqual([(3 / 9) * (8 / 9), 0.5 * 0.9, 0.4]);
    expect(computeSourceMetrics(input, () => Number.NaN).map((m) => m.weight)).toEqual([0, 0, 0]);
    expect(computeSourceMetrics(input, () => 7).map((m) => m.weight)).toEqual([1, 1, 1]);
  });

  it('gives an empty source zeros, nulls and weight 0', () => {
    const [empty] = computeSourceMetrics({ ...input, sources: ['nobody', 'alpha'] });
    expect(empty).toMatchObject({ volume: 0, exclusive: 0, churn: 0, falsePositiveRate: 0, weight: 0, latencyMedianMs: null, persistenceMedianMs: null, availability: null, freshnessMs: null });
    expect(empty!.differential).toEqual({ alpha: 0 });
  });

  it('rejects invalid input, naming the option', () => {
    expect(configError(() => computeSourceMetrics({ ...input, windowMs: 0 })).option).toBe('windowMs');
    expect(configError(() => computeSourceMetrics({ ...input, now: Number.NaN })).option).toBe('now');
    expect(configError(() => computeSourceMetrics({ ...input, sources: ['a', 'a'] })).option).toBe('sources');
    expect(configError(() => computeSourceMetrics(input, { weights: { fpr: -1 } })).option).toBe('weights.fpr');
    expect(configError(() => computeSourceMetrics(input, { latencyRefMs: 0 })).option).toBe('latencyRefMs');
  });
});

describe('computeSourceMetricsAsync', () => {
  // A 0 ms slice makes every checkpoint pause: the computation is cut at every step it can be.
  const variants: Array<[string, MetricsInput, Parameters<typeof computeSourceMetrics>[1]?]> = [
    ['containment', input],
    ['exact', { ...input, overlapMode: 'exact' }],
    ['no allow-list', { ...input, allowlist: undefined }],
    ['an empty source', { ...input, sources: ['nobody', 'alpha'] }],
    ['a single source', { ...input, sources: ['beta'] }],
    ['formula parameters', input, { weights: { fpr: 0, availability: 0, freshness: 0, persistence: 0, latency: 0 } }],
    ['a custom formula', input, (m) => m.exclusive * (1 - m.falsePositiveRate)],
  ];
  it.each(variants)('agrees with the sync variant (%s)', async (_name, i, formula) => {
    expect(await computeSourceMetricsAsync(i, formula, new Yielder(0))).toEqual(computeSourceMetrics(i, formula));
    expect(await computeSourceMetricsAsync(i, formula)).toEqual(computeSourceMetrics(i, formula));
  });

  it('pauses (gives the event loop a turn) when its slice is used up', async () => {
    class Counting extends Yielder {
      pauses = 0;
      override async pause(): Promise<void> {
        this.pauses++;
        await super.pause();
      }
    }
    const y = new Counting(0);
    await computeSourceMetricsAsync(input, undefined, y);
    expect(y.pauses).toBeGreaterThan(3); // at least the sorts of every source
  });

  it('rejects invalid input, naming the option', async () => {
    await expect(computeSourceMetricsAsync({ ...input, windowMs: 0 })).rejects.toMatchObject({ details: { option: 'windowMs' } });
    await expect(computeSourceMetricsAsync(input, { weights: { fpr: -1 } })).rejects.toMatchObject({ details: { option: 'weights.fpr' } });
  });
});

describe('indicator score', () => {
  it('noisy-OR of the source weights', () => {
    expect(scoreIndicator([])).toBe(0);
    expect(scoreIndicator([0.7])).toBeCloseTo(0.7, 15);
    expect(scoreIndicator([0.5, 0.5])).toBe(0.75);
    expect(scoreIndicator([0.2, 0.5, 0.9])).toBeCloseTo(1 - 0.8 * 0.5 * 0.1, 15);
    expect(scoreIndicator([1, 0.3])).toBe(1);
    expect(scoreIndicator([Number.NaN, 0.5, -2])).toBe(0.5);
    expect(scoreIndicator([2])).toBe(1);
  });

  it('MISP polynomial decay score · (1 − (t/τ)^(1/δ))', () => {
    const tauMs = 10 * D;
    for (const delta of [1, 2, 0.5]) {
      expect(decay(0.8, 0, { tauMs, delta })).toBe(0.8);
      expect(decay(0.8, tauMs, { tauMs, delta })).toBe(0);
      expect(decay(0.8, 3 * tauMs, { tauMs, delta })).toBe(0);
      expect(decay(0.8, -D, { tauMs, delta })).toBe(0.8);
    }
    expect(decay(0.8, tauMs / 2, { tauMs, delta: 1 })).toBeCloseTo(0.4, 15);
    expect(decay(0.8, tauMs / 2, { tauMs, delta: 2 })).toBeCloseTo(0.8 * (1 - Math.SQRT1_2), 15); // ≈ 0.2343
    expect(decay(0.8, tauMs / 2, { tauMs, delta: 0.5 })).toBeCloseTo(0.8 * 0.75, 15);
    expect(decay(0.8, Number.NaN, { tauMs, delta: 1 })).toBe(0);
    expect(configError(() => decay(1, 0, { tauMs: 0, delta: 1 })).option).toBe('tauMs');
    expect(configError(() => decay(1, 0, { tauMs: 1, delta: -1 })).option).toBe('delta');
  });

  it('has a configurable decay model per indicator type', () => {
    expect(DEFAULT_DECAY_MODEL.ip).toEqual({ tauMs: 14 * D, delta: 2 });
    expect(DEFAULT_DECAY_MODEL.cidr).toEqual({ tauMs: 90 * D, delta: 0.5 });
    const model = decayModel({ ip: { tauMs: 7 * D } });
    expect(model.ip).toEqual({ tauMs: 7 * D, delta: 2 });
    expect(model.domain).toEqual(DEFAULT_DECAY_MODEL.domain);
    expect(configError(() => decayModel({ url: { delta: 0 } })).option).toBe('url.delta');
    // domain τ 60d δ 1: noisy-OR 0.75 at 30 days → 0.375
    expect(decayedScore([0.5, 0.5], 'domain', 30 * D)).toBeCloseTo(0.375, 15);
  });
});

const corpus = '/work/shared/corpus/blocklists/ip';
/** The corpus's sets as listings of one update (each file is a source). */
function readCorpus(): { now: number; sources: string[]; corpusListings: ListingRecord[] } {
  const now = Date.UTC(2024, 0, 24, 12);
  const sources: string[] = [];
  const corpusListings: ListingRecord[] = [];
  for (const file of readdirSync(corpus).filter((f) => /\.(ipset|netset)$/.test(f)).sort()) {
    const source = file.replace(/\.(ipset|netset)$/, '');
    sources.push(source);
    for (const line of readFileSync(`${corpus}/${file}`, 'utf8').split('\n')) {
      const value = line.trim();
      if (!value || value.startsWith('#')) continue;
      corpusListings.push({ source, type: value.includes('/') ? 'cidr' : 'ip', value, firstSeen: now - H, lastSeen: now });
    }
  }
  return { now, sources, corpusListings };
}

describe.skipIf(!existsSync(corpus))('FireHOL corpus (one update, 2024-01-24)', () => {
  it('reproduces the overlaps stated in SOURCES.md, in a few seconds', () => {
    const { now, sources, corpusListings } = readCorpus();
    expect(sources).toHaveLength(10);
    const t0 = performance.now();
    const m = computeSourceMetrics({ now, windowMs: D, sources, listings: corpusListings, runs: [], allowlist: Allowlist.builtIn() });
    const ms = performance.now() - t0;
    const by = (s: string): SourceMetrics => m.find((x) => x.source === s)!;
    console.log(`${corpusListings.length} listings, ${sources.length} sources: metrics in ${ms.toFixed(0)} ms`);
    console.table(
      m.map((x) => ({
        source: x.source,
        volume: x.volume,
        exclusive: +x.exclusive.toFixed(4),
        fpr: +x.falsePositiveRate.toFixed(4),
        weight: +x.weight.toFixed(4),
      })),
    );
    // Containment overlap matrix: row A, column B = indicators of A inside B.
    console.table(Object.fromEntries(m.map((x) => [x.source, x.overlap])));
    expect(m.map((x) => x.volume)).toEqual([23723, 15000, 19, 1008, 581, 1947, 18107, 7282, 972, 283]);
    expect(by('spamhaus_drop').differential.et_block).toBe(0);
    expect(by('spamhaus_drop').differential.firehol_level1).toBe(0);
    expect(by('spamhaus_edrop').overlap.firehol_level1).toBe(283);
    expect(by('dshield').overlap.firehol_level1).toBe(19);
    expect(by('blocklist_de').differential.firehol_level2).toBe(0);
    expect(by('blocklist_de').exclusive).toBe(0);
    expect(by('greensnow').differential.firehol_level2).toBe(0);
    expect(by('blocklist_de').overlap.greensnow).toBe(4551);
    expect(by('ciarmy').overlap.et_block).toBe(1130);
    expect(by('ciarmy').overlap.blocklist_de).toBe(426);
    expect(by('et_compromised').overlap.blocklist_de).toBe(147);
    expect(ms).toBeLessThan(10_000);
  });

  it('gives the same metrics with the async variant', async () => {
    const { now, sources, corpusListings } = readCorpus();
    const i: MetricsInput = { now, windowMs: D, sources, listings: corpusListings, runs: [], allowlist: Allowlist.builtIn() };
    expect(await computeSourceMetricsAsync(i, undefined, new Yielder(1))).toEqual(computeSourceMetrics(i));
  });
});
