import { createHash } from 'node:crypto';
import {
  CoreTokens,
  definePlugin,
  defineSource,
  defineSourceKind,
  every,
  extensionPoint,
  isTipError,
  token,
  TipError,
  TipErrorCodes,
  type SourceDefinition,
  type Clock,
  type TipPlugin,
} from '@tip/core';
import { blacklistCommands } from './commands.js';
import { BlacklistMetrics } from './metrics.js';
import { blacklistConfigSchema, type BlacklistConfig, type FeedConfig } from './config.js';
import { blacklistEntities } from './db/entities.js';
import { blacklistMigrations } from './db/migrations.js';
import { catalogFeed } from './feeds/catalog.js';
import { canonicalize } from './indicators/canonical.js';
import type { Indicator, SourceCategory } from './indicators/types.js';
import type { FetchReport } from './ingest/Ingester.js';
import { Ingester } from './ingest/Ingester.js';
import { IndicatorSet } from './ingest/IndicatorSet.js';
import { defaultParsers, parseFeed, ParserRegistry, type FeedParser } from './parsers/index.js';
import { BlacklistService } from './service/BlacklistService.js';

declare module '@tip/core' {
  interface TipEvents {
    /** Every blacklist feed of a cycle has ended; weights are recomputed. */
    'blacklist.cycle.completed': { cycleId: string; sources: number; succeeded: number; failed: number; added: number; removed: number };
    /**
     * Submit indicators under your own source identity without importing this plugin
     * (`source` is registered on first use). Prefer `ctx.get(BlacklistToken).submit()` when you can await.
     */
    'blacklist.indicators.submitted': { source: { id: string; title: string; category: SourceCategory }; add: Array<Indicator | string>; remove?: Array<Indicator | string> };
  }
}

/** The plugin's name. */
export const BLACKLIST_PLUGIN = '@tip/plugin-blacklist';
/** The source kind this plugin ingests: sources yield `Indicator`s, raw strings (canonicalised here) or `IndicatorSet`s. */
export const BLACKLIST_KIND = 'blacklist';
/** The blacklist service of an app: `ctx.get(BlacklistToken)`. */
export const BlacklistToken = token<BlacklistService>('blacklist.service');
/** Extension point for feed parsers: `ctx.extend(blacklistParsers).add(myParser)`. */
export const blacklistParsers = extensionPoint<FeedParser>('blacklist.parsers', { keyOf: (p) => p.format });

/** Options of the plugin factory (configuration comes from the `blacklist` config key). */
export interface BlacklistPluginOptions {
  /** Extra feed parsers (same as adding them to `blacklistParsers`). */
  parsers?: FeedParser[];
}

/**
 * The blacklist plugin: one `blacklist` group job runs every enabled feed as a child job
 * (`blacklist/<feed>`), diff-ingests each atomically, then recomputes source weights and emits
 * `blacklist.cycle.completed`.
 */
