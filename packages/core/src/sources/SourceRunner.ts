import type { Token } from '../container/Container.js';
import { redactUrl } from '../util/redact.js';
import type { Database } from '../database/Database.js';
import type { TipEventBus } from '../events/EventBus.js';
import { SourceStateEntity } from '../database/entities.js';
import { TipError, TipErrorCodes, isTipError } from '../errors/TipError.js';
import { HttpClient, type HttpLimits, type ValidatorStore } from '../http/HttpClient.js';
import type { ExtensionPointStore } from '../plugins/ExtensionPoint.js';
import type { JobDefinition, JobResult, JobRun } from '../scheduler/types.js';
import type { SourceDefinition, SourceKind, SourceReport, SourceRun, SourceState } from './types.js';

const VALIDATOR_PREFIX = 'http:';

class StagedState implements SourceState {
  readonly committed: Map<string, unknown>;
  readonly writes = new Map<string, { value: unknown } | null>();
  constructor(committed: Map<string, unknown>) {
    this.committed = committed;
  }
  get<T>(key: string): T | undefined {
    const w = this.writes.get(key);
    if (w !== undefined) return w === null ? undefined : (w.value as T);
    return this.committed.get(key) as T | undefined;
  }
  set(key: string, value: unknown): void {
    this.writes.set(key, { value });
  }
  delete(key: string): void {
    this.writes.set(key, null);
  }
}

/**
 * Runs sources: loads their state, gives `fetch` an HTTP client and state, hands the batches to the
 * ingester of the source's kind, and commits the state only when ingestion succeeded — so an
 * ETag is never remembered for data that was not stored.
 */
export class SourceRunner {
  readonly #sources: ExtensionPointStore<SourceDefinition>;
  readonly #kinds: ExtensionPointStore<SourceKind>;
  readonly #db: () => Database | undefined;
  readonly #http: HttpLimits;
  readonly #get: <T>(token: Token<T>) => T;
  readonly #events: TipEventBus;

  /** @internal built by the app */
  constructor(options: {
    sources: ExtensionPointStore<SourceDefinition>;
    kinds: ExtensionPointStore<SourceKind>;
    db: () => Database | undefined;
    http: HttpLimits;
    get: <T>(token: Token<T>) => T;
    events: TipEventBus;
  }) {
    this.#sources = options.sources;
    this.#kinds = options.kinds;
    this.#db = options.db;
    this.#http = options.http;
    this.#get = options.get;
    this.#events = options.events;
  }

  /** Every registered source, optionally only those of some kinds. */
  list(kinds?: readonly string[]): readonly SourceDefinition[] {
    const all = this.#sources.list();
    return kinds ? all.filter((s) => kinds.includes(s.kind)) : all;
  }

  /** The source with that id. */
  get(id: string): SourceDefinition | undefined {
    return this.#sources.get(id);
  }

  /**
   * A job that runs `source` (id `source/<id>` unless given). Plugins return these as the children
   * of their group job.
   */
  job(source: SourceDefinition, options: { id?: string; trigger?: JobDefinition['trigger'] } = {}): JobDefinition {
    return {
      id: options.id ?? `source/${source.id}`,
      description: source.title ?? `${source.kind} source ${source.id}`,
      trigger: options.trigger,
      timeout: source.timeout,
      retry: source.retry,
      run: (run) => this.run(source, run),
    };
  }

