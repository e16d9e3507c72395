import { existsSync, readFileSync } from 'node:fs';
import { configError } from './helpers.js';
import { getDomain } from 'tldts';
import { describe, expect, it } from 'vitest';
import { Allowlist, POPULAR_DOMAINS_FILE, RESERVED_IPV4, RESERVED_IPV6, loadDomainList, parseMispWarninglist } from '../src/allowlists/index.js';
import type { IndicatorType } from '../src/indicators/types.js';

const builtIn = Allowlist.builtIn();
const listOf = (type: IndicatorType, value: string, allow: Allowlist = builtIn): string | null => allow.match({ type, value })?.list ?? null;


describe('built-in special-purpose blocks', () => {
  it.each([
    ['0.0.0.0', 'rfc1122'],
    ['0.255.255.255', 'rfc1122'],
    ['10.0.0.0', 'rfc1918'],
    ['10.255.255.255', 'rfc1918'],
    ['172.16.0.0', 'rfc1918'],
    ['172.31.255.255', 'rfc1918'],
    ['192.168.255.255', 'rfc1918'],
    ['100.64.0.0', 'rfc6598'],
    ['100.127.255.255', 'rfc6598'],
    ['127.0.0.1', 'rfc1122'],
    ['169.254.169.254', 'rfc3927'],
    ['192.0.0.8', 'rfc6890'],
    ['192.0.2.255', 'rfc5737'],
    ['198.51.100.0', 'rfc5737'],
    ['203.0.113.7', 'rfc5737'],
    ['198.18.0.0', 'rfc2544'],
    ['198.19.255.255', 'rfc2544'],
    ['224.0.0.1', 'rfc5771'],
    ['239.255.255.255', 'rfc5771'],
    ['240.0.0.1', 'rfc1112'],
    ['255.255.255.254', 'rfc1112'],
    ['255.255.255.255', 'rfc919'],
    ['::', 'rfc4291'],
    ['::1', 'rfc4291'],
    ['64:ff9b::102:304', 'rfc6052'],
    ['100::1', 'rfc6666'],
    ['2001:2::1', 'rfc5180'],
    ['2001:db8::', 'rfc3849'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'rfc3849'],
    ['3fff::1', 'rfc9637'],
    ['fc00::', 'rfc4193'],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'rfc4193'],
    ['fe80::1', 'rfc4291'],
    ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'rfc4291'],
    ['ff02::1', 'rfc4291'],
  ])('%s is allow-listed as %s', (ip, list) => {
    const m = builtIn.match({ type: 'ip', value: ip });
    expect(m?.list).toBe(list);
    expect(m?.reason).toContain(`RFC ${list.slice(3)}`);
  });

  it.each([
    '9.255.255.255', '11.0.0.0', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '1.1.1.1', '8.8.8.8',
    '198.17.255.255', '198.20.0.0', '223.255.255.255', '192.0.1.255', '2001:4860:4860::8888', '::2', 'fec0::1',
    'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::', '2002:c000:201::1',
  ])('%s is not allow-listed', (ip) => {
    expect(listOf('ip', ip)).toBeNull();
  });

  it('reports the most specific block and its CIDR', () => {
    expect(builtIn.match({ type: 'ip', value: '255.255.255.255' })).toEqual({
      list: 'rfc919',
      reason: '255.255.255.255/32 is limited broadcast (RFC 919)',
      entry: '255.255.255.255/32',
    });
  });

  it('matches a CIDR that intersects a block by default, only a contained one with cidrMatch contains', () => {
    const contains = Allowlist.builtIn({ cidrMatch: 'contains', popularDomains: false });
    expect(listOf('cidr', '10.0.0.0/7')).toBe('rfc1918'); // 10.0.0.0-11.255.255.255
    expect(listOf('cidr', '10.0.0.0/7', contains)).toBeNull();
    expect(listOf('cidr', '8.0.0.0/6')).toBe('rfc1918');
    expect(listOf('cidr', '10.20.0.0/16', contains)).toBe('rfc1918');
    expect(listOf('cidr', '2001:db8:1::/48', contains)).toBe('rfc3849');
    expect(listOf('cidr', '2001:d00::/24')).toBe('rfc3849');
    expect(listOf('cidr', '44.0.0.0/8')).toBeNull();
    expect(listOf('cidr', '2001:4860::/32')).toBeNull();
    // An ip indicator is always tested for containment.
    expect(listOf('ip', '11.0.0.1')).toBeNull();
  });

  it('covers every block of the MISP special-use warninglists', { skip: !existsSync('/work/shared/corpus/allowlists/misp-warninglists') }, () => {
    const contains = Allowlist.builtIn({ cidrMatch: 'contains', popularDomains: false });
    for (const name of ['rfc1918', 'rfc5735', 'rfc6598', 'multicast', 'ipv6-linklocal']) {
      const list = parseMispWarninglist(readFileSync(`/work/shared/corpus/allowlists/misp-warninglists/${name}/list.json`, 'utf8'));
      for (const cidr of list.entries) expect(listOf('cidr', cidr, contains), `${name} ${cidr}`).not.toBeNull();
    }
  });

  it('has well-formed block tables', () => {
    for (const b of [...RESERVED_IPV4, ...RESERVED_IPV6]) {
      expect(b.list).toMatch(/^rfc\d+$/);
      expect(b.reason).toContain(b.cidr);
    }
  });
});