export function blacklistPlugin(options: BlacklistPluginOptions = {}): TipPlugin<BlacklistConfig> {
  return definePlugin<BlacklistConfig>({
    name: BLACKLIST_PLUGIN,
    version: '0.1.0',
    core: '^0.1.0',
    config: { key: 'blacklist', schema: blacklistConfigSchema },

    register(ctx) {
      // Everything below belongs to this app: one plugin object may serve several apps.
    const reports = new WeakMap<object, FetchReport>();
    let service: BlacklistService | undefined;
    const svc = () => {
      if (!service) throw new TipError(TipErrorCodes.APP_STATE, 'the blacklist service is not initialised yet');
      return service;
    };
    const registry = new ParserRegistry();
    let schedulerClock: Clock | undefined;
    let metrics: BlacklistMetrics | undefined;
    const clock = (): Clock => {
      if (!schedulerClock) throw new TipError(TipErrorCodes.APP_STATE, 'the blacklist plugin is not initialised yet');
      return schedulerClock;
    };
      ctx.entities(...blacklistEntities);
      ctx.migrations(...blacklistMigrations);
      ctx.extend(blacklistParsers).add(...defaultParsers(), ...(options.parsers ?? []));
      ctx.provide(BlacklistToken, { useFactory: () => svc() });
      for (const feed of ctx.config.feeds) {
        if (feed.enabled) ctx.sources.add(feedSource(resolveFeed(feed), registry, reports, ctx.core.http.maxBytes));
      }
      ctx.sourceKinds.add(
        defineSourceKind<Indicator | string | IndicatorSet>({
          kind: BLACKLIST_KIND,
          async ingest({ source, run, batches }) {
            const s = svc();
            const startedAt = clock().now();
            const base = { sourceId: source.id, jobRunId: run.id, startedAt };
            try {
              let set = new IndicatorSet();
              let invalid = 0;
              for await (const batch of batches) {
                for (const item of batch) {
                  if (item instanceof IndicatorSet) {
                    if (set.size === 0) set = item;
                    else for (const i of item) set.add(i.type, i.value);
                  } else if (typeof item !== 'string') set.add(item.type, item.value);
                  else {
                    const r = canonicalize(item);
                    if (r.ok) for (const i of r.indicators) set.add(i.type, i.value);
                    else invalid++;
                  }
                }
              }
              const report = reports.get(run) ?? { bytes: 0, lines: set.size + invalid, invalid, samples: [] };
              const counts = await s.ingester.snapshot({ ...base, now: clock().now(), report }, set, {
                maxInvalidRatio: ctx.config.maxInvalidRatio,
                allowEmpty: ctx.config.allowEmpty,
              });
              await s.ingester.recordRun({ ...base, now: clock().now(), report }, 'succeeded', counts);
              metrics?.run(source.id, 'succeeded', counts);
              return { counts: { ...counts } };
            } catch (err) {
              const report = reports.get(run);
              const ended = clock().now();
              if (Ingester.isNotModified(err)) {
                await s.ingester.recordRun({ ...base, now: ended, report: { bytes: 0, lines: 0, invalid: 0, samples: [], httpStatus: 304 } }, 'unchanged', {});
                metrics?.run(source.id, 'unchanged');
              } else {
                const status = isTipError(err, TipErrorCodes.SOURCE_REJECTED) ? 'rejected' : 'failed';
                await s.ingester.recordRun({ ...base, now: ended, report }, status, { invalid: report?.invalid ?? 0 }, err);
                metrics?.run(source.id, status);
              }
              throw err;
            }
          },
        }),
      );
      ctx.jobs.add({
        id: 'blacklist',
        description: 'collect every enabled blacklist feed, then recompute source weights',
        trigger: every(ctx.config.interval),
        async children() {
          const sources = ctx.sourceRunner.list([BLACKLIST_KIND]);
          await svc().disableFeedsNotIn(new Set(sources.map((s) => s.id)));
          return sources.filter((s) => s.schedule === undefined).map((s) => ctx.sourceRunner.job(s, { id: `blacklist/${s.id}` }));
        },
        async onComplete(summary) {
          let added = 0;
          let removed = 0;
          for (const c of summary.children) {
            added += c.counts?.added ?? 0;
            removed += c.counts?.removed ?? 0;
          }
          metrics?.weights(await svc().computeWeights());
          await ctx.events.emit('blacklist.cycle.completed', {
            cycleId: summary.runId,
            sources: summary.total,
            succeeded: summary.succeeded,
            failed: summary.failed,
            added,
            removed,
          });
        },
      });
      ctx.commands.add(...blacklistCommands(svc));
      ctx.events.on('blacklist.indicators.submitted', async (e) => {
        await svc().registerSource(e.source);
        await svc().submit(e.source.id, e.add, e.remove ?? []);
      });
      return {
        async init(ctx) {
          for (const p of ctx.extend(blacklistParsers).list()) if (!registry.has(p.format)) registry.register(p);
          schedulerClock = ctx.get(CoreTokens.clock);
          metrics = new BlacklistMetrics(ctx.metrics);
          service = new BlacklistService({ db: ctx.db, clock: schedulerClock, log: ctx.log, config: ctx.config, baseDir: ctx.core.baseDir });
          const now = schedulerClock.now();
          for (const source of ctx.sourceRunner.list([BLACKLIST_KIND])) {
            const meta = (source.meta ?? {}) as { url?: string; format?: string; category?: SourceCategory; license?: string };
            await service.ingester.upsertSource(
              { id: source.id, title: source.title ?? source.id, url: meta.url, format: meta.format ?? 'custom', category: meta.category ?? 'other', license: meta.license, origin: 'feed', enabled: true },
              now,
            );
          }
        },
      };
    },
  });
}

/** Merges a feed entry with its catalog defaults and checks it is complete. */
export function resolveFeed(feed: FeedConfig): Required<Pick<FeedConfig, 'id' | 'url' | 'format' | 'category'>> & FeedConfig & { title: string; license?: string } {
  const base = feed.catalog ? catalogFeed(feed.catalog) : undefined;
  if (feed.catalog && !base) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `blacklist.feeds: feed "${feed.id}" names unknown catalog entry "${feed.catalog}"`, { details: { path: 'blacklist.feeds', feed: feed.id } });
  }
  const merged = {
    ...feed,
    title: feed.title ?? base?.title ?? feed.id,
    url: feed.url ?? base?.url,
    format: feed.format ?? base?.format,
    options: feed.options ?? (base?.options as Record<string, unknown> | undefined),
    types: feed.types ?? (base ? [...base.types] : undefined),
    category: feed.category ?? base?.category,
    license: feed.license ?? base?.license,
  };
  const missing = (['url', 'format', 'category'] as const).filter((k) => !merged[k]);
  if (missing.length) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `blacklist.feeds: feed "${feed.id}" needs ${missing.join(', ')} (or a catalog entry that has them)`, {
      details: { path: 'blacklist.feeds', feed: feed.id, missing },
    });
  }
  return merged as ReturnType<typeof resolveFeed>;
}

function feedSource(feed: ReturnType<typeof resolveFeed>, registry: ParserRegistry, reports: WeakMap<object, FetchReport>, defaultMaxBytes: number): SourceDefinition<IndicatorSet> {
  const maxBytes = feed.maxBytes ?? defaultMaxBytes;
  return defineSource<IndicatorSet>({
    id: feed.id,
    kind: BLACKLIST_KIND,
    title: feed.title,
    timeout: feed.timeout ?? '10m',
    http: feed.maxBytes === undefined ? undefined : { maxBytes },
    meta: { url: feed.url, format: feed.format, category: feed.category, license: feed.license },
    async *fetch(run) {
      const res = await run.http.request(feed.url);
      if (res.notModified) {
        throw new TipError(TipErrorCodes.HTTP_NOT_MODIFIED, `${feed.url} not modified`, { details: { url: feed.url, source: feed.id } });
      }
      const options = { ...(feed.options ?? {}), ...(feed.types ? { types: feed.types } : {}) };
      const parsed = parseFeed(registry, feed.format, res.body, options, { maxBytes, name: feed.id });
      reports.set(run, {
        httpStatus: res.status,
        bytes: res.wireBytes,
        lines: parsed.stats.lines,
        invalid: parsed.stats.invalid,
        samples: parsed.stats.samples,
        contentHash: createHash('sha256').update(res.body).digest('hex'),
      });
      yield [parsed.set];
    },
  });
}

