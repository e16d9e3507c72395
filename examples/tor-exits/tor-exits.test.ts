import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouteRouter } from '@tip/core';
import { startTestTip, testDialects } from '@tip/core/testing';
import torExits, { TorExitsToken } from './src/index.ts';

const feeds: Record<string, string> = {
  '/a.txt': '# ExitAddress list\n185.220.101.1\n185.220.101.2\n2001:db8::1\nnot an address\n',
  '/b.txt': '185.220.101.2\n199.249.230.87\n',
};
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const body = feeds[req.url ?? ''];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const config = () => ({ tor: { feeds: [{ id: 'a', url: `${base}/a.txt` }, { id: 'b', url: `${base}/b.txt` }] } });

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe.each(testDialects())('tor-exits example plugin on %s', (dialect) => {
  it('collects feeds into its own table, atomically, and answers its routes', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [torExits()], config: config(), start: { schedule: false } });
    const refreshed: unknown[] = [];
    t.app.events.on('tor.exits.refreshed', (e) => void refreshed.push(e));
    const run = await t.app.scheduler.trigger('tor');
    expect(run.status).toBe('succeeded');
    const children = await t.app.scheduler.history({ parentId: run.id });
    expect(children.find((c) => c.jobId === 'tor/tor-a')?.counts).toMatchObject({ listed: 3, skipped: 1 });
    expect(await t.app.get(TorExitsToken).listed()).toEqual(['185.220.101.1', '185.220.101.2', '199.249.230.87', '2001:db8::1']);
    expect(refreshed).toEqual([{ listed: 4, added: 5, removed: 0 }]); // 185.220.101.2 is in both feeds

    const router = new RouteRouter(t.app.routes(), { log: t.app.log, servedScopes: ['read'] });
    const found = await router.handle({ method: 'GET', url: '/api/tor/exits/185.220.101.1' });
    expect(found?.status).toBe(200);
    expect(JSON.parse(found!.body as string)).toMatchObject({ ip: '185.220.101.1', listed: true, sources: ['tor-a'] });
    expect((await router.handle({ method: 'GET', url: '/api/tor/exits/10.0.0.1' }))?.status).toBe(404);
    expect((await router.handle({ method: 'GET', url: '/api/tor/exits/nope' }))?.status).toBe(400);

    // A feed that turns empty fails its run and keeps the previous data.
    const before = feeds['/b.txt'];
    feeds['/b.txt'] = '# nothing today\n';
    const second = await t.app.scheduler.trigger('tor');
    const failed = (await t.app.scheduler.history({ parentId: second.id })).find((c) => c.jobId === 'tor/tor-b');
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringContaining('TOR_FEED_EMPTY') });
    expect(await t.app.get(TorExitsToken).listed()).toContain('199.249.230.87');
    feeds['/b.txt'] = before!;
  });

  it('its migration creates exactly the schema its entity declares', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [torExits()], config: config(), start: { schedule: false } });
    expect((await t.app.db.orm.schema.getUpdateSchemaSQL({ wrap: false })).trim()).toBe('');
  });

  it('runs its check service only when the app serves', async () => {
    const port = await freePort();
    const cfg = { tor: { ...config().tor, check: { host: '127.0.0.1', port } } };
    {
      await using t = await startTestTip({ database: dialect, plugins: [torExits()], config: cfg, start: { schedule: false } });
      await t.app.scheduler.trigger('tor');
      await expect(fetch(`http://127.0.0.1:${port}/?ip=185.220.101.1`)).rejects.toThrow();
    }
    await using served = await startTestTip({ database: dialect, plugins: [torExits()], config: cfg, start: { mode: 'serve', schedule: false } });
    await served.app.scheduler.trigger('tor');
    const deadline = Date.now() + 20_000;
    let answer = '';
    while (Date.now() < deadline) {
      const health = await served.app.health();
      if (health.services[0]?.health.ok) {
        answer = await (await fetch(`http://127.0.0.1:${port}/?ip=199.249.230.87`)).text();
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(answer).toBe('exit\n');
  });
});
