/**
 * `csv` and `tsv`: delimited feeds (RFC 4180 quoting). One column holds the value, a pair of
 * columns holds an address range (`startColumn`/`endColumn`, e.g. DShield's `block.txt`), or a
 * `template` builds the value from several columns (`{scheme}://{host}{path}`).
 *
 * @module
 */
import type { Indicator } from '../indicators/types.js';
import { CsvReader } from './csv-reader.js';
import { noteInvalid, type FeedParser, type ParserOptions, type ParseStats } from './types.js';
import { canonicalOrNote, commonOptions, optionError } from './util.js';

/** A column chosen by 0-based index or by header name. */
export type ColumnRef = number | string;

/** Options of the `csv`/`tsv` formats. Give one of `column`, `startColumn` and `endColumn`, or `template`. */
export interface CsvOptions extends ParserOptions {
  /** The column holding the value: 0-based index, or a header name (implies `header: true`). */
  column?: ColumnRef;
  /** Column of a range's first address (with {@link endColumn}); each row yields the range's CIDRs. */
  startColumn?: ColumnRef;
  /** Column of a range's last address. */
  endColumn?: ColumnRef;
  /**
   * Builds each value from several columns: `{name}` (a header name, implies `header: true`) or
   * `{index}` (0-based) placeholders between literal text, e.g. `http://{host}{path}` for rows that
   * split a URL into host and path columns, or `{scheme}://{host}:{port}{path}`. Fields are
   * trimmed; a row whose fields are all empty is skipped. The result is canonicalised like any
   * value (a URL also yields its host). Every `{` opens a placeholder.
   */
  template?: string;
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
  /** With a template: the literal text around the columns (one more than `columns`). */
  literals?: string[];
}

/** Splits a template into literals and column references; `TIP_CONFIG_INVALID` naming `template` when malformed. */
function parseTemplate(format: string, template: unknown): { columns: ColumnRef[]; literals: string[] } {
  if (typeof template !== 'string' || template === '') throw optionError(format, 'template', 'must be a non-empty string', { value: template });
  const columns: ColumnRef[] = [];
  const literals: string[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c === '}') throw optionError(format, 'template', `has a "}" without "{" at ${i}`, { value: template });
    if (c !== '{') {
      literal += c;
      i++;
      continue;
    }
    const end = template.indexOf('}', i + 1);
    const ref = end < 0 ? '' : template.slice(i + 1, end).trim();
    if (end < 0 || ref === '' || ref.includes('{')) throw optionError(format, 'template', `has an unterminated or empty placeholder at ${i}`, { value: template });
    literals.push(literal);
    literal = '';
    columns.push(/^\d+$/.test(ref) ? Number(ref) : ref);
    i = end + 1;
  }
  literals.push(literal);
  if (columns.length === 0) throw optionError(format, 'template', 'names no column ({name} or {index})', { value: template });
  return { columns, literals };
}

