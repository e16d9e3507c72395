import type { EntityManager } from '@mikro-orm/sql';
import type { Token } from '../container/Container.js';
import type { Database } from '../database/Database.js';
import type { TipEventBus } from '../events/EventBus.js';
import type { HttpClient, HttpLimits } from '../http/HttpClient.js';
import type { Duration } from '../util/duration.js';
import type { JobResult, JobRun, RetryPolicy, Trigger } from '../scheduler/types.js';

/**
 * Small persisted key/value state of one source (cursors, versions). Reads see the committed state
 * plus this run's own writes; writes are committed only when the run's ingestion succeeded.
 */
export interface SourceState {
  /** The value stored under `key` (this run's own write if any), or `undefined`. */
  get<T = unknown>(key: string): T | undefined;
  /** Stores a JSON-serialisable `value` under `key` (committed with the run's ingestion). */
  set(key: string, value: unknown): void;
  /** Removes `key` (committed with the run's ingestion). */
  delete(key: string): void;
}

/**
 * What one source run found out about its input, recorded with the run by the owning plugin.
 * Core fills the HTTP fields from the last request made through `run.http`; `fetch` adds what it
 * learns while parsing. Plugins declare their own fields by declaration merging:
 *
 * ```ts
 * declare module '@tip/core' {
 *   interface SourceReport { lines?: number; invalid?: number }
 * }
 * ```
 */
export interface SourceReport {
  /** URL of the last request (secrets redacted). */
  url?: string;
  /** HTTP status of the last response (304 when not modified). */
  httpStatus?: number;
  /** Bytes received on the wire by the last request. */
  bytes?: number;
  /** Bytes after decompression. */
  decodedBytes?: number;
  /** Content type of the last response. */
  contentType?: string;
  /** True when the last request answered 304 Not Modified. */
  notModified?: boolean;
}

/** The handle a source's `fetch` gets: a job run plus an HTTP client, state, a report and the app. */
export interface SourceRun extends JobRun {
  /** The source being fetched. */
  readonly source: SourceDefinition;
  /** HTTP client bound to this run's signal, with the source's limits and conditional-request memory. */
  readonly http: HttpClient;
  /** Persisted per-source state. */
  readonly state: SourceState;
  /** What this run found out (typed slot shared by `fetch` and the ingester); see {@link SourceReport}. */
  readonly report: SourceReport;
  /** Resolves a service from the app's container (another plugin's service, core's tokens). */
  get<T>(token: Token<T>): T;
  /** A fresh EntityManager fork of the app's database. */
  em(): EntityManager;
  /** The app's database. */
  readonly db: Database;
  /** The app's event bus. */
  readonly events: TipEventBus;
}

/**
 * A source of records: the unit users write most. `fetch` yields records in batches; the plugin
 * that owns the source's `kind` ingests them and commits the run atomically.
 */
export interface SourceDefinition<R = unknown> {
  /** Unique id, e.g. `'spamhaus-drop'`. */
  id: string;
  /** Which ingester consumes it, e.g. `'blacklist.ip'`. */
  kind: string;
  /** Human title. */
  title?: string;
  /** Its own schedule: the source then runs as job `source/<id>`. Without one the owning plugin runs it (e.g. in its group job). */
  schedule?: Trigger | readonly Trigger[];
  /** Abort the fetch+ingest after this long. */
  timeout?: Duration;
  /** Retry policy for failed runs. */
  retry?: RetryPolicy;
  /** HTTP limits for this source (override `http.*` of the config). */
  http?: HttpLimits;
  /** Free-form metadata for the owning plugin (URL, format, category, licence…). */
  meta?: Readonly<Record<string, unknown>>;
  /** Yields batches of records. Throw to fail the run; the previous data then stays. */
  fetch(run: SourceRun): AsyncIterable<R[]>;
}

/** What an ingester receives for one run. */
export interface IngestInput<R = unknown> {
  /** The source being ingested. */
  source: SourceDefinition<R>;
  /** The current run: its id, logger, state, HTTP client and report. */
  run: SourceRun;
  /** The fetched batches; iterating it drives the fetch. Errors thrown here must propagate. */
  batches: AsyncIterable<R[]>;
}

/**
 * A source kind: how records of that kind are stored. The owning plugin commits everything of one
 * run in a transaction, or nothing (keeping the previous data) when iteration throws.
 */
export interface SourceKind<R = unknown> {
  /** e.g. `'blacklist.ip'`. */
  kind: string;
  /** Consumes the batches and commits; returns counts (`added`, `removed`…) for the run record. */
  ingest(input: IngestInput<R>): Promise<JobResult | void>;
}

/** Creates a {@link SourceDefinition} (identity helper for typing). */
export const defineSource = <R>(source: SourceDefinition<R>): SourceDefinition<R> => source;

/** Creates a {@link SourceKind} (identity helper for typing). */
export const defineSourceKind = <R>(kind: SourceKind<R>): SourceKind<R> => kind;
