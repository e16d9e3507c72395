import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { ByteLimit, createDecoders, parseContentEncoding } from './decode.js';
import { Scope, httpError, openExchange } from './transport.js';

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
  /** The final URL, after redirects. */
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

interface ResolvedLimits {
  connectTimeoutMs: number;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  userAgent: string;
  headers: Record<string, string>;
}

const DEFAULT_LIMITS: ResolvedLimits = {
  connectTimeoutMs: 10_000,
  timeoutMs: 60_000,
  maxBytes: 64 * 1024 * 1024,
  maxRedirects: 5,
  userAgent: 'TIP/0.1 (+https://github.com/tip-project/tip)',
  headers: {},
};

/** Everything {@link HttpClient} knows about one request once its final response arrived. */
interface Exchange {
  url: URL;
  requested: string;
  method: string;
  limits: ResolvedLimits;
  scope: Scope;
  conditional: boolean;
  okStatus: (status: number) => boolean;
  startedAt: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CROSS_ORIGIN_STRIPPED = ['authorization', 'cookie', 'proxy-authorization'];
const UTF8 = new TextDecoder('utf-8');

function lowerKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

function resolveLimits(base: ResolvedLimits, over: HttpLimits, url?: string): ResolvedLimits {
  const where = url === undefined ? '' : ` for ${url}`;
  const invalid = (what: string, value: unknown, cause?: unknown): TipError =>
    new TipError(TipErrorCodes.CONFIG_INVALID, `invalid HTTP option ${what}${where}: ${String(value)}`, {
      details: { ...(url === undefined ? {} : { url }), option: what, input: value },
      cause,
    });
  const duration = (what: string, value: Duration | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    try {
      return parseDuration(value, `HTTP ${what}`);
    } catch (err) {
      throw invalid(what, value, err);
    }
  };
  const maxBytes = over.maxBytes ?? base.maxBytes;
  if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes < 0) throw invalid('maxBytes', maxBytes);
  const maxRedirects = over.maxRedirects ?? base.maxRedirects;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw invalid('maxRedirects', maxRedirects);
  return {
    connectTimeoutMs: duration('connectTimeout', over.connectTimeout, base.connectTimeoutMs),
    timeoutMs: duration('timeout', over.timeout, base.timeoutMs),
    maxBytes,
    maxRedirects,
    userAgent: over.userAgent ?? base.userAgent,
    headers: { ...base.headers, ...lowerKeys(over.headers) },
  };
}

