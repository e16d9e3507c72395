import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { executeRaw, MAX_DURATION_MS, parseDuration, TipError, TipErrorCodes, type Clock, type Database, type Duration, type Logger } from '@tip/core';
import { Allowlist, parseMispWarninglist } from '../allowlists/index.js';
import type { BlacklistConfig } from '../config.js';
import {
  exportWriters,
  prepareEntries,
  registerWriter,
  unknownFormatError,
  writeExport,
  writeMispFeed,
  type ExportEntry,
  type ExportMeta,
  type ExportWriter,
  type MispExportWriter,
  type MispFeedResult,
  type WriteExportResult,
} from '../export/index.js';
import { canonicalize } from '../indicators/canonical.js';
import type { Indicator, SourceCategory } from '../indicators/types.js';
import { Ingester, type IngestCounts } from '../ingest/Ingester.js';
import { DEFAULT_DECAY_MODEL, decayModel, type DecayModel, type SourceMetrics } from '../weighting/index.js';
import { BlacklistErrors } from '../errors.js';
import { checkCategory, checkSourceId, checkText } from '../source.js';
import { listedEntries, type EntryFilter, type ScoringContext } from './entries.js';
import { explainIndicator, explainTarget, type Verdict } from './explain.js';
import { lookupIndicator, type IndicatorLookup } from './lookup.js';
import { lastRuns, type SourceRunSummary } from './runs.js';
import { cycleTimeline, indicatorHistory, metricsHistory, overlapMatrix, recordCycle, sourceRuns, type CycleRecord, type IndicatorHistory, type MetricsPoint, type OverlapMatrix, type SourceRunRecord, type TimelinePoint } from './insights.js';
import { searchIndicators, type SearchPage, type SearchQuery } from './search.js';
import { ListingCache } from '../weighting/listingCache.js';
import { computeAndStoreWeights, latestMetrics, latestWeights, type StoredSourceMetrics } from './weights.js';

/** A source another plugin submits indicators under (spamtrap relays, flux domains…). */
export interface SubmittedSource {
  /** Unique source id (letters, digits, `.`, `_`, `-`; max 100, starting with a letter or digit). */
  id: string;
  /** Human title shown in listings and exports (at most 500 characters). */
  title: string;
  /** What kind of threat the source lists. */
  category: SourceCategory;
  /** License or terms of the data, if any (at most 1000 characters). */
  license?: string;
  /**
   * How long a submitted indicator stays listed without being submitted again (a duration such
   * as `30d`, or milliseconds; 1 minute to 10 years). The `blacklist` cycle closes older listings,
   * which then drop out of exports and lookups. Without a ttl a listing stays until removed, its
   * score decaying with its age like a feed's (reaching 0 at the type's τ).
   */
  ttl?: Duration;
}

/** Options of {@link BlacklistService.export}. */
export interface ExportOptions extends EntryFilter {
  /** Export format: a registered writer's name (`plain`, `hosts`, `csv`, `json`, `rpz`, `stix`…). */
  format: string;
  /** Name of the generated list (default `tip-blacklist`). */
  name?: string;
  /** Free-text description written into formats that carry one. */
  description?: string;
  /**
   * Aggregate ip/cidr entries: drop those covered by another, merge overlapping and adjacent
   * ranges into the minimal CIDR list (see `aggregateEntries`). Unset: the writer decides
   * (`ipset` and `nftables` aggregate, the others do not).
   */
  aggregate?: boolean;
}

/** A source as {@link BlacklistService.sources} lists it. */
export interface BlacklistSourceInfo {
  /** The source id. */
  id: string;
  /** Its human title. */
  title: string;
  /** Its category (see {@link SourceCategory}). */
  category: string;
  /** `feed` (fetched by this plugin) or `plugin` (submitted by another plugin). */
  origin: string;
  /** Whether the source is collected (feeds no longer configured are disabled). */
  enabled: boolean;
  /** When it last ran (epoch ms); absent if never. */
  lastRunAt?: number;
  /** When it last succeeded (epoch ms); absent if never. */
  lastSuccessAt?: number;
  /** Indicators it currently lists. */
  listed: number;
}

