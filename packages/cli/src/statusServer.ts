import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobRunStatus, Logger, TipApp } from '@tip/core';
import { jobInfoJson } from './format.js';
import { renderStatusPage } from './statusPage.js';

/** Options of {@link startStatusServer}. */
export interface StatusServerOptions {
  /** Interface to bind (default `127.0.0.1`). */
  host?: string;
  /** Port (default 8080; `0` picks a free one). */
  port?: number;
  /** Where request failures are logged (default the app's logger). */
  log?: Logger;
  /** Auto-refresh interval of the HTML page (default 5). */
  refreshSeconds?: number;
}

/** A running status server. */
export interface StatusServer {
  /** `http://host:port/` with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

const STATUSES = new Set<JobRunStatus>(['running', 'succeeded', 'failed', 'timeout', 'aborted', 'partial']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Serves a small read-only view of a started app with `node:http` (a stopgap until `@tip/web`):
 *
 * - `GET /`: HTML page of jobs and the 50 newest runs, refreshing itself
 * - `GET /api/jobs`: jobs as JSON
 * - `GET /api/runs?job=&parent=&status=&limit=`: runs as JSON, newest first (limit 1–1000, default 50)
 * - `GET /metrics`: Prometheus text
 * - `GET /healthz`: `ok` (503 `stopping` once the app stops)
 */
export async function startStatusServer(app: TipApp, options: StatusServerOptions = {}): Promise<StatusServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? app.log;
  const refreshSeconds = options.refreshSeconds ?? 5;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      throw new HttpError(405, 'method not allowed');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/healthz':
        return app.state === 'started' ? send(res, 200, 'text/plain; charset=utf-8', 'ok\n') : send(res, 503, 'text/plain; charset=utf-8', `${app.state}\n`);
      case '/metrics':
        return send(res, 200, app.metrics.registry.contentType, await app.metrics.text());
      case '/api/jobs':
        return sendJson(res, app.scheduler.jobs().map(jobInfoJson));
      case '/api/runs':
        return sendJson(res, await app.scheduler.history(runsQuery(url.searchParams)));
      case '/': {
        const [jobs, runs] = [app.scheduler.jobs().sort((a, b) => a.id.localeCompare(b.id)), await app.scheduler.history({ limit: 50 })];
        const html = renderStatusPage({ jobs, runs, now: Date.now(), state: app.state, refreshSeconds });
        res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
        return send(res, 200, 'text/html; charset=utf-8', html);
      }
      default:
        throw new HttpError(404, `not found: ${url.pathname}`);
    }
  };
  const server = createServer((req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error({ err, url: req.url }, 'status server: request failed');
      if (!res.headersSent) send(res, status, 'text/plain; charset=utf-8', `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    host,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function runsQuery(params: URLSearchParams): { jobId?: string; parentId?: string; status?: JobRunStatus; limit: number } {
  const limitText = params.get('limit');
  const limit = limitText === null || limitText === '' ? 50 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, 'limit must be an integer from 1 to 1000');
  const status = params.get('status') || undefined;
  if (status !== undefined && !STATUSES.has(status as JobRunStatus)) throw new HttpError(400, `unknown status "${status}"`);
  return {
    jobId: params.get('job') || undefined,
    parentId: params.get('parent') || undefined,
    status: status as JobRunStatus | undefined,
    limit,
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(value, null, 2)}\n`);
}
