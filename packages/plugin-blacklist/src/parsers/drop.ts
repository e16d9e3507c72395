/**
 * `drop`: Spamhaus DROP/EDROP. Accepts both the text lists (`1.10.16.0/20 ; SBL256894`, `;`
 * comments) and the JSON-lines files (`drop_v4.json`: `{"cidr":"…","sblid":"…","rir":"…"}` per
 * line, closed by a `{"type":"metadata",…}` line, which is skipped).
 *
 * @module
 */
import type { Indicator, IndicatorType } from '../indicators/types.js';
import { noteInvalid, type FeedParser, type ParserOptions, type ParseStats } from './types.js';
import { canonicalOrNote, commonOptions, LineReader, skipBlanks, tokenEnd } from './util.js';

/** Options of the `drop` format (only the common ones; DROP lists networks, so `types` defaults to `cidr` and `ip`). */
export type DropOptions = ParserOptions;

const NETWORKS: readonly IndicatorType[] = ['cidr', 'ip'];

/** The value of one DROP line: `''` to skip, a value to canonicalise, or `{ reason }` when invalid. */
function dropValue(line: string, start: number): string | { reason: string } {
  if (line.charCodeAt(start) === 0x7b /* { */) {
    const end = line.trimEnd();
    if (end.charCodeAt(end.length - 1) !== 0x7d) return { reason: 'truncated JSON line' };
    let obj: unknown;
    try {
      obj = JSON.parse(end);
    } catch {
      return { reason: 'invalid JSON line' };
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { reason: 'JSON line is not an object' };
    const rec = obj as Record<string, unknown>;
    if (rec.type === 'metadata') return '';
    return typeof rec.cidr === 'string' ? rec.cidr : { reason: 'JSON line without a "cidr" string' };
  }
  const semi = line.indexOf(';', start);
  const body = semi < 0 ? line : line.slice(0, semi);
  const end = tokenEnd(body, start);
  if (skipBlanks(body, end) < body.length) return { reason: 'unexpected text before ";"' };
  return body.slice(start, end);
}

function* run(text: string, options: DropOptions | undefined, stats: ParseStats): Generator<Indicator> {
  const { allow, maxLineLength } = commonOptions('drop', options, NETWORKS);
  const reader = new LineReader(text);
  for (let line = reader.nextWithin(stats, maxLineLength); line !== null; line = reader.nextWithin(stats, maxLineLength)) {
    const start = skipBlanks(line, 0);
    const c = line.charCodeAt(start);
    if (start >= line.length || c === 0x3b /* ; */ || c === 0x23 /* # */) {
      stats.skipped++;
      continue;
    }
    const value = dropValue(line, start);
    if (value === '') {
      stats.skipped++;
      continue;
    }
    if (typeof value !== 'string') {
      noteInvalid(stats, reader.line, line, value.reason);
      continue;
    }
    yield* canonicalOrNote(value, allow, stats, reader.line, line);
  }
}

/** The `drop` format: Spamhaus DROP/EDROP text or JSON lines. */
export const dropParser: FeedParser<DropOptions> = {
  format: 'drop',
  lineIndependent: true,
  parse(text, options, stats) {
    commonOptions('drop', options, NETWORKS);
    return run(text, options, stats);
  },
};
