/**
 * `plain`: one value per line (IPs, CIDRs, ranges, domains or URLs, auto-detected) — FireHOL
 * ipsets/netsets, abuse.ch text lists, OpenPhish, blocklist.de, ...
 *
 * @module
 */
import type { Indicator } from '../indicators/types.js';
import { type FeedParser, type ParserOptions, type ParseStats } from './types.js';
import { canonicalOrNote, commonOptions, LineReader, skipBlanks, tokenEnd } from './util.js';

/** Options of the `plain` format (only the common ones). */
export type PlainOptions = ParserOptions;

/**
 * Extracts the value of a plain-list line: the first whitespace-separated token, `''` for blank and
 * comment lines (`#`, `;`, `//`). A trailing `#`/`;` comment glued to a non-URL token is cut off,
 * and `a - b` (a range written with spaces) is joined into `a-b`.
 */
export function plainValue(line: string): string {
  const start = skipBlanks(line, 0);
  if (start >= line.length) return '';
  const c = line.charCodeAt(start);
  if (c === 0x23 /* # */ || c === 0x3b /* ; */ || (c === 0x2f && line.charCodeAt(start + 1) === 0x2f)) return '';
  const end = tokenEnd(line, start);
  let token = line.slice(start, end);
  if (token.indexOf('://') < 0) {
    const hash = token.indexOf('#');
    const semi = token.indexOf(';');
    const cut = hash < 0 ? semi : semi < 0 ? hash : Math.min(hash, semi);
    if (cut >= 0) return token.slice(0, cut);
  }
  // `a - b`, `a -b`, `a- b`: an address range written with blanks (both sides must look like addresses)
  if (!looksLikeAddress(token, 0)) return token;
  let next = skipBlanks(line, end);
  if (!token.endsWith('-')) {
    if (line.charCodeAt(next) !== 0x2d /* - */) return token;
    next = skipBlanks(line, next + 1);
    token += '-';
  }
  if (next < line.length && looksLikeAddress(line, next)) token += line.slice(next, tokenEnd(line, next));
  return token;
}

/** Cheap pre-check: the token at `at` starts with a digit or contains a colon (IPv6). */
function looksLikeAddress(s: string, at: number): boolean {
  const c = s.charCodeAt(at);
  if ((c >= 0x30 && c <= 0x39) || c === 0x3a) return true;
  const colon = s.indexOf(':', at);
  return colon > 0 && colon < tokenEnd(s, at);
}

function* run(text: string, options: PlainOptions | undefined, stats: ParseStats): Generator<Indicator> {
  const { allow, maxLineLength } = commonOptions('plain', options);
  const reader = new LineReader(text);
  for (let line = reader.nextWithin(stats, maxLineLength); line !== null; line = reader.nextWithin(stats, maxLineLength)) {
    const value = plainValue(line);
    if (value === '') {
      stats.skipped++;
      continue;
    }
    yield* canonicalOrNote(value, allow, stats, reader.line, line);
  }
}

/** The `plain` format: one value per line, comments with `#`, `;` or `//`. */
export const plainParser: FeedParser<PlainOptions> = {
  format: 'plain',
  lineIndependent: true,
  parse(text, options, stats) {
    commonOptions('plain', options); // validate eagerly
    return run(text, options, stats);
  },
};
