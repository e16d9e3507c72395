import { TipError, TipErrorCodes } from '@tip/core';
import { ipv6Groups, longestZeroRun, parseCidr, parseIp } from '../indicators/ip.js';
import type { ExportEntries, ExportEntry, ExportMeta, ExportTally, ExportWriter, RpzOptions } from './types.js';
import { drive, headerComments, iso, oneLine, score4 } from './util.js';

/** Origin used when neither `rpz.zone` nor a DNS-name-like `meta.name` gives one. */
export const DEFAULT_RPZ_ZONE = 'rpz.tip.local.';

const LABEL = /^[a-z0-9_-]{1,63}$/;
/** Longest domain name in text form without its trailing dot (255 octets on the wire). */
const MAX_NAME = 253;

/**
 * Normalises a zone name to lower case with a trailing dot; null when it is not a valid DNS
 * name of at least one label of letters, digits, `-` and `_` (each ≤ 63, total ≤ 253).
 */
export function normaliseZone(name: string): string | null {
  if (typeof name !== 'string') return null;
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  if (n.length === 0 || n.length > MAX_NAME) return null;
  return n.split('.').every((l) => LABEL.test(l)) ? `${n}.` : null;
}

/**
 * The RPZ IP-trigger owner name (relative to the zone) of an `ip` or `cidr` value:
 * `192.0.2.0/24` → `24.0.2.0.192.rpz-ip`, `2001:db8::1` → `128.1.zz.db8.2001.rpz-ip`
 * (16-bit groups reversed, the longest run of two or more zero groups written `zz`).
 * Null when the value is not an address/prefix or the prefix is 0.
 */
export function rpzIpName(value: string): string | null {
  let version: 4 | 6;
  let addr: bigint;
  let prefix: number;
  if (value.includes('/')) {
    const c = parseCidr(value);
    if (!c) return null;
    ({ version, start: addr, prefix } = c);
  } else {
    const ip = parseIp(value);
    if (!ip) return null;
    ({ version, value: addr } = ip);
    prefix = version === 4 ? 32 : 128;
  }
  if (prefix < 1) return null;
  if (version === 4) {
    const octets: string[] = [];
    for (let i = 0; i < 4; i++) octets.push(String((addr >> BigInt(i * 8)) & 255n));
    return `${prefix}.${octets.join('.')}.rpz-ip`;
  }
  const groups = ipv6Groups(addr);
  const { start: runStart, length: runLen } = longestZeroRun(groups);
  const labels: string[] = [];
  for (let i = 7; i >= 0; i--) {
    if (runStart >= 0 && i >= runStart && i < runStart + runLen) {
      if (i === runStart) labels.push('zz');
      continue;
    }
    labels.push(groups[i]!.toString(16));
  }
  return `${prefix}.${labels.join('.')}.rpz-ip`;
}

function serialOf(option: RpzOptions['serial'], generatedAt: Date): number {
  const t = generatedAt.getTime();
  if (option === undefined || option === 'unix') return Math.floor(t / 1000) % 2 ** 32;
  if (option === 'date') {
    const d = new Date(t);
    const p = (n: number) => String(n).padStart(2, '0');
    return Number(`${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}`);
  }
  return option;
}

function invalid(path: string, message: string, input: unknown): TipError {
  return new TipError(TipErrorCodes.CONFIG_INVALID, `${path} ${message}`, { details: { path, input } });
}

/**
 * `rpz`: a BIND Response Policy Zone (NXDOMAIN policy, `CNAME .`). `$TTL`, `$ORIGIN`, an SOA
 * (`localhost.` / `hostmaster.localhost.`, serial from `generatedAt`, see {@link RpzOptions.serial})
 * and `NS localhost.`, then per entry:
 * - domain `example.com` → `example.com CNAME .` and `*.example.com CNAME .`;
 * - ip / cidr → `32.4.3.2.1.rpz-ip CNAME .`, `24.0.2.0.192.rpz-ip CNAME .`, IPv6 as in {@link rpzIpName};
 * - url → skipped (an RPZ cannot match URLs).
 *
 * The first record of each entry carries `; score=… sources=…`. Entries whose owner names would
 * have a label over 63 characters or exceed 253 characters with the origin, domains with
 * characters other than letters, digits, `-`, `_`, domains under an `rpz-*` label and
 * unparseable addresses are skipped. Trailing comments count everything skipped.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming `rpz.zone`, `rpz.ttl` or `rpz.serial` when invalid
 */
