#!/usr/bin/env node
// The TIP demo deployment (`./dev demo`): a fresh SQLite database, the demo plugin fetching
// sample feeds from a local server, and the status page. Needs the build (`./dev build`).
//
//   node examples/demo/run.ts [--port <n>] [--data <dir>]
//     --port  status page port (default $PORT or 8080; 0 picks a free port)
//     --data  data folder, wiped at start (default $TIP_DEMO_DATA or examples/demo/data)
//   $TIP_DEMO_LOG_FORMAT=json prints pino JSON lines instead of readable ones.
// Inspect it from another terminal: node packages/cli/dist/bin.js status -c examples/demo/tip.config.json
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: { port: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log('usage: node examples/demo/run.ts [--port <n>] [--data <dir>]');
  process.exit(0);
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

// The blacklist plugin's feeds are served by a local feed server too; their URLs are only known
// once it listens, so they reach the config through an environment override.
const { startFeedServer } = await import('./feed-server.ts');
const feeds = await startFeedServer({ dir: join(here, 'feeds'), failEvery: 0 });
process.env.TIP_BLACKLIST__FEEDS = JSON.stringify([
  { id: 'demo-drop', title: 'Demo DROP-style netblocks', url: `${feeds.url}/feeds/bl-drop.txt`, format: 'drop', category: 'malware', license: 'sample data' },
  { id: 'demo-scanners', title: 'Demo scanners', url: `${feeds.url}/feeds/bl-scanners.txt`, format: 'plain', category: 'scanner', license: 'sample data' },
  { id: 'demo-malware-hosts', title: 'Demo malware hosts', url: `${feeds.url}/feeds/bl-malware-hosts.txt`, format: 'hosts', category: 'malware', license: 'sample data' },
  { id: 'demo-phishing', title: 'Demo phishing URLs', url: `${feeds.url}/feeds/bl-phishing-urls.txt`, format: 'plain', category: 'phishing', license: 'sample data' },
]);

const { main } = (await import(cli.href)) as typeof import('@tip/cli');
const code = await main([
  'run',
  '--config', join(here, 'tip.config.json'),
  '--http', `127.0.0.1:${port}`,
  '--log-format', process.env.TIP_DEMO_LOG_FORMAT ?? 'pretty',
]);
await feeds.close();
process.exit(code);
