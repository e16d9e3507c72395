/**
 * Public types of the HTTP client: limits, options, responses and the conditional-request store.
 * Re-exported from `@tip/core` through `HttpClient.ts`.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { Duration } from '../util/duration.js';
/**
 * Bounds applied to every request. Threat feeds are hostile input: each request is limited in time,
 * size and redirects. Set on the {@link HttpClient} and overridable per request.
 */
export interface HttpLimits {
  /**
   * Time allowed to establish each connection (TCP, plus TLS for `https:`; DNS included).
   * Exceeding it fails with `TIP_HTTP_CONNECT_TIMEOUT`. `0` disables it. Default `'10s'`.
   */
  connectTimeout?: Duration;
  /**
   * Total time for the whole request: every redirect hop and the complete body (for
   * {@link HttpClient.stream}, until the body has been iterated to the end). Exceeding it fails with
   * `TIP_HTTP_TIMEOUT`. `0` disables it. Default `'60s'`.
   */
  timeout?: Duration;
  /**
   * Maximum body size in bytes, applied both to the decompressed body and to the bytes on the wire.
   * A `Content-Length` above it fails before the body is read; otherwise the request fails as soon
   * as the limit is crossed (decompression is streamed, so a gzip bomb is never expanded in memory).
   * Fails with `TIP_HTTP_TOO_LARGE`. Default 64 MiB.
   */
  maxBytes?: number;
  /** Maximum number of redirects to follow (only to `http:`/`https:` URLs). Default `5`. */
  maxRedirects?: number;
  /** The `User-Agent` header. Default `'TIP/0.1 (+https://github.com/tip-project/tip)'`. */
  userAgent?: string;
  /**
   * Extra request headers (names are case-insensitive). Per-request headers are merged over the
   * client's. `Authorization`, `Cookie` and `Proxy-Authorization` are dropped when a redirect leaves
   * the original origin.
   */
  headers?: Record<string, string>;
}

/** The validators remembered for one URL, for conditional requests. */
export interface Validators {
  /** The last `ETag` response header, sent back as `If-None-Match`. */
  etag?: string;
  /** The last `Last-Modified` response header, sent back as `If-Modified-Since`. */
  lastModified?: string;
}

/**
 * Conditional-request memory, persisted per source by the caller. Keys are URLs exactly as passed
 * to the client (a `URL` object is keyed by its `href`), before any redirect.
 */
export interface ValidatorStore {
  /** The validators stored for `url`, if any. */
  get(url: string): Validators | undefined;
  /**
   * Remembers validators for `url`. Called only after a successful (ok, non-304) response whose body
   * was read completely and that carried an `ETag` and/or `Last-Modified` header.
   */
  set(url: string, v: Validators): void;
}

/** Options for {@link HttpClient}. */
export interface HttpClientOptions extends HttpLimits {
  /** Aborts every request of this client (e.g. the app is stopping). */
  signal?: AbortSignal;
  /** Enables conditional requests (`If-None-Match` / `If-Modified-Since`) by default. */
  validators?: ValidatorStore;
  /** Receives one debug line per request (method, url, status, bytes, ms). */
  log?: Logger;
}

/** Options for one request; limits override the client's. */
export interface HttpRequestOptions extends HttpLimits {
  /** Aborts this request; combined with the client's signal. */
  signal?: AbortSignal;
  /** HTTP method. Default `'GET'`. */
  method?: 'GET' | 'HEAD';
  /**
   * Send `If-None-Match` / `If-Modified-Since` from the client's {@link ValidatorStore}, and store
   * the response's validators. Default `true` when the client has a store.
   */
  conditional?: boolean;
  /** Which final statuses count as success. Default: 2xx. A 304 is always handled separately. */
  okStatus?: (status: number) => boolean;
}

/** A complete HTTP response. */
export interface HttpResponse {
  /**
   * The final URL, after redirects, exactly as requested: credentials included. Pass it through
   * {@link redactUrl} before showing or logging it.
   */
  url: string;
  /** The final status code. */
  status: number;
  /** Response headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** True when the server answered 304 Not Modified (the body is then empty). */
  notModified: boolean;
  /** The body, decoded according to `Content-Encoding` (gzip, x-gzip, deflate, br, identity). */
  body: Buffer;
  /** Body bytes received on the wire, before decompression (headers and chunk framing excluded). */
  wireBytes: number;
  /** The response's `ETag` header. */
  etag?: string;
  /** The response's `Last-Modified` header. */
  lastModified?: string;
}

/** The head of a streamed response: everything but the body. `wireBytes` grows while iterating. */
export type HttpResponseHead = Omit<HttpResponse, 'body'>;

/** A streamed response from {@link HttpClient.stream}. */
export interface HttpStreamResponse {
  /** Status, headers and validators; `wireBytes` is live and final once the body is consumed. */
  response: HttpResponseHead;
  /**
   * The decoded body in chunks. Iterate it once, to the end or until you `break` (which closes the
   * connection). Limits are enforced while iterating: errors are thrown from the iterator.
   */
  body: AsyncIterable<Buffer>;
}

