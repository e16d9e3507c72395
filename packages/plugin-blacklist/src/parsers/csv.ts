/**
 * `csv` and `tsv`: delimited feeds (RFC 4180 quoting). One column holds the value, or a pair of
 * columns holds an address range (`startColumn`/`endColumn`, e.g. DShield's `block.txt`).
 *
 * @module
 */
import type { Indicator } from '../indicators/types.js';
import { CsvReader } from './csv-reader.js';
import { noteInvalid, type FeedParser, type ParserOptions, type ParseStats } from './types.js';
import { canonicalOrNote, commonOptions, optionError } from './util.js';

/** A column chosen by 0-based index or by header name. */
export type ColumnRef = number | string;

/** Options of the `csv`/`tsv` formats. Give either `column`, or `startColumn` and `endColumn`. */
export interface CsvOptions extends ParserOptions {
  /** The column holding the value: 0-based index, or a header name (implies `header: true`). */
  column?: ColumnRef;
  /** Column of a range's first address (with {@link endColumn}); each row yields the range's CIDRs. */
  startColumn?: ColumnRef;
  /** Column of a range's last address. */
  endColumn?: ColumnRef;
  /** Field separator, one character. Default `,` (csv) or a tab (tsv). */
  delimiter?: string;
  /** The first non-comment record is a header. Default: true when a column is given by name. */
  header?: boolean;
  /** Lines starting with this are comments; `''` disables. Default `#`. */
  comment?: string;
}

interface Plan {
  delimiter: string;
  header: boolean;
  comment: string;
  columns: ColumnRef[];
}

function plan(format: string, o: CsvOptions | undefined, defaultDelimiter: string): Plan {
  const opts = o ?? {};
  const isRef = (v: unknown): v is ColumnRef => (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && v !== '');
  let columns: ColumnRef[];
  if (opts.column !== undefined) {
    if (!isRef(opts.column)) throw optionError(format, 'column', 'must be a 0-based index or a header name', { value: opts.column });
    if (opts.startColumn !== undefined || opts.endColumn !== undefined) throw optionError(format, 'column', 'cannot be combined with startColumn/endColumn');
    columns = [opts.column];
  } else if (opts.startColumn !== undefined || opts.endColumn !== undefined) {
    if (!isRef(opts.startColumn)) throw optionError(format, 'startColumn', 'must be a 0-based index or a header name', { value: opts.startColumn });
    if (!isRef(opts.endColumn)) throw optionError(format, 'endColumn', 'must be a 0-based index or a header name', { value: opts.endColumn });
    columns = [opts.startColumn, opts.endColumn];
  } else {
    throw optionError(format, 'column', 'is required (or startColumn and endColumn)');
  }
  const delimiter = opts.delimiter ?? defaultDelimiter;
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw optionError(format, 'delimiter', 'must be one character other than a quote or newline', { value: delimiter });
  }
  const comment = opts.comment ?? '#';
  if (typeof comment !== 'string') throw optionError(format, 'comment', 'must be a string', { value: comment });
  const byName = columns.some((c) => typeof c === 'string');
  const header = opts.header ?? byName;
  if (typeof header !== 'boolean') throw optionError(format, 'header', 'must be a boolean', { value: header });
  if (byName && !header) throw optionError(format, 'header', 'must be true when columns are given by name');
  return { delimiter, header, comment, columns };
}

function resolveColumns(format: string, columns: ColumnRef[], header: string[] | null): number[] {
  const names = ['column', 'endColumn'];
  if (columns.length === 2) names[0] = 'startColumn';
  return columns.map((c, i) => {
    if (typeof c === 'number') {
      if (header && c >= header.length) throw optionError(format, names[i]!, `index ${c} is beyond the header's ${header.length} columns`, { value: c, header });
      return c;
    }
    const trimmed = (header ?? []).map((h) => h.trim());
    let idx = trimmed.indexOf(c);
    if (idx < 0) idx = trimmed.findIndex((h) => h.toLowerCase() === c.toLowerCase());
    if (idx < 0) throw optionError(format, names[i]!, `names column "${c}", which the header does not have`, { value: c, header: trimmed });
    return idx;
  });
}

function* run(format: string, text: string, options: CsvOptions | undefined, p: Plan, stats: ParseStats): Generator<Indicator> {
  const { allow, maxLineLength } = commonOptions(format, options);
  const reader = new CsvReader(text, { delimiter: p.delimiter, comment: p.comment, maxLength: maxLineLength });
  let idx: number[] | null = p.header ? null : resolveColumns(format, p.columns, null);
  const [a, b] = p.columns.length === 2 ? [0, 1] : [0, -1];
  let counted = 0; // lines already added to stats.lines (kept current, for the line cap)
  try {
    for (let rec = reader.next(); rec !== null; rec = reader.next()) {
      stats.lines += reader.linesRead - counted;
      counted = reader.linesRead;
      if (rec.kind === 'blank' || rec.kind === 'comment') {
        stats.skipped++;
        continue;
      }
      if (rec.kind === 'error') {
        noteInvalid(stats, rec.line, rec.raw, rec.error ?? 'unreadable record');
        continue;
      }
      if (idx === null) {
        idx = resolveColumns(format, p.columns, rec.fields);
        stats.skipped++;
        continue;
      }
      const first = idx[a]!;
      const last = b < 0 ? first : idx[b]!;
      if (Math.max(first, last) >= rec.fields.length) {
        if (rec.fields.length === 1 && rec.fields[0]!.trim() === '') stats.skipped++;
        else noteInvalid(stats, rec.line, rec.raw, `missing column ${Math.max(first, last)}`);
        continue;
      }
      const start = rec.fields[first]!.trim();
      const value = b < 0 ? start : `${start}-${rec.fields[last]!.trim()}`;
      if (start === '') {
        stats.skipped++;
        continue;
      }
      yield* canonicalOrNote(value, allow, stats, rec.line, rec.raw);
    }
  } finally {
    stats.lines += reader.linesRead - counted;
  }
}

function delimitedParser(format: 'csv' | 'tsv', delimiter: string): FeedParser<CsvOptions> {
  return {
    format,
    parse(text, options, stats) {
      commonOptions(format, options);
      const p = plan(format, options, delimiter);
      return run(format, text, options, p, stats);
    },
  };
}

/** The `csv` format (comma-separated by default). */
export const csvParser: FeedParser<CsvOptions> = delimitedParser('csv', ',');
/** The `tsv` format (tab-separated by default). */
export const tsvParser: FeedParser<CsvOptions> = delimitedParser('tsv', '\t');
