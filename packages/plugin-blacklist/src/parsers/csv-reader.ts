/**
 * A streaming-style RFC 4180 record reader over a string: quoted fields with `""` escapes and
 * embedded newlines, LF or CRLF record ends, optional comment lines. Linear time, no regex.
 *
 * @module
 */

/** One record read by {@link CsvReader}. */
export interface CsvRecord {
  /** Field values (quotes removed). Empty for blank and comment lines. */
  fields: string[];
  /** 1-based line number where the record starts. */
  line: number;
  /** Raw text of the record (for samples). */
  raw: string;
  /** `blank`, `comment`, `record`, or `error` (then {@link error} says why). */
  kind: 'blank' | 'comment' | 'record' | 'error';
  /** Why the record could not be read. */
  error?: string;
}

/** Reader settings. */
export interface CsvReaderOptions {
  /** Field separator (one character). */
  delimiter: string;
  /** Lines starting with this text are comments; `''` disables comments. */
  comment: string;
  /** Records longer than this are errors (the reader resynchronises at the next line). */
  maxLength: number;
  /**
   * The text is a piece of a longer body: a record (or a skipped line) that reaches the end of the
   * text without its line end is not returned; {@link CsvReader.next} returns null there and
   * {@link CsvReader.position} tells where the unread rest starts (feed it again with more text).
   */
  partial?: boolean;
  /** Line number of the text's first line (default 1), for a piece of a longer body. */
  firstLine?: number;
}

/** Reads CSV/TSV records one at a time. */
export class CsvReader {
  readonly #text: string;
  readonly #delim: number;
  readonly #opts: CsvReaderOptions;
  #pos: number;
  #line: number;
  readonly #partial: boolean;
  /** Cache of the last quote search: no `"` in [#qFrom, #qAt) and one at #qAt (-1: none after #qFrom). */
  #qFrom = Infinity;
  #qAt = -1;

  constructor(text: string, options: CsvReaderOptions) {
    this.#text = text;
    this.#opts = options;
    this.#delim = options.delimiter.charCodeAt(0);
    this.#pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    this.#line = options.firstLine ?? 1;
    this.#partial = options.partial ?? false;
  }

  /** Number of lines consumed so far (since `firstLine`). */
  get linesRead(): number {
    return this.#line - (this.#opts.firstLine ?? 1);
  }

  /** Offset of the first character not consumed (in partial mode: where the incomplete rest starts). */
  get position(): number {
    return this.#pos;
  }

  /** Line number of the next record. */
  get nextLine(): number {
    return this.#line;
  }

  /** The next record, or null at the end of the text (partial mode: also before an incomplete record). */
  next(): CsvRecord | null {
    const start = this.#pos;
    const line = this.#line;
    const rec = this.#next();
    if (rec && this.#partial && this.#incomplete) {
      this.#pos = start;
      this.#line = line;
      return null;
    }
    return rec;
  }

  /** Set by #next when, in partial mode, the record read needs text beyond the end. */
  #incomplete = false;

  #next(): CsvRecord | null {
    const text = this.#text;
    const start = this.#pos;
    this.#incomplete = false;
    if (start >= text.length) return null;
    const line = this.#line;
    const c = text.charCodeAt(start);
    if (c === 13 && start + 1 >= text.length) this.#incomplete = true;
    if (c === 10 || (c === 13 && text.charCodeAt(start + 1) === 10)) {
      this.#pos = start + (c === 10 ? 1 : 2);
      this.#line++;
      return { fields: [], line, raw: '', kind: 'blank' };
    }
    if (this.#opts.comment !== '' && start + this.#opts.comment.length > text.length) this.#incomplete = true; // a comment mark cut in two?
    if (this.#opts.comment !== '' && text.startsWith(this.#opts.comment, start)) {
      const raw = this.#skipLine(start);
      return { fields: [], line, raw, kind: 'comment' };
    }
    const fields: string[] = [];
    const max = this.#opts.maxLength;
    let pos = start;
    let newlines = 0;
    for (;;) {
      let value: string;
      if (text.charCodeAt(pos) === 0x22 /* " */) {
        value = '';
        let p = pos + 1;
        for (;;) {
          const q = this.#quote(p);
          if (q < 0 && this.#partial && text.length - start <= max) {
            this.#incomplete = true; // the closing quote may be in the next piece
            return { fields: [], line, raw: '', kind: 'error' };
          }
          if (q < 0 || q - start > max) {
            const raw = this.#skipLine(start);
            // a piece without the closing quote, past the limit anyway: reported as the whole body mostly would
            const unterminated = q < 0 && !this.#partial;
            return { fields: [], line, raw, kind: 'error', error: unterminated ? 'unterminated quoted field' : `record longer than ${max} characters` };
          }
          const chunk = text.slice(p, q);
          for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) newlines++;
          value += chunk;
          if (q + 1 >= text.length) this.#incomplete = true; // is it a "" escape?
          if (text.charCodeAt(q + 1) === 0x22) {
            value += '"';
            p = q + 2;
          } else {
            p = q + 1;
            break;
          }
        }
        // tolerate junk between the closing quote and the delimiter (not RFC 4180, but common)
        pos = p;
        const e = this.#fieldEnd(pos);
        if (e > pos) value += text.slice(pos, e).replace(/\r$/, '');
        pos = e;
      } else {
        const e = this.#fieldEnd(pos);
        value = text.slice(pos, e);
        if (value.charCodeAt(value.length - 1) === 13 && (e >= text.length || text.charCodeAt(e) === 10)) value = value.slice(0, -1);
        pos = e;
      }
      fields.push(value);
      if (pos - start > max) {
        const raw = this.#skipLine(start);
        return { fields: [], line, raw, kind: 'error', error: `record longer than ${max} characters` };
      }
      if (pos >= text.length) {
        this.#incomplete = true; // no line end yet
        break;
      }
      if (text.charCodeAt(pos) === this.#delim) {
        pos++;
        if (pos >= text.length) {
          this.#incomplete = true;
          fields.push('');
          break;
        }
        continue;
      }
      pos++; // the newline
      newlines++;
      break;
    }
    this.#pos = pos;
    this.#line += pos >= text.length && text.charCodeAt(text.length - 1) !== 10 ? newlines + 1 : newlines;
    let rawEnd = text.charCodeAt(pos - 1) === 10 ? pos - 1 : pos;
    if (rawEnd > start && text.charCodeAt(rawEnd - 1) === 13) rawEnd--;
    return { fields, line, raw: text.slice(start, rawEnd), kind: 'record' };
  }

  /**
   * Index of the next `"` at or after `from`. Searches never go backwards, so remembering the last
   * answer keeps a file of unbalanced quotes linear instead of quadratic.
   */
  #quote(from: number): number {
    if (from >= this.#qFrom && (this.#qAt < 0 || from <= this.#qAt)) return this.#qAt;
    this.#qFrom = from;
    this.#qAt = this.#text.indexOf('"', from);
    return this.#qAt;
  }

  /** End of an unquoted field: the next delimiter or LF. */
  #fieldEnd(from: number): number {
    const text = this.#text;
    const d = this.#delim;
    let i = from;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === d || c === 10) break;
    }
    return i;
  }

  /** Skips to just after the next LF; returns the skipped line's text (without its terminator). */
  #skipLine(start: number): string {
    const text = this.#text;
    const nl = text.indexOf('\n', start);
    if (nl < 0) this.#incomplete = true;
    this.#pos = nl < 0 ? text.length : nl + 1;
    this.#line++;
    let end = nl < 0 ? text.length : nl;
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    return text.slice(start, end);
  }
}
