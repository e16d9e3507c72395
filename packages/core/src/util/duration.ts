import { TipError, TipErrorCodes } from '../errors/TipError.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A duration: a number of **milliseconds**, or a string of one or more `<number><unit>` parts with
 * units `ms`, `s`, `m`, `h`, `d`, `w` (`'500ms'`, `'30s'`, `'5m'`, `'1h30m'`, `'2d'`, `'1.5s'`).
 * A string needs a unit: `'500'` is rejected, `500` is half a second.
 */
export type Duration = number | string;

/** Bounds for {@link parseDuration} and `durationSchema`; both inclusive. */
export interface DurationBounds {
  /** Smallest accepted duration. */
  min?: Duration;
  /** Largest accepted duration (never above {@link MAX_DURATION_MS}). */
  max?: Duration;
}

/** The longest duration TIP accepts anywhere: 3650 days (10 years), in milliseconds. */
export const MAX_DURATION_MS = 3650 * 86_400_000;

const FORMS = 'a number of milliseconds or a string like "500ms", "30s", "5m", "1h30m", "2d"';

function invalid(what: string, value: unknown, problem: string, details: Record<string, unknown> = {}): TipError {
  const shown = typeof value === 'string' ? `"${value}"` : String(value);
  return new TipError(TipErrorCodes.TRIGGER_INVALID, `${what}: ${shown} ${problem}`, {
    details: { what, input: typeof value === 'number' && !Number.isFinite(value) ? String(value) : value, ...details },
  });
}

/** Parses without bounds except the global maximum; returns ms (rounded). */
function toMilliseconds(value: unknown, what: string): number {
  if (typeof value === 'number') {
    if (Number.isNaN(value) || value < 0) throw invalid(what, value, 'is not a non-negative number of milliseconds');
    if (value > MAX_DURATION_MS) throw tooLong(what, value);
    return Math.round(value);
  }
  if (typeof value !== 'string') throw invalid(what, value, `is not a duration (use ${FORMS})`);
  const text = value.trim().toLowerCase();
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    total += Number(match[1]) * UNITS[match[2]!]!;
    consumed = re.lastIndex;
    while (text[consumed] === ' ') consumed++;
    re.lastIndex = consumed;
  }
  if (text.length === 0 || consumed !== text.length) {
    throw invalid(what, value, `is not a duration (use e.g. "500ms", "30s", "5m", "1h30m", "2d")`);
  }
  if (!(total <= MAX_DURATION_MS)) throw tooLong(what, value);
  return Math.round(total);
}

function tooLong(what: string, value: unknown): TipError {
  return invalid(what, value, `is longer than the maximum of ${formatDuration(MAX_DURATION_MS)} (10 years)`, {
    max: formatDuration(MAX_DURATION_MS),
  });
}

/**
 * Parses a {@link Duration} into milliseconds (rounded to a whole millisecond).
 *
 * A bare number is milliseconds. Every duration must be finite, non-negative and at most
 * {@link MAX_DURATION_MS} (10 years); `bounds` narrow that further.
 *
 * @param value the duration
 * @param what names the input in the error message (e.g. `'job "blacklist" timeout'`)
 * @param bounds optional inclusive `min` / `max`
 * @throws TipError `TIP_TRIGGER_INVALID` naming `what`, the input and the violated bound
 * (`details: { what, input, min?, max? }`) for a malformed, negative, `NaN`, infinite,
 * too long or out-of-bounds value; `TIP_CONFIG_INVALID` when `bounds` themselves are malformed
 *
 * @example
 * ```ts
 * parseDuration('1h30m');                               // 5_400_000
 * parseDuration(250);                                   // 250 (milliseconds)
 * parseDuration('10s', 'blacklist.interval', { min: '1m' }); // throws: below the minimum of 1m
 * ```
 */
export function parseDuration(value: Duration, what = 'duration', bounds?: DurationBounds): number {
  const ms = toMilliseconds(value, what);
  if (bounds === undefined) return ms;
  const { minMs, maxMs } = resolveBounds(bounds);
  const range = describeRange(minMs, maxMs);
  if (minMs !== undefined && ms < minMs) {
    throw invalid(what, value, `is below the minimum of ${formatDuration(minMs)}`, range);
  }
  if (maxMs !== undefined && ms > maxMs) {
    throw invalid(what, value, `is above the maximum of ${formatDuration(maxMs)}`, range);
  }
  return ms;
}

/**
 * Resolves {@link DurationBounds} into milliseconds.
 *
 * @throws TipError `TIP_CONFIG_INVALID` when a bound is not a duration or `min` exceeds `max`
 * @internal
 */
export function resolveBounds(bounds: DurationBounds): { minMs?: number; maxMs?: number } {
  const bound = (name: 'min' | 'max'): number | undefined => {
    const value = bounds[name];
    if (value === undefined) return undefined;
    try {
      return toMilliseconds(value, `duration bound ${name}`);
    } catch (err) {
      throw new TipError(TipErrorCodes.CONFIG_INVALID, `invalid duration bound ${name}: ${String(value)}`, {
        details: { bound: name, input: value },
        cause: err,
      });
    }
  };
  const minMs = bound('min');
  const maxMs = bound('max');
  if (minMs !== undefined && maxMs !== undefined && minMs > maxMs) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `invalid duration bounds: min ${String(bounds.min)} exceeds max ${String(bounds.max)}`, {
      details: { min: bounds.min, max: bounds.max },
    });
  }
  return { ...(minMs === undefined ? {} : { minMs }), ...(maxMs === undefined ? {} : { maxMs }) };
}

/** `{ min, max }` in formatted form, only the bounds that are set. */
function describeRange(minMs: number | undefined, maxMs: number | undefined): Record<string, string> {
  return {
    ...(minMs === undefined ? {} : { min: formatDuration(minMs) }),
    ...(maxMs === undefined ? {} : { max: formatDuration(maxMs) }),
  };
}

/**
 * Formats milliseconds as a compact human duration (`1h2m`, `350ms`, `1m30s`), which
 * {@link parseDuration} reads back. Values of a second or more are rounded to whole seconds; the
 * largest unit is the day (`14d`, not `2w`).
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
