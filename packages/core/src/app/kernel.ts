import type { TipContainer } from '../container/Container.js';
import type { ExtensionPointStore } from '../plugins/ExtensionPoint.js';
import type { TipPlugin } from '../plugins/types.js';
import type { MountedRoute } from '../routes/RouteRouter.js';
import type { RouteDefinition } from '../routes/types.js';
import { InProcessScheduler } from '../scheduler/InProcessScheduler.js';
import { PgBossScheduler } from '../scheduler/pgboss/PgBossScheduler.js';
import type { JobDefinition, Scheduler } from '../scheduler/types.js';
import type { SourceRunner } from '../sources/SourceRunner.js';
import type { SourceDefinition } from '../sources/types.js';
import { defaultRoutePrefix } from './hooks.js';
import { CoreTokens } from './tokens.js';
import type { SchedulerDeps } from './types.js';

/**
 * @internal Routes with the path each is mounted at: `<base>/<plugin prefix><path>`; core's own
 * routes have no prefix (`/api/jobs`).
 */
export function mountRoutes(point: ExtensionPointStore<RouteDefinition>, plugins: ReadonlyArray<TipPlugin<unknown>>, base: string): MountedRoute[] {
  const prefixes = new Map(plugins.map((p) => [p.name, p.routePrefix ?? defaultRoutePrefix(p.name)]));
  return point.list().map((route) => {
    const plugin = point.ownerOf(route) ?? 'app';
    const prefix = plugin === '@tip/core' ? '' : `/${prefixes.get(plugin) ?? defaultRoutePrefix(plugin)}`;
    const path = `${base}${prefix}${route.path === '/' ? '' : route.path}` || '/';
    return { route, plugin, path, id: route.id ?? `${prefix.slice(1) || 'core'}.${route.method.toLowerCase()} ${route.path}` };
  });
}

/** @internal Every registered job with its owner, plus a generated job per source with its own schedule. */
export function jobsWithOwners(
  jobs: ExtensionPointStore<JobDefinition>,
  sources: ExtensionPointStore<SourceDefinition>,
  runner: SourceRunner,
): Array<{ job: JobDefinition; plugin?: string }> {
  const out: Array<{ job: JobDefinition; plugin?: string }> = jobs.list().map((job) => ({ job, plugin: jobs.ownerOf(job) }));
  for (const source of sources.list()) {
    if (source.schedule !== undefined) out.push({ job: runner.job(source, { trigger: source.schedule }), plugin: sources.ownerOf(source) });
  }
  return out;
}

/**
 * @internal The app's scheduler: the backend given to `createTip`, or the in-process one, which
 * cancels database work in flight when its drain timeout passes.
 */
export function buildScheduler(deps: SchedulerDeps, custom?: (deps: SchedulerDeps) => Scheduler): Scheduler {
  if (custom) return custom(deps);
  const s = deps.config.scheduler;
  if (s.backend === 'pg-boss') return new PgBossScheduler(deps);
  return new InProcessScheduler({
    ...deps,
    concurrency: s.concurrency,
    pluginConcurrency: s.pluginConcurrency,
    keyConcurrency: s.keyConcurrency,
    defaultTimeout: s.defaultTimeout,
    drainTimeout: s.drainTimeout,
    onDrainTimeout: () => deps.db.cancelInFlight(),
    workers: deps.workers,
    sources: deps.resolveSource,
  });
}

/** @internal Puts core's services in the app's container under {@link CoreTokens}. */
export function provideCoreTokens(c: TipContainer, v: SchedulerDeps & { scheduler: Scheduler; sourceRunner: SourceRunner }): void {
  c.provide(CoreTokens.config, { useValue: v.config });
  c.provide(CoreTokens.log, { useValue: v.log });
  c.provide(CoreTokens.events, { useValue: v.events });
  c.provide(CoreTokens.clock, { useValue: v.clock });
  c.provide(CoreTokens.metrics, { useValue: v.metrics });
  c.provide(CoreTokens.database, { useValue: v.db });
  c.provide(CoreTokens.scheduler, { useValue: v.scheduler });
  c.provide(CoreTokens.sourceRunner, { useValue: v.sourceRunner });
}
