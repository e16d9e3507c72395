// The "ACME sightings" feed format: one sighting per line, five `|`-separated fields.
//
//   # acme-sightings v1
//   2026-01-05T10:00:00Z|ip|45.95.146.7|80|ssh brute force
//   2026-01-05T10:02:10Z|domain|login-verify24.top|95|phishing kit
//
// seen (ISO 8601) | type (ip, domain or url) | value | confidence 0–100 | note (≤ 200 characters).
// Feed bodies are attacker-controlled: the parser bounds the lines it reads and their length,
// never throws for a bad line, and names the line and the reason of every rejected one.
import { isIP } from 'node:net';

/** Types of value a sighting can carry. */
export type SightingType = 'ip' | 'domain' | 'url';

/** One parsed line of a sightings feed. */
export interface Sighting {
  /** When the feed saw it. */
  seen: Date;
  /** Value type. */
  type: SightingType;
  /** The value, lower-cased for domains. */
  value: string;
  /** Confidence 0–100. */
  confidence: number;
  /** Free text from the feed (untrusted: render as text only). */
  note: string;
}

/** A rejected line. */
export interface RejectedLine {
  /** 1-based line number. */
  line: number;
  /** Why it was rejected. */
  reason: string;
}

/** Limits of {@link parseSightings}. */
export interface ParseLimits {
  /** Most lines read (default 100,000); the rest is reported as one rejection. */
  maxLines?: number;
  /** Longest accepted line in characters (default 2,000). */
  maxLineLength?: number;
}

/** What {@link parseSightings} returns. */
export interface ParsedSightings {
  /** Valid sightings, in feed order. */
  sightings: Sighting[];
  /** Rejected lines (at most 100 kept; `rejectedCount` counts all). */
  rejected: RejectedLine[];
  /** Number of rejected lines. */
  rejectedCount: number;
}

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Parses a sightings feed body (see the module comment for the format). */
export function parseSightings(text: string, limits: ParseLimits = {}): ParsedSightings {
  const maxLines = limits.maxLines ?? 100_000;
  const maxLineLength = limits.maxLineLength ?? 2_000;
  const out: ParsedSightings = { sightings: [], rejected: [], rejectedCount: 0 };
  const reject = (line: number, reason: string) => {
    out.rejectedCount++;
    if (out.rejected.length < 100) out.rejected.push({ line, reason });
  };
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    lineNo++;
    if (lineNo > maxLines) {
      reject(lineNo, `more than ${maxLines} lines: the rest of the feed is ignored`);
      break;
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.length > maxLineLength) {
      reject(lineNo, `longer than ${maxLineLength} characters`);
      continue;
    }
    const parsed = parseLine(line);
    if (typeof parsed === 'string') reject(lineNo, parsed);
    else out.sightings.push(parsed);
  }
  return out;
}

/** One line: a {@link Sighting}, or the reason it is invalid. */
function parseLine(line: string): Sighting | string {
  const fields = line.split('|');
  if (fields.length !== 5) return `expected 5 "|"-separated fields, got ${fields.length}`;
  const [seenText, type, rawValue, confidenceText, note] = fields.map((f) => f.trim()) as [string, string, string, string, string];
  const seen = new Date(seenText);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(seenText) || Number.isNaN(seen.getTime())) return 'seen: not an ISO 8601 timestamp';
  if (!/^\d{1,3}$/.test(confidenceText) || Number(confidenceText) > 100) return 'confidence: not a whole number from 0 to 100';
  if (note.length > 200) return 'note: longer than 200 characters';
  let value = rawValue;
  if (type === 'ip') {
    if (isIP(value) === 0) return 'value: not an IP address';
  } else if (type === 'domain') {
    value = value.toLowerCase().replace(/\.$/, '');
    if (!DOMAIN.test(value)) return 'value: not a domain name';
  } else if (type === 'url') {
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'value: not an http(s) URL';
      value = url.href;
    } catch {
      return 'value: not a URL';
    }
    if (value.length > 2000) return 'value: URL longer than 2000 characters';
  } else {
    return 'type: must be ip, domain or url';
  }
  return { seen, type, value, confidence: Number(confidenceText), note };
}
