/** Why an indicator is allow-listed. */
export interface AllowMatch {
  /** Name of the list that matched (`rfc1918`, `popular-domains`, a user or MISP list name). */
  readonly list: string;
  /** Human-readable reason. */
  readonly reason: string;
  /** The list entry that matched (a CIDR, host or string), when known. */
  readonly entry?: string;
}

/**
 * How the entries of an {@link AllowlistSource} are matched (MISP warninglist types, plus `auto`):
 * - `cidr`: IPs/CIDRs; an `ip` indicator matches when inside, a `cidr` when it intersects (default)
 *   or is contained (see `AllowlistOptions.cidrMatch`); a URL whose host is an IP likewise.
 * - `hostname`: a host matches itself and its subdomains down to (not past) the registrable domain
 *   of the indicator, so `google.com` covers `www.google.com` but `blogspot.com` does not cover
 *   `evil.blogspot.com` (a registrable domain of its own under the PSL private section). `domain`
 *   indicators match by value, `url` indicators by host.
 * - `string`: exact, case-insensitive equality with the indicator value (or a URL's host).
 * - `substring`: the entry occurs in the indicator value (case-insensitive).
 * - `auto` (default for user lists): each entry is an IP/CIDR (`cidr`), a URL (`string`) or a host
 *   (`hostname`), decided per entry.
 */
export type AllowlistEntryType = 'auto' | 'cidr' | 'hostname' | 'string' | 'substring';

/** A list of allow-listed values to {@link Allowlist.add}. */
export interface AllowlistSource {
  /** List name, reported as {@link AllowMatch.list}. */
  readonly name: string;
  /** Reason reported in a match; defaults to `listed in <name>` (MISP lists: their description). */
  readonly reason?: string;
  /** How entries match; default `auto`. */
  readonly type?: AllowlistEntryType;
  /** The entries; surrounding blanks are trimmed, empty entries and `#` comments are skipped. */
  readonly entries: Iterable<string>;
}

/** Options of an {@link Allowlist}. */
export interface AllowlistOptions {
  /**
   * How a `cidr` indicator is matched against allow-listed ranges: `intersects` (default: any
   * address of the block is allow-listed, i.e. blocking the block would hit an allow-listed
   * address) or `contains` (the whole block lies inside allow-listed space).
   */
  readonly cidrMatch?: 'intersects' | 'contains';
}

/** Options of `Allowlist.builtIn`. */
export interface BuiltInAllowlistOptions extends AllowlistOptions {
  /** Include the IANA special-purpose IPv4/IPv6 blocks (default true). */
  readonly reserved?: boolean;
  /** Include the shipped hand-curated popular-domains list (default true). */
  readonly popularDomains?: boolean;
  /** Read the popular-domains list from this file instead of the shipped `data/popular-domains.txt`. */
  readonly popularDomainsFile?: string;
}

/** A MISP warninglist (`lists/<name>/list.json` of MISP/misp-warninglists). */
export interface MispWarninglist {
  /** List name. */
  readonly name: string;
  /** Matching type; `regex` lists are not supported. */
  readonly type: 'cidr' | 'hostname' | 'string' | 'substring';
  /** Entries. */
  readonly list: readonly string[];
  /** What the list contains. */
  readonly description?: string;
  /** List version (a number or a date-like number). */
  readonly version?: number | string;
  /** MISP attribute types the list applies to. */
  readonly matching_attributes?: readonly string[];
}
