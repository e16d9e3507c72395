/** Source weighting: quality metrics per source, weight formula, indicator scoring and decay. */
export {
  computeSourceMetrics,
  computeSourceMetricsAsync,
  type AddressMetrics,
  type FamilyAddressMetrics,
  type ListingRecord,
  type MetricsInput,
  type OverlapMode,
  type RunRecord,
  type SourceMetrics,
} from './metrics.js';
export {
  DEFAULT_WEIGHT_PARAMS,
  computeWeight,
  resolveWeightParams,
  weightBreakdown,
  weightTerms,
  type WeightBreakdown,
  type WeightTermBreakdown,
  type WeightFormula,
  type WeightFunction,
  type WeightParams,
  type WeightTermWeights,
  type WeightTerms,
} from './formula.js';
export { DEFAULT_DECAY_MODEL, decay, decayModel, decayedScore, scoreIndicator, type DecayModel, type DecayParams } from './score.js';
export { mean, median } from './stats.js';
