import { TipError, TipErrorCodes } from '../errors/TipError.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** A duration: milliseconds as a number, or a string like `'500ms'`, `'30s'`, `'5m'`, `'1h30m'`, `'2d'`. */
export type Duration = number | string;

/**
 * Parses a {@link Duration} into milliseconds.
 *
 * @param value the duration
 * @param what names the input in the error message (e.g. `'job "blacklist" timeout'`)
 * @throws TipError `TIP_TRIGGER_INVALID` when the value is not a positive finite duration
 */
export function parseDuration(value: Duration, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new TipError(TipErrorCodes.TRIGGER_INVALID, `${what}: ${value} is not a non-negative number of milliseconds`, {
        details: { input: value },
      });
    }
    return value;
  }
  const text = String(value).trim().toLowerCase();
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
  if (text.length === 0 || consumed !== text.length || !Number.isFinite(total)) {
    throw new TipError(
      TipErrorCodes.TRIGGER_INVALID,
      `${what}: "${value}" is not a duration (use e.g. "500ms", "30s", "5m", "1h30m", "2d")`,
      { details: { input: value } },
    );
  }
  return Math.round(total);
}

/** Formats milliseconds as a compact human duration (`1h2m`, `350ms`). */
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
