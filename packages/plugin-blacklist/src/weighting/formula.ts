import { TipError, TipErrorCodes } from '@tip/core';
import type { SourceMetrics } from './metrics.js';

/** Relative weights of the terms of the default weight formula (see `docs/blacklist-weighting.md`). */
export interface WeightTermWeights {
  /** Weight of `exclusive` (unique contribution) in the weighted mean. */
  readonly exclusive: number;
  /** Exponent of the false-positive factor `(1 − fpr)`; 0 ignores false positives. */
  readonly fpr: number;
  /** Weight of `availability` in the weighted mean. */
  readonly availability: number;
  /** Weight of the freshness term `0.5^(staleness / freshnessHalfLifeMs)` in the weighted mean. */
  readonly freshness: number;
  /** Weight of the persistence term `p / (p + persistenceRefMs)` in the weighted mean. */
  readonly persistence: number;
  /** Weight of the latency term `1 / (1 + latency / latencyRefMs)` in the weighted mean. */
  readonly latency: number;
}

/** Parameters of the default weight formula. */
export interface WeightParams {
  /** Term weights. */
  readonly weights: WeightTermWeights;
  /** Staleness after which the freshness term halves (ms). */
  readonly freshnessHalfLifeMs: number;
  /** Median listing lifetime that scores 0.5 on the persistence term (ms). */
  readonly persistenceRefMs: number;
  /** Median latency that scores 0.5 on the latency term (ms). */
  readonly latencyRefMs: number;
}

/** A custom weight: any function of a source's metrics; the result is clamped to [0, 1] (NaN → 0). */
export type WeightFunction = (m: Omit<SourceMetrics, 'weight'>) => number;

/** Either parameters of the default formula (missing ones take the defaults) or a custom function. */
export type WeightFormula =
  | WeightFunction
  | {
      readonly weights?: Partial<WeightTermWeights>;
      readonly freshnessHalfLifeMs?: number;
      readonly persistenceRefMs?: number;
      readonly latencyRefMs?: number;
    };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Default parameters: equal term weights, FPR exponent 2, half-life 1 d, persistence ref 7 d, latency ref 1 d. */
export const DEFAULT_WEIGHT_PARAMS: WeightParams = Object.freeze({
  weights: Object.freeze({ exclusive: 1, fpr: 2, availability: 1, freshness: 1, persistence: 1, latency: 1 }),
  freshnessHalfLifeMs: DAY,
  persistenceRefMs: 7 * DAY,
  latencyRefMs: DAY,
});

/** The normalised terms of the default formula; null = unknown (left out of the weighted mean). */
export interface WeightTerms {
  /** `(1 − fpr)^weights.fpr`. */
  readonly fprFactor: number;
  /** `exclusive`. */
  readonly exclusive: number;
  /** `availability`, or null without runs. */
  readonly availability: number | null;
  /** `0.5^(max(0, freshness − expectedInterval) / halfLife)`, or null if never fetched successfully. */
  readonly freshness: number | null;
  /** `p / (p + ref)`, or null without listings. */
  readonly persistence: number | null;
  /** `1 / (1 + latency / ref)`, or null when nothing is shared with another source. */
  readonly latency: number | null;
}

function invalid(option: string, value: unknown): TipError {
  return new TipError(TipErrorCodes.CONFIG_INVALID, `weight formula: ${option} must be a finite number ${option.startsWith('weights.') ? '>= 0' : '> 0'}`, {
    details: { option, value },
  });
}

/**
 * Fills in and validates default-formula parameters.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the bad option (`weights.fpr`, `latencyRefMs`...).
 */
export function resolveWeightParams(formula: Exclude<WeightFormula, WeightFunction> = {}): WeightParams {
  const weights = { ...DEFAULT_WEIGHT_PARAMS.weights, ...(formula.weights ?? {}) };
  for (const [k, v] of Object.entries(weights)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`weights.${k}`, v);
  }
  const params: WeightParams = {
    weights,
    freshnessHalfLifeMs: formula.freshnessHalfLifeMs ?? DEFAULT_WEIGHT_PARAMS.freshnessHalfLifeMs,
    persistenceRefMs: formula.persistenceRefMs ?? DEFAULT_WEIGHT_PARAMS.persistenceRefMs,
    latencyRefMs: formula.latencyRefMs ?? DEFAULT_WEIGHT_PARAMS.latencyRefMs,
  };
  for (const k of ['freshnessHalfLifeMs', 'persistenceRefMs', 'latencyRefMs'] as const) {
    const v = params[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalid(k, v);
  }
  return params;
}

const finiteOrNull = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);
const clamp01 = (x: number): number => (Number.isNaN(x) ? 0 : Math.min(1, Math.max(0, x)));

/** The normalised terms of the default formula for one source (each in [0, 1] or null). */
export function weightTerms(m: Omit<SourceMetrics, 'weight'>, params: WeightParams = DEFAULT_WEIGHT_PARAMS, expectedIntervalMs = 0): WeightTerms {
  const fresh = finiteOrNull(m.freshnessMs);
  const persist = finiteOrNull(m.persistenceMedianMs);
  const latency = finiteOrNull(m.latencyMedianMs);
  const availability = finiteOrNull(m.availability);
  const expected = Number.isFinite(expectedIntervalMs) && expectedIntervalMs > 0 ? expectedIntervalMs : 0;
  return {
    fprFactor: clamp01((1 - clamp01(m.falsePositiveRate)) ** params.weights.fpr),
    exclusive: clamp01(m.exclusive),
    availability: availability === null ? null : clamp01(availability),
    freshness: fresh === null ? null : clamp01(0.5 ** (Math.max(0, fresh - expected) / params.freshnessHalfLifeMs)),
    persistence: persist === null ? null : clamp01(Math.max(0, persist) / (Math.max(0, persist) + params.persistenceRefMs)),
    latency: latency === null ? null : clamp01(1 / (1 + Math.max(0, latency) / params.latencyRefMs)),
  };
}

