/**
 * Low-level plumbing for {@link HttpClient}: the per-request scope (total timeout + abort signals)
 * and a single request/response exchange with its own connect timeout.
 *
 * Internal to `@tip/core`; not re-exported from the package root.
 *
 * @module
 * @internal
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { TipError, TipErrorCodes, type TipErrorCode } from '../errors/TipError.js';
import { redactSecrets, redactUrl } from '../util/redact.js';

/** Longest delay `setTimeout` honours; longer delays would fire after 1ms. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Starts a timer, or none when `ms` is 0 (disabled), infinite or too large for `setTimeout`.
 *
 * @internal
 */
export function startTimer(ms: number, fn: () => void): NodeJS.Timeout | undefined {
  if (!(ms > 0) || ms > MAX_TIMER_MS) return undefined;
  return setTimeout(fn, ms);
}

/**
 * Builds a TipError whose details always carry `url`. Secrets never get through: `url` goes through
 * {@link redactUrl}, the message and every other string detail through {@link redactSecrets}.
 *
 * @internal
 */
export function httpError(
  code: TipErrorCode,
  message: string,
  url: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): TipError {
  const safe: Record<string, unknown> = { url: redactUrl(url) };
  for (const [key, value] of Object.entries(details)) safe[key] = typeof value === 'string' ? redactSecrets(value) : value;
  return new TipError(code, redactSecrets(message), { details: safe, cause });
}

/**
 * Redacts secrets in an error raised by Node (`node:http`, `node:net`, `new URL`), which may embed
 * the request URL in its message, stack or `input` property. The error is kept as the `cause` of
 * ours, so it is redacted in place.
 *
 * @internal
 */
export function redactNodeError(err: unknown): void {
  if (!(err instanceof Error)) return;
  const withInput = err as Error & { input?: unknown };
  if (typeof withInput.input === 'string') withInput.input = redactUrl(withInput.input);
  const message = redactSecrets(err.message);
  if (message === err.message) return;
  if (typeof err.stack === 'string') err.stack = err.stack.split(err.message).join(message);
  err.message = message;
}

/** What a scope can tear down when it fails. */
interface Destroyable {
  destroy(error?: Error): unknown;
}

function abortError(reason: unknown, url: string): Error {
  if (reason instanceof Error) return reason;
  return httpError(TipErrorCodes.HTTP_FAILED, `request aborted: ${url}`, url, {
    ...(reason === undefined ? {} : { reason: String(reason) }),
  });
}

/**
 * The lifetime of one logical request (all redirect hops and the body): owns the total timeout and
 * the abort-signal listeners, and destroys the in-flight request/response when either fires.
 * {@link Scope.close} must be called on every path; it is idempotent.
 *
 * @internal
 */
export class Scope {
  /** Set once the scope failed (timeout or abort); every later error is reported as this one. */
  failure: Error | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly victims = new Set<Destroyable>();
  private readonly detach: Array<() => void> = [];

  /**
   * Starts the total timeout and listens to the signals; an already aborted signal fails the scope
   * at once.
   *
   * @param url the request's URL, named (redacted) in the timeout and abort errors
   * @param timeoutMs total timeout (`0` = none)
   * @param signals abort signals of the client and of the request
   */
  constructor(url: string, timeoutMs: number, signals: readonly AbortSignal[]) {
    const aborted = signals.find((s) => s.aborted);
    if (aborted) {
      this.failure = abortError(aborted.reason, url);
      this.closed = true;
      return;
    }
    for (const signal of signals) {
      const onAbort = (): void => this.fail(abortError(signal.reason, url));
      signal.addEventListener('abort', onAbort, { once: true });
      this.detach.push(() => signal.removeEventListener('abort', onAbort));
    }
    this.timer = startTimer(timeoutMs, () =>
      this.fail(
        httpError(TipErrorCodes.HTTP_TIMEOUT, `request to ${url} timed out after ${timeoutMs}ms`, url, {
          timeout: timeoutMs,
        }),
      ),
    );
  }

  /** Throws the failure, if any. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Fails the scope: destroys everything tracked with `error` and releases timers/listeners. */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    const victims = [...this.victims];
    this.close();
    for (const victim of victims) victim.destroy(error);
  }

  /** Destroys `victim` if the scope fails before it is untracked; returns the untrack function. */
  track(victim: Destroyable): () => void {
    if (this.failure) {
      victim.destroy(this.failure);
      return () => {};
    }
    this.victims.add(victim);
    return () => this.victims.delete(victim);
  }

  /** Clears the timer and signal listeners. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const off of this.detach.splice(0)) off();
    this.victims.clear();
  }
}

function noop(): void {}

/**
 * Arms the connect timeout of `req`: it is destroyed with `HTTP_CONNECT_TIMEOUT` unless the socket
 * connects (and, for `https:`, completes TLS) in time. Returns the function that disarms it.
 */
function armConnectTimeout(req: ClientRequest, url: URL, connectTimeoutMs: number): () => void {
  let timer = startTimer(connectTimeoutMs, () => {
    req.destroy(
      httpError(
        TipErrorCodes.HTTP_CONNECT_TIMEOUT,
        `connecting to ${url.href} timed out after ${connectTimeoutMs}ms`,
        url.href,
        { connectTimeout: connectTimeoutMs },
      ),
    );
  });
  const connected = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  req.once('socket', (socket) => {
    if (socket.connecting) socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
    else connected();
  });
  return connected;
}

/** The error a failed request rejects with: the scope's failure, a TipError as is, else `HTTP_FAILED`. */
function requestFailure(err: NodeJS.ErrnoException, url: URL, scope: Scope): Error {
  if (scope.failure) return scope.failure;
  if (err instanceof TipError) return err;
  redactNodeError(err);
  return httpError(
    TipErrorCodes.HTTP_FAILED,
    `request to ${url.href} failed: ${err.message}`,
    url.href,
    { ...(err.code ? { code: err.code } : {}) },
    err,
  );
}

/**
 * Sends one request (no redirect handling) on a fresh, agent-less connection and resolves with the
 * response once its headers arrived. The connection must be established (TCP, plus TLS for
 * `https:`) within `connectTimeoutMs`, else the request fails with `HTTP_CONNECT_TIMEOUT`. The
 * response is tracked by `scope` and has a no-op `'error'` listener: body errors are observed by
 * whoever reads it.
 *
 * @internal
 */
export function openExchange(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  connectTimeoutMs: number,
  scope: Scope,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest;
    try {
      req = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent: false });
    } catch (err) {
      redactNodeError(err);
      reject(
        httpError(TipErrorCodes.HTTP_FAILED, `cannot request ${url.href}: ${(err as Error).message}`, url.href, {}, err),
      );
      return;
    }
    const connected = armConnectTimeout(req, url, connectTimeoutMs);
    const untrack = scope.track(req);
    req.once('response', (res) => {
      connected();
      untrack();
      res.on('error', noop);
      scope.track(res);
      resolve(res);
    });
    // `on`, not `once`: a socket error after the response must not become an unhandled 'error'.
    req.on('error', (err: NodeJS.ErrnoException) => {
      connected();
      untrack();
      reject(requestFailure(err, url, scope));
    });
    req.end();
  });
}
