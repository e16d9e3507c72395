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
} as const;

/** One of the {@link TipErrorCodes} values. */
export type TipErrorCode = (typeof TipErrorCodes)[keyof typeof TipErrorCodes];

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

  constructor(code: TipErrorCode, message: string, options: TipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TipError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /** A JSON form that keeps the code and details (used in run history and the HTTP API). */
  toJSON(): { name: string; code: TipErrorCode; message: string; details: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True when `err` is a {@link TipError}, optionally with the given code. */
export function isTipError(err: unknown, code?: TipErrorCode): err is TipError {
  return err instanceof TipError && (code === undefined || err.code === code);
}

/** A short, single-line description of any thrown value, for logs and run records. */
export function describeError(err: unknown): string {
  if (err instanceof TipError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