export function rpzWriter(options: RpzOptions = {}): ExportWriter {
  const zone = options.zone === undefined ? undefined : normaliseZone(options.zone);
  if (zone === null) throw invalid('rpz.zone', `"${String(options.zone)}" is not a valid DNS zone name`, options.zone);
  const ttl = options.ttl ?? 300;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647) throw invalid('rpz.ttl', 'must be an integer number of seconds, 0..2147483647', ttl);
  const serial = options.serial;
  if (serial !== undefined && serial !== 'unix' && serial !== 'date' && !(Number.isInteger(serial) && serial >= 0 && serial <= 4294967295)) {
    throw invalid('rpz.serial', 'must be "unix", "date" or an integer 0..4294967295', serial);
  }
  return {
    format: 'rpz',
    contentType: 'text/dns',
    fileExtension: 'zone',
    write(entries: ExportEntries, meta: ExportMeta, tally?: ExportTally): AsyncIterable<string> {
      const origin = zone ?? (meta.name.includes('.') ? normaliseZone(meta.name) : null) ?? DEFAULT_RPZ_ZONE;
      // Room left for a relative owner name: 253 - origin without its dot - the joining dot.
      const room = MAX_NAME - (origin.length - 1) - 1;
      const generated = iso(meta.generatedAt, 'meta.generatedAt');
      const head =
        headerComments('; ', meta, undefined) +
        `$TTL ${ttl}\n$ORIGIN ${origin}\n` +
        `@ IN SOA localhost. hostmaster.localhost. ( ${serialOf(serial, meta.generatedAt)} 3600 600 604800 ${ttl} )\n` +
        '@ IN NS localhost.\n';
      let count = 0;
      let urls = 0;
      let tooLong = 0;
      let bad = 0;
      const comment = (e: ExportEntry) => ` ; score=${score4(e.score)} sources=${oneLine(e.sources.join(','))}`;
      return drive(
        entries,
        head,
        (e) => {
          if (e.type === 'url') {
            urls++;
            tally?.skip('url');
            return '';
          }
          if (e.type === 'domain') {
            const name = e.value.toLowerCase().replace(/\.$/, '');
            const labels = name.split('.');
            if (!labels.every((l) => /^[a-z0-9_-]+$/.test(l)) || labels[labels.length - 1]!.startsWith('rpz-')) {
              bad++;
              tally?.skip('invalid');
              return '';
            }
            if (labels.some((l) => l.length > 63) || name.length + 2 > room) {
              tooLong++;
              tally?.skip('too long');
              return '';
            }
            count++;
            tally?.wrote();
            return `${name} CNAME .${comment(e)}\n*.${name} CNAME .\n`;
          }
          const owner = e.type === 'ip' || e.type === 'cidr' ? rpzIpName(e.value) : null;
          if (owner === null) {
            bad++;
            tally?.skip('invalid');
            return '';
          }
          count++;
          tally?.wrote();
          return `${owner} CNAME .${comment(e)}\n`;
        },
        () =>
          `; count: ${count}\n` +
          (urls > 0 ? `; skipped ${urls} url entries (RPZ cannot match URLs)\n` : '') +
          (tooLong > 0 ? `; skipped ${tooLong} entries whose names are too long for DNS\n` : '') +
          (bad > 0 ? `; skipped ${bad} entries that are not valid DNS names or addresses\n` : '') +
          `; end of zone generated ${generated}\n`,
      );
    },
  };
}
