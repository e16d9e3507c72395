import { TipError, TipErrorCodes } from '@tip/core';
import { parseIp } from '../indicators/ip.js';
import type { IndicatorType } from '../indicators/types.js';
import type { ExportEntries, ExportMeta, ExportTally, ExportWriter, HostsOptions } from './types.js';
import { drive, headerComments, knownCount } from './util.js';

/**
 * `plain`: `#` header comments (name, `generated:`, `description:`, `filters:` as JSON and, when
 * the entry count is known up front, `count:`), then one canonical value per line. When the
 * count is not known up front (a streamed iterable) it is written as a trailing `# count: N`.
 * Values containing a line break are skipped (canonical values never do).
 */
export function plainWriter(): ExportWriter {
  return {
    format: 'plain',
    contentType: 'text/plain; charset=utf-8',
    fileExtension: 'txt',
    write(entries: ExportEntries, meta: ExportMeta, tally?: ExportTally): AsyncIterable<string> {
      const known = knownCount(entries);
      let count = 0;
      let skipped = 0;
      return drive(
        entries,
        headerComments('# ', meta, known),
        (e) => {
          if (/[\r\n]/.test(e.value) || e.value.length === 0) {
            skipped++;
            tally?.skip('invalid');
            return '';
          }
          count++;
          tally?.wrote();
          return `${e.value}\n`;
        },
        () => (known === undefined ? `# count: ${count}\n` : '') + (skipped > 0 ? `# skipped ${skipped} values with line breaks\n` : ''),
      );
    },
  };
}

/**
 * `hosts`: a hosts(5) file sinking every `domain` entry: `0.0.0.0 example.com`. Other types
 * (ip, cidr, url) cannot be expressed and are skipped; a trailing comment counts them per type.
 * Domains with characters a hosts file cannot carry (whitespace, `#`) are skipped too.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming `hosts.address` when it is not an IP address
 */
export function hostsWriter(options: HostsOptions = {}): ExportWriter {
  const address = options.address ?? '0.0.0.0';
  if (typeof address !== 'string' || parseIp(address) === null) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `hosts.address "${String(address)}" is not an IP address`, {
      details: { path: 'hosts.address', input: address },
    });
  }
  return {
    format: 'hosts',
    contentType: 'text/plain; charset=utf-8',
    fileExtension: 'hosts',
    write(entries: ExportEntries, meta: ExportMeta, tally?: ExportTally): AsyncIterable<string> {
      let count = 0;
      let invalid = 0;
      const skipped: Record<IndicatorType, number> = { ip: 0, cidr: 0, domain: 0, url: 0 };
      return drive(
        entries,
        headerComments('# ', meta, undefined),
        (e) => {
          if (e.type !== 'domain') {
            skipped[e.type] = (skipped[e.type] ?? 0) + 1;
            tally?.skip(e.type);
            return '';
          }
          if (!/^[^\s#]+$/.test(e.value)) {
            invalid++;
            tally?.skip('invalid');
            return '';
          }
          count++;
          tally?.wrote();
          return `${address} ${e.value}\n`;
        },
        () => {
          const other = Object.values(skipped).reduce((a, b) => a + b, 0);
          let t = `# count: ${count}\n`;
          if (other > 0) t += `# skipped ${other} non-domain entries (ip: ${skipped.ip}, cidr: ${skipped.cidr}, url: ${skipped.url})\n`;
          if (invalid > 0) t += `# skipped ${invalid} domains a hosts file cannot carry\n`;
          return t;
        },
      );
    },
  };
}
