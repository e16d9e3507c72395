import { TipError, TipErrorCodes, type Database } from '@tip/core';
import type { AllowMatch } from '../allowlists/index.js';
import { canonicalize } from '../indicators/canonical.js';
import type { Indicator, IndicatorType, SourceCategory } from '../indicators/types.js';
import { decay, scoreIndicator, weightBreakdown, type DecayParams, type SourceMetrics, type WeightBreakdown, type WeightFormula } from '../weighting/index.js';
import { scoreListings, type ScoringContext } from './entries.js';
import { coveringCidrs, groupById, listingsOf, METRIC_COLUMNS, parentDomains, storedIndicators, weightsOfRows, type ListingRow } from './lookup.js';
import { rowToMetrics, type StoredSourceMetrics } from './weights.js';

/**
 * How a listed indicator of a {@link Verdict} relates to the explained one:
 * - `exact`: the explained indicator itself;
 * - `covering-cidr`: a listed CIDR containing the explained IP/CIDR (or a URL's IP host);
 * - `parent-domain`: a listed parent of the explained domain (or of a URL's host);
 * - `url-host`: the host (domain or IP) of the explained URL.
 */
export type VerdictMatch = 'exact' | 'covering-cidr' | 'parent-domain' | 'url-host';

/** One open listing of a {@link VerdictEntry}: a source that lists the indicator now. */
export interface VerdictListing {
  /** The listing source's id. */
  source: string;
  /** Its title. */
  title: string;
  /** Its category. */
  category: SourceCategory;
  /** Whether the source is enabled; listings of disabled sources are shown but never count. */
  enabled: boolean;
  /** Whether this listing enters the entry's score (its source is enabled). */
  counted: boolean;
  /** When this listing period began (the source first listed it, this time). */
  listedSince: Date;
  /** When the source last confirmed it: the listing's own last submission (submitted sources), else the source's last successful run (what scoring decays from). */
  lastSeen: Date;
  /** `now − lastSeen` (ms). */
  ageMs: number;
  /** The decay factor at that age alone, `1 − (age/τ)^(1/δ)` (0 from τ on). */
  decayFactor: number;
  /** The source weight used in the noisy-OR (see {@link VerdictSource}). */
  weight: number;
}

/** One listed indicator of a {@link Verdict} (the explained one, a covering CIDR, a parent domain…) with its own score. */
export interface VerdictEntry {
  /** The listed indicator. */
  indicator: Indicator;
  /** How it relates to the explained indicator. */
  match: VerdictMatch;
  /**
   * Its score, exactly as exports and lookups compute it (`scoreListings`): `baseScore × decayFactor`
   * over the counted listings; 0 when no enabled source lists it.
   */
  score: number;
  /** The noisy-OR `1 − Π(1 − wᵢ)` of the counted listings' weights, before decay. */
  baseScore: number;
  /** The latest `lastSeen` of the counted listings (the age scoring decays by); null when none counts. */
  lastSeen: Date | null;
  /** `now − lastSeen` (ms); null when no listing counts. */
  ageMs: number | null;
  /** The decay parameters of the indicator's type. */
  decay: DecayParams;
  /** The decay factor applied to `baseScore` (0 when no listing counts). */
  decayFactor: number;
  /** When any source first listed the indicator. */
  firstSeen: Date;
  /** Every open listing, counted or not, by source id. */
  listings: VerdictListing[];
  /** The allow-list entry matching this indicator, if any (exports leave it out). */
  allowlisted: AllowMatch | null;
}

/** A source that lists something in a {@link Verdict}, with how its weight was computed. */
export interface VerdictSource {
  /** Source id. */
  id: string;
  /** Its title. */
  title: string;
  /** Its category. */
  category: SourceCategory;
  /** Whether it is enabled (disabled sources are ignored by scoring). */
  enabled: boolean;
  /** The weight scoring uses: the latest stored one, or the configured default before any metrics. */
  weight: number;
  /** `metrics`: the latest `bl_source_metric` row's weight; `default`: `weighting.defaultWeight` (no metrics yet). */
  weightFrom: 'metrics' | 'default';
  /** The latest stored metrics the weight comes from (null before the first weights step). */
  metrics: StoredSourceMetrics | null;
  /**
   * The weight formula's terms for those metrics with the current configuration (`weightBreakdown`);
   * null without metrics.
   */
  breakdown: WeightBreakdown | null;
  /**
   * Whether the breakdown reproduces the stored weight (false when the formula configuration
   * changed since the metrics were stored; scoring uses the stored weight). Null without metrics.
   */
  breakdownMatches: boolean | null;
}