/**
 * A source's weight in [0, 1]. Default formula:
 * `(1 − fpr)^w_fpr × Σ wₜ·termₜ / Σ wₜ` over the known terms t ∈ {exclusive, availability,
 * freshness, persistence, latency} (an unknown, i.e. null, term is left out; no known term with a
 * positive weight → mean 1). A source that listed nothing in the window weighs 0. A custom
 * function's result is clamped to [0, 1] and NaN becomes 0.
 *
 * @throws TipError `TIP_CONFIG_INVALID` for invalid formula parameters.
 */
export function computeWeight(m: Omit<SourceMetrics, 'weight'>, formula?: WeightFormula, expectedIntervalMs = 0): number {
  if (typeof formula === 'function') return clamp01(formula(m));
  if (m.volume === 0) return 0;
  return defaultFormula(m, formula === undefined ? DEFAULT_WEIGHT_PARAMS : resolveWeightParams(formula), expectedIntervalMs).weight;
}

/** The terms of the default formula's weighted mean, in formula order. */
const MEAN_TERMS = ['exclusive', 'availability', 'freshness', 'persistence', 'latency'] as const;

/**
 * The default formula on resolved parameters — what `computeWeight` returns and `weightBreakdown`
 * reports: the terms, each with its weight, their weighted mean (1 when no term counts) and the weight.
 */
function defaultFormula(m: Omit<SourceMetrics, 'weight'>, params: WeightParams, expectedIntervalMs: number) {
  const t = weightTerms(m, params, expectedIntervalMs);
  const terms = MEAN_TERMS.map((term) => ({ term, value: t[term], weight: params.weights[term] }));
  let num = 0;
  let den = 0;
  for (const { value, weight } of terms) {
    if (value === null || weight === 0) continue;
    num += weight * value;
    den += weight;
  }
  const mean = den > 0 ? num / den : 1;
  return { fprFactor: t.fprFactor, terms, den, mean, weight: m.volume === 0 ? 0 : clamp01(t.fprFactor * mean) };
}

/** One term of the default formula's weighted mean, as `weightBreakdown` reports it. */
export interface WeightTermBreakdown {
  /** The term (see `WeightTerms`). */
  readonly term: 'exclusive' | 'availability' | 'freshness' | 'persistence' | 'latency';
  /** Its normalised value in [0, 1], or null when unknown (then it is left out of the mean). */
  readonly value: number | null;
  /** Its weight in the mean (`WeightTermWeights`). */
  readonly weight: number;
  /** Whether it enters the mean (known and weighted above 0). */
  readonly counted: boolean;
  /** `weight × value / Σ weights` of the counted terms: what it adds to the mean (0 when not counted). */
  readonly contribution: number;
}

/**
 * How `computeWeight` arrives at a source's weight: the per-term values, their weights and
 * contributions to the weighted mean, the false-positive factor and the result. `weight` is
 * `computeWeight`'s own result for the same arguments (never a second implementation); for
 * the default formula `weight = fprFactor × mean` (clamped to [0, 1]) unless `volume` is 0.
 */
export interface WeightBreakdown {
  /** `default` (parameters, possibly partial) or `custom` (a `WeightFunction`: no terms). */
  readonly formula: 'default' | 'custom';
  /** The resolved parameters of the default formula (absent for a custom one). */
  readonly params?: WeightParams;
  /** Expected fetch interval (ms) not penalised by the freshness term. */
  readonly expectedIntervalMs: number;
  /** The terms of the weighted mean, in formula order (empty for a custom formula). */
  readonly terms: readonly WeightTermBreakdown[];
  /** `(1 − fpr)^weights.fpr` (1 for a custom formula). */
  readonly fprFactor: number;
  /** The weighted mean of the counted terms (1 when none counts; 0 for a custom formula). */
  readonly mean: number;
  /** True when the source listed nothing in the window, which makes the default weight 0. */
  readonly emptyVolume: boolean;
  /** The weight, exactly as `computeWeight` returns it. */
  readonly weight: number;
}

/**
 * The per-term breakdown of `computeWeight` for one source's metrics (same arguments), for
 * explaining a weight: the same computation as `computeWeight` (one implementation), with its parts.
 *
 * @throws TipError `TIP_CONFIG_INVALID` for invalid formula parameters.
 */
export function weightBreakdown(m: Omit<SourceMetrics, 'weight'>, formula?: WeightFormula, expectedIntervalMs = 0): WeightBreakdown {
  const expected = Number.isFinite(expectedIntervalMs) && expectedIntervalMs > 0 ? expectedIntervalMs : 0;
  if (typeof formula === 'function') {
    return { formula: 'custom', expectedIntervalMs: expected, terms: [], fprFactor: 1, mean: 0, emptyVolume: m.volume === 0, weight: computeWeight(m, formula, expectedIntervalMs) };
  }
  const params = formula === undefined ? DEFAULT_WEIGHT_PARAMS : resolveWeightParams(formula);
  const f = defaultFormula(m, params, expectedIntervalMs);
  const terms = f.terms.map(({ term, value, weight }): WeightTermBreakdown => {
    const counted = value !== null && weight !== 0;
    return { term, value, weight, counted, contribution: counted ? (weight * value) / f.den : 0 };
  });
  return { formula: 'default', params, expectedIntervalMs: expected, terms, fprFactor: f.fprFactor, mean: f.mean, emptyVolume: m.volume === 0, weight: f.weight };
}
