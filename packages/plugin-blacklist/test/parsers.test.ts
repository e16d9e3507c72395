import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { isTipError, TipErrorCodes } from '@tip/core';
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { catalogFeed, feedCatalog } from '../src/feeds/catalog.js';
import type { Indicator } from '../src/indicators/types.js';
import { decodeFeedBody, defaultParsers, newParseStats, parseFeed, ParserRegistry, type FeedParser, type ParserOptions } from '../src/parsers/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string): Buffer => readFileSync(path.join(here, 'fixtures', 'feeds', name));
const registry = ParserRegistry.withDefaults();
const list = (ind: Indicator[]): string[] => ind.map((i) => `${i.type} ${i.value}`);

function expectTipError(fn: () => unknown, code: string, match?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isTipError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    if (match) expect((e as Error).message).toMatch(match);
    return;
  }
  throw new Error(`expected a ${code} error`);
}

describe('plain', () => {
  it('parses a FireHOL-style netset with junk lines', () => {
    const { indicators, stats } = parseFeed(registry, 'plain', fixture('plain-netset.txt'));
    expect(list(indicators)).toEqual([
      'cidr 45.95.146.0/24', 'cidr 45.142.192.0/22', 'ip 89.248.165.12', 'cidr 185.156.73.0/24',
      'ip 193.163.125.7', 'ip 193.163.125.8', 'cidr 62.204.40.0/23', 'ip 91.191.209.17', 'cidr 5.188.206.0/24',
      'cidr 212.70.149.0/24', 'cidr 185.81.68.0/24', 'cidr 193.32.162.0/25', 'cidr 2a01:4f8:1c1c::/48',
      'ip 2a01:4f8:c17::1', 'ip 89.248.163.5', 'cidr 176.111.174.0/24',
    ]);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 36, records: 17, invalid: 7, skipped: 12 });
    expect(stats.samples.map((s) => [s.line, s.reason])).toEqual([
      [21, 'invalid IPv4 address'], [22, 'invalid IPv4 address'], [23, 'invalid IPv4 address'], [24, 'no public suffix'],
      [25, 'invalid IPv4 address'], [31, 'range start is after its end'], [35, 'line longer than 4096 characters'],
    ]);
    expect(stats.samples[6]!.text).toHaveLength(200);
  });

  it('handles a UTF-8 BOM, CRLF, IDNs, defanged values and trailing comments', () => {
    const { indicators, stats } = parseFeed(registry, 'plain', fixture('domains-bom-crlf.txt'));
    expect(list(indicators)).toEqual([
      'domain malware-host-1.com', 'domain login-paypa1.net', 'domain secure-update.co.uk', 'domain wild-card-phish.xyz',
      'domain xn--bcher-login-thb.de', 'domain xn--mnchen-phish-dlb.de', 'domain account-verify.github.io',
      'domain xn--paypal--pgg0a5a0gke.ru', 'domain defanged-host.info', 'url http://defanged-phish.ru/login',
      'domain defanged-phish.ru', 'domain login.microsoftonline.com.secure-check.top',
    ]);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 25, records: 13, invalid: 9, skipped: 3 });
    expect(stats.samples.map((s) => s.text)).toContain('co.uk'); // no stray \r in samples
  });

  it('yields url + host for URL lists and rejects other schemes', () => {
    const { indicators, stats } = parseFeed(registry, 'plain', fixture('urls.txt'));
    expect(list(indicators)).toEqual([
      'url http://45.95.146.22/bins/mips', 'ip 45.95.146.22', 'url http://45.95.146.22/bins/arm7',
      'url https://login-paypa1.net/secure/index.php?acct=1', 'domain login-paypa1.net',
      'url https://verify-account.co.uk/update', 'domain verify-account.co.uk',
      'url http://malware-host-1.com:8080/dl/payload.exe', 'domain malware-host-1.com',
      'url ftp://files.malware-host-2.net/a.zip', 'domain files.malware-host-2.net',
      'url http://[2a01:4f8:c17::1]/x', 'ip 2a01:4f8:c17::1',
      'url https://xn--bcher-login-thb.de/anmelden', 'domain xn--bcher-login-thb.de',
      'url http://apple-id-check.vercel.app:443/', 'domain apple-id-check.vercel.app',
      'url https://someone.github.io/Netflix-Clone', 'domain someone.github.io',
      'url http://dup.malware-host-1.com/a', 'domain dup.malware-host-1.com',
    ]);
    expect({ records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ records: 12, invalid: 7, skipped: 7 });
    expect(stats.samples.map((s) => s.reason)).toEqual([
      'not an IP, CIDR, range, domain or URL', 'not an IP, CIDR, range, domain or URL', 'URL host: localhost is not a domain',
      'invalid URL', 'URL host: unknown public suffix', 'unsupported URL scheme', 'no public suffix',
    ]);
  });

  it('honours types and maxLineLength', () => {
    const { indicators, stats } = parseFeed(registry, 'plain', fixture('urls.txt'), { types: ['domain'], maxLineLength: 50 });
    expect(list(indicators)).toEqual([
      'domain verify-account.co.uk', 'domain malware-host-1.com', 'domain files.malware-host-2.net',
      'domain xn--bcher-login-thb.de', 'domain apple-id-check.vercel.app', 'domain someone.github.io', 'domain dup.malware-host-1.com',
    ]);
    expect(stats.samples.filter((s) => s.reason === 'type url not allowed').length).toBe(3); // the IP-host URLs
    expect(stats.samples.filter((s) => s.reason === 'line longer than 50 characters').map((s) => s.line)).toEqual([1, 2, 3, 4, 5, 6, 10]); // long comment lines too
  });

  it('rejects bad common options naming them', () => {
    expectTipError(() => parseFeed(registry, 'plain', '', { types: ['email' as 'ip'] }), TipErrorCodes.CONFIG_INVALID, /"types"/);
    expectTipError(() => parseFeed(registry, 'plain', '', { maxLineLength: 0 }), TipErrorCodes.CONFIG_INVALID, /"maxLineLength"/);
  });
});

