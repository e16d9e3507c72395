import { randomUUID } from 'node:crypto';
import { executeRaw, describeError, isTipError, TipError, TipErrorCodes, type Database, type Logger } from '@tip/core';
import type { EntityManager, SourceReport } from '@tip/core';
import '../report.js';
import { BlacklistErrors } from '../errors.js';
import type { Indicator } from '../indicators/types.js';
import type { BlacklistListingsChanged } from '../events.js';
import { IndicatorSet } from './IndicatorSet.js';
import { ListingStore } from './ListingStore.js';
import { Yielder } from './Yielder.js';

/**
 * What a source run reports besides its records (the run's `SourceReport`: core's HTTP facts plus
 * the parse statistics this plugin declares in `report.ts`).
 */
export type FetchReport = Pick<SourceReport, 'httpStatus' | 'bytes' | 'lines' | 'invalid' | 'samples' | 'contentHash'>;

/** Planner statistics are refreshed after a run that added at least this many listings. */
export const ANALYZE_AFTER_ROWS = 100_000;

/**
 * Prefix of the PostgreSQL advisory-lock key of a source's ingestion (`hashtext(prefix || id)`),
 * so the lock space of this plugin does not overlap other users of advisory locks by accident.
 */
export const SOURCE_LOCK_PREFIX = 'bl:';

/** A snapshot's base is rewritten once its appended deltas exceed this share of its size. */
export const DELTA_REWRITE_RATIO = 0.25;

/** Most indicators kept in the in-memory snapshot cache across all sources (about 100 bytes each). */
export const SNAPSHOT_CACHE_LIMIT = 5_000_000;

/** The stored description of a source. */
export interface SourceRow {
  id: string;
  title: string;
  url?: string;
  format: string;
  category: string;
  license?: string;
  /** `feed` (fetched by this plugin) or `plugin` (submitted by another plugin). */
  origin: 'feed' | 'plugin';
  enabled: boolean;
}

/** Outcome counts of one ingestion. */
export interface IngestCounts {
  /** Distinct indicators the source lists after this ingestion. */
  records: number;
  /** Listings added (new since the previous run). */
  added: number;
  /** Listings removed (gone since the previous run). */
  removed: number;
  /** Listings present before and after. */
  unchanged: number;
  /** Values rejected while parsing or canonicalising. */
  invalid: number;
}

/** Safety limits of snapshot ingestion. */
export interface IngestPolicy {
  /** Refuse the run when more than this share of lines are invalid (default 0.25). */
  maxInvalidRatio: number;
  /** Accept an empty snapshot that would remove every listing of a non-empty source (default false). */
  allowEmpty: boolean;
  /**
   * Refuse a run that would remove more than this share of a source's listings (a truncated or
   * partial body looks like a mass removal); sources with fewer than {@link SHRINK_GUARD_MIN}
   * listings are exempt. Undefined: no limit.
   */
  maxRemovedRatio?: number;
}

/** Sources listing fewer entries than this are exempt from the shrink guard (small lists churn a lot). */
export const SHRINK_GUARD_MIN = 100;

/** Context of one ingestion. */
export interface IngestContext {
  sourceId: string;
  jobRunId?: string;
  startedAt: number;
  now: number;
  report?: FetchReport;
}

/**
 * Commits snapshots and deltas of sources into listings. A snapshot run is diffed against the
 * source's previous snapshot (stored compressed beside it, so a re-ingest with 1% churn writes
 * only that 1%) and committed in one transaction; any failure keeps the previous listings and is
 * recorded in `bl_source_run`.
 */
export class Ingester {
  readonly #db: Database;
  readonly #store: ListingStore;
  readonly #log: Logger;
  /**
   * The last committed snapshot of recently ingested sources, so the next run diffs in memory
   * instead of reloading it. Valid only while the stored snapshot still has the same version
   * (`updatedAt` + hash); bounded by {@link SNAPSHOT_CACHE_LIMIT} indicators in total.
   */
  readonly #cache = new Map<string, { version: string; set: IndicatorSet }>();

