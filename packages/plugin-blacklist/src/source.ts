/**
 * `blacklistSource()`: a typed way for third-party plugins to declare a source of the `blacklist`
 * kind, and the checks shared with `BlacklistService.registerSource`.
 *
 * @module
 */
import { defineSource, isTipError, TipError, TipErrorCodes, type Duration, type HttpLimits, type RetryPolicy, type SourceDefinition, type SourceRun, type TipErrorCode, type Trigger } from '@tip/core';
import { BlacklistErrors } from './errors.js';
import { BLACKLIST_KIND, feedSource } from './feeds/feedSource.js';
import type { IndicatorType, SourceCategory } from './indicators/types.js';
import type { BlacklistRecord } from './kind.js';
import { DEFAULT_MAX_FEED_BYTES } from './parsers/parseFeed.js';
import { defaultParsers, ParserRegistry } from './parsers/registry.js';
import { newParseStats, type FeedParser, type ParserOptions } from './parsers/types.js';

/** Every {@link SourceCategory}, in a stable order. */
export const SOURCE_CATEGORIES: readonly SourceCategory[] = Object.freeze([
  'spam', 'malware', 'phishing', 'c2', 'scanner', 'bruteforce', 'botnet', 'compromised', 'reputation', 'abuse', 'other',
] as const);

/**
 * What the blacklist plugin knows about a source besides its id and title: the `meta` of a source
 * declared with {@link blacklistSource} (shown by `tip blacklist sources`, in exports and weights).
 */
export interface BlacklistSourceMeta {
  /** What kind of threat the source lists. */
  category: SourceCategory;
  /** License or terms of use of the data (at most 1000 characters). */
  license?: string;
  /** Where the data comes from, an `http://` or `https://` URL (credentials in it are redacted where it is shown). */
  url?: string;
  /** Name of the data's format shown in listings (letters, digits, `.`, `_`, `-`; default `custom`). */
  format?: string;
  /** This source's shrink guard, overriding `blacklist.maxRemovedRatio` (0 to 1). */
  maxRemovedRatio?: number;
}

/** What every {@link blacklistSource} declaration has. */
export interface BlacklistSourceBase extends BlacklistSourceMeta {
  /** Unique source id (letters, digits, `.`, `_`, `-`; max 100, starting with a letter or digit). */
  id: string;
  /** Human title shown in listings and exports (default: the id; at most 500 characters). */
  title?: string;
  /** Its own schedule; without one (the usual case) the `blacklist` cycle runs it as child `blacklist/<id>`. */
  schedule?: Trigger | readonly Trigger[];
  /** Abort the fetch and ingestion after this long (default `10m`). */
  timeout?: Duration;
  /** Retry policy of failed runs. */
  retry?: RetryPolicy;
  /** HTTP limits of the source's requests (override `http.*` of the core configuration). */
  http?: HttpLimits;
}

/** A source whose records come from its own `fetch`. */
export interface BlacklistFetchSource extends BlacklistSourceBase {
  /**
   * Yields batches of records: {@link BlacklistRecord}s (indicators, raw strings — invalid ones are
   * counted — or `IndicatorSet`s). All batches of a run form one snapshot: indicators not yielded
   * are removed. Throw to fail the run (the previous listings stay); throw a TipError
   * `TIP_SOURCE_REJECTED` to record it as rejected.
   */
  fetch(run: SourceRun): AsyncIterable<BlacklistRecord[]>;
}

/** A source fetched from `url` and parsed with a feed format (like a configured feed). */
export interface BlacklistFeedSource extends BlacklistSourceBase {
  /** Download URL (`http://` or `https://`). */
  url: string;
  /** Parser format: a built-in one (`plain`, `hosts`, `csv`, `tsv`, `drop`, `json`) or one of `parsers`. */
  format: string;
  /** Options of the format's parser (e.g. `CsvOptions`), checked when the source is declared. */
  options?: ParserOptions & Readonly<Record<string, unknown>>;
  /** Indicator types the feed yields, passed to the parser. */
  types?: readonly IndicatorType[];
  /** Parsers of your own formats, available to this source only. */
  parsers?: readonly FeedParser[];
  /** Largest body in bytes, downloaded and decompressed (default 64 MiB). */
  maxBytes?: number;
  /** Not allowed here: a feed source is fetched by the plugin. */
  fetch?: never;
}

