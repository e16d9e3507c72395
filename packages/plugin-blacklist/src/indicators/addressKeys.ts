import { ipv4RangeOf, rangeOf, type IpRange } from './ip.js';

/**
 * The sortable keys of an address range as `bl_indicator.addr_lo`/`addr_hi` store them: the
 * family digit followed by the zero-padded lowercase hex of the address (`4` + 8 digits, `6` +
 * 32). Keys of one family compare (byte-wise) like the addresses, and IPv4 keys sort before IPv6.
 */
export function addressKey(version: 4 | 6, address: bigint): string {
  return `${version}${address.toString(16).padStart(version === 4 ? 8 : 32, '0')}`;
}

/** The keys of the first and last address of a range (see {@link addressKey}). */
export function rangeKeys(range: IpRange): { lo: string; hi: string } {
  return { lo: addressKey(range.version, range.start), hi: addressKey(range.version, range.end) };
}

const scratch = new Float64Array(2);
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** {@link addressKey} of an IPv4 address given as a number (0 to 2³² − 1). */
function ipv4Key(a: number): string {
  return '4' + HEX[(a / 16777216) | 0]! + HEX[(a >>> 16) & 255]! + HEX[(a >>> 8) & 255]! + HEX[a & 255]!;
}

/** The keys of an `ip` or `cidr` indicator value; null for anything else. */
export function addressKeys(value: string): { lo: string; hi: string } | null {
  // IPv4 (most rows) without bigint
  if (!value.includes(':') && ipv4RangeOf(value, scratch)) return { lo: ipv4Key(scratch[0]!), hi: ipv4Key(scratch[1]!) };
  const r = rangeOf(value);
  return r ? rangeKeys(r) : null;
}
