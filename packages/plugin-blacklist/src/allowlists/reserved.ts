/**
 * Built-in special-purpose address blocks: the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries (RFC 6890 and the RFCs it points to), plus the multicast and reserved blocks of the
 * IANA address-space registries. Nothing here is "unallocated" space: that changes with every RIR
 * delegation and needs a feed (e.g. FireHOL `fullbogons`, addable as a user list). See
 * `docs/blacklist-weighting.md`.
 */

/** One built-in special-purpose block. */
export interface ReservedBlock {
  /** Block in CIDR notation. */
  readonly cidr: string;
  /** Short list name reported in a match: the defining RFC (`rfc1918`, `rfc4291`...). */
  readonly list: string;
  /** Human-readable reason naming the block's purpose and RFC. */
  readonly reason: string;
}

const b = (cidr: string, rfc: number, purpose: string): ReservedBlock => ({
  cidr,
  list: `rfc${rfc}`,
  reason: `${cidr} is ${purpose} (RFC ${rfc})`,
});

/** IPv4 special-purpose blocks (IANA IPv4 Special-Purpose Address Registry, multicast, class E, broadcast). */
export const RESERVED_IPV4: readonly ReservedBlock[] = [
  b('0.0.0.0/8', 1122, '"this network"'),
  b('10.0.0.0/8', 1918, 'private-use address space'),
  b('100.64.0.0/10', 6598, 'shared address space (carrier-grade NAT)'),
  b('127.0.0.0/8', 1122, 'loopback'),
  b('169.254.0.0/16', 3927, 'link-local'),
  b('172.16.0.0/12', 1918, 'private-use address space'),
  b('192.0.0.0/24', 6890, 'IETF protocol assignments'),
  b('192.0.2.0/24', 5737, 'documentation (TEST-NET-1)'),
  b('192.31.196.0/24', 7535, 'AS112-v4 (anycast DNS sink)'),
  b('192.52.193.0/24', 7450, 'AMT (automatic multicast tunneling relays)'),
  b('192.88.99.0/24', 7526, 'deprecated 6to4 relay anycast'),
  b('192.168.0.0/16', 1918, 'private-use address space'),
  b('192.175.48.0/24', 7534, 'direct delegation AS112 service'),
  b('198.18.0.0/15', 2544, 'benchmarking'),
  b('198.51.100.0/24', 5737, 'documentation (TEST-NET-2)'),
  b('203.0.113.0/24', 5737, 'documentation (TEST-NET-3)'),
  b('224.0.0.0/4', 5771, 'multicast'),
  b('240.0.0.0/4', 1112, 'reserved for future use (former class E)'),
  b('255.255.255.255/32', 919, 'limited broadcast'),
];

/**
 * IPv6 special-purpose blocks (IANA IPv6 Special-Purpose Address Registry and multicast). Left out
 * on purpose: 2001::/32 Teredo and 2002::/16 6to4, which carry real, globally reachable hosts.
 */
export const RESERVED_IPV6: readonly ReservedBlock[] = [
  b('::/128', 4291, 'the unspecified address'),
  b('::1/128', 4291, 'loopback'),
  b('::ffff:0:0/96', 4291, 'IPv4-mapped address space'),
  b('64:ff9b::/96', 6052, 'the IPv4/IPv6 translation well-known prefix'),
  b('64:ff9b:1::/48', 8215, 'local-use IPv4/IPv6 translation'),
  b('100::/64', 6666, 'discard-only address block'),
  b('2001:2::/48', 5180, 'benchmarking'),
  b('2001:20::/28', 7343, 'ORCHIDv2 (non-routable identifiers)'),
  b('2001:db8::/32', 3849, 'documentation'),
  b('3fff::/20', 9637, 'documentation'),
  b('5f00::/16', 9602, 'segment routing (SRv6) SIDs'),
  b('fc00::/7', 4193, 'unique-local'),
  b('fe80::/10', 4291, 'link-local unicast'),
  b('ff00::/8', 4291, 'multicast'),
];

/** Name of the built-in list that groups every block above (the `list` of a match is the block's RFC). */
export const RESERVED_LIST_NAME = 'reserved';