function parseTarget(input: string | URL, base?: URL): URL {
  const raw = typeof input === 'string' ? input : input.href;
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch (err) {
    throw httpError(TipErrorCodes.HTTP_FAILED, `invalid URL: ${raw}`, raw, {}, err);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw httpError(TipErrorCodes.HTTP_FAILED, `unsupported protocol ${url.protocol} in ${url.href}`, url.href, {
      protocol: url.protocol,
    });
  }
  return url;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * An HTTP(S) client for threat-feed sources, built directly on `node:http`/`node:https` and
 * `node:zlib`. Every request is bounded in connect time, total time, body size (decompressed and on
 * the wire) and redirects; bodies are decompressed in a streaming fashion; conditional requests are
 * supported through a {@link ValidatorStore}. Every failure is a {@link TipError} (`TIP_HTTP_*`)
 * whose message names the URL and whose `details.url` holds it.
 *
 * @example
 * ```ts
 * const http = new HttpClient({ timeout: '30s', maxBytes: 16 * 1024 * 1024, validators });
 * try {
 *   const list = await http.text('https://example.org/blocklist.txt');
 * } catch (e) {
 *   if (isTipError(e, 'TIP_HTTP_NOT_MODIFIED')) return; // unchanged since last fetch
 *   throw e;
 * }
 * ```
 */
export class HttpClient {
  private readonly limits: ResolvedLimits;
  private readonly signal: AbortSignal | undefined;
  private readonly validators: ValidatorStore | undefined;
  private readonly log: Logger | undefined;

  /**
   * @param options default limits, a signal aborting all requests, a validator store and a logger
   * @throws TipError `TIP_CONFIG_INVALID` when a limit is malformed
   */
  constructor(options: HttpClientOptions = {}) {
    this.limits = resolveLimits(DEFAULT_LIMITS, options);
    this.signal = options.signal;
    this.validators = options.validators;
    this.log = options.log;
  }

  /**
   * Performs a request, following redirects, and reads the whole (decoded) body.
   *
   * @returns the response; a 304 Not Modified resolves with `notModified: true` and an empty body
   * @throws TipError `TIP_HTTP_STATUS` (details `url`, `status`) for a status rejected by `okStatus`;
   * `TIP_HTTP_TIMEOUT`, `TIP_HTTP_CONNECT_TIMEOUT`, `TIP_HTTP_TOO_LARGE`, `TIP_HTTP_TRUNCATED`,
   * `TIP_HTTP_FAILED` as described on {@link HttpLimits} and {@link HttpClient}; the signal's reason
   * when aborted
   */
  async request(url: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
    const { response, body } = await this.open(url, options);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    return { ...response, body: Buffer.concat(chunks) };
  }

  /**
   * Like {@link HttpClient.request} but resolves with the body only.
   *
   * @throws TipError `TIP_HTTP_NOT_MODIFIED` on a 304, plus everything {@link HttpClient.request} throws
   */
  async buffer(url: string | URL, options: HttpRequestOptions = {}): Promise<Buffer> {
    const response = await this.request(url, options);
    if (response.notModified) {
      throw httpError(TipErrorCodes.HTTP_NOT_MODIFIED, `${response.url} is not modified`, response.url, {
        status: response.status,
        ...(response.etag === undefined ? {} : { etag: response.etag }),
        ...(response.lastModified === undefined ? {} : { lastModified: response.lastModified }),
      });
    }
    return response.body;
  }

  /**
   * Fetches the body as UTF-8 text. A leading byte-order mark is removed and invalid byte
   * sequences become U+FFFD (feeds are not trusted to be well-formed).
   *
   * @throws TipError `TIP_HTTP_NOT_MODIFIED` on a 304, plus everything {@link HttpClient.request} throws
   */
  async text(url: string | URL, options: HttpRequestOptions = {}): Promise<string> {
    return UTF8.decode(await this.buffer(url, options));
  }

  /**
   * Fetches and parses a JSON body. The result is not validated: check it against a schema.
   *
   * @throws TipError `TIP_HTTP_FAILED` naming the URL when the body is not JSON;
   * `TIP_HTTP_NOT_MODIFIED` on a 304; plus everything {@link HttpClient.request} throws
   */
  async json<T = unknown>(url: string | URL, options: HttpRequestOptions = {}): Promise<T> {
    const text = await this.text(url, options);
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      const where = typeof url === 'string' ? url : url.href;
      throw httpError(TipErrorCodes.HTTP_FAILED, `invalid JSON from ${where}: ${describeError(err)}`, where, {}, err);
    }
  }

  /**
   * Performs a request and returns the body as a stream of decoded chunks, for feeds too large to
   * buffer. The status is checked (and an oversized `Content-Length` rejected) before this resolves;
   * the total timeout and `maxBytes` keep applying while the body is iterated, and the validators
   * are stored only once the body has been read to the end. A 304 resolves with
   * `response.notModified` true and an empty body.
   *
   * @throws TipError as {@link HttpClient.request}, either from this call or from the body iterator
   */
  async stream(url: string | URL, options: HttpRequestOptions = {}): Promise<HttpStreamResponse> {
    return this.open(url, options);
  }

  /** Sends the request, follows redirects, checks the status and sets up the body iterator. */
  private async open(input: string | URL, options: HttpRequestOptions): Promise<HttpStreamResponse> {
    const requested = typeof input === 'string' ? input : input.href;
    const method = options.method ?? 'GET';
    const startedAt = performance.now();
    const limits = resolveLimits(this.limits, options, requested);
    const signals = [this.signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
    const scope = new Scope(requested, limits.timeoutMs, signals);
    const conditional = options.conditional ?? this.validators !== undefined;
    let url: URL | undefined;
    let res: IncomingMessage | undefined;
    try {
      scope.check();
      url = parseTarget(input);
      const headers: OutgoingHttpHeaders = {
        accept: '*/*',
        'accept-encoding': 'gzip, deflate, br',
        'user-agent': limits.userAgent,
        ...limits.headers,
      };
      if (conditional && this.validators) {
        const stored = this.validators.get(requested);
        if (stored?.etag && headers['if-none-match'] === undefined) headers['if-none-match'] = stored.etag;
        if (stored?.lastModified && headers['if-modified-since'] === undefined) {
          headers['if-modified-since'] = stored.lastModified;
        }
      }
      let redirects = 0;
      for (;;) {
        scope.check();
        res = await openExchange(url, method, headers, limits.connectTimeoutMs, scope);
        const location = res.headers.location;
        if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) break;
        res.destroy();
        if (redirects >= limits.maxRedirects) {
          throw httpError(
            TipErrorCodes.HTTP_FAILED,
            `too many redirects (more than ${limits.maxRedirects}) requesting ${requested}, last from ${url.href}`,
            url.href,
            { requestedUrl: requested, limit: limits.maxRedirects, location },
          );
        }
        redirects++;
        const next = parseTarget(location, url);
        if (next.origin !== url.origin) for (const name of CROSS_ORIGIN_STRIPPED) delete headers[name];
        url = next;
      }
      const okStatus = options.okStatus ?? ((status: number) => status >= 200 && status < 300);
      return this.prepare(res, { url, requested, method, limits, scope, conditional, okStatus, startedAt });
    } catch (err) {
      scope.close();
      res?.destroy();
      const error = scope.failure ?? err;
      this.log?.debug(
        {
          method,
          url: url?.href ?? requested,
          ...(res?.statusCode === undefined ? {} : { status: res.statusCode }),
          err: describeError(error),
          ms: Math.round(performance.now() - startedAt),
        },
        'http request failed',
      );
      throw error;
    }
  }

  /** Checks status and size up front, then wraps the response body in a limited, decoding iterator. */
  private prepare(res: IncomingMessage, ctx: Exchange): HttpStreamResponse {
    const { url, requested, method, limits, scope, conditional, okStatus, startedAt } = ctx;
    const href = url.href;
    const status = res.statusCode ?? 0;
    const notModified = status === 304;
    const redirected = href === requested ? {} : { requestedUrl: requested };
    if (!notModified && !okStatus(status)) {
      throw httpError(TipErrorCodes.HTTP_STATUS, `HTTP ${status} from ${href}`, href, {
        status,
        ...(res.statusMessage ? { statusText: res.statusMessage } : {}),
        ...redirected,
      });
    }
    const hasBody = method !== 'HEAD' && !notModified && status !== 204;
    const lengthHeader = single(res.headers['content-length']);
    const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
    if (hasBody && contentLength !== undefined && contentLength > limits.maxBytes) {
      throw httpError(
        TipErrorCodes.HTTP_TOO_LARGE,
        `response from ${href} announces ${contentLength} bytes, over the ${limits.maxBytes}-byte limit`,
        href,
        { limit: limits.maxBytes, received: 0, contentLength, ...redirected },
      );
    }
    const codings = hasBody ? parseContentEncoding(res.headers['content-encoding']) : [];
    if (typeof codings === 'string') {
      throw httpError(TipErrorCodes.HTTP_FAILED, `unsupported Content-Encoding "${codings}" from ${href}`, href, {
        contentEncoding: res.headers['content-encoding'],
        ...redirected,
      });
    }
    const etag = single(res.headers.etag);
    const lastModified = single(res.headers['last-modified']);
    const tooLarge = (stage: string) => (received: number) =>
      httpError(
        TipErrorCodes.HTTP_TOO_LARGE,
        `response body from ${href} exceeds the ${limits.maxBytes}-byte limit (${received} bytes ${stage})`,
        href,
        { limit: limits.maxBytes, received, stage, ...redirected },
      );
    const wire = new ByteLimit(limits.maxBytes, tooLarge('on the wire'));
    const decoded = new ByteLimit(limits.maxBytes, tooLarge('decoded'));
    const response: HttpResponseHead = {
      url: href,
      status,
      headers: { ...res.headers },
      notModified,
      get wireBytes() {
        return wire.bytes;
      },
      ...(etag === undefined ? {} : { etag }),
      ...(lastModified === undefined ? {} : { lastModified }),
    };

    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      scope.close();
      res.destroy();
    };
    const log = this.log;
    const validators = this.validators;
    async function* read(): AsyncGenerator<Buffer, void, undefined> {
      try {
        pipeline([res, wire, ...createDecoders(codings as Exclude<typeof codings, string>), decoded], () => {});
        for await (const chunk of decoded) yield chunk as Buffer;
        if (!res.complete) throw new Error('connection closed before the response was complete');
      } catch (err) {
        const error =
          scope.failure ??
          (err instanceof TipError
            ? err
            : httpError(
                TipErrorCodes.HTTP_TRUNCATED,
                `response body from ${href} is truncated or corrupt: ${describeError(err)}`,
                href,
                { received: wire.bytes, ...(contentLength === undefined ? {} : { contentLength }), ...redirected },
                err,
              ));
        log?.debug(
          { method, url: href, status, err: describeError(error), ms: Math.round(performance.now() - startedAt) },
          'http request failed',
        );
        throw error;
      } finally {
        finish();
      }
      if (!notModified && conditional && validators && (etag !== undefined || lastModified !== undefined)) {
        validators.set(requested, {
          ...(etag === undefined ? {} : { etag }),
          ...(lastModified === undefined ? {} : { lastModified }),
        });
      }
      log?.debug(
        {
          method,
          url: href,
          ...redirected,
          status,
          bytes: decoded.bytes,
          wireBytes: wire.bytes,
          ms: Math.round(performance.now() - startedAt),
        },
        'http request',
      );
    }

    const generator = read();
    let iterated = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: (): AsyncIterator<Buffer> => {
        if (iterated) {
          throw httpError(TipErrorCodes.HTTP_FAILED, `the response body from ${href} can only be read once`, href);
        }
        iterated = true;
        return {
          next: () => generator.next(),
          return: async () => {
            finish();
            return generator.return(undefined);
          },
        };
      },
    };
    return { response, body };
  }
}
