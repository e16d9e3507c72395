import type { ExportEntries, ExportEntry, ExportMeta, ExportTally, ExportWriter } from './types.js';
import { drive, iso, score4 } from './util.js';

/** The CSV header row (without its line break). */
export const CSV_HEADER = 'type,value,score,first_seen,last_seen,sources,categories';

/** Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Neutralises spreadsheet formula injection: a text field that starts with `=`, `+`, `-`, `@`,
 * TAB or CR gets a leading `'`, which spreadsheets show as text and never evaluate. So that the
 * rule can be undone without ambiguity, a field that already starts with `'` gets one more.
 * Readers restore the original by dropping one leading `'` ({@link csvUnguard}).
 */
export function csvGuard(field: string): string {
  return FORMULA_START.test(field) || field.startsWith("'") ? `'${field}` : field;
}

/** Reverses {@link csvGuard}. */
export function csvUnguard(field: string): string {
  return field.startsWith("'") ? field.slice(1) : field;
}

/** Quotes a field per RFC 4180 when it holds a comma, a double quote, CR or LF (quotes doubled). */
export function csvQuote(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

function row(e: ExportEntry): string {
  const text = (s: string) => csvQuote(csvGuard(s));
  return [
    text(e.type),
    text(e.value),
    score4(e.score),
    iso(e.firstSeen, 'firstSeen'),
    iso(e.lastSeen, 'lastSeen'),
    text(e.sources.join(';')),
    text(e.categories.join(';')),
  ].join(',');
}

/**
 * `csv`: RFC 4180 (CRLF line breaks, fields quoted only when needed, quotes doubled) with the
 * header `type,value,score,first_seen,last_seen,sources,categories`. Dates are ISO 8601 UTC,
 * the score has 4 decimals, sources and categories are joined with `;`.
 *
 * Formula injection: every text field goes through {@link csvGuard}. Canonical indicator values
 * never start with `=`, `+`, `-` or `@` (IPs, CIDRs and domains start with a digit, letter or `:`;
 * URLs with their scheme), so in practice only odd source ids are affected; the numeric and
 * date columns are written by this code and never start with those characters except a negative
 * score, which spreadsheets read as a number. Metadata (name, filters) is not written: CSV has no
 * comment syntax. A source id containing `;` cannot be told apart from two ids when read back.
 */
export function csvWriter(): ExportWriter {
  return {
    format: 'csv',
    contentType: 'text/csv; charset=utf-8; header=present',
    fileExtension: 'csv',
    write(entries: ExportEntries, _meta: ExportMeta, tally?: ExportTally): AsyncIterable<string> {
      return drive(entries, `${CSV_HEADER}\r\n`, (e) => (tally?.wrote(), `${row(e)}\r\n`), () => '');
    },
  };
}
