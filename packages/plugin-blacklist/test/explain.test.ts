import { describe, expect, it } from 'vitest';
import { isTipError } from '@tip/core';
import { startTestTip, testDialects, type TestTip } from '@tip/core/testing';
import blacklist, { BlacklistToken, type BlacklistService, type ExportEntry, type Indicator, type Verdict } from '../src/index.js';
import { rangeOf } from '../src/indicators/ip.js';
import { canonicalize } from '../src/indicators/canonical.js';
import { decay, decayModel, DEFAULT_DECAY_MODEL, scoreIndicator } from '../src/weighting/index.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const policy = { maxInvalidRatio: 0.25, allowEmpty: false };
const ind = (value: string): Indicator => {
  const r = canonicalize(value);
  if (!r.ok) throw new Error(value);
  return r.indicators[0]!;
};

/**
 * Sources (ingested at chosen times; weights computed at day 2, then the clock moves to day 3):
 *   A (spam):     45.95.0.0/16, evil-corp.com                                  day 0 and day 2
 *   B (scanner):  45.95.146.0/24, 45.95.146.7, 2a00:1450:4001::/48, 10.1.2.3    day 0, day 1
 *   C (malware):  45.95.146.7, http://login.evil-corp.com/pay, 203.0.114.0/24   day 1
 *   D (disabled): 45.95.146.7, 66.66.66.66                                      day 0
 *   E (phishing): 2a00:1450:4001:81c::200e, phish-host.net                      day 2.5 (after the weights: default weight)
 */
async function fixture(t: TestTip): Promise<{ svc: BlacklistService; t0: number }> {
  const svc = t.app.get(BlacklistToken);
  const ing = svc.ingester;
  const t0 = t.clock!.now();
  const cats = { A: 'spam', B: 'scanner', C: 'malware', D: 'botnet' } as const;
  for (const [id, category] of Object.entries(cats)) await ing.upsertSource({ id, title: `Source ${id}`, format: 'plain', category, origin: 'feed', enabled: true }, t0);
  const snap = async (id: string, at: number, values: string[]) => {
    const now = t0 + at;
    await t.clock!.advanceTo(now);
    const counts = await ing.snapshot({ sourceId: id, startedAt: now, now }, values.flatMap((v) => { const r = canonicalize(v); return r.ok ? r.indicators : []; }), policy);
    await ing.recordRun({ sourceId: id, startedAt: now, now }, 'succeeded', counts);
  };
  await snap('A', 0, ['45.95.0.0/16', 'evil-corp.com']);
  await snap('B', 0, ['45.95.146.0/24', '45.95.146.7', '2a00:1450:4001::/48', '10.1.2.3']);
  await snap('D', 0, ['45.95.146.7', '66.66.66.66']);
  await snap('B', DAY, ['45.95.146.0/24', '45.95.146.7', '2a00:1450:4001::/48', '10.1.2.3']);
  await snap('C', DAY, ['45.95.146.7', 'http://login.evil-corp.com/pay', '203.0.114.0/24']);
  await snap('A', 2 * DAY, ['45.95.0.0/16', 'evil-corp.com']);
  await svc.computeWeights();
  await ing.setEnabled('D', false);
  await ing.upsertSource({ id: 'E', title: 'Source E', format: 'plain', category: 'phishing', origin: 'feed', enabled: true }, t0 + 2.5 * DAY);
  await snap('E', 2.5 * DAY, ['2a00:1450:4001:81c::200e', 'phish-host.net']);
  await t.clock!.advanceTo(t0 + 3 * DAY);
  return { svc, t0 };
}

/** Every listed entry (allow-listed ones too), by type and value. */
async function exported(svc: BlacklistService): Promise<Map<string, ExportEntry>> {
  const out = new Map<string, ExportEntry>();
  for await (const e of svc.entries({ applyAllowlist: false })) out.set(`${e.type} ${e.value}`, e);
  return out;
}

const sourcesOf = (v: Verdict) => v.exact?.listings.map((l) => [l.source, l.counted]) ?? [];

