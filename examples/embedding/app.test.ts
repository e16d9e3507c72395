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

// The web part needs @tip/web (helper A's server). Until it lands, the service runs without it.

describe.each(testDialects())('embedding on %s', (dialect) => {
  it('runs inside a host service and serves the generated list', async () => {
    const db = await tempDatabase(dialect);
    const service = await startService({ databaseUrl: db.url, feeds: [{ id: 'feed', url: feedUrl, format: 'plain', category: 'scanner' }], log: pino({ level: 'silent' }), web: false });
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

  it('serves TIP\'s web UI and API under /tip next to its own routes, in one process', async () => {
    const db = await tempDatabase(dialect);
    const service = await startService({ databaseUrl: db.url, feeds: [{ id: 'feed', url: feedUrl, format: 'plain', category: 'scanner' }], log: pino({ level: 'silent' }) });
    try {
      for (let i = 0; i < 200 && !service.audit.some((a: string) => a.startsWith('cycle ')); i++) await new Promise((r) => setTimeout(r, 50));
      // the service's own routes are untouched
      expect(await (await fetch(`${service.url}/`)).text()).toContain('/tip/');
      expect(await (await fetch(`${service.url}/healthz`)).text()).toBe('ok\n');
      // TIP's API under /tip/api: core routes and the blacklist plugin's
      const health = await fetch(`${service.url}/tip/api/health`);
      expect(health.status).toBe(200);
      const sources = (await (await fetch(`${service.url}/tip/api/blacklist/sources`)).json()) as { sources: Array<{ id: string; listed: number }> };
      expect(sources.sources.find((s) => s.id === 'feed')).toMatchObject({ listed: 2 });
      // the UI (an HTML page whose assets live under /tip/) and the manifest
      const ui = await fetch(`${service.url}/tip/`);
      expect(ui.status).toBe(200);
      expect(ui.headers.get('content-type')).toMatch(/text\/html/);
      const manifest = (await (await fetch(`${service.url}/tip/api/ui/manifest`)).json()) as { plugins: Array<{ name: string }> };
      expect(manifest.plugins.map((p) => p.name)).toEqual(expect.arrayContaining(['@tip/plugin-blacklist', '@tip/web']));
      // paths outside /tip are the service's: TIP does not answer them
      expect((await fetch(`${service.url}/api/health`)).status).toBe(404);
    } finally {
      await service.stop();
      await db.drop();
    }
  });
});
