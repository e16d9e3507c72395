// A test-only stand-in for the @tip/web server: serves the built UI (packages/web/dist-ui) with the
// real server's security headers and answers the API with canned JSON per contract.md, including
// an SSE stream the test pushes events into. Attacker-style strings (XSS payloads) sit in indicator
// values, source titles and URLs so the tests can check they render as text.
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory the UI is built into. */
export const distUi = fileURLToPath(new URL('../../dist-ui/', import.meta.url));

/** The CSP the real server sends (ui.test.ts checks that it is this one). */
export const CSP =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';object-src 'none';frame-ancestors 'none'";

/** XSS payloads planted in the canned data. */
export const XSS_IMG = '<img src=x onerror=alert(1)>';
/** Script payload; if it ever ran, `window.__xss` would be 1. */
export const XSS_SCRIPT = '<script>window.__xss=1</script>';

/** Options of {@link startMockServer}. */
export interface MockOptions {
  /** Require a sign-in (user `admin`, password `secret`). Default true. */
  auth?: boolean;
  /** List the blacklist plugin in the manifest. Default true. */
  blacklist?: boolean;
  /** Whether the signed-in user has the admin scope (else read only). Default true. */
  admin?: boolean;
  /** Answer this many stream requests with 503 first (EventSource gives up on those). Default 0. */
  streamFailures?: number;
  /** Mount under this prefix (e.g. `/tip`). Default ''. */
  prefix?: string;
}

/** A running mock server. */
export interface MockServer {
  /** Base URL of the UI, ending in '/'. */
  readonly url: string;
  /** Appends an event to the log and sends it to every open stream. */
  push(type: string, data: unknown): void;
  /** Ends every session (as their expiry would). */
  expireSessions(): void;
  /** Requests the UI made (method + path), for assertions. */
  readonly requests: string[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

const DAY = 86_400_000;
// canned data around the current hour, so "last 24 h" figures and charts look like a live deployment
const now = Math.floor(Date.now() / 3_600_000) * 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

const sources = [
  { id: 'firehol_level1', title: 'FireHOL level 1', kind: 'feed', category: 'reputation', url: 'https://iplists.firehol.org/files/firehol_level1.netset', enabled: true, listed: 4521 },
  { id: 'spamhaus_drop', title: 'Spamhaus DROP', kind: 'feed', category: 'spam', url: 'https://www.spamhaus.org/drop/drop.txt', enabled: true, listed: 812 },
  // the plugin's own shape (origin instead of kind); the URL is a javascript: one
  { id: 'evil_feed', title: XSS_SCRIPT, origin: 'config', category: 'malware', url: `javascript:window.__xss=1//${XSS_IMG}`, enabled: true, listed: 77 },
  { id: 'urlhaus', title: `URLhaus ${XSS_IMG}`, kind: 'feed', category: 'malware', url: `https://urlhaus.abuse.ch/downloads/text/?x="><script>window.__xss=1</script>`, enabled: true, listed: 1530 },
  { id: 'spamtrap', title: 'Spam trap relays', kind: 'submitted', category: 'spam', enabled: false, listed: 0 },
];

const weights = sources.map((s, i) => ({
  source: s.id,
  weight: [0.92, 0.81, 0.35, 0.66, 0.2][i]!,
  volume: s.listed,
  exclusive: Math.round(s.listed * 0.3),
  churn: 0.05 * i,
  falsePositiveRate: i === 2 ? 0.12 : 0.01,
  availability: 1,
  freshnessMs: 3_600_000 * (i + 1),
  latencyMedianMs: 7_200_000,
  persistenceMedianMs: 5 * DAY,
  computedAt: now,
  windowMs: 30 * DAY,
}));

function indicators(): { type: string; value: string; score: number; sources: { id: string; title: string }[]; firstSeen: string; lastSeen: string }[] {
  const out = [
    { type: 'domain', value: XSS_IMG, score: 0.9, sources: [{ id: 'evil_feed', title: XSS_SCRIPT }], firstSeen: iso(now - 3 * DAY), lastSeen: iso(now - 1000) },
    { type: 'url', value: `http://bad.example/${XSS_SCRIPT}`, score: 0.7, sources: [{ id: 'urlhaus', title: `URLhaus ${XSS_IMG}` }], firstSeen: iso(now - 2 * DAY), lastSeen: iso(now - 2000) },
  ];
  for (let i = 0; i < 118; i++) {
    out.push({
      type: 'ip',
      value: `198.51.100.${i}`,
      score: Math.round((0.95 - i * 0.005) * 1000) / 1000,
      sources: i % 3 === 0 ? [{ id: 'firehol_level1', title: 'FireHOL level 1' }, { id: 'spamhaus_drop', title: 'Spamhaus DROP' }] : [{ id: 'firehol_level1', title: 'FireHOL level 1' }],
      firstSeen: iso(now - (i + 5) * 3_600_000),
      lastSeen: iso(now - i * 60_000),
    });
  }
  return out;
}

function verdict(value: string): unknown {
  const listing = (source: string, title: string, weight: number) => ({
    source,
    title,
    category: 'malware',
    enabled: true,
    counted: true,
    listedSince: iso(now - 3 * DAY),
    lastSeen: iso(now - 3_600_000),
    ageMs: 3_600_000,
    decayFactor: 0.98,
    weight,
  });
  const listings = [listing('evil_feed', XSS_SCRIPT, 0.35), listing('firehol_level1', 'FireHOL level 1', 0.92)];
  return {
    input: value,
    indicator: { type: value.includes('/') && !value.startsWith('<') ? 'url' : /^\d/.test(value) ? 'ip' : 'domain', value },
    computedAt: iso(now),
    score: 0.9448,
    listed: true,
    exported: true,
    allowlisted: null,
    exact: { indicator: { type: 'ip', value }, match: 'exact', score: 0.9448, baseScore: 0.948, lastSeen: iso(now - 3_600_000), ageMs: 3_600_000, decay: {}, decayFactor: 0.9966, firstSeen: iso(now - 3 * DAY), listings, allowlisted: null },
    related: [],
    relatedScore: 0,
    sources: [
      { id: 'evil_feed', title: XSS_SCRIPT, category: 'malware', enabled: true, weight: 0.35, weightFrom: 'metrics', metrics: null, breakdown: null, breakdownMatches: null },
      { id: 'firehol_level1', title: 'FireHOL level 1', category: 'reputation', enabled: true, weight: 0.92, weightFrom: 'metrics', metrics: null, breakdown: null, breakdownMatches: null },
    ],
    combination: '1 − (1 − 0.35·0.98)(1 − 0.92·0.98) = 0.9448',
  };
}

function overlap(): unknown {
  const n = sources.length;
  const matrix = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : ((i * 7 + j * 3) % 10) / 10)));
  const counts = matrix.map((row, i) => row.map((v) => Math.round(v * sources[i]!.listed)));
  return { sources: sources.map(({ id, title }) => ({ id, title })), matrix, counts };
}

