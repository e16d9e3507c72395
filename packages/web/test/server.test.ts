import { createServer, get as httpGet, type IncomingMessage } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestTip, type TestTip } from '@tip/core/testing';
import { createTip } from '@tip/core';
import webPlugin, { createWebServer, type WebServer } from '../src/index.js';
import { acmePlugin, streamGate } from './helpers.js';

// The web server over an app without credentials: loopback clients get everything.
let t: TestTip;
let server: WebServer;
const gate = streamGate();
beforeAll(async () => {
  t = await startTestTip({ plugins: [acmePlugin(gate), webPlugin()], start: { schedule: false } });
  server = await createWebServer(t.app, { port: 0 });
});
afterAll(async () => {
  await server?.close();
  await t?.close();
});

const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

describe('createWebServer: routes', () => {
  it('mounts a third-party plugin under its prefix with the router’s validation', async () => {
    const ok = await server.fastify.inject({ method: 'GET', url: '/api/widgets/items?limit=5' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^application\/json/);
    expect(json(ok.body)).toEqual({ items: [{ id: 1, name: 'first' }] });

    for (const [url, path] of [
      ['/api/widgets/items?limit=0', 'query.limit'],
      ['/api/widgets/items?bogus=1', 'query'],
      ['/api/widgets/items/abc', 'params.id'],
    ] as const) {
      const res = await server.fastify.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      const body = json(res.body) as { code: string; issues: Array<{ path: string }> };
      expect(body.code, url).toBe('TIP_INPUT_INVALID');
      expect(body.issues.map((i) => i.path), url).toContain(path);
    }
    const missing = await server.fastify.inject({ method: 'GET', url: '/api/widgets/items/99' });
    expect(missing.statusCode).toBe(404);
    expect(json(missing.body)).toMatchObject({ code: 'TIP_NOT_FOUND', error: 'no item 99' });

    const bad = await server.fastify.inject({ method: 'POST', url: '/api/widgets/items', payload: { name: '' } });
    expect(bad.statusCode).toBe(400);
    expect((json(bad.body).issues as Array<{ path: string }>)[0]!.path).toBe('body.name');
    const notJson = await server.fastify.inject({ method: 'POST', url: '/api/widgets/items', headers: { 'content-type': 'application/json' }, payload: '{nope' });
    expect(notJson.statusCode).toBe(400);
    const added = await server.fastify.inject({ method: 'POST', url: '/api/widgets/items', payload: { name: 'second' } });
    expect(added.statusCode).toBe(201);
    expect(json(added.body)).toEqual({ id: 2, name: 'second' });
    // the plugin's public event was recorded without any web.stream.types configuration
    let logged: Array<{ type: string; data: unknown }> = [];
    for (let i = 0; i < 500 && logged.length === 0; i++) {
      logged = (json((await server.fastify.inject({ method: 'GET', url: '/api/web/events?types=widgets.changed' })).body) as { events: typeof logged }).events;
      if (logged.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(logged).toMatchObject([{ type: 'widgets.changed', data: { name: 'second' } }]);

    const tooLarge = await server.fastify.inject({ method: 'POST', url: '/api/widgets/items', payload: { name: 'x'.repeat(1024 * 1024 + 10) } });
    expect(tooLarge.statusCode).toBe(413);

    const unknown = await server.fastify.inject({ method: 'GET', url: '/api/nothing/here' });
    expect(unknown.statusCode).toBe(404);
    expect(json(unknown.body).code).toBe('TIP_NOT_FOUND');
  });

  it('serves core routes, and POST /api/jobs/:id/trigger answers the run id at once', async () => {
    const jobs = await server.fastify.inject({ method: 'GET', url: '/api/jobs' });
    expect(jobs.statusCode).toBe(200);
    expect((JSON.parse(jobs.body) as Array<{ id: string }>).map((j) => j.id)).toContain('acme.job');
    const unknown = await server.fastify.inject({ method: 'POST', url: '/api/jobs/nope/trigger' });
    expect(unknown.statusCode).toBe(404);
    expect(json(unknown.body).code).toBe('TIP_JOB_UNKNOWN');
    const res = await server.fastify.inject({ method: 'POST', url: '/api/jobs/acme.job/trigger', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(res.statusCode).toBe(200);
    const { runId } = json(res.body) as { runId: string };
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    for (let i = 0; i < 500; i++) {
      const runs = await t.app.scheduler.history({ jobId: 'acme.job' });
      if (runs.some((r) => r.id === runId && r.status === 'succeeded')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await t.app.scheduler.history({ jobId: 'acme.job' })).find((r) => r.id === runId)?.status).toBe('succeeded');
  });

  it('sets the CSP (no unsafe-inline) and the other security headers', async () => {
    for (const url of ['/', '/api/jobs', '/api/docs/', '/healthz']) {
      const res = await server.fastify.inject({ method: 'GET', url });
      const csp = String(res.headers['content-security-policy']);
      expect(csp, url).toContain("default-src 'self'");
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).toContain("object-src 'none'");
      expect(csp, url).not.toContain('unsafe-inline');
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
    }
  });

  it('serves the OpenAPI document with plugin routes and their query schema, and the API reference', async () => {
    const res = await server.fastify.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = json(res.body) as { openapi: string; paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; schema: Record<string, unknown> }>; 'x-tip-scope': string; requestBody?: unknown }>> };
    expect(doc.openapi).toBe('3.1.0');
    const items = doc.paths['/api/widgets/items']!;
    expect(items.get!.parameters).toContainEqual(expect.objectContaining({ name: 'limit', in: 'query', schema: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 10 }) }));
    expect(items.post!['x-tip-scope']).toBe('admin');
    expect(items.post!.requestBody).toBeDefined();
    expect(doc.paths['/api/widgets/items/{id}']!.get!.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path' }));
    expect(doc.paths['/api/jobs/{id}/trigger']!.post).toBeDefined();
    expect(doc.paths['/api/session']!.post).toBeDefined();
    expect(doc.paths['/api/runs']!.get!.parameters!.map((p) => p.name)).toEqual(expect.arrayContaining(['job', 'status', 'limit']));

    const docs = await server.fastify.inject({ method: 'GET', url: '/api/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
    // the page loads its scripts from this server (no CDN, no inline script)
    const scripts = [...docs.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, inline] of scripts) {
      expect(attrs).toMatch(/src="\.\/static\//);
      expect(inline!.trim()).toBe('');
    }
    const bundle = await server.fastify.inject({ method: 'GET', url: '/api/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    const init = await server.fastify.inject({ method: 'GET', url: '/api/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
  });

  it('lists plugin pages in the UI manifest and serves their modules as JavaScript', async () => {
    const res = await server.fastify.inject({ method: 'GET', url: '/api/ui/manifest' });
    expect(res.statusCode).toBe(200);
    const manifest = json(res.body) as { version: string; streamTypes: string[]; plugins: Array<{ name: string; prefix: string; version: string }>; pages: Array<{ id: string; moduleUrl: string; plugin: string; scope: string; order: number; title: string; path: string }> };
    expect(manifest.plugins).toContainEqual({ name: '@acme/tip-widgets', version: '1.2.3', prefix: 'widgets' });
    // nothing configured: core's public events and the one the acme plugin declares
    expect(manifest.streamTypes).toEqual(['job.finished', 'job.group.completed', 'service.failed', 'widgets.changed']);
    expect(manifest.plugins).toContainEqual(expect.objectContaining({ name: '@tip/web', prefix: 'web' }));
    expect(manifest.pages[0]).toEqual({ id: 'acme.widgets', plugin: '@acme/tip-widgets', title: 'Widgets', path: '/widgets', moduleUrl: '/ui/pages/acme.widgets.js', scope: 'read', order: 5 });
    for (const page of manifest.pages) {
      const mod = await server.fastify.inject({ method: 'GET', url: page.moduleUrl });
      expect(mod.statusCode, page.id).toBe(200);
      expect(mod.headers['content-type'], page.id).toBe('application/javascript; charset=utf-8');
      expect(mod.body, page.id).toContain('export function mount');
    }
    expect((await server.fastify.inject({ method: 'GET', url: '/ui/pages/nope.js' })).statusCode).toBe(404);
    expect((await server.fastify.inject({ method: 'GET', url: '/ui/pages/acme.widgets' })).statusCode).toBe(404);
  });

  it('serves /healthz, /metrics and the UI entry', async () => {
    const health = await server.fastify.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(json(health.body)).toMatchObject({ ok: true, state: 'started', reasons: [] });
    const metrics = await server.fastify.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('# HELP');
    const ui = await server.fastify.inject({ method: 'GET', url: '/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/^text\/html/);
  });

  it('answers GET /api/session without credentials: full access for loopback, no login needed', async () => {
    const res = await server.fastify.inject({ method: 'GET', url: '/api/session' });
    expect(json(res.body)).toEqual({ authenticated: false, user: null, scopes: ['read', 'admin'], csrfToken: null, authRequired: false });
    // a client that is not on loopback gets nothing
    const remote = await server.fastify.inject({ method: 'GET', url: '/api/jobs', remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(401);
    // nor does a page of another site that rebinds its DNS name to 127.0.0.1
    const rebound = await server.fastify.inject({ method: 'GET', url: '/api/jobs', headers: { host: 'evil.example:8080' } });
    expect(rebound.statusCode).toBe(401);
    expect((await server.fastify.inject({ method: 'GET', url: '/api/jobs', headers: { host: '127.0.0.1:8080' } })).statusCode).toBe(200);
  });

  it('refuses writes a browser sends on behalf of another site', async () => {
    const trigger = (headers: Record<string, string>, payload?: string) => server.fastify.inject({ method: 'POST', url: '/api/jobs/acme.job/trigger', headers: { host: '127.0.0.1:8080', ...headers }, payload });
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'http://127.0.0.1:9999' }] as Array<Record<string, string>>) {
      const res = await trigger(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(json(res.body).code).toBe('TIP_CSRF');
    }
    // an HTML form can post text/plain: not accepted
    expect((await trigger({ 'content-type': 'text/plain' }, 'x=1')).statusCode).toBe(415);
    // the UI itself (same origin) and clients that send no Origin (curl) are fine
    expect((await trigger({ origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect((await trigger({})).statusCode).toBe(200);
  });
});

describe('createWebServer: streams, prefix, embedding, refusals', () => {
  it('streams chunks as they are produced through a real listen(), and stops when the client goes', async () => {
    const url = await server.listen();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await new Promise<IncomingMessage>((resolve, reject) => httpGet(`${url}api/widgets/stream`, resolve).on('error', reject));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    const chunks: string[] = [];
    const next = () => new Promise<string>((resolve) => res.once('data', (c: Buffer) => resolve(c.toString())));
    // the first event arrives while the producer waits on the gate: nothing is buffered
    chunks.push(await next());
    expect(chunks[0]).toBe('id: 1\ndata: {"n":1}\n\n');
    const second = next();
    gate.open();
    chunks.push(await second);
    expect(chunks[1]).toBe('id: 2\ndata: {"n":2}\n\n');
    // the client goes away: the route's signal aborts and the generator is closed
    res.destroy();
    await gate.finished;
  });

  it('mounts everything under a prefix', async () => {
    const prefixed = await createWebServer(t.app, { prefix: '/tip/', port: 0 });
    try {
      expect((await prefixed.fastify.inject({ method: 'GET', url: '/tip/api/widgets/items' })).statusCode).toBe(200);
      expect((await prefixed.fastify.inject({ method: 'GET', url: '/tip/api/widgets/items/abc' })).statusCode).toBe(400);
      expect((await prefixed.fastify.inject({ method: 'GET', url: '/api/widgets/items' })).statusCode).toBe(404);
      expect((await prefixed.fastify.inject({ method: 'GET', url: '/tip/healthz' })).statusCode).toBe(200);
      expect((await prefixed.fastify.inject({ method: 'GET', url: '/tip/' })).statusCode).toBe(200);
      // the UI resolves its URLs against the document base: /tip becomes /tip/
      const bare = await prefixed.fastify.inject({ method: 'GET', url: '/tip?x=1' });
      expect(bare.statusCode).toBe(301);
      expect(bare.headers.location).toBe('/tip/?x=1');
      expect((await prefixed.fastify.inject({ method: 'GET', url: '/tip/api/docs/' })).statusCode).toBe(200);
      const manifest = json((await prefixed.fastify.inject({ method: 'GET', url: '/tip/api/ui/manifest' })).body) as { pages: Array<{ moduleUrl: string }> };
      expect(manifest.pages[0]!.moduleUrl).toBe('/tip/ui/pages/acme.widgets.js');
      expect((await prefixed.fastify.inject({ method: 'GET', url: manifest.pages[0]!.moduleUrl })).statusCode).toBe(200);
      const doc = json((await prefixed.fastify.inject({ method: 'GET', url: '/tip/api/openapi.json' })).body) as { servers: Array<{ url: string }> };
      expect(doc.servers).toEqual([{ url: '/tip' }]);
      const url = await prefixed.listen();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tip\/$/);
      expect((await fetch(`${url}api/widgets/items`)).status).toBe(200);
    } finally {
      await prefixed.close();
    }
  });

  it('works as a node:http handler inside another server', async () => {
    const embedded = await createWebServer(t.app, { prefix: '/tip' });
    const outer = createServer((req, res) => {
      if (req.url?.startsWith('/tip')) return embedded.handler(req, res);
      res.end('outer');
    });
    await new Promise<void>((r) => outer.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(outer.address() as AddressInfo).port}`;
      expect(await (await fetch(`${base}/other`)).text()).toBe('outer');
      const res = await fetch(`${base}/tip/api/widgets/items?limit=1`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ items: [{ id: 1, name: 'first' }] });
    } finally {
      await new Promise((r) => outer.close(r));
      await embedded.close();
    }
  });

  it('serves the built UI: index.html at / and its assets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tip-ui-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><base href="./"><script type="module" src="./assets/app-1.js"></script></head><body></body></html>');
    writeFileSync(join(dir, 'assets/app-1.js'), 'console.log("ui");\n');
    const ui = await createWebServer(t.app, { uiDir: dir, prefix: '/tip' });
    try {
      const index = await ui.fastify.inject({ method: 'GET', url: '/tip/' });
      expect(index.statusCode).toBe(200);
      expect(index.headers['content-type']).toMatch(/^text\/html/);
      expect(index.body).toContain('assets/app-1.js');
      expect(String(index.headers['content-security-policy'])).not.toContain('unsafe-inline');
      const asset = await ui.fastify.inject({ method: 'GET', url: '/tip/assets/app-1.js' });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['content-type']).toMatch(/javascript/);
      expect((await ui.fastify.inject({ method: 'GET', url: '/tip/assets/nope.js' })).statusCode).toBe(404);
      expect((await ui.fastify.inject({ method: 'GET', url: '/tip/../package.json' })).statusCode).toBe(404);
      // the API still wins over the static files
      expect((await ui.fastify.inject({ method: 'GET', url: '/tip/api/widgets/items' })).statusCode).toBe(200);
    } finally {
      await ui.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // without a built UI, / says how to build it
    const none = await createWebServer(t.app, { uiDir: join(tmpdir(), 'tip-no-ui-here') });
    try {
      const res = await none.fastify.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('./dev build');
    } finally {
      await none.close();
    }
  });

  it('refuses a non-loopback host without credentials, naming the host and the fix', async () => {
    await expect(createWebServer(t.app, { host: '0.0.0.0' })).rejects.toThrow(/refusing to serve on 0\.0\.0\.0.*tip web token create/);
    await expect(createWebServer(t.app, { host: '192.168.1.10' })).rejects.toThrow(/192\.168\.1\.10/);
    await expect(createWebServer(t.app, { prefix: '/a b' })).rejects.toThrow(/prefix/);
  });

  it('needs an app with the web plugin', async () => {
    const bare = await createTip({ plugins: [acmePlugin()], config: { database: { url: 'sqlite::memory:' } } });
    await bare.load();
    await expect(createWebServer(bare)).rejects.toThrow(/webPlugin\(\)/);
    const unloaded = await createTip({ plugins: [webPlugin()] });
    await expect(createWebServer(unloaded)).rejects.toThrow(/load\(\)/);
  });
});