describe('hosts', () => {
  it('takes the names, skipping local entries', () => {
    const { indicators, stats } = parseFeed(registry, 'hosts', fixture('hosts.txt'));
    expect(list(indicators)).toEqual([
      'domain malware-host-1.com', 'domain malware-host-2.net', 'domain malware-host-3.org', 'domain tracker.bad-ads.ru',
      'domain cdn.evil-cdn.com.br', 'domain ipv6-listed-evil.info', 'domain xn--mnchen-phish-dlb.de',
      'domain malware-host-4.com', 'domain trailing-dot.com', 'domain malware-host-5.com',
    ]);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 31, records: 12, invalid: 5, skipped: 15 });
    expect(stats.samples.map((s) => [s.line, s.reason])).toEqual([
      [22, '"_" in a registered domain name'], [23, 'domain is a public suffix (no registrable part; listing it would block every site under it)'], [24, 'unknown public suffix'],
      [25, 'hosts line does not start with an IP address'], [27, 'address without host name'],
    ]);
  });

  it('refuses types without domain', () => {
    expectTipError(() => parseFeed(registry, 'hosts', '', { types: ['ip'] }), TipErrorCodes.CONFIG_INVALID, /"types"/);
  });
});

describe('csv / tsv', () => {
  it('reads DShield block.txt start/end columns into CIDRs', () => {
    const { indicators, stats } = parseFeed(registry, 'tsv', fixture('dshield-block.txt'), { startColumn: 0, endColumn: 1, header: true });
    expect(list(indicators)).toEqual(['cidr 89.248.165.0/24', 'cidr 45.95.146.0/24', 'cidr 185.156.73.0/24', 'cidr 193.163.125.0/25', 'cidr 45.142.192.0/22']);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 34, records: 5, invalid: 3, skipped: 26 });
    expect(stats.samples.map((s) => [s.line, s.reason])).toEqual([[31, 'range start is after its end'], [33, 'invalid range start'], [34, 'missing column 1']]);
    const byName = parseFeed(registry, 'tsv', fixture('dshield-block.txt'), { startColumn: 'start', endColumn: 'End' });
    expect(byName.indicators).toEqual(indicators);
  });

  it('reads a URLhaus CSV dump (quotes, "" escapes, quoted newline, CRLF)', () => {
    const { indicators, stats } = parseFeed(registry, 'csv', fixture('urlhaus-recent.csv'), { column: 2 });
    expect(list(indicators)).toEqual([
      'url http://45.95.146.22/bins/mips', 'ip 45.95.146.22', 'url http://89.248.165.12:8088/i', 'ip 89.248.165.12',
      'url https://malware-host-1.com/dl.php?id=%22quoted%22', 'domain malware-host-1.com',
      'url https://login-paypa1.net/x', 'domain login-paypa1.net', 'url http://malware-host-2.net/a.sh', 'domain malware-host-2.net',
      'url http://193.163.125.7/x86', 'ip 193.163.125.7', 'url https://cdn.evil-cdn.com.br/update.zip', 'domain cdn.evil-cdn.com.br',
      'url http://[2a01:4f8:c17::1]:8080/p', 'ip 2a01:4f8:c17::1', 'url http://unquoted.malware-host-3.org/u', 'domain unquoted.malware-host-3.org',
    ]);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 21, records: 10, invalid: 2, skipped: 8 });
    expect(stats.samples.map((s) => [s.line, s.reason])).toEqual([[13, 'contains whitespace'], [15, 'missing column 2']]);
    expect(stats.samples[1]!.text).toBe('"2876507","2024-07-05 11:20:00"');
  });

  it('selects a column by header name, custom delimiter and comment', () => {
    const text = 'ioc;kind\n"45.95.146.22";ip\n% comment\n"multi\nline";x\nmalware-host-1.com;domain\n"unterminated;x\n89.248.165.12;ip\n';
    const { indicators, stats } = parseFeed(registry, 'csv', text, { column: 'IOC', delimiter: ';', comment: '%' });
    expect(list(indicators)).toEqual(['ip 45.95.146.22', 'domain malware-host-1.com', 'ip 89.248.165.12']);
    expect(stats.samples.map((s) => [s.line, s.reason])).toEqual([[4, 'contains whitespace'], [7, 'unterminated quoted field']]);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 8, records: 3, invalid: 2, skipped: 2 });
  });

  it('names a missing column or bad option', () => {
    expectTipError(() => [...parseFeed(registry, 'csv', 'a,b\n1,2\n', { column: 'ip' }).indicators], TipErrorCodes.CONFIG_INVALID, /"column".*"ip"/);
    expectTipError(() => parseFeed(registry, 'csv', 'a,b\n', {}), TipErrorCodes.CONFIG_INVALID, /"column"/);
    expectTipError(() => parseFeed(registry, 'csv', 'a,b\n', { column: 0, delimiter: '::' }), TipErrorCodes.CONFIG_INVALID, /"delimiter"/);
    expectTipError(() => parseFeed(registry, 'tsv', 'a\tb\n', { startColumn: 0 }), TipErrorCodes.CONFIG_INVALID, /"endColumn"/);
    expectTipError(() => parseFeed(registry, 'csv', 'a,b\n', { column: 'a', header: false }), TipErrorCodes.CONFIG_INVALID, /"header"/);
    expectTipError(() => parseFeed(registry, 'csv', 'a,b\n1,2\n', { column: 5, header: true }), TipErrorCodes.CONFIG_INVALID, /"column"/);
  });
});