function timeline(): unknown {
  const points = [];
  let listed = 6000;
  for (let i = 0; i < 30; i++) {
    const added = 100 + ((i * 37) % 90);
    const removed = 60 + ((i * 53) % 110);
    listed += added - removed;
    points.push({ at: iso(now - (29 - i) * DAY), listed, added, removed, cycleId: `c${i}` });
  }
  return { points };
}

function runs(): unknown[] {
  const out = [];
  for (let i = 0; i < 48; i++) {
    const failed = i % 11 === 3;
    out.push({
      id: `run-${i}`,
      jobId: i % 2 ? 'blacklist.fetch' : 'blacklist.weights',
      plugin: '@tip/plugin-blacklist',
      reason: 'schedule',
      status: failed ? 'failed' : 'succeeded',
      attempt: 1,
      startedAt: iso(now - i * 1_800_000),
      endedAt: iso(now - i * 1_800_000 + 4000),
      durationMs: 4000 + i * 10,
      error: failed ? `fetch ${XSS_IMG}: HTTP 503` : undefined,
      counts: { added: i, removed: 2 },
    });
  }
  return out;
}

const jobs = [
  { id: 'blacklist.fetch', description: 'Fetch every feed', plugin: '@tip/plugin-blacklist', group: true, triggers: [{ every: '1h' }], running: false, nextRunAt: iso(now + 3_600_000), lastRun: { id: 'run-1', status: 'succeeded', startedAt: iso(now - 1_800_000), endedAt: iso(now - 1_796_000) } },
  { id: 'blacklist.weights', description: 'Recompute source weights', plugin: '@tip/plugin-blacklist', group: false, triggers: [], running: false, lastRun: { id: 'run-0', status: 'failed', startedAt: iso(now), endedAt: iso(now + 4000) } },
];

const workers = [
  { id: randomUUID(), host: 'tip-1', pid: 4242, mode: 'serve', scheduling: true, role: 'all', version: '0.2.0', leaseMs: 3_600_000_000_000, startedAt: iso(now - DAY), heartbeatAt: iso(Date.now()) },
];

const DEMO_PAGE = `export function mount(el, ctx) {
  const h = document.createElement('p');
  h.className = 'demo-page';
  h.textContent = 'Demo plugin page ${XSS_IMG.replace(/'/g, '')}';
  el.appendChild(h);
  ctx.api.get('/health').then((r) => { const p = document.createElement('p'); p.className = 'demo-health'; p.textContent = 'health: ' + r.status; el.appendChild(p); });
  return () => { el.textContent = ''; };
}
`;

