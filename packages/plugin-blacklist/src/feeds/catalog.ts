/**
 * A catalog of well-known public blocklist feeds, ready to be enabled from configuration. Nothing
 * here is fetched unless a user enables it: every entry is disabled by default, and several feeds
 * carry their own terms of use (see `license` and `notes` of each entry before enabling one).
 *
 * @module
 */
import type { IndicatorType, SourceCategory } from '../indicators/types.js';

/** A public feed: where it lives, how to parse it, what it lists and under which terms. */
export interface FeedDefinition {
  /** Stable id, used in configuration (`feeds: [spamhaus-drop, ...]`). */
  readonly id: string;
  /** Human-readable name. */
  readonly title: string;
  /** Download URL. */
  readonly url: string;
  /** Parser format (`plain`, `hosts`, `csv`, `tsv`, `drop`, `json`, or a registered custom one). */
  readonly format: string;
  /** Parser options (e.g. `{ startColumn: 0, endColumn: 1 }`). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Indicator types the feed yields. */
  readonly types: readonly IndicatorType[];
  /** What kind of threat it lists. */
  readonly category: SourceCategory;
  /** Licence or terms of use, as stated by the publisher. */
  readonly license: string;
  /** Publisher's page about the feed. */
  readonly homepage?: string;
  /** Suggested refresh interval (TIP duration string); never poll faster than the publisher allows. */
  readonly interval: string;
  /** Caveats: usage limits, attribution, overlaps. */
  readonly notes?: string;
}

