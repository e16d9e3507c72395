// Embedding TIP in an existing Node service: the service owns the process, the HTTP server and the
// signals; TIP is one more component with start/stop. Two things to note:
// - no global state: the app has its own container, events, metrics and database;
// - everything TIP does is reachable in code: events, the scheduler, the blacklist service.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTip, definePlugin, every, type Logger, type TipApp } from '@tip/core';
import blacklist, { BlacklistToken, type FeedConfig } from '@tip/plugin-blacklist';

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
 * with `/blacklist.txt` (the generated list) and `/healthz`.
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
  const tip = await createTip({
    config: { database: { url: options.databaseUrl }, blacklist: { feeds: options.feeds } },
    plugins: [blacklist(), housekeeping],
    ...(options.log ? { logger: options.log } : {}),
  });
  await tip.start();

  const server = createServer(async (req, res) => {
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
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
  console.log(`service at ${service.url}/blacklist.txt`);
  const stop = async () => { await service.stop(); process.exit(0); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
