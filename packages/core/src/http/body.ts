/**
 * The response side of {@link HttpClient}: status and size checks on the response head, and the
 * body reader (wire-size limit, streaming decompression with its own limit, truncation detection).
 *
 * Internal to `@tip/core`; not re-exported from the package root.
 *
 * @module
 * @internal
 */
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import { redactSecrets, redactUrl } from '../util/redact.js';
import { validatorsOf } from './conditional.js';
import { ByteLimit, createDecoders, parseContentEncoding, type ContentCoding } from './decode.js';
import type { ResolvedLimits } from './limits.js';
import { type Scope, httpError } from './transport.js';
import type { HttpResponseHead, HttpStreamResponse, ValidatorStore } from './types.js';

/**
 * Everything known about one request once its final response arrived.
 *
 * @internal
 */
export interface Exchange {
  /** The final URL (after redirects). */
  url: URL;
  /** The URL as passed by the caller (the validator key). */
  requested: string;
  /** The HTTP method. */
  method: string;
  /** The resolved limits. */
  limits: ResolvedLimits;
  /** The request's scope; closed when the body is done. */
  scope: Scope;
  /** Whether to store the response's validators. */
  conditional: boolean;
  /** Which statuses count as success. */
  okStatus: (status: number) => boolean;
  /** `performance.now()` when the request started. */
  startedAt: number;
  /** Where validators are stored, if anywhere. */
  validators: ValidatorStore | undefined;
  /** Receives the debug line of the request. */
  log: Logger | undefined;
}

