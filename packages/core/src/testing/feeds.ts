import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteRouter, RouterResponse } from '../routes/RouteRouter.js';

/**
 * A {@link FeedAnswer} that writes the response itself (e.g. to stream, stall or break the
 * connection). If it throws (or its promise rejects) before answering, the request gets a 500.
 */
export type FeedHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** A {@link FeedAnswer} given as status, headers and body. */
export interface FeedResponse {
  /** HTTP status (default 200). */
  status?: number;
  /** Response headers; `content-type` defaults to `text/plain`. An `etag` here makes a matching `If-None-Match` answer 304. */
  headers?: Record<string, string>;
  /** The body (default empty). */
  body?: string | Uint8Array;
}

/**
 * What a {@link FeedServer} answers on one path: a body (string or bytes, served `200 text/plain`),
 * a {@link FeedResponse}, or a {@link FeedHandler} that answers by itself.
 */
export type FeedAnswer = string | Uint8Array | FeedResponse | FeedHandler;

/** A local HTTP server for tests, from {@link serveFeeds}; `close()` (or `await using`) stops it. */
export interface FeedServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly base: string;
  /** The full URL of a path on this server: `base + path` (`path` starts with `/`). */
  url(path: string): string;
  /** Answers `path` (e.g. `/feed.txt`) with `answer` from now on, replacing any earlier answer. */
  set(path: string, answer: FeedAnswer): void;
  /** Stops answering `path` (it is a 404 again); `true` when it had an answer. */
  delete(path: string): boolean;
  /** How many requests `path` got so far, 404s included (a request with a query string counts under the path that answered it). */
  hits(path: string): number;
  /** Stops the server, closing open (keep-alive) connections, and waits until it is closed. */
  close(): Promise<void>;
}

function checkPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`serveFeeds: a path must start with "/", got ${JSON.stringify(path)}`);
  return path;
}

/** Writes a static answer, honouring `If-None-Match` for an answer that carries an `etag`. */
function writeAnswer(req: IncomingMessage, res: ServerResponse, answer: Exclude<FeedAnswer, FeedHandler>): void {
  const given = typeof answer === 'string' || answer instanceof Uint8Array ? { body: answer } : answer;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given.headers ?? {})) headers[name.toLowerCase()] = value;
  headers['content-type'] ??= 'text/plain';
  const etag = headers.etag;
  if (etag !== undefined && req.headers['if-none-match'] === etag) {
    res.writeHead(304, { etag }).end();
    return;
  }
  res.writeHead(given.status ?? 200, headers).end(given.body ?? '');
}

/**
 * Starts a local HTTP server on `127.0.0.1` (a free port) that answers each path as told: the feed
 * server a source or plugin test fetches from, without reaching the internet. Paths are matched on
 * the request's URL as sent (query string included), then on its path alone; any other path is a
 * 404. Answers can be changed at any time with `set`; `hits` counts the requests per path.
 *
 * @param answers - the initial answers, by path (each path starts with `/`)
 * @returns the started server
 *
 * @example
 * ```ts
 * await using feeds = await serveFeeds({ '/ips.txt': '45.95.146.7\n', '/gone': { status: 410 } });
 * const source = { id: 'ips', url: feeds.url('/ips.txt'), format: 'plain', category: 'scanner' };
 * // … run the source …
 * feeds.set('/ips.txt', { body: '45.95.146.7\n89.248.165.12\n', headers: { etag: '"v2"' } });
 * feeds.set('/slow', (_req, res) => void setTimeout(() => res.end('late'), 100));
 * expect(feeds.hits('/ips.txt')).toBe(1);
 * ```
 */
export async function serveFeeds(answers: Record<string, FeedAnswer> = {}): Promise<FeedServer> {
  const table = new Map<string, FeedAnswer>();
  const counts = new Map<string, number>();
  for (const [path, answer] of Object.entries(answers)) table.set(checkPath(path), answer);

  const server = createServer((req, res) => {
    const sent = req.url ?? '/';
    const bare = sent.split('?')[0]!;
    const path = table.has(sent) ? sent : table.has(bare) ? bare : sent;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const answer = table.get(path);
    // a throwing handler: a 500 naming the error rather than a request that never ends
    const failed = (err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`serveFeeds: the answer for ${path} threw: ${String(err)}\n`);
      else res.destroy();
    };
    try {
      if (answer === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
      else if (typeof answer === 'function') void Promise.resolve(answer(req, res)).catch(failed);
      else writeAnswer(req, res, answer);
    } catch (err) {
      failed(err);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // idle keep-alive sockets and requests a handler never answered must not hold close() up
      server.closeAllConnections();
    });
    return closed;
  };

  return {
    base,
    url: (path) => `${base}${checkPath(path)}`,
    set: (path, answer) => void table.set(checkPath(path), answer),
    delete: (path) => table.delete(path),
    hits: (path) => counts.get(path) ?? 0,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * The body of a {@link RouteRouter} response as text, however the route produced it: a string,
 * bytes, or an async iterable of chunks (read to the end). `''` when there is no response or body.
 *
 * @param res - what `router.handle(...)` returned
 * @returns the body, decoded as UTF-8
 *
 * @example
 * ```ts
 * const router = new RouteRouter(t.app.routes(), { log: t.app.log, servedScopes: ['read'] });
 * const res = await router.handle({ method: 'GET', url: '/api/blacklist/export?format=plain' });
 * expect(await responseText(res)).toContain('45.95.146.7');
 * ```
 */
export async function responseText(res: RouterResponse | undefined): Promise<string> {
  const body = res?.body;
  if (body === undefined) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  // one decoder for the whole stream: a character split across two chunks is decoded whole
  const decoder = new TextDecoder();
  let out = '';
  for await (const chunk of body) out += typeof chunk === 'string' ? decoder.decode() + chunk : decoder.decode(chunk, { stream: true });
  return out + decoder.decode();
}
