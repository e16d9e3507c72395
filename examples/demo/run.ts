#!/usr/bin/env node
// The TIP demo deployment (`./dev demo`): a fresh SQLite database, the blacklist plugin collecting
// six generated feeds that change every 20 s (./generator.ts, served by ./feed-server.ts), the
// example third-party plugin @acme/tip-plugin-sightings (../custom-source: its own feed format,
// table, API routes and web UI page) collecting a generated sightings feed, the demo plugin
// fetching static sample feeds, and the web UI (@tip/web; the CLI status page when @tip/web is
// not built). Needs the build (`./dev build`).
//
//   node examples/demo/run.ts [--port <n>] [--data <dir>] [--seed <n>]
//     --port  web UI port (default $PORT or 8080; 0 picks a free port)
//     --data  data folder, wiped at start (default $TIP_DEMO_DATA or examples/demo/data)
//     --seed  seed of the generated feeds (default $TIP_DEMO_SEED or 1): same seed, same feeds
//   $TIP_DEMO_LOG_FORMAT=json prints pino JSON lines instead of readable ones.
//   $TIP_DEMO_SLOT_MS sets the length of a feed time slot (default 20000).
// Inspect it from another terminal: node packages/cli/dist/bin.js status -c examples/demo/tip.config.json
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: { port: { type: 'string' }, data: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log('usage: node examples/demo/run.ts [--port <n>] [--data <dir>] [--seed <n>]');
  process.exit(0);
}
const seed = values.seed ?? process.env.TIP_DEMO_SEED ?? '1';
if (!/^\d{1,9}$/.test(seed)) {
  console.error(`demo: --seed must be a whole number (got "${seed}")`);
  process.exit(2);
}
const slotMs = Number(process.env.TIP_DEMO_SLOT_MS ?? '20000');
if (!Number.isInteger(slotMs) || slotMs < 1000 || slotMs > 3_600_000) {
  console.error(`demo: TIP_DEMO_SLOT_MS must be milliseconds between 1000 and 3600000 (got "${process.env.TIP_DEMO_SLOT_MS}")`);
  process.exit(2);
}
const port = values.port ?? process.env.PORT ?? '8080';
if (!/^\d+$/.test(port) || Number(port) > 65535) {
  console.error(`demo: --port must be a port number (got "${port}")`);
  process.exit(2);
}
const dataDir = resolve(values.data ?? process.env.TIP_DEMO_DATA ?? join(here, 'data'));
// A busy port is the most common way for the demo to fail: say so before starting anything.
if (port !== '0') {
  const { createServer } = await import('node:net');
  const probe = createServer();
  const busy = await new Promise<string | null>((done) => {
    probe.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    probe.listen(Number(port), '127.0.0.1', () => probe.close(() => done(null)));
  });
  if (busy !== null) {
    const why = busy === 'EADDRINUSE' ? 'is already in use (another demo or program listens there)' : `cannot be used (${busy})`;
    console.error(`demo: port ${port} on 127.0.0.1 ${why}; choose another with --port, e.g. ./dev demo --port 8081 (--port 0 picks a free one)`);
    process.exit(1);
  }
}

const cli = new URL('../../packages/cli/dist/index.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('demo: the tip CLI is not built yet: run ./dev build (or node_modules/.bin/tsc -b) first');
  process.exit(1);
}

// A fresh data folder each time; the config's database URL is overridden to point into it.
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
process.env.TIP_DATABASE__URL = `sqlite:${join(dataDir, 'tip.sqlite')}`;
console.log(`demo: data in ${dataDir}; stop with Ctrl+C`);

/**
 * Something the demo runs next to TIP: started in order before TIP, stopped in reverse after it.
 * The generated feeds are one; a spamtrap agent or a local DNS server join the same way.
 */
interface DemoService {
  /** Name in the progress lines. */
  name: string;
  /** Starts it; resolves with how to stop it and a line saying what it serves. */
  start(): Promise<{ close(): Promise<void>; describe: string }>;
}

const { startFeedServer } = await import('./feed-server.ts');
const { DEMO_FEEDS, DEMO_SIGHTINGS_FEED } = await import('./generator.ts');
const services: DemoService[] = [
  {
    name: 'feeds',
    async start() {
      // The feeds' URLs are only known once the server listens, so they reach the config through
      // environment overrides: the blacklist plugin's feeds (blacklist.feeds), and the sightings
      // plugin's (acme.feeds, replacing the placeholder of tip.config.json).
      const server = await startFeedServer({ dir: join(here, 'feeds'), failEvery: 0, seed: Number(seed), slotMs });
      process.env.TIP_BLACKLIST__FEEDS = JSON.stringify(
        DEMO_FEEDS.map((f) => ({
          id: f.id,
          title: f.title,
          url: `${server.url}/gen/${f.file}`,
          format: f.format,
          ...(f.options ? { options: f.options } : {}),
          category: f.category,
          license: 'generated demo data',
        })),
      );
      process.env.TIP_ACME__FEEDS = JSON.stringify([{ id: DEMO_SIGHTINGS_FEED.id, title: DEMO_SIGHTINGS_FEED.title, url: `${server.url}/gen/${DEMO_SIGHTINGS_FEED.file}` }]);
      return {
        close: () => server.close(),
        describe: `${DEMO_FEEDS.length} generated feeds and a sightings feed at ${server.url}/gen/ (seed ${seed}, new slot every ${slotMs / 1000}s)`,
      };
    },
  },
  // e.g. { name: 'spamtrap', start: () => startSpamtrap(...) }, { name: 'dns', start: () => startDns(...) }
];
const running: Array<{ name: string; close(): Promise<void> }> = [];
const stopServices = async () => {
  for (const s of running.reverse()) await s.close().catch((err: unknown) => console.error(`demo: stopping ${s.name} failed: ${String(err)}`));
};
for (const service of services) {
  const started = await service.start();
  running.push({ name: service.name, close: started.close });
  console.log(`demo: ${service.name}: ${started.describe}`);
}

// The web UI comes with @tip/web. Until its build exists, the demo runs without it (the CLI's
// status page then answers --http) from a copy of the config without '@tip/web' and its `web`
// section (a section no plugin reads is a configuration error).
let config = join(here, 'tip.config.json');
const web = await import('@tip/web').then((m: Record<string, unknown>) => typeof m.default === 'function').catch(() => false);
if (!web) {
  const doc = JSON.parse(readFileSync(config, 'utf8')) as { plugins: Array<string | [string, unknown]>; web?: unknown };
  delete doc.web;
  const absolute = (spec: string) => (spec.startsWith('.') ? join(here, spec) : fileURLToPath(import.meta.resolve(spec)));
  doc.plugins = doc.plugins
    .filter((p) => (Array.isArray(p) ? p[0] : p) !== '@tip/web')
    .map((p) => (Array.isArray(p) ? [absolute(p[0]), p[1]] : absolute(p)));
  config = join(dataDir, 'tip.config.json');
  writeFileSync(config, JSON.stringify(doc, null, 2));
  console.log('demo: @tip/web is not built: serving the CLI status page instead of the web UI');
}

const { main } = (await import(cli.href)) as typeof import('@tip/cli');
let code = 1;
try {
  code = await main([
    'run',
    '--config', config,
    '--http', `127.0.0.1:${port}`,
    '--log-format', process.env.TIP_DEMO_LOG_FORMAT ?? 'pretty',
  ]);
} finally {
  await stopServices();
}
process.exit(code);