/**
 * The explanation of one indicator's verdict ({@link BlacklistService.explain}): every listing that
 * applies to it, each source's weight and how it was computed, ages and decay, allow-list hits,
 * and the final score.
 */
export interface Verdict {
  /** The value as given. */
  input: string;
  /** The canonical indicator explained. */
  indicator: Indicator;
  /** When the verdict was computed (the ages are relative to it). */
  computedAt: Date;
  /**
   * The final score, identical to the indicator's export and lookup score: the decayed noisy-OR of
   * the weights of the enabled sources listing the indicator itself (0 when none does).
   */
  score: number;
  /** Whether an enabled source lists the indicator itself. */
  listed: boolean;
  /** Whether a default export (allow-list applied, no filters) contains it: listed and not allow-listed. */
  exported: boolean;
  /** The allow-list entry matching the indicator, with its reason; null when none does. */
  allowlisted: AllowMatch | null;
  /** The listings of the indicator itself; null when no source (enabled or not) lists it. */
  exact: VerdictEntry | null;
  /**
   * Listed covering CIDRs, parent domains and a URL's host, each scored as its own entry (as
   * exported): most specific first. They do not add to `score`.
   */
  related: VerdictEntry[];
  /** The highest score among `related` (0 when none): what blocking by containment would see. */
  relatedScore: number;
  /** Every source appearing in the listings, by id, with its weight explained. */
  sources: VerdictSource[];
  /** In words: how the listings combine into `score`, which count and which do not. */
  combination: string;
}

/** What {@link explainIndicator} needs: the scoring context (weights are read with the listings) and more. */
export interface ExplainContext extends Omit<ScoringContext, 'weights'> {
  /** The configured weight formula (undefined: the default parameters). */
  formula?: WeightFormula;
  /** The expected fetch interval the weights step used (the cycle interval, ms). */
  expectedIntervalMs: number;
}

const MAX_INPUT = 4096;

function inputError(input: string, reason: string): TipError {
  const shown = input.length > 200 ? `${input.slice(0, 200)}…` : input;
  return new TipError(TipErrorCodes.INPUT_INVALID, `value: "${shown}" is not an indicator: ${reason}`, {
    details: { input: shown, issues: [{ path: 'value', message: reason }] },
  });
}

/**
 * The canonical indicator to explain: a string is canonicalised (`canonicalize`; a URL stands
 * for the URL, whose host is explained with it); an {@link Indicator} is re-canonicalised as its type.
 *
 * @throws TipError `TIP_INPUT_INVALID` naming the value when it is no indicator, stands for several
 *   (a range of several CIDR blocks), or is longer than 4096 characters.
 */
export function explainTarget(value: string | Indicator): { input: string; indicator: Indicator } {
  const given = typeof value === 'string' ? null : (value as Indicator | null | undefined);
  if (typeof value !== 'string' && (typeof given !== 'object' || given === null || typeof given.value !== 'string' || typeof given.type !== 'string')) {
    throw inputError(String((given as { value?: unknown } | null)?.value ?? given), 'expected a string or an indicator { type, value }');
  }
  const input = given ? given.value : (value as string);
  if (input.length > MAX_INPUT) throw inputError(input, `longer than ${MAX_INPUT} characters`);
  const r = given ? canonicalize(given.value, [given.type]) : canonicalize(input);
  if (!r.ok) throw inputError(input, r.reason);
  // a URL stands for itself (its host is explained with it); a range may stand for several blocks
  const url = r.indicators.find((i) => i.type === 'url');
  if (url) return { input, indicator: url };
  if (r.indicators.length > 1) throw inputError(input, `stands for ${r.indicators.length} CIDR blocks; explain one of them`);
  return { input, indicator: r.indicators[0]! };
}

/** The (type, values) to look up for an indicator, with how each relates to it. */
function candidates(ind: Indicator): Map<IndicatorType, Map<string, VerdictMatch>> {
  const out = new Map<IndicatorType, Map<string, VerdictMatch>>();
  const add = (type: IndicatorType, value: string, match: VerdictMatch) => {
    let m = out.get(type);
    if (!m) out.set(type, (m = new Map()));
    if (!m.has(value)) m.set(value, match);
  };
  add(ind.type, ind.value, 'exact');
  const covering = (value: string) => {
    for (const c of coveringCidrs(value)) add('cidr', c, 'covering-cidr');
  };
  if (ind.type === 'ip' || ind.type === 'cidr') covering(ind.value);
  else if (ind.type === 'domain') for (const p of parentDomains(ind.value)) add('domain', p, 'parent-domain');
  else {
    const host = canonicalize(ind.value, ['ip', 'domain']);
    const h = host.ok ? host.indicators[0] : undefined;
    if (h) {
      add(h.type, h.value, 'url-host');
      if (h.type === 'ip') covering(h.value);
      else for (const p of parentDomains(h.value)) add('domain', p, 'parent-domain');
    }
  }
  return out;
}

