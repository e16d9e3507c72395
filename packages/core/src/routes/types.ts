import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Logger } from 'pino';

/** HTTP methods a route may answer. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a caller must hold to use a route: `read` for queries, `admin` for anything that changes
 * state (triggers, submissions, settings). Servers without authentication serve `read` routes only.
 */
export type RouteScope = 'read' | 'admin';

/** Who is calling, as the server authenticated them (absent on servers without authentication). */
export interface RoutePrincipal {
  /** Token or user id. */
  id: string;
  /** Scopes the caller holds. */
  scopes: readonly RouteScope[];
}

/** A validated request, independent of the HTTP framework serving it. */
export interface RouteRequest<P = Record<string, string>, Q = Record<string, string | string[]>, B = unknown> {
  /** Path parameters (`/sources/:id` → `{ id }`), validated by the route's `params` schema when it has one. */
  readonly params: P;
  /** Query parameters, validated by the route's `query` schema when it has one (repeated keys become arrays). */
  readonly query: Q;
  /** The parsed JSON body, validated by the route's `body` schema when it has one. */
  readonly body: B;
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Aborted when the client goes away or the server stops: pass it to long work. */
  readonly signal: AbortSignal;
  /** Logger with `{ route }`. */
  readonly log: Logger;
  /** The authenticated caller, when the server authenticates. */
  readonly principal?: RoutePrincipal;
}

/** A body a route streams: text or bytes, produced lazily (exports of millions of lines). */
export type RouteStream = AsyncIterable<string | Uint8Array>;

/** A full reply: status, headers and a body. Build one with {@link reply}. */
export interface RouteReply {
  /** Marks the object as a reply rather than a JSON value. */
  readonly kind: 'tip.reply';
  /** HTTP status (default 200). */
  readonly status: number;
  /** Extra headers (`content-type`, `content-disposition`…). */
  readonly headers: Readonly<Record<string, string>>;
  /** A JSON value (serialised), text, bytes or a stream. */
  readonly body:
    | {
        /** A JSON value, serialised with `JSON.stringify`. */
        json: unknown;
      }
    | {
        /** Text, sent as is. */
        text: string;
      }
    | {
        /** Bytes, sent as is. */
        bytes: Uint8Array;
      }
    | {
        /** Chunks streamed as they are produced. */
        stream: RouteStream;
      }
    | {
        /** No body (e.g. status 204). */
        empty: true;
      };
}

/** What a handler returns: a JSON-serialisable value (status 200) or a {@link RouteReply}. */
export type RouteResult<O> = O | RouteReply;

/**
 * The schema of one part of a request or of the response. Any Standard Schema validates; schemas
 * that also implement Standard JSON Schema (zod 4, valibot, arktype) are described in the
 * OpenAPI document `@tip/web` builds.
 */
export type RouteSchema<T = unknown> = StandardSchemaV1<unknown, T>;

/**
 * An HTTP API route contributed by a plugin (`ctx.routes.add(...)`). It is mounted under
 * `/api/<plugin prefix>` by whichever server the app runs (the CLI status server, `@tip/web`, or
 * an embedding app through {@link RouteRouter}); plugins never import an HTTP framework.
 *
 * @example
 * ```ts
 * ctx.routes.add(defineRoute({
 *   method: 'GET', path: '/sources/:id', scope: 'read', summary: 'One source',
 *   params: z.object({ id: z.string() }),
 *   handler: async ({ params }) => (await service.source(params.id)) ?? notFound(`no source "${params.id}"`),
 * }));
 * ```
 */
