import { pino } from 'pino';
import { createTip } from '@tip/core';
import blacklist from '@tip/plugin-blacklist';
import { Allowlist } from '../../packages/plugin-blacklist/dist/allowlists/index.js';
import { loadListingTable } from '../../packages/plugin-blacklist/dist/service/weights.js';
import { computeTableMetricsAsync } from '../../packages/plugin-blacklist/dist/weighting/metrics.js';
const app = await createTip({ logger: pino({ level: 'silent' }), config: { database: { url: 'sqlite:/tmp/mb/db/tip.sqlite' }, scheduler: { enabled: false } }, plugins: [blacklist()] });
await app.start();
const now = 1796204636342;
const allow = Allowlist.builtIn();
for (let i = 0; i < 2; i++) {
  let t = performance.now(); let c = process.cpuUsage();
  const table = await loadListingTable(app.db, ['big', 'small1', 'small2'], now - 30 * 86400000, Number(process.argv[2] ?? 5000), allow);
  console.log('load', table.length, (performance.now() - t).toFixed(0), ((process.cpuUsage(c).user) / 1000).toFixed(0));
  t = performance.now(); c = process.cpuUsage();
  await computeTableMetricsAsync({ now, windowMs: 30 * 86400000, sources: ['big', 'small1', 'small2'], runs: [], allowlist: allow, overlapMode: 'containment' }, table);
  console.log('compute', (performance.now() - t).toFixed(0), ((process.cpuUsage(c).user) / 1000).toFixed(0));
}
await app.stop();