/** Starts the mock on 127.0.0.1 (a free port). */
export async function startMockServer(options: MockOptions = {}): Promise<MockServer> {
  const auth = options.auth ?? true;
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const sessions = new Set<string>();
  const csrf = randomUUID();
  const scopes = options.admin === false ? ['read'] : ['read', 'admin'];
  const log: { seq: number; type: string; at: string; data: unknown }[] = [];
  const clients = new Set<ServerResponse>();
  const requests: string[] = [];
  let streamFailures = options.streamFailures ?? 0;

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  };
  const sessionOf = (req: IncomingMessage): string | undefined => {
    const m = /(?:^|;\s*)tip_session=([^;]+)/.exec(req.headers.cookie ?? '');
    return m && sessions.has(m[1]!) ? m[1] : undefined;
  };
  // clients that asked for ?plain=1 (no `event:` lines), as the real stream route allows
  const plain = new WeakSet<ServerResponse>();
  const sse = (res: ServerResponse, e: (typeof log)[number]): void => {
    res.write(`id: ${e.seq}\n${plain.has(res) ? '' : `event: ${e.type}\n`}data: ${JSON.stringify(e)}\n\n`);
  };

  const api = async (req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams): Promise<void> => {
    const method = req.method ?? 'GET';
    const authed = !auth || sessionOf(req) !== undefined;
    if (path === '/session') {
      if (method === 'GET') {
        return json(res, 200, { authenticated: auth ? authed : false, user: authed && auth ? 'admin' : null, scopes: authed ? scopes : [], csrfToken: csrf, authRequired: auth });
      }
      if (method === 'POST') {
        const body = (await readBody(req)) as { username?: string; password?: string } | undefined;
        if (body?.username !== 'admin' || body.password !== 'secret') return json(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'wrong user name or password' });
        const id = randomUUID();
        sessions.add(id);
        res.setHeader('set-cookie', `tip_session=${id}; Path=/; HttpOnly; SameSite=Strict`);
        return json(res, 200, { authenticated: true, user: 'admin', scopes, csrfToken: csrf, authRequired: auth });
      }
      if (method === 'DELETE') {
        const s = sessionOf(req);
        if (s) sessions.delete(s);
        res.setHeader('set-cookie', 'tip_session=; Path=/; Max-Age=0');
        return json(res, 200, { authenticated: false });
      }
    }
    if (!authed) return json(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'sign in or send a bearer token' });
    if (method !== 'GET' && method !== 'HEAD' && req.headers['x-csrf-token'] !== csrf) return json(res, 403, { statusCode: 403, error: 'Forbidden', message: 'missing or invalid x-csrf-token' });

    const bl = options.blacklist ?? true;
    if (path === '/ui/manifest') {
      return json(res, 200, {
        version: '0.1.0',
        streamTypes: ['job.finished', 'job.group.completed', 'service.failed', 'blacklist.listings.changed', 'blacklist.cycle.completed', 'blacklist.weights.updated'],
        plugins: [{ name: '@tip/web', version: '0.1.0', prefix: 'web' }, ...(bl ? [{ name: '@tip/plugin-blacklist', version: '0.2.0', prefix: 'blacklist' }] : []), { name: '@tip/demo', version: '1.0.0', prefix: 'demo' }],
        pages: [{ id: 'demo', plugin: '@tip/demo', title: 'Demo', path: '/demo', moduleUrl: 'ui/pages/demo.js', scope: 'read', order: 10 }],
      });
    }
    if (path === '/health') return json(res, 200, { status: 'ok' });
    if (path === '/jobs') return json(res, 200, jobs);
    if (path === '/workers') return json(res, 200, workers);
    if (path === '/runs') {
      const status = q.get('status');
      return json(res, 200, runs().filter((r) => !status || (r as { status: string }).status === status));
    }
    const trig = /^\/jobs\/([^/]+)\/trigger$/.exec(path);
    if (trig && method === 'POST' && !scopes.includes('admin')) return json(res, 403, { statusCode: 403, error: 'Forbidden', message: 'admin scope required' });
    if (trig && method === 'POST') return json(res, 200, { runId: `manual-${decodeURIComponent(trig[1]!)}` });
    if (path === '/web/stream') {
      if (streamFailures > 0) {
        streamFailures--;
        return json(res, 503, { statusCode: 503, error: 'Service Unavailable', message: 'restarting' });
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': connected\n\n');
      if (q.get('plain') === '1' || q.get('plain') === 'true') plain.add(res);
      const after = Number(req.headers['last-event-id'] ?? q.get('lastEventId') ?? 0);
      const types = (q.get('types') ?? '').split(',').filter(Boolean);
      for (const e of log) if (e.seq > after && (types.length === 0 || types.includes(e.type))) sse(res, e);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (!bl || !path.startsWith('/blacklist/')) return json(res, 404, { statusCode: 404, error: 'Not Found', message: `no route ${method} /api${path}` });
    const p = path.slice('/blacklist'.length);
    if (p === '/sources') return json(res, 200, { sources: sources.map((s, i) => ({ ...s, lastRun: { runId: `run-${i}`, at: iso(now - i * 60_000), status: i === 2 ? 'failed' : 'succeeded', added: 3, removed: 1 }, metrics: weights[i] })), metricUnits: {} });
    if (p === '/weights') return json(res, 200, { weights, units: {} });
    if (p === '/overlap') return json(res, 200, overlap());
    if (p === '/timeline') return json(res, 200, timeline());
    if (p === '/search') {
      const all = indicators().filter((it) => {
        const qq = q.get('q');
        if (qq && it.value !== qq && !(qq.endsWith('/24') && it.value.startsWith(qq.slice(0, -4)))) return false;
        const type = q.get('type');
        return !type || it.type === type;
      });
      const limit = Math.min(Number(q.get('limit') ?? 50) || 50, 500);
      const start = Number(q.get('cursor') ?? 0) || 0;
      const items = all.slice(start, start + limit);
      return json(res, 200, { items, nextCursor: start + limit < all.length ? String(start + limit) : null, total: all.length });
    }
    const invalid = (value: string): boolean => value.startsWith('not ');
    const hist = /^\/indicators\/(.+)\/history$/.exec(p);
    if (hist) {
      const value = decodeURIComponent(hist[1]!);
      if (invalid(value)) return json(res, 400, { statusCode: 400, error: 'Bad Request', message: `params.value: "${value}" is not an indicator` });
      return json(res, 200, { indicator: { value }, events: [{ at: iso(now - 3 * DAY), source: 'evil_feed', action: 'listed' }, { at: iso(now - 2 * DAY), source: 'firehol_level1', action: 'listed' }, { at: iso(now - DAY), source: 'spamhaus_drop', action: 'unlisted' }] });
    }
    const ex = /^\/explain\/(.+)$/.exec(p);
    if (ex) {
      const value = decodeURIComponent(ex[1]!);
      if (invalid(value)) return json(res, 400, { statusCode: 400, error: 'Bad Request', message: `params.value: "${value}" is not an indicator` });
      if (value === '203.0.113.99') return json(res, 404, { statusCode: 404, error: 'Not Found', message: `${value} is not listed` });
      return json(res, 200, verdict(value));
    }
    const src = /^\/sources\/([^/]+)$/.exec(p);
    if (src) {
      const id = decodeURIComponent(src[1]!);
      const s = sources.find((x) => x.id === id);
      if (!s) return json(res, 404, { statusCode: 404, error: 'Not Found', message: `no source ${id}` });
      return json(res, 200, {
        ...s,
        runs: Array.from({ length: 8 }, (_, i) => ({ runId: `run-${i}`, at: iso(now - i * 3_600_000), status: i === 4 ? 'failed' : 'succeeded', added: 10 + i, removed: i })),
        metricsHistory: Array.from({ length: 20 }, (_, i) => ({ at: iso(now - (19 - i) * DAY), weight: 0.5 + i / 50, volume: s.listed - 100 + i * 10 })),
      });
    }
    return json(res, 404, { statusCode: 404, error: 'Not Found', message: `no route ${method} /api${path}` });
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://x');
      requests.push(`${req.method} ${u.pathname}${u.search}`);
      res.setHeader('content-security-policy', CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('referrer-policy', 'no-referrer');
      if (prefix && !u.pathname.startsWith(prefix + '/')) {
        if (u.pathname === prefix) {
          res.writeHead(302, { location: prefix + '/' });
          return res.end();
        }
        return json(res, 404, { message: 'outside the prefix' });
      }
      const path = u.pathname.slice(prefix.length);
      try {
        if (path.startsWith('/api/')) return await api(req, res, path.slice(4), u.searchParams);
        if (path === '/ui/pages/demo.js') {
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
          return res.end(DEMO_PAGE);
        }
        const rel = path === '/' ? 'index.html' : normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '');
        const file = join(distUi, rel);
        if (!file.startsWith(distUi) || !existsSync(file) || !statSync(file).isFile()) return json(res, 404, { message: 'not found' });
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        createReadStream(file).pipe(res);
      } catch (err) {
        json(res, 500, { message: (err as Error).message });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${prefix}/`,
    requests,
    expireSessions: () => sessions.clear(),
    push(type, data) {
      const e = { seq: log.length + 1, type, at: new Date().toISOString(), data };
      log.push(e);
      for (const c of clients) sse(c, e);
    },
    async close() {
      for (const c of clients) c.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
