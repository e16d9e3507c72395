import { every, type JobDefinition, type RegisterContext } from '@tip/core';
import type { BlacklistConfig } from './config.js';
import { BLACKLIST_KIND } from './feeds/feedSource.js';
import type { BlacklistRuntime } from './runtime.js';

/**
 * The `blacklist` group job: disables feeds no longer configured, runs every `blacklist` source
 * without its own schedule as child `blacklist/<id>`, then closes submitted listings past their
 * source's `ttl`, recomputes the weights and emits
 * `blacklist.cycle.completed`.
 */
export function blacklistCycleJob(ctx: RegisterContext<BlacklistConfig>, runtime: BlacklistRuntime): JobDefinition {
  return {
    id: 'blacklist',
    description: 'collect every enabled blacklist feed, then recompute source weights',
    trigger: every(ctx.config.interval),
    async children() {
      const sources = ctx.sourceRunner.list([BLACKLIST_KIND]);
      await runtime.service().disableFeedsNotIn(new Set(sources.map((s) => s.id)));
      return sources.filter((s) => s.schedule === undefined).map((s) => ({ source: s.id, id: `blacklist/${s.id}` }));
    },
    async onComplete(summary) {
      let added = 0;
      let removed = 0;
      for (const c of summary.children) {
        added += c.counts?.added ?? 0;
        removed += c.counts?.removed ?? 0;
      }
      await runtime.service().expireSubmitted(); // submitted listings past their source's ttl
      const weights = await runtime.service().computeWeights();
      runtime.metrics?.weights(weights);
      await ctx.events.emit('blacklist.weights.updated', { cycleId: summary.runId, weights: weights.map((w) => ({ source: w.source, weight: w.weight })) });
      const cycle = { cycleId: summary.runId, sources: summary.total, succeeded: summary.succeeded, failed: summary.failed, added, removed };
      await runtime.service().recordCycle(cycle);
      await ctx.events.emit('blacklist.cycle.completed', cycle);
    },
  };
}
