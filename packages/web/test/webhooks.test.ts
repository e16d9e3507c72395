import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tempDatabase, testDialects } from '@tip/core/testing';
import { signWebhook } from '../src/stream/index.js';
import { api, closeAfterEach, emit, startStreamApp, waitFor } from './stream-support.js';

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local receiver answering with `answer(n)` (the status of the n-th request, from 0). */
async function receiver(answer: (n: number) => number | Promise<number> = () => 200): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = got.length;
      got.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      void Promise.resolve(answer(n)).then((status) => res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? `nope ${n}\n`.repeat(2000) : 'ok'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const { track, closeAll } = closeAfterEach();

interface Hook {
  id: string;
  secret: string;
  pending: number;
  failed: number;
  lastError: string | null;
}

function verify(r: Received, secret: string): boolean {
  const ts = String(r.headers['x-tip-timestamp']);
  const expected = `sha256=${createHmac('sha256', secret).update(`${ts}.${r.body}`).digest('hex')}`;
  const got = String(r.headers['x-tip-signature']);
  return got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected));
}

describe.each(testDialects())('webhooks on %s', (dialect) => {
  it('delivers signed events of the subscribed types; admin only; refuses non-http URLs', async () => {
    const rx = track(await receiver());
    const t = track(await startStreamApp({ database: dialect, mode: 'serve', stream: { webhooks: { backoff: '20ms' } } }));
    const created = await api<Hook & { url: string; types: string[] }>(t.url, 'POST', '/webhooks', { url: rx.url, types: ['blacklist.*'] });
    expect(created.status).toBe(201);
    expect(created.body.secret.length).toBeGreaterThanOrEqual(16);
    expect(created.body.types).toEqual(['blacklist.*']);

    await emit(t.app, 'job.finished', { jobId: 'j', runId: 'r', status: 'succeeded', durationMs: 1 }); // not subscribed
    await emit(t.app, 'blacklist.listings.changed', { source: 'feed-a', added: 2, removed: 0, sampleAdded: ['1.2.3.4', '5.6.7.8'], sampleRemoved: [] });
    await waitFor(() => rx.got.length >= 1, 'a delivery');
    await emit(t.app, 'blacklist.weights.updated', { cycleId: 'c', weights: [] });
    await waitFor(() => rx.got.length >= 2, 'the second delivery');

    const [first, second] = rx.got;
    expect(first!.headers['x-tip-event']).toBe('blacklist.listings.changed');
    expect(first!.headers['content-type']).toBe('application/json');
    expect(first!.headers['x-tip-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(verify(first!, created.body.secret)).toBe(true);
    expect(verify(first!, 'another secret of enough length')).toBe(false);
    expect(first!.headers['x-tip-signature']).toBe(signWebhook(created.body.secret, String(first!.headers['x-tip-timestamp']), first!.body));
    const body = JSON.parse(first!.body) as { seq: number; type: string; at: string; data: unknown };
    expect(body.type).toBe('blacklist.listings.changed');
    expect(body.data).toEqual({ source: 'feed-a', added: 2, removed: 0, sampleAdded: ['1.2.3.4', '5.6.7.8'], sampleRemoved: [] });
    expect(second!.headers['x-tip-event']).toBe('blacklist.weights.updated');
    expect(rx.got.every((r) => r.headers['x-tip-event'] !== 'job.finished')).toBe(true);

    // listing hides secrets; read scope cannot manage webhooks
    const list = await api<{ webhooks: Array<Record<string, unknown>> }>(t.url, 'GET', '/webhooks');
    expect(list.body.webhooks).toHaveLength(1);
    expect(list.body.webhooks[0]!.secret).toBeUndefined();
    expect((await api(t.url, 'GET', '/webhooks', undefined, 'read')).status).toBe(403);
    expect((await api(t.url, 'POST', '/webhooks', { url: rx.url }, 'read')).status).toBe(403);
    expect((await api(t.url, 'GET', '/events', undefined, 'read')).status).toBe(200);

    for (const url of ['file:///etc/passwd', 'ftp://example.org/x', 'javascript:alert(1)', 'not a url', 'http://user:pw@127.0.0.1/x']) {
      const res = await api<{ error: string }>(t.url, 'POST', '/webhooks', { url });
      expect(res.status, url).toBe(400);
      expect(res.body.error).toMatch(/url/);
    }
    expect((await api(t.url, 'POST', '/webhooks', { url: rx.url, types: ['bad type!'] })).status).toBe(400);

    expect((await api(t.url, 'DELETE', `/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await api(t.url, 'DELETE', `/webhooks/${created.body.id}`)).status).toBe(404);
    expect((await api<{ webhooks: unknown[] }>(t.url, 'GET', '/webhooks')).body.webhooks).toEqual([]);
  });

  it('retries a failing delivery with exponential back-off, then gives up', async () => {
    const always500 = track(await receiver(() => 500));
    const flaky = track(await receiver((n) => (n < 2 ? 503 : 200)));
    const backoff = 60;
    const t = track(await startStreamApp({ database: dialect, mode: 'serve', stream: { webhooks: { backoff: `${backoff}ms`, retries: 3 } } }));
    const dead = (await api<Hook>(t.url, 'POST', '/webhooks', { url: always500.url })).body;
    await api<Hook>(t.url, 'POST', '/webhooks', { url: flaky.url });
    await emit(t.app, 'service.failed', { serviceId: 's', error: 'boom', attempt: 1, restartInMs: 10 });

    await waitFor(() => flaky.got.length >= 3, 'the flaky receiver to succeed');
    await waitFor(async () => (await api<{ webhooks: Hook[] }>(t.url, 'GET', '/webhooks')).body.webhooks.find((h) => h.id === dead.id)!.failed === 1, 'the delivery to be given up');
    // 1 attempt + 3 retries, all of the same delivery, each wait at least twice the previous
    expect(always500.got).toHaveLength(4);
    expect(new Set(always500.got.map((r) => r.headers['x-tip-delivery'])).size).toBe(1);
    const gaps = always500.got.slice(1).map((r, i) => r.at - always500.got[i]!.at);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(backoff * 2 ** i - 2));
    const hook = (await api<{ webhooks: Hook[] }>(t.url, 'GET', '/webhooks')).body.webhooks.find((h) => h.id === dead.id)!;
    expect(hook.pending).toBe(0);
    expect(hook.lastError).toMatch(/^HTTP 500: nope/);
    expect(hook.lastError!.length).toBeLessThan(300);
    await new Promise((r) => setTimeout(r, backoff * 10));
    expect(always500.got).toHaveLength(4);
    expect(flaky.got).toHaveLength(3);
    expect(new Set(flaky.got.map((r) => r.body)).size).toBe(1);
    const metrics = await t.app.metrics.text();
    expect(metrics).toMatch(/tip_web_webhook_attempts_total\{outcome="failed"\} 1/);
    expect(metrics).toMatch(/tip_web_webhook_attempts_total\{outcome="retry"\} 5/);
    expect(metrics).toMatch(/tip_web_webhook_attempts_total\{outcome="delivered"\} 1/);
    expect(metrics).toMatch(/tip_web_events_recorded_total 1/);
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const stuck = track(await receiver(() => new Promise<number>(() => {})));
    const t = track(await startStreamApp({ database: dialect, mode: 'serve', stream: { webhooks: { backoff: '10ms', retries: 1, timeout: '200ms' } } }));
    const hook = (await api<Hook>(t.url, 'POST', '/webhooks', { url: stuck.url })).body;
    await emit(t.app, 'service.failed', { serviceId: 's', error: 'boom', attempt: 1, restartInMs: 10 });
    await waitFor(async () => (await api<{ webhooks: Hook[] }>(t.url, 'GET', '/webhooks')).body.webhooks[0]!.failed === 1, 'the delivery to time out twice');
    expect(stuck.got).toHaveLength(2);
    expect((await api<{ webhooks: Hook[] }>(t.url, 'GET', '/webhooks')).body.webhooks[0]!.lastError).toMatch(/200ms/);
    expect(hook.id).toBeTruthy();
  });

  it('keeps events a delivery still needs when the log is pruned', async () => {
    const rx = track(await receiver((n) => (n < 5 ? 500 : 200)));
    const t = track(await startStreamApp({ database: dialect, mode: 'serve', stream: { keep: 10, webhooks: { backoff: '100ms', concurrency: 1 } } }));
    await api(t.url, 'POST', '/webhooks', { url: rx.url, types: ['job.finished'] });
    const N = 30;
    for (let i = 0; i < N; i++) await emit(t.app, 'job.finished', { jobId: 'j', runId: `k${i}`, status: 'succeeded', durationMs: i });
    const ok = () => rx.got.filter((_, n) => n >= 5).map((r) => (JSON.parse(r.body) as { data: { runId: string } }).data.runId);
    await waitFor(() => ok().length >= N, 'every delivery to succeed');
    expect(ok()).toHaveLength(N);
    expect(new Set(ok())).toEqual(new Set(Array.from({ length: N }, (_, i) => `k${i}`)));
    expect((await api<{ webhooks: Hook[] }>(t.url, 'GET', '/webhooks')).body.webhooks[0]!.failed).toBe(0);
    // once delivered, the log is pruned to `keep` again at the next write
    await emit(t.app, 'service.failed', { serviceId: 's', error: 'x', attempt: 1, restartInMs: 1 });
    await waitFor(async () => (await api<{ events: unknown[] }>(t.url, 'GET', '/events?after=0&limit=1000')).body.events.length <= 10, 'the log pruned to 10 rows');
  });

  it('sends each delivery once with two processes running the delivery service', async () => {
    const db = await tempDatabase(dialect);
    try {
      const rx = track(await receiver(async () => {
        await new Promise((r) => setTimeout(r, 5));
        return 200;
      }));
      const a = track(await startStreamApp({ database: db, mode: 'serve', stream: { webhooks: { concurrency: 8 } } }));
      const b = track(await startStreamApp({ database: db, mode: 'serve', stream: { webhooks: { concurrency: 8 } } }));
      await api(a.url, 'POST', '/webhooks', { url: rx.url });
      const N = 40;
      for (let i = 0; i < N; i++) await emit(i % 2 ? a.app : b.app, 'job.finished', { jobId: 'j', runId: `r${i}`, status: 'succeeded', durationMs: i });
      await waitFor(() => rx.got.length >= N, `${N} deliveries`);
      await waitFor(async () => (await api<{ webhooks: Hook[] }>(a.url, 'GET', '/webhooks')).body.webhooks[0]!.pending === 0, 'no pending delivery');
      await new Promise((r) => setTimeout(r, 200));
      expect(rx.got).toHaveLength(N);
      expect(new Set(rx.got.map((r) => r.headers['x-tip-delivery'])).size).toBe(N);
      expect(new Set(rx.got.map((r) => (JSON.parse(r.body) as { data: { runId: string } }).data.runId)).size).toBe(N);
    } finally {
      await closeAll();
      await db.drop();
    }
  });
});
