import { createHash } from 'node:crypto';

/** Parses a UUID string into its 16 bytes. */
function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new TypeError(`"${uuid}" is not a UUID`);
  return Buffer.from(hex, 'hex');
}

/** Formats 16 bytes as a lower-case UUID string. */
function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * A name-based UUID, version 5 (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes followed by
 * the UTF-8 name, truncated to 16 bytes, with the version and variant bits set.
 */
export function uuidv5(name: string, namespace: string): string {
  const digest = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const b = digest.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return formatUuid(b);
}

/**
 * Namespace of TIP's STIX identifiers. Fixed forever: indicator ids are
 * `indicator--uuidv5("<type>:<value>", TIP_STIX_NAMESPACE)`, so the same indicator keeps its id
 * across exports and TIP installations.
 */
export const TIP_STIX_NAMESPACE = '6f1c1e0a-7a9b-4f52-9d0e-5b1d2c3e4f60';
