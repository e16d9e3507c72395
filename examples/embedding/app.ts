// Embedding TIP in an existing Node service: the service owns the process, the HTTP server and the
// signals; TIP is one more component with start/stop. Three things to note:
// - no global state: the app has its own container, events, metrics and database;
// - everything TIP does is reachable in code: events, the scheduler, the blacklist service;
// - TIP's web UI and API (@tip/web) mount under a path of the service's own server (`/tip`), in
//   the same process, through `createWebServer(app, { prefix: '/tip' }).handler`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTip, definePlugin, every, type AnyPlugin, type Logger, type TipApp } from '@tip/core';
import blacklist, { BlacklistToken, type FeedConfig } from '@tip/plugin-blacklist';

/**
 * The part of `@tip/web` this service uses (see docs/http-api.md). It is imported dynamically and
 * typed here so the service also runs where `@tip/web` is not installed (`web: false`).
 */
interface WebModule {
  /** The web plugin factory. */
  default: () => AnyPlugin;
  /** Builds the web server of a loaded app. */
  createWebServer(app: TipApp, options?: { prefix?: string; log?: Logger }): Promise<{
    /** `node:http` request listener serving everything under the prefix. */
    readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
    /** Releases the server's resources (the stream, timers). */
    close(): Promise<void>;
  }>;
}

/** Options of {@link startService}. */
export interface ServiceOptions {
  /** TIP's database URL (`sqlite:…` or `postgres://…`). */
  databaseUrl: string;
  /** Blacklist feeds to collect (validated by the blacklist plugin's config schema). */
  feeds: Array<Partial<FeedConfig>>;
  /** HTTP port of the service (default 0: a free port). */
  port?: number;
  /** Logger for TIP (default: TIP's own pino logger). */
  log?: Logger;
  /** Serve TIP's web UI and API under `/tip` (default true; needs `@tip/web`). */
  web?: boolean;
}

/** A running service. */
export interface Service {
  /** The embedded TIP app. */
  tip: TipApp;
  /** What the service's own plugin recorded (audit job runs, completed blacklist cycles). */
  audit: string[];
  /** Base URL of the service's HTTP server. */
  url: string;
  /** Stops the HTTP server, then TIP. */
  stop(): Promise<void>;
}

/**
 * Starts the service: TIP (blacklist plugin + a tiny plugin of the service's own) and an HTTP server
 * with its own routes `/` and `/healthz`, `/blacklist.txt` (the generated list), and TIP's web UI
 * and API under `/tip/` (`/tip/api/...`).
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const audit: string[] = [];
  const housekeeping = definePlugin({
    name: 'my-service.housekeeping',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      ctx.jobs.add({ id: 'my-service.audit', trigger: every('1h'), run: () => void audit.push(new Date().toISOString()) });
      // React to TIP's events like to any other event source.
      ctx.events.on('blacklist.cycle.completed', (e) => void audit.push(`cycle ${e.cycleId}: +${e.added} -${e.removed}`));
    },
  });
  const web = options.web === false ? undefined : ((await import('@tip/web')) as unknown as WebModule);
  const tip = await createTip({
    config: { database: { url: options.databaseUrl }, blacklist: { feeds: options.feeds } },
    plugins: [blacklist(), housekeeping, ...(web ? [web.default()] : [])],
    ...(options.log ? { logger: options.log } : {}),
  });
  await tip.start();
  // TIP's UI and API, mounted under /tip of the service's own server (no second port).
  const tipWeb = web ? await web.createWebServer(tip, { prefix: '/tip', ...(options.log ? { log: options.log } : {}) }) : undefined;

  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (tipWeb && (path === '/tip' || path.startsWith('/tip/'))) return tipWeb.handler(req, res);
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(`my service\n${tipWeb ? 'threat intelligence: /tip/\n' : ''}blacklist: /blacklist.txt\n`);
    }
    if (req.url === '/healthz') return void res.end(tip.state === 'started' ? 'ok\n' : 'starting\n');
    if (req.url === '/blacklist.txt') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      await tip.get(BlacklistToken).export({ format: 'plain', minScore: 0.1 }, (chunk) => void res.write(chunk));
      return void res.end();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));

  return {
    tip,
    audit,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // the UI's live stream keeps a connection open
      await closed;
      await tipWeb?.close();
      await tip.stop(); // drains running jobs, closes the database
    },
  };
}

// Run directly: node examples/embedding/app.ts <feed-url>
if (import.meta.url === `file://${process.argv[1]}`) {
  const feed = process.argv[2];
  if (!feed) {
    console.error('usage: node examples/embedding/app.ts <feed-url>');
    process.exit(2);
  }
  const service = await startService({ databaseUrl: 'sqlite:./data/embedded.sqlite', feeds: [{ id: 'feed', url: feed, format: 'plain', category: 'other' }], port: 8088 });
  console.log(`service at ${service.url}/ (TIP under ${service.url}/tip/, the list at ${service.url}/blacklist.txt)`);
  const stop = async () => { await service.stop(); process.exit(0); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