describe.each(testDialects())('explain on %s', (dialect) => {
  it('explains IPs, CIDRs, IPv6, domains, URLs, allow-listed, disabled and unknown values; the score is the export score', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], config: { blacklist: { interval: '1d' } }, start: { schedule: false } });
    const { svc, t0 } = await fixture(t);
    const now = t0 + 3 * DAY;
    const weights = await svc.weights();
    const metrics = new Map((await svc.latestMetrics()).map((m) => [m.source, m]));
    expect([...weights.keys()].sort()).toEqual(['A', 'B', 'C', 'D']);
    const all = await exported(svc);

    // An IP listed by B and C, by the disabled D, and inside a /24 (B) and a /16 (A)
    const ip = await svc.explain('45.95.146.7');
    expect(ip.indicator).toEqual({ type: 'ip', value: '45.95.146.7' });
    expect(ip.computedAt.getTime()).toBe(now);
    expect(sourcesOf(ip)).toEqual([['B', true], ['C', true], ['D', false]]);
    expect(ip.listed).toBe(true);
    expect(ip.exported).toBe(true);
    expect(ip.allowlisted).toBeNull();
    const wB = weights.get('B')!;
    const wC = weights.get('C')!;
    expect(ip.exact!.baseScore).toBeCloseTo(1 - (1 - wB) * (1 - wC), 12);
    // last seen = the latest last success of a counted source: B and C both day 1 → age 2 d
    expect(ip.exact!.lastSeen!.getTime()).toBe(t0 + DAY);
    expect(ip.exact!.ageMs).toBe(2 * DAY);
    expect(ip.exact!.decay).toEqual(DEFAULT_DECAY_MODEL.ip);
    expect(ip.exact!.decayFactor).toBeCloseTo(1 - (2 / 14) ** (1 / 2), 12);
    expect(ip.score).toBeCloseTo(ip.exact!.baseScore * ip.exact!.decayFactor, 12);
    expect(ip.score).toBe(all.get('ip 45.95.146.7')!.score);
    expect(ip.score).toBe((await svc.lookup(ip.indicator)).listed!.score);
    // the disabled source's listing is shown, flagged, and left out
    const d = ip.exact!.listings.find((l) => l.source === 'D')!;
    expect(d).toMatchObject({ enabled: false, counted: false, listedSince: new Date(t0), lastSeen: new Date(t0), ageMs: 3 * DAY });
    expect(ip.sources.find((s) => s.id === 'D')).toMatchObject({ enabled: false, weightFrom: 'metrics' });
    expect(ip.combination).toContain('ignored (source disabled): D');
    // per listing: since when, last seen, age, decay factor, weight
    const b = ip.exact!.listings.find((l) => l.source === 'B')!;
    expect(b).toMatchObject({ title: 'Source B', category: 'scanner', listedSince: new Date(t0), lastSeen: new Date(t0 + DAY), ageMs: 2 * DAY, weight: wB });
    expect(b.decayFactor).toBe(decay(1, 2 * DAY, DEFAULT_DECAY_MODEL.ip));
    // covering CIDRs, most specific first, each scored as exported
    expect(ip.related.map((r) => [r.match, r.indicator.value, r.listings.map((l) => l.source)])).toEqual([
      ['covering-cidr', '45.95.146.0/24', ['B']],
      ['covering-cidr', '45.95.0.0/16', ['A']],
    ]);
    for (const r of ip.related) expect(r.score, r.indicator.value).toBe(all.get(`cidr ${r.indicator.value}`)!.score);
    expect(ip.relatedScore).toBe(Math.max(...ip.related.map((r) => r.score)));
    // A's /16 was last seen at day 2: age 1 d of a cidr (τ 90 d, δ 0.5)
    const a16 = ip.related[1]!;
    expect(a16.ageMs).toBe(DAY);
    expect(a16.decayFactor).toBeCloseTo(1 - (1 / 90) ** 2, 12);
    expect(a16.baseScore).toBe(scoreIndicator([weights.get('A')!]));
    // the weight of each source and how it was computed: the stored metrics and the formula's terms
    for (const s of ip.sources) {
      expect(s.weight, s.id).toBe(weights.get(s.id));
      expect(s.metrics, s.id).toEqual(metrics.get(s.id));
      expect(s.breakdownMatches, s.id).toBe(true);
      expect(s.breakdown!.weight, s.id).toBe(s.metrics!.weight);
      expect(s.breakdown!.fprFactor * s.breakdown!.mean, s.id).toBeCloseTo(s.breakdown!.weight, 12);
      expect(s.breakdown!.expectedIntervalMs).toBe(DAY);
      expect(s.breakdown!.terms.map((x) => x.term)).toEqual(['exclusive', 'availability', 'freshness', 'persistence', 'latency']);
    }
    expect(ip.combination).toMatch(/^score 0\.\d{3} = noisy-OR 1 − \(1 − 0\.\d{3}\)·\(1 − 0\.\d{3}\) = 0\.\d{3} of the 2 enabled source\(s\) listing 45\.95\.146\.7 itself \(B, C\)/);
    expect(ip.combination).toContain('45.95.146.0/24 (covering-cidr');

    // An IP only in covering CIDRs: score 0 (as exported: not listed), the CIDRs explain it
    const inCidr = await svc.explain('45.95.146.200');
    expect(inCidr).toMatchObject({ score: 0, listed: false, exported: false, exact: null });
    expect(inCidr.related.map((r) => r.indicator.value)).toEqual(['45.95.146.0/24', '45.95.0.0/16']);
    expect(inCidr.relatedScore).toBe(Math.max(all.get('cidr 45.95.146.0/24')!.score, all.get('cidr 45.95.0.0/16')!.score));
    expect(inCidr.combination).toMatch(/^score 0: no enabled source lists 45\.95\.146\.200 itself; covering CIDRs/);
    // A CIDR inside a listed CIDR
    const sub = await svc.explain('45.95.146.128/25');
    expect(sub.related.map((r) => r.indicator.value)).toEqual(['45.95.146.0/24', '45.95.0.0/16']);
    const cidr = await svc.explain('45.95.146.0/24');
    expect(cidr.score).toBe(all.get('cidr 45.95.146.0/24')!.score);
    expect(cidr.related.map((r) => r.indicator.value)).toEqual(['45.95.0.0/16']);

    // IPv6: an address listed by E (no metrics yet: the default weight) inside B's /48
    const v6 = await svc.explain('2A00:1450:4001:081C:0000:0000:0000:200E');
    expect(v6.indicator).toEqual({ type: 'ip', value: '2a00:1450:4001:81c::200e' });
    expect(sourcesOf(v6)).toEqual([['E', true]]);
    expect(v6.sources.find((s) => s.id === 'E')).toMatchObject({ weight: 0.5, weightFrom: 'default', metrics: null, breakdown: null, breakdownMatches: null });
    expect(v6.exact!.baseScore).toBe(0.5);
    expect(v6.exact!.ageMs).toBe(DAY / 2);
    expect(v6.score).toBe(all.get('ip 2a00:1450:4001:81c::200e')!.score);
    expect(v6.related.map((r) => [r.match, r.indicator.value])).toEqual([['covering-cidr', '2a00:1450:4001::/48']]);

    // A domain whose parent is listed
    const sub1 = await svc.explain('WWW.Shop.Evil-Corp.COM.');
    expect(sub1).toMatchObject({ indicator: { type: 'domain', value: 'www.shop.evil-corp.com' }, score: 0, listed: false, exact: null });
    expect(sub1.related.map((r) => [r.match, r.indicator.value, r.listings.map((l) => l.source)])).toEqual([['parent-domain', 'evil-corp.com', ['A']]]);
    expect(sub1.related[0]!.score).toBe(all.get('domain evil-corp.com')!.score);
    // A URL: listed itself (C), its host (recorded by C with the URL) and the host's parent (A)
    const url = await svc.explain('hxxp://login.evil-corp[.]com/pay');
    expect(url.indicator).toEqual({ type: 'url', value: 'http://login.evil-corp.com/pay' });
    expect(sourcesOf(url)).toEqual([['C', true]]);
    expect(url.score).toBe(all.get('url http://login.evil-corp.com/pay')!.score);
    expect(url.related.map((r) => [r.match, r.indicator.value])).toEqual([['url-host', 'login.evil-corp.com'], ['parent-domain', 'evil-corp.com']]);
    // A URL not listed whose host is; a URL whose host is an IP inside a listed CIDR
    const other = await svc.explain('https://login.evil-corp.com/other?x=1');
    expect(other).toMatchObject({ score: 0, listed: false });
    expect(other.related.map((r) => r.indicator.value)).toEqual(['login.evil-corp.com', 'evil-corp.com']);
    const ipUrl = await svc.explain('http://45.95.146.7:8080/x');
    expect(ipUrl.related.map((r) => [r.match, r.indicator.value])).toEqual([['url-host', '45.95.146.7'], ['covering-cidr', '45.95.146.0/24'], ['covering-cidr', '45.95.0.0/16']]);
    expect(ipUrl.related[0]!.score).toBe(ip.score);

    // Allow-listed: listed (and scored) but left out of exports, with the reason
    const priv = await svc.explain('10.1.2.3');
    expect(priv).toMatchObject({ listed: true, exported: false, allowlisted: { list: 'rfc1918', entry: '10.0.0.0/8' } });
    expect(priv.allowlisted!.reason).toBe('10.0.0.0/8 is private-use address space (RFC 1918)');
    expect(priv.score).toBe(all.get('ip 10.1.2.3')!.score);
    expect(priv.score).toBeGreaterThan(0);
    expect(priv.combination).toContain('allow-listed by rfc1918 (10.0.0.0/8 is private-use address space (RFC 1918)): left out of exports');
    expect([...(await exported(svc)).keys()]).toContain('ip 10.1.2.3');
    const plain: string[] = [];
    for await (const e of svc.entries()) plain.push(e.value);
    expect(plain).not.toContain('10.1.2.3');
    // a related entry carries its own allow-list hit (203.0.114.0/24 is not special-purpose: none)
    expect((await svc.explain('203.0.114.9')).related[0]).toMatchObject({ indicator: { value: '203.0.114.0/24' }, allowlisted: null });

    // Only a disabled source lists it: shown, score 0, not listed
    const dis = await svc.explain('66.66.66.66');
    expect(dis).toMatchObject({ score: 0, listed: false, exported: false });
    expect(dis.exact).toMatchObject({ score: 0, baseScore: 0, lastSeen: null, ageMs: null, decayFactor: 0 });
    expect(sourcesOf(dis)).toEqual([['D', false]]);
    expect(all.has('ip 66.66.66.66')).toBe(false);
    expect(await svc.lookup(dis.indicator)).toMatchObject({ listed: null });

    // Unknown values
    for (const v of ['8.8.4.4', 'nothing-here.org', 'http://nothing-here.org/', '2a01::1']) {
      const u = await svc.explain(v);
      expect(u, v).toMatchObject({ score: 0, listed: false, exported: false, exact: null, related: [], relatedScore: 0, sources: [], allowlisted: null });
      expect(u.combination, v).toMatch(/^score 0: no enabled source lists .* itself\.$/);
    }
    // An Indicator object is re-canonicalised as its type
    expect((await svc.explain({ type: 'ip', value: '::ffff:45.95.146.7' })).score).toBe(ip.score);

    // consistency on every listed value and a few misses: explain = export = lookup
    for (const value of [...[...all.values()].map((e) => e.value), '45.95.1.1', '45.96.0.1', 'a.phish-host.net']) {
      const v = await svc.explain(value);
      const l = await svc.lookup(v.indicator);
      expect(v.score, value).toBe(all.get(`${v.indicator.type} ${v.indicator.value}`)?.score ?? 0);
      expect(v.score, value).toBe(l.listed?.score ?? 0);
      expect(v.allowlisted, value).toEqual(l.allowlisted);
      if (v.indicator.type === 'ip') expect(v.related.map((r) => r.indicator.value).sort(), value).toEqual(l.containedIn.map((c) => c.value).sort());
    }
  });

  it('refuses what is no single indicator, naming the value', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], start: { schedule: false } });
    const svc = t.app.get(BlacklistToken);
    const cases: Array<[string | Indicator, string]> = [
      ['not an indicator', 'not an indicator: contains whitespace'],
      ['', 'empty value'],
      ['10.0.0.0-10.0.0.2', 'stands for 2 CIDR blocks'],
      ['999.1.1.1', 'invalid IPv4 address'],
      ['x'.repeat(5000), 'longer than 4096 characters'],
      [{ type: 'ip', value: 'evil.com' }, 'type domain not allowed'],
      [{ type: 'domain', value: 'co.uk' }, 'public suffix'],
    ];
    for (const [value, reason] of cases) {
      const err = await svc.explain(value).then(() => null, (e: unknown) => e);
      expect(isTipError(err, 'TIP_INPUT_INVALID'), String(value)).toBe(true);
      if (!isTipError(err)) continue;
      expect(err.message, String(value)).toContain(reason);
      const shown = typeof value === 'string' ? value : value.value;
      expect(err.message).toContain(`"${shown.slice(0, 200)}`);
    }
  });

  it('with custom decay and formula weights, the breakdown follows the configuration', async () => {
    await using t = await startTestTip({
      database: dialect,
      plugins: [blacklist()],
      config: { blacklist: { interval: '6h', decay: { ip: { tau: '4d', delta: 1 } }, weighting: { weights: { exclusive: 3, latency: 0 } } } },
      start: { schedule: false },
    });
    const svc = t.app.get(BlacklistToken);
    const t0 = t.clock!.now();
    await svc.registerSource({ id: 'x', title: 'X', category: 'spam' });
    await svc.submit('x', ['45.1.2.3', '45.1.2.4']);
    await svc.computeWeights();
    await t.clock!.advanceTo(t0 + 12 * HOUR);
    const v = await svc.explain('45.1.2.3');
    expect(v.exact!.decay).toEqual(decayModel({ ip: { tauMs: 4 * DAY, delta: 1 } }).ip);
    expect(v.exact!.decayFactor).toBeCloseTo(1 - 0.5 / 4, 12);
    const s = v.sources[0]!;
    expect(s.breakdown!.params!.weights).toMatchObject({ exclusive: 3, latency: 0 });
    expect(s.breakdown!.expectedIntervalMs).toBe(6 * HOUR);
    expect(s.breakdown!.terms.find((x) => x.term === 'latency')).toMatchObject({ weight: 0, counted: false, contribution: 0 });
    expect(s.breakdownMatches).toBe(true);
    expect(v.score).toBe((await svc.lookup(v.indicator)).listed!.score);

    // with a metrics history, every path reads the latest row (the weight changed: one more source)
    await svc.registerSource({ id: 'y', title: 'Y', category: 'spam' });
    await svc.submit('y', ['45.1.2.3', '45.1.2.5']);
    await svc.computeWeights();
    await t.clock!.advanceTo(t0 + DAY);
    const latest = await svc.weights();
    expect(latest.get('x')).not.toBe(s.weight);
    const all = await exported(svc);
    for (const value of ['45.1.2.3', '45.1.2.4', '45.1.2.5']) {
      const e = await svc.explain(value);
      expect(e.score, value).toBe(all.get(`ip ${value}`)!.score);
      expect(e.score, value).toBe((await svc.lookup(e.indicator)).listed!.score);
      for (const src of e.sources) expect(src.weight, value).toBe(latest.get(src.id));
    }
  });
});

