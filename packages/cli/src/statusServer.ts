import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthzBody, RouteRouter, type HealthzBody, type Logger, type TipApp } from '@tip/core';
import { HintedError } from './errors.js';
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
  /**
   * What it serves (default `'status'`): `'status'` the page, the JSON API, `/healthz` and
   * `/metrics`; `'health'` only `/healthz` and `/metrics` — the per-process health and metrics of a
   * worker (`tip run --role worker --http …`), every other path answers 404.
   */
  serves?: 'status' | 'health';
}

/** A running status server. */
export interface StatusServer {
  /** `http://host:port/` with the port actually bound. */
  readonly url: string;
  /** The interface it is bound to. */
  readonly host: string;
  /** The port it listens on (the one picked when `0` was asked). */
  readonly port: number;
  /** The underlying `node:http` server. */
  readonly server: Server;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the status web server of a started app: `GET /` (an HTML page), `GET /metrics`
 * (Prometheus), `GET /healthz` (JSON {@link HealthzBody}: 200 when ok, 503 with the reasons from
 * `app.health()`; it names the worker id and role of the process), and every `read` route of the
 * app's routes point under `/api` — core's `/api/jobs`, `/api/runs`, `/api/health` and each
 * plugin's `/api/<prefix>/…`. It has no authentication, so `admin` routes answer 403; it binds
 * 127.0.0.1 unless told otherwise. With `serves: 'health'` only `/healthz` and `/metrics` are served.
 */
export async function startStatusServer(app: TipApp, options: StatusServerOptions = {}): Promise<StatusServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? app.log;
  const refreshSeconds = options.refreshSeconds ?? 5;
  const full = (options.serves ?? 'status') === 'status';
  const router = full ? new RouteRouter(app.routes(), { log, servedScopes: ['read'] }) : undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (router && (await router.handleNode(req, res))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      throw new HttpError(405, 'method not allowed');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/healthz': {
        const health = await app.health();
        return send(res, health.ok ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(healthzBody(health))}\n`);
      }
      case '/metrics':
        return send(res, 200, app.metrics.registry.contentType, await app.metrics.text());
      case '/': {
        if (!full) throw new HttpError(404, 'not found: / (this worker serves only /healthz and /metrics)');
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
  const wanted = options.port ?? 8080;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, host, wanted)));
    server.listen(wanted, host, () => {
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

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** A listen failure as an error that names the address and says what to do (a busy port is common). */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const other = `--http ${host.includes(':') ? `[${host}]` : host}:<port>`;
  if (err.code === 'EADDRINUSE') {
    return new HintedError(`cannot serve on ${address}: the address is already in use (another TIP or another program listens there)`, `choose another port with ${other} (port 0 picks a free one)`, 1, err);
  }
  if (err.code === 'EACCES') return new HintedError(`cannot serve on ${address}: permission denied`, `ports below 1024 need privileges; choose another with ${other}`, 1, err);
  if (err.code === 'EADDRNOTAVAIL') return new HintedError(`cannot serve on ${address}: no such local address`, `listen on an address of this machine, e.g. --http 127.0.0.1:${port}`, 1, err);
  return err;
}
