import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { healthzBody, RouteRouter, TipError, TipErrorCodes, type Logger, type MountedRoute, type RouterResponse, type TipApp } from '@tip/core';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuthFailures, clientKey, type AuthFailureKind } from './auth/failures.js';
import { safeEqual, type WebAuth, type WebPrincipal, type WebScope, type WebUserInfo } from './auth/WebAuth.js';
import { webConfigSchema, type WebConfig } from './config.js';
import { recordedTypes } from './stream/config.js';
import { buildOpenApi } from './openapi.js';
import { WEB_PLUGIN, WEB_VERSION, WebToken } from './plugin.js';

/** Options of {@link createWebServer}. */
export interface WebServerOptions {
  /** Interface to bind (default `127.0.0.1`). A non-loopback host needs a credential (token or user). */
  host?: string;
  /** Port (default 8080; `0` picks a free one). */
  port?: number;
  /** Mounts everything under a path prefix, e.g. `/tip` (default none). */
  prefix?: string;
  /** Logger (default the app's). */
  log?: Logger;
  /**
   * Folder of the built browser UI (`index.html`, `assets/`); default the package's `dist-ui`.
   * When it has no `index.html`, `/` answers a page saying the UI is not built.
   */
  uiDir?: string;
}

/** A web server over an app (see {@link createWebServer}). */
export interface WebServer {
  /** `http://host:port/<prefix>/` once {@link WebServer.listen} resolved (empty before). */
  readonly url: string;
  /** The Fastify instance (e.g. `fastify.inject()` in tests). */
  readonly fastify: FastifyInstance;
  /** Binds host:port; resolves with the URL. */
  listen(): Promise<string>;
  /** `node:http` request listener for embedding in an existing server (no listen needed). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Stops the server: closes open connections (streams included). */
  close(): Promise<void>;
}

/** The name of the UI session cookie. */
export const SESSION_COOKIE = 'tip_session';

/** The sentence logged when no credential exists. */
export const NO_CREDENTIALS_MESSAGE = 'no web credentials configured: serving 127.0.0.1 only, without authentication';

/** CSP source of the inline style swagger-ui-dist 5.34 injects into the API reference page. */
const SWAGGER_UI_STYLE_HASH = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

/** Content-Security-Policy of every response. */
const CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  frameAncestors: ["'none'"],
};

const MAX_BODY = 1024 * 1024;
const MAX_PAGE_MODULE = 5 * 1024 * 1024;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** True for loopback addresses (127.0.0.0/8, ::1, IPv4-mapped loopback) and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

function normalisePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  const p = `/${prefix.replace(/^\/+|\/+$/g, '')}`;
  if (p === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(p)) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `web server prefix "${prefix}" is invalid: use path segments of letters, digits, ".", "_", "~" or "-", e.g. "/tip"`, { details: { prefix } });
  }
  return p;
}

