import { createHash } from 'node:crypto';
import { defineSource, TipError, TipErrorCodes, type SourceDefinition } from '@tip/core';
import type { IndicatorSet } from '../ingest/IndicatorSet.js';
import { Yielder } from '../ingest/Yielder.js';
import { DEFAULT_MAX_FEED_LINES, parseFeedAsync } from '../parsers/parseFeed.js';
import type { ParserRegistry } from '../parsers/registry.js';
import '../report.js';
import type { ResolvedFeed } from './resolveFeed.js';

/** The source kind this plugin ingests: sources yield `Indicator`s, raw strings (canonicalised) or `IndicatorSet`s (see `BlacklistRecord`). */
export const BLACKLIST_KIND = 'blacklist';

/** What a feed source needs from its app. */
export interface FeedSourceDeps {
  /** The app's feed formats. */
  registry: ParserRegistry;
  /** `http.maxBytes` of the core configuration (used when the feed sets none). */
  defaultMaxBytes: number;
  /** `blacklist.maxLines` (used when the feed sets none; default `DEFAULT_MAX_FEED_LINES`). */
  defaultMaxLines?: number;
  /**
   * The content hash of the source's last committed snapshot, if any: a body with the same hash
   * is not parsed at all and the run is recorded `unchanged`.
   */
  storedHash?: (sourceId: string) => Promise<string | undefined>;
}

/**
 * The source of one configured feed: fetches its URL (conditional GET, size limits), parses the
 * body with the feed's format and yields one {@link IndicatorSet} (a full snapshot). Parse
 * statistics and the body's hash go into `run.report` for the ingester.
 */
export function feedSource(feed: ResolvedFeed, deps: FeedSourceDeps): SourceDefinition<IndicatorSet> {
  const maxBytes = feed.maxBytes ?? deps.defaultMaxBytes;
  const maxLines = feed.maxLines ?? deps.defaultMaxLines ?? DEFAULT_MAX_FEED_LINES;
  return defineSource<IndicatorSet>({
    id: feed.id,
    kind: BLACKLIST_KIND,
    title: feed.title,
    timeout: feed.timeout ?? '10m',
    http: feed.maxBytes === undefined ? undefined : { maxBytes },
    meta: { url: feed.url, format: feed.format, category: feed.category, license: feed.license, maxRemovedRatio: feed.maxRemovedRatio },
    async *fetch(run) {
      const res = await run.http.request(feed.url);
      if (res.notModified) {
        throw new TipError(TipErrorCodes.HTTP_NOT_MODIFIED, `${feed.url} not modified`, { details: { url: feed.url, source: feed.id } });
      }
      const options = { ...(feed.options ?? {}), ...(feed.types ? { types: feed.types } : {}) };
      // Parsing and hashing yield to the event loop: a million-line body is seconds of work.
      const y = new Yielder();
      // The hash covers how the body is parsed too: the same body read with other options is new data.
      const contentHash = await sha256(res.body, y, JSON.stringify({ format: feed.format, options }));
      if (deps.storedHash && (await deps.storedHash(feed.id)) === contentHash) {
        // An identical body (a server without validators answers 200 every time): nothing to parse.
        throw new TipError(TipErrorCodes.HTTP_NOT_MODIFIED, `${feed.url}: body identical to the last ingested one`, {
          details: { url: feed.url, source: feed.id, status: res.status, sameContent: true },
        });
      }
      const parsed = await parseFeedAsync(deps.registry, feed.format, res.body, options, { maxBytes, maxLines, name: feed.id }, y);
      // core already put the HTTP status and sizes into run.report; add what parsing found
      Object.assign(run.report, {
        lines: parsed.stats.lines,
        invalid: parsed.stats.invalid,
        samples: parsed.stats.samples,
        contentHash,
      });
      yield [parsed.set];
    },
  });
}

/** Bytes hashed per slice by {@link sha256} (about 2 ms of work). */
const HASH_SLICE = 4 * 1024 * 1024;

/**
 * The hex SHA-256 of `prefix`, a NUL and `body`; the body is hashed in slices with a turn of the
 * event loop between them.
 */
async function sha256(body: Uint8Array, y: Yielder, prefix: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(prefix);
  hash.update('\0');
  for (let i = 0; i < body.length; i += HASH_SLICE) {
    hash.update(body.subarray(i, i + HASH_SLICE));
    await y.checkpoint();
  }
  return hash.digest('hex');
}
