/**
 * `hosts`: hosts-file blocklists (`0.0.0.0 evil.com other.net`), e.g. the URLhaus hostfile or
 * StevenBlack-style lists. Only the host names are indicators; the address column is ignored.
 *
 * @module
 */
import { canonicalize } from '../indicators/canonical.js';
import { parseIp } from '../indicators/ip.js';
import type { Indicator, IndicatorType } from '../indicators/types.js';
import { noteInvalid, type FeedParser, type ParserOptions, type ParseStats } from './types.js';
import { canonicalOrNote, commonOptions, LineReader, skipBlanks, tokenEnd } from './util.js';

/** Options of the `hosts` format (only the common ones; `types` must include `domain`). */
export type HostsOptions = ParserOptions;

const DOMAIN_ONLY: readonly IndicatorType[] = ['domain'];

/** Host names that hosts files map for the local system; never indicators. */
const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', '0.0.0.0', 'localdomain']);

/** True for names a hosts file lists for the local machine (`localhost`, `ip6-allnodes`, ...). */
export function isLocalHostName(name: string): boolean {
  const n = name.toLowerCase();
  return LOCAL_NAMES.has(n) || n.startsWith('ip6-');
}

function isAddress(token: string): boolean {
  return token.indexOf('%') < 0 && parseIp(token) !== null;
}

function* run(text: string, options: HostsOptions | undefined, stats: ParseStats): Generator<Indicator> {
  const { maxLineLength } = commonOptions('hosts', options, DOMAIN_ONLY);
  const reader = new LineReader(text);
  for (let line = reader.nextWithin(stats, maxLineLength); line !== null; line = reader.nextWithin(stats, maxLineLength)) {
    const hash = line.indexOf('#');
    const body = hash < 0 ? line : line.slice(0, hash);
    let pos = skipBlanks(body, 0);
    if (pos >= body.length) {
      stats.skipped++;
      continue;
    }
    let end = tokenEnd(body, pos);
    const first = body.slice(pos, end);
    pos = skipBlanks(body, end);
    if (pos >= body.length) {
      // a bare name (some lists mix plain domains into hosts files)
      if (isAddress(first)) noteInvalid(stats, reader.line, line, 'address without host name');
      else if (isLocalHostName(first)) stats.skipped++;
      else {
        const ind = hostName(first, stats, reader.line, line);
        if (ind) yield ind;
      }
      continue;
    }
    if (!isAddress(first)) {
      noteInvalid(stats, reader.line, line, 'hosts line does not start with an IP address');
      continue;
    }
    let names = 0;
    let local = 0;
    for (; pos < body.length; pos = skipBlanks(body, end)) {
      end = tokenEnd(body, pos);
      const name = body.slice(pos, end);
      names++;
      if (isLocalHostName(name)) local++;
      else {
        const ind = hostName(name, stats, reader.line, line);
        if (ind) yield ind;
      }
    }
    if (local === names) stats.skipped++;
  }
}

function hostName(name: string, stats: ParseStats, lineNo: number, line: string): Indicator | null {
  const r = canonicalize(name, DOMAIN_ONLY);
  if (!r.ok) {
    noteInvalid(stats, lineNo, line, r.reason);
    return null;
  }
  stats.records++;
  return r.indicators[0]!;
}

/** The `hosts` format: `address name [name...]`, `#` comments; local names are skipped. */
export const hostsParser: FeedParser<HostsOptions> = {
  format: 'hosts',
  lineIndependent: true,
  parse(text, options, stats) {
    commonOptions('hosts', options, DOMAIN_ONLY);
    return run(text, options, stats);
  },
};
