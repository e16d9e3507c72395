/**
 * Blacklist export formats: `plain`, `hosts`, `csv`, `json`, `rpz` (BIND Response Policy Zone),
 * `stix` (STIX 2.1 bundle), `ipset` (`ipset restore` input), `nftables` (`nft -f` input) and
 * `misp` (MISP event of a MISP feed). Every writer streams its document in chunks; ip/cidr
 * entries can be aggregated first ({@link aggregateEntries}).
 *
 * @example
 * ```ts
 * const out = createWriteStream('blacklist.zone');
 * await writeExport('rpz', entries, { name: 'rpz.example.org', generatedAt: new Date() }, (c) => void out.write(c));
 * ```
 *
 * @module
 */
import { TipError, TipErrorCodes } from '@tip/core';
import { BlacklistErrors } from '../errors.js';
import { csvWriter } from './csv.js';
import { jsonWriter } from './json.js';
import { hostsWriter, plainWriter } from './plain.js';
import { rpzWriter } from './rpz.js';
import { stixWriter } from './stix.js';
import { aggregateEntries } from './aggregate.js';
import { ipsetWriter } from './ipset.js';
import { nftablesWriter } from './nftables.js';
import { mispWriter } from './misp.js';
import type { AggregateStats, ExportEntries, ExportEntry, ExportMeta, ExportTally, ExportWriter, ExportWritersOptions, WriteExportResult } from './types.js';

export type {
  ExportEntry,
  ExportMeta,
  ExportFormat,
  ExportEntries,
  ExportWriter,
  ExportWritersOptions,
  ExportTally,
  AggregateStats,
  IpsetOptions,
  NftablesOptions,
  MispOptions,
  HostsOptions,
  RpzOptions,
  StixOptions,
  WriteExportResult,
} from './types.js';
export { plainWriter, hostsWriter } from './plain.js';
export { csvWriter, csvGuard, csvUnguard, csvQuote, CSV_HEADER } from './csv.js';
export { jsonWriter, type JsonExportDocument, type JsonExportIndicator } from './json.js';
export { rpzWriter, rpzIpName, normaliseZone, DEFAULT_RPZ_ZONE } from './rpz.js';
export {
  stixWriter,
  stixPattern,
  stixEscape,
  stixIndicatorId,
  stixIdentityId,
  STIX_INDICATOR_TYPES,
  type StixIndicatorType,
} from './stix.js';
export { uuidv5, TIP_STIX_NAMESPACE } from './uuid.js';
export { aggregateEntries } from './aggregate.js';
export { ipsetWriter } from './ipset.js';
export { nftablesWriter } from './nftables.js';
export { mispWriter, mispEventUuid, mispAttributeType, writeMispFeed, TIP_MISP_NAMESPACE, type MispFeedResult, type MispExportWriter } from './misp.js';
export { checkSetName } from './names.js';

/**
 * The built-in writers (`plain`, `hosts`, `csv`, `json`, `rpz`, `stix`, `ipset`, `nftables`,
 * `misp`), in that order. The plugin registers them through the `blacklistWriters` extension
 * point, the same way another plugin adds its own.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the option (`rpz.zone`, `hosts.address`, `ipset.setName`, …) when an option is invalid
 */
export function builtInWriters(options: ExportWritersOptions = {}): ExportWriter[] {
  return [
    plainWriter(),
    hostsWriter(options.hosts),
    csvWriter(),
    jsonWriter(),
    rpzWriter(options.rpz),
    stixWriter(options.stix),
    ipsetWriter(options.ipset),
    nftablesWriter(options.nftables),
    mispWriter(options.misp),
  ];
}

/**
 * A fresh map of the built-in writers keyed by format name (see {@link builtInWriters}). Add your
 * own with {@link registerWriter} (or `map.set(writer.format, writer)`) and pass the map to
 * {@link writeExport}.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the option (`rpz.zone`, `hosts.address`, …) when an option is invalid
 */
export function exportWriters(options: ExportWritersOptions = {}): Map<string, ExportWriter> {
  const map = new Map<string, ExportWriter>();
  for (const w of builtInWriters(options)) registerWriter(map, w);
  return map;
}

/**
 * Adds `writer` to `writers` under its format name, after checking its shape.
 *
 * @throws TipError `TIP_CONFIG_INVALID` when it has no non-empty `format` (letters, digits, `.`, `_`, `-`) or no `write` function;
 *   `TIP_DUPLICATE_ID` when the format is taken
 */
export function registerWriter(writers: Map<string, ExportWriter>, writer: ExportWriter): Map<string, ExportWriter> {
  const format = (writer as { format?: unknown } | undefined)?.format;
  if (typeof format !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(format) || typeof writer.write !== 'function') {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, 'an export writer needs a "format" (letters, digits, ".", "_", "-"; at most 64) and a "write" function', {
      details: { path: 'format', input: format },
    });
  }
  if (writers.has(format)) {
    throw new TipError(TipErrorCodes.DUPLICATE_ID, `export format "${format}" is already registered`, { details: { format } });
  }
  writers.set(format, writer);
  return writers;
}

