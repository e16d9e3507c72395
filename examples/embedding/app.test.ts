import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDatabase, testDialects } from '@tip/core/testing';
import { startService } from './app.ts';

let feeds: Server;
let feedUrl = '';
beforeAll(async () => {
  feeds = createServer((_req, res) => res.end('# sample\n45.95.146.7\n89.248.165.12\n'));
  await new Promise<void>((r) => feeds.listen(0, '127.0.0.1', r));
  feedUrl = `http://127.0.0.1:${(feeds.address() as AddressInfo).port}/ips.txt`;
});
afterAll(() => new Promise<void>((r) => feeds.close(() => r())));

describe.each(testDialects())('embedding on %s', (dialect) => {
  it('runs inside a host service and serves the generated list', async () => {
    const db = await tempDatabase(dialect);
    const service = await startService({ databaseUrl: db.url, feeds: [{ id: 'feed', url: feedUrl, format: 'plain', category: 'scanner' }], log: pino({ level: 'silent' }) });
    try {
      // the blacklist cycle runs right after start (an every-trigger's first run); wait for its event
      for (let i = 0; i < 200 && !service.audit.some((a: string) => a.startsWith('cycle ')); i++) await new Promise((r) => setTimeout(r, 50));
      expect(service.audit.some((a: string) => a.startsWith('cycle '))).toBe(true);
      expect(await (await fetch(`${service.url}/healthz`)).text()).toBe('ok\n');
      const list = await (await fetch(`${service.url}/blacklist.txt`)).text();
      expect(list.split('\n').filter((l: string) => l && !l.startsWith('#')).sort()).toEqual(['45.95.146.7', '89.248.165.12']);
    } finally {
      await service.stop();
      await db.drop();
    }
    expect(service.tip.state).toBe('stopped');
  });
});