describe.each(testDialects())('lookup by prefix enumeration on %s', (dialect) => {
  it('finds the same containing CIDRs as a scan over every listed CIDR', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], start: { schedule: false } });
    const svc = t.app.get(BlacklistToken);
    let seed = 11;
    const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };
    // nested CIDRs in a small space so that many of them contain each probe; IPv6 too
    const cidrs = new Set<string>();
    while (cidrs.size < 300) {
      const p = 8 + (rnd() % 24);
      const r = canonicalize(`46.${rnd() % 4}.${rnd() % 256}.${rnd() % 256}/${p}`);
      if (r.ok) cidrs.add(r.indicators[0]!.value);
      const q = 16 + (rnd() % 100);
      const r6 = canonicalize(`2a02:${(rnd() % 3).toString(16)}::${(rnd() % 65536).toString(16)}:0:0:0/${q}`);
      if (r6.ok) cidrs.add(r6.indicators[0]!.value);
    }
    const list = [...cidrs];
    for (const [k, id] of ['s1', 's2', 's3'].entries()) {
      await svc.registerSource({ id, title: id, category: 'spam' });
      await svc.submit(id, list.filter((_, i) => i % 3 === k || i % 7 === k));
    }
    const probes = Array.from({ length: 150 }, () => `46.${rnd() % 4}.${rnd() % 256}.${rnd() % 256}`)
      .concat(Array.from({ length: 50 }, () => `2a02:${(rnd() % 3).toString(16)}::${(rnd() % 65536).toString(16)}:1:2:3`));
    const all = await exported(svc);
    let found = 0;
    for (const p of probes) {
      const probe = ind(p);
      const ip = rangeOf(probe.value)!;
      const expected = list.filter((c) => {
        const r = rangeOf(c)!;
        return r.version === ip.version && r.start <= ip.start && r.end >= ip.end;
      }).sort();
      const got = await svc.lookup(probe);
      expect(got.containedIn.map((c) => c.value).sort(), p).toEqual(expected);
      for (const c of got.containedIn) expect(c.score).toBe(all.get(`cidr ${c.value}`)!.score);
      found += expected.length;
    }
    expect(found).toBeGreaterThan(100);
  });
});