describe('drop', () => {
  it('parses DROP text', () => {
    const { indicators, stats } = parseFeed(registry, 'drop', fixture('drop.txt'));
    expect(list(indicators)).toEqual([
      'cidr 45.12.0.0/22', 'cidr 45.134.20.0/22', 'cidr 62.122.184.0/22', 'cidr 77.73.128.0/23', 'cidr 85.209.8.0/23',
      'cidr 89.185.84.0/22', 'cidr 91.200.12.0/22', 'cidr 176.97.210.0/24', 'cidr 185.100.64.0/22', 'cidr 193.8.172.0/24',
      'cidr 2a06:e80::/29', 'ip 193.56.28.5',
    ]);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 22, records: 13, invalid: 3, skipped: 6 });
    expect(stats.samples.map((s) => [s.line, s.reason])).toEqual([[19, 'invalid CIDR'], [20, 'unexpected text before ";"'], [21, 'no public suffix']]);
  });

  it('parses DROP JSON lines and skips the metadata line', () => {
    const { indicators, stats } = parseFeed(registry, 'drop', fixture('drop_v4.json'));
    expect(list(indicators)).toEqual([
      'cidr 45.12.0.0/22', 'cidr 45.134.20.0/22', 'cidr 62.122.184.0/22', 'cidr 77.73.128.0/23', 'cidr 85.209.8.0/23',
      'cidr 89.185.84.0/22', 'cidr 103.77.156.0/22', 'cidr 176.97.210.0/24', 'cidr 185.100.64.0/22', 'cidr 193.8.172.0/24',
      'cidr 196.199.0.0/16', 'cidr 206.71.148.0/22', 'cidr 2a06:e80::/29',
    ]);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 21, records: 14, invalid: 5, skipped: 2 });
    expect(stats.samples.map((s) => s.reason)).toEqual([
      'no public suffix', 'JSON line without a "cidr" string', 'JSON line without a "cidr" string', 'truncated JSON line', 'invalid character in domain',
    ]);
  });
});

