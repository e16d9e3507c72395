/**
 * The `misp` format: a MISP event as MISP's "MISP Feed" import reads it.
 *
 * Layout and fields follow PyMISP's feed generator (github.com/MISP/PyMISP, `pymisp/mispevent.py`:
 * `MISPEvent.to_feed`, `MISPEvent.manifest`, `MISPAttribute.hash_values`; `pymisp/tools/feed.py`:
 * `feed_meta_generator`) and MISP's feed fetcher (github.com/MISP/MISP, `app/Model/Feed.php`,
 * which reads `<url>/manifest.json`, then `<url>/<event uuid>.json`, and `<url>/hashes.csv` for
 * its cache):
 *
 * - `manifest.json`: `{ "<event uuid>": { Orgc, Tag, info, date, analysis, threat_level_id, timestamp } }`
 * - `<event uuid>.json`: `{ "Event": { uuid, info, date, analysis, threat_level_id, timestamp,
 *   publish_timestamp, published, Orgc, Tag, Attribute: [ { uuid, type, category, to_ids, value,
 *   comment, timestamp, first_seen, last_seen, disable_correlation } ] } }`
 * - `hashes.csv`: one `<md5 of the attribute value>,<event uuid>` line per attribute.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { TipError, TipErrorCodes } from '@tip/core';
import type { ExportEntries, ExportEntry, ExportMeta, ExportTally, ExportWriter, MispOptions, WriteExportResult } from './types.js';
import { Chunker, iso, oneLine, score4 } from './util.js';
import { uuidv5 } from './uuid.js';

/** Namespace of TIP's MISP UUIDs (events, attributes, the default organisation). Fixed forever. */
export const TIP_MISP_NAMESPACE = '3b0c8f6e-2f4a-5d1c-9a7e-6c5b4d3e2f10';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The MISP attribute type of an indicator: `ip-dst` (addresses and CIDRs), `domain` or `url`. */
export function mispAttributeType(type: ExportEntry['type']): 'ip-dst' | 'domain' | 'url' {
  return type === 'ip' || type === 'cidr' ? 'ip-dst' : type;
}

/** The event UUID of a list: a UUIDv5 of its name, so re-exporting a list updates the same MISP event. */
export function mispEventUuid(listName: string): string {
  return uuidv5(`event:${listName}`, TIP_MISP_NAMESPACE);
}

interface MispSettings {
  orgName: string;
  orgUuid: string;
  eventUuid?: string;
  threatLevel: number;
  analysis: number;
  toIdsMinScore: number;
  tags: string[];
}

function settings(options: MispOptions): MispSettings {
  const bad = (path: string, message: string, input: unknown) =>
    new TipError(TipErrorCodes.CONFIG_INVALID, `misp.${path} ${message}`, { details: { path: `misp.${path}`, input } });
  const orgName = options.orgName ?? 'TIP';
  if (typeof orgName !== 'string' || oneLine(orgName).length === 0 || orgName.length > 255) throw bad('orgName', 'must be a non-empty string of at most 255 characters', orgName);
  const orgUuid = options.orgUuid ?? uuidv5(`org:${orgName}`, TIP_MISP_NAMESPACE);
  if (typeof orgUuid !== 'string' || !UUID.test(orgUuid)) throw bad('orgUuid', 'must be a UUID', orgUuid);
  if (options.eventUuid !== undefined && (typeof options.eventUuid !== 'string' || !UUID.test(options.eventUuid))) throw bad('eventUuid', 'must be a UUID', options.eventUuid);
  const threatLevel = options.threatLevel ?? 4;
  if (![1, 2, 3, 4].includes(threatLevel)) throw bad('threatLevel', 'must be 1, 2, 3 or 4', threatLevel);
  const analysis = options.analysis ?? 2;
  if (![0, 1, 2].includes(analysis)) throw bad('analysis', 'must be 0, 1 or 2', analysis);
  const toIdsMinScore = options.toIdsMinScore ?? 0.5;
  if (typeof toIdsMinScore !== 'number' || !(toIdsMinScore >= 0 && toIdsMinScore <= 1)) throw bad('toIdsMinScore', 'must be a number in [0, 1]', toIdsMinScore);
  const tags = options.tags ?? ['tlp:white'];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || oneLine(t).length === 0 || t.length > 255)) throw bad('tags', 'must be non-empty strings of at most 255 characters', tags);
  return { orgName: oneLine(orgName), orgUuid: orgUuid.toLowerCase(), eventUuid: options.eventUuid?.toLowerCase(), threatLevel, analysis, toIdsMinScore, tags: tags.map(oneLine) };
}

/** The event summary shared by the event document and its manifest entry. */
interface EventHead {
  uuid: string;
  info: string;
  date: string;
  timestamp: string;
  Orgc: { name: string; uuid: string };
}

