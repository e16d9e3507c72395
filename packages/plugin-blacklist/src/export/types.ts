import type { IndicatorType, SourceCategory } from '../indicators/types.js';

/** One indicator of an aggregated blacklist, as handed to an {@link ExportWriter}. */
export interface ExportEntry {
  /** Indicator kind. */
  type: IndicatorType;
  /** Canonical value (see `Indicator`); writers never re-canonicalise it. */
  value: string;
  /** Aggregated score, 0..1. */
  score: number;
  /** When any source first listed the indicator. */
  firstSeen: Date;
  /** When any source last listed the indicator. */
  lastSeen: Date;
  /** Ids of the sources that list it. */
  sources: string[];
  /** Threat categories of those sources. */
  categories: SourceCategory[];
}

/** Facts about the document as a whole. */
export interface ExportMeta {
  /** Human name of the list (also the RPZ origin when it is a DNS name, see {@link RpzOptions.zone}). */
  name: string;
  /** When the export was generated (also the RPZ SOA serial). */
  generatedAt: Date;
  /** Optional free text, written in header comments / JSON. */
  description?: string;
  /** Filters the entries were selected with (min score, types, …), written in header comments / JSON. */
  filters?: Record<string, unknown>;
}

/** Names of the built-in formats. */
export type ExportFormat = 'plain' | 'hosts' | 'csv' | 'json' | 'rpz' | 'stix';

/** Entries a writer accepts: any sync or async iterable, so a database cursor can stream into it. */
export type ExportEntries = Iterable<ExportEntry> | AsyncIterable<ExportEntry>;

/**
 * Turns entries into a document, streamed as chunks of text (a few hundred lines each), so a
 * million entries never become one string. Register your own in the map from `exportWriters()`.
 */
export interface ExportWriter {
  /** Format name, the key under which the writer is registered. */
  format: ExportFormat | string;
  /** MIME type of the document (for HTTP responses). */
  contentType: string;
  /** File extension without the dot. */
  fileExtension: string;
  /** Writes the document; each yielded string is the next piece of it. */
  write(entries: ExportEntries, meta: ExportMeta): AsyncIterable<string>;
}

/** Options of the `hosts` writer. */
export interface HostsOptions {
  /** Address every domain is pointed at (default `0.0.0.0`; `127.0.0.1` and `::` also common). */
  address?: string;
}

/** Options of the `rpz` writer. */
export interface RpzOptions {
  /**
   * Zone origin (`rpz.example.`). When absent, `meta.name` is used if it is a valid DNS name of
   * two or more labels (`bl.example.org`), else `rpz.tip.local.`.
   */
  zone?: string;
  /** Default TTL (`$TTL`) and SOA minimum, seconds (default 300). */
  ttl?: number;
  /**
   * SOA serial: `'unix'` (default, `generatedAt` in unix seconds), `'date'` (`YYYYMMDDHH` of
   * `generatedAt` in UTC, i.e. the common YYYYMMDDnn form with nn = hour) or an explicit number.
   */
  serial?: 'unix' | 'date' | number;
}

/** Options of the `stix` writer. */
export interface StixOptions {
  /** Name of the producer identity (default `TIP`). Its id is derived from it. */
  identityName?: string;
  /** `created`/`modified` of the producer identity (default 2024-01-01T00:00:00.000Z, so its id and version stay stable). */
  identityCreated?: Date;
}

/** Options of {@link exportWriters}: one section per configurable built-in writer. */
export interface ExportWritersOptions {
  /** `hosts` writer options. */
  hosts?: HostsOptions;
  /** `rpz` writer options. */
  rpz?: RpzOptions;
  /** `stix` writer options. */
  stix?: StixOptions;
}

/** What {@link writeExport} reports. */
export interface WriteExportResult {
  /** Entries read from the input (including ones a format skips, such as URLs in `hosts`). */
  count: number;
  /** UTF-8 bytes handed to the sink. */
  bytes: number;
}
