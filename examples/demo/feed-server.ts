// A tiny local "threat feed" web server for the TIP demo: serves the sample files in ./feeds/
// on 127.0.0.1 with ETag / Last-Modified, so repeated fetches are answered 304 Not Modified.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '@tip/core';

const TYPES: Record<string, string> = { '.txt': 'text/plain; charset=utf-8', '.csv': 'text/csv; charset=utf-8' };

/** Options of {@link startFeedServer}. */
export interface FeedServerOptions {
  /** Folder holding the sample feed files. */
  dir: string;
  /** The flaky mirror answers 503 on every `failEvery`-th request (default 3, 0 = never). */
  failEvery?: number;
  /** Where request failures are logged (optional). */
  log?: Pick<Logger, 'error'>;
}

/** A running feed server. */
export interface FeedServer {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Starts the feed server.
 *   GET /feeds/<file>     a sample feed; phishing.csv grows by one "live" row per minute of uptime
 *   GET /mirror/drop.txt  a flaky mirror of drop.txt: every `failEvery`-th request answers 503
 */
export async function startFeedServer({ dir, failEvery = 3, log }: FeedServerOptions): Promise<FeedServer> {
  const startedAt = Date.now();
  let mirrorRequests = 0;
  const server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
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
      if (file === 'phishing.csv') body += liveRows(startedAt);
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 20)}"`;
      const headers = { etag, 'last-modified': new Date(startedAt).toUTCString(), 'cache-control': 'max-age=0' };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers);
        return res.end();
      }
      res.writeHead(200, { ...headers, 'content-type': TYPES[file.slice(file.lastIndexOf('.'))], 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } catch (err) {
      log?.error({ err }, 'feed server: request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One made-up phishing URL per full minute since the server started (at most 30). */
function liveRows(startedAt: number): string {
  const minutes = Math.min(30, Math.floor((Date.now() - startedAt) / 60_000));
  let rows = '';
  for (let i = 1; i <= minutes; i++) {
    const seen = new Date(startedAt + i * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    rows += `${seen},https://kit-${String(i).padStart(2, '0')}.phish-live.example/login,Generic,online\n`;
  }
  return rows;
}
