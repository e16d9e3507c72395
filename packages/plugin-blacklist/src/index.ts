/**
 * `@tip/plugin-blacklist`: collects IP/domain/URL blacklists, weights every source with metrics,
 * and generates aggregated blacklists (plain, hosts, CSV, JSON, BIND RPZ, STIX 2.1, ipset, nftables,
 * MISP feed).
 *
 * @example
 * ```ts
 * import blacklist from '@tip/plugin-blacklist';
 * const tip = await createTip({ plugins: [blacklist()], config: { blacklist: { feeds: [{ id: 'drop', catalog: 'spamhaus-drop' }] } } });
 * ```
 * @packageDocumentation
 */
import { blacklistPlugin } from './plugin.js';
// Declaration merging: the plugin's events (TipEvents) and run report fields (SourceReport).
import './events.js';
import './report.js';

export default blacklistPlugin;

// The plugin, its service and its HTTP/command surface
export { blacklistPlugin, BlacklistToken, BLACKLIST_KIND, BLACKLIST_PLUGIN, type BlacklistPluginOptions } from './plugin.js';
export type { BlacklistService, BlacklistSourceDetail, BlacklistSourceInfo, ExportOptions, SubmittedSource } from './service/BlacklistService.js';
export type { SearchItem, SearchPage, SearchQuery } from './service/search.js';
export type { CycleRecord, IndicatorHistory, MetricsPoint, OverlapMatrix, SourceRunRecord, TimelinePoint } from './service/insights.js';
export type { IngestCounts } from './ingest/Ingester.js';
export type { EntryFilter } from './service/entries.js';
export type { IndicatorLookup } from './service/lookup.js';
export type { SourceRunSummary } from './service/runs.js';
export type { StoredSourceMetrics } from './service/weights.js';
export type { BlacklistRecord } from './kind.js';
export type { BlacklistCycleCompleted, BlacklistIndicatorsSubmitted, BlacklistListingsChanged, BlacklistWeightsUpdated } from './events.js';
export { BlacklistErrors, type BlacklistErrorCode } from './errors.js';

// Configuration
export { blacklistConfigSchema, feedConfigSchema, type BlacklistConfig, type FeedConfig } from './config.js';
export { feedCatalog, type FeedDefinition } from './feeds/catalog.js';

// Indicators
export { INDICATOR_TYPES, type Indicator, type IndicatorType, type SourceCategory } from './indicators/types.js';
export { canonicalize, canonicalDomain, canonicalIp, canonicalUrl, type CanonicalResult } from './indicators/canonical.js';
export { IndicatorSet } from './ingest/IndicatorSet.js';

// Feed parsers (the `blacklistParsers` extension point)
export { blacklistParsers } from './plugin.js';
export { newParseStats, noteInvalid, type FeedParser, type ParserOptions, type ParseSample, type ParseStats } from './parsers/types.js';
export { ParserRegistry, defaultParsers } from './parsers/registry.js';
export { parseFeed, DEFAULT_MAX_FEED_BYTES, DEFAULT_MAX_FEED_LINES, type ParseFeedResult, type FeedDecodeLimits } from './parsers/parseFeed.js';
export type { PlainOptions } from './parsers/plain.js';
export type { HostsOptions } from './parsers/hosts.js';
export type { CsvOptions, ColumnRef } from './parsers/csv.js';
export type { DropOptions } from './parsers/drop.js';
export type { JsonOptions } from './parsers/json.js';

// Export writers (the `blacklistWriters` extension point)
export { blacklistWriters } from './plugin.js';
export {
  exportWriters,
  builtInWriters,
  registerWriter,
  writeExport,
  aggregateEntries,
  ipsetWriter,
  nftablesWriter,
  mispWriter,
  writeMispFeed,
  mispEventUuid,
  mispAttributeType,
  checkSetName,
  TIP_MISP_NAMESPACE,
  type WriteExportOptions,
  type ExportTally,
  type AggregateStats,
  type IpsetOptions,
  type NftablesOptions,
  type MispOptions,
  type MispExportWriter,
  type MispFeedResult,
  type ExportEntry,
  type ExportEntries,
  type ExportFormat,
  type ExportMeta,
  type ExportWriter,
  type ExportWritersOptions,
  type HostsOptions as HostsExportOptions,
  type JsonExportDocument,
  type JsonExportIndicator,
  type RpzOptions,
  type StixOptions,
  type WriteExportResult,
} from './export/index.js';

// Allow-lists and weighting (what the configuration and the service expose)
export type { Allowlist, AllowlistEntryType, AllowMatch, AllowlistSource, MispWarninglist } from './allowlists/index.js';
export type { SourceMetrics, OverlapMode, WeightTermWeights } from './weighting/index.js';

// Third-party sources: a typed declaration of a `blacklist` source
export {
  blacklistSource,
  SOURCE_CATEGORIES,
  type BlacklistSourceMeta,
  type BlacklistSourceBase,
  type BlacklistSourceOptions,
  type BlacklistFetchSource,
  type BlacklistFeedSource,
} from './source.js';

// Explainable verdicts (`BlacklistService.explain`)
export type { Verdict, VerdictEntry, VerdictListing, VerdictMatch, VerdictSource } from './service/explain.js';
export { weightBreakdown, type WeightBreakdown, type WeightTermBreakdown, type WeightParams, type DecayParams } from './weighting/index.js';
export type { AddressMetrics, FamilyAddressMetrics } from './weighting/index.js';
