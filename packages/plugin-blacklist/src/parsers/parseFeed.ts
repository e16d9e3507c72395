/**
 * One-call feed parsing: decode the body, run the format's parser, drop duplicate indicators.
 *
 * @module
 */
import { TipError, TipErrorCodes } from '@tip/core';
import { BlacklistErrors } from '../errors.js';
import type { Indicator } from '../indicators/types.js';
import { IndicatorSet } from '../ingest/IndicatorSet.js';
import { Yielder } from '../ingest/Yielder.js';
import { decodeFeedBody, decodeFeedBodyAsync, type DecodeOptions } from './decode.js';
import type { ParserRegistry } from './registry.js';
import { newParseStats, type FeedParser, type ParserOptions, type ParseStats } from './types.js';

/** Default body limit of {@link parseFeed}: 64 MiB, like the core HTTP client. */
export const DEFAULT_MAX_FEED_BYTES = 64 * 1024 * 1024;

/** What {@link parseFeed} returns. */
export interface ParseFeedResult {
  /** Unique indicators (by type and value), in first-seen order. */
  indicators: Indicator[];
  /** The same indicators as a per-type set (what ingestion diffs). */
  set: IndicatorSet;
  /** Parser statistics. */
  stats: ParseStats;
}

/** Limits and labels for {@link parseFeed}'s body decoding. */
export interface FeedDecodeLimits {
  /** Largest (decompressed) body accepted. Default `DEFAULT_MAX_FEED_BYTES`. */
  maxBytes?: number;
  /** Source name for error messages. */
  name?: string;
  /** Zip entry to read. */
  entry?: string;
}

/**
 * Parses a feed body with the registered parser of `format`.
 *
 * @param body - raw bytes (gzip/zip/BOM handled by `decodeFeedBody`) or already-decoded text
 * @param limits - a byte limit, or limits plus a source name and zip entry
 * @throws TipError `BL_FEED_FORMAT_UNKNOWN` for an unknown format (listing the known ones);
 *   `TIP_CONFIG_INVALID` for a bad option; `TIP_HTTP_TOO_LARGE` / `TIP_HTTP_TRUNCATED` from decoding
 */
export function parseFeed<O extends object = ParserOptions>(
  registry: ParserRegistry,
  format: string,
  body: Uint8Array | string,
  options?: O & ParserOptions,
  limits: number | FeedDecodeLimits = DEFAULT_MAX_FEED_BYTES,
): ParseFeedResult {
  const parser = parserOf(registry, format);
  const lim = decodeLimits(limits);
  const text = typeof body === 'string' ? checkedText(body, lim) : decodeFeedBody(body, lim);
  const stats = newParseStats();
  const indicators: Indicator[] = [];
  for (const ind of parser.parse(text, options ?? {}, stats)) indicators.push(ind);
  const set = new IndicatorSet();
  return { indicators: dedupe(indicators, set), set, stats };
}

/** What {@link parseFeedAsync} returns: the unique indicators as a set, and the parser's statistics. */
export type ParseFeedSetResult = Pick<ParseFeedResult, 'set' | 'stats'>;

/**
 * {@link parseFeed} that keeps the event loop turning: gzip is undone on the libuv thread pool and
 * parsing yields every ~15 ms of work (`y`), so a million-line feed does not stall timers, signals
 * and HTTP requests. Returns only the set (no list of indicators: each parsed indicator dies young,
 * which keeps garbage collection pauses short). Same set, statistics and errors as `parseFeed`.
 */
export async function parseFeedAsync<O extends object = ParserOptions>(
  registry: ParserRegistry,
  format: string,
  body: Uint8Array | string,
  options?: O & ParserOptions,
  limits: number | FeedDecodeLimits = DEFAULT_MAX_FEED_BYTES,
  y: Yielder = new Yielder(),
): Promise<ParseFeedSetResult> {
  const parser = parserOf(registry, format);
  const lim = decodeLimits(limits);
  const text = typeof body === 'string' ? checkedText(body, lim) : await decodeFeedBodyAsync(body, lim);
  await y.checkpoint();
  const stats = newParseStats();
  const set = new IndicatorSet();
  for (const ind of parser.parse(text, options ?? {}, stats)) {
    set.add(ind.type, ind.value);
    if (y.due()) await y.pause();
  }
  return { set, stats };
}

/** The registered parser of `format`; `BL_FEED_FORMAT_UNKNOWN` (listing the known ones) otherwise. */
function parserOf(registry: ParserRegistry, format: string): FeedParser {
  const parser = registry.get(format);
  if (parser) return parser;
  const known = registry.formats();
  throw new TipError(BlacklistErrors.FEED_FORMAT_UNKNOWN, `unknown feed format "${format}" (known: ${known.join(', ')})`, {
    details: { format, known, issues: [{ path: 'format', message: `unknown format "${format}"` }] },
  });
}

/** `limits` as decoding options (a number is the byte limit). */
function decodeLimits(limits: number | FeedDecodeLimits): DecodeOptions {
  const lim = typeof limits === 'number' ? { maxBytes: limits } : limits;
  return {
    maxBytes: lim.maxBytes ?? DEFAULT_MAX_FEED_BYTES,
    ...(lim.name === undefined ? {} : { name: lim.name }),
    ...(lim.entry === undefined ? {} : { entry: lim.entry }),
  };
}

/** Already-decoded text, checked against the byte limit. */
function checkedText(body: string, lim: DecodeOptions): string {
  if (body.length > lim.maxBytes || Buffer.byteLength(body) > lim.maxBytes) {
    throw new TipError(TipErrorCodes.HTTP_TOO_LARGE, `feed ${lim.name ?? 'body'}: text exceeds the ${lim.maxBytes}-byte limit`, {
      details: { source: lim.name ?? 'body', limit: lim.maxBytes },
    });
  }
  return body;
}

/**
 * Removes duplicate indicators (same type and value) in place, keeping first occurrences. Done as
 * a second pass over the collected list, which is much cheaper for the garbage collector than
 * growing a set while the parser is still allocating.
 */
function dedupe(list: Indicator[], set: IndicatorSet): Indicator[] {
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const ind = list[i]!;
    if (set.add(ind.type, ind.value)) list[n++] = ind;
  }
  list.length = n;
  return list;
}
