/**
 * `@tip/plugin-blacklist`: collects IP/domain/URL blacklists, weights every source with metrics,
 * and generates aggregated blacklists (plain, hosts, CSV, JSON, BIND RPZ, STIX 2.1).
 *
 * @example
 * ```ts
 * import blacklist from '@tip/plugin-blacklist';
 * const tip = await createTip({ plugins: [blacklist()], config: { blacklist: { feeds: [{ id: 'drop', catalog: 'spamhaus-drop' }] } } });
 * ```
 * @packageDocumentation
 */
import { blacklistPlugin } from './plugin.js';

export default blacklistPlugin;
export { BlacklistErrors, type BlacklistErrorCode } from './errors.js';
export { blacklistPlugin, BlacklistToken, blacklistParsers, BLACKLIST_KIND, BLACKLIST_PLUGIN, type BlacklistPluginOptions } from './plugin.js';
export { resolveFeed, type ResolvedFeed } from './feeds/resolveFeed.js';
export type { BlacklistRecord } from './kind.js';
export type { BlacklistCycleCompleted, BlacklistIndicatorsSubmitted } from './events.js';
export { BlacklistService, type ExportOptions, type SubmittedSource } from './service/BlacklistService.js';
export type { EntryFilter } from './service/entries.js';
export { blacklistConfigSchema, feedConfigSchema, type BlacklistConfig, type FeedConfig } from './config.js';
export * from './indicators/types.js';
export { canonicalize, canonicalDomain, canonicalIp, canonicalUrl, type CanonicalResult } from './indicators/canonical.js';
export { RangeSet, rangeOf, parseIp, parseCidr, rangeToCidrs, formatIp, type IpRange, type IpVersion } from './indicators/ip.js';
export * from './parsers/index.js';
export {
  exportWriters,
  writeExport,
  plainWriter,
  hostsWriter,
  csvWriter,
  jsonWriter,
  rpzWriter,
  stixWriter,
  csvGuard,
  rpzIpName,
  stixIndicatorId,
  STIX_INDICATOR_TYPES,
  type JsonExportDocument,
  type ExportEntry,
  type ExportMeta,
  type ExportFormat,
  type ExportEntries,
  type ExportWriter,
  type ExportWritersOptions,
  type HostsOptions as HostsExportOptions,
  type RpzOptions,
  type StixOptions,
  type WriteExportResult,
} from './export/index.js';
export * from './allowlists/index.js';
export * from './weighting/index.js';
export { feedCatalog, catalogFeed, type FeedDefinition } from './feeds/catalog.js';
export { Ingester, type IngestCounts, type IngestPolicy, type IngestContext, type FetchReport, type SourceRow } from './ingest/Ingester.js';
export { IndicatorSet } from './ingest/IndicatorSet.js';
export { ListingStore } from './ingest/ListingStore.js';
export * from './db/entities.js';
export { blacklistMigrations } from './db/migrations.js';
