import type { ExportEntries, ExportEntry, ExportMeta, ExportTally, ExportWriter } from './types.js';
import { drive, iso, knownCount } from './util.js';

/** One indicator as the `json` format writes it. */
export interface JsonExportIndicator {
  /** Indicator kind. */
  type: ExportEntry['type'];
  /** Canonical value. */
  value: string;
  /** Score 0..1, rounded to 4 decimals. */
  score: number;
  /** ISO 8601 UTC. */
  firstSeen: string;
  /** ISO 8601 UTC. */
  lastSeen: string;
  /** Source ids. */
  sources: string[];
  /** Categories. */
  categories: string[];
}

/** The document the `json` format writes. */
export interface JsonExportDocument {
  /** `meta.name`. */
  name: string;
  /** `meta.generatedAt`, ISO 8601 UTC. */
  generatedAt: string;
  /** `meta.description`, when set. */
  description?: string;
  /** `meta.filters`, when set. */
  filters?: Record<string, unknown>;
  /** Number of indicators. */
  count: number;
  /** The indicators, in input order. */
  indicators: JsonExportIndicator[];
}

function indicator(e: ExportEntry): JsonExportIndicator {
  return {
    type: e.type,
    value: e.value,
    score: Number.isFinite(e.score) ? Math.round(e.score * 10000) / 10000 : 0,
    firstSeen: iso(e.firstSeen, 'firstSeen'),
    lastSeen: iso(e.lastSeen, 'lastSeen'),
    sources: e.sources,
    categories: e.categories,
  };
}

/**
 * `json`: one {@link JsonExportDocument}, streamed one indicator per line. When the entries are
 * an array, `count` comes before `indicators`; for a streamed iterable the count is only known at
 * the end and is written as the last property (JSON objects are unordered, so both parse the same).
 */
export function jsonWriter(): ExportWriter {
  return {
    format: 'json',
    contentType: 'application/json',
    fileExtension: 'json',
    write(entries: ExportEntries, meta: ExportMeta, tally?: ExportTally): AsyncIterable<string> {
      const known = knownCount(entries);
      let head = `{"name":${JSON.stringify(meta.name)},"generatedAt":${JSON.stringify(iso(meta.generatedAt, 'meta.generatedAt'))}`;
      if (meta.description !== undefined) head += `,"description":${JSON.stringify(meta.description)}`;
      if (meta.filters !== undefined) head += `,"filters":${JSON.stringify(meta.filters)}`;
      if (known !== undefined) head += `,"count":${known}`;
      head += ',"indicators":[';
      let count = 0;
      return drive(
        entries,
        head,
        (e) => (tally?.wrote(), `${count++ === 0 ? '\n' : ',\n'}${JSON.stringify(indicator(e))}`),
        () => `${count > 0 ? '\n' : ''}]${known === undefined ? `,"count":${count}` : ''}}\n`,
      );
    },
  };
}