/** The built-in feed catalog (all entries disabled by default). */
export const feedCatalog: readonly FeedDefinition[] = Object.freeze([
  {
    id: 'spamhaus-drop',
    title: 'Spamhaus DROP (Don\'t Route Or Peer)',
    url: 'https://www.spamhaus.org/drop/drop.txt',
    format: 'drop',
    types: ['cidr', 'ip'],
    category: 'abuse',
    license: 'Spamhaus DROP terms: free for non-commercial and limited use; commercial use needs a Spamhaus data licence',
    homepage: 'https://www.spamhaus.org/blocklists/do-not-route-or-peer/',
    interval: '12h',
    notes: 'Hijacked and criminal netblocks. Spamhaus asks not to fetch more than once an hour. Also published as JSON lines (drop_v4.json), which the drop format reads as well.',
  },
  {
    id: 'spamhaus-edrop',
    title: 'Spamhaus EDROP (extended DROP)',
    url: 'https://www.spamhaus.org/drop/edrop.txt',
    format: 'drop',
    types: ['cidr', 'ip'],
    category: 'abuse',
    license: 'Spamhaus DROP terms: free for non-commercial and limited use; commercial use needs a Spamhaus data licence',
    homepage: 'https://www.spamhaus.org/blocklists/do-not-route-or-peer/',
    interval: '12h',
    notes: 'Spamhaus merged EDROP into DROP in 2024; edrop.txt may be empty or retired. Keep only one of the two if both carry the same data.',
  },
  {
    id: 'spamhaus-drop-v6',
    title: 'Spamhaus DROPv6',
    url: 'https://www.spamhaus.org/drop/drop_v6.json',
    format: 'drop',
    types: ['cidr', 'ip'],
    category: 'abuse',
    license: 'Spamhaus DROP terms: free for non-commercial and limited use; commercial use needs a Spamhaus data licence',
    homepage: 'https://www.spamhaus.org/blocklists/do-not-route-or-peer/',
    interval: '12h',
  },
  {
    id: 'firehol-level1',
    title: 'FireHOL level 1',
    url: 'https://raw.githubusercontent.com/firehol/blocklist-ipsets/master/firehol_level1.netset',
    format: 'plain',
    types: ['cidr', 'ip'],
    category: 'reputation',
    license: 'Free to use; FireHOL aggregates other lists, some of which have their own licences (check each source site)',
    homepage: 'https://iplists.firehol.org/?ipset=firehol_level1',
    interval: '1h',
    notes: 'Includes bogons/fullbogons (e.g. 0.0.0.0/8, private ranges) besides DShield, Feodo, Spamhaus DROP/EDROP: apply the allow-list before blocking.',
  },
  {
    id: 'feodo-ipblocklist',
    title: 'abuse.ch Feodo Tracker botnet C2 IP blocklist',
    url: 'https://feodotracker.abuse.ch/downloads/ipblocklist.txt',
    format: 'plain',
    types: ['ip'],
    category: 'c2',
    license: 'CC0 1.0 (abuse.ch)',
    homepage: 'https://feodotracker.abuse.ch/blocklist/',
    interval: '1h',
    notes: 'abuse.ch regenerates it every 5 minutes; polling hourly is plenty.',
  },
  {
    id: 'urlhaus-online',
    title: 'abuse.ch URLhaus online malware URLs',
    url: 'https://urlhaus.abuse.ch/downloads/text_online/',
    format: 'plain',
    types: ['url', 'domain', 'ip'],
    category: 'malware',
    license: 'CC0 1.0 (abuse.ch)',
    homepage: 'https://urlhaus.abuse.ch/api/#plaintext',
    interval: '1h',
    notes: 'Each URL also records its host (domain or IP) as an indicator; hosts of shared platforms (e.g. github.com) must be allow-listed.',
  },
  {
    id: 'urlhaus-hostfile',
    title: 'abuse.ch URLhaus hostfile',
    url: 'https://urlhaus.abuse.ch/downloads/hostfile/',
    format: 'hosts',
    types: ['domain'],
    category: 'malware',
    license: 'CC0 1.0 (abuse.ch)',
    homepage: 'https://urlhaus.abuse.ch/api/#hostfile',
    interval: '1h',
  },
  {
    id: 'blocklist-de-all',
    title: 'blocklist.de all attackers',
    url: 'https://lists.blocklist.de/lists/all.txt',
    format: 'plain',
    types: ['ip'],
    category: 'bruteforce',
    license: 'Free of charge (blocklist.de); no formal licence',
    homepage: 'https://www.blocklist.de/en/export.html',
    interval: '1h',
    notes: 'IPs reported for SSH/mail/FTP/web brute force in the last 48 hours.',
  },
  {
    id: 'cins-army',
    title: 'CINS Army list (ci-badguys)',
    url: 'https://cinsscore.com/list/ci-badguys.txt',
    format: 'plain',
    types: ['ip'],
    category: 'scanner',
    license: 'Free to use (Sentinel IPS / Collective Intelligence Network Security); no formal licence',
    homepage: 'https://cinsscore.com/',
    interval: '6h',
  },
  {
    id: 'dshield-block',
    title: 'DShield recommended block list',
    url: 'https://feeds.dshield.org/block.txt',
    format: 'tsv',
    options: { startColumn: 0, endColumn: 1, header: true },
    types: ['cidr'],
    category: 'scanner',
    license: 'CC BY-NC-SA 2.5 (SANS Internet Storm Center / DShield)',
    homepage: 'https://isc.sans.edu/block.html',
    interval: '6h',
    notes: 'Top 20 attacking /24 networks of the last three days; tab-separated start/end/netblock columns after a "Start End Netblock ..." header.',
  },
  {
    id: 'et-compromised',
    title: 'Emerging Threats compromised IPs',
    url: 'https://rules.emergingthreats.net/blockrules/compromised-ips.txt',
    format: 'plain',
    types: ['ip'],
    category: 'compromised',
    license: 'Emerging Threats Open (Proofpoint): free to use, see the ET Open terms',
    homepage: 'https://rules.emergingthreats.net/',
    interval: '12h',
  },
  {
    id: 'openphish-community',
    title: 'OpenPhish community feed',
    url: 'https://openphish.com/feed.txt',
    format: 'plain',
    types: ['url', 'domain', 'ip'],
    category: 'phishing',
    license: 'OpenPhish Community Feed terms: free for non-commercial use; commercial use needs a paid feed',
    homepage: 'https://openphish.com/phishing_feeds.html',
    interval: '12h',
    notes: 'Updated every 12 hours. Many URLs are on shared hosting (weebly.com, github.io, vercel.app): rely on the URL, and allow-list platform domains.',
  },
  {
    id: 'greensnow',
    title: 'GreenSnow blocklist',
    url: 'https://blocklist.greensnow.co/greensnow.txt',
    format: 'plain',
    types: ['ip'],
    category: 'bruteforce',
    license: 'Free to use (GreenSnow); no formal licence',
    homepage: 'https://greensnow.co/',
    interval: '1h',
  },
  {
    id: 'phishing-army',
    title: 'Phishing Army blocklist',
    url: 'https://phishing.army/download/phishing_army_blocklist.txt',
    format: 'plain',
    types: ['domain'],
    category: 'phishing',
    license: 'CC BY-NC 4.0 (Phishing Army): attribution required, non-commercial use only',
    homepage: 'https://phishing.army/',
    interval: '6h',
    notes: 'An extended variant exists at https://phishing.army/download/phishing_army_blocklist_extended.txt.',
  },
] satisfies FeedDefinition[]);

const byId = new Map(feedCatalog.map((f) => [f.id, f]));

/** The catalog entry with this id, or undefined. */
export function catalogFeed(id: string): FeedDefinition | undefined {
  return byId.get(id);
}
