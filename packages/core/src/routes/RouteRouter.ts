import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes, describeError, isTipError } from '../errors/TipError.js';
import { isRouteReply, type RouteDefinition, type RouteMethod, type RoutePrincipal, type RouteReply, type RouteScope } from './types.js';

/** A route with where it is mounted. */
export interface MountedRoute {
  /** The route as the plugin declared it. */
  route: RouteDefinition;
  /** The plugin that added it. */
  plugin: string;
  /** Full path template, e.g. `/api/blacklist/sources/:id`. */
  path: string;
  /** Operation id (the route's `id`, or `<prefix>.<method> <path>`). */
  id: string;
}

/** A request as {@link RouteRouter.handle} takes it, from any HTTP server. */
export interface RouterRequest {
  /** HTTP method, any case (`GET`, `post`…); `HEAD` is served by `GET` routes. */
  method: string;
  /** Path and query, e.g. `/api/blacklist/sources?limit=5`. */
  url: string;
  /** Request headers, lower-case names (default none). */
  headers?: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body (undefined for none). */
  body?: unknown;
  /** Aborted when the client goes away; handed to the handler as `req.signal`. */
  signal?: AbortSignal;
  /** The authenticated caller; when set, the route's scope must be among its scopes (or `admin`). */
  principal?: RoutePrincipal;
}

/** A normalised reply ready to write. */
export interface RouterResponse {
  /** HTTP status code. */
  status: number;
  /** Response headers (`content-type` included when there is a body). */
  headers: Record<string, string>;
  /** Serialised body: text, bytes, or a stream of chunks. */
  body: string | Uint8Array | AsyncIterable<string | Uint8Array> | undefined;
}

const STATUS_BY_CODE: Record<string, number> = {
  [TipErrorCodes.NOT_FOUND]: 404,
  [TipErrorCodes.INPUT_INVALID]: 400,
  [TipErrorCodes.FORBIDDEN]: 403,
  [TipErrorCodes.JOB_UNKNOWN]: 404,
};

/**
 * Dispatches requests to the routes plugins contributed, without any HTTP framework: matches
 * method and path, validates params/query/body with the route's schemas (400 with every issue),
 * checks the scope, runs the handler and serialises its result. The CLI status server and
 * embedding apps on `node:http` use it directly; `@tip/web` mounts the same routes on Fastify.
 */
export class RouteRouter {
  readonly #routes: MountedRoute[];
  readonly #log: Logger;
  readonly #scopes: ReadonlySet<RouteScope>;

  /**
   * @param routes mounted routes (see `TipApp.routes()`)
   * @param options `log` for failures; `servedScopes`: the scopes this server serves at all
   *   (a server without authentication passes `['read']`; admin routes then answer 403)
   */
  constructor(routes: readonly MountedRoute[], options: { log: Logger; servedScopes?: readonly RouteScope[] }) {
    this.#routes = [...routes];
    this.#log = options.log;
    this.#scopes = new Set(options.servedScopes ?? ['read', 'admin']);
  }

  /** Every mounted route. */
  list(): readonly MountedRoute[] {
    return this.#routes;
  }

