/**
 * One-call feed parsing: decode the body, run the format's parser, drop duplicate indicators.
 *
 * @module
 */
import { TipError, TipErrorCodes } from '@tip/core';
import { BlacklistErrors } from '../errors.js';
import type { Indicator } from '../indicators/types.js';
import { IndicatorSet } from '../ingest/IndicatorSet.js';
import { decodeFeedBody } from './decode.js';
import type { ParserRegistry } from './registry.js';
import { newParseStats, type ParserOptions, type ParseStats } from './types.js';

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
  const parser = registry.get(format);
  if (!parser) {
    const known = registry.formats();
    throw new TipError(BlacklistErrors.FEED_FORMAT_UNKNOWN, `unknown feed format "${format}" (known: ${known.join(', ')})`, {
      details: { format, known, issues: [{ path: 'format', message: `unknown format "${format}"` }] },
    });
  }
  const lim = typeof limits === 'number' ? { maxBytes: limits } : limits;
  const maxBytes = lim.maxBytes ?? DEFAULT_MAX_FEED_BYTES;
  let text: string;
  if (typeof body === 'string') {
    if (body.length > maxBytes || Buffer.byteLength(body) > maxBytes) {
      throw new TipError(TipErrorCodes.HTTP_TOO_LARGE, `feed ${lim.name ?? 'body'}: text exceeds the ${maxBytes}-byte limit`, {
        details: { source: lim.name ?? 'body', limit: maxBytes },
      });
    }
    text = body;
  } else {
    text = decodeFeedBody(body, { maxBytes, ...(lim.name === undefined ? {} : { name: lim.name }), ...(lim.entry === undefined ? {} : { entry: lim.entry }) });
  }
  const stats = newParseStats();
  const indicators: Indicator[] = [];
  for (const ind of parser.parse(text, options ?? {}, stats)) indicators.push(ind);
  const set = new IndicatorSet();
  return { indicators: dedupe(indicators, set), set, stats };
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
