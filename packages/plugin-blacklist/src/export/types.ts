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
  /**
   * True when the ip/cidr entries were aggregated ({@link aggregateEntries}): no entry covers
   * another, adjacent blocks are merged. Writers that need aggregated input (nftables interval
   * sets) then skip their own pass.
   */
  aggregated?: boolean;
}

/** Names of the built-in formats. */
export type ExportFormat = 'plain' | 'hosts' | 'csv' | 'json' | 'rpz' | 'stix' | 'ipset' | 'nftables' | 'misp';

/** Entries a writer accepts: any sync or async iterable, so a database cursor can stream into it. */
export type ExportEntries = Iterable<ExportEntry> | AsyncIterable<ExportEntry>;

/**
 * What a writer reports while it writes, so callers can say how many indicators the document
 * holds (not only how many entries were read). {@link writeExport} hands one to every writer.
 */
export interface ExportTally {
  /** Counts `n` (default 1) indicators written to the document. */
  wrote(n?: number): void;
  /** Counts `n` (default 1) entries left out, under a short reason (`url`, `invalid`, …). */
  skip(reason: string, n?: number): void;
}

/**
 * Turns entries into a document, streamed as chunks of text (a few hundred lines each), so a
 * million entries never become one string. Register your own through the `blacklistWriters`
 * extension point (or in the map from `exportWriters()`).
 */
export interface ExportWriter {
  /** Format name, the key under which the writer is registered. */
  format: ExportFormat | string;
  /** MIME type of the document (for HTTP responses). */
  contentType: string;
  /** File extension without the dot. */
  fileExtension: string;
  /**
   * Whether ip/cidr entries are aggregated when the caller does not say (`aggregate` unset);
   * default false. `ipset` and `nftables` set it: a set matches addresses, so the minimal CIDR
   * list matches exactly the same traffic with fewer elements.
   */
  aggregateByDefault?: boolean;
  /**
   * Checks, before anything is written, that the writer can write a document with this `meta`
   * (e.g. that a set name taken from `meta.name` is valid), so an HTTP download fails with a 400
   * instead of a truncated file. Throws a TipError naming the input.
   */
  check?(meta: ExportMeta): void;
  /**
   * Writes the document; each yielded string is the next piece of it. `tally`, when given,
   * receives the number of indicators written and skipped; a writer that never calls it is
   * taken to have written every entry it read.
   */
  write(entries: ExportEntries, meta: ExportMeta, tally?: ExportTally): AsyncIterable<string>;
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

/** Options of the `ipset` writer. */
export interface IpsetOptions {
  /**
   * Base name of the sets: `<name>-v4` (`family inet`) and `<name>-v6` (`family inet6`). When
   * absent, `meta.name` (`tip-blacklist` by default) is used. Letters, digits, `_`, `.` and `-`,
   * starting with a letter or digit, at most 24 characters (ipset names are at most 31).
   */
  setName?: string;
  /**
   * `maxelem` of both sets. Default: the larger of 65536 and the entry count rounded up to a
   * power of two. `create … -exist` only accepts an existing set with the same parameters, so
   * pin it when the file reloads sets whose size moves across a power of two.
   */
  maxelem?: number;
}

/** Options of the `nftables` writer. */
export interface NftablesOptions {
  /** Table family: `inet` (default), `ip`, `ip6`, `bridge` or `netdev`. IPv6 sets are left out for `ip`, IPv4 ones for `ip6`. */
  family?: 'inet' | 'ip' | 'ip6' | 'bridge' | 'netdev';
  /** Table the sets live in (default `tip`); created when missing, never deleted. Same characters as {@link IpsetOptions.setName}, at most 64. */
  table?: string;
  /** Base name of the sets, `<name>-v4` and `<name>-v6`; default `meta.name`. Same rules as {@link table}. */
  setName?: string;
}

/** Options of the `misp` writer. */
export interface MispOptions {
  /** Name of the organisation that creates the event (default `TIP`). */
  orgName?: string;
  /** UUID of that organisation (default: a UUIDv5 derived from its name). */
  orgUuid?: string;
  /** Event UUID (default: a UUIDv5 of `meta.name`, so the same list keeps updating one MISP event). */
  eventUuid?: string;
  /** Event `threat_level_id`: 1 high, 2 medium, 3 low, 4 undefined (default 4). */
  threatLevel?: 1 | 2 | 3 | 4;
  /** Event `analysis`: 0 initial, 1 ongoing, 2 completed (default 2). */
  analysis?: 0 | 1 | 2;
  /** Attributes are marked `to_ids` when their score is at least this (default 0.5). */
  toIdsMinScore?: number;
  /** Tags put on the event (default `["tlp:white"]`; the category tags `tip:category="…"` are added). */
  tags?: string[];
}

/** Options of {@link exportWriters}: one section per configurable built-in writer. */
export interface ExportWritersOptions {
  /** `hosts` writer options. */
  hosts?: HostsOptions;
  /** `rpz` writer options. */
  rpz?: RpzOptions;
  /** `stix` writer options. */
  stix?: StixOptions;
  /** `ipset` writer options. */
  ipset?: IpsetOptions;
  /** `nftables` writer options. */
  nftables?: NftablesOptions;
  /** `misp` writer options. */
  misp?: MispOptions;
}

/** What {@link writeExport} reports. */
export interface WriteExportResult {
  /** Entries read from the input (before aggregation; including ones a format skips, such as URLs in `hosts`). */
  count: number;
  /** Indicators the document holds (after aggregation, without the skipped ones). */
  written: number;
  /** Entries left out, by reason (`ip`, `cidr`, `url`, `domain` for types a format cannot carry, `invalid`, …). */
  skipped: Record<string, number>;
  /** UTF-8 bytes handed to the sink. */
  bytes: number;
  /** Set when ip/cidr entries were aggregated: how many went in and how many blocks came out. */
  aggregated?: AggregateStats;
}

/** What aggregation did: ip/cidr entries in, CIDR blocks out. */
export interface AggregateStats {
  /** ip/cidr entries read. */
  entries: number;
  /** CIDR blocks (or single addresses) written in their place. */
  blocks: number;
}