/** One source in detail, as {@link BlacklistService.sourceDetail} gives it. */
export interface BlacklistSourceDetail {
  /** The source id. */
  id: string;
  /** Its human title. */
  title: string;
  /** `feed` (fetched by this plugin) or `submitted` (by another plugin). */
  kind: 'feed' | 'submitted';
  /** Its category. */
  category: string;
  /** `feed` or `plugin`, as stored. */
  origin: string;
  /** Parser format (`submitted` for submitted sources). */
  format: string;
  /** Download URL (credentials redacted), feeds only. */
  url?: string;
  /** License or terms of the data. */
  license?: string;
  /** Whether it is collected. */
  enabled: boolean;
  /** Indicators it lists now. */
  listed: number;
  /** When it was first stored. */
  createdAt: Date;
  /** When it last ran (epoch ms). */
  lastRunAt?: number;
  /** When it last succeeded (epoch ms). */
  lastSuccessAt?: number;
  /** A submitted source's ttl (ms). */
  ttlMs?: number;
  /** What this app's configuration sets for the feed; null for sources it does not configure. */
  config: {
    /** The cycle interval. */
    interval: string | number;
    /** The catalog entry it is based on. */
    catalog?: string;
    /** Indicator types it yields. */
    types?: string[];
    /** Download timeout (ms). */
    timeoutMs?: number;
    /** Largest download (bytes). */
    maxBytes?: number;
    /** Its shrink guard (share of listings a run may remove). */
    maxRemovedRatio: number | null;
    /** Its line cap. */
    maxLines: number | null;
  } | null;
  /** Its most recent run, or null. */
  lastRun: SourceRunRecord | null;
  /** Its metrics of the last cycle, or null. */
  metrics: StoredSourceMetrics | null;
  /** Its recent runs, newest first. */
  runs: SourceRunRecord[];
  /** Its metrics and weight per cycle, oldest first. */
  metricsHistory: MetricsPoint[];
}

/**
 * The blacklist plugin's public API, available to other plugins as `ctx.get(BlacklistToken)`:
 * submit indicators under their own source identity, compute source weights, and generate
 * (export) aggregated blacklists.
 */
export class BlacklistService {
  /** The ingestion engine (internal; used by the plugin's source kind and benchmarks). @internal */
  readonly ingester: Ingester;
  /** The allow-list used for false-positive rates and export filtering. */
  readonly allowlist: Allowlist;
  /**
   * Export writers by format: those added to the `blacklistWriters` extension point (built-ins
   * included). Prefer the extension point; `writers.set(format, writer)` still works.
   */
  readonly writers: Map<string, ExportWriter>;
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #config: BlacklistConfig;
  readonly #decay: DecayModel;
  readonly #log: Logger;
  /** The listings the last weights step loaded (this app's only: the next step reads the delta). */
  readonly #listingCache = new ListingCache();

  constructor(deps: { db: Database; clock: Clock; log: Logger; config: BlacklistConfig; baseDir?: string; writers?: Iterable<ExportWriter> }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#config = deps.config;
    this.#log = deps.log;
    this.ingester = new Ingester(deps.db, deps.log);
    this.allowlist = buildAllowlist(deps.config, deps.baseDir);
    if (deps.writers) {
      this.writers = new Map();
      for (const w of deps.writers) registerWriter(this.writers, w);
    } else this.writers = exportWriters();
    const overrides: Record<string, { tauMs: number; delta: number }> = {};
    for (const [type, d] of Object.entries(deps.config.decay)) overrides[type] = { tauMs: parseDuration(d.tau, `blacklist.decay.${type}.tau`), delta: d.delta };
    this.#decay = Object.keys(overrides).length ? decayModel(overrides) : DEFAULT_DECAY_MODEL;
  }

