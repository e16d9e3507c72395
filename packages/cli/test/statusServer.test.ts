import { defineRoute, definePlugin, every } from '@tip/core';
import { startTestTip, testDialects } from '@tip/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { escapeHtml, renderStatusPage } from '../src/statusPage.js';
import { HintedError } from '../src/errors.js';
import { startStatusServer, type StatusServer } from '../src/statusServer.js';
import { waitFor } from './helpers.js';

const plugin = definePlugin({
  name: 'status-test',
  version: '0.0.1',
  core: '^0.2.0',
  register(ctx) {
    ctx.jobs.add({ id: 'ok<script>', trigger: every('1h'), run: () => ({ counts: { n: 2 } }) });
    ctx.jobs.add({ id: 'broken', run: () => Promise.reject(new Error('<b>bad</b> & worse')) });
  },
});

/** A plugin with a read route, an admin route and a service whose health the test controls. */
function routedPlugin(state: { healthy: boolean }) {
  return definePlugin({
    name: '@acme/tip-plugin-routed',
    version: '0.0.1',
    core: '^0.2.0',
    register(ctx) {
      ctx.routes.add(
        defineRoute<{ id: string }>({ method: 'GET', path: '/things/:id', scope: 'read', summary: 'one thing', handler: ({ params }) => ({ id: params.id, kind: 'thing' }) }),
        defineRoute({ method: 'POST', path: '/things', scope: 'admin', summary: 'adds a thing', handler: () => ({ added: true }) }),
      );
      ctx.services.add({
        id: 'routed.watcher',
        start: ({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
        health: () => (state.healthy ? { ok: true } : { ok: false, detail: 'upstream lost' }),
      });
    },
  });
}

async function withServer<T>(app: Parameters<typeof startStatusServer>[0], fn: (server: StatusServer) => Promise<T>): Promise<T> {
  const server = await startStatusServer(app, { port: 0 });
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('status server', () => {
  it('serves the page, the JSON API, metrics and health, escaping HTML', async () => {
    await using t = await startTestTip({ plugins: [plugin], start: { schedule: false } });
    await t.app.scheduler.trigger('ok<script>');
    await t.app.scheduler.trigger('broken');
    await withServer(t.app, async (server) => {
      const base = server.url;
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(base);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      expect(html).not.toContain('<script>');
      expect(html).toContain('ok&#60;script&#62;');
      expect(html).toContain('&#60;b&#62;bad&#60;/b&#62; &#38; worse');
      expect(html).not.toMatch(/<(script|link|img)\b/);

      // Core's routes, served through the routes point: triggers as the job declared them.
      const jobs = (await (await fetch(`${base}api/jobs`)).json()) as Array<{ id: string; triggers: unknown[]; lastRun?: { status: string } }>;
      expect(jobs.find((j) => j.id === 'ok<script>')).toMatchObject({ triggers: [{ every: '1h' }], lastRun: { status: 'succeeded' } });

      const runs = (await (await fetch(`${base}api/runs?job=broken&limit=1`)).json()) as Array<{ status: string; error: string }>;
      expect(runs).toEqual([expect.objectContaining({ status: 'failed', error: '<b>bad</b> & worse' })]);
      expect((await fetch(`${base}api/runs?limit=0`)).status).toBe(400);
      expect((await fetch(`${base}api/runs?status=weird`)).status).toBe(400);
      expect((await (await fetch(`${base}api/health`)).json()) as object).toMatchObject({ ok: true, state: 'started', database: { ok: true } });

      expect(await (await fetch(`${base}metrics`)).text()).toMatch(/tip_job_runs_total\{job="broken",status="failed"\} 1/);
      const healthz = await fetch(`${base}healthz`);
      expect(healthz.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await healthz.json()).toMatchObject({ ok: true, state: 'started', reasons: [], worker: { id: t.app.workers.id, role: 'all' } });
      expect((await fetch(`${base}api/nothing`)).status).toBe(404);
      expect((await fetch(base, { method: 'POST' })).status).toBe(405);
      expect((await fetch(`${base}api/jobs`, { method: 'POST' })).status).toBe(405);
    });
  });

  it("serves plugins' read routes and refuses their admin routes (no authentication here)", async () => {
    await using t = await startTestTip({ plugins: [routedPlugin({ healthy: true })], start: { schedule: false } });
    await withServer(t.app, async ({ url }) => {
      const thing = await fetch(`${url}api/routed/things/a%2Fb`);
      expect(thing.status).toBe(200);
      expect(await thing.json()).toEqual({ id: 'a/b', kind: 'thing' });
      const admin = await fetch(`${url}api/routed/things`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(admin.status).toBe(403);
      expect(((await admin.json()) as { code: string }).code).toBe('TIP_FORBIDDEN');
    });
  });

  it('answers /healthz 503 naming a failing service', async () => {
    const state = { healthy: true };
    await using t = await startTestTip({ plugins: [routedPlugin(state)], start: { mode: 'serve', schedule: false } });
    await withServer(t.app, async ({ url }) => {
      await waitFor('a healthy app', async () => (await fetch(`${url}healthz`)).status === 200);
      state.healthy = false;
      const res = await fetch(`${url}healthz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { reasons: string[] }).reasons).toEqual(['service routed.watcher running: upstream lost']);
    });
  });

  for (const dialect of testDialects()) {
    it(`answers /healthz 503 naming the database when it is gone (${dialect})`, async () => {
      await using t = await startTestTip({ plugins: [plugin], database: dialect, start: { schedule: false } });
      await withServer(t.app, async ({ url }) => {
        expect((await fetch(`${url}healthz`)).status).toBe(200);
        // PostgreSQL: the database is dropped under the app (its connections terminated). SQLite
        // has no server to lose and reopens a closed file, so its connection fails every query.
        if (dialect === 'postgresql') await t.database.drop();
        else vi.spyOn(t.app.em().getConnection(), 'execute').mockRejectedValue(new Error('disk I/O error'));
        const res = await fetch(`${url}healthz`);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { reasons: string[] }).reasons).toEqual([expect.stringMatching(/^database: .+/)]);
      });
    });
  }

  it('renders an empty page and escapes every special character', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
    const html = renderStatusPage({ jobs: [], runs: [], now: 0, state: 'started', refreshSeconds: 5 });
    expect(html).toContain('no jobs');
    expect(html).toContain('no runs yet');
  });
});

describe('status server on a busy port', () => {
  it('fails with an error naming the address and a hint to choose another port', async () => {
    await using t = await startTestTip({ plugins: [plugin], start: { schedule: false } });
    const first = await startStatusServer(t.app, { host: '127.0.0.1', port: 0 });
    try {
      const err = await startStatusServer(t.app, { host: '127.0.0.1', port: first.port }).then(
        (s) => s.close().then(() => null),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HintedError);
      expect((err as HintedError).message).toBe(`cannot serve on 127.0.0.1:${first.port}: the address is already in use (another TIP or another program listens there)`);
      expect((err as HintedError).hint).toBe('choose another port with --http 127.0.0.1:<port> (port 0 picks a free one)');
      expect(((err as HintedError).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    } finally {
      await first.close();
    }
  });
});
