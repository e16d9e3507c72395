/**
 * Blacklist export formats: `plain`, `hosts`, `csv`, `json`, `rpz` (BIND Response Policy Zone)
 * and `stix` (STIX 2.1 bundle). Every writer streams its document in chunks.
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
import type { ExportEntries, ExportEntry, ExportMeta, ExportWriter, ExportWritersOptions, WriteExportResult } from './types.js';

export type {
  ExportEntry,
  ExportMeta,
  ExportFormat,
  ExportEntries,
  ExportWriter,
  ExportWritersOptions,
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

/**
 * A fresh map of the built-in writers keyed by format name (`plain`, `hosts`, `csv`, `json`,
 * `rpz`, `stix`). Add your own with `map.set(writer.format, writer)` and pass the map to
 * {@link writeExport}.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the option (`rpz.zone`, `hosts.address`, …) when an option is invalid
 */
export function exportWriters(options: ExportWritersOptions = {}): Map<string, ExportWriter> {
  const writers = [plainWriter(), hostsWriter(options.hosts), csvWriter(), jsonWriter(), rpzWriter(options.rpz), stixWriter(options.stix)];
  return new Map(writers.map((w) => [w.format, w]));
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

/**
 * Writes `entries` in `format` to `sink`, one chunk at a time, awaiting the sink before asking
 * the writer for the next chunk (so a slow file or HTTP response applies back-pressure).
 *
 * @param format - a key of `writers` (built-ins: {@link ExportFormat})
 * @param writers - the writers to choose from; defaults to {@link exportWriters}()
 * @returns the number of entries read and of UTF-8 bytes written
 * @throws TipError `BL_EXPORT_FORMAT_UNKNOWN` naming `format` when no writer has that name
 */
export async function writeExport(
  format: string,
  entries: ExportEntries,
  meta: ExportMeta,
  sink: (chunk: string) => void | Promise<void>,
  writers: Map<string, ExportWriter> = exportWriters(),
): Promise<WriteExportResult> {
  const writer = writers.get(format);
  if (!writer) {
    throw new TipError(BlacklistErrors.EXPORT_FORMAT_UNKNOWN, `format "${format}" is not a known export format (known: ${[...writers.keys()].join(', ')})`, {
      details: { path: 'format', input: format, known: [...writers.keys()] },
    });
  }
  let count = 0;
  let bytes = 0;
  const inc = () => void count++;
  // Arrays stay arrays so writers can still put the count in their header.
  const input = Array.isArray(entries) ? entries : Symbol.asyncIterator in entries ? counted(entries, inc) : countedSync(entries, inc);
  for await (const chunk of writer.write(input, meta)) {
    if (chunk.length === 0) continue;
    bytes += Buffer.byteLength(chunk, 'utf8');
    await sink(chunk);
  }
  if (Array.isArray(entries)) count = entries.length;
  return { count, bytes };
}