describe('popular domains', () => {
  it('ships 300-550 distinct registrable domains', () => {
    const domains = loadDomainList();
    expect(domains.length).toBeGreaterThanOrEqual(300);
    expect(domains.length).toBeLessThanOrEqual(550);
    expect(new Set(domains).size).toBe(domains.length);
    for (const d of domains) expect(getDomain(d, { allowPrivateDomains: true }), d).toBe(d);
    const header = readFileSync(POPULAR_DOMAINS_FILE, 'utf8').split('\n').filter((l) => l.startsWith('#')).join('\n');
    expect(header).toMatch(/hand-curated/i);
    expect(header).toContain('NOT a ranking');
  });

  it('matches a domain, its subdomains and URL hosts', () => {
    expect(builtIn.match({ type: 'domain', value: 'google.com' })).toEqual({
      list: 'popular-domains',
      reason: 'widely used domain (hand-curated allow-list)',
      entry: 'google.com',
    });
    expect(listOf('domain', 'www.google.com')).toBe('popular-domains');
    expect(listOf('domain', 'a.b.c.wikipedia.org')).toBe('popular-domains');
    expect(listOf('domain', 'news.bbc.co.uk')).toBe('popular-domains');
    expect(listOf('url', 'https://login.microsoftonline.com/common/oauth2')).toBe('popular-domains');
    expect(listOf('url', 'http://user@github.com:8080/x?y=1')).toBe('popular-domains');
  });

  it('does not match look-alikes, parents or excluded hosting domains', () => {
    for (const d of ['google.com.evil.xyz', 'notgoogle.com', 'googlecom.net', 'com', 'co.uk', 'evil.blogspot.com', 'x.duckdns.org', 'raw.githubusercontent.com']) {
      expect(listOf('domain', d), d).toBeNull();
    }
    expect(listOf('url', 'http://evil.xyz/google.com')).toBeNull();
  });

  it('matches URLs with an IP host against the address blocks', () => {
    expect(listOf('url', 'http://10.0.0.1:8080/admin')).toBe('rfc1918');
    expect(listOf('url', 'http://[2001:db8::1]/x')).toBe('rfc3849');
    expect(listOf('url', 'http://45.1.1.1/x')).toBeNull();
  });

  it('can be disabled or replaced', () => {
    expect(listOf('domain', 'google.com', Allowlist.builtIn({ popularDomains: false }))).toBeNull();
    expect(listOf('ip', '10.0.0.1', Allowlist.builtIn({ reserved: false }))).toBeNull();
    expect(configError(() => Allowlist.builtIn({ popularDomainsFile: '/nonexistent/list.txt' })).option).toBe('popularDomainsFile');
  });
});

