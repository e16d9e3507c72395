/**
 * Shared types of the feed parsers: statistics, options, and the {@link FeedParser} contract.
 *
 * @module
 */
import type { Indicator, IndicatorType } from '../indicators/types.js';

/** One rejected input line kept as an example in {@link ParseStats.samples}. */
export interface ParseSample {
  /** 1-based line number (for a JSON document: 1-based position of the selected value). */
  line: number;
  /** The offending text, cut to `MAX_SAMPLE_TEXT` characters. */
  text: string;
  /** Why it was rejected. */
  reason: string;
}

/**
 * Counters a parser fills while it runs.
 *
 * - `lines`: physical lines read;
 * - `records`: values that produced at least one indicator (a hosts line with 3 names counts 3);
 * - `invalid`: values (or lines) rejected, e.g. garbage, bad IPs, overlong lines;
 * - `skipped`: blank lines, comments, headers, metadata and deliberately ignored names (`localhost`).
 */
export interface ParseStats {
  /** Physical lines read. */
  lines: number;
  /** Values that produced at least one indicator. */
  records: number;
  /** Values (or lines) rejected. */
  invalid: number;
  /** Blank lines, comments, headers, metadata and deliberately ignored names. */
  skipped: number;
  /** At most `MAX_SAMPLES` examples of invalid input. */
  samples: ParseSample[];
}

/** Most invalid lines kept in {@link ParseStats.samples}. */
export const MAX_SAMPLES = 10;
/** Longest sample text kept. */
export const MAX_SAMPLE_TEXT = 200;
/** Default for {@link ParserOptions.maxLineLength}. */
export const DEFAULT_MAX_LINE_LENGTH = 4096;

/** Fresh, zeroed statistics. */
export function newParseStats(): ParseStats {
  return { lines: 0, records: 0, invalid: 0, skipped: 0, samples: [] };
}

/** Counts one invalid input and keeps it as a sample while fewer than `MAX_SAMPLES` are kept. */
export function noteInvalid(stats: ParseStats, line: number, text: string, reason: string): void {
  stats.invalid++;
  if (stats.samples.length < MAX_SAMPLES) {
    stats.samples.push({ line, text: text.length > MAX_SAMPLE_TEXT ? text.slice(0, MAX_SAMPLE_TEXT) : text, reason });
  }
}

/** Options every parser accepts. */
export interface ParserOptions {
  /** Indicator types to keep (default: all the format can produce). Values of other types count as invalid. */
  types?: IndicatorType[];
  /** Lines (CSV: records) longer than this many characters are invalid. Default `DEFAULT_MAX_LINE_LENGTH`. */
  maxLineLength?: number;
}

/**
 * A feed format. `parse` validates `options` eagerly (throwing `TIP_CONFIG_INVALID` naming the
 * option) and returns a lazy iterable (a generator) of canonical indicators; it fills `stats` as
 * it goes and never throws for bad input lines. Register custom formats with a `ParserRegistry`.
 *
 * @typeParam O - the format's options
 */
export interface FeedParser<O extends ParserOptions = ParserOptions> {
  /** Format name used in feed definitions (`plain`, `hosts`, `csv`, ...). */
  readonly format: string;
  /** Parses a decoded feed body. */
  parse(text: string, options: O, stats: ParseStats): Iterable<Indicator>;
  /**
   * True when every line parses on its own (no header, no record spanning lines) and `parse`
   * counts every physical line in `stats.lines`: feeds of this format are then decoded and parsed
   * in segments of a few MiB, so memory follows the unique indicators rather than the body size.
   * Sample line numbers are corrected for the segment's position. Default false (the whole text
   * is decoded first).
   */
  readonly lineIndependent?: boolean;
  /**
   * A parse that takes the decoded body in pieces, for formats whose lines depend on each other
   * (a header, records spanning lines): returns a function called with each piece in order (each
   * ending at a line end; the last with `final` true) that yields that piece's indicators, keeping
   * its state (header, line numbers, a record cut by a piece boundary) between calls. Feeds of
   * this format are then decoded and parsed in segments like {@link FeedParser.lineIndependent}
   * ones; concatenated, the pieces' results must be `parse`'s. Validates `options` eagerly.
   */
  stream?(options: O, stats: ParseStats): (text: string, final: boolean) => Iterable<Indicator>;
}