describe('json', () => {
  it('selects values with a path', () => {
    const { indicators, stats } = parseFeed(registry, 'json', fixture('feodo-ipblocklist.json'), { path: '[*].ip_address' });
    expect(list(indicators)).toEqual(['ip 45.95.146.22', 'ip 89.248.165.12', 'ip 2a01:4f8:c17::1', 'ip 185.156.73.54']);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 28, records: 5, invalid: 2, skipped: 1 });
    expect(stats.samples).toEqual([
      { line: 3, text: '300.1.1.1', reason: 'invalid IPv4 address' },
      { line: 4, text: '12345', reason: 'selected value is not a string' },
    ]);
    const hosts = parseFeed(registry, 'json', fixture('feodo-ipblocklist.json'), { path: '$[*]["hostname"]' });
    expect(list(hosts.indicators)).toEqual(['domain c2.malware-host-1.com']);
  });

  it('supports nested paths, indexes, object wildcards and JSON lines', () => {
    const doc = JSON.stringify({ data: { a: { ips: ['45.95.146.22', '89.248.165.12'] }, b: { ips: ['185.156.73.54'] } } });
    expect(list(parseFeed(registry, 'json', doc, { path: 'data.*.ips[*]' }).indicators)).toEqual(['ip 45.95.146.22', 'ip 89.248.165.12', 'ip 185.156.73.54']);
    expect(list(parseFeed(registry, 'json', doc, { path: 'data.a.ips[1]' }).indicators)).toEqual(['ip 89.248.165.12']);
    const jsonl = '{"ioc":"malware-host-1.com"}\n# comment\n{"ioc":"45.95.146.22"}\n{broken\n\n{"ioc":["89.248.165.12"]}\n';
    const r = parseFeed(registry, 'json', jsonl, { path: 'ioc', jsonl: true });
    expect(list(r.indicators)).toEqual(['domain malware-host-1.com', 'ip 45.95.146.22']);
    expect(r.stats.samples.map((s) => [s.line, s.reason.split(':')[0]])).toEqual([[4, 'invalid JSON'], [6, 'selected value is not a string']]);
  });

  it('bounds depth and selected values', () => {
    const deep = `${'['.repeat(65)}"45.95.146.22"${']'.repeat(65)}`;
    expect(parseFeed(registry, 'json', deep, { path: '$' }).stats.samples[0]!.reason).toBe('JSON nested deeper than 64');
    const ok = `${'['.repeat(64)}"45.95.146.22"${']'.repeat(64)}`;
    expect(parseFeed(registry, 'json', ok, { path: `$${'[0]'.repeat(64)}` }).indicators).toEqual([{ type: 'ip', value: '45.95.146.22' }]);
    const many = JSON.stringify(Array.from({ length: 50 }, (_, i) => `45.95.146.${i}`));
    const r = parseFeed(registry, 'json', many, { path: '[*]', maxValues: 10 });
    expect(r.indicators).toEqual([]);
    expect(r.stats.samples[0]!.reason).toBe('path selects more than 10 values');
  });

  it('rejects a bad path naming the option', () => {
    expectTipError(() => parseFeed(registry, 'json', '[]', { path: 'a[' }), TipErrorCodes.CONFIG_INVALID, /"path"/);
    expectTipError(() => parseFeed(registry, 'json', '[]', {} as { path: string }), TipErrorCodes.CONFIG_INVALID, /"path"/);
  });
});

