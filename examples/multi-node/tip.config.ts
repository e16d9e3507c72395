// Configuration shared by every process of the multi-node example: N workers
// (`tip run --role worker`) and one web process (`tip run --role web --http …`) read this same file.
// They share one PostgreSQL database; pg-boss (in the `tip_pgboss` schema of that database)
// hands each run to exactly one worker.
//
// Environment (set by start.ts; the usual TIP_… overrides work too, e.g. TIP_DATABASE__URL):
//   MULTI_NODE_DATABASE_URL  the PostgreSQL database (default postgres://postgres@127.0.0.1:5432/tip_multi_node)
//   MULTI_NODE_FEEDS         base URL of the local feed server start.ts runs (default http://127.0.0.1:8070)
import type { TipConfigFile } from '@tip/core';

const feeds = process.env.MULTI_NODE_FEEDS ?? 'http://127.0.0.1:8070';

const config: TipConfigFile = {
  database: {
    // SQLite cannot be shared by several processes: the pg-boss backend refuses it at start.
    url: process.env.MULTI_NODE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tip_multi_node',
    // Per process: this pool + pg-boss's (concurrency + 2) + one advisory-lock connection; keep
    // processes × that under the server's max_connections (100 by default).
    poolSize: 5,
  },
  log: { level: 'info' },
  scheduler: {
    backend: 'pg-boss',
    // Jobs each worker runs at once; the cluster runs workers × concurrency.
    concurrency: 4,
    // SIGTERM: running jobs get this long to finish, then go back to pg-boss for another worker.
    drainTimeout: '15s',
    // tip_worker heartbeats: `tip status` lists the workers seen in the last lease.
    heartbeat: '5s',
    pgBoss: {
      schema: 'tip_pgboss',
      pollInterval: '1s',
      monitorInterval: '10s',
      // A killed worker's job is retried elsewhere about jobHeartbeat + monitorInterval later.
      jobHeartbeat: '30s',
      crashRetries: 2,
    },
  },
  http: { timeout: '15s' },
  plugins: ['@tip/plugin-blacklist'],
  blacklist: {
    // The first cycle starts when the first worker is up, then every 10 minutes; whichever worker
    // claims a slot enqueues it, and the four feeds run as group children spread over the workers.
    interval: '10m',
    feeds: [
      { id: 'example-drop', title: 'Example DROP-style netblocks', url: `${feeds}/feeds/drop.txt`, format: 'drop', category: 'malware', license: 'sample data' },
      { id: 'example-scanners', title: 'Example scanners', url: `${feeds}/feeds/scanners.txt`, format: 'plain', category: 'scanner', license: 'sample data' },
      { id: 'example-malware-hosts', title: 'Example malware hosts', url: `${feeds}/feeds/malware-hosts.txt`, format: 'hosts', category: 'malware', license: 'sample data' },
      { id: 'example-phishing', title: 'Example phishing URLs', url: `${feeds}/feeds/phishing-urls.txt`, format: 'plain', category: 'phishing', license: 'sample data' },
    ],
  },
};

export default config;
