/**
 * URL parsing and redirect following for {@link HttpClient}.
 *
 * Internal to `@tip/core`; not re-exported from the package root.
 *
 * @module
 * @internal
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { TipErrorCodes } from '../errors/TipError.js';
import type { ResolvedLimits } from './limits.js';
import { type Scope, httpError, openExchange, redactNodeError } from './transport.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CROSS_ORIGIN_STRIPPED = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * Parses a request target (or a `Location` header against `base`) and accepts only `http:`/`https:`.
 *
 * @throws TipError `TIP_HTTP_FAILED` naming the input when it is not a URL or has another protocol
 * @internal
 */
export function parseTarget(input: string | URL, base?: URL): URL {
  const raw = typeof input === 'string' ? input : input.href;
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch (err) {
    redactNodeError(err);
    throw httpError(TipErrorCodes.HTTP_FAILED, `invalid URL: ${raw}`, raw, {}, err);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw httpError(TipErrorCodes.HTTP_FAILED, `unsupported protocol ${url.protocol} in ${url.href}`, url.href, {
      protocol: url.protocol,
    });
  }
  return url;
}

/** What one request needs to follow its redirects. @internal */
export interface RedirectRequest {
  /** The URL as passed by the caller, named in errors. */
  requested: string;
  /** The HTTP method, kept on every hop. */
  method: string;
  /** Request headers; credentials are deleted from it when a redirect leaves the origin. */
  headers: OutgoingHttpHeaders;
  /** The resolved limits (`maxRedirects`, `connectTimeoutMs`). */
  limits: ResolvedLimits;
  /** The request's scope (total timeout, abort signals). */
  scope: Scope;
}

/** The final hop of a request. @internal */
export interface FinalResponse {
  /** The URL that produced `res`. */
  url: URL;
  /** The response: not a redirect, or a redirect without `Location`. */
  res: IncomingMessage;
}

/**
 * Sends the request to `start` and follows redirects (at most `limits.maxRedirects`), dropping
 * credential headers when a hop leaves the origin.
 *
 * @param onHop told every URL before it is requested and every response received, so the caller
 * can name the last URL and status in errors and destroy the response on failure
 * @throws TipError `TIP_HTTP_FAILED` on too many redirects or a bad `Location`; anything
 * {@link openExchange} throws
 * @internal
 */
export async function followRedirects(
  start: URL,
  req: RedirectRequest,
  onHop: (url: URL, res?: IncomingMessage) => void,
): Promise<FinalResponse> {
  const { requested, method, headers, limits, scope } = req;
  let url = start;
  for (let redirects = 0; ; redirects++) {
    scope.check();
    onHop(url);
    const res = await openExchange(url, method, headers, limits.connectTimeoutMs, scope);
    onHop(url, res);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) return { url, res };
    res.destroy();
    if (redirects >= limits.maxRedirects) {
      throw httpError(
        TipErrorCodes.HTTP_FAILED,
        `too many redirects (more than ${limits.maxRedirects}) requesting ${requested}, last from ${url.href}`,
        url.href,
        { requestedUrl: requested, limit: limits.maxRedirects, location },
      );
    }
    const next = parseTarget(location, url);
    if (next.origin !== url.origin) for (const name of CROSS_ORIGIN_STRIPPED) delete headers[name];
    url = next;
  }
}
