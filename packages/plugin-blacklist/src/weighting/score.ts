import { TipError, TipErrorCodes } from '@tip/core';
import type { IndicatorType } from '../indicators/types.js';

const clamp01 = (x: number): number => (Number.isNaN(x) ? 0 : Math.min(1, Math.max(0, x)));

/**
 * Score of an indicator listed by sources of the given weights: the noisy-OR `1 − Π(1 − wᵢ)`.
 * Each weight is read as the probability that the source is right about a listing; the indicator
 * is bad unless every listing source is wrong. One source of weight w scores w, agreement only
 * increases the score, the order of sources does not matter and the result stays in [0, 1].
 * Weights are clamped to [0, 1] (NaN → 0); no weights → 0.
 */
export function scoreIndicator(sourceWeights: readonly number[]): number {
  let miss = 1;
  for (const w of sourceWeights) miss *= 1 - clamp01(w);
  return clamp01(1 - miss);
}

/** Parameters of the MISP polynomial decay. */
export interface DecayParams {
  /** Lifetime τ (ms): the score reaches 0 at age τ. */
  readonly tauMs: number;
  /** Decay speed δ > 0: δ > 1 drops fast early, δ = 1 is linear, δ < 1 holds then drops late. */
  readonly delta: number;
}

/** Decay parameters per indicator type. */
export type DecayModel = Readonly<Record<IndicatorType, DecayParams>>;

const DAY = 86_400_000;

/**
 * Default decay per type: `ip` τ 14 d δ 2 (addresses are reassigned, cleaned or rotated within
 * days); `url` τ 30 d δ 2 (pages are taken down quickly, the host may live longer); `domain` τ 60 d
 * δ 1 (registered-for-abuse domains live until suspended); `cidr` τ 90 d δ 0.5 (netblocks such as
 * DROP entries are stable, then withdrawn).
 */
export const DEFAULT_DECAY_MODEL: DecayModel = Object.freeze({
  ip: Object.freeze({ tauMs: 14 * DAY, delta: 2 }),
  url: Object.freeze({ tauMs: 30 * DAY, delta: 2 }),
  domain: Object.freeze({ tauMs: 60 * DAY, delta: 1 }),
  cidr: Object.freeze({ tauMs: 90 * DAY, delta: 0.5 }),
});

function checkParams(p: DecayParams, prefix: string): void {
  for (const k of ['tauMs', 'delta'] as const) {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new TipError(TipErrorCodes.CONFIG_INVALID, `decay: ${prefix}${k} must be a finite number > 0`, {
        details: { option: `${prefix}${k}`, value: v },
      });
    }
  }
}

/**
 * MISP polynomial decay: `score · (1 − (t/τ)^(1/δ))` for age t in [0, τ), 0 from t ≥ τ. A negative
 * age counts as 0; a NaN score or age gives 0. The result is clamped to [0, 1].
 *
 * @throws TipError `TIP_CONFIG_INVALID` (details.option `tauMs` or `delta`) unless both are finite and > 0.
 */
export function decay(score: number, ageMs: number, params: DecayParams): number {
  checkParams(params, '');
  if (Number.isNaN(ageMs)) return 0;
  const t = Math.max(0, ageMs);
  if (t >= params.tauMs) return 0;
  return clamp01(clamp01(score) * (1 - (t / params.tauMs) ** (1 / params.delta)));
}

/**
 * The default decay model with per-type overrides.
 *
 * @throws TipError `TIP_CONFIG_INVALID` (details.option e.g. `ip.tauMs`) for a bad parameter.
 */
export function decayModel(overrides: Partial<Record<IndicatorType, Partial<DecayParams>>> = {}): DecayModel {
  const model = {} as Record<IndicatorType, DecayParams>;
  for (const type of Object.keys(DEFAULT_DECAY_MODEL) as IndicatorType[]) {
    const p = { ...DEFAULT_DECAY_MODEL[type], ...(overrides[type] ?? {}) };
    checkParams(p, `${type}.`);
    model[type] = Object.freeze(p);
  }
  return Object.freeze(model);
}

/**
 * Convenience: the noisy-OR score of `sourceWeights`, decayed by the model's parameters for `type`
 * at age `ageMs` (typically now − the last time any source still listed the indicator).
 */
export function decayedScore(sourceWeights: readonly number[], type: IndicatorType, ageMs: number, model: DecayModel = DEFAULT_DECAY_MODEL): number {
  return decay(scoreIndicator(sourceWeights), ageMs, model[type]);
}
