/**
 * The set of known feed formats. Built-ins come from {@link defaultParsers}; other plugins add
 * their own {@link FeedParser}s with {@link ParserRegistry.register}.
 *
 * @module
 */
import { TipError, TipErrorCodes } from '@tip/core';
import { csvParser, tsvParser } from './csv.js';
import { dropParser } from './drop.js';
import { hostsParser } from './hosts.js';
import { jsonParser } from './json.js';
import { plainParser } from './plain.js';
import type { FeedParser, ParserOptions } from './types.js';

/** The built-in parsers: `plain`, `hosts`, `csv`, `tsv`, `drop`, `json`. */
export function defaultParsers(): FeedParser[] {
  return [plainParser, hostsParser, csvParser, tsvParser, dropParser, jsonParser] as FeedParser[];
}

/** Maps format names to parsers. */
export class ParserRegistry {
  readonly #parsers = new Map<string, FeedParser>();

  /** @param parsers - parsers to register right away (e.g. {@link defaultParsers}) */
  constructor(parsers: Iterable<FeedParser> = []) {
    for (const p of parsers) this.register(p);
  }

  /** A registry holding the built-in parsers. */
  static withDefaults(): ParserRegistry {
    return new ParserRegistry(defaultParsers());
  }

  /**
   * Adds a parser.
   *
   * @throws TipError `TIP_DUPLICATE_ID` when its format is already registered;
   *   `TIP_CONFIG_INVALID` when it has no format name or no `parse` function
   */
  register<O extends ParserOptions>(parser: FeedParser<O>): this {
    const format = (parser as { format?: unknown }).format;
    if (typeof format !== 'string' || format.trim() === '' || typeof parser.parse !== 'function') {
      throw new TipError(TipErrorCodes.CONFIG_INVALID, 'a feed parser needs a non-empty "format" and a "parse" function', { details: { format } });
    }
    if (this.#parsers.has(format)) {
      throw new TipError(TipErrorCodes.DUPLICATE_ID, `feed format "${format}" is already registered`, { details: { format } });
    }
    this.#parsers.set(format, parser as FeedParser);
    return this;
  }

  /** The parser of a format, if registered. */
  get(format: string): FeedParser | undefined {
    return this.#parsers.get(format);
  }

  /** True when the format is registered. */
  has(format: string): boolean {
    return this.#parsers.has(format);
  }

  /** Registered format names, sorted. */
  formats(): string[] {
    return [...this.#parsers.keys()].sort();
  }
}
