import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTipError } from '@tip/core';
import { startTestTip, testDialects } from '@tip/core/testing';
import blacklist, { BlacklistToken } from '@tip/plugin-blacklist';
import acmeSource from './acme-source.ts';

let server: Server;
let url = '';
const first = { data: ['45.95.146.7', '89.248.165.12', '185.156.73.54', '193.163.125.9', 'not-an-ip!'].map((indicator) => ({ indicator })) };
let answer = first;
beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/bad-ips`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe.each(testDialects())('custom source plugin on %s', (dialect) => {
  it('is collected, diffed and exported by the blacklist plugin', async () => {
    answer = first;
    await using t = await startTestTip({ database: dialect, plugins: [blacklist(), acmeSource({ url })], start: { schedule: false } });
    const run = await t.app.scheduler.trigger('blacklist');
    const [child] = await t.app.scheduler.history({ parentId: run.id });
    expect(child, child?.error).toMatchObject({ jobId: 'blacklist/acme-bad-ips', status: 'succeeded', counts: { added: 4, invalid: 1 } });
    answer = { data: [{ indicator: '45.95.146.7' }, { indicator: '193.163.125.7' }] };
    await t.app.scheduler.trigger('blacklist');
    const out: string[] = [];
    await t.app.get(BlacklistToken).export({ format: 'plain' }, (c) => void out.push(c));
    expect(out.join('').split('\n').filter((l) => l && !l.startsWith('#')).sort()).toEqual(['193.163.125.7', '45.95.146.7']);
    // the metadata declared with blacklistSource() is what the blacklist plugin recorded
    const source = (await t.app.get(BlacklistToken).sources()).find((s) => s.id === 'acme-bad-ips');
    expect(source).toMatchObject({ title: 'ACME bad IPs API', category: 'scanner', origin: 'feed', listed: 2 });
  });
});

describe('custom source plugin options', () => {
  it('a bad url fails when the plugin is created, naming the option', () => {
    let err: unknown;
    try {
      acmeSource({ url: 'ftp://acme.example/bad-ips' });
    } catch (e) {
      err = e;
    }
    expect(isTipError(err, 'TIP_CONFIG_INVALID') && err.details.option).toBe('url');
  });
});