  /** The route and parameters for a method and path, or `undefined`; `allowed` lists methods of a path-only match. */
  match(
    method: string,
    pathname: string,
  ):
    | {
        /** The matching route. */
        mounted: MountedRoute;
        /** Path parameters by name (`/sources/:id` → `{ id }`). */
        params: Record<string, string>;
      }
    | {
        /** Methods the path does have routes for (the request's method is not among them). */
        allowed: RouteMethod[];
      }
    | undefined {
    const allowed: RouteMethod[] = [];
    for (const mounted of this.#routes) {
      const params = matchPath(mounted.path, pathname);
      if (!params) continue;
      if (mounted.route.method === method || (method === 'HEAD' && mounted.route.method === 'GET')) return { mounted, params };
      allowed.push(mounted.route.method);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }

  /** Handles one request; never throws (failures become 4xx/5xx JSON replies). */
  async handle(req: RouterRequest): Promise<RouterResponse | undefined> {
    const url = new URL(req.url, 'http://localhost');
    const found = this.match(req.method.toUpperCase(), url.pathname);
    if (!found) return undefined;
    if ('allowed' in found) return jsonResponse(405, { error: 'method not allowed', code: 'TIP_METHOD' }, { allow: found.allowed.join(', ') });
    const { mounted, params } = found;
    const route = mounted.route;
    try {
      if (!this.#scopes.has(route.scope)) {
        throw new TipError(TipErrorCodes.FORBIDDEN, `${route.method} ${mounted.path} needs scope "${route.scope}", which this server does not serve`, {
          details: { scope: route.scope },
        });
      }
      if (req.principal && !req.principal.scopes.includes(route.scope) && !req.principal.scopes.includes('admin')) {
        throw new TipError(TipErrorCodes.FORBIDDEN, `scope "${route.scope}" required`, { details: { scope: route.scope } });
      }
      const issues: Array<{ path: string; message: string }> = [];
      const parsedParams = await validate(route.params, params, 'params', issues);
      const parsedQuery = await validate(route.query, queryObject(url.searchParams), 'query', issues);
      const parsedBody = await validate(route.body, req.body, 'body', issues);
      if (issues.length > 0) {
        throw new TipError(TipErrorCodes.INPUT_INVALID, issues.map((i) => `${i.path}: ${i.message}`).join('; '), { details: { issues } });
      }
      const result = await route.handler({
        params: parsedParams,
        query: parsedQuery,
        body: parsedBody,
        headers: req.headers ?? {},
        signal: req.signal ?? new AbortController().signal,
        log: this.#log.child({ route: mounted.id }),
        principal: req.principal,
      });
      return toResponse(result);
    } catch (err) {
      const status = isTipError(err) ? (STATUS_BY_CODE[err.code] ?? 500) : 500;
      if (status === 500) this.#log.error({ err, route: mounted.id }, `route ${mounted.id} failed`);
      const body: Record<string, unknown> = { error: status === 500 ? 'internal error' : describeError(err).replace(/^[A-Z0-9_]+: /, '') };
      if (isTipError(err)) body.code = err.code;
      if (isTipError(err, TipErrorCodes.INPUT_INVALID)) body.issues = err.details.issues;
      return jsonResponse(status, body);
    }
  }

  /**
   * A `node:http` request listener part: answers requests for mounted routes and resolves `true`,
   * or resolves `false` (nothing written) so the caller can serve other paths.
   */
  async handleNode(req: IncomingMessage, res: ServerResponse, principal?: RoutePrincipal): Promise<boolean> {
    const url = req.url ?? '/';
    if (!this.match((req.method ?? 'GET').toUpperCase(), new URL(url, 'http://localhost').pathname)) return false;
    const controller = new AbortController();
    res.once('close', () => controller.abort());
    let body: unknown;
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'DELETE') body = await readJson(req);
    const out = (await this.handle({ method: req.method ?? 'GET', url, headers: req.headers as Record<string, string>, body, signal: controller.signal, principal }))!;
    res.writeHead(out.status, out.headers);
    if (req.method === 'HEAD' || out.body === undefined) res.end();
    else if (typeof out.body === 'string' || out.body instanceof Uint8Array) res.end(out.body);
    else {
      try {
        for await (const chunk of out.body) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        res.end();
      } catch (err) {
        this.#log.error({ err, url }, 'streaming a route reply failed');
        res.destroy(err as Error);
      }
    }
    return true;
  }
}

async function validate<T>(schema: StandardSchemaV1<unknown, T> | undefined, value: unknown, part: string, issues: Array<{ path: string; message: string }>): Promise<T> {
  if (!schema) return value as T;
  const result = await schema['~standard'].validate(value);
  if (!result.issues) return result.value;
  for (const i of result.issues) {
    const path = (i.path ?? []).map((seg) => (typeof seg === 'object' && seg !== null && 'key' in seg ? String(seg.key) : String(seg))).join('.');
    issues.push({ path: path ? `${part}.${path}` : part, message: i.message });
  }
  return undefined as T;
}

function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    out[key] = all.length === 1 ? all[0]! : all;
  }
  return out;
}

/** `/a/:id/b` against `/a/42/b` → `{ id: '42' }`; undefined when it does not match. */
function matchPath(template: string, pathname: string): Record<string, string> | undefined {
  const t = template.split('/');
  const p = pathname.replace(/\/+$/, '').split('/');
  if (t.length !== p.length && !(template.endsWith('/') && t.length - 1 === p.length)) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!;
    const got = p[i] ?? '';
    if (seg.startsWith(':')) {
      if (got === '') return undefined;
      try {
        params[seg.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined;
      }
    } else if (seg !== got) return undefined;
  }
  return params;
}

function toResponse(result: unknown): RouterResponse {
  if (!isRouteReply(result)) return jsonResponse(200, result ?? null);
  const r: RouteReply = result;
  const headers = { ...r.headers };
  const b = r.body;
  if ('json' in b) return jsonResponse(r.status, b.json, headers);
  if ('text' in b) return { status: r.status, headers, body: b.text };
  if ('bytes' in b) return { status: r.status, headers, body: b.bytes };
  if ('stream' in b) return { status: r.status, headers, body: b.stream };
  return { status: r.status, headers, body: undefined };
}

function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): RouterResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: `${JSON.stringify(value)}\n` };
}

const MAX_BODY = 1024 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new TipError(TipErrorCodes.INPUT_INVALID, `request body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new TipError(TipErrorCodes.INPUT_INVALID, `request body is not JSON: ${(err as Error).message}`);
  }
}