/** `@tip/plugin-blacklist` → `blacklist` (core's default route prefix). */
function defaultRoutePrefix(name: string): string {
  return name
    .replace(/^@[^/]+\//, '')
    .replace(/^(tip-plugin-|plugin-|tip-)/, '')
    .replace(/[^a-z0-9-]+/gi, '-')
    .toLowerCase();
}

const hasScope = (scopes: readonly WebScope[], scope: WebScope): boolean => scopes.includes(scope) || scopes.includes('admin');

/** How a request authenticated. */
interface Authenticated {
  principal?: WebPrincipal;
  /** The session (cookie) when that is how. */
  session?: { cookie: string; csrfToken: string; user: string };
  /** Anonymous full access (no credentials exist, loopback client). */
  anonymous?: boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const loginBody = z.object({ username: z.string().min(1).max(100), password: z.string().min(1).max(1024) });

/**
 * Creates the web server of an app: every API route of core and the plugins under `/api`
 * (validation and scopes as core's `RouteRouter`), the OpenAPI document (`/api/openapi.json`) and
 * its reference (`/api/docs`), login sessions (`/api/session`), the UI manifest and plugin page
 * modules, `/healthz`, `/metrics` and the browser UI.
 *
 * Authentication: bearer tokens (`tip web token create`) or a session cookie (`tip web user add`,
 * then `POST /api/session`); cookie-authenticated writes need the `x-csrf-token` header. Without
 * any credential it serves loopback clients only, without authentication, and refuses to bind a
 * non-loopback host.
 *
 * @param app an app with `webPlugin()`, loaded or started (credentials need it started)
 * @throws TipError `TIP_CONFIG_INVALID` when the app lacks the web plugin, or for a non-loopback host without credentials
 */
export async function createWebServer(app: TipApp, options: WebServerOptions = {}): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const prefix = normalisePrefix(options.prefix);
  const log = options.log ?? app.log;
  if (app.plugins.length === 0 && app.state === 'created') {
    throw new TipError(TipErrorCodes.APP_STATE, 'createWebServer needs a loaded app: call app.load() or app.start() first');
  }
  if (!app.plugins.some((p) => p.name === WEB_PLUGIN)) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `createWebServer needs the app to include the web plugin: add webPlugin() from "${WEB_PLUGIN}" to its plugins`, {
      details: { plugins: app.plugins.map((p) => p.name) },
    });
  }
  const config: WebConfig = app.pluginConfig<WebConfig>('web') ?? webConfigSchema.parse({});
  const store = (): WebAuth | undefined => {
    try {
      return app.get(WebToken);
    } catch {
      return undefined;
    }
  };
  const hasCredentials = async (): Promise<boolean> => (await store()?.hasCredentials()) ?? false;

  if (!(await hasCredentials())) {
    if (!isLoopback(host)) {
      const why = store() ? 'no web credential (API token or user) exists' : 'the app is not started, so its web credentials cannot be checked';
      throw new TipError(
        TipErrorCodes.CONFIG_INVALID,
        `refusing to serve on ${host}: ${why}, and without one the API (admin routes included) would be open to anyone who reaches ${host}. ` +
          'Create a credential first with "tip web token create --name <name> --scope admin" (or "tip web user add <name> --scope admin"), or bind 127.0.0.1',
        { details: { host } },
      );
    }
    log.warn(NO_CREDENTIALS_MESSAGE);
  }

  let httpHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const fastify = Fastify({
    loggerInstance: log.child({ component: 'web' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY,
    trustProxy: config.trustProxy,
    requestTimeout: 60_000,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    serverFactory: (handler) => {
      httpHandler = handler as (req: IncomingMessage, res: ServerResponse) => void;
      return createServer({ requestTimeout: 60_000, headersTimeout: 30_000 }, handler);
    },
  });

  await fastify.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP },
    // The UI loads its own assets only; cross-origin isolation headers would break nothing but add nothing either.
    crossOriginEmbedderPolicy: false,
    // No framing at all (clickjacking of the trigger buttons), as the CSP's frame-ancestors 'none' says for newer browsers.
    frameguard: { action: 'deny' },
    // HSTS only means something over HTTPS, i.e. behind the TLS-terminating proxy `trustProxy` declares.
    strictTransportSecurity: config.trustProxy ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  await fastify.register(fastifyCookie);

  // JSON bodies only (text/plain is what cross-site HTML forms can send); an empty body is no body
  // (a POST without arguments), not an error.
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    if (typeof text !== 'string' || text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new HttpError(400, `request body is not JSON: ${(err as Error).message}`, TipErrorCodes.INPUT_INVALID), undefined);
    }
  });
  fastify.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err instanceof HttpError) return void reply.code(err.status).headers(err.headers).send({ error: err.message, code: err.code });
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err, url: request.url }, 'web request failed');
    reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message, code: status === 413 ? 'TIP_BODY_TOO_LARGE' : (err.code ?? 'TIP_HTTP') });
  });
  fastify.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `not found: ${request.method} ${request.url.split('?')[0]!.slice(0, 300)}`, code: TipErrorCodes.NOT_FOUND });
  });

  // Failed authentications are counted in the database, so every web process of a deployment
  // shares the limits (see AuthFailures). Only failed attempts and logins pay for it. Without a
  // started app there are no credentials to guess, and no database to count in.
  let failureCounters: AuthFailures | undefined;
  const failures = (): AuthFailures | undefined => {
    if (!store()) return undefined;
    return (failureCounters ??= new AuthFailures(app.db, app.clock, {
      max: { login: config.loginAttempts, bearer: config.failedAuthAttempts },
      windowMs: config.authWindow,
      maxClients: config.authMaxClients,
    }));
  };
  const rateLimited = (kind: AuthFailureKind, seconds: number): HttpError =>
    new HttpError(429, `${kind === 'login' ? 'too many attempts' : 'too many failed authentications'}: try again in ${seconds} s`, 'TIP_RATE_LIMITED', { 'retry-after': String(seconds) });
  const sessionCookiePath = prefix || '/';

  /** Who the request is; throws 401/429 for a bad bearer token. */
  const authenticate = async (request: FastifyRequest): Promise<Authenticated> => {
    const authz = request.headers.authorization;
    if (authz !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
      // A valid token is accepted even from a client over the limit: its 256-bit secret cannot
      // be guessed, so the limit is about the cost and noise of wrong ones, and checking it first
      // would cost every authenticated request a database read.
      const principal = m && m[1]!.length <= 200 ? await store()?.verifyToken(m[1]!) : undefined;
      if (!principal) {
        const limits = failures();
        if (limits) {
          const key = clientKey(request.ip);
          const wait = limits.cachedRefusal('bearer', key) || (await limits.hit('bearer', key)).retryAfter;
          if (wait > 0) throw rateLimited('bearer', wait);
        }
        throw new HttpError(401, 'invalid, unknown or revoked bearer token', 'TIP_UNAUTHORIZED', { 'www-authenticate': 'Bearer' });
      }
      return { principal };
    }
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie) {
      const session = await store()?.session(cookie);
      if (session) return { principal: { id: `user:${session.user}`, kind: 'user', user: session.user, scopes: session.scopes }, session: { cookie, csrfToken: session.csrfToken, user: session.user } };
    }
    // Anonymous access: no credential exists, the client is on loopback, and it asked for a
    // loopback host name (a page of another site rebinding its DNS name to 127.0.0.1 does not).
    if (!(await hasCredentials()) && isLoopback(request.ip) && isLoopback(request.hostname)) {
      return { anonymous: true, principal: { id: 'anonymous', kind: 'user', scopes: ['read', 'admin'] } };
    }
    return {};
  };

  /**
   * Refuses writes a browser sends on behalf of another site (no-cors form posts and fetches carry
   * no CSRF token and no custom header, but an `Origin` or `Sec-Fetch-Site` naming the other site).
   */
  const checkOrigin = (request: FastifyRequest): void => {
    const origin = request.headers.origin;
    let same = true;
    if (origin !== undefined) {
      try {
        same = new URL(origin).host === request.host;
      } catch {
        same = false;
      }
    }
    const site = request.headers['sec-fetch-site'];
    if (!same || site === 'cross-site' || site === 'same-site') {
      throw new HttpError(403, `cross-site request refused (origin ${String(origin ?? site).slice(0, 200)})`, 'TIP_CSRF');
    }
  };

  /** Authenticates, checks the scope and (for cookie writes) the CSRF token. */
  const guard = async (request: FastifyRequest, scope: WebScope): Promise<Authenticated> => {
    const auth = await authenticate(request);
    if (!auth.principal) {
      const why = (await hasCredentials()) ? 'authentication required: send "Authorization: Bearer <token>" or log in' : 'this server serves loopback clients only (no web credentials exist)';
      throw new HttpError(401, why, 'TIP_UNAUTHORIZED', { 'www-authenticate': 'Bearer' });
    }
    if (!hasScope(auth.principal.scopes, scope)) throw new HttpError(403, `scope "${scope}" required`, TipErrorCodes.FORBIDDEN);
    if (auth.principal.kind !== 'token' && UNSAFE_METHODS.has(request.method)) checkOrigin(request);
    if (auth.session && UNSAFE_METHODS.has(request.method)) {
      const sent = request.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, auth.session.csrfToken)) {
        throw new HttpError(403, 'missing or invalid CSRF token: send the csrfToken of GET /api/session in the x-csrf-token header', 'TIP_CSRF');
      }
    }
    return auth;
  };

  const routes = dedupe(app.routes('/api'), log);
  const router = new RouteRouter(routes, { log });
  const openapi = buildOpenApi(routes, {
    version: WEB_VERSION,
    description: 'The HTTP API of a TIP deployment: core (jobs, runs, workers, health) and every plugin under its prefix.',
    serverUrl: prefix || undefined,
  });
  Object.assign(openapi.paths as Record<string, unknown>, serverPaths());
  const uiRoot = options.uiDir ? resolve(options.uiDir) : fileURLToPath(new URL('../dist-ui/', import.meta.url));
  const uiBuilt = existsSync(join(uiRoot, 'index.html'));
  if (prefix) {
    // The UI resolves its URLs against the document base: `/tip` must be `/tip/`.
    fastify.addHook('onRequest', async (request, reply) => {
      const q = request.url.indexOf('?');
      if ((q < 0 ? request.url : request.url.slice(0, q)) === prefix && (request.method === 'GET' || request.method === 'HEAD')) {
        return reply.redirect(`${prefix}/${q < 0 ? '' : request.url.slice(q)}`, 301);
      }
    });
  }

  await fastify.register(
    async (scope) => {
      // Every route of core and the plugins, through core's router (validation, scopes, errors).
      for (const mounted of routes) {
        scope.route({
          method: mounted.route.method,
          url: mounted.path,
          handler: async (request, reply) => {
            const auth = await guard(request, 'read');
            const controller = new AbortController();
            reply.raw.once('close', () => controller.abort());
            const url = prefix ? request.url.slice(prefix.length) || '/' : request.url;
            const out = await router.handle({
              method: request.method,
              url,
              headers: request.headers as Record<string, string | undefined>,
              body: request.body,
              signal: controller.signal,
              principal: auth.principal,
            });
            if (!out) throw new HttpError(404, `not found: ${request.method} ${url.split('?')[0]}`, TipErrorCodes.NOT_FOUND);
            return send(request, reply, out, controller.signal, log);
          },
        });
      }

      scope.get('/api/openapi.json', async (request) => {
        await guard(request, 'read');
        return openapi;
      });
      await scope.register(fastifySwagger, { mode: 'static', specification: { document: openapi as never } });
      await scope.register(fastifySwaggerUi, {
        routePrefix: '/api/docs',
        uiConfig: { validatorUrl: null, deepLinking: false },
        // The reference shows what /api/openapi.json does: the same authentication.
        uiHooks: {
          onRequest: async (request) => {
            await guard(request, 'read');
          },
        },
        // The page and its assets are static files of the package (no CDN); they load under the CSP
        // above, plus the hash of the one <style> element swagger-ui-bundle.js injects (on these
        // routes only, still no 'unsafe-inline'; a browser test fails if a new version changes it).
        staticCSP: false,
        transformStaticCSP: (header) => header.replace(/style-src 'self'/, `style-src 'self' ${SWAGGER_UI_STYLE_HASH}`),
      });

      scope.get('/api/session', async (request) => {
        const auth = await authenticate(request).catch((err: unknown) => {
          if (err instanceof HttpError && err.status === 401) return {} as Authenticated;
          throw err;
        });
        const authRequired = await hasCredentials();
        return {
          authenticated: auth.principal !== undefined && !auth.anonymous,
          user: auth.session?.user ?? (auth.principal?.kind === 'token' ? null : null),
          scopes: auth.principal?.scopes ?? [],
          csrfToken: auth.session?.csrfToken ?? null,
          authRequired,
        };
      });
      scope.post(
        '/api/session',
        async (request, reply) => {
          checkOrigin(request);
          const parsed = loginBody.safeParse(request.body);
          if (!parsed.success) throw new HttpError(400, 'send JSON { "username": "…", "password": "…" }', TipErrorCodes.INPUT_INVALID);
          const auth = store();
          const limits = failures();
          if (!auth || !limits) throw new HttpError(503, 'the app is not started: logins are unavailable', 'TIP_APP_STATE');
          // Every attempt is counted before the (expensive) password check, so parallel attempts
          // cannot slip past the limit; a successful one is taken back. A success does not reset
          // the count: an attacker with one valid account must not be able to clear the failures
          // of its guesses at the others.
          const key = clientKey(request.ip);
          const cached = limits.cachedRefusal('login', key);
          if (cached > 0) throw rateLimited('login', cached);
          const hit = await limits.hit('login', key);
          if (hit.retryAfter > 0) throw rateLimited('login', hit.retryAfter);
          let user: WebUserInfo | undefined;
          try {
            user = await auth.checkPassword(parsed.data.username, parsed.data.password);
          } catch (err) {
            await limits.release('login', hit).catch(() => undefined);
            throw err;
          }
          if (!user) throw new HttpError(401, 'invalid user name or password', 'TIP_UNAUTHORIZED');
          await limits.release('login', hit);
          const { cookie, session } = await auth.createSession(user.name, config.sessionTtl);
          reply.setCookie(SESSION_COOKIE, cookie, {
            path: sessionCookiePath,
            httpOnly: true,
            sameSite: 'strict',
            secure: request.protocol === 'https',
            maxAge: Math.floor(config.sessionTtl / 1000),
          });
          return { authenticated: true, user: session.user, scopes: session.scopes, csrfToken: session.csrfToken, authRequired: true, expiresAt: new Date(session.expiresAt).toISOString() };
        },
      );
      scope.delete('/api/session', async (request, reply) => {
        const cookie = request.cookies[SESSION_COOKIE];
        if (cookie) {
          const auth = await authenticate(request).catch(() => ({}) as Authenticated);
          if (auth.session) {
            await guard(request, 'read');
            await store()?.deleteSession(cookie);
          }
        }
        reply.clearCookie(SESSION_COOKIE, { path: sessionCookiePath, httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' });
        return reply.code(204).send();
      });

      scope.get('/api/ui/manifest', async (request) => {
        const auth = await guard(request, 'read');
        const scopes = auth.principal!.scopes;
        return {
          version: WEB_VERSION,
          // what the live stream carries (the recorder's types): the UI follows and filters these
          streamTypes: recordedTypes(
            app.publicEvents().map(({ event }) => event.name),
            config.stream,
          ),
          plugins: app.plugins.map((p) => ({ name: p.name, version: p.version, prefix: p.routePrefix ?? defaultRoutePrefix(p.name) })),
          pages: app
            .pages()
            .filter(({ page }) => hasScope(scopes, page.scope ?? 'read'))
            .map(({ page, plugin }) => ({
              id: page.id,
              plugin,
              title: page.title,
              path: page.path,
              moduleUrl: `${prefix}/ui/pages/${encodeURIComponent(page.id)}.js`,
              scope: page.scope ?? 'read',
              order: page.order ?? 100,
            }))
            .sort((a, b) => a.order - b.order || a.id.localeCompare(b.id)),
        };
      });
      scope.get<{ Params: { id: string } }>('/ui/pages/:id', async (request, reply) => {
        const auth = await guard(request, 'read');
        const id = request.params.id.replace(/\.js$/, '');
        const found = app.pages().find(({ page }) => page.id === id);
        if (!found || !request.params.id.endsWith('.js')) throw new HttpError(404, `no page "${id.slice(0, 200)}"`, TipErrorCodes.NOT_FOUND);
        if (!hasScope(auth.principal!.scopes, found.page.scope ?? 'read')) throw new HttpError(403, `scope "${found.page.scope}" required`, TipErrorCodes.FORBIDDEN);
        const file = found.page.module.startsWith('file:') ? fileURLToPath(found.page.module) : found.page.module;
        let size: number;
        try {
          size = statSync(file).size;
        } catch (err) {
          request.log.error({ err, page: id, file }, `page module of "${id}" is missing`);
          throw new HttpError(500, `the module of page "${id}" cannot be read`, 'TIP_PAGE_MODULE');
        }
        if (size > MAX_PAGE_MODULE) throw new HttpError(500, `the module of page "${id}" is larger than ${MAX_PAGE_MODULE} bytes`, 'TIP_PAGE_MODULE');
        return reply.type('application/javascript; charset=utf-8').header('cache-control', 'no-cache').send(await readFile(file));
      });

      scope.get('/healthz', async (_request, reply) => {
        const body = healthzBody(await app.health());
        return reply.code(body.ok ? 200 : 503).send(body);
      });
      scope.get('/metrics', async (_request, reply) => reply.type(app.metrics.registry.contentType).send(await app.metrics.text()));

      if (uiBuilt) {
        await scope.register(fastifyStatic, { root: uiRoot, prefix: '/', index: false, decorateReply: false, wildcard: true });
        scope.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(await readFile(join(uiRoot, 'index.html'))));
      } else {
        scope.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(UI_NOT_BUILT));
      }
    },
    { prefix },
  );
  await fastify.ready();

  let url = '';
  const display = host.includes(':') ? `[${host}]` : host;
  return {
    get url() {
      return url;
    },
    fastify,
    handler: (req, res) => httpHandler!(req, res),
    async listen() {
      await fastify.listen({ host, port });
      const address = fastify.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      url = `http://${display}:${bound}${prefix}/`;
      return url;
    },
    async close() {
      const server = fastify.server as Server;
      const closing = fastify.close();
      server.closeAllConnections?.();
      await closing;
    },
  };
}