/** What {@link checkHead} learned from the response head. */
interface BodyPlan {
  href: string;
  status: number;
  notModified: boolean;
  contentLength: number | undefined;
  codings: ContentCoding[];
  redirected: { requestedUrl?: string };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Rejects an unwanted status, an announced body over the limit and an unknown Content-Encoding. */
function checkHead(res: IncomingMessage, ctx: Exchange): BodyPlan {
  const href = ctx.url.href;
  const status = res.statusCode ?? 0;
  const notModified = status === 304;
  const redirected = href === ctx.requested ? {} : { requestedUrl: ctx.requested };
  if (!notModified && !ctx.okStatus(status)) {
    throw httpError(TipErrorCodes.HTTP_STATUS, `HTTP ${status} from ${href}`, href, {
      status,
      ...(res.statusMessage ? { statusText: res.statusMessage } : {}),
      ...redirected,
    });
  }
  const hasBody = ctx.method !== 'HEAD' && !notModified && status !== 204;
  const lengthHeader = single(res.headers['content-length']);
  const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
  const limit = ctx.limits.maxBytes;
  if (hasBody && contentLength !== undefined && contentLength > limit) {
    throw httpError(
      TipErrorCodes.HTTP_TOO_LARGE,
      `response from ${href} announces ${contentLength} bytes, over the ${limit}-byte limit`,
      href,
      { status, limit, received: 0, contentLength, ...redirected },
    );
  }
  const codings = hasBody ? parseContentEncoding(res.headers['content-encoding']) : [];
  if (typeof codings === 'string') {
    throw httpError(TipErrorCodes.HTTP_FAILED, `unsupported Content-Encoding "${codings}" from ${href}`, href, {
      status,
      contentEncoding: res.headers['content-encoding'],
      ...redirected,
    });
  }
  return { href, status, notModified, contentLength, codings, redirected };
}

/** The byte counters of one body: on the wire and after decoding, both limited to `maxBytes`. */
function byteLimits(plan: BodyPlan, maxBytes: number): { wire: ByteLimit; decoded: ByteLimit } {
  const tooLarge = (stage: string) => (received: number) =>
    httpError(
      TipErrorCodes.HTTP_TOO_LARGE,
      `response body from ${plan.href} exceeds the ${maxBytes}-byte limit (${received} bytes ${stage})`,
      plan.href,
      { status: plan.status, limit: maxBytes, received, stage, ...plan.redirected },
    );
  return { wire: new ByteLimit(maxBytes, tooLarge('on the wire')), decoded: new ByteLimit(maxBytes, tooLarge('decoded')) };
}

/** Turns whatever broke the body stream into the error to throw (the scope's failure wins). */
function bodyError(err: unknown, ctx: Exchange, plan: BodyPlan, wire: ByteLimit): Error {
  if (ctx.scope.failure) return ctx.scope.failure;
  if (err instanceof TipError) return err;
  return httpError(
    TipErrorCodes.HTTP_TRUNCATED,
    `response body from ${plan.href} is truncated or corrupt: ${describeError(err)}`,
    plan.href,
    {
      status: plan.status,
      received: wire.bytes,
      ...(plan.contentLength === undefined ? {} : { contentLength: plan.contentLength }),
      ...plan.redirected,
    },
    err,
  );
}

/**
 * Reads, limits and decodes the body; on success stores the validators and logs the request.
 * `finish` releases the connection and the scope and runs on every path.
 */
async function* readBody(
  res: IncomingMessage,
  ctx: Exchange,
  plan: BodyPlan,
  head: HttpResponseHead,
  counters: { wire: ByteLimit; decoded: ByteLimit },
  finish: () => void,
): AsyncGenerator<Buffer, void, undefined> {
  const { wire, decoded } = counters;
  try {
    pipeline([res, wire, ...createDecoders(plan.codings), decoded], () => {});
    for await (const chunk of decoded) yield chunk as Buffer;
    if (!res.complete) throw new Error('connection closed before the response was complete');
  } catch (err) {
    const error = bodyError(err, ctx, plan, wire);
    logRequest(ctx, { url: plan.href, status: plan.status, err: describeError(error) }, 'http request failed');
    throw error;
  } finally {
    finish();
  }
  if (!plan.notModified && ctx.conditional && ctx.validators && (head.etag !== undefined || head.lastModified !== undefined)) {
    ctx.validators.set(ctx.requested, validatorsOf(head.etag, head.lastModified));
  }
  logRequest(
    ctx,
    { url: plan.href, ...plan.redirected, status: plan.status, bytes: decoded.bytes, wireBytes: wire.bytes },
    'http request',
  );
}

/**
 * Writes the request's debug line: `fields` plus the method and the elapsed milliseconds. URLs
 * (`url`, `requestedUrl`) go through {@link redactUrl}, the error text through {@link redactSecrets}.
 *
 * @internal
 */
export function logRequest(ctx: Pick<Exchange, 'log' | 'method' | 'startedAt'>, fields: Record<string, unknown>, msg: string): void {
  if (!ctx.log) return;
  const safe: Record<string, unknown> = { method: ctx.method };
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value !== 'string') safe[key] = value;
    else safe[key] = key === 'url' || key === 'requestedUrl' ? redactUrl(value) : redactSecrets(value);
  }
  safe.ms = Math.round(performance.now() - ctx.startedAt);
  ctx.log.debug(safe, msg);
}

/** Wraps the body generator in an iterable that can be iterated once and releases on `break`. */
function readOnce(generator: AsyncGenerator<Buffer, void, undefined>, finish: () => void, href: string): AsyncIterable<Buffer> {
  let iterated = false;
  return {
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
}

/**
 * Checks status and size up front, then wraps the response body in a limited, decoding iterator.
 *
 * @throws TipError `TIP_HTTP_STATUS`, `TIP_HTTP_TOO_LARGE` (announced length), `TIP_HTTP_FAILED`
 * (unsupported encoding); the body iterator throws `TIP_HTTP_TOO_LARGE`, `TIP_HTTP_TRUNCATED` or
 * the scope's failure
 * @internal
 */
export function prepareResponse(res: IncomingMessage, ctx: Exchange): HttpStreamResponse {
  const plan = checkHead(res, ctx);
  const etag = single(res.headers.etag);
  const lastModified = single(res.headers['last-modified']);
  const counters = byteLimits(plan, ctx.limits.maxBytes);
  const response: HttpResponseHead = {
    url: plan.href,
    status: plan.status,
    headers: { ...res.headers },
    notModified: plan.notModified,
    get wireBytes() {
      return counters.wire.bytes;
    },
    ...validatorsOf(etag, lastModified),
  };
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    ctx.scope.close();
    res.destroy();
  };
  const generator = readBody(res, ctx, plan, response, counters, finish);
  return { response, body: readOnce(generator, finish, plan.href) };
}
