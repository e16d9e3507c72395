import { randomUUID } from 'node:crypto';
import { TipError, TipErrorCodes } from '@tip/core';
import type { SourceCategory } from '../indicators/types.js';
import type { ExportEntries, ExportEntry, ExportMeta, ExportTally, ExportWriter, StixOptions } from './types.js';
import { drive, iso } from './util.js';
import { TIP_STIX_NAMESPACE, uuidv5 } from './uuid.js';

/** Values of the STIX 2.1 open vocabulary `indicator-type-ov`. */
export type StixIndicatorType = 'anomalous-activity' | 'anonymization' | 'benign' | 'compromised' | 'malicious-activity' | 'attribution' | 'unknown';

/**
 * How TIP categories map onto `indicator_types`. Listed hosts of spam, malware, phishing, C2,
 * brute-force and abuse lists are doing harm: malicious-activity. Botnet lists and
 * `compromised` lists mostly name infected machines: compromised. Scanners and generic
 * reputation lists describe unusual rather than proven-harmful behaviour: anomalous-activity.
 */
export const STIX_INDICATOR_TYPES: Readonly<Record<SourceCategory, StixIndicatorType>> = {
  spam: 'malicious-activity',
  malware: 'malicious-activity',
  phishing: 'malicious-activity',
  c2: 'malicious-activity',
  bruteforce: 'malicious-activity',
  abuse: 'malicious-activity',
  botnet: 'compromised',
  compromised: 'compromised',
  scanner: 'anomalous-activity',
  reputation: 'anomalous-activity',
  other: 'unknown',
};

/** Escapes a STIX patterning string literal body: `\` becomes `\\` and `'` becomes `\'`. */
export function stixEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** The STIX pattern matching one indicator, e.g. `[ipv4-addr:value = '192.0.2.0/24']`. */
export function stixPattern(type: ExportEntry['type'], value: string): string {
  let object: string;
  switch (type) {
    case 'ip':
    case 'cidr':
      object = value.includes(':') ? 'ipv6-addr' : 'ipv4-addr';
      break;
    case 'domain':
      object = 'domain-name';
      break;
    case 'url':
      object = 'url';
      break;
    default:
      throw new TypeError(`unknown indicator type "${String(type)}"`);
  }
  return `[${object}:value = '${stixEscape(value)}']`;
}

/** The deterministic STIX id of an indicator: `indicator--<uuidv5("type:value")>`. */
export function stixIndicatorId(type: string, value: string): string {
  return `indicator--${uuidv5(`${type}:${value}`, TIP_STIX_NAMESPACE)}`;
}

/** The deterministic id of the producer identity with the given name. */
export function stixIdentityId(name: string): string {
  return `identity--${uuidv5(`identity:${name}`, TIP_STIX_NAMESPACE)}`;
}

const DEFAULT_IDENTITY_CREATED = new Date('2024-01-01T00:00:00.000Z');

function indicatorObject(e: ExportEntry, createdBy: string): Record<string, unknown> {
  const created = iso(e.firstSeen, 'firstSeen');
  // modified may not precede created.
  const modified = e.lastSeen.getTime() >= e.firstSeen.getTime() ? iso(e.lastSeen, 'lastSeen') : created;
  const types = [...new Set(e.categories.map((c) => STIX_INDICATOR_TYPES[c] ?? 'unknown'))];
  const obj: Record<string, unknown> = {
    type: 'indicator',
    spec_version: '2.1',
    id: stixIndicatorId(e.type, e.value),
    created_by_ref: createdBy,
    created,
    modified,
    name: e.value,
    indicator_types: types.length > 0 ? types : ['unknown'],
    pattern: stixPattern(e.type, e.value),
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: created,
    confidence: Number.isFinite(e.score) ? Math.min(100, Math.max(0, Math.round(e.score * 100))) : 0,
  };
  // Empty lists are not allowed in STIX: leave the property out instead.
  if (e.categories.length > 0) obj.labels = [...e.categories];
  if (e.sources.length > 0) obj.x_tip_sources = [...e.sources];
  return obj;
}

/**
 * `stix`: a STIX 2.1 bundle (`bundle--<random uuid v4>`) holding one producer `identity`
 * (`identity_class: system`) and one `indicator` per entry. Indicator ids are deterministic
 * ({@link stixIndicatorId}), `created`/`valid_from` = firstSeen and `modified` = lastSeen
 * (millisecond RFC 3339), `confidence` = round(score × 100), `labels` = categories,
 * `indicator_types` via {@link STIX_INDICATOR_TYPES}, `x_tip_sources` = source ids. Streamed one
 * object per line.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming `stix.identityName` / `stix.identityCreated` when invalid
 */
export function stixWriter(options: StixOptions = {}): ExportWriter {
  const identityName = options.identityName ?? 'TIP';
  if (typeof identityName !== 'string' || identityName.trim().length === 0) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, 'stix.identityName must be a non-empty string', {
      details: { path: 'stix.identityName', input: identityName },
    });
  }
  const createdAt = options.identityCreated ?? DEFAULT_IDENTITY_CREATED;
  if (!(createdAt instanceof Date) || !Number.isFinite(createdAt.getTime())) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, 'stix.identityCreated must be a valid Date', {
      details: { path: 'stix.identityCreated', input: String(createdAt) },
    });
  }
  const identityId = stixIdentityId(identityName);
  const identityCreated = createdAt.toISOString();
  return {
    format: 'stix',
    contentType: 'application/stix+json;version=2.1',
    fileExtension: 'json',
    write(entries: ExportEntries, _meta: ExportMeta, tally?: ExportTally): AsyncIterable<string> {
      const identity = {
        type: 'identity',
        spec_version: '2.1',
        id: identityId,
        created: identityCreated,
        modified: identityCreated,
        name: identityName,
        description: 'TIP (Tracking Intelligence Project), the system that aggregated these indicators.',
        identity_class: 'system',
      };
      const head = `{"type":"bundle","id":"bundle--${randomUUID()}","objects":[\n${JSON.stringify(identity)}`;
      return drive(entries, head, (e) => (tally?.wrote(), `,\n${JSON.stringify(indicatorObject(e, identityId))}`), () => '\n]}\n');
    },
  };
}
