/**
 * Canonicalisation of raw feed values into {@link Indicator}s, following the rules documented on
 * {@link Indicator}. Built for the hot path: no exceptions, failures are returned as values with a
 * short human-readable reason (failure results are shared constants where possible).
 *
 * @module
 */
import { domainOf } from './domain.js';
import { fail, isFailure, type Failure } from './failure.js';
import { bits, formatIp, parseCidr, parseIp, parseIpv4, rangeToCidrs, type IpVersion } from './ip.js';
import { INDICATOR_TYPES, type Indicator, type IndicatorType } from './types.js';

/** The outcome of {@link canonicalize}: the indicators a raw value stands for, or why it was rejected. */
export type CanonicalResult =
  | {
      /** The value was accepted. */
      ok: true;
      /** The indicators it stands for (a URL also yields its host; a range several CIDRs). */
      indicators: Indicator[];
    }
  | {
      /** The value was rejected. */
      ok: false;
      /** Why, in a few words (`invalid CIDR`, `type url not allowed`…). */
      reason: string;
    };

/** Longest raw value considered at all (URLs included). */
const MAX_INPUT = 8192;
/** Most CIDR blocks one `start-end` range may expand to. */
const MAX_RANGE_BLOCKS = 1024;
const URL_SCHEMES = new Set(['http', 'https', 'ftp']);
/** Undoes the usual defanging: `hxxp(s)://`, `[.]`, `(.)`, `[dot]`, `[:]`, `[://]`. */
function refang(s: string): string {
  if (s.indexOf('[') >= 0 || s.indexOf('(') >= 0) {
    s = s.replaceAll('[://]', '://').replaceAll('[.]', '.').replaceAll('(.)', '.').replaceAll('[dot]', '.').replaceAll('[:]', ':');
  }
  if ((s.charCodeAt(0) | 0x20) === 0x68 /* h */ && (s.charCodeAt(1) | 0x20) === 0x78 && (s.charCodeAt(2) | 0x20) === 0x78) {
    const head = s.slice(0, 6).toLowerCase();
    if (head.startsWith('hxxp:') || head.startsWith('hxxps:')) s = `http${s.slice(4)}`;
  }
  return s;
}

function hasWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12 || c === 0xa0) return true;
  }
  return false;
}

/** Parses an address, also accepting fixed-width zero-padded IPv4 (`045.095.146.001`); IPv4-mapped IPv6 becomes IPv4. */
function parseAddress(text: string): { version: IpVersion; value: bigint } | null {
  if (text.indexOf('%') >= 0) return null; // zone ids are host-local, never an indicator
  if (text.charCodeAt(0) === 0x5b /* [ */ && text.charCodeAt(text.length - 1) === 0x5d) text = text.slice(1, -1);
  let ip = parseIp(text);
  if (!ip && text.length === 15 && text[3] === '.' && text[7] === '.' && text[11] === '.') {
    const v = parseIpv4(text.split('.').map((p) => p.replace(/^0{1,2}/, '')).join('.'));
    if (v !== null) ip = { version: 4, value: v };
  }
  if (ip && ip.version === 6 && ip.value >> 32n === 0xffffn) return { version: 4, value: ip.value & 0xffffffffn };
  return ip;
}

/**
 * Fast path for the overwhelmingly common value, a canonical dotted quad (no leading zeros): its
 * fresh canonical string, or null to fall back to the general {@link parseAddress}. Accepts
 * exactly the inputs `parseIpv4` accepts whose canonical form is the input itself.
 */
function fastIpv4(s: string): string | null {
  if (s.length < 7 || s.length > 15) return null;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let first = 0;
  const octets = [0, 0, 0, 0];
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || (digits > 1 && first === 0x30) || part > 255 || dots > 3) return null;
      octets[dots++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 0) first = c;
      if (++digits > 3) return null;
      part = part * 10 + (c - 0x30);
    } else return null;
  }
  return dots === 4 ? `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3]}` : null;
}