/** The error for a format no writer handles; lists the registered ones. */
export function unknownFormatError(format: string, writers: Map<string, ExportWriter>): TipError {
  const known = [...writers.keys()].sort();
  return new TipError(BlacklistErrors.EXPORT_FORMAT_UNKNOWN, `unknown export format "${format}" (known: ${known.join(', ')})`, {
    details: { path: 'format', input: format, known },
  });
}

/** Options of {@link writeExport}. */
export interface WriteExportOptions {
  /**
   * Aggregate ip/cidr entries ({@link aggregateEntries}) before writing. Unset: the writer's
   * {@link ExportWriter.aggregateByDefault} decides (true for `ipset` and `nftables`).
   */
  aggregate?: boolean;
}

/** A tally that counts what a writer reports. @internal */
export class Tally implements ExportTally {
  written = 0;
  reported = false;
  readonly skipped: Record<string, number> = {};
  wrote(n = 1): void {
    this.reported = true;
    this.written += n;
  }
  skip(reason: string, n = 1): void {
    this.reported = true;
    this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
  }
}

/**
 * Prepares a writer's input: counts the entries read and, when asked (or by the writer's
 * default), aggregates the ip/cidr ones. Shared by {@link writeExport} and the service's streams.
 * @internal
 */
export function prepareEntries(
  writer: ExportWriter,
  entries: ExportEntries,
  meta: ExportMeta,
  options: WriteExportOptions,
  onEntry: () => void,
): { input: ExportEntries; meta: ExportMeta; aggregated?: AggregateStats } {
  const aggregate = options.aggregate ?? writer.aggregateByDefault ?? false;
  if (!aggregate) {
    // Arrays stay arrays so writers can still put the count in their header.
    const input = Array.isArray(entries) ? entries : Symbol.asyncIterator in entries ? counted(entries, onEntry) : countedSync(entries, onEntry);
    if (Array.isArray(entries)) for (let i = 0; i < entries.length; i++) onEntry();
    return { input, meta };
  }
  const stats: AggregateStats = { entries: 0, blocks: 0 };
  const source = Symbol.asyncIterator in entries ? counted(entries, onEntry) : countedSync(entries, onEntry);
  return { input: aggregateEntries(source, stats), meta: { ...meta, aggregated: true }, aggregated: stats };
}

/**
 * Writes `entries` in `format` to `sink`, one chunk at a time, awaiting the sink before asking
 * the writer for the next chunk (so a slow file or HTTP response applies back-pressure).
 *
 * @param format - a key of `writers` (built-ins: {@link ExportFormat})
 * @param writers - the writers to choose from; defaults to {@link exportWriters}()
 * @param options - aggregation ({@link WriteExportOptions})
 * @returns the entries read, the indicators written and skipped, the UTF-8 bytes written
 * @throws TipError `BL_EXPORT_FORMAT_UNKNOWN` naming `format` (and listing the known ones) when no writer has that name
 */
export async function writeExport(
  format: string,
  entries: ExportEntries,
  meta: ExportMeta,
  sink: (chunk: string) => void | Promise<void>,
  writers: Map<string, ExportWriter> = exportWriters(),
  options: WriteExportOptions = {},
): Promise<WriteExportResult> {
  const writer = writers.get(format);
  if (!writer) throw unknownFormatError(format, writers);
  let count = 0;
  let bytes = 0;
  const tally = new Tally();
  const prepared = prepareEntries(writer, entries, meta, options, () => void count++);
  for await (const chunk of writer.write(prepared.input, prepared.meta, tally)) {
    if (chunk.length === 0) continue;
    bytes += Buffer.byteLength(chunk, 'utf8');
    await sink(chunk);
  }
  const written = tally.reported ? tally.written : (prepared.aggregated?.blocks ?? 0) + (prepared.aggregated ? count - prepared.aggregated.entries : count);
  const result: WriteExportResult = { count, written, skipped: tally.skipped, bytes };
  if (prepared.aggregated) result.aggregated = prepared.aggregated;
  return result;
}

async function* counted(entries: AsyncIterable<ExportEntry>, onEntry: () => void): AsyncGenerator<ExportEntry> {
  for await (const e of entries) {
    onEntry();
    yield e;
  }
}

function countedSync(entries: Iterable<ExportEntry>, onEntry: () => void): Iterable<ExportEntry> {
  return {
    *[Symbol.iterator]() {
      for (const e of entries) {
        onEntry();
        yield e;
      }
    },
  };
}
