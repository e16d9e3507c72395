/**
 * Resolution of {@link HttpLimits} into concrete numbers, merging request options over the client's.
 *
 * Internal to `@tip/core`; not re-exported from the package root.
 *
 * @module
 * @internal
 */
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { redactUrl } from '../util/redact.js';
import type { HttpLimits } from './types.js';

/**
 * {@link HttpLimits} with every value resolved: durations in milliseconds, header names lower-case.
 *
 * @internal
 */
export interface ResolvedLimits {
  /** Connect timeout in ms (`0` = none). */
  connectTimeoutMs: number;
  /** Total timeout in ms (`0` = none). */
  timeoutMs: number;
  /** Body size limit in bytes (decoded and on the wire). */
  maxBytes: number;
  /** Redirects followed at most. */
  maxRedirects: number;
  /** The `User-Agent` header. */
  userAgent: string;
  /** Extra request headers, lower-case names. */
  headers: Record<string, string>;
}

/**
 * The defaults documented on {@link HttpLimits}.
 *
 * @internal
 */
export const DEFAULT_LIMITS: ResolvedLimits = {
  connectTimeoutMs: 10_000,
  timeoutMs: 60_000,
  maxBytes: 64 * 1024 * 1024,
  maxRedirects: 5,
  userAgent: 'TIP/0.1 (+https://github.com/tip-project/tip)',
  headers: {},
};

function lowerKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/**
 * Merges `over` onto `base`, validating every value.
 *
 * @param requested the request's URL, named (redacted) in errors; omitted for the client's defaults
 * @throws TipError `TIP_CONFIG_INVALID` naming the option, its value and the URL
 * @internal
 */
export function resolveLimits(base: ResolvedLimits, over: HttpLimits, requested?: string): ResolvedLimits {
  const url = requested === undefined ? undefined : redactUrl(requested);
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