  /**
   * Called after each committed ingestion that added or removed listings, with the counts and up
   * to {@link CHANGE_SAMPLES} values of each (the plugin emits `blacklist.listings.changed`).
   * Errors it throws are logged, never fail the ingestion.
   */
  onListingsChanged: ((change: BlacklistListingsChanged) => unknown) | undefined;

  constructor(db: Database, log: Logger) {
    this.#db = db;
    this.#store = new ListingStore(db.dialect);
    this.#log = log;
  }

  /** The SQL helper (exposed for the exporter and tests). */
  get store(): ListingStore {
    return this.#store;
  }

  /**
   * Replaces the source's current listings by `indicators` (a full snapshot). An `IndicatorSet`
   * passed here is **owned by the ingester** afterwards (kept as the source's cached snapshot and
   * consumed by the next diff): pass a fresh set per run and do not reuse it.
   * @throws TipError `BL_FEED_REJECTED` when the policy refuses the data (nothing changes);
   *   `TIP_HTTP_NOT_MODIFIED` when `ctx.report.contentHash` equals the stored snapshot's (nothing
   *   changes: record the run as unchanged); `BL_SOURCE_UNKNOWN` when the source is not registered
   */
  async snapshot(ctx: IngestContext, indicators: Iterable<Indicator>, policy: IngestPolicy): Promise<IngestCounts> {
    // Every long loop and bulk statement below yields to the event loop between slices: on SQLite
    // each statement is synchronous, and a million-entry run must not stall timers and requests.
    const y = new Yielder();
    const keys = await IndicatorSet.fromAsync(indicators, y);
    const invalid = ctx.report?.invalid ?? 0;
    const total = invalid + keys.size;
    if (total > 0 && invalid / total > policy.maxInvalidRatio) {
      throw new TipError(
        BlacklistErrors.FEED_REJECTED,
        `source "${ctx.sourceId}": ${invalid} of ${ctx.report?.lines ?? total} lines are invalid (more than ${Math.round(policy.maxInvalidRatio * 100)}%); previous listings kept`,
        { details: { source: ctx.sourceId, reason: 'invalid-ratio', invalid, lines: ctx.report?.lines, samples: ctx.report?.samples?.slice(0, 3) } },
      );
    }
    // The feed body's hash, when the fetch gave one: an identical body skips the diff entirely.
    // Without one, a random token: never equal to a stored hash, and a unique snapshot version.
    const sha = ctx.report?.contentHash ?? `random:${randomUUID()}`;
    let change: ListingsChange | undefined;
    const counts = await this.#db.em().transactional(async (em) => {
      await this.#lockSource(em, ctx.sourceId);
      const source = await this.#source(em, ctx.sourceId);
      const snap = await this.#store.snapshot(em, ctx.sourceId);
      if (snap && snap.sha256 === sha) {
        // Same body as the last committed run (a concurrent run got here first, or the fetch did
        // not check): nothing to write; the caller records the run as unchanged.
        throw new TipError(TipErrorCodes.HTTP_NOT_MODIFIED, `source "${ctx.sourceId}": content identical to the last ingested snapshot`, {
          details: { source: ctx.sourceId, sameContent: true },
        });
      }
      const cached = this.#cache.get(ctx.sourceId);
      const previous = snap
        ? cached && cached.version === `${snap.updatedAt}:${snap.sha256}`
          ? cached.set
          : await snap.load(y)
        : await this.#store.openSet(em, ctx.sourceId, y);
      this.#cache.delete(ctx.sourceId);
      if (keys.size === 0 && previous.size > 0 && !policy.allowEmpty) {
        throw new TipError(
          BlacklistErrors.FEED_REJECTED,
          `source "${ctx.sourceId}" returned an empty list but had ${previous.size} entries; previous listings kept (set allowEmpty to accept)`,
          { details: { source: ctx.sourceId, reason: 'empty', previous: previous.size } },
        );
      }
      // `previous` is a throw-away copy (the cache entry was dropped above): diff by consuming it.
      const previousSize = previous.size;
      const { added, removed } = await previous.consumeDiffAsync(keys, y);
      const limit = policy.maxRemovedRatio;
      if (limit !== undefined && previousSize >= SHRINK_GUARD_MIN && removed.size / previousSize > limit) {
        throw new TipError(
          BlacklistErrors.FEED_REJECTED,
          `source "${ctx.sourceId}" would remove ${removed.size} of its ${previousSize} listings (more than ${Math.round(limit * 100)}%: a truncated or partial feed?); previous listings kept (raise maxRemovedRatio to accept)`,
          { details: { source: ctx.sourceId, reason: 'shrink', previous: previousSize, removed: removed.size, maxRemovedRatio: limit } },
        );
      }
      change = describeChange(ctx, added, removed);
      await this.#store.addListings(em, ctx.sourceId, added, ctx.now, y);
      await this.#store.closeListings(em, ctx.sourceId, removed, ctx.now, source.lastSuccessAt ?? ctx.now, y);
      // Small changes are appended to the stored snapshot; a base is rewritten when they add up.
      if (snap && snap.deltaEntries + added.size + removed.size <= Math.max(1000, keys.size * DELTA_REWRITE_RATIO)) {
        await this.#store.appendDelta(em, ctx.sourceId, added, removed, sha, keys.size, ctx.now, y);
      } else {
        await this.#store.saveSnapshot(em, ctx.sourceId, keys, sha, ctx.now, y);
      }
      await this.#touch(em, ctx.sourceId, ctx.now, true);
      if (added.size >= ANALYZE_AFTER_ROWS) await this.#store.analyze(em);
      this.#remember(ctx.sourceId, `${ctx.now}:${sha}`, keys);
      return { records: keys.size, added: added.size, removed: removed.size, unchanged: keys.size - added.size, invalid };
    });
    await this.#afterCommit(change, y);
    return counts;
  }

  /**
   * Adds and removes single indicators of a source (other plugins' submissions). Each listing of a
   * delta keeps its own last-seen: adding an indicator (listed already or not) sets it to `now`;
   * removing one not listed is a no-op.
   */
  async delta(ctx: IngestContext, add: Iterable<Indicator>, remove: Iterable<Indicator> = []): Promise<IngestCounts> {
    const y = new Yielder();
    const addSet = await IndicatorSet.fromAsync(add, y);
    const removeSet = await IndicatorSet.fromAsync(remove, y);
    let change: ListingsChange | undefined;
    const counts = await this.#db.em().transactional(async (em) => {
      await this.#lockSource(em, ctx.sourceId);
      const source = await this.#source(em, ctx.sourceId);
      const open = await this.#store.openSet(em, ctx.sourceId, y);
      const added = addSet.minus(open);
      const removed = removeSet.minus(removeSet.minus(open));
      change = describeChange(ctx, added, removed);
      await this.#store.addListings(em, ctx.sourceId, added, ctx.now, y, ctx.now);
      // those listed already are confirmed again (the new ones got their last-seen when added)
      await this.#store.touchListings(em, ctx.sourceId, added.size === 0 ? addSet : addSet.minus(added), ctx.now, y);
      await this.#store.closeListings(em, ctx.sourceId, removed, ctx.now, source.lastSuccessAt ?? ctx.now, y);
      // A delta makes the stored snapshot stale: drop it, the next snapshot run reads open listings.
      await this.#store.dropSnapshot(em, ctx.sourceId);
      await this.#touch(em, ctx.sourceId, ctx.now, true);
      return { records: addSet.size, added: added.size, removed: removed.size, unchanged: addSet.size - added.size, invalid: 0 };
    });
    await this.#afterCommit(change, y);
    return counts;
  }

  /**
   * After a committed ingestion: fills the address keys of new indicators (best effort,
   * outside the ingest transaction: a search fills whatever is left) and tells
   * {@link onListingsChanged} about a change.
   */
  async #afterCommit(change: ListingsChange | undefined, y: Yielder): Promise<void> {
    if (!change || (change.added === 0 && change.removed === 0)) return;
    if (change.added > 0) {
      try {
        await this.#store.fillAddressKeys(this.#db.em(), y);
      } catch (err) {
        this.#log.warn({ err, source: change.source }, 'filling address keys failed; the next ingestion or search retries');
      }
    }
    if (!this.onListingsChanged) return;
    try {
      await this.onListingsChanged(change);
    } catch (err) {
      this.#log.error({ err, source: change.source }, 'the listings-changed listener failed');
    }
  }

  /**
   * Closes the open listings of a source not seen for `ttlMs` (a submitted source's `ttl`), in one
   * transaction serialised with its other ingestions. Returns how many were closed.
   * @throws TipError `BL_SOURCE_UNKNOWN` when the source is not registered
   */
  async expire(sourceId: string, now: number, ttlMs: number): Promise<number> {
    const y = new Yielder();
    return this.#db.em().transactional(async (em) => {
      await this.#lockSource(em, sourceId);
      const source = await this.#source(em, sourceId);
      const closed = await this.#store.expireListings(em, sourceId, now - ttlMs, source.lastSuccessAt, now, y);
      // like a delta, closing listings makes a stored snapshot stale
      if (closed > 0) await this.#store.dropSnapshot(em, sourceId);
      return closed;
    });
  }

  #remember(sourceId: string, version: string, set: IndicatorSet): void {
    // Cached after the transaction's statements succeeded; if the commit itself fails, the stored
    // version differs from this one and the entry is ignored.
    this.#cache.set(sourceId, { version, set });
    let total = 0;
    for (const v of this.#cache.values()) total += v.set.size;
    for (const [id, v] of this.#cache) {
      if (total <= SNAPSHOT_CACHE_LIMIT) break;
      if (id === sourceId) continue;
      this.#cache.delete(id);
      total -= v.set.size;
    }
    if (total > SNAPSHOT_CACHE_LIMIT) this.#cache.delete(sourceId);
  }

  /** Creates or updates the row of a source (its metadata; listings are untouched). */
  async upsertSource(source: SourceRow, now: number): Promise<void> {
    const p = (n: number) => this.#ph(n);
    const values = [source.id, source.title, source.url ?? null, source.format, source.category, source.license ?? null, source.origin, this.#db.dialect === 'sqlite' ? (source.enabled ? 1 : 0) : source.enabled, now];
    await executeRaw(
      this.#db.em(),
      `insert into bl_source (id, title, url, format, category, license, origin, enabled, created_at)
       values (${values.map((_, i) => p(i + 1)).join(', ')})
       on conflict (id) do update set title = excluded.title, url = excluded.url, format = excluded.format,
         category = excluded.category, license = excluded.license, origin = excluded.origin, enabled = excluded.enabled`,
      values,
    );
  }

  /** Enables or disables a source, leaving its metadata and history as they are. */
  async setEnabled(id: string, enabled: boolean): Promise<void> {
    const value = this.#db.dialect === 'sqlite' ? (enabled ? 1 : 0) : enabled;
    await executeRaw(this.#db.em(), `update bl_source set enabled = ${this.#ph(1)} where id = ${this.#ph(2)}`, [value, id]);
  }

  /** The content hash of the source's stored snapshot (undefined without one): what an identical feed body hashes to. */
  async contentHash(sourceId: string): Promise<string | undefined> {
    return (await this.#store.snapshot(this.#db.em(), sourceId))?.sha256;
  }

  /** Records a source run (success, unchanged, failure) in its own transaction. */
  async recordRun(
    ctx: IngestContext,
    status: 'succeeded' | 'unchanged' | 'failed' | 'rejected',
    counts: Partial<IngestCounts>,
    error?: unknown,
  ): Promise<void> {
    const em = this.#db.em();
    const ended = ctx.now;
    try {
      if (status === 'unchanged') await this.#touch(em, ctx.sourceId, ctx.now, true);
      else if (status !== 'succeeded') await this.#touch(em, ctx.sourceId, ctx.now, false);
      const cols = 'source_id, job_run_id, status, started_at, ended_at, duration_ms, http_status, bytes, records, added, removed, unchanged, invalid, invalid_samples, error';
      const values = [
        ctx.sourceId,
        ctx.jobRunId ?? null,
        status,
        ctx.startedAt,
        ended,
        Math.max(0, ended - ctx.startedAt),
        ctx.report?.httpStatus ?? null,
        ctx.report?.bytes ?? 0,
        counts.records ?? 0,
        counts.added ?? 0,
        counts.removed ?? 0,
        counts.unchanged ?? 0,
        counts.invalid ?? ctx.report?.invalid ?? 0,
        ctx.report?.samples?.length ? JSON.stringify(ctx.report.samples.slice(0, 10)) : null,
        error === undefined ? null : describeError(error).slice(0, 4000),
      ];
      await executeRaw(em, `insert into bl_source_run (${cols}) values (${values.map((_, i) => this.#ph(i + 1)).join(', ')})`, values);
    } catch (err) {
      this.#log.error({ err, source: ctx.sourceId }, 'recording the source run failed');
    }
  }

  /** True when `err` means "the feed did not change" rather than a failure. */
  static isNotModified(err: unknown): boolean {
    return isTipError(err, TipErrorCodes.HTTP_NOT_MODIFIED);
  }

  /**
   * Serialises ingestions of one source. On PostgreSQL a transaction-scoped advisory lock keyed by
   * the source id: a concurrent run of the same source (another app or process on the database)
   * waits here until the first commits, and then — every statement of a READ COMMITTED transaction
   * reads the latest committed data — diffs against what the first run stored. Must be the first
   * statement of the ingest transaction. On SQLite nothing to do: transactions start with
   * `BEGIN IMMEDIATE`, which already holds the database's single write lock.
   */
  async #lockSource(em: EntityManager, sourceId: string): Promise<void> {
    if (this.#db.dialect !== 'postgresql') return;
    await executeRaw(em, `select pg_advisory_xact_lock(hashtext($1))::text as locked`, [`${SOURCE_LOCK_PREFIX}${sourceId}`]);
  }

  async #source(em: EntityManager, id: string): Promise<{ lastSuccessAt: number | null }> {
    const { rows } = await executeRaw<{ last_success_at: number | string | null }>(em, `select last_success_at from bl_source where id = ${this.#ph(1)}`, [id]);
    if (!rows[0]) {
      throw new TipError(BlacklistErrors.SOURCE_UNKNOWN, `blacklist source "${id}" is not registered`, { details: { source: id } });
    }
    const v = rows[0].last_success_at;
    return { lastSuccessAt: v === null ? null : Number(v) };
  }

  async #touch(em: EntityManager, id: string, now: number, success: boolean): Promise<void> {
    const sql = success
      ? `update bl_source set last_run_at = ${this.#ph(1)}, last_success_at = ${this.#ph(2)} where id = ${this.#ph(3)}`
      : `update bl_source set last_run_at = ${this.#ph(1)} where id = ${this.#ph(2)}`;
    await executeRaw(em, sql, success ? [now, now, id] : [now, id]);
  }

  #ph(n: number): string {
    return this.#db.dialect === 'sqlite' ? '?' : `$${n}`;
  }
}

/** Values of each kind (added, removed) a listings-changed notification carries at most. */
export const CHANGE_SAMPLES = 20;

/** A change as the ingester notes it before committing. */
type ListingsChange = BlacklistListingsChanged;

function describeChange(ctx: IngestContext, added: IndicatorSet, removed: IndicatorSet): ListingsChange {
  const sample = (set: IndicatorSet) => {
    const out: string[] = [];
    for (const i of set) {
      if (out.length >= CHANGE_SAMPLES) break;
      out.push(i.value);
    }
    return out;
  };
  return {
    source: ctx.sourceId,
    ...(ctx.jobRunId ? { runId: ctx.jobRunId } : {}),
    added: added.size,
    removed: removed.size,
    sampleAdded: sample(added),
    sampleRemoved: sample(removed),
  };
}
