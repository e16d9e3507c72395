import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { TipMetrics } from './Metrics.js';

/**
 * @internal Samples the event loop's delay (how late timers fire) and exposes it as
 * `tip_event_loop_delay_seconds{quantile="0.5|0.99|1"}`, reset at every scrape so each scrape shows
 * the interval since the previous one. Work that blocks the loop (a long synchronous SQLite
 * statement) shows up here. Returns a function that stops sampling.
 */
export function trackEventLoopDelay(metrics: TipMetrics, resolutionMs = 10): () => void {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  const gauge = metrics.gauge({
    name: 'tip_event_loop_delay_seconds',
    help: 'Event-loop delay since the previous scrape (quantile 1 = maximum)',
    labelNames: ['quantile'],
    collect() {
      if (histogram.count === 0) return;
      this.set({ quantile: '0.5' }, histogram.percentile(50) / 1e9);
      this.set({ quantile: '0.99' }, histogram.percentile(99) / 1e9);
      this.set({ quantile: '1' }, histogram.max / 1e9);
      histogram.reset();
    },
  });
  void gauge;
  return () => histogram.disable();
}