function eventHead(s: MispSettings, meta: ExportMeta): EventHead {
  const generated = iso(meta.generatedAt, 'meta.generatedAt');
  const info = meta.description ? `${oneLine(meta.name)}: ${oneLine(meta.description)}` : oneLine(meta.name);
  return {
    uuid: s.eventUuid ?? mispEventUuid(meta.name),
    info,
    date: generated.slice(0, 10),
    timestamp: String(Math.floor(meta.generatedAt.getTime() / 1000)),
    Orgc: { name: s.orgName, uuid: s.orgUuid },
  };
}

function tagList(s: MispSettings, categories: Set<string>): Array<{ name: string; colour: string }> {
  const names = [...s.tags, ...[...categories].sort().map((c) => `tip:category="${c}"`)];
  return [...new Set(names)].map((name) => ({ name, colour: name.startsWith('tlp:') ? tlpColour(name) : '#0088cc' }));
}

function tlpColour(name: string): string {
  const level = name.slice(4).toLowerCase();
  return level === 'red' ? '#cc0033' : level === 'amber' || level === 'amber+strict' ? '#ffc000' : level === 'green' ? '#339900' : '#ffffff';
}

function attribute(e: ExportEntry, s: MispSettings, eventUuid: string): Record<string, unknown> {
  const type = mispAttributeType(e.type);
  const score = Number.isFinite(e.score) ? e.score : 0;
  const firstSeen = iso(e.firstSeen, 'firstSeen');
  const lastSeen = e.lastSeen.getTime() >= e.firstSeen.getTime() ? iso(e.lastSeen, 'lastSeen') : firstSeen;
  return {
    uuid: uuidv5(`${eventUuid}:${type}:${e.value}`, TIP_MISP_NAMESPACE),
    type,
    category: 'Network activity',
    to_ids: score >= s.toIdsMinScore,
    value: e.value,
    comment: oneLine(`score ${score4(score)}; sources: ${e.sources.join(', ') || '-'}; categories: ${e.categories.join(', ') || '-'}`).slice(0, 65535),
    timestamp: String(Math.floor(new Date(lastSeen).getTime() / 1000)),
    first_seen: firstSeen,
    last_seen: lastSeen,
    disable_correlation: false,
  };
}

/**
 * Streams the event document; calls `onAttribute(value)` per attribute written and `onEnd(tags)`
 * with the event tags once all entries are read.
 */
async function* eventChunks(
  entries: ExportEntries,
  meta: ExportMeta,
  s: MispSettings,
  tally: ExportTally | undefined,
  onAttribute?: (value: string) => void,
  onEnd?: (tags: Array<{ name: string; colour: string }>) => void,
): AsyncGenerator<string> {
  const head = eventHead(s, meta);
  const categories = new Set<string>();
  const out = new Chunker();
  const event = {
    uuid: head.uuid,
    info: head.info,
    date: head.date,
    analysis: String(s.analysis),
    threat_level_id: String(s.threatLevel),
    published: true,
    timestamp: head.timestamp,
    publish_timestamp: head.timestamp,
    Orgc: head.Orgc,
  };
  out.add(`{"Event":${JSON.stringify(event).slice(0, -1)},"Attribute":[`);
  let n = 0;
  const line = (e: ExportEntry): string => {
    if (e.type !== 'ip' && e.type !== 'cidr' && e.type !== 'domain' && e.type !== 'url') {
      tally?.skip(String(e.type));
      return '';
    }
    if (e.value.length === 0 || /[\r\n]/.test(e.value)) {
      tally?.skip('invalid');
      return '';
    }
    for (const c of e.categories) categories.add(c);
    tally?.wrote();
    onAttribute?.(e.value);
    return `${n++ === 0 ? '\n' : ',\n'}${JSON.stringify(attribute(e, s, head.uuid))}`;
  };
  if (Symbol.asyncIterator in entries) {
    for await (const e of entries) if (out.add(line(e))) yield out.take();
  } else {
    for (const e of entries) if (out.add(line(e))) yield out.take();
  }
  const tags = tagList(s, categories);
  out.add(`${n > 0 ? '\n' : ''}],"Tag":${JSON.stringify(tags)}}}\n`);
  onEnd?.(tags);
  yield out.take();
}

/**
 * `misp`: the MISP event (`{"Event": {…, "Attribute": […]}}`) of a MISP feed, streamed one
 * attribute per line: `ip`/`cidr` → `ip-dst`, `domain` → `domain`, `url` → `url`, all in
 * category `Network activity`; `to_ids` when the score reaches {@link MispOptions.toIdsMinScore};
 * the comment carries score, sources and categories; `first_seen`/`last_seen` the listing dates.
 * The event UUID is {@link mispEventUuid}(meta.name) unless set, attribute UUIDs are UUIDv5 of
 * event, type and value, so a re-export updates the same event and attributes. Event tags: the
 * configured ones plus `tip:category="<category>"` per category present.
 *
 * This is the `<uuid>.json` of the feed; {@link writeMispFeed} writes the whole feed directory
 * (with `manifest.json` and `hashes.csv`), which MISP loads as a feed of format "MISP Feed".
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming the `misp.*` option when invalid
 */
