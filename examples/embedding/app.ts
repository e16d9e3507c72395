// Embedding TIP in an existing Node service: the service owns the process, the HTTP server and the
// signals; TIP is one more component with start/stop. Two things to note:
// - no global state: the app has its own container, events, metrics and database;
// - everything TIP does is reachable in code: events, the scheduler, the blacklist service.
import { createServer } from 'node:http';
import { createTip, definePlugin, every } from '@tip/core';
import blacklist, { BlacklistToken } from '@tip/plugin-blacklist';

/**
 * Starts the service: TIP (blacklist plugin + a tiny plugin of the service's own) and an HTTP server
 * with `/blacklist.txt` (the generated list) and `/healthz`.
 * @param {{ databaseUrl: string, feeds: object[], port?: number, log?: import('pino').Logger }} options
 */
export async function startService(options) {
  const audit = [];
  const housekeeping = definePlugin({
    name: 'my-service.housekeeping',
    version: '1.0.0',
    core: '^0.1.0',
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
  await new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));

  return {
    tip,
    audit,
    url: `http://127.0.0.1:${server.address().port}`,
    async stop() {
      await new Promise((resolve) => server.close(resolve));
      await tip.stop(); // drains running jobs, closes the database
    },
  };
}

// Run directly: node examples/embedding/app.mjs <feed-url>
if (import.meta.url === `file://${process.argv[1]}`) {
  const feed = process.argv[2];
  if (!feed) {
    console.error('usage: node examples/embedding/app.mjs <feed-url>');
    process.exit(2);
  }
  const service = await startService({ databaseUrl: 'sqlite:./data/embedded.sqlite', feeds: [{ id: 'feed', url: feed, format: 'plain', category: 'other' }], port: 8088 });
  console.log(`service at ${service.url}/blacklist.txt`);
  const stop = async () => { await service.stop(); process.exit(0); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
