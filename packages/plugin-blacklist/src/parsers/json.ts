/**
 * `json`: values picked out of a JSON document (or JSON lines) with a small path syntax
 * (see {@link compilePath}), e.g. `{ path: 'data[*].ip_address' }`.
 *
 * @module
 */
import type { Indicator, IndicatorType } from '../indicators/types.js';
import { compilePath, jsonDepth, selectPath, type PathStep } from './json-path.js';
import { noteInvalid, type FeedParser, type ParserOptions, type ParseStats } from './types.js';
import { canonicalOrNote, commonOptions, LineReader, optionError } from './util.js';

/** Options of the `json` format. */
export interface JsonOptions extends ParserOptions {
  /** Which values to take: `a.b[*].c`, `[*]`, `data[*].ip_address`, `$` for the root itself. */
  path: string;
  /** One JSON document per line (JSON lines); the path applies to each line. Default false. */
  jsonl?: boolean;
  /** Most values one path may select from one document. Default `MAX_JSON_VALUES`. */
  maxValues?: number;
}

/** Deepest nesting of arrays/objects accepted. */
export const MAX_JSON_DEPTH = 64;
/** Default for {@link JsonOptions.maxValues}. */
export const MAX_JSON_VALUES = 10_000_000;

interface Counter {
  n: number;
}

/** Parses one document; yields the canonical indicators of the selected string values. */
function* document(text: string, line: number, steps: PathStep[], maxValues: number, allow: readonly IndicatorType[], stats: ParseStats, jsonl: boolean, ord: Counter): Generator<Indicator> {
  const sample = text.length > 200 ? text.slice(0, 200) : text;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    noteInvalid(stats, line, sample, `JSON nested deeper than ${MAX_JSON_DEPTH}`);
    return;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    noteInvalid(stats, line, sample, `invalid JSON: ${(e as Error).message}`);
    return;
  }
  const values = selectPath(doc, steps, maxValues);
  if (values === null) {
    noteInvalid(stats, line, sample, `path selects more than ${maxValues} values`);
    return;
  }
  for (const v of values) {
    ord.n++;
    const at = jsonl ? line : ord.n;
    if (v === null || v === '') {
      stats.skipped++;
      continue;
    }
    if (typeof v !== 'string') {
      noteInvalid(stats, at, JSON.stringify(v) ?? String(v), 'selected value is not a string');
      continue;
    }
    yield* canonicalOrNote(v, allow, stats, at, v);
  }
}

function* run(text: string, options: JsonOptions, steps: PathStep[], stats: ParseStats): Generator<Indicator> {
  const { allow, maxLineLength } = commonOptions('json', options);
  const maxValues = options.maxValues ?? MAX_JSON_VALUES;
  const ord: Counter = { n: 0 };
  if (!options.jsonl) {
    let lines = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
    stats.lines += text.length === 0 || text.endsWith('\n') ? lines : lines + 1;
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (body.trim() === '') {
      stats.skipped++;
      return;
    }
    yield* document(body, 1, steps, maxValues, allow, stats, false, ord);
    return;
  }
  const reader = new LineReader(text);
  for (let line = reader.nextWithin(stats, maxLineLength); line !== null; line = reader.nextWithin(stats, maxLineLength)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith('//')) {
      stats.skipped++;
      continue;
    }
    yield* document(t, reader.line, steps, maxValues, allow, stats, true, ord);
  }
}

/** The `json` format: a JSON document or JSON lines, values selected by `path`. */
export const jsonParser: FeedParser<JsonOptions> = {
  format: 'json',
  parse(text, options, stats) {
    commonOptions('json', options);
    if (typeof options?.path !== 'string') throw optionError('json', 'path', 'is required (e.g. "data[*].ip")', { value: options?.path });
    const steps = compilePath(options.path);
    if (typeof steps === 'string') throw optionError('json', 'path', `is not a valid path: ${steps}`, { value: options.path });
    if (options.jsonl !== undefined && typeof options.jsonl !== 'boolean') throw optionError('json', 'jsonl', 'must be a boolean', { value: options.jsonl });
    const mv = options.maxValues;
    if (mv !== undefined && (!Number.isInteger(mv) || mv < 1)) throw optionError('json', 'maxValues', 'must be a positive integer', { value: mv });
    return run(text, options, steps, stats);
  },
};