function ipIndicator(version: IpVersion, start: bigint, prefix: number): Indicator {
  if (prefix === Number(bits(version))) return { type: 'ip', value: formatIp(version, start) };
  return { type: 'cidr', value: `${formatIp(version, start)}/${prefix}` };
}

function filterAllowed(list: Indicator[], allow: readonly IndicatorType[]): CanonicalResult {
  const out = list.filter((i) => allow.includes(i.type));
  if (out.length === 0) return fail(`type ${list[0]?.type ?? 'ip'} not allowed`);
  return { ok: true, indicators: out };
}

function cidrResult(s: string, allow: readonly IndicatorType[]): CanonicalResult {
  if (s.indexOf('%') >= 0) return fail('invalid CIDR');
  const r = parseCidr(s);
  if (!r) return fail('invalid CIDR');
  let { version, start, prefix } = r;
  if (version === 6 && prefix >= 96 && start >> 32n === 0xffffn) {
    version = 4;
    start &= 0xffffffffn;
    prefix -= 96;
  }
  if (prefix === 0) return fail('prefix /0 covers the whole address space');
  return filterAllowed([ipIndicator(version, start, prefix)], allow);
}

/** `a-b` address range; null when the left side is not an address (so the value may be a domain). */
function rangeResult(s: string, dash: number, allow: readonly IndicatorType[]): CanonicalResult | null {
  const a = parseAddress(s.slice(0, dash).trim());
  if (!a) return null;
  const b = parseAddress(s.slice(dash + 1).trim());
  if (!b) return fail('invalid range end');
  if (a.version !== b.version) return fail('range mixes IPv4 and IPv6');
  if (a.value > b.value) return fail('range start is after its end');
  let blocks: string[];
  try {
    blocks = rangeToCidrs(a.version, a.value, b.value, MAX_RANGE_BLOCKS);
  } catch {
    return fail(`range needs more than ${MAX_RANGE_BLOCKS} CIDR blocks`);
  }
  const list = blocks.map((block) => {
    const slash = block.indexOf('/');
    return ipIndicator(a.version, parseAddress(block.slice(0, slash))!.value, Number(block.slice(slash + 1)));
  });
  return filterAllowed(list, allow);
}

/** The normalised URL and its host indicator, or a failure. */
function urlOf(s: string, schemeEnd: number): { url: string; hostType: 'ip' | 'domain'; host: string } | Failure {
  const scheme = s.slice(0, schemeEnd).toLowerCase();
  if (!URL_SCHEMES.has(scheme)) return fail('unsupported URL scheme');
  if (hasWhitespace(s)) return fail('URL contains whitespace');
  const u = URL.parse(s);
  if (!u) return fail('invalid URL');
  let hostname = u.hostname;
  if (hostname === '') return fail('URL without host');
  let hostType: 'ip' | 'domain';
  let host: string;
  const last = hostname.charCodeAt(hostname.length - 1);
  const ip = hostname.charCodeAt(0) === 0x5b || (last >= 0x30 && last <= 0x39) ? parseAddress(hostname) : null;
  if (ip) {
    hostType = 'ip';
    host = formatIp(ip.version, ip.value);
  } else {
    if (last === 0x2e) {
      hostname = hostname.slice(0, -1);
      u.hostname = hostname;
    }
    const d = domainOf(hostname);
    if (isFailure(d)) return fail(`URL host: ${d.reason}`);
    hostType = 'domain';
    host = d;
  }
  u.hash = '';
  return { url: u.href, hostType, host };
}

/**
 * Canonicalises one raw value (an IP, CIDR, `start-end` range, domain or URL; defanged forms such
 * as `hxxp://` and `evil[.]com` are accepted) into indicators.
 *
 * @param raw - the value, surrounding whitespace allowed
 * @param allow - indicator types to emit (default: all); a URL yields the `url` and/or its host
 *   (`domain` or `ip`), whichever are allowed
 * @returns `{ ok: true, indicators }` (at least one) or `{ ok: false, reason }`; never throws
 */