describe('user allow-lists', () => {
  it('classifies plain entries as ranges, URLs or hosts', () => {
    const allow = new Allowlist();
    allow.add({ name: 'corp', reason: 'our own infrastructure', entries: ['203.0.114.0/24', '198.51.99.9', ' Example.ORG. ', 'https://example.net/login', '# comment', '', 'bücher.de'] });
    expect(allow.match({ type: 'ip', value: '203.0.114.5' })).toEqual({ list: 'corp', reason: 'our own infrastructure' });
    expect(listOf('ip', '198.51.99.9', allow)).toBe('corp');
    expect(listOf('cidr', '203.0.0.0/16', allow)).toBe('corp');
    expect(listOf('domain', 'shop.example.org', allow)).toBe('corp');
    expect(allow.match({ type: 'url', value: 'https://example.net/login' })?.entry).toBe('https://example.net/login');
    expect(listOf('url', 'https://example.net/other', allow)).toBeNull();
    expect(listOf('domain', 'xn--bcher-kva.de', allow)).toBe('corp');
    expect(listOf('ip', '203.0.115.1', allow)).toBeNull();
    expect(allow.lists).toEqual(['corp']);
  });

  it('lets the list added first win', () => {
    const allow = Allowlist.builtIn();
    allow.add({ name: 'mine', type: 'cidr', entries: ['10.0.0.0/8', '45.0.0.0/8'] });
    allow.add({ name: 'later', type: 'hostname', entries: ['www.google.com'] });
    expect(listOf('ip', '10.1.1.1', allow)).toBe('rfc1918');
    expect(listOf('ip', '45.1.1.1', allow)).toBe('mine');
    expect(listOf('domain', 'www.google.com', allow)).toBe('popular-domains');
    expect(allow.lists).toEqual(['reserved', 'popular-domains', 'mine', 'later']);
  });

  it('rejects malformed lists, naming the option', () => {
    const allow = new Allowlist();
    expect(configError(() => allow.add({ name: '', entries: [] })).option).toBe('name');
    expect(configError(() => allow.add({ name: 'x', type: 'regex' as 'cidr', entries: [] })).option).toBe('type');
    expect(configError(() => allow.add({ name: 'x', type: 'cidr', entries: ['10.0.0.0/8', 'nope'] }))).toEqual({ option: 'entries[1]', value: 'nope' });
    expect(configError(() => allow.add({ name: 'x', type: 'hostname', entries: ['bad host'] })).option).toBe('entries[0]');
    expect(configError(() => new Allowlist({ cidrMatch: 'overlaps' as 'contains' })).option).toBe('cidrMatch');
  });
});