export interface RouteDefinition<P = unknown, Q = unknown, B = unknown, O = unknown> {
  /** Unique operation id (default `<prefix>.<method> <path>`); appears in the OpenAPI document. */
  id?: string;
  /** HTTP method. */
  method: RouteMethod;
  /** Path under the plugin's prefix, starting with `/`; `:name` segments are parameters. */
  path: string;
  /** One line for the API reference. */
  summary: string;
  /** More text for the API reference (Markdown). */
  description?: string;
  /** Grouping in the API reference (default: the plugin's prefix). */
  tags?: readonly string[];
  /** Scope the caller needs. */
  scope: RouteScope;
  /** Validates (and may coerce) the path parameters. */
  params?: RouteSchema<P>;
  /** Validates (and may coerce) the query string parameters. */
  query?: RouteSchema<Q>;
  /** Validates the JSON body (POST/PUT/PATCH). */
  body?: RouteSchema<B>;
  /** Describes the JSON response (documentation; not enforced at run time). */
  response?: RouteSchema<O>;
  /** Content type of non-JSON responses, for the API reference (e.g. `text/plain`). */
  produces?: string;
  /** Answers the request. Throw a TipError: `TIP_NOT_FOUND` → 404, `TIP_INPUT_INVALID` → 400, `TIP_FORBIDDEN` → 403, others → 500. */
  handler(req: RouteRequest<P, Q, B>): Promise<RouteResult<O>> | RouteResult<O>;
}

/**
 * A browser page contributed by a plugin (`ctx.pages.add(...)`), mounted by `@tip/web` in its
 * navigation. The page is an ES module built for the browser that exports
 * `mount(element, ctx): () => void` (the returned function unmounts). `ctx.api.get(path)` /
 * `ctx.api.post(path, body)` call the API (paths relative to `/api`) with the user's session and
 * CSRF token, `ctx.stream(types, onEvent)` follows the live event stream, `ctx.navigate(hash)`
 * moves within the UI. Render attacker-controlled text with `textContent`, never `innerHTML`
 * (see `examples/custom-source/ui/sightings-page.js`).
 */
export interface PageDefinition {
  /** Unique id, e.g. `'blacklist.sources'`. */
  id: string;
  /** Navigation title. */
  title: string;
  /** Path under the UI's plugin section, starting with `/` (e.g. `/sources`). */
  path: string;
  /** Absolute file path (or `file:` URL) of the page's browser ES module. */
  module: string;
  /** Scope needed to see the page (default `read`). */
  scope?: RouteScope;
  /** Position in the navigation (lower first; default 100). */
  order?: number;
}

/** Identity helper that types a route: infers params/query/body types from its schemas. */
export function defineRoute<P = Record<string, string>, Q = Record<string, string | string[]>, B = unknown, O = unknown>(
  route: RouteDefinition<P, Q, B, O>,
): RouteDefinition<P, Q, B, O> {
  return route;
}

/** Builders of {@link RouteReply} values. */
export const reply = {
  /** JSON with a status other than 200, or extra headers. */
  json(value: unknown, options: { status?: number; headers?: Record<string, string> } = {}): RouteReply {
    return { kind: 'tip.reply', status: options.status ?? 200, headers: options.headers ?? {}, body: { json: value } };
  },
  /** Plain text (`text/plain; charset=utf-8` unless `contentType`). */
  text(text: string, options: { status?: number; contentType?: string; headers?: Record<string, string> } = {}): RouteReply {
    return {
      kind: 'tip.reply',
      status: options.status ?? 200,
      headers: { 'content-type': options.contentType ?? 'text/plain; charset=utf-8', ...options.headers },
      body: { text },
    };
  },
  /** A streamed body, e.g. a file download (`filename` sets `content-disposition: attachment`). */
  stream(stream: RouteStream, options: { contentType: string; filename?: string; status?: number; headers?: Record<string, string> }): RouteReply {
    const headers: Record<string, string> = { 'content-type': options.contentType, ...options.headers };
    if (options.filename) headers['content-disposition'] = `attachment; filename="${options.filename.replace(/["\\\r\n]/g, '_')}"`;
    return { kind: 'tip.reply', status: options.status ?? 200, headers, body: { stream } };
  },
  /** Bytes with a content type. */
  bytes(bytes: Uint8Array, options: { contentType: string; status?: number; headers?: Record<string, string> }): RouteReply {
    return { kind: 'tip.reply', status: options.status ?? 200, headers: { 'content-type': options.contentType, ...options.headers }, body: { bytes } };
  },
  /** No body (204 unless `status`). */
  empty(status = 204): RouteReply {
    return { kind: 'tip.reply', status, headers: {}, body: { empty: true } };
  },
} as const;

/** True when a handler's result is a {@link RouteReply} rather than a JSON value. */
export function isRouteReply(value: unknown): value is RouteReply {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tip.reply';
}
