import { TipError, TipErrorCodes } from '@tip/core';
import { formatIp, rangeOf, rangeToCidrs, type IpVersion } from '../indicators/ip.js';
import { checkSetName } from './names.js';
import type { ExportEntries, ExportMeta, ExportTally, ExportWriter, IpsetOptions } from './types.js';
import { Chunker, headerComments, knownCount } from './util.js';

/** Longest base name: ipset names are at most 31 characters and `-v4-tmp` is appended. */
const MAX_BASE = 24;
const MIN_MAXELEM = 65536;
/** The kernel's hash:net caps maxelem at 2^32 - 1; anything near it is a mistake. */
const MAX_MAXELEM = 2 ** 31;

/**
 * The `ip`/`cidr` value as ipset elements, formatted from the parsed address (never the input
 * text). `hash:net` takes no /0, so a /0 becomes its two halves. Empty for anything else.
 */
export function ipsetElements(value: string): { version: IpVersion; elements: string[] } | null {
  const r = rangeOf(value);
  if (!r) return null;
  const width = r.version === 4 ? 32 : 128;
  const size = r.end - r.start + 1n;
  const single = size === 1n;
  if (single) return { version: r.version, elements: [formatIp(r.version, r.start)] };
  if (size === 1n << BigInt(width)) return { version: r.version, elements: rangeToCidrs(r.version, r.start, (1n << BigInt(width - 1)) - 1n).concat(rangeToCidrs(r.version, 1n << BigInt(width - 1), r.end)) };
  return { version: r.version, elements: rangeToCidrs(r.version, r.start, r.end, 1) };
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * `ipset`: input for `ipset restore`. Two `hash:net` sets, `<name>-v4` (`family inet`) and
 * `<name>-v6` (`family inet6`), each filled through a `<name>-vN-tmp` set that is then swapped in
 * and destroyed, so a reload replaces the contents atomically and entries that left the list
 * leave the set:
 *
 * ```
 * create tip-blacklist-v4 hash:net family inet hashsize 1024 maxelem 65536 -exist
 * create tip-blacklist-v4-tmp hash:net family inet hashsize 1024 maxelem 65536 -exist
 * flush tip-blacklist-v4-tmp
 * add tip-blacklist-v4-tmp 192.0.2.0/24
 * swap tip-blacklist-v4-tmp tip-blacklist-v4
 * destroy tip-blacklist-v4-tmp
 * ```
 *
 * `maxelem` is sized to the entries (see {@link IpsetOptions.maxelem}), `hashsize` to a quarter
 * of them (a power of two, at least 1024). Domains and URLs cannot be expressed and are skipped
 * (counted in a trailing comment). Elements are formatted from the parsed addresses, so no input
 * text reaches the file; the set name is checked by {@link checkSetName}. Aggregates by default:
 * the same addresses with fewer elements. The elements are held in memory until the end, since
 * the `create` lines need their number.
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming `ipset.setName` / `ipset.maxelem` when invalid
 */
export function ipsetWriter(options: IpsetOptions = {}): ExportWriter {
  const fixed = options.setName === undefined ? undefined : checkSetName(options.setName, 'ipset.setName', MAX_BASE);
  const pinned = options.maxelem;
  if (pinned !== undefined && !(Number.isInteger(pinned) && pinned >= 1 && pinned <= MAX_MAXELEM)) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `ipset.maxelem must be an integer in [1, ${MAX_MAXELEM}] (got ${String(pinned)})`, { details: { path: 'ipset.maxelem', input: pinned } });
  }
  const baseName = (meta: ExportMeta) => fixed ?? checkSetName(meta.name, 'name', MAX_BASE, TipErrorCodes.INPUT_INVALID);
  return {
    format: 'ipset',
    contentType: 'text/plain; charset=utf-8',
    fileExtension: 'ipset',
    aggregateByDefault: true,
    check(meta) {
      baseName(meta);
    },
    async *write(entries: ExportEntries, meta: ExportMeta, tally?: ExportTally): AsyncGenerator<string> {
      const base = baseName(meta);
      const lines: Record<IpVersion, string[]> = { 4: [], 6: [] };
      // ipset restore stops at an element added twice: keep the first
      const seen = new Set<string>();
      const skipped: Record<string, number> = {};
      const skip = (reason: string) => {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
        tally?.skip(reason);
      };
      const take = (e: { type: string; value: string }) => {
        if (e.type !== 'ip' && e.type !== 'cidr') return skip(e.type);
        const el = ipsetElements(e.value);
        if (!el) return skip('invalid');
        const fresh = el.elements.filter((x) => !seen.has(x));
        if (fresh.length === 0) return skip('duplicate');
        for (const x of fresh) seen.add(x);
        lines[el.version].push(...fresh);
        tally?.wrote();
      };
      if (Symbol.asyncIterator in entries) for await (const e of entries) take(e);
      else for (const e of entries) take(e);

      const out = new Chunker();
      out.add(headerComments('# ', meta, knownCount(entries)));
      out.add(`# load with: ipset restore -file FILE${meta.aggregated ? ' (ip/cidr entries aggregated)' : ''}\n`);
      const counts: Record<IpVersion, number> = { 4: lines[4].length, 6: lines[6].length };
      for (const version of [4, 6] as const) {
        const elements = lines[version];
        const set = `${base}-v${version}`;
        const tmp = `${set}-tmp`;
        const maxelem = pinned ?? Math.max(MIN_MAXELEM, nextPow2(elements.length));
        const hashsize = Math.min(Math.max(1024, nextPow2(Math.ceil(elements.length / 4))), nextPow2(maxelem));
        if (elements.length > maxelem) out.add(`# warning: ${elements.length} IPv${version} elements exceed maxelem ${maxelem}: ipset restore will stop at the first one over\n`);
        const params = `hash:net family ${version === 4 ? 'inet' : 'inet6'} hashsize ${hashsize} maxelem ${maxelem}`;
        out.add(`create ${set} ${params} -exist\n`);
        out.add(`create ${tmp} ${params} -exist\n`);
        out.add(`flush ${tmp}\n`);
        for (let i = 0; i < elements.length; i++) {
          if (out.add(`add ${tmp} ${elements[i]}\n`)) yield out.take();
        }
        out.add(`swap ${tmp} ${set}\n`);
        out.add(`destroy ${tmp}\n`);
        lines[version] = [];
      }
      out.add(`# count: ipv4 ${counts[4]} ipv6 ${counts[6]}\n`);
      const reasons = Object.entries(skipped);
      if (reasons.length > 0) out.add(`# skipped: ${reasons.map(([k, n]) => `${k} ${n}`).join(', ')} (ipset holds addresses only)\n`);
      yield out.take();
    },
  };
}