/** The options of {@link blacklistSource}: a custom `fetch`, or a `url` and `format`. */
export type BlacklistSourceOptions = BlacklistFetchSource | BlacklistFeedSource;

const ID = /^[a-z0-9][a-z0-9._-]{0,99}$/i;
const FORMAT = /^[a-z0-9][a-z0-9._-]{0,49}$/i;

/**
 * Declares a source of the `blacklist` kind with typed, checked options. Add the result with
 * `ctx.sources.add(...)` in your plugin's `register`; the blacklist plugin then runs it in its
 * cycle, diff-ingests each run as a snapshot, weights it and includes it in exports.
 *
 * @example
 * ```ts
 * import { definePlugin } from '@tip/core';
 * import { blacklistSource } from '@tip/plugin-blacklist';
 *
 * export default definePlugin({
 *   name: '@acme/tip-source', version: '1.0.0', core: '^0.2.0', dependsOn: ['@tip/plugin-blacklist'],
 *   register(ctx) {
 *     // a custom fetch: yield indicators, raw strings or IndicatorSets
 *     ctx.sources.add(blacklistSource({
 *       id: 'acme-bad-ips', title: 'ACME bad IPs', category: 'scanner', license: 'ACME terms',
 *       async *fetch(run) {
 *         const doc = await run.http.json<{ data: string[] }>('https://api.acme.example/v1/bad-ips');
 *         yield doc.data;
 *       },
 *     }));
 *     // or a URL parsed with a feed format
 *     ctx.sources.add(blacklistSource({ id: 'acme-hosts', category: 'malware', url: 'https://acme.example/hosts.txt', format: 'hosts' }));
 *   },
 * });
 * ```
 * @throws TipError `TIP_CONFIG_INVALID` naming the option (`details.option`) for a bad id, title,
 *   category, license, url, format, maxRemovedRatio, maxBytes or parser option (`options.<name>`),
 *   or neither `fetch` nor `url` + `format`;
 *   `BL_FEED_FORMAT_UNKNOWN` for a format neither built in nor among `parsers`
 */