const MATCH_ORDER: Record<VerdictMatch, number> = { exact: 0, 'url-host': 1, 'covering-cidr': 2, 'parent-domain': 2 };

/**
 * Explains the verdict on one indicator from the current listings (see {@link Verdict}). The
 * listings of the indicator, of its covering CIDRs (canonical prefixes enumerated, ≤ 31 IPv4 /
 * ≤ 127 IPv6) and of its parent domains are found through the (type, value) unique index in one
 * statement, never a scan; their listings (with each source's latest weight) and the stored
 * metrics are read only when some exist. Scores come from `scoreListings`, like exports.
 *
 * @throws TipError `TIP_INPUT_INVALID` naming the value when it is no indicator (see {@link explainTarget}).
 */
export async function explainIndicator(db: Database, value: string | Indicator, ctx: ExplainContext): Promise<Verdict> {
  const { input, indicator } = explainTarget(value);
  const wanted = candidates(indicator);
  const stored = await storedIndicators(db, [...wanted].flatMap(([type, values]) => [...values.keys()].map((value) => ({ type, value }))));
  const rows = await listingsOf(db, stored.filter((i) => wanted.get(i.type)?.has(i.value)), { includeDisabled: true, metrics: true });
  const weights = weightsOfRows(rows);
  const scoring: ScoringContext = { ...ctx, weights };
  const weightOf = (source: string) => weights.get(source) ?? ctx.defaultWeight;
  const entries: VerdictEntry[] = [];
  for (const group of groupById(rows)) {
    const first = group[0]!;
    entries.push(entryOf(group, wanted.get(first.type)!.get(first.value)!, scoring, weightOf));
  }
  const specificity = (e: VerdictEntry) => (e.indicator.type === 'cidr' ? -Number(e.indicator.value.slice(e.indicator.value.indexOf('/') + 1)) : -e.indicator.value.length);
  entries.sort((a, b) => MATCH_ORDER[a.match] - MATCH_ORDER[b.match] || specificity(a) - specificity(b));
  const exact = entries.find((e) => e.match === 'exact') ?? null;
  const related = entries.filter((e) => e.match !== 'exact');

  const sources = new Map<string, VerdictSource>();
  for (const r of rows) {
    if (sources.has(r.source_id)) continue;
    const metrics = metricsOfRow(r as ListingRow & Record<string, unknown>);
    const breakdown = metrics ? weightBreakdown(fullMetrics(metrics), ctx.formula, ctx.expectedIntervalMs) : null;
    sources.set(r.source_id, {
      id: r.source_id,
      title: r.title,
      category: r.category,
      enabled: isTrue(r.enabled),
      weight: weightOf(r.source_id),
      weightFrom: weights.has(r.source_id) ? 'metrics' : 'default',
      metrics,
      breakdown,
      breakdownMatches: metrics && breakdown ? Math.abs(breakdown.weight - metrics.weight) <= 1e-12 : null,
    });
  }
  const allowlisted = ctx.allowlist?.match(indicator) ?? null;
  const score = exact?.score ?? 0;
  const listed = exact !== null && exact.listings.some((l) => l.counted);
  const verdict: Verdict = {
    input,
    indicator,
    computedAt: new Date(ctx.now),
    score,
    listed,
    exported: listed && allowlisted === null,
    allowlisted,
    exact,
    related,
    relatedScore: Math.max(0, ...related.map((e) => e.score)),
    sources: [...sources.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    combination: '',
  };
  verdict.combination = describe(verdict);
  return verdict;
}

function entryOf(group: readonly ListingRow[], match: VerdictMatch, ctx: ScoringContext, weightOf: (s: string) => number): VerdictEntry {
  const first = group[0]!;
  const params = ctx.decay[first.type];
  const counted = group.filter((r) => isTrue(r.enabled));
  const listings = group.map((r): VerdictListing => {
    const lastSeen = Number(r.last_seen);
    return {
      source: r.source_id,
      title: r.title,
      category: r.category,
      enabled: isTrue(r.enabled),
      counted: isTrue(r.enabled),
      listedSince: new Date(Number(r.listing_first_seen)),
      lastSeen: new Date(lastSeen),
      ageMs: ctx.now - lastSeen,
      decayFactor: decay(1, ctx.now - lastSeen, params),
      weight: weightOf(r.source_id),
    };
  });
  const indicator: Indicator = { type: first.type, value: first.value };
  const allowlisted = ctx.allowlist?.match(indicator) ?? null;
  if (counted.length === 0) {
    return { indicator, match, score: 0, baseScore: 0, lastSeen: null, ageMs: null, decay: params, decayFactor: 0, firstSeen: new Date(Number(first.first_seen)), listings, allowlisted };
  }
  // The score itself comes from the export's scoring function, on the same rows it would read.
  const scored = scoreListings(counted, ctx);
  const ageMs = ctx.now - scored.lastSeen.getTime();
  return {
    indicator,
    match,
    score: scored.score,
    baseScore: scoreIndicator(counted.map((r) => weightOf(r.source_id))),
    lastSeen: scored.lastSeen,
    ageMs,
    decay: params,
    decayFactor: decay(1, ageMs, params),
    firstSeen: scored.firstSeen,
    listings,
    allowlisted,
  };
}

/** The latest stored metrics of a listing row's source (read with it, see `listingsOf`), or null. */
function metricsOfRow(r: ListingRow & Record<string, unknown>): StoredSourceMetrics | null {
  if (r.m_computed_at === null || r.m_computed_at === undefined) return null;
  // the row's `m_<column>` values under their stored names, mapped as latestMetrics maps them
  const row: Record<string, unknown> = { source_id: r.source_id, weight: r.weight };
  for (const c of METRIC_COLUMNS) row[c] = r[`m_${c}`];
  return rowToMetrics(row);
}

/** Stored metrics as the formula takes them (fields not stored do not enter the default formula). */
function fullMetrics(m: StoredSourceMetrics): Omit<SourceMetrics, 'weight'> {
  return {
    source: m.source,
    volume: m.volume,
    overlap: m.overlap,
    overlapExact: {},
    differential: m.differential,
    exclusive: m.exclusive,
    latencyMedianMs: m.latencyMedianMs,
    latencyMeanMs: null,
    persistenceMedianMs: m.persistenceMedianMs,
    addresses: m.addresses ?? { ipv4: null, ipv6: null },
    churn: m.churn,
    falsePositiveRate: m.falsePositiveRate,
    availability: m.availability,
    freshnessMs: m.freshnessMs,
  };
}

const isTrue = (v: number | boolean | string): boolean => v === true || v === 1 || v === '1' || v === 't';
const f3 = (x: number) => x.toFixed(3);
/** A duration for people: minutes below 1 h, hours below 2 d, else days. */
const days = (ms: number) => (ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : ms < 172_800_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${(ms / 86_400_000).toFixed(1)} d`);

function describe(v: Verdict): string {
  const parts: string[] = [];
  const e = v.exact;
  const counted = e?.listings.filter((l) => l.counted) ?? [];
  if (e && counted.length > 0) {
    const product = counted.map((l) => `(1 − ${f3(l.weight)})`).join('·');
    parts.push(
      `score ${f3(v.score)} = noisy-OR 1 − ${product} = ${f3(e.baseScore)} of the ${counted.length} enabled source(s) listing ${v.indicator.value} itself (${counted.map((l) => l.source).join(', ')}), ` +
        `× decay factor ${f3(e.decayFactor)} at age ${days(e.ageMs ?? 0)} since last seen (${v.indicator.type}: τ ${days(e.decay.tauMs)}, δ ${e.decay.delta})`,
    );
  } else {
    parts.push(`score 0: no enabled source lists ${v.indicator.value} itself`);
  }
  const ignored = e?.listings.filter((l) => !l.counted) ?? [];
  if (ignored.length) parts.push(`ignored (source disabled): ${ignored.map((l) => l.source).join(', ')}`);
  const rel = v.related.filter((r) => r.listings.length > 0);
  if (rel.length) {
    parts.push(
      `covering CIDRs, parent domains and a URL's host are scored as their own entries and do not add to it: ${rel.map((r) => `${r.indicator.value} (${r.match}, ${f3(r.score)})`).join(', ')}`,
    );
  }
  if (v.allowlisted) parts.push(`allow-listed by ${v.allowlisted.list} (${v.allowlisted.reason}): left out of exports`);
  return `${parts.join('; ')}.`;
}
