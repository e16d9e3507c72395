import type { ExportEntries, ExportEntry, ExportMeta } from './types.js';

/** Lines per chunk before a writer yields. */
export const CHUNK_LINES = 500;
/** Characters per chunk before a writer yields, whatever the line count. */
export const CHUNK_CHARS = 64 * 1024;

/**
 * Collects output lines and says when enough have gathered to be yielded as one chunk.
 * Writers call {@link Chunker.add} per line and yield {@link Chunker.take} when it returns true.
 */
export class Chunker {
  #parts: string[] = [];
  #chars = 0;

  /** Appends `text` (which should end with its line break); true when the chunk is full. */
  add(text: string): boolean {
    if (text.length === 0) return false;
    this.#parts.push(text);
    this.#chars += text.length;
    return this.#parts.length >= CHUNK_LINES || this.#chars >= CHUNK_CHARS;
  }

  /** True when nothing is buffered. */
  get empty(): boolean {
    return this.#parts.length === 0;
  }

  /** Returns the buffered text and empties the buffer. */
  take(): string {
    const out = this.#parts.join('');
    this.#parts = [];
    this.#chars = 0;
    return out;
  }
}

/** The number of entries when it is known before iterating (arrays), else undefined. */
export function knownCount(entries: ExportEntries): number | undefined {
  return Array.isArray(entries) ? entries.length : undefined;
}

/**
 * Drives a line-oriented writer: yields `head`, then the text `line(entry)` returns for every entry
 * (empty string to skip it), then `tail()` (evaluated after the last entry, so it can report
 * counts), batched into chunks of at most {@link CHUNK_LINES} lines / about {@link CHUNK_CHARS}
 * characters. Sync iterables are walked with a plain loop (no await per entry).
 */
export async function* drive(
  entries: ExportEntries,
  head: string,
  line: (entry: ExportEntry) => string,
  tail: () => string,
): AsyncGenerator<string> {
  const out = new Chunker();
  out.add(head);
  if (Symbol.asyncIterator in entries) {
    for await (const e of entries) if (out.add(line(e))) yield out.take();
  } else {
    for (const e of entries) if (out.add(line(e))) yield out.take();
  }
  out.add(tail());
  if (!out.empty) yield out.take();
}

/** Makes `text` safe for a one-line comment: line breaks and other control characters become spaces. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

/** RFC 3339 / ISO 8601 UTC timestamp with milliseconds; throws a RangeError naming `what` for an invalid date. */
export function iso(date: Date, what: string): string {
  const t = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError(`${what} is not a valid date`);
  return new Date(t).toISOString();
}

/** A score with 4 decimals (`0.8500`); empty for a non-finite score. */
export function score4(score: number): string {
  return Number.isFinite(score) ? score.toFixed(4) : '';
}

/**
 * Header comment lines shared by the text formats: name, generation time, description, filters
 * and (when known up front) the entry count, each prefixed with `prefix` (`# ` or `; `).
 */
export function headerComments(prefix: string, meta: ExportMeta, count: number | undefined): string {
  const lines = [oneLine(meta.name), `generated: ${iso(meta.generatedAt, 'meta.generatedAt')}`];
  if (meta.description) lines.push(`description: ${oneLine(meta.description)}`);
  if (meta.filters && Object.keys(meta.filters).length > 0) lines.push(`filters: ${oneLine(JSON.stringify(meta.filters))}`);
  if (count !== undefined) lines.push(`count: ${count}`);
  return lines.map((l) => `${prefix}${l}\n`).join('');
}
