import { CoreTokens, definePlugin, extensionPoint, redactUrl, TipError, TipErrorCodes, token, type PluginContext, type TipPlugin } from '@tip/core';
import { blacklistCommands } from './commands.js';
import { blacklistConfigSchema, type BlacklistConfig } from './config.js';
import { blacklistEntities } from './db/entities.js';
import { blacklistMigrations } from './db/migrations.js';
import './events.js';
import { BLACKLIST_KIND, feedSource } from './feeds/feedSource.js';
import { resolveFeed } from './feeds/resolveFeed.js';
import type { SourceCategory } from './indicators/types.js';
import { blacklistCycleJob } from './job.js';
import { blacklistKind } from './kind.js';
import { BlacklistMetrics } from './metrics.js';
import { defaultParsers, type FeedParser } from './parsers/index.js';
import { builtInWriters, type ExportWriter } from './export/index.js';
import { blacklistRoutes } from './routes/index.js';
import { BlacklistRuntime } from './runtime.js';
import { BlacklistService } from './service/BlacklistService.js';

export { BLACKLIST_KIND } from './feeds/feedSource.js';

/** The plugin's name. */
export const BLACKLIST_PLUGIN = '@tip/plugin-blacklist';
/** The blacklist service of an app: `ctx.get(BlacklistToken)`. */
export const BlacklistToken = token<BlacklistService>('blacklist.service');
/** Extension point for feed parsers: `ctx.extend(blacklistParsers).add(myParser)`. */
export const blacklistParsers = extensionPoint<FeedParser>('blacklist.parsers', { keyOf: (p) => p.format });
/**
 * Extension point for export writers: `ctx.extend(blacklistWriters).add(myWriter)` during
 * `register` makes `myWriter.format` available to `BlacklistService.export`, the
 * `/api/blacklist/export` route and `tip blacklist export`. The built-in writers are added the
 * same way; a format added twice is refused (`TIP_DUPLICATE_ID`).
 */
export const blacklistWriters = extensionPoint<ExportWriter>('blacklist.writers', { keyOf: (w) => w.format });

/** Options of the plugin factory (configuration comes from the `blacklist` config key). */
export interface BlacklistPluginOptions {
  /** Extra feed parsers (same as adding them to `blacklistParsers`). */
  parsers?: FeedParser[];
  /** Extra export writers (same as adding them to `blacklistWriters`). */
  writers?: ExportWriter[];
}

/**
 * The blacklist plugin: one `blacklist` group job runs every enabled feed as a child job
 * (`blacklist/<feed>`), diff-ingests each atomically, then recomputes source weights and emits
 * `blacklist.cycle.completed`. The returned object may be installed in several apps; each gets
 * its own service, parsers and metrics.
 */
export function blacklistPlugin(options: BlacklistPluginOptions = {}): TipPlugin<BlacklistConfig> {
  return definePlugin<BlacklistConfig>({
    name: BLACKLIST_PLUGIN,
    version: '0.2.0',
    core: '^0.2.0',
    config: { key: 'blacklist', schema: blacklistConfigSchema },

    register(ctx) {
      // Everything below belongs to this app: one plugin object may serve several apps.
      const runtime = new BlacklistRuntime();
      const service = () => runtime.service();
      ctx.entities(...blacklistEntities);
      ctx.migrations(...blacklistMigrations);
      ctx.extend(blacklistParsers).add(...defaultParsers(), ...(options.parsers ?? []));
      ctx.extend(blacklistWriters).add(...builtInWriters(ctx.config.export), ...(options.writers ?? []));
      ctx.provide(BlacklistToken, { useFactory: service });
      for (const feed of ctx.config.feeds) {
        if (feed.enabled) {
          ctx.sources.add(
            feedSource(resolveFeed(feed), {
              registry: runtime.registry,
              defaultMaxBytes: ctx.core.http.maxBytes,
              defaultMaxLines: ctx.config.maxLines,
              storedHash: (id) => runtime.service().ingester.contentHash(id),
            }),
          );
        }
      }
      ctx.sourceKinds.add(blacklistKind({ runtime, policy: { maxInvalidRatio: ctx.config.maxInvalidRatio, allowEmpty: ctx.config.allowEmpty, maxRemovedRatio: ctx.config.maxRemovedRatio } }));
      ctx.jobs.add(blacklistCycleJob(ctx, runtime));
      ctx.commands.add(...blacklistCommands(service));
      ctx.routes.add(...blacklistRoutes(runtime));
      // what the web stream and webhooks carry (not blacklist.indicators.submitted: that one is input)
      ctx.publicEvents.add(
        { name: 'blacklist.listings.changed', description: "a source's ingestion added or removed listings (counts and samples)" },
        { name: 'blacklist.cycle.completed', description: 'every feed of a collection cycle ended (sources, failures, listings added and removed)' },
        { name: 'blacklist.weights.updated', description: 'a cycle recomputed the source weights' },
      );
      ctx.events.on('blacklist.indicators.submitted', async (e) => {
        await service().registerSource(e.source);
        await service().submit(e.source.id, e.add, e.remove ?? []);
      });
      return { init: (ictx) => init(ictx, runtime) };
    },
  });
}

/**
 * Every enabled feed names a format some parser handles. Checked in `init`, once every plugin has
 * added its parsers, so a typo fails at start instead of at the first fetch.
 * @throws TipError `TIP_CONFIG_INVALID` naming the feed, its format and the known formats
 */
function checkFeedFormats(config: BlacklistConfig, runtime: BlacklistRuntime): void {
  const issues = config.feeds.flatMap((feed, i) => {
    if (!feed.enabled) return [];
    const format = resolveFeed(feed).format;
    return runtime.registry.has(format) ? [] : [{ path: `blacklist.feeds[${i}].format`, message: `feed "${feed.id}": unknown format "${format}"` }];
  });
  if (issues.length === 0) return;
  const known = runtime.registry.formats().join(', ');
  throw new TipError(TipErrorCodes.CONFIG_INVALID, `${issues.map((i) => `${i.path}: ${i.message}`).join('; ')} (known formats: ${known})`, {
    details: { issues, known: runtime.registry.formats() },
  });
}

/** Builds the app's service and records the configured feeds (not in `read` mode). */
async function init(ctx: PluginContext<BlacklistConfig>, runtime: BlacklistRuntime): Promise<void> {
  for (const p of ctx.extend(blacklistParsers).list()) if (!runtime.registry.has(p.format)) runtime.registry.register(p);
  checkFeedFormats(ctx.config, runtime);
  const clock = ctx.get(CoreTokens.clock);
  const service = new BlacklistService({ db: ctx.db, clock, log: ctx.log, config: ctx.config, baseDir: ctx.core.baseDir, writers: ctx.extend(blacklistWriters).list() });
  runtime.ready({ service, clock, metrics: new BlacklistMetrics(ctx.metrics) });
  service.ingester.onListingsChanged = (change) => ctx.events.emit('blacklist.listings.changed', change);
  // read-only commands (exports, listings) never write, whatever feeds their configuration names
  if (ctx.mode === 'read') return;
  const now = clock.now();
  for (const source of ctx.sourceRunner.list([BLACKLIST_KIND])) {
    const meta = (source.meta ?? {}) as { url?: string; format?: string; category?: SourceCategory; license?: string };
    await service.ingester.upsertSource(
      { id: source.id, title: source.title ?? source.id, url: meta.url === undefined ? undefined : redactUrl(meta.url), format: meta.format ?? 'custom', category: meta.category ?? 'other', license: meta.license, origin: 'feed', enabled: true },
      now,
    );
  }
}
