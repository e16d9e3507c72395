import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeRaw } from '@tip/core';
import { ManualClock, startTestTip, tempDatabase, testDialects, type TestDatabase, type TestTip } from '@tip/core/testing';
import webPlugin, { createWebServer, WebToken, type WebServer } from '../src/index.js';
import { AuthFailures, clientKey } from '../src/auth/failures.js';

const json = (body: string) => JSON.parse(body) as Record<string, unknown>;
const WINDOW = 60_000;
const BAD_TOKEN = `tip_0123456789abcdef_${'A'.repeat(43)}`;

describe('clientKey', () => {
  it('keys IPv4 by address and IPv6 by its /64', () => {
    expect(clientKey('10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('[2001:db8:1:2::9]')).toBe('2001:db8:1:2::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe.each(testDialects())('auth failure limits shared by two web processes on %s', (dialect) => {
  let database: TestDatabase;
  let clock: ManualClock;
  let a: TestTip;
  let b: TestTip;
  let serverA: WebServer;
  let serverB: WebServer;
  let token: string;

  /** Two apps on one database and one clock, each with its own web server: two web processes. */
  beforeAll(async () => {
    database = await tempDatabase(dialect);
    clock = new ManualClock();
    const plugins = () => [webPlugin({ loginAttempts: 3, failedAuthAttempts: 4, authWindow: WINDOW, authMaxClients: 5 })];
    a = await startTestTip({ database, clock, plugins: plugins(), start: { schedule: false } });
    b = await startTestTip({ database, clock, plugins: plugins(), start: { schedule: false } });
    await a.app.get(WebToken).createUser({ name: 'alice', scope: 'read', password: 'alice-password' });
    token = (await a.app.get(WebToken).createToken({ name: 'ci', scope: 'read' })).token;
    serverA = await createWebServer(a.app);
    serverB = await createWebServer(b.app);
  });
  afterAll(async () => {
    await serverA?.close();
    await serverB?.close();
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  const login = (server: WebServer, ip: string, password = 'wrong-password') =>
    server.fastify.inject({ method: 'POST', url: '/api/session', payload: { username: 'alice', password }, remoteAddress: ip });
  const withToken = (server: WebServer, ip: string, value = BAD_TOKEN) =>
    server.fastify.inject({ method: 'GET', url: '/api/jobs', headers: { authorization: `Bearer ${value}` }, remoteAddress: ip });
  const rows = async (kind: string) =>
    (await executeRaw<{ client: string; failures: unknown }>(a.app.em(), `select client, failures from web_auth_failure where kind = '${kind}' order by client`)).rows.map((r) => [r.client, Number(r.failures)]);

  it('the migration creates the table its entity describes', async () => {
    const diff = await a.app.db.orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff).not.toContain('web_auth_failure');
  });

  it('failed logins on both servers add up; both refuse, before checking the password, until the window ends', async () => {
    const ip = '10.1.0.1';
    expect((await login(serverA, ip)).statusCode).toBe(401);
    expect((await login(serverB, ip)).statusCode).toBe(401);
    expect((await login(serverA, ip)).statusCode).toBe(401);
    const refused = await login(serverB, ip);
    expect(refused.statusCode).toBe(429);
    expect(json(refused.body)).toEqual({ error: 'too many attempts: try again in 60 s', code: 'TIP_RATE_LIMITED' });
    expect(refused.headers['retry-after']).toBe('60');
    // the right password is not even checked now, on either server
    expect((await login(serverA, ip, 'alice-password')).statusCode).toBe(429);
    expect((await login(serverB, ip, 'alice-password')).statusCode).toBe(429);
    // another client is not affected
    expect((await login(serverA, '10.1.0.2')).statusCode).toBe(401);
    expect((await login(serverB, '10.1.0.2', 'alice-password')).statusCode).toBe(200);

    await clock.advance(30_000);
    const later = await login(serverA, ip);
    expect(later.statusCode).toBe(429);
    expect(later.headers['retry-after']).toBe('30');
    await clock.advance(30_000);
    // the window ended: the client may try again, on both servers
    expect((await login(serverA, ip, 'alice-password')).statusCode).toBe(200);
    expect((await login(serverB, ip)).statusCode).toBe(401);
  });

  it('does not count successful logins, and they do not reset the failures', async () => {
    const ip = '10.1.1.1';
    for (let i = 0; i < 5; i++) expect((await login(i % 2 ? serverA : serverB, ip, 'alice-password')).statusCode).toBe(200);
    expect((await login(serverA, ip)).statusCode).toBe(401);
    expect((await login(serverB, ip)).statusCode).toBe(401);
    expect((await login(serverA, ip, 'alice-password')).statusCode).toBe(200);
    expect((await login(serverB, ip)).statusCode).toBe(401);
    expect((await login(serverA, ip, 'alice-password')).statusCode).toBe(429);
  });

  it('counts concurrent attempts on both servers atomically: exactly the limit gets through', async () => {
    await clock.advance(WINDOW);
    const ip = '10.1.2.1';
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => login(i % 2 ? serverA : serverB, ip)));
    const codes = answers.map((r) => r.statusCode).sort();
    expect(codes).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
  });

  it('failed bearer tokens on both servers add up; a valid token still works; the window ends', async () => {
    await clock.advance(WINDOW);
    const ip = '10.2.0.1';
    for (let i = 0; i < 4; i++) expect((await withToken(i % 2 ? serverA : serverB, ip)).statusCode).toBe(401);
    for (const server of [serverA, serverB, serverA]) {
      const refused = await withToken(server, ip);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('60');
      expect(json(refused.body).code).toBe('TIP_RATE_LIMITED');
    }
    // a token's secret cannot be guessed: the right one is accepted (see AuthFailures)
    expect((await withToken(serverB, ip, token)).statusCode).toBe(200);
    // another client, and the login counter of this one, are not affected
    expect((await withToken(serverA, '10.2.0.2')).statusCode).toBe(401);
    expect((await login(serverA, ip, 'alice-password')).statusCode).toBe(200);
    // IPv6 clients are counted per /64
    for (let i = 1; i <= 4; i++) expect((await withToken(serverA, `2001:db8:7:7::${i}`)).statusCode).toBe(401);
    expect((await withToken(serverB, '2001:db8:7:7:ffff::5')).statusCode).toBe(429);
    expect((await withToken(serverB, '2001:db8:7:8::1')).statusCode).toBe(401);

    await clock.advance(WINDOW);
    expect((await withToken(serverA, ip)).statusCode).toBe(401);
    expect((await withToken(serverB, ip)).statusCode).toBe(401);
  });

  it('takes back successful attempts only while within the limit (cached refusals stay right)', async () => {
    await clock.advance(WINDOW);
    const limits = new AuthFailures(a.app.db, clock, { max: { login: 2, bearer: 2 }, windowMs: WINDOW, maxClients: 100 });
    const first = await limits.hit('login', 'unit-1');
    await limits.release('login', first);
    expect(await rows('login')).toEqual([]);
    const hits = [await limits.hit('login', 'unit-1'), await limits.hit('login', 'unit-1'), await limits.hit('login', 'unit-1')];
    expect(hits.map((h) => h.retryAfter)).toEqual([0, 0, 60]);
    expect(limits.cachedRefusal('login', 'unit-1')).toBe(60);
    // over the limit: a success in flight does not bring the client back under it
    await limits.release('login', hits[0]!);
    expect(await rows('login')).toEqual([['unit-1', 3]]);
    expect((await limits.hit('login', 'unit-1')).retryAfter).toBe(60);
    await clock.advance(WINDOW);
    expect(limits.cachedRefusal('login', 'unit-1')).toBe(0);
    expect(await limits.hit('login', 'unit-1')).toMatchObject({ count: 1, retryAfter: 0 });
  });

  it('keeps at most authMaxClients clients per kind; the others share one counter', async () => {
    await clock.advance(WINDOW);
    // five clients fill the table (the expired rows of the tests above are deleted on the way)
    for (let i = 1; i <= 5; i++) expect((await login(i % 2 ? serverA : serverB, `10.3.0.${i}`)).statusCode).toBe(401);
    expect((await rows('login')).map(([client]) => client)).toEqual(['10.3.0.1', '10.3.0.2', '10.3.0.3', '10.3.0.4', '10.3.0.5']);
    // more clients share the overflow counter, with the same limit
    for (let i = 1; i <= 3; i++) expect((await login(i % 2 ? serverA : serverB, `10.3.1.${i}`)).statusCode).toBe(401);
    for (let i = 4; i <= 20; i++) expect((await login(i % 2 ? serverA : serverB, `10.3.1.${i}`)).statusCode).toBe(429);
    // then every client without a row of its own is refused, even with the right password
    expect((await login(serverA, '10.3.2.1', 'alice-password')).statusCode).toBe(429);
    const now = await rows('login');
    expect(now).toHaveLength(6);
    expect(now.find(([client]) => client === '*')).toEqual(['*', 21]);
    // clients with a row are judged by their own counter
    expect((await login(serverB, '10.3.0.1', 'alice-password')).statusCode).toBe(200);
    expect((await login(serverB, '10.3.0.1')).statusCode).toBe(401);
    // the bearer counters have their own room
    for (let i = 1; i <= 5; i++) expect((await withToken(serverA, `10.4.0.${i}`)).statusCode).toBe(401);
    expect((await rows('bearer')).filter(([client]) => client !== '*')).toHaveLength(5);

    // once the window ended, expired rows make room again
    await clock.advance(WINDOW);
    expect((await login(serverB, '10.3.2.1', 'alice-password')).statusCode).toBe(200);
    expect((await login(serverA, '10.3.2.2')).statusCode).toBe(401);
    expect(await rows('login')).toEqual([['10.3.2.2', 1]]);
  });
});
