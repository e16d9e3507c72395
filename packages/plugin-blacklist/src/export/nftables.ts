import { TipError, TipErrorCodes } from '@tip/core';
import { formatIp, rangeOf, type IpVersion } from '../indicators/ip.js';
import { aggregateEntries } from './aggregate.js';
import { checkSetName } from './names.js';
import type { ExportEntries, ExportEntry, ExportMeta, ExportTally, ExportWriter, NftablesOptions } from './types.js';
import { Chunker, headerComments } from './util.js';

/** Elements per `add element` statement (keeps lines and netlink batches moderate). */
const ELEMENTS_PER_STATEMENT = 512;
const FAMILIES = ['inet', 'ip', 'ip6', 'bridge', 'netdev'] as const;
/**
 * nft keywords that the scanner recognises in any context (from nftables' src/scanner.l): a table
 * named like one does not parse. Set names always end in `-v4`/`-v6`, so they cannot be one.
 */
const NFT_KEYWORDS = new Set(
  ('table chain set map element elements rule ruleset flowtable counter quota limit ct meta ip ip6 inet arp bridge netdev ' +
    'add create insert delete replace update get list reset flush rename import export monitor destroy describe ' +
    'accept drop continue jump goto return reject queue log snat dnat masquerade redirect notrack dup fwd ' +
    'type typeof flags interval constant dynamic timeout size policy comment position index handle hook priority device devices ' +
    'tcp udp udplite sctp dccp icmp icmpv6 igmp ah esp comp gre gretap vxlan geneve ether vlan th rt rt0 rt2 srh hbh frag dst mh ' +
    'mark iif iifname iiftype oif oifname oiftype skuid skgid nftrace rtclassid pkttype cpu iifgroup oifgroup cgroup numgen jhash symhash ' +
    'fib osf synproxy tunnel all ecn time hour day random define redefine undefine include secmark ' +
    'offload flow meter last tproxy to vm ipsec exthdr xt').split(' '),
);

/** The `ip`/`cidr` value as an nft element, formatted from the parsed address; null for anything else. */
function nftElement(value: string): { version: IpVersion; element: string } | null {
  const r = rangeOf(value);
  if (!r) return null;
  if (r.start === r.end) return { version: r.version, element: formatIp(r.version, r.start) };
  if (!value.includes('/')) return null;
  const prefix = value.slice(value.indexOf('/') + 1);
  return { version: r.version, element: `${formatIp(r.version, r.start)}/${Number(prefix)}` };
}

function checkTable(name: unknown, path: string, code?: string): string {
  const n = checkSetName(name, path, 64, code);
  if (!/^[A-Za-z]/.test(n) || NFT_KEYWORDS.has(n)) {
    throw new TipError(code ?? TipErrorCodes.CONFIG_INVALID, `${path} "${n}" cannot name an nftables table (it must start with a letter and not be an nft keyword)`, {
      details: { path, input: n },
    });
  }
  return n;
}

/**
 * `nftables`: input for `nft -f` (one atomic transaction). It declares, in table
 * `<family> <table>` (created when missing; nothing else in it is touched), the interval sets
 * `<name>-v4` (`type ipv4_addr`) and `<name>-v6` (`type ipv6_addr`), flushes them and adds the
 * elements, so a reload replaces the contents and entries that left the list leave the set:
 *
 * ```
 * table inet tip {
 * 	set tip-blacklist-v4 { type ipv4_addr; flags interval; }
 * 	set tip-blacklist-v6 { type ipv6_addr; flags interval; }
 * }
 * flush set inet tip tip-blacklist-v4
 * add element inet tip tip-blacklist-v4 { 192.0.2.0/24, 198.51.100.7 }
 * ```
 *
 * Interval sets refuse overlapping elements ("conflicting intervals"), so the ip/cidr entries are
 * always aggregated (by {@link writeExport} by default, else here); `aggregate: false` changes
 * nothing. Domains and URLs are skipped (counted in a trailing comment). Elements are formatted
 * from parsed addresses, so no input text reaches the file; table and set names are checked
 * ({@link checkSetName}, and the table must start with a letter and not be an nft keyword).
 *
 * @throws TipError `TIP_CONFIG_INVALID` naming `nftables.family`, `nftables.table` or `nftables.setName` when invalid
 */
export function nftablesWriter(options: NftablesOptions = {}): ExportWriter {
  const family = options.family ?? 'inet';
  if (!(FAMILIES as readonly string[]).includes(family)) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `nftables.family "${String(family)}" is not one of ${FAMILIES.join(', ')}`, { details: { path: 'nftables.family', input: family } });
  }
  const table = checkTable(options.table ?? 'tip', 'nftables.table');
  const fixed = options.setName === undefined ? undefined : checkSetName(options.setName, 'nftables.setName', 61);
  const baseName = (meta: ExportMeta) => fixed ?? checkSetName(meta.name, 'name', 61, TipErrorCodes.INPUT_INVALID);
  const versions: IpVersion[] = family === 'ip' ? [4] : family === 'ip6' ? [6] : [4, 6];
  return {
    format: 'nftables',
    contentType: 'text/plain; charset=utf-8',
    fileExtension: 'nft',
    aggregateByDefault: true,
    check(meta) {
      baseName(meta);
    },
    async *write(entries: ExportEntries, meta: ExportMeta, tally?: ExportTally): AsyncGenerator<string> {
      const base = baseName(meta);
      const input: AsyncIterable<ExportEntry> | ExportEntries = meta.aggregated ? entries : aggregateEntries(entries);
      const elements: Record<IpVersion, string[]> = { 4: [], 6: [] };
      const skipped: Record<string, number> = {};
      const skip = (reason: string) => {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
        tally?.skip(reason);
      };
      const take = (e: ExportEntry) => {
        if (e.type !== 'ip' && e.type !== 'cidr') return skip(e.type);
        const el = nftElement(e.value);
        if (!el) return skip('invalid');
        if (!versions.includes(el.version)) return skip(`ipv${el.version}`);
        elements[el.version].push(el.element);
        tally?.wrote();
      };
      if (Symbol.asyncIterator in input) for await (const e of input) take(e);
      else for (const e of input) take(e);

      const out = new Chunker();
      out.add(headerComments('# ', meta, undefined));
      out.add('# load with: nft -f FILE (check first with: nft -c -f FILE)\n');
      out.add(`table ${family} ${table} {\n`);
      for (const v of versions) out.add(`\tset ${base}-v${v} { type ipv${v}_addr; flags interval; }\n`);
      out.add('}\n');
      for (const v of versions) out.add(`flush set ${family} ${table} ${base}-v${v}\n`);
      for (const v of versions) {
        const list = elements[v];
        for (let i = 0; i < list.length; i += ELEMENTS_PER_STATEMENT) {
          if (out.add(`add element ${family} ${table} ${base}-v${v} { ${list.slice(i, i + ELEMENTS_PER_STATEMENT).join(', ')} }\n`)) yield out.take();
        }
      }
      out.add(`# count: ipv4 ${elements[4].length} ipv6 ${elements[6].length}\n`);
      const reasons = Object.entries(skipped);
      if (reasons.length > 0) out.add(`# skipped: ${reasons.map(([k, n]) => `${k} ${n}`).join(', ')} (the sets hold addresses only)\n`);
      yield out.take();
    },
  };
}