  /**
   * Fetches and ingests one source within a job run.
   * @returns the ingester's counts; `{ notModified: 1 }` when the feed answered 304
   * @throws TipError `TIP_SOURCE_KIND_UNKNOWN` when no plugin ingests the source's kind
   */
  async run(source: SourceDefinition, run: JobRun): Promise<JobResult> {
    const kind = this.#kinds.get(source.kind);
    if (!kind) {
      throw new TipError(TipErrorCodes.SOURCE_KIND_UNKNOWN, `source "${source.id}": no plugin ingests kind "${source.kind}"`, {
        details: { source: source.id, kind: source.kind, known: this.#kinds.list().map((k) => k.kind) },
      });
    }
    const state = new StagedState(await this.#load(source.id));
    const validators: ValidatorStore = {
      get: (url) => state.get(VALIDATOR_PREFIX + url),
      set: (url, v) => state.set(VALIDATOR_PREFIX + url, v),
    };
    const report: SourceReport = {};
    const http = reportingClient(new HttpClient({ ...this.#http, ...source.http, signal: run.signal, validators, log: run.log }), report);
    const db = this.#db;
    const sourceRun: SourceRun = Object.create(run, {
      source: { value: source, enumerable: true },
      http: { value: http, enumerable: true },
      state: { value: state, enumerable: true },
      report: { value: report, enumerable: true },
      get: { value: this.#get },
      em: { value: () => need(db()).em() },
      db: { get: () => need(db()) },
      events: { value: this.#events },
    }) as SourceRun;
    let result: JobResult | void;
    try {
      result = await kind.ingest({ source, run: sourceRun, batches: source.fetch(sourceRun) });
    } catch (err) {
      if (isTipError(err) && typeof err.details.status === 'number' && report.httpStatus === undefined) report.httpStatus = err.details.status;
      if (isTipError(err, TipErrorCodes.HTTP_NOT_MODIFIED)) {
        run.log.debug({ source: source.id }, 'source not modified');
        return { counts: { notModified: 1 } };
      }
      throw err;
    }
    await this.#commit(source.id, state);
    return result ?? {};
  }

  async #load(sourceId: string): Promise<Map<string, unknown>> {
    const db = this.#db();
    const out = new Map<string, unknown>();
    if (!db) return out;
    for (const row of await db.em().find(SourceStateEntity, { sourceId })) out.set(row.key, row.value);
    return out;
  }

  async #commit(sourceId: string, state: StagedState): Promise<void> {
    const db = this.#db();
    if (!db || state.writes.size === 0) return;
    const now = new Date();
    await db.em().transactional(async (em) => {
      for (const [key, w] of state.writes) {
        if (w === null) await em.nativeDelete(SourceStateEntity, { sourceId, key });
        else await em.upsert(SourceStateEntity, { sourceId, key, value: w.value, updatedAt: now });
      }
    });
  }
}

function need(db: Database | undefined): Database {
  if (!db) throw new TipError(TipErrorCodes.APP_STATE, 'the database is not open');
  return db;
}

/**
 * Wraps a client so the run's {@link SourceReport} follows its requests: status, URL and sizes
 * of the last response, without the source doing anything.
 */
function reportingClient(http: HttpClient, report: SourceReport): HttpClient {
  const stream = http.stream.bind(http);
  const request = http.request.bind(http);
  const note = (head: { url: string; status: number; notModified: boolean; wireBytes: number; headers: Record<string, string | string[] | undefined> }) => {
    report.url = redactUrl(head.url);
    report.httpStatus = head.status;
    report.notModified = head.notModified;
    report.bytes = head.wireBytes;
    const type = head.headers['content-type'];
    if (typeof type === 'string') report.contentType = type;
  };
  // A failed request still tells what it saw (status of an error answer, bytes received).
  const noteFailure = (err: unknown) => {
    if (!isTipError(err)) return;
    const d = err.details;
    if (typeof d.url === 'string') report.url = redactUrl(d.url);
    if (typeof d.status === 'number') report.httpStatus = d.status;
    if (typeof d.received === 'number') report.bytes = d.received;
  };
  Object.defineProperties(http, {
    stream: {
      value: async (...args: Parameters<HttpClient['stream']>) => {
        try {
          const res = await stream(...args);
          note(res.response);
          return res;
        } catch (err) {
          noteFailure(err);
          throw err;
        }
      },
    },
    request: {
      value: async (...args: Parameters<HttpClient['request']>) => {
        try {
          const res = await request(...args);
          note(res);
          report.decodedBytes = res.body.length;
          return res;
        } catch (err) {
          noteFailure(err);
          throw err;
        }
      },
    },
  });
  return http;
}