export function canonicalize(raw: string, allow: readonly IndicatorType[] = INDICATOR_TYPES): CanonicalResult {
  let s = raw.trim();
  if (s.length === 0) return fail('empty value');
  if (s.length > MAX_INPUT) return fail('value too long');
  s = refang(s);
  const schemeEnd = s.indexOf('://');
  if (schemeEnd > 0) {
    const r = urlOf(s, schemeEnd);
    if (isFailure(r)) return r;
    const out: Indicator[] = [];
    if (allow.includes('url')) out.push({ type: 'url', value: r.url });
    if (allow.includes(r.hostType)) out.push({ type: r.hostType, value: r.host });
    return out.length > 0 ? { ok: true, indicators: out } : fail('type url not allowed');
  }
  const dash = s.indexOf('-');
  if (hasWhitespace(s)) {
    if (dash > 0) return rangeResult(s, dash, allow) ?? fail('contains whitespace');
    return fail('contains whitespace');
  }
  if (s.indexOf('/') >= 0) {
    const slash = s.indexOf('/');
    if (parseAddress(s.slice(0, slash)) === null) return fail(s.indexOf(':') >= 0 || isDigit(s, 0) ? 'invalid CIDR' : 'path without URL scheme');
    return cidrResult(s, allow);
  }
  if (isDigit(s, 0) && dash < 0) {
    const v4 = fastIpv4(s);
    if (v4 !== null) return allow.includes('ip') ? { ok: true, indicators: [{ type: 'ip', value: v4 }] } : fail('type ip not allowed');
  }
  const colon = s.indexOf(':') >= 0;
  if (colon || isDigit(s, 0) || s.charCodeAt(0) === 0x5b) {
    if (dash > 0) {
      const r = rangeResult(s, dash, allow);
      if (r) return r;
    }
    const ip = parseAddress(s);
    if (ip) return filterAllowed([{ type: 'ip', value: formatIp(ip.version, ip.value) }], allow);
    if (colon) return fail(colonReason(s));
    if (isNumericDots(s)) return fail('invalid IPv4 address');
    if (dash > 0) {
      const left = s.slice(0, dash).trim();
      if (left.indexOf('.') >= 0 && isNumericDots(left)) return fail('invalid range start');
    }
  }
  const d = domainOf(s);
  if (isFailure(d)) return d;
  return allow.includes('domain') ? { ok: true, indicators: [{ type: 'domain', value: d }] } : fail('type domain not allowed');
}

const isDigit = (s: string, i: number): boolean => s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39;

/** Why a value with a colon that is not an IPv6 address was rejected. */
function colonReason(s: string): string {
  const colon = s.indexOf(':');
  if (colon !== s.lastIndexOf(':')) return 'invalid IPv6 address';
  const port = s.slice(colon + 1);
  return port !== '' && isNumericDots(port) && port.indexOf('.') < 0 ? 'host:port is not an indicator' : 'not an IP, CIDR, range, domain or URL';
}

function isNumericDots(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isDigit(s, i) && s.charCodeAt(i) !== 0x2e) return false;
  return true;
}

/** The canonical form of a domain name (see {@link Indicator}), or null when it is not a valid registrable domain. */
export function canonicalDomain(s: string): string | null {
  const d = domainOf(refang(s.trim()));
  return isFailure(d) ? null : d;
}

/** The canonical form of a single IPv4/IPv6 address (IPv4-mapped IPv6 becomes IPv4), or null. */
export function canonicalIp(s: string): string | null {
  const ip = parseAddress(refang(s.trim()));
  return ip ? formatIp(ip.version, ip.value) : null;
}

/** The normalised form of an http(s)/ftp URL (defanged input accepted), or null. */
export function canonicalUrl(s: string): string | null {
  const t = refang(s.trim());
  const schemeEnd = t.indexOf('://');
  if (schemeEnd <= 0 || t.length > MAX_INPUT) return null;
  const r = urlOf(t, schemeEnd);
  return isFailure(r) ? null : r.url;
}