/** Keeps the first route of each method and path (as core's router does) and warns about the others. */
function dedupe(routes: readonly MountedRoute[], log: Logger): MountedRoute[] {
  const seen = new Map<string, MountedRoute>();
  const reserved = new Set(['GET /api/openapi.json', 'GET /api/session', 'POST /api/session', 'DELETE /api/session', 'GET /api/ui/manifest']);
  const out: MountedRoute[] = [];
  for (const r of routes) {
    const key = `${r.route.method} ${r.path.replace(/:[^/]+/g, ':')}`;
    const clash = seen.get(key);
    if (clash || reserved.has(key) || r.path.startsWith('/api/docs')) {
      log.warn({ route: r.id, plugin: r.plugin }, `route ${r.route.method} ${r.path} of ${r.plugin} is not served: ${clash ? `${clash.plugin} has the same path` : 'the web server owns that path'}`);
      continue;
    }
    seen.set(key, r);
    out.push(r);
  }
  return out;
}

/** Writes a router response: JSON/text/bytes directly, streams chunk by chunk without buffering. */
async function send(request: FastifyRequest, reply: FastifyReply, out: RouterResponse, signal: AbortSignal, log: Logger): Promise<FastifyReply> {
  const body = out.body;
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
    reply.code(out.status).headers(out.headers);
    return body === undefined ? reply.send() : reply.send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }
  // A stream: write each chunk as it comes (server-sent events need exactly that), stop when the
  // client goes away.
  const res = reply.raw;
  reply.hijack();
  const headers: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v as string | number | string[];
  Object.assign(headers, out.headers, { 'x-accel-buffering': 'no' });
  if (String(out.headers['content-type'] ?? '').startsWith('text/event-stream')) headers['cache-control'] = 'no-cache';
  res.writeHead(out.status, headers);
  res.flushHeaders();
  if (request.method === 'HEAD') {
    res.end();
    return reply;
  }
  const iterator = body[Symbol.asyncIterator]();
  const closed = new Promise<'closed'>((resolve) => {
    if (signal.aborted) resolve('closed');
    signal.addEventListener('abort', () => resolve('closed'), { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), closed]);
      if (next === 'closed') {
        iterator.return?.().catch(() => undefined);
        return reply;
      }
      if (next.done) break;
      const chunk = next.value;
      if (!res.write(chunk)) {
        const drained = await Promise.race([new Promise<'drain'>((resolve) => res.once('drain', () => resolve('drain'))), closed]);
        if (drained === 'closed') {
          iterator.return?.().catch(() => undefined);
          return reply;
        }
      }
    }
    res.end();
  } catch (err) {
    log.error({ err, url: request.url }, 'streaming a route reply failed');
    res.destroy(err as Error);
  }
  return reply;
}

