/**
 * Parses every real blocklist of the shared corpus (`<repo>/../shared/corpus/blocklists`, see its
 * SOURCES.md) with the right format and checks the counts the publishers state. Skipped, with a
 * message, when the corpus is not present.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Indicator } from '../src/indicators/types.js';
import { parseFeed, ParserRegistry, type ParseFeedResult } from '../src/parsers/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');
const dir = path.join(path.resolve(repoRoot, '..', 'shared'), 'corpus', 'blocklists');
const present = existsSync(dir);
if (!present) console.warn(`corpus-parsers: skipped, the shared corpus is not at ${dir}`);

const registry = ParserRegistry.withDefaults();

function walk(d: string): string[] {
  return readdirSync(d)
    .sort()
    .flatMap((f) => (statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [path.join(d, f)]));
}

/** The format (and options) each corpus file is published in. */
function formatOf(rel: string): { format: string; options: Record<string, unknown> } {
  if (rel.startsWith('ip/')) return { format: 'plain', options: {} }; // FireHOL ipset/netset
  if (rel.endsWith('.hosts') || rel.endsWith('-hosts.txt')) return { format: 'hosts', options: {} };
  if (rel.endsWith('.csv')) return { format: 'csv', options: { column: 'host' } };
  return { format: 'plain', options: {} };
}

function parse(rel: string): ParseFeedResult {
  const { format, options } = formatOf(rel);
  return parseFeed(registry, format, readFileSync(path.join(dir, rel)), options);
}

function count(ind: Indicator[], type: string): number {
  return ind.filter((i) => i.type === type).length;
}

/** Addresses covered by the IPv4 ip/cidr indicators (FireHOL sets never overlap, so a plain sum). */
function addresses(ind: Indicator[]): number {
  let n = 0;
  for (const i of ind) {
    if (i.value.includes(':')) continue;
    if (i.type === 'ip') n += 1;
    else if (i.type === 'cidr') n += 2 ** (32 - Number(i.value.split('/')[1]));
  }
  return n;
}

/** Entries stated by SOURCES.md (= the files' `# Entries` headers): [subnets or IPs, unique IPs]. */
const FIREHOL: Record<string, [number, number]> = {
  'ip/blocklist_de.ipset': [23723, 23723],
  'ip/ciarmy.ipset': [15000, 15000],
  'ip/dshield.netset': [19, 5120],
  'ip/et_block.netset': [1008, 15426835],
  'ip/et_compromised.ipset': [581, 581],
  'ip/firehol_level1.netset': [1947, 612378368],
  'ip/firehol_level2.netset': [18107, 32049],
  'ip/greensnow.ipset': [7282, 7282],
  'ip/spamhaus_drop.netset': [972, 15421952],
  'ip/spamhaus_edrop.netset': [283, 637184],
  'ip/history/blocklist_de.ipset@2022-01-24': [22474, 22474],
  'ip/history/blocklist_de.ipset@2023-03-23': [19008, 19008],
  'ip/history/dshield.netset@2022-01-24': [19, 5120],
  'ip/history/spamhaus_drop.netset@2022-01-19': [986, 20144640],
  'ip/history/spamhaus_drop.netset@2023-03-22': [922, 16416768],
};

describe.skipIf(!present)('shared corpus blocklists', () => {
  const files = present ? walk(dir).map((f) => path.relative(dir, f).split(path.sep).join('/')) : [];

  it('knows every file of the corpus', () => {
    const ipFiles = files.filter((f) => f.startsWith('ip/'));
    expect(ipFiles.sort()).toEqual(Object.keys(FIREHOL).sort());
    expect(files.length).toBe(ipFiles.length + 6);
  });

  it('blocklist_de.ipset yields 23723 unique IPs', () => {
    const { indicators, stats } = parse('ip/blocklist_de.ipset');
    expect(indicators).toHaveLength(23723);
    expect(count(indicators, 'ip')).toBe(23723);
    expect(stats.invalid).toBe(0);
  });

  it.each(Object.entries(FIREHOL))('%s matches its header counts', (rel, [entries, unique]) => {
    const { indicators, stats } = parse(rel);
    const header = /# Entries\s*:\s*(\d+) (subnets|unique IPs)(?:, (\d+) unique IPs)?/.exec(readFileSync(path.join(dir, rel), 'utf8'));
    expect(header, 'Entries header').not.toBeNull();
    expect(Number(header![1])).toBe(entries);
    expect(indicators).toHaveLength(entries);
    expect(addresses(indicators)).toBe(unique);
    expect(stats.invalid).toBe(0);
    expect(stats.records).toBe(entries);
    if (rel.endsWith('.ipset')) expect(count(indicators, 'ip')).toBe(entries);
  });

  it.each(['domains/badd-boyz.hosts', 'domains/fademind-add.Risk.hosts', 'domains/urlhaus-filter-hosts.txt'])('%s parses as hosts with a small invalid share', (rel) => {
    const { indicators, stats } = parse(rel);
    expect(indicators.every((i) => i.type === 'domain')).toBe(true);
    expect(indicators.length).toBeGreaterThan(1000);
    expect(stats.invalid / (stats.records + stats.invalid)).toBeLessThan(0.01);
    expect(indicators.some((i) => i.value === 'localhost')).toBe(false);
    console.info(`${rel}: ${indicators.length} domains, ${stats.invalid} invalid, ${stats.skipped} skipped`);
  });

  it('badd-boyz.hosts: localhost entries are skipped, not invalid', () => {
    const { indicators, stats } = parse('domains/badd-boyz.hosts');
    expect(indicators).toHaveLength(1384);
    expect(stats.invalid).toBe(0);
  });

  it('openphish domain list parses as plain with a small invalid share', () => {
    const { indicators, stats } = parse('domains/openphish-domains.first20k.txt');
    expect(stats.lines).toBe(20000);
    expect(count(indicators, 'domain')).toBe(indicators.length);
    expect(indicators.length).toBeGreaterThan(19900);
    // only DNS record names (_dmarc.…, default._bimi.…) and a bare public suffix (dweb.link) are rejected
    expect(stats.invalid).toBeLessThan(10);
    console.info(`openphish-domains: ${indicators.length} domains, ${stats.invalid} invalid`);
  });

  it('OpenPhish URL feed yields url + host indicators', () => {
    const { indicators, stats } = parse('urls/openphish-urls-2024-07-05.txt');
    expect(count(indicators, 'url')).toBe(500);
    const hosts = new Set(indicators.filter((i) => i.type !== 'url').map((i) => i.value));
    for (const u of indicators.filter((i) => i.type === 'url')) {
      const host = new URL(u.value).hostname.replace(/^\[|\]$/g, '');
      expect(hosts.has(host), u.value).toBe(true);
    }
    expect(stats.invalid).toBe(0);
    console.info(`openphish-urls: ${count(indicators, 'url')} urls, ${count(indicators, 'domain')} domains, ${count(indicators, 'ip')} ips`);
  });

  it('URLhaus splunk CSV yields hosts from the "host" column', () => {
    const { indicators, stats } = parse('urls/urlhaus-filter-splunk-online.csv');
    expect(stats.records).toBe(6363);
    expect(stats.invalid).toBe(0);
    expect(count(indicators, 'ip') + count(indicators, 'domain')).toBe(indicators.length);
    console.info(`urlhaus-splunk: ${count(indicators, 'domain')} domains, ${count(indicators, 'ip')} ips from ${stats.records} rows`);
  });
});
