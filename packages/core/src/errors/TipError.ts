import { redactSecrets } from '../util/redact.js';

/**
 * Stable error codes raised by TIP. Codes never change meaning between releases, so callers can
 * branch on them; messages are for humans and may be reworded.
 */
export const TipErrorCodes = {
  /** Two or more plugins depend on each other in a cycle. */
  PLUGIN_CYCLE: 'TIP_PLUGIN_CYCLE',
  /** A plugin lists a dependency that is not installed in the app. */
  PLUGIN_MISSING: 'TIP_PLUGIN_MISSING',
  /** A plugin requires a `@tip/core` range that this core does not satisfy. */
  PLUGIN_INCOMPATIBLE: 'TIP_PLUGIN_INCOMPATIBLE',
  /** Two plugins share a name. */
  PLUGIN_DUPLICATE: 'TIP_PLUGIN_DUPLICATE',
  /** A plugin's `register`, `init` or `stop` hook failed. */
  PLUGIN_FAILED: 'TIP_PLUGIN_FAILED',
  /** The configuration (file, env or object) is invalid; `details.issues` lists every problem. */
  CONFIG_INVALID: 'TIP_CONFIG_INVALID',
  /** A configuration file could not be read or parsed. */
  CONFIG_UNREADABLE: 'TIP_CONFIG_UNREADABLE',
  /** Something was used in a lifecycle state that does not allow it (e.g. start twice). */
  APP_STATE: 'TIP_APP_STATE',
  /** A token was requested from the container but nothing provides it. */
  TOKEN_MISSING: 'TIP_TOKEN_MISSING',
  /** An id (job, source, extension item) was registered twice. */
  DUPLICATE_ID: 'TIP_DUPLICATE_ID',
  /** A job id is unknown to the scheduler. */
  JOB_UNKNOWN: 'TIP_JOB_UNKNOWN',
  /** A job ran longer than its timeout. */
  JOB_TIMEOUT: 'TIP_JOB_TIMEOUT',
  /** A job was aborted (app stopping, manual cancel). */
  JOB_ABORTED: 'TIP_JOB_ABORTED',
  /** A trigger (`every`, `cron`, `at`, `after`) or a duration string is malformed. */
  TRIGGER_INVALID: 'TIP_TRIGGER_INVALID',
  /** A source fetch exceeded its timeout. */
  SOURCE_TIMEOUT: 'TIP_SOURCE_TIMEOUT',
  /** A source run's data was refused (too many invalid records, an unexpectedly empty snapshot); the previous data stays. */
  SOURCE_REJECTED: 'TIP_SOURCE_REJECTED',
  /** A source kind has no plugin that ingests it. */
  SOURCE_KIND_UNKNOWN: 'TIP_SOURCE_KIND_UNKNOWN',
  /** An HTTP request could not connect in time. */
  HTTP_CONNECT_TIMEOUT: 'TIP_HTTP_CONNECT_TIMEOUT',
  /** An HTTP request did not complete in time. */
  HTTP_TIMEOUT: 'TIP_HTTP_TIMEOUT',
  /** An HTTP response body exceeded the configured maximum size. */
  HTTP_TOO_LARGE: 'TIP_HTTP_TOO_LARGE',
  /** An HTTP response body ended before its announced length, or failed to decompress. */
  HTTP_TRUNCATED: 'TIP_HTTP_TRUNCATED',
  /** An HTTP response had an unexpected status code. */
  HTTP_STATUS: 'TIP_HTTP_STATUS',
  /** A conditional request answered 304 Not Modified: the previous data is still current (not a failure). */
  HTTP_NOT_MODIFIED: 'TIP_HTTP_NOT_MODIFIED',
  /** A network-level HTTP failure (DNS, refused, reset, too many redirects, bad URL). */
  HTTP_FAILED: 'TIP_HTTP_FAILED',
  /** The database could not be opened, migrated or queried. */
  DB_FAILED: 'TIP_DB_FAILED',
  /** The configured database does not exist (it is never created by accident: `tip migrate --create` or `database.create`). */
  DB_MISSING: 'TIP_DB_MISSING',
  /** A plugin hook (`init`, `stop`) or a service did not finish within its time limit. */
  PLUGIN_TIMEOUT: 'TIP_PLUGIN_TIMEOUT',
  /** A long-running service failed (it is restarted with back-off). */
  SERVICE_FAILED: 'TIP_SERVICE_FAILED',
  /** A request's input (route parameters, query, body) failed validation; `details.issues` lists the problems. */
  INPUT_INVALID: 'TIP_INPUT_INVALID',
  /** A requested item (source, indicator, run) does not exist. */
  NOT_FOUND: 'TIP_NOT_FOUND',
  /** The caller lacks the scope the operation needs. */
  FORBIDDEN: 'TIP_FORBIDDEN',
} as const;