/** OpenAPI entries of the server's own endpoints (sessions and the UI manifest). */
function serverPaths(): Record<string, unknown> {
  const session = {
    type: 'object',
    properties: {
      authenticated: { type: 'boolean' },
      user: { type: ['string', 'null'] },
      scopes: { type: 'array', items: { type: 'string', enum: ['read', 'admin'] } },
      csrfToken: { type: ['string', 'null'], description: 'Send it as `x-csrf-token` with cookie-authenticated writes' },
      authRequired: { type: 'boolean', description: 'False when no credential exists (loopback clients get full access)' },
    },
    required: ['authenticated', 'user', 'scopes', 'csrfToken', 'authRequired'],
  };
  const ok = (schema: unknown) => ({ '200': { description: 'OK', content: { 'application/json': { schema } } } });
  return {
    '/api/session': {
      get: { operationId: 'web.session', tags: ['session'], summary: 'Who the caller is, and the CSRF token of its session', responses: ok(session) },
      post: {
        operationId: 'web.login',
        tags: ['session'],
        summary: 'Logs a user in: sets the session cookie (rate limited per client)',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { username: { type: 'string' }, password: { type: 'string' } }, required: ['username', 'password'] } } } },
        responses: { ...ok(session), '401': { description: 'Invalid user name or password' }, '429': { description: 'Too many attempts' } },
      },
      delete: { operationId: 'web.logout', tags: ['session'], summary: 'Logs out (ends the session)', responses: { '204': { description: 'Logged out' } } },
    },
    '/api/ui/manifest': {
      get: {
        operationId: 'web.manifest',
        tags: ['session'],
        summary: 'Plugins, the plugin pages the caller may see and the live stream\'s event types, for the UI',
        security: [{ bearer: [] }, { session: [] }],
        responses: ok({ type: 'object', properties: { version: { type: 'string' }, streamTypes: { type: 'array', items: { type: 'string' } }, plugins: { type: 'array' }, pages: { type: 'array' } } }),
      },
    },
  };
}

const UI_NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TIP</title></head>
<body><h1>TIP</h1>
<p>The web UI is not built. Build it with <code>./dev build</code> (or <code>npm run build -w @tip/web</code>).</p>
<p>The API is available: <a href="api/docs/">API reference</a>, <a href="api/openapi.json">OpenAPI document</a>, <a href="healthz">health</a>.</p>
</body></html>
`;
