/** The kinds of indicator a blacklist lists. */
export type IndicatorType = 'ip' | 'cidr' | 'domain' | 'url';

/** Every indicator type, in a stable order. */
export const INDICATOR_TYPES: readonly IndicatorType[] = ['ip', 'cidr', 'domain', 'url'];

/**
 * An indicator in canonical form:
 * - `ip`: IPv4 dotted quad without leading zeros (`192.0.2.1`) or IPv6 in RFC 5952 form (`2001:db8::1`);
 *   IPv4-mapped IPv6 (`::ffff:192.0.2.1`) becomes IPv4.
 * - `cidr`: network address + prefix (`192.0.2.0/24`, `2001:db8::/32`); a /32 (/128) becomes an `ip`.
 * - `domain`: lower-case, IDNA (punycode) ASCII, no trailing dot, with a public suffix (tldts, ICANN
 *   and private rules) and never a public suffix itself (`co.uk`, `github.io`, `eth.limo`). Host labels
 *   may hold `_` (`coinbase_1_login.godaddysites.com`), but no label may start with it (`_dmarc.…`
 *   names a DNS record) and an ICANN-registered name may not hold it. A host matched only by a
 *   private wildcard rule (`ec2-….compute-1.amazonaws.com` under `*.compute-1.amazonaws.com`,
 *   `foo.eth.limo`) is a domain.
 * - `url`: normalised absolute http(s)/ftp URL (lower-case scheme and host, punycode host, default port
 *   dropped, fragment dropped); its host is also recorded as a `domain` (or `ip`) indicator.
 */
export interface Indicator {
  /** What kind of indicator it is. */
  readonly type: IndicatorType;
  /** The canonical value (see the rules above). */
  readonly value: string;
}

/** Categories of threat a source lists. */
export type SourceCategory = 'spam' | 'malware' | 'phishing' | 'c2' | 'scanner' | 'bruteforce' | 'botnet' | 'compromised' | 'reputation' | 'abuse' | 'other';
