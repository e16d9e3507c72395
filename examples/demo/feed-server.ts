// A tiny local "threat feed" web server for the TIP demo, on 127.0.0.1:
// - /feeds/<file>: the static sample files in ./feeds/ (the demo plugin's own sources);
// - /gen/<file>: the generated feeds of ./generator.ts, which change every time slot (listings
//   appear, stay a while and disappear), one slow and one that answers 503 in some slots, and the
//   generated "ACME sightings" feed of the example plugin (/gen/sightings.txt).
// Every answer has an ETag and a Last-Modified that change only when the content does, so
// repeated fetches of an unchanged feed are answered 304 Not Modified.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '@tip/core';
import { DEMO_FEEDS, DEMO_SIGHTINGS_FEED, feedBody, sightingsBody, slotAt } from './generator.ts';

const TYPES: Record<string, string> = { '.txt': 'text/plain; charset=utf-8', '.csv': 'text/csv; charset=utf-8' };

/** Options of {@link startFeedServer}. */
export interface FeedServerOptions {
  /** Folder holding the sample feed files. */
  dir: string;
  /** The flaky mirror answers 503 on every `failEvery`-th request (default 3, 0 = never). */
  failEvery?: number;
  /** Where request failures are logged (optional). */
  log?: Pick<Logger, 'error'>;
  /** Seed of the generated feeds (default 1). */
  seed?: number;
  /** Length of a time slot of the generated feeds in milliseconds (default 20000). */
  slotMs?: number;
  /** Clock in milliseconds (default `Date.now`); slot 0 starts when the server starts. */
  now?: () => number;
  /** Serve the generated feeds' slow and failing behaviour (default true). */
  misbehave?: boolean;
}

/** A running feed server. */
export interface FeedServer {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** The current slot of the generated feeds. */
  slot(): number;
  /** Requests answered so far, per path (`/gen/scanners.txt` …), any status. */
  readonly served: ReadonlyMap<string, number>;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Starts the feed server.
 *   GET /feeds/<file>     a sample feed; phishing.csv grows by one "live" row per minute of uptime
 *   GET /mirror/drop.txt  a flaky mirror of drop.txt: every `failEvery`-th request answers 503
 *   GET /gen/<file>       a generated feed of {@link DEMO_FEEDS} in the current slot
 *   GET /gen/sightings.txt  the generated sightings feed ({@link DEMO_SIGHTINGS_FEED}) in the current slot
 */
export async function startFeedServer({ dir, failEvery = 3, log, seed = 1, slotMs = 20_000, now = Date.now, misbehave = true }: FeedServerOptions): Promise<FeedServer> {
  const startedAt = now();
  const slot = () => slotAt(now(), startedAt, slotMs);
  // the feeds' own timestamps count from this server's start, so they look current
  const time = { epochMs: Math.floor(startedAt / 1000) * 1000, slotMs };
  let mirrorRequests = 0;
  const served = new Map<string, number>();
  // Last-Modified per path: the time its content (ETag) last changed.
  const versions = new Map<string, { etag: string; modified: Date }>();
  const server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      served.set(path, (served.get(path) ?? 0) + 1);
      const gen = DEMO_FEEDS.find((f) => path === `/gen/${f.file}`);
      if (gen) {
        const current = slot();
        if (misbehave && gen.delayMs) await new Promise((r) => setTimeout(r, gen.delayMs));
        if (misbehave && gen.failsIn?.(current, seed)) {
          res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '20' });
          return res.end(`${gen.id}: temporarily overloaded (slot ${current}), try again later\n`);
        }
        return send(req, res, path, feedBody(gen.id, current, seed, time), gen.file.endsWith('.csv') ? TYPES['.csv']! : TYPES['.txt']!);
      }
      if (path === `/gen/${DEMO_SIGHTINGS_FEED.file}`) return send(req, res, path, sightingsBody(slot(), seed, time), TYPES['.txt']!);
      let file: string;
      if (path === '/mirror/drop.txt') {
        mirrorRequests++;
        if (failEvery > 0 && mirrorRequests % failEvery === 0) {
          res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '60' });
          return res.end('mirror overloaded, try again later\n');
        }
        file = 'drop.txt';
      } else if (/^\/feeds\/[a-z0-9-]+\.(txt|csv)$/.test(path)) {
        file = path.slice('/feeds/'.length);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found\n');
      }
      let body = await readFile(join(dir, file), 'utf8');
      if (file === 'phishing.csv') body += liveRows(startedAt, now());
      send(req, res, path, body, TYPES[file.slice(file.lastIndexOf('.'))]!);
    } catch (err) {
      log?.error({ err }, 'feed server: request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  /** Answers 200 with `body`, or 304 when the client holds its ETag (or a Last-Modified not older). */
  function send(req: IncomingMessage, res: ServerResponse, path: string, body: string, type: string): void {
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 20)}"`;
    let version = versions.get(path);
    if (version?.etag !== etag) versions.set(path, (version = { etag, modified: new Date(Math.floor(now() / 1000) * 1000) }));
    const headers = { etag, 'last-modified': version.modified.toUTCString(), 'cache-control': 'max-age=0' };
    const since = Date.parse(req.headers['if-modified-since'] ?? '');
    const inm = req.headers['if-none-match'];
    if (inm === etag || (inm === undefined && !Number.isNaN(since) && since >= version.modified.getTime())) {
      res.writeHead(304, headers);
      return void res.end();
    }
    res.writeHead(200, { ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    slot,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One made-up phishing URL per full minute since the server started (at most 30). */
function liveRows(startedAt: number, now: number): string {
  const minutes = Math.min(30, Math.floor((now - startedAt) / 60_000));
  let rows = '';
  for (let i = 1; i <= minutes; i++) {
    const seen = new Date(startedAt + i * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    rows += `${seen},https://kit-${String(i).padStart(2, '0')}.phish-live.example/login,Generic,online\n`;
  }
  return rows;
}
