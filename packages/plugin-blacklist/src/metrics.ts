import type { Counter, Gauge, TipMetrics } from '@tip/core';

/** Prometheus metrics of the blacklist plugin, registered in the app's registry. */
export class BlacklistMetrics {
  readonly #runs: Counter<'source' | 'status'>;
  readonly #changes: Counter<'source' | 'change'>;
  readonly #listed: Gauge<'source'>;
  readonly #weight: Gauge<'source'>;
  readonly #rejected: Counter<'source' | 'reason'>;

  constructor(metrics: TipMetrics) {
    this.#runs = metrics.counter({ name: 'tip_blacklist_runs_total', help: 'Blacklist source runs by outcome', labelNames: ['source', 'status'] });
    this.#changes = metrics.counter({ name: 'tip_blacklist_listing_changes_total', help: 'Listings added and removed', labelNames: ['source', 'change'] });
    this.#listed = metrics.gauge({ name: 'tip_blacklist_source_listed', help: 'Indicators currently listed by a source', labelNames: ['source'] });
    this.#rejected = metrics.counter({ name: 'tip_blacklist_runs_rejected_total', help: 'Rejected blacklist source runs by reason (line-cap, shrink, invalid-ratio, empty, other)', labelNames: ['source', 'reason'] });
    this.#weight = metrics.gauge({ name: 'tip_blacklist_source_weight', help: 'Latest computed weight of a source', labelNames: ['source'] });
  }

  /** Records one source run. */
  run(source: string, status: string, counts?: { records: number; added: number; removed: number }): void {
    this.#runs.inc({ source, status });
    if (!counts) return;
    this.#changes.inc({ source, change: 'added' }, counts.added);
    this.#changes.inc({ source, change: 'removed' }, counts.removed);
    this.#listed.set({ source }, counts.records);
  }

  /** Records why a source run was rejected (`line-cap`, `shrink`, `invalid-ratio`, `empty`, `other`). */
  rejected(source: string, reason: string): void {
    this.#rejected.inc({ source, reason });
  }

  /** Records computed weights. */
  weights(weights: Iterable<{ source: string; weight: number }>): void {
    for (const w of weights) this.#weight.set({ source: w.source }, w.weight);
  }
}