describe('registry and parseFeed', () => {
  it('lists the built-in formats and rejects unknown ones', () => {
    expect(registry.formats()).toEqual(['csv', 'drop', 'hosts', 'json', 'plain', 'tsv']);
    expect(defaultParsers().map((p) => p.format)).toHaveLength(6);
    expectTipError(() => parseFeed(registry, 'stix', ''), 'BL_FEED_FORMAT_UNKNOWN', /unknown feed format "stix" \(known: csv, drop, hosts, json, plain, tsv\)/);
  });

  it('accepts a custom parser and refuses duplicates', () => {
    interface PipeOptions extends ParserOptions {
      field: number;
    }
    const pipe: FeedParser<PipeOptions> = {
      format: 'pipe',
      *parse(text, options, stats) {
        for (const line of text.split('\n')) {
          stats.lines++;
          const v = line.split('|')[options.field];
          if (v) {
            stats.records++;
            yield { type: 'domain', value: v };
          }
        }
      },
    };
    const reg = new ParserRegistry(defaultParsers()).register(pipe);
    expect(list(parseFeed(reg, 'pipe', 'x|malware-host-1.com\ny|malware-host-1.com\n', { field: 1 }).indicators)).toEqual(['domain malware-host-1.com']);
    expectTipError(() => reg.register(pipe), TipErrorCodes.DUPLICATE_ID, /"pipe"/);
    expectTipError(() => reg.register({ format: '', parse: () => [] }), TipErrorCodes.CONFIG_INVALID);
  });

  it('parser streams are lazy generators that fill stats', () => {
    const stats = newParseStats();
    const it = registry.get('plain')!.parse('45.95.146.22\n89.248.165.12\n', {}, stats)[Symbol.iterator]();
    expect(stats.lines).toBe(0);
    expect(it.next().value).toEqual({ type: 'ip', value: '45.95.146.22' });
    expect(stats.lines).toBe(1);
  });
});

