/**
 * The host-name rule shared by domain and URL indicators: lower-casing, IDNA, label syntax (`_`
 * allowed inside labels, never leading one), length limits and the Public Suffix List (tldts, ICANN
 * and private sections, private wildcard rules naming hosts).
 *
 * @module
 */
import { domainToASCII } from 'node:url';
import { parse as parseHost } from 'tldts';
import { fail, type Failure } from './failure.js';
import type { Indicator } from './types.js';

/** tldts options: the host is already extracted and validated here; private PSL rules apply. */
const HOST_OPTIONS = { allowPrivateDomains: true, extractHostname: false, validateHostname: false, detectIp: false, mixedInputs: false } as const;
const NON_ASCII = /[^\x00-\x7f]/;
/** Why a name with a label starting with `_` (`_dmarc`, `_domainkey`, `_tcp`) is refused: it names a DNS record, not a host. */
const RECORD_NAME = 'DNS record name (a label starts with "_"), not a host';
/**
 * Why a public suffix itself (`co.uk`, `github.io`, `eth.limo`, `compute-1.amazonaws.com`) is
 * refused: listing it would block every site registered under it.
 */
const PUBLIC_SUFFIX = 'domain is a public suffix (no registrable part; listing it would block every site under it)';
/** A label that no PSL rule names explicitly, used to ask whether a parent carries a wildcard rule. */
const WILDCARD_PROBE = 'tip-wildcard-probe';

/**
 * The canonical domain for a host name (see the `domain` rules on {@link Indicator}), or a failure
 * saying why it is not one. Input must already be trimmed and refanged.
 */
export function domainOf(input: string): string | Failure {
  let d = NON_ASCII.test(input) ? domainToASCII(input) : input.toLowerCase();
  if (d === '') return fail('invalid internationalised domain name');
  if (d.charCodeAt(d.length - 1) === 0x2e) d = d.slice(0, -1);
  if (d.charCodeAt(0) === 0x2a /* * */ && d.charCodeAt(1) === 0x2e) d = d.slice(2);
  if (d.length === 0) return fail('empty domain');
  if (d.length > 253) return fail('domain longer than 253 characters');
  let labelStart = 0;
  let labels = 0;
  let lastNumeric = true;
  let underscore = false;
  for (let i = 0; i <= d.length; i++) {
    const c = i < d.length ? d.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0) return fail('empty domain label');
      if (len > 63) return fail('domain label longer than 63 characters');
      if (d.charCodeAt(labelStart) === 0x2d || d.charCodeAt(i - 1) === 0x2d) return fail('domain label starts or ends with "-"');
      labels++;
      if (i < d.length) lastNumeric = true;
      labelStart = i + 1;
    } else if ((c >= 0x61 && c <= 0x7a) || c === 0x2d) lastNumeric = false;
    else if (c === 0x5f /* _ */) {
      if (i === labelStart) return fail(RECORD_NAME);
      underscore = true;
      lastNumeric = false;
    } else if (c < 0x30 || c > 0x39) return fail('invalid character in domain');
  }
  if (lastNumeric) return fail('IP-like host is not a domain');
  if (labels < 2) return fail(d === 'localhost' ? 'localhost is not a domain' : 'no public suffix');
  const p = parseHost(d, HOST_OPTIONS);
  if (!p.isIcann && !p.isPrivate) return fail('unknown public suffix');
  if (!p.domain) return p.isPrivate && isPrivateWildcardHost(d) ? d : fail(PUBLIC_SUFFIX);
  if (underscore && p.isIcann && p.domain.indexOf('_') >= 0) return fail('"_" in a registered domain name');
  return d;
}

/**
 * Whether `host`, which the PSL (private section) reports as a public suffix, is one only through a
 * private wildcard rule (`*.compute-1.amazonaws.com`, `*.eth.limo`): its first label is then a
 * customer's host name (an EC2 instance, an ENS name), not a registry, so it is a host like any
 * other. A suffix listed explicitly (`github.io`, `compute-1.amazonaws.com`) is not. Only reached
 * on that rare path, so the extra PSL look-up costs nothing on the hot path.
 */
function isPrivateWildcardHost(host: string): boolean {
  const parent = host.slice(host.indexOf('.') + 1);
  const probe = parseHost(`${WILDCARD_PROBE}.${parent}`, HOST_OPTIONS);
  return probe.isPrivate === true && probe.domain === null;
}