  /**
   * Registers (or updates) a source that another plugin submits indicators under. Registering
   * again replaces its title, category, license and ttl (none: no ttl).
   * @throws TipError `TIP_INPUT_INVALID` naming the field (`details.option`) for a bad id, title,
   *   category, license or ttl
   */
  async registerSource(source: SubmittedSource): Promise<void> {
    const code = TipErrorCodes.INPUT_INVALID;
    const id = checkSourceId(source?.id, code, 'registerSource');
    const what = `registerSource "${id}"`;
    const row = {
      id,
      title: checkText(source.title, 500, code, what, 'title'),
      category: checkCategory(source.category, code, what),
      license: source.license === undefined ? undefined : checkText(source.license, 1000, code, what, 'license'),
    };
    let ttlMs: number | null = null;
    if (source.ttl !== undefined) {
      try {
        ttlMs = parseDuration(source.ttl, `${what}: ttl`, { min: '1m', max: MAX_DURATION_MS });
      } catch (err) {
        throw new TipError(code, (err as Error).message, { details: { option: 'ttl', input: source.ttl } });
      }
    }
    await this.ingester.upsertSource({ ...row, format: 'submitted', origin: 'plugin', enabled: true }, this.#clock.now());
    const ph = (n: number) => (this.#db.dialect === 'sqlite' ? '?' : `$${n}`);
    await executeRaw(this.#db.em(), `update bl_source set ttl_ms = ${ph(1)} where id = ${ph(2)}`, [ttlMs, id]);
  }

  /**
   * Closes the listings of every enabled submitted source with a `ttl` that were not submitted
   * again within it (the `blacklist` cycle calls this before computing weights). Returns the
   * number closed per source (sources with none closed are left out).
   */
  async expireSubmitted(): Promise<Map<string, number>> {
    const { rows } = await executeRaw<{ id: string; ttl_ms: number | string }>(
      this.#db.em(),
      `select id, ttl_ms from bl_source where origin = 'plugin' and ttl_ms is not null and enabled = ${this.#db.dialect === 'sqlite' ? '1' : 'true'} order by id`,
    );
    const closed = new Map<string, number>();
    for (const r of rows) {
      const n = await this.ingester.expire(r.id, this.#clock.now(), Number(r.ttl_ms));
      if (n > 0) closed.set(r.id, n);
    }
    if (closed.size) this.#log.info({ expired: Object.fromEntries(closed) }, 'submitted listings past their ttl were closed');
    return closed;
  }

  /**
   * Adds (and optionally removes) indicators of a registered source. Strings are canonicalised;
   * invalid ones are counted and skipped. Each submitted listing keeps its own last-seen: adding
   * an indicator (again) refreshes it, and an indicator not submitted again ages and its score
   * decays (see {@link SubmittedSource.ttl}).
   */
  async submit(sourceId: string, add: Iterable<Indicator | string>, remove: Iterable<Indicator | string> = []): Promise<IngestCounts> {
    const now = this.#clock.now();
    const a = canonicalAll(add);
    const r = canonicalAll(remove);
    const counts = await this.ingester.delta({ sourceId, startedAt: now, now }, a.indicators, r.indicators);
    counts.invalid = a.invalid + r.invalid;
    await this.ingester.recordRun({ sourceId, startedAt: now, now: this.#clock.now() }, 'succeeded', counts);
    return counts;
  }

  /**
   * Computes every enabled source's metrics and weight now and stores them (what the cycle job
   * does); `{ store: false }` only computes, for read-only callers.
   */
  async computeWeights(options: { store?: boolean } = {}): Promise<SourceMetrics[]> {
    const w = this.#config.weighting;
    return computeAndStoreWeights(this.#db, {
      now: this.#clock.now(),
      windowMs: parseDuration(w.window, 'blacklist.weighting.window'),
      overlap: w.overlap,
      formula: w.weights ? { weights: w.weights } : undefined,
      allowlist: this.allowlist,
      intervalMs: parseDuration(this.#config.interval, 'blacklist.interval'),
      store: options.store,
      cache: this.#listingCache,
    });
  }

  /** The metrics and weight of every source as the last cycle stored them. */
  latestMetrics(): Promise<StoredSourceMetrics[]> {
    return latestMetrics(this.#db);
  }

  /** The latest weight of each source. */
  weights(): Promise<Map<string, number>> {
    return latestWeights(this.#db);
  }

  /** Streams the currently listed indicators, scored and filtered. */
  async *entries(filter: EntryFilter = {}): AsyncGenerator<ExportEntry> {
    yield* listedEntries(this.#db, filter, await this.#scoring());
  }

  /**
   * What the current listings say about one indicator (canonicalise it first, e.g. with
   * `canonicalize`): its exact listing, and for an IP the listed CIDRs containing it.
   */
  async lookup(indicator: Indicator): Promise<IndicatorLookup> {
    return lookupIndicator(this.#db, indicator, this.#scoringBase());
  }

  /** The scoring context without the weights (lookups read them with the listings). */
  #scoringBase(): Omit<ScoringContext, 'weights'> {
    return { now: this.#clock.now(), defaultWeight: this.#config.weighting.defaultWeight, decay: this.#decay, allowlist: this.allowlist };
  }

  /**
   * Explains the verdict on one value (an IP, CIDR, domain or URL string, canonicalised first, or
   * an {@link Indicator}): every source listing it — the indicator itself, covering CIDRs, parent
   * domains, a URL's host — with ages, decay, each source's weight and how its formula arrived at
   * it, allow-list hits with their reason, and the final score (the same as its export and lookup
   * score) with how the listings combine into it.
   * @throws TipError `TIP_INPUT_INVALID` naming the value when it is no indicator
   */
  async explain(value: string | Indicator): Promise<Verdict> {
    explainTarget(value); // bad input fails before any query
    const w = this.#config.weighting;
    return explainIndicator(this.#db, value, {
      ...this.#scoringBase(),
      formula: w.weights ? { weights: w.weights } : undefined,
      expectedIntervalMs: parseDuration(this.#config.interval, 'blacklist.interval'),
    });
  }

  /**
   * Searches the current listings: an exact indicator (canonicalised), every
   * listed ip/cidr inside a CIDR, or everything; filtered by type, sources, last seen and score.
   * @throws TipError `TIP_INPUT_INVALID` naming the parameter (`details.path`: `q`, `source`,
   *   `cursor`, `limit`)
   */
  async search(query: SearchQuery): Promise<SearchPage> {
    if (query.sources?.length) {
      const known = new Set((await this.sources()).map((s) => s.id));
      const unknown = query.sources.filter((id) => !known.has(id));
      if (unknown.length) {
        throw new TipError(TipErrorCodes.INPUT_INVALID, `source: unknown blacklist source(s): ${unknown.map((id) => `"${id.slice(0, 200)}"`).join(', ')}`, {
          details: { path: 'source', input: unknown, issues: [{ path: 'source', message: 'unknown source' }] },
        });
      }
    }
    return searchIndicators(this.#db, query, this.#scoringBase());
  }

  /** The listing history of an indicator (canonicalise it first): every listing start and end by any source. */
  history(indicator: Indicator): Promise<IndicatorHistory> {
    return indicatorHistory(this.#db, indicator);
  }

  /**
   * One source in detail: what {@link sources} says of it, its stored metadata, the settings its
   * configuration gives it (feeds), its recent runs (newest first) and its metrics and weight
   * over the recent cycles (oldest first). Null when no such source is stored.
   */
  async sourceDetail(id: string, options: { runs?: number; cycles?: number } = {}): Promise<BlacklistSourceDetail | null> {
    const ph = (n: number) => (this.#db.dialect === 'sqlite' ? '?' : `$${n}`);
    const { rows } = await executeRaw<Record<string, string | number | boolean | null>>(
      this.#db.em(),
      `select s.id, s.title, s.url, s.format, s.category, s.license, s.origin, s.enabled, s.created_at, s.last_run_at, s.last_success_at, s.ttl_ms,
              (select count(*) from bl_listing l where l.source_id = s.id and l.removed_at is null) as listed
       from bl_source s where s.id = ${ph(1)}`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
    const feed = this.#config.feeds.find((f) => f.id === id);
    const [runs, history, metrics] = await Promise.all([sourceRuns(this.#db, id, options.runs ?? 50), metricsHistory(this.#db, id, options.cycles ?? 100), this.latestMetrics()]);
    return {
      id: String(r.id),
      title: String(r.title),
      kind: r.origin === 'feed' ? 'feed' : 'submitted',
      category: String(r.category),
      origin: String(r.origin),
      format: String(r.format),
      ...(r.url === null ? {} : { url: String(r.url) }),
      ...(r.license === null ? {} : { license: String(r.license) }),
      enabled: r.enabled === true || r.enabled === 1,
      listed: Number(r.listed),
      createdAt: new Date(Number(r.created_at)),
      lastRunAt: num(r.last_run_at),
      lastSuccessAt: num(r.last_success_at),
      ...(r.ttl_ms === null ? {} : { ttlMs: Number(r.ttl_ms) }),
      config: feed
        ? {
            interval: this.#config.interval,
            ...(feed.catalog ? { catalog: feed.catalog } : {}),
            ...(feed.types ? { types: feed.types } : {}),
            ...(feed.timeout !== undefined ? { timeoutMs: feed.timeout } : {}),
            ...(feed.maxBytes !== undefined ? { maxBytes: feed.maxBytes } : {}),
            maxRemovedRatio: feed.maxRemovedRatio ?? this.#config.maxRemovedRatio ?? null,
            maxLines: feed.maxLines ?? this.#config.maxLines ?? null,
          }
        : null,
      lastRun: runs[0] ?? null,
      metrics: metrics.find((m) => m.source === id) ?? null,
      runs,
      metricsHistory: history,
    };
  }

  /**
   * The pairwise overlap matrix of the enabled sources: from the last cycle's stored metrics when
   * every enabled source has some, else counted from the open listings (exact identity).
   */
  overlap(): Promise<OverlapMatrix> {
    return overlapMatrix(this.#db);
  }

  /** The recorded cycles completed at or after `since` (epoch ms), oldest first. */
  timeline(since: number): Promise<TimelinePoint[]> {
    return cycleTimeline(this.#db, since);
  }

  /** Records a completed cycle for the timeline (the cycle job calls this after the weights). */
  recordCycle(cycle: CycleRecord): Promise<void> {
    return recordCycle(this.#db, cycle, this.#clock.now());
  }

  /** The last recorded run of every source, by source id. */
  lastRuns(): Promise<Map<string, SourceRunSummary>> {
    return lastRuns(this.#db);
  }

  async #scoring(): Promise<ScoringContext> {
    return {
      now: this.#clock.now(),
      weights: await latestWeights(this.#db),
      defaultWeight: this.#config.weighting.defaultWeight,
      decay: this.#decay,
      allowlist: this.allowlist,
    };
  }

  /**
   * Generates a blacklist in `format` (plain, hosts, csv, json, rpz, stix, ipset, nftables, misp,
   * or a registered one) and streams it to `sink`.
   * @returns entries read, indicators written and skipped, bytes, and what aggregation did
   * @throws TipError `BL_EXPORT_FORMAT_UNKNOWN` naming an unknown format (listing the known ones);
   *   `BL_SOURCE_UNKNOWN` naming a source of the filter that does not exist; `TIP_INPUT_INVALID`
   *   when the writer refuses the list name (ipset/nftables set names)
   */
  async export(options: ExportOptions, sink: (chunk: string) => void | Promise<void>): Promise<WriteExportResult> {
    const { format, meta, filter, aggregate } = await this.#prepareExport(options);
    return writeExport(format, this.entries(filter), meta, sink, this.writers, { aggregate });
  }

  /**
   * Writes a MISP feed directory (`manifest.json`, `<event uuid>.json`, `hashes.csv`) that a MISP
   * instance can load as a feed of format "MISP Feed" (see `writeMispFeed`). `format` is ignored.
   * @throws TipError as {@link export}
   */
  async exportMispFeed(dir: string, options: Omit<ExportOptions, 'format'>): Promise<MispFeedResult> {
    const { meta, filter, aggregate } = await this.#prepareExport({ ...options, format: 'misp' });
    const writer = this.writers.get('misp')!;
    const mispOptions = (writer as Partial<MispExportWriter>).mispOptions ?? this.#config.export.misp;
    let count = 0;
    const prepared = prepareEntries(writer, this.entries(filter), meta, { aggregate }, () => void count++);
    const result = await writeMispFeed(dir, prepared.input, prepared.meta, mispOptions);
    return { ...result, count, ...(prepared.aggregated ? { aggregated: prepared.aggregated } : {}) };
  }

  /**
   * The same document as {@link export}, as a lazily generated stream (for HTTP downloads), with
   * the writer that produces it (content type, file extension). Checks happen before it returns.
   * @throws TipError as {@link export}
   */
  async exportStream(options: ExportOptions): Promise<{
    /** The writer producing the document (its content type and file extension). */
    writer: ExportWriter;
    /** The document's text, generated as it is iterated. */
    chunks: AsyncIterable<string>;
  }> {
    const { format, meta, filter, aggregate } = await this.#prepareExport(options);
    const writer = this.writers.get(format)!;
    const prepared = prepareEntries(writer, this.entries(filter), meta, { aggregate }, () => {});
    return { writer, chunks: writer.write(prepared.input, prepared.meta) };
  }

  async #prepareExport(options: ExportOptions): Promise<{ format: string; meta: ExportMeta; filter: EntryFilter; aggregate: boolean | undefined }> {
    const writer = this.writers.get(options.format);
    if (!writer) throw unknownFormatError(options.format, this.writers);
    if (options.sources?.length) {
      const known = new Set((await this.sources()).map((s) => s.id));
      const unknown = options.sources.filter((id) => !known.has(id));
      if (unknown.length) {
        throw new TipError(BlacklistErrors.SOURCE_UNKNOWN, `unknown blacklist source(s): ${unknown.map((id) => `"${id}"`).join(', ')}`, {
          details: { path: 'sources', input: unknown, known: [...known] },
        });
      }
    }
    const { format, name, description, aggregate, ...filter } = options;
    // only the filters given (unset options would print as an empty filter list)
    const filters = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
    if (aggregate !== undefined) filters.aggregate = aggregate;
    const meta: ExportMeta = { name: name ?? 'tip-blacklist', generatedAt: new Date(this.#clock.now()), description, filters };
    writer.check?.(meta);
    return { format, meta, filter, aggregate };
  }

  /**
   * Marks feeds that are no longer configured as disabled (their history stays; they drop out of
   * exports and weights). Run at the start of each cycle, not at init, so read-only CLI commands
   * started with another configuration never change stored sources.
   */
  async disableFeedsNotIn(configured: ReadonlySet<string>): Promise<string[]> {
    const stale = (await this.sources()).filter((s) => s.origin === 'feed' && s.enabled && !configured.has(s.id)).map((s) => s.id);
    for (const id of stale) await this.ingester.setEnabled(id, false);
    if (stale.length) this.#log.info({ disabled: stale }, 'feeds no longer configured were disabled');
    return stale;
  }

  /** Every source with its last run times. */
  async sources(): Promise<BlacklistSourceInfo[]> {
    const { rows } = await executeRaw<{ id: string; title: string; category: string; origin: string; enabled: number | boolean; last_run_at: number | string | null; last_success_at: number | string | null; listed: number | string }>(
      this.#db.em(),
      `select s.id, s.title, s.category, s.origin, s.enabled, s.last_run_at, s.last_success_at,
              (select count(*) from bl_listing l where l.source_id = s.id and l.removed_at is null) as listed
       from bl_source s order by s.id`,
    );
    return rows.map((r) => ({
      id: r.id,
      title: r.title,
      category: r.category,
      origin: r.origin,
      enabled: r.enabled === true || r.enabled === 1,
      lastRunAt: r.last_run_at === null ? undefined : Number(r.last_run_at),
      lastSuccessAt: r.last_success_at === null ? undefined : Number(r.last_success_at),
      listed: Number(r.listed),
    }));
  }
}

function canonicalAll(items: Iterable<Indicator | string>): { indicators: Indicator[]; invalid: number } {
  const indicators: Indicator[] = [];
  let invalid = 0;
  for (const item of items) {
    if (typeof item !== 'string') {
      const r = canonicalize(item.value, [item.type]);
      if (r.ok) indicators.push(...r.indicators.filter((i) => i.type === item.type));
      else invalid++;
      continue;
    }
    const r = canonicalize(item);
    if (r.ok) indicators.push(...r.indicators);
    else invalid++;
  }
  return { indicators, invalid };
}

function buildAllowlist(config: BlacklistConfig, baseDir = process.cwd()): Allowlist {
  const a = config.allowlist;
  const list = Allowlist.builtIn({ reserved: a.builtIn, popularDomains: a.popularDomains });
  for (const file of a.files) {
    const path = resolve(baseDir, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new TipError(TipErrorCodes.CONFIG_INVALID, `blacklist.allowlist.files: cannot read ${path}: ${(err as Error).message}`, { details: { path: 'blacklist.allowlist.files', file: path } });
    }
    if (path.endsWith('.json')) list.add(parseMispWarninglist(text));
    else list.add({ name: file, entries: text.split(/\r?\n/) });
  }
  if (a.values.length) list.add({ name: 'config', entries: a.values });
  return list;
}