/** One of core's own {@link TipErrorCodes} values. */
export type CoreErrorCode = (typeof TipErrorCodes)[keyof typeof TipErrorCodes];

/**
 * A stable error code: one of core's (`TIP_…`) or a plugin's namespaced code minted with
 * {@link defineErrorCodes} (`BL_FEED_REJECTED`). Codes are `PREFIX_NAME` in upper case.
 */
export type TipErrorCode = CoreErrorCode | (string & {});

const CODE_PATTERN = /^[A-Z][A-Z0-9]{1,15}_[A-Z0-9_]+$/;
/** Marks TipErrors from any copy of @tip/core (two installs in one process still recognise each other). */
const BRAND = Symbol.for('@tip/core/TipError');
/** Descriptions of every minted code, shared by all copies of core in the process. */
const registry: Map<string, string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('@tip/core/errorCodes')] ??= new Map(
  Object.entries(TipErrorCodes).map(([, code]) => [code, 'core']),
)) as Map<string, string>;

/**
 * Mints a plugin's own namespaced error codes: `defineErrorCodes('BL', { FEED_REJECTED: 'a feed body was refused' })`
 * returns `{ FEED_REJECTED: 'BL_FEED_REJECTED' }` (typed as literals). The descriptions document
 * each code ({@link errorCodeDescription}). The prefix `TIP` is core's.
 *
 * @param prefix 2–16 upper-case letters/digits naming the plugin, e.g. `'BL'`, `'SPAM'`
 * @param codes code name → one-line description
 * @throws TipError `TIP_CONFIG_INVALID` for a malformed prefix or name, or the `TIP` prefix
 */
export function defineErrorCodes<const P extends string, const C extends Record<string, string>>(
  prefix: P,
  codes: C,
): { readonly [K in keyof C]: `${P}_${K & string}` } {
  if (!/^[A-Z][A-Z0-9]{1,15}$/.test(prefix) || prefix === 'TIP') {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `error code prefix "${prefix}" must be 2-16 upper-case letters/digits and not "TIP"`, {
      details: { prefix },
    });
  }
  const out: Record<string, string> = {};
  for (const [name, description] of Object.entries(codes)) {
    const code = `${prefix}_${name}`;
    if (!CODE_PATTERN.test(code)) {
      throw new TipError(TipErrorCodes.CONFIG_INVALID, `error code "${code}" must be upper case: PREFIX_NAME`, { details: { code } });
    }
    registry.set(code, description);
    out[name] = code;
  }
  return Object.freeze(out) as { readonly [K in keyof C]: `${P}_${K & string}` };
}

/** The description a code was minted with ({@link defineErrorCodes}), `'core'` for core's codes. */
export function errorCodeDescription(code: string): string | undefined {
  return registry.get(code);
}

/** Options for {@link TipError}. */
export interface TipErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Structured, JSON-serialisable facts about the failure (offending input, paths, plugin names). */
  details?: Record<string, unknown>;
}

/**
 * The one error class TIP throws on purpose. It carries a stable {@link TipErrorCode} and
 * structured `details` that name the offending input.
 *
 * @example
 * ```ts
 * try { await tip.start(); } catch (e) {
 *   if (isTipError(e, 'TIP_PLUGIN_CYCLE')) console.error(e.details.cycle);
 * }
 * ```
 */
export class TipError extends Error {
  /** Stable machine-readable code. */
  readonly code: TipErrorCode;
  /** Structured facts about the failure. */
  readonly details: Record<string, unknown>;

  /**
   * @param code a core code ({@link TipErrorCodes}) or a plugin's ({@link defineErrorCodes})
   * @param message one line for humans, naming the offending input
   */
  constructor(code: TipErrorCode, message: string, options: TipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TipError';
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `instanceof TipError` also recognises TipErrors thrown by another installed copy of @tip/core. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== TipError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** A JSON form that keeps the code and details (used in run history and the HTTP API). */
  toJSON(): {
    /** Always `'TipError'`. */
    name: string;
    /** The stable error code. */
    code: TipErrorCode;
    /** The human-readable message. */
    message: string;
    /** Structured context (the offending input and related values). */
    details: Record<string, unknown>;
  } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/**
 * True when `err` is a {@link TipError} (from this or any other installed copy of @tip/core),
 * optionally with the given code.
 */
export function isTipError(err: unknown, code?: TipErrorCode): err is TipError {
  return err instanceof TipError && (code === undefined || err.code === code);
}

/**
 * A short description of any thrown value, for logs, run records and API answers. Credentials in
 * URLs and secret-looking parameters are redacted ({@link redactSecrets}), whatever threw.
 */
export function describeError(err: unknown): string {
  if (err instanceof TipError) return redactSecrets(`${err.code}: ${err.message}`);
  if (err instanceof Error) return redactSecrets(err.message || err.name);
  return redactSecrets(String(err));
}