describe('MISP warninglists', () => {
  const warninglist = { name: 'Hosting', description: 'Known hosting', type: 'hostname', list: ['example.com', 'blogspot.com'], version: 1 };

  it('loads hostname lists with PSL-aware subdomain matching', () => {
    const allow = Allowlist.fromMispWarninglist(warninglist);
    expect(allow.match({ type: 'domain', value: 'www.example.com' })).toEqual({ list: 'Hosting', reason: 'Known hosting', entry: 'example.com' });
    expect(listOf('domain', 'blogspot.com', allow)).toBe('Hosting');
    expect(listOf('domain', 'evil.blogspot.com', allow)).toBeNull(); // its own registrable domain (PSL private section)
    expect(listOf('url', 'https://a.example.com/x', allow)).toBe('Hosting');
  });

  it('loads string, substring and cidr lists, from JSON text too', () => {
    const strings = Allowlist.fromMispWarninglist(JSON.stringify({ name: 's', type: 'string', list: ['Exact.Example', '192.0.2.10'] }), { name: 'strings' });
    expect(listOf('domain', 'exact.example', strings)).toBe('strings');
    expect(listOf('domain', 'sub.exact.example', strings)).toBeNull();
    expect(listOf('url', 'http://exact.example/path', strings)).toBe('strings'); // by host
    expect(listOf('ip', '192.0.2.10', strings)).toBe('strings');
    const subs = Allowlist.fromMispWarninglist({ name: 'sub', type: 'substring', list: ['trusted'] });
    expect(listOf('url', 'https://x.example/TRUSTED/file', subs)).toBe('sub');
    expect(listOf('domain', 'trustedcdn.example', subs)).toBe('sub');
    const cidrs = Allowlist.fromMispWarninglist({ name: 'c', type: 'cidr', list: ['FE80::/10', '9.9.9.9'] });
    expect(listOf('ip', 'fe80::1', cidrs)).toBe('c');
    expect(listOf('ip', '9.9.9.9', cidrs)).toBe('c');
  });

  it('rejects what is not a supported warninglist', () => {
    expect(configError(() => parseMispWarninglist('{nope')).option).toBe('json');
    expect(configError(() => parseMispWarninglist([])).option).toBe('json');
    expect(configError(() => parseMispWarninglist({ name: 'r', type: 'regex', list: [] })).option).toBe('type');
    expect(configError(() => parseMispWarninglist({ name: 'r', type: 'cidr', list: 'x' })).option).toBe('list');
    expect(configError(() => parseMispWarninglist({ type: 'cidr', list: [] })).option).toBe('name');
  });

  const dir = '/work/shared/corpus/allowlists/misp-warninglists';
  describe.skipIf(!existsSync(dir))('corpus (MISP/misp-warninglists)', () => {
    it('loads tranco10k and public-dns-v4 (62k addresses) fast and matches them', () => {
      const t0 = performance.now();
      const allow = Allowlist.builtIn();
      allow.add(parseMispWarninglist(readFileSync(`${dir}/tranco10k/list.json`, 'utf8'), { name: 'tranco10k' }));
      allow.add(parseMispWarninglist(readFileSync(`${dir}/public-dns-v4/list.json`, 'utf8'), { name: 'public-dns-v4' }));
      const ms = performance.now() - t0;
      console.log(`built-in + tranco10k + public-dns-v4 loaded in ${ms.toFixed(0)} ms`);
      expect(ms).toBeLessThan(3000);

      expect(listOf('ip', '1.0.0.1', allow)).toBe('public-dns-v4');
      expect(listOf('ip', '8.8.8.8', allow)).toBe('public-dns-v4');
      expect(listOf('ip', '1.0.0.4', allow)).toBeNull();
      expect(listOf('cidr', '1.0.0.0/24', allow)).toBe('public-dns-v4'); // intersects 1.0.0.1
      expect(listOf('domain', 'www.wikipedia.org', allow)).toBe('popular-domains'); // added first
      expect(listOf('domain', '037hdmovie.com', allow)).toBe('tranco10k');
      expect(listOf('domain', 'cdn.037hdmovie.com', allow)).toBe('tranco10k');
      expect(listOf('domain', 'duckdns.org', allow)).toBe('tranco10k');
      expect(listOf('domain', 'attacker.duckdns.org', allow)).toBeNull(); // duckdns.org is a PSL private suffix
      expect(listOf('domain', 'surely-not-popular-tip-test.xyz', allow)).toBeNull();

      const t1 = performance.now();
      for (let i = 0; i < 20_000; i++) allow.match({ type: 'ip', value: `45.${i >> 8}.${i & 255}.1` });
      for (let i = 0; i < 20_000; i++) allow.match({ type: 'domain', value: `host${i}.example${i % 100}.com` });
      console.log(`40k matches in ${(performance.now() - t1).toFixed(0)} ms`);
    });
  });
});
