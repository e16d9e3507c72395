/**
 * Helpers shared by the built-in parsers: option validation and fast line splitting.
 *
 * @module
 */
import { TipError, TipErrorCodes } from '@tip/core';
import { canonicalize } from '../indicators/canonical.js';
import { INDICATOR_TYPES, type Indicator, type IndicatorType } from '../indicators/types.js';
import { DEFAULT_MAX_LINE_LENGTH, noteInvalid, type ParseStats, type ParserOptions } from './types.js';

/** A `TIP_CONFIG_INVALID` error about one parser option. */
export function optionError(format: string, option: string, message: string, details: Record<string, unknown> = {}): TipError {
  return new TipError(TipErrorCodes.CONFIG_INVALID, `${format} parser: option "${option}" ${message}`, {
    details: { format, option, ...details, issues: [{ path: option, message }] },
  });
}

/** Validated common options. */
export interface CommonOptions {
  /** Allowed indicator types. */
  allow: readonly IndicatorType[];
  /** Maximum line length. */
  maxLineLength: number;
}

/**
 * Validates {@link ParserOptions} at run time (options usually come from YAML/JSON config).
 *
 * @param only - types the format can produce at all; `types` is intersected with it
 * @throws TipError `TIP_CONFIG_INVALID` naming the bad option
 */
export function commonOptions(format: string, options: ParserOptions | undefined, only: readonly IndicatorType[] = INDICATOR_TYPES): CommonOptions {
  const o = options ?? {};
  if (typeof o !== 'object') throw optionError(format, 'options', 'must be an object');
  let allow: readonly IndicatorType[] = only;
  if (o.types !== undefined) {
    if (!Array.isArray(o.types) || o.types.some((t) => !INDICATOR_TYPES.includes(t))) {
      throw optionError(format, 'types', `must be a list of ${INDICATOR_TYPES.join(', ')}`, { value: o.types });
    }
    allow = only.filter((t) => o.types!.includes(t));
    if (allow.length === 0) throw optionError(format, 'types', `selects nothing this format yields (${only.join(', ')})`, { value: o.types });
  }
  const max = o.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  if (!Number.isInteger(max) || max < 1) throw optionError(format, 'maxLineLength', 'must be a positive integer', { value: max });
  return { allow, maxLineLength: max };
}

/**
 * Splits text into lines with `indexOf` (LF or CRLF; a UTF-8 BOM at the start is dropped). A final
 * newline does not start an extra empty line.
 */
export class LineReader {
  readonly #text: string;
  #pos: number;
  /** 1-based number of the line last returned by {@link next}. */
  line = 0;

  constructor(text: string) {
    this.#text = text;
    this.#pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  }

  /** The next line without its terminator, or null at the end. */
  next(): string | null {
    const text = this.#text;
    const pos = this.#pos;
    if (pos >= text.length) return null;
    const nl = text.indexOf('\n', pos);
    let end = nl < 0 ? text.length : nl;
    this.#pos = nl < 0 ? text.length : nl + 1;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    this.line++;
    return text.slice(pos, end);
  }

  /**
   * The next line no longer than `maxLineLength`, counting every line in `stats.lines` and each
   * overlong one as invalid; null at the end.
   */
  nextWithin(stats: ParseStats, maxLineLength: number): string | null {
    for (let line = this.next(); line !== null; line = this.next()) {
      stats.lines++;
      if (line.length <= maxLineLength) return line;
      noteInvalid(stats, this.line, line, `line longer than ${maxLineLength} characters`);
    }
    return null;
  }
}

/**
 * Canonicalises one value of a feed: the indicators on success (counted in `stats.records`), or
 * an empty list with the line noted as invalid.
 */
export function canonicalOrNote(value: string, allow: readonly IndicatorType[], stats: ParseStats, line: number, text: string): readonly Indicator[] {
  const r = canonicalize(value, allow);
  if (!r.ok) {
    noteInvalid(stats, line, text, r.reason);
    return NONE;
  }
  stats.records++;
  return r.indicators;
}

const NONE: readonly Indicator[] = [];

/** True for space, tab and the other ASCII/Latin-1 blanks. */
export function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13 || c === 0xa0 || c === 0xfeff;
}

/** Index of the first non-blank character at or after `from` (or `s.length`). */
export function skipBlanks(s: string, from: number): number {
  let i = from;
  while (i < s.length && isBlank(s.charCodeAt(i))) i++;
  return i;
}

/** Index of the first blank character at or after `from` (or `s.length`). */
export function tokenEnd(s: string, from: number): number {
  let i = from;
  while (i < s.length && !isBlank(s.charCodeAt(i))) i++;
  return i;
}