function plan(format: string, o: CsvOptions | undefined, defaultDelimiter: string): Plan {
  const opts = o ?? {};
  const isRef = (v: unknown): v is ColumnRef => (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && v !== '');
  let columns: ColumnRef[];
  let literals: string[] | undefined;
  if (opts.template !== undefined) {
    if (opts.column !== undefined || opts.startColumn !== undefined || opts.endColumn !== undefined) {
      throw optionError(format, 'template', 'cannot be combined with column/startColumn/endColumn');
    }
    ({ columns, literals } = parseTemplate(format, opts.template));
  } else if (opts.column !== undefined) {
    if (!isRef(opts.column)) throw optionError(format, 'column', 'must be a 0-based index or a header name', { value: opts.column });
    if (opts.startColumn !== undefined || opts.endColumn !== undefined) throw optionError(format, 'column', 'cannot be combined with startColumn/endColumn');
    columns = [opts.column];
  } else if (opts.startColumn !== undefined || opts.endColumn !== undefined) {
    if (!isRef(opts.startColumn)) throw optionError(format, 'startColumn', 'must be a 0-based index or a header name', { value: opts.startColumn });
    if (!isRef(opts.endColumn)) throw optionError(format, 'endColumn', 'must be a 0-based index or a header name', { value: opts.endColumn });
    columns = [opts.startColumn, opts.endColumn];
  } else {
    throw optionError(format, 'column', 'is required (or startColumn and endColumn, or template)');
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
  return { delimiter, header, comment, columns, ...(literals ? { literals } : {}) };
}

function resolveColumns(format: string, columns: ColumnRef[], header: string[] | null, template: boolean): number[] {
  const names = ['column', 'endColumn'];
  if (columns.length === 2) names[0] = 'startColumn';
  if (template) names.length = 0;
  return columns.map((c, i) => {
    if (typeof c === 'number') {
      if (header && c >= header.length) throw optionError(format, names[i] ?? 'template', `index ${c} is beyond the header's ${header.length} columns`, { value: c, header });
      return c;
    }
    const trimmed = (header ?? []).map((h) => h.trim());
    let idx = trimmed.indexOf(c);
    if (idx < 0) idx = trimmed.findIndex((h) => h.toLowerCase() === c.toLowerCase());
    if (idx < 0) throw optionError(format, names[i] ?? 'template', `names column "${c}", which the header does not have`, { value: c, header: trimmed });
    return idx;
  });
}

/**
 * A parse that takes the body in pieces (each ending at a line end, the last with `final`): the
 * header, line numbers and a record cut by a piece boundary carry over to the next piece.
 */
function session(format: string, options: CsvOptions | undefined, p: Plan, stats: ParseStats): (text: string, final: boolean) => Generator<Indicator> {
  const { allow, maxLineLength } = commonOptions(format, options);
  const literals = p.literals;
  let idx: number[] | null = p.header ? null : resolveColumns(format, p.columns, null, literals !== undefined);
  const [a, b] = p.columns.length === 2 ? [0, 1] : [0, -1];
  let rest = ''; // an incomplete record at the end of the previous piece
  let line = 1;
  return function* push(text: string, final: boolean): Generator<Indicator> {
    const all = rest === '' ? text : rest + text;
    const reader = new CsvReader(all, { delimiter: p.delimiter, comment: p.comment, maxLength: maxLineLength, partial: !final, firstLine: line });
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
          idx = resolveColumns(format, p.columns, rec.fields, literals !== undefined);
          stats.skipped++;
          continue;
        }
        if (literals) {
          const value = templateValue(idx, literals, rec.fields);
          if (typeof value === 'number') noteInvalid(stats, rec.line, rec.raw, `missing column ${value}`);
          else if (value === '') stats.skipped++;
          else yield* canonicalOrNote(value, allow, stats, rec.line, rec.raw);
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
      rest = final ? '' : all.slice(reader.position);
      line = reader.nextLine;
    }
  };
}

/** The template's value for one record: '' when every field is empty, the missing column's index when the row is too short. */
function templateValue(idx: number[], literals: string[], fields: string[]): string | number {
  let out = literals[0]!;
  let empty = true;
  for (let i = 0; i < idx.length; i++) {
    const col = idx[i]!;
    if (col >= fields.length) return fields.length === 1 && fields[0]!.trim() === '' ? '' : col;
    const field = fields[col]!.trim();
    if (field !== '') empty = false;
    out += field + literals[i + 1]!;
  }
  return empty ? '' : out;
}

function delimitedParser(format: 'csv' | 'tsv', delimiter: string): FeedParser<CsvOptions> {
  return {
    format,
    parse(text, options, stats) {
      commonOptions(format, options);
      const p = plan(format, options, delimiter);
      return session(format, options, p, stats)(text, true);
    },
    stream(options, stats) {
      commonOptions(format, options);
      return session(format, options, plan(format, options, delimiter), stats);
    },
  };
}

/** The `csv` format (comma-separated by default). */
export const csvParser: FeedParser<CsvOptions> = delimitedParser('csv', ',');
/** The `tsv` format (tab-separated by default). */
export const tsvParser: FeedParser<CsvOptions> = delimitedParser('tsv', '\t');