describe('decodeFeedBody', () => {
  const text = '45.95.146.22\n89.248.165.12\n';

  it('passes plain UTF-8 through and strips a BOM', () => {
    expect(decodeFeedBody(Buffer.from(`\uFEFF${text}`), { maxBytes: 1000 })).toBe(text);
    expect(decodeFeedBody(Buffer.from(`\uFEFF${text}`, 'utf16le'), { maxBytes: 1000 })).toBe(text);
  });

  it('gunzips, and refuses oversize or corrupt gzip naming the source', () => {
    expect(decodeFeedBody(gzipSync(`\uFEFF${text}`), { maxBytes: 1000 })).toBe(text);
    expect(parseFeed(registry, 'plain', gzipSync(text)).indicators).toHaveLength(2);
    expectTipError(() => decodeFeedBody(gzipSync('45.95.146.22\n'.repeat(1000)), { maxBytes: 1000, name: 'feodo' }), TipErrorCodes.HTTP_TOO_LARGE, /feodo/);
    const corrupt = gzipSync(text).subarray(0, 15);
    expectTipError(() => decodeFeedBody(corrupt, { maxBytes: 1000, name: 'feodo' }), TipErrorCodes.HTTP_TRUNCATED, /feodo/);
    expectTipError(() => decodeFeedBody(Buffer.alloc(2000, 0x41), { maxBytes: 1000, name: 'big' }), TipErrorCodes.HTTP_TOO_LARGE, /big/);
  });

  it('unzips the single file, a named entry, or the first file', () => {
    const single = zipSync({ 'list/': new Uint8Array(0), 'list/ips.txt': strToU8(text) });
    expect(decodeFeedBody(single, { maxBytes: 1000 })).toBe(text);
    const two = zipSync({ 'readme.txt': strToU8('read me'), 'ips.txt': strToU8(text) });
    expect(decodeFeedBody(two, { maxBytes: 1000 })).toBe('read me');
    expect(decodeFeedBody(two, { maxBytes: 1000, entry: 'ips.txt' })).toBe(text);
    expectTipError(() => decodeFeedBody(two, { maxBytes: 1000, entry: 'nope.txt', name: 'z' }), TipErrorCodes.CONFIG_INVALID, /nope\.txt/);
  });

  it('refuses zip entries over the limit or with an absurd compression ratio (bomb)', () => {
    const big = zipSync({ 'ips.txt': strToU8('45.95.146.22\n'.repeat(200)) });
    expectTipError(() => decodeFeedBody(big, { maxBytes: 1000, name: 'zipfeed' }), TipErrorCodes.HTTP_TOO_LARGE, /zipfeed.*ips\.txt/);
    const bomb = zipSync({ 'bomb.txt': new Uint8Array(10 * 1024 * 1024) }, { level: 9 });
    expect(bomb.length).toBeLessThan(100_000);
    expectTipError(() => decodeFeedBody(bomb, { maxBytes: 64 * 1024 * 1024, name: 'zipfeed' }), TipErrorCodes.HTTP_TOO_LARGE, /bomb\.txt.*zip bomb/);
    expectTipError(() => decodeFeedBody(Buffer.from('PK\x03\x04garbage'), { maxBytes: 1000, name: 'zipfeed' }), TipErrorCodes.HTTP_TRUNCATED, /zipfeed/);
  });
});

describe('feed catalog', () => {
  it('uses known formats with valid options and unique ids', () => {
    expect(new Set(feedCatalog.map((f) => f.id)).size).toBe(feedCatalog.length);
    for (const feed of feedCatalog) {
      expect(registry.has(feed.format), feed.id).toBe(true);
      expect(() => parseFeed(registry, feed.format, '', { ...feed.options, types: [...feed.types] }), feed.id).not.toThrow();
      expect(feed.url, feed.id).toMatch(/^https:\/\//);
      expect(feed.license.length, feed.id).toBeGreaterThan(3);
      expect(feed.interval, feed.id).toMatch(/^\d+[mhd]$/);
    }
    expect(catalogFeed('dshield-block')?.format).toBe('tsv');
    expect(catalogFeed('nope')).toBeUndefined();
  });

  it('the DShield entry parses the DShield fixture', () => {
    const feed = catalogFeed('dshield-block')!;
    expect(parseFeed(registry, feed.format, fixture('dshield-block.txt'), feed.options).indicators).toHaveLength(5);
  });
});
