import { performance } from 'node:perf_hooks';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { TipErrorCodes, describeError } from '../errors/TipError.js';
import { prepareResponse, logRequest } from './body.js';
import { addConditionalHeaders } from './conditional.js';
import { DEFAULT_LIMITS, resolveLimits, type ResolvedLimits } from './limits.js';
import { followRedirects, parseTarget } from './redirects.js';
import { Scope, httpError } from './transport.js';
import type { HttpClientOptions, HttpRequestOptions, HttpResponse, HttpStreamResponse, ValidatorStore } from './types.js';

export type {
  HttpLimits,
  Validators,
  ValidatorStore,
  HttpClientOptions,
  HttpRequestOptions,
  HttpResponse,
  HttpResponseHead,
  HttpStreamResponse,
} from './types.js';

const UTF8 = new TextDecoder('utf-8');
const isSuccess = (status: number): boolean => status >= 200 && status < 300;

/**
 * An HTTP(S) client for threat-feed sources, built directly on `node:http`/`node:https` and
 * `node:zlib`. Every request is bounded in connect time, total time, body size (decompressed and on
 * the wire) and redirects; bodies are decompressed in a streaming fashion; conditional requests are
 * supported through a {@link ValidatorStore}. Every failure is a {@link TipError} (`TIP_HTTP_*`)
 * whose message names the URL and whose `details.url` holds it, with credentials masked by
 * {@link redactUrl} (user-info password, `apikey=`/`token=`-style query parameters); debug log lines
 * are redacted the same way.
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
      const headers = this.headersFor(requested, limits, conditional);
      const onHop = (hop: URL, hopRes?: IncomingMessage): void => {
        url = hop;
        res = hopRes;
      };
      const final = await followRedirects(parseTarget(input), { requested, method, headers, limits, scope }, onHop);
      const okStatus = options.okStatus ?? isSuccess;
      const { validators, log } = this;
      return prepareResponse(final.res, { url: final.url, requested, method, limits, scope, conditional, okStatus, startedAt, validators, log });
    } catch (err) {
      scope.close();
      res?.destroy();
      const error = scope.failure ?? err;
      const status = res?.statusCode === undefined ? {} : { status: res.statusCode };
      logRequest({ log: this.log, method, startedAt }, { url: url?.href ?? requested, ...status, err: describeError(error) }, 'http request failed');
      throw error;
    }
  }

  /** The request headers: defaults, configured headers, and validators for a conditional request. */
  private headersFor(requested: string, limits: ResolvedLimits, conditional: boolean): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      accept: '*/*',
      'accept-encoding': 'gzip, deflate, br',
      'user-agent': limits.userAgent,
      ...limits.headers,
    };
    if (conditional && this.validators) addConditionalHeaders(headers, this.validators, requested);
    return headers;
  }
}
