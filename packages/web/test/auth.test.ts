import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestTip, testDialects, type TestTip } from '@tip/core/testing';
import webPlugin, { createWebServer, hashPassword, verifyPassword, WebToken, type WebAuth, type WebServer } from '../src/index.js';
import { acmePlugin } from './helpers.js';

const json = (body: string) => JSON.parse(body) as Record<string, unknown>;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('password hashes', () => {
  it('scrypt-hashes with a salt and verifies', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('x', 'md5$abc')).toBe(false);
  });
});

describe.each(testDialects())('web auth on %s', (dialect) => {
  let t: TestTip;
  let auth: WebAuth;
  let server: WebServer;
  beforeAll(async () => {
    t = await startTestTip({ database: dialect, plugins: [acmePlugin(), webPlugin({ loginAttempts: 3, failedAuthAttempts: 4 })], start: { schedule: false } });
    auth = t.app.get(WebToken);
    expect(await auth.hasCredentials()).toBe(false);
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('stores tokens hashed; scopes decide; revoked tokens stop working', async () => {
    const read = await auth.createToken({ name: 'grafana', scope: 'read' });
    const admin = await auth.createToken({ name: 'ci', scope: 'admin' });
    expect(read.token).toMatch(/^tip_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(await auth.hasCredentials()).toBe(true);
    // credentials exist: a public host is allowed now
    const open = await createWebServer(t.app, { host: '0.0.0.0' });
    await open.close();
    server = await createWebServer(t.app, { port: 0 });
    const inject = server.fastify.inject.bind(server.fastify);

    // only the hash is stored
    const stored = await t.app.db.em().getConnection().execute('select hash from web_token');
    expect(JSON.stringify(stored)).not.toContain(read.token.replace(/^tip_[0-9a-f]{16}_/, '') /* the secret (base64url: may hold '_') */);

    expect((await inject({ method: 'GET', url: '/api/widgets/items' })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/api/ui/manifest' })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/api/openapi.json' })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/api/docs/' })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/api/docs/json' })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/api/docs/', headers: bearer(read.token) })).statusCode).toBe(200);
    const ok = await inject({ method: 'GET', url: '/api/widgets/items', headers: bearer(read.token) });
    expect(ok.statusCode).toBe(200);
    // the read token is refused on admin routes, the admin token is not
    const denied = await inject({ method: 'POST', url: '/api/widgets/items', headers: bearer(read.token), payload: { name: 'x' } });
    expect(denied.statusCode).toBe(403);
    expect(json(denied.body).code).toBe('TIP_FORBIDDEN');
    expect((await inject({ method: 'POST', url: '/api/jobs/acme.job/trigger', headers: bearer(read.token) })).statusCode).toBe(403);
    const created = await inject({ method: 'POST', url: '/api/widgets/items', headers: bearer(admin.token), payload: { name: 'x' } });
    expect(created.statusCode).toBe(201);
    // bearer writes need no CSRF token
    expect((await inject({ method: 'POST', url: '/api/jobs/acme.job/trigger', headers: bearer(admin.token) })).statusCode).toBe(200);
    // pages the caller's scope does not allow are not listed
    const readManifest = json((await inject({ method: 'GET', url: '/api/ui/manifest', headers: bearer(read.token) })).body) as { pages: Array<{ id: string }> };
    expect(readManifest.pages.map((p) => p.id)).toEqual(['acme.widgets']);
    expect((await inject({ method: 'GET', url: '/ui/pages/acme.admin.js', headers: bearer(read.token) })).statusCode).toBe(403);
    expect((await inject({ method: 'GET', url: '/ui/pages/acme.admin.js', headers: bearer(admin.token) })).statusCode).toBe(200);
    // health and metrics stay open (monitoring)
    expect((await inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    const [listed] = (await auth.listTokens()).filter((x) => x.id === read.id);
    expect(listed).toMatchObject({ name: 'grafana', scope: 'read', revokedAt: null });
    expect(listed!.lastUsedAt).not.toBeNull();
    expect(await auth.revokeToken(read.id)).toBe(true);
    expect(await auth.revokeToken(read.id)).toBe(false);
    expect((await inject({ method: 'GET', url: '/api/widgets/items', headers: bearer(read.token) })).statusCode).toBe(401);
  });

  it('logs users in with a session cookie; cookie writes need the CSRF token; logout ends the session', async () => {
    const { password } = await auth.createUser({ name: 'alice', scope: 'admin' });
    expect(password.length).toBeGreaterThanOrEqual(20);
    await auth.createUser({ name: 'bob', scope: 'read', password: 'bob-password-1' });
    await expect(auth.createUser({ name: 'bob', scope: 'read', password: 'another-one' })).rejects.toThrow(/exists/);
    await expect(auth.createUser({ name: 'carol', scope: 'read', password: 'short' })).rejects.toThrow(/8-1024/);
    await expect(auth.createUser({ name: '<b>x', scope: 'read' })).rejects.toThrow(/invalid/);
    const inject = server.fastify.inject.bind(server.fastify);

    expect(json((await inject({ method: 'GET', url: '/api/session' })).body)).toEqual({ authenticated: false, user: null, scopes: [], csrfToken: null, authRequired: true });
    const wrong = await inject({ method: 'POST', url: '/api/session', payload: { username: 'alice', password: 'nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const login = await inject({ method: 'POST', url: '/api/session', payload: { username: 'alice', password } });
    expect(login.statusCode).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^tip_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain('Secure');
    const cookie = setCookie.split(';')[0]!;
    const session = json((await inject({ method: 'GET', url: '/api/session', headers: { cookie } })).body);
    expect(session).toMatchObject({ authenticated: true, user: 'alice', scopes: ['read', 'admin'], authRequired: true });
    const csrf = String(session.csrfToken);
    expect(csrf.length).toBeGreaterThan(20);

    expect((await inject({ method: 'GET', url: '/api/widgets/items', headers: { cookie } })).statusCode).toBe(200);
    const noCsrf = await inject({ method: 'POST', url: '/api/widgets/items', headers: { cookie }, payload: { name: 'y' } });
    expect(noCsrf.statusCode).toBe(403);
    expect(json(noCsrf.body).code).toBe('TIP_CSRF');
    expect((await inject({ method: 'POST', url: '/api/widgets/items', headers: { cookie, 'x-csrf-token': 'forged' }, payload: { name: 'y' } })).statusCode).toBe(403);
    const withCsrf = await inject({ method: 'POST', url: '/api/widgets/items', headers: { cookie, 'x-csrf-token': csrf }, payload: { name: 'y' } });
    expect(withCsrf.statusCode).toBe(201);

    // a read user is refused on admin routes
    const bobLogin = await inject({ method: 'POST', url: '/api/session', payload: { username: 'bob', password: 'bob-password-1' } });
    const bobCookie = String(bobLogin.headers['set-cookie']).split(';')[0]!;
    const bobCsrf = String(json(bobLogin.body).csrfToken);
    expect((await inject({ method: 'POST', url: '/api/widgets/items', headers: { cookie: bobCookie, 'x-csrf-token': bobCsrf }, payload: { name: 'z' } })).statusCode).toBe(403);

    // sessions live in the database: a second server (another web process) knows them
    const other = await createWebServer(t.app);
    try {
      expect((await other.fastify.inject({ method: 'GET', url: '/api/widgets/items', headers: { cookie } })).statusCode).toBe(200);
    } finally {
      await other.close();
    }

    // logout needs the CSRF token too, then the cookie is worthless
    expect((await inject({ method: 'DELETE', url: '/api/session', headers: { cookie } })).statusCode).toBe(403);
    const logout = await inject({ method: 'DELETE', url: '/api/session', headers: { cookie, 'x-csrf-token': csrf } });
    expect(logout.statusCode).toBe(204);
    expect(String(logout.headers['set-cookie'])).toMatch(/^tip_session=;/);
    expect((await inject({ method: 'GET', url: '/api/widgets/items', headers: { cookie } })).statusCode).toBe(401);

    // removing a user ends its sessions
    expect(await auth.removeUser('bob')).toBe(true);
    expect((await inject({ method: 'GET', url: '/api/widgets/items', headers: { cookie: bobCookie } })).statusCode).toBe(401);
    expect(await auth.removeUser('bob')).toBe(false);
  });

  it('expires sessions after sessionTtl', async () => {
    const inject = server.fastify.inject.bind(server.fastify);
    await auth.createUser({ name: 'dave', scope: 'read', password: 'dave-password' });
    const login = await inject({ method: 'POST', url: '/api/session', payload: { username: 'dave', password: 'dave-password' }, remoteAddress: '10.0.0.9' });
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await inject({ method: 'GET', url: '/api/widgets/items', headers: { cookie } })).statusCode).toBe(200);
    await t.clock!.advance(12 * 3_600_000 + 1);
    expect((await inject({ method: 'GET', url: '/api/widgets/items', headers: { cookie } })).statusCode).toBe(401);
  });

  it('rate-limits logins and failed bearer authentications per client', async () => {
    const inject = server.fastify.inject.bind(server.fastify);
    const attempt = () => inject({ method: 'POST', url: '/api/session', payload: { username: 'alice', password: 'wrong' }, remoteAddress: '10.0.0.1' });
    for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(401);
    const limited = await attempt();
    expect(limited.statusCode).toBe(429);
    expect(json(limited.body).code).toBe('TIP_RATE_LIMITED');
    // another client is not affected
    expect((await inject({ method: 'POST', url: '/api/session', payload: { username: 'alice', password: 'wrong' }, remoteAddress: '10.0.0.2' })).statusCode).toBe(401);

    const bad = () => inject({ method: 'GET', url: '/api/jobs', headers: bearer(`tip_0123456789abcdef_${'A'.repeat(43)}`), remoteAddress: '10.0.0.3' });
    for (let i = 0; i < 4; i++) expect((await bad()).statusCode).toBe(401);
    const blocked = await bad();
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
  });

  it('sets Secure on the cookie behind a TLS proxy when trustProxy is on', async () => {
    const proxied = await startTestTip({ database: t.database, plugins: [acmePlugin(), webPlugin({ trustProxy: true })], start: { schedule: false } });
    const s = await createWebServer(proxied.app, { prefix: '/tip' });
    try {
      await proxied.app.get(WebToken).createUser({ name: 'erin', scope: 'read', password: 'erin-password' });
      const login = await s.fastify.inject({ method: 'POST', url: '/tip/api/session', headers: { 'x-forwarded-proto': 'https' }, payload: { username: 'erin', password: 'erin-password' } });
      expect(login.statusCode).toBe(200);
      expect(String(login.headers['set-cookie'])).toContain('Secure');
      expect(String(login.headers['set-cookie'])).toContain('Path=/tip');
    } finally {
      await s.close();
      await proxied.app.stop();
    }
  });
});
