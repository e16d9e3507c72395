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
import { decodeFeedBody, decodeFeedBodyAsync, decodeFeedSegments, type DecodeOptions } from './decode.js';
import type { ParserRegistry } from './registry.js';
import { DEFAULT_MAX_LINE_LENGTH, newParseStats, type FeedParser, type ParserOptions, type ParseStats } from './types.js';

/** Default body limit of {@link parseFeed}: 64 MiB, like the core HTTP client. */
export const DEFAULT_MAX_FEED_BYTES = 64 * 1024 * 1024;

/**
 * Default line cap of {@link parseFeed} and of feeds (`maxLines`): 10 million lines, several times
 * the largest public lists, far below what a decompression bomb of repeated lines holds.
 */
export const DEFAULT_MAX_FEED_LINES = 10_000_000;

/** What {@link parseFeed} returns. */
export interface ParseFeedResult {
  /** Unique indicators (by type and value), in first-seen order. */
  indicators: Indicator[];
  /** The same indicators as a per-type set (what ingestion diffs). */
  set: IndicatorSet;
  /** Parser statistics. */
  stats: ParseStats;
}

/** Limits and labels for {@link parseFeed}'s body decoding and parsing. */
export interface FeedDecodeLimits {
  /** Largest (decompressed) body accepted. Default `DEFAULT_MAX_FEED_BYTES`. */
  maxBytes?: number;
  /**
   * Most lines parsed, and most values that yield indicators (a hosts line with several names
   * counts each; a one-line JSON document counts its values). More is refused with
   * `BL_FEED_REJECTED` as soon as the parser gets there, never truncated. Default
   * `DEFAULT_MAX_FEED_LINES`.
   */
  maxLines?: number;
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
 * Duplicates are dropped while the parser runs (memory follows the unique indicators, not the
 * lines: a body of one address repeated millions of times costs one entry).
 *
 * @throws TipError `BL_FEED_FORMAT_UNKNOWN` for an unknown format (listing the known ones);
 *   `TIP_CONFIG_INVALID` for a bad option; `TIP_HTTP_TOO_LARGE` / `TIP_HTTP_TRUNCATED` from decoding;
 *   `BL_FEED_REJECTED` when the body has more than `maxLines` lines
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
  const maxLines = lineCap(limits);
  const text = typeof body === 'string' ? checkedText(body, lim) : decodeFeedBody(body, lim);
  const stats = newParseStats();
  const indicators: Indicator[] = [];
  const set = new IndicatorSet();
  // Each indicator is checked against the set as it comes: a repeated value dies young instead
  // of waiting in a list of every parsed line.
  for (const ind of parser.parse(text, options ?? {}, stats)) {
    if (set.add(ind.type, ind.value)) indicators.push(ind);
    if (stats.lines > maxLines || stats.records > maxLines) throw tooManyLines(lim.name, maxLines, stats);
  }
  if (stats.lines > maxLines || stats.records > maxLines) throw tooManyLines(lim.name, maxLines, stats);
  return { indicators, set, stats };
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
  const maxLines = lineCap(limits);
  const stats = newParseStats();
  const set = new IndicatorSet();
  const consume = async (indicators: Iterable<Indicator>): Promise<void> => {
    for (const ind of indicators) {
      set.add(ind.type, ind.value);
      if (stats.lines > maxLines || stats.records > maxLines) throw tooManyLines(lim.name, maxLines, stats);
      if (y.due()) await y.pause();
    }
    if (stats.lines > maxLines || stats.records > maxLines) throw tooManyLines(lim.name, maxLines, stats);
  };
  const opts = (options ?? {}) as O & ParserOptions;
  if ((parser.lineIndependent || parser.stream) && typeof body !== 'string') {
    // Formats that can take the body in pieces never hold it decoded whole: a segment at a time.
    const push = parser.stream?.(opts, stats);
    const maxLineLength = opts.maxLineLength;
    const segments = decodeFeedSegments(body, { ...lim, maxLineLength: typeof maxLineLength === 'number' && maxLineLength > 0 ? maxLineLength : DEFAULT_MAX_LINE_LENGTH });
    for await (const segment of segments) {
      if (push) {
        await consume(push(segment, false));
      } else {
        const lines = stats.lines;
        const samples = stats.samples.length;
        await consume(parser.parse(segment, opts, stats));
        for (let i = samples; i < stats.samples.length; i++) stats.samples[i]!.line += lines;
      }
      await y.checkpoint();
    }
    if (push) await consume(push('', true));
    return { set, stats };
  }
  const text = typeof body === 'string' ? checkedText(body, lim) : await decodeFeedBodyAsync(body, lim);
  await y.checkpoint();
  await consume(parser.parse(text, opts, stats));
  return { set, stats };
}

/** The validated line cap of `limits`. */
function lineCap(limits: number | FeedDecodeLimits): number {
  const max = typeof limits === 'number' ? undefined : limits.maxLines;
  if (max === undefined) return DEFAULT_MAX_FEED_LINES;
  if (!Number.isInteger(max) || max < 1) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `option "maxLines" must be a positive integer (got ${String(max)})`, {
      details: { option: 'maxLines', value: max, issues: [{ path: 'maxLines', message: 'must be a positive integer' }] },
    });
  }
  return max;
}

/** The `BL_FEED_REJECTED` error of a body over its line cap. */
function tooManyLines(name: string | undefined, maxLines: number, stats: ParseStats): TipError {
  const source = name ?? 'body';
  return new TipError(
    BlacklistErrors.FEED_REJECTED,
    `feed "${source}" has more than ${maxLines} lines (maxLines); run rejected, previous listings kept (raise maxLines to accept)`,
    { details: { source, reason: 'line-cap', maxLines, lines: stats.lines, records: stats.records } },
  );
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