export function mispWriter(options: MispOptions = {}): MispExportWriter {
  const s = settings(options);
  return {
    format: 'misp',
    mispOptions: { ...options },
    contentType: 'application/json',
    fileExtension: 'json',
    write(entries: ExportEntries, meta: ExportMeta, tally?: ExportTally): AsyncIterable<string> {
      return eventChunks(entries, meta, s, tally);
    },
  };
}

/** The `misp` writer, with the options it was built with (the service's feed directory uses the same). */
export interface MispExportWriter extends ExportWriter {
  /** The options given to {@link mispWriter}. */
  readonly mispOptions: MispOptions;
}

/** What {@link writeMispFeed} reports: {@link WriteExportResult} plus the event UUID and the files written. */
export interface MispFeedResult extends WriteExportResult {
  /** UUID of the event (its file is `<uuid>.json`). */
  eventUuid: string;
  /** Paths written: `manifest.json`, `<uuid>.json`, `hashes.csv`. */
  files: string[];
}

/**
 * Writes a MISP feed directory: `<uuid>.json` (the event, streamed), `hashes.csv` and
 * `manifest.json`. Files are written under temporary names and renamed at the end, so a MISP
 * instance polling the directory never reads a half-written event. Other events' files in the
 * directory are left alone, but the manifest lists only this event. On failure the temporary
 * files are removed and the previous feed stays as it was.
 *
 * @param dir - the feed directory (created when missing)
 * @throws TipError `TIP_CONFIG_INVALID` naming a `misp.*` option when invalid; `TIP_INPUT_INVALID`
 *   naming `dir` when the directory cannot be created or written
 */
export async function writeMispFeed(dir: string, entries: ExportEntries, meta: ExportMeta, options: MispOptions = {}): Promise<MispFeedResult> {
  const s = settings(options);
  const head = eventHead(s, meta);
  const bad = (err: unknown) =>
    new TipError(TipErrorCodes.INPUT_INVALID, `MISP feed directory "${dir}": ${(err as Error).message}`, { details: { path: 'dir', input: dir }, cause: err });
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw bad(err);
  }
  const eventFile = join(dir, `${head.uuid}.json`);
  const hashesFile = join(dir, 'hashes.csv');
  const manifestFile = join(dir, 'manifest.json');
  const event = createWriteStream(`${eventFile}.tmp`);
  const hashes = createWriteStream(`${hashesFile}.tmp`);
  // a stream that fails to open (or write) rejects the next write or close instead of crashing
  let failure: unknown;
  for (const stream of [event, hashes]) stream.on('error', (err) => (failure ??= err));
  const write = async (stream: ReturnType<typeof createWriteStream>, text: string) => {
    if (failure) throw bad(failure);
    if (!stream.write(text)) await Promise.race([once(stream, 'drain'), once(stream, 'close')]);
  };
  const removeTemporaries = () => Promise.all([eventFile, hashesFile, manifestFile].map((f) => rm(`${f}.tmp`, { force: true })));
  let count = 0;
  let bytes = 0;
  let hashLines: string[] = [];
  let tags: Array<{ name: string; colour: string }> = [];
  const skipped: Record<string, number> = {};
  let written = 0;
  const tally: ExportTally = {
    wrote: (n = 1) => void (written += n),
    skip: (reason, n = 1) => void (skipped[reason] = (skipped[reason] ?? 0) + n),
  };
  async function* counted(): AsyncGenerator<ExportEntry> {
    if (Symbol.asyncIterator in entries) for await (const e of entries) (count++, yield e);
    else for (const e of entries) (count++, yield e);
  }
  try {
    try {
      const hashLine = (v: string) => void hashLines.push(`${createHash('md5').update(v, 'utf8').digest('hex')},${head.uuid}\n`);
      for await (const chunk of eventChunks(counted(), meta, s, tally, hashLine, (t) => (tags = t))) {
        bytes += Buffer.byteLength(chunk, 'utf8');
        await write(event, chunk);
        if (hashLines.length > 0) {
          await write(hashes, hashLines.join(''));
          hashLines = [];
        }
      }
      if (hashLines.length > 0) await write(hashes, hashLines.join(''));
    } finally {
      for (const stream of [event, hashes]) if (!stream.closed) (stream.end(), await once(stream, 'close'));
    }
    if (failure) throw bad(failure);
    const manifest = {
      [head.uuid]: { Orgc: head.Orgc, Tag: tags, info: head.info, date: head.date, analysis: String(s.analysis), threat_level_id: String(s.threatLevel), timestamp: head.timestamp },
    };
    try {
      await writeFile(`${manifestFile}.tmp`, `${JSON.stringify(manifest, null, 1)}\n`);
      await rename(`${eventFile}.tmp`, eventFile);
      await rename(`${hashesFile}.tmp`, hashesFile);
      await rename(`${manifestFile}.tmp`, manifestFile);
    } catch (err) {
      throw bad(err);
    }
  } catch (err) {
    await removeTemporaries();
    throw err;
  }
  return { count, written, skipped, bytes, eventUuid: head.uuid, files: [manifestFile, eventFile, hashesFile] };
}
