import { execFileSync } from 'node:child_process';
import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isTipError } from '@tip/core';
import { Allowlist } from '../src/allowlists/index.js';
import { canonicalize } from '../src/indicators/canonical.js';
import { explainTarget } from '../src/service/explain.js';
import { coveringCidrs, parentDomains } from '../src/service/lookup.js';
import { computeWeight, weightBreakdown, type SourceMetrics } from '../src/weighting/index.js';

const hasIprange = (() => {
  try {
    execFileSync('iprange', [], { input: '1.1.1.1\n', stdio: ['pipe', 'ignore', 'ignore'] });
    return true;
  } catch {
    return false;
  }
})();

if (!hasIprange) console.warn('iprange not installed: coveringCidrs (IPv4) is checked against node:net only');

describe('coveringCidrs', () => {
  it.skipIf(!hasIprange)('gives, for every shorter prefix, the network iprange computes for it (IPv4)', () => {
    for (const ip of ['45.95.146.7', '255.255.255.255', '0.0.0.1', '10.128.64.32']) {
      const got = coveringCidrs(ip);
      expect(got).toHaveLength(31);
      for (let p = 31; p >= 1; p--) {
        // iprange reads `ip/p` as the network of that prefix (its default --fix-network)
        const ref = execFileSync('iprange', [], { input: `${ip}/${p}\n` }).toString().trim();
        expect(got[31 - p], `${ip}/${p}`).toBe(ref);
      }
    }
    // a CIDR: its strictly shorter prefixes
    expect(coveringCidrs('45.95.146.0/24')).toEqual(coveringCidrs('45.95.146.7').slice(8));
  });

  it('gives canonical covering IPv6 prefixes (checked with node:net BlockList)', () => {
    for (const ip of ['2a00:1450:4001:81c::200e', '2001:db8::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
      const got = coveringCidrs(ip);
      expect(got).toHaveLength(127);
      for (const c of got) {
        const [net, prefix] = c.split('/') as [string, string];
        expect(canonicalize(c)).toEqual({ ok: true, indicators: [{ type: 'cidr', value: c }] });
        const list = new BlockList();
        list.addSubnet(net, Number(prefix), 'ipv6');
        expect(list.check(ip, 'ipv6'), c).toBe(true);
      }
    }
    for (const ip of ['45.95.146.7', '10.0.0.0']) {
      for (const c of coveringCidrs(ip)) {
        expect(canonicalize(c)).toEqual({ ok: true, indicators: [{ type: 'cidr', value: c }] });
        const [net, prefix] = c.split('/') as [string, string];
        const one = new BlockList();
        one.addSubnet(net, Number(prefix), 'ipv4');
        expect(one.check(ip, 'ipv4'), c).toBe(true);
      }
    }
    expect(coveringCidrs('evil.com')).toEqual([]);
    expect(coveringCidrs('1.2.3.4/1')).toEqual([]);
  });
});

describe('parentDomains', () => {
  it('lists every proper suffix of two labels or more, closest first', () => {
    expect(parentDomains('a.b.evil.com')).toEqual(['b.evil.com', 'evil.com']);
    expect(parentDomains('evil.com')).toEqual([]);
    expect(parentDomains('x.evil.co.uk')).toEqual(['evil.co.uk', 'co.uk']);
    const deep = `${'a.'.repeat(120)}com`;
    expect(parentDomains(deep)).toHaveLength(119);
  });
});

describe('explainTarget', () => {
  it('canonicalises, keeps a URL as the URL, refuses several blocks and non-indicators naming the value', () => {
    expect(explainTarget(' HXXPS://Evil[.]COM/a#frag ')).toMatchObject({ indicator: { type: 'url', value: 'https://evil.com/a' } });
    expect(explainTarget('10.0.0.0-10.0.0.255').indicator).toEqual({ type: 'cidr', value: '10.0.0.0/24' });
    expect(explainTarget({ type: 'cidr', value: '10.0.0.7/24' }).indicator).toEqual({ type: 'cidr', value: '10.0.0.0/24' });
    const bad = (v: unknown) => {
      try {
        explainTarget(v as string);
      } catch (e) {
        if (isTipError(e, 'TIP_INPUT_INVALID')) return e;
        throw e;
      }
      throw new Error('expected TIP_INPUT_INVALID');
    };
    expect(bad('1.2.3.4:80').message).toBe('value: "1.2.3.4:80" is not an indicator: host:port is not an indicator');
    expect(bad('a'.repeat(5000)).details.input).toHaveLength(201);
    expect(bad(null).message).toContain('expected a string or an indicator');
    expect(bad({ type: 'ip' }).message).toContain('expected a string or an indicator');
  });
});

describe('weightBreakdown', () => {
  const base: Omit<SourceMetrics, 'weight'> = {
    source: 's', volume: 10, overlap: {}, overlapExact: {}, differential: {}, exclusive: 0.4, latencyMedianMs: 3_600_000, latencyMeanMs: null,
    persistenceMedianMs: 7 * 86_400_000, churn: 0.1, falsePositiveRate: 0.1, availability: 0.9, freshnessMs: 7_200_000,
    addresses: { ipv4: null, ipv6: null },
  };
  it('reproduces computeWeight from its terms, whatever the parameters', () => {
    const variants: Array<[Omit<SourceMetrics, 'weight'>, Parameters<typeof computeWeight>[1], number]> = [
      [base, undefined, 0],
      [base, undefined, 3_600_000],
      [{ ...base, latencyMedianMs: null, availability: null }, { weights: { exclusive: 3, fpr: 1 } }, 0],
      [{ ...base, falsePositiveRate: 0.5 }, { weights: { latency: 0, freshness: 0 }, persistenceRefMs: 86_400_000 }, 0],
      [{ ...base, latencyMedianMs: null, availability: null, freshnessMs: null, persistenceMedianMs: null }, { weights: { exclusive: 0 } }, 0],
    ];
    for (const [m, formula, interval] of variants) {
      const b = weightBreakdown(m, formula, interval);
      expect(b.weight).toBe(computeWeight(m, formula, interval));
      expect(b.fprFactor * b.mean).toBeCloseTo(b.weight, 12);
      const counted = b.terms.filter((t) => t.counted);
      expect(counted.reduce((s, t) => s + t.contribution, 0)).toBeCloseTo(counted.length ? b.mean : 0, 12);
      for (const t of b.terms) expect(t.counted).toBe(t.value !== null && t.weight > 0);
    }
    // all terms unknown or unweighted: mean 1, the weight is the FPR factor
    const none = weightBreakdown(variants[4]![0], variants[4]![1]);
    expect(none.mean).toBe(1);
    expect(none.weight).toBeCloseTo((1 - 0.1) ** 2, 12);
    expect(weightBreakdown(base).terms.find((t) => t.term === 'exclusive')).toMatchObject({ value: 0.4, weight: 1, counted: true });
    expect(weightBreakdown(base).fprFactor).toBeCloseTo(0.81, 12);
  });
  it('reports an empty source (weight 0) and a custom function (no terms)', () => {
    expect(weightBreakdown({ ...base, volume: 0 })).toMatchObject({ emptyVolume: true, weight: 0 });
    const custom = weightBreakdown(base, (m) => m.exclusive * 2);
    expect(custom).toMatchObject({ formula: 'custom', terms: [], weight: 0.8 });
  });
});

describe('allow-list reasons of ranges wider than one special-purpose block', () => {
  const intersects = Allowlist.builtIn({ popularDomains: false });
  const contains = Allowlist.builtIn({ popularDomains: false, cidrMatch: 'contains' });
  it('224.0.0.0/3 is explained by multicast and class E, not by the broadcast address', () => {
    for (const allow of [intersects, contains]) {
      const m = allow.match({ type: 'cidr', value: '224.0.0.0/3' })!;
      expect(m.reason).not.toContain('broadcast');
      expect(m).toEqual({
        list: 'rfc5771',
        entry: '224.0.0.0/4',
        reason: '224.0.0.0/3 lies within special-purpose blocks: 224.0.0.0/4 is multicast (RFC 5771); 240.0.0.0/4 is reserved for future use (former class E) (RFC 1112)',
      });
    }
  });
  it('a contained value keeps its most specific block; a partial overlap says so, naming the outermost blocks', () => {
    expect(intersects.match({ type: 'ip', value: '255.255.255.255' })?.reason).toBe('255.255.255.255/32 is limited broadcast (RFC 919)');
    expect(intersects.match({ type: 'cidr', value: '240.0.0.0/4' })?.reason).toBe('240.0.0.0/4 is reserved for future use (former class E) (RFC 1112)');
    expect(intersects.match({ type: 'cidr', value: '10.0.0.0/7' })).toEqual({ list: 'rfc1918', entry: '10.0.0.0/8', reason: '10.0.0.0/7 overlaps special-purpose space: 10.0.0.0/8 is private-use address space (RFC 1918)' });
    // 192.0.0.0/8 overlaps seven blocks: the largest overlap (192.168.0.0/16) first, four named
    const wide = intersects.match({ type: 'cidr', value: '192.0.0.0/8' })!;
    expect(wide).toMatchObject({ list: 'rfc1918', entry: '192.168.0.0/16' });
    expect(wide.reason).toMatch(/^192\.0\.0\.0\/8 overlaps special-purpose space: 192\.168\.0\.0\/16 is private-use address space \(RFC 1918\); 192\.0\.0\.0\/24 .* and 3 more$/);
    // IPv6: fc00::/6 overlaps unique-local, link-local and multicast (not within them: fe00::/9 is not special)
    expect(intersects.match({ type: 'cidr', value: 'fc00::/6' })?.reason).toBe(
      'fc00::/6 overlaps special-purpose space: fc00::/7 is unique-local (RFC 4193); fe80::/10 is link-local unicast (RFC 4291); ff00::/8 is multicast (RFC 4291)',
    );
    expect(contains.match({ type: 'cidr', value: 'fc00::/6' })).toBeNull();
    // a user range list keeps its own reason
    const user = new Allowlist();
    user.add({ name: 'corp', reason: 'our networks', entries: ['203.0.114.0/24', '203.0.115.0/24'] });
    expect(user.match({ type: 'cidr', value: '203.0.114.0/23' })).toEqual({ list: 'corp', reason: 'our networks' });
  });
});