export function blacklistSource(options: BlacklistSourceOptions): SourceDefinition<BlacklistRecord> {
  const o = (typeof options === 'object' && options !== null ? options : {}) as Partial<BlacklistFetchSource & Omit<BlacklistFeedSource, 'fetch'>>;
  const code = TipErrorCodes.CONFIG_INVALID;
  const id = checkSourceId(o.id, code, 'blacklistSource');
  const what = `blacklistSource "${id}"`;
  const title = o.title === undefined ? id : checkText(o.title, 500, code, what, 'title');
  const category = checkCategory(o.category, code, what);
  const license = o.license === undefined ? undefined : checkText(o.license, 1000, code, what, 'license');
  const url = o.url === undefined ? undefined : checkUrl(o.url, code, what);
  if (o.format !== undefined && (typeof o.format !== 'string' || !FORMAT.test(o.format))) {
    throw invalid(code, what, 'format', o.format, 'letters, digits, ".", "_" or "-" (max 50)');
  }
  const ratio = o.maxRemovedRatio;
  if (ratio !== undefined && (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1))) throw invalid(code, what, 'maxRemovedRatio', ratio, 'a number from 0 to 1');
  const common = { schedule: o.schedule, retry: o.retry };
  if (typeof o.fetch === 'function') {
    const fetch = o.fetch;
    return defineSource<BlacklistRecord>({
      id,
      kind: BLACKLIST_KIND,
      title,
      timeout: o.timeout ?? '10m',
      ...defined({ ...common, http: o.http }),
      meta: defined({ category, license, url, format: o.format ?? 'custom', maxRemovedRatio: ratio }),
      fetch: (run) => fetch(run),
    });
  }
  if (o.fetch !== undefined) throw invalid(code, what, 'fetch', typeof o.fetch, 'a function');
  if (url === undefined || o.format === undefined) {
    throw invalid(code, what, url === undefined ? 'url' : 'format', undefined, 'either a fetch function, or a url and a format');
  }
  const maxBytes = o.maxBytes;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) throw invalid(code, what, 'maxBytes', maxBytes, 'a positive integer');
  const registry = new ParserRegistry(defaultParsers());
  for (const p of o.parsers ?? []) if (!registry.has(p.format)) registry.register(p);
  if (!registry.has(o.format)) {
    throw new TipError(BlacklistErrors.FEED_FORMAT_UNKNOWN, `${what}: unknown format "${o.format}" (known: ${registry.formats().join(', ')})`, {
      details: { option: 'format', input: o.format, known: registry.formats() },
    });
  }
  // parsers check their options eagerly, before parsing anything: a bad option fails here
  const parseOptions = { ...(o.options ?? {}), ...(o.types ? { types: [...o.types] } : {}) } as ParserOptions;
  try {
    registry.get(o.format)!.parse('', parseOptions, newParseStats());
  } catch (err) {
    if (!isTipError(err)) throw err;
    const option = typeof err.details.option === 'string' ? err.details.option : undefined;
    throw new TipError(code, `${what}: ${err.message}`, { details: { ...err.details, option: option === 'types' && o.types ? 'types' : `options${option ? `.${option}` : ''}` } });
  }
  const feed = feedSource(
    { id, title, url, format: o.format, category, enabled: true, ...defined({ license, options: o.options as Record<string, unknown> | undefined, types: o.types ? [...o.types] : undefined, maxBytes, maxRemovedRatio: ratio }) },
    { registry, defaultMaxBytes: DEFAULT_MAX_FEED_BYTES },
  );
  return {
    ...feed,
    ...defined(common),
    timeout: o.timeout ?? feed.timeout,
    // the source's HTTP limits, with maxBytes (when given) also bounding the download
    ...(o.http || maxBytes !== undefined ? { http: { ...o.http, ...(maxBytes === undefined ? {} : { maxBytes }) } } : {}),
  };
}

/** `value` as a source id. @throws TipError `code` naming `what` and the id */
export function checkSourceId(value: unknown, code: TipErrorCode, what: string): string {
  if (typeof value !== 'string' || !ID.test(value)) throw invalid(code, what, 'id', value, 'letters, digits, ".", "_" or "-" (max 100), starting with a letter or digit');
  return value;
}

/** `value` as a source category. @throws TipError `code` naming `what` and the category */
export function checkCategory(value: unknown, code: TipErrorCode, what: string): SourceCategory {
  if (typeof value !== 'string' || !(SOURCE_CATEGORIES as readonly string[]).includes(value)) {
    throw invalid(code, what, 'category', value, `one of ${SOURCE_CATEGORIES.join(', ')}`);
  }
  return value as SourceCategory;
}

/** `value` as a non-empty text of at most `max` characters. @throws TipError `code` naming `what` and `option` */
export function checkText(value: unknown, max: number, code: TipErrorCode, what: string, option: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) throw invalid(code, what, option, value, `a non-empty text of at most ${max} characters`);
  return value;
}

function checkUrl(value: unknown, code: TipErrorCode, what: string): string {
  let ok = false;
  try {
    ok = typeof value === 'string' && value.length <= 8192 && /^https?:$/.test(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw invalid(code, what, 'url', typeof value === 'string' ? value.slice(0, 200) : value, 'an http:// or https:// URL');
  return value as string;
}

function invalid(code: TipErrorCode, what: string, option: string, input: unknown, expected: string): TipError {
  const shown = typeof input === 'string' ? JSON.stringify(input.slice(0, 200)) : String(input);
  return new TipError(code, `${what}: ${option} ${input === undefined ? 'is missing' : `${shown} is invalid`}; expected ${expected}`, {
    details: { option, input: typeof input === 'string' ? input.slice(0, 200) : input, expected },
  });
}

/** `o` without its undefined properties (exactOptionalPropertyTypes-friendly spreading). */
function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
