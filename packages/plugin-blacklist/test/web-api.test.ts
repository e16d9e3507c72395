import { BlockList } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeRaw, RouteRouter } from '@tip/core';
import { responseText, serveFeeds, startTestTip, testDialects, type FeedServer, type TestTip } from '@tip/core/testing';
import blacklist, { BlacklistToken, type BlacklistListingsChanged, type BlacklistWeightsUpdated, type BlacklistCycleCompleted } from '../src/index.js';
import { addressKeys, rangeKeys } from '../src/indicators/addressKeys.js';
import { canonicalize } from '../src/indicators/canonical.js';
import { rangeOf } from '../src/indicators/ip.js';

// The web data API of the plugin (search, history, source detail, overlap, timeline) and its
// events, through core's router (the full route path minus the socket), on both dialects.

const HOUR = 3_600_000;
const W = 0.5; // no weights computed in the search test: every source scores the default weight

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const canon = (raw: string) => {
  const r = canonicalize(raw);
  if (!r.ok) throw new Error(`test value ${raw}: ${r.reason}`);
  return r.indicators[0]!;
};

/** Random indicators: IPv4 (dense in 10.1.0.0/16), IPv4 CIDRs, IPv6 addresses and CIDRs, domains. */
function generate(seed: number, n: number): string[] {
  const r = rng(seed);
  const int = (k: number) => Math.floor(r() * k);
  const out = new Set<string>();
  while (out.size < n) {
    const pick = r();
    if (pick < 0.4) out.add(canon(`10.${r() < 0.6 ? 1 : int(4)}.${int(4)}.${int(256)}`).value);
    else if (pick < 0.55) out.add(canon(`10.${int(3)}.${int(4)}.${int(256)}/${8 + int(23)}`).value);
    else if (pick < 0.7) out.add(canon(`2001:db8:${int(3).toString(16)}::${int(65536).toString(16)}`).value);
    else if (pick < 0.8) out.add(canon(`2001:db8:${int(3).toString(16)}:${int(65536).toString(16)}::/${32 + int(97)}`).value);
    else if (pick < 0.9) out.add(canon(`198.51.100.${int(256)}`).value);
    else out.add(`host-${int(1000)}.evil-${int(5)}.example.com`);
  }
  return [...out];
}

type Item = { type: string; value: string; score: number; sources: Array<{ id: string; title: string }>; firstSeen: string; lastSeen: string };
type Page = { items: Item[]; nextCursor: string | null; total?: number; mode: string; scanned: number; truncated: boolean };

function routerOf(t: TestTip) {
  const router = new RouteRouter(t.app.routes(), { log: t.app.log, servedScopes: ['read'] });
  return async <T = unknown>(url: string): Promise<{ status: number; body: T }> => {
    const res = await router.handle({ method: 'GET', url: `/api/blacklist${url}` });
    expect(res, url).toBeDefined();
    return { status: res!.status, body: JSON.parse(await responseText(res)) as T };
  };
}

/** Every item of a search, page by page (`between` runs between pages). */
async function all(get: ReturnType<typeof routerOf>, url: string, between?: (page: number) => Promise<void>): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const sep = url.includes('?') ? '&' : '?';
    const res: { status: number; body: Page } = await get<Page>(cursor ? `${url}${sep}cursor=${encodeURIComponent(cursor)}` : url);
    expect(res.status, url).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
    if (!cursor) return items;
    await between?.(page);
  }
  throw new Error('search did not end');
}

/** Is `entry` (ip or cidr) inside `query` (a CIDR)? Decided with node's BlockList, independently of the plugin's keys. */
function inside(query: string, entry: string): boolean {
  const [qNet, qLen] = query.split('/') as [string, string];
  const family = qNet.includes(':') ? 'ipv6' : 'ipv4';
  const [eNet, eLen] = entry.includes('/') ? (entry.split('/') as [string, string]) : [entry, family === 'ipv4' ? '32' : '128'];
  if (eNet.includes(':') !== (family === 'ipv6')) return false;
  const list = new BlockList();
  list.addSubnet(qNet, Number(qLen), family);
  return list.check(eNet, family) && Number(eLen) >= Number(qLen);
}

let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds();
});
afterAll(() => feeds.close());

describe.each(testDialects())('blacklist web API on %s', (dialect) => {
  it('search: exact, CIDR containment (IPv4, IPv6), filters, pagination under inserts, 400s; overlap from listings', { timeout: 300_000 }, async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], config: { blacklist: { weighting: { defaultWeight: W } } }, start: { schedule: false } });
    const svc = t.app.get(BlacklistToken);
    const get = routerOf(t);
    const universe = generate(1, 900);
    const a = universe.slice(0, 500);
    const b = universe.slice(350, 800); // 150 in common with a
    const c = universe.slice(780, 900); // disabled below: never found
    await svc.registerSource({ id: 'a', title: 'Source <A>', category: 'spam' });
    await svc.registerSource({ id: 'b', title: 'Source B', category: 'scanner' });
    await svc.registerSource({ id: 'c', title: 'Source C', category: 'other' });
    await svc.submit('a', a);
    await svc.submit('b', b);
    await svc.submit('c', c);
    await svc.ingester.setEnabled('c', false);
    const listed = new Map<string, Set<string>>(); // value → sources
    for (const [id, values] of [['a', a], ['b', b]] as const) for (const v of values) listed.set(v, (listed.get(v) ?? new Set()).add(id));
    const typeOf = (v: string) => canon(v).type;

    // exact: canonical forms; score and sources as the lookup has them
    for (const raw of [a[0]!, ` ${b[b.length - 1]!.toUpperCase()} `, universe[400]!]) {
      const value = canon(raw).value;
      const res = await get<Page>(`/search?q=${encodeURIComponent(raw)}`);
      expect(res.status).toBe(200);
      const found = (await svc.lookup(canon(raw))).listed!;
      expect(res.body).toMatchObject({ mode: 'exact', total: 1, nextCursor: null });
      expect(res.body.items).toEqual([{ type: found.type, value, score: found.score, sources: found.sources.map((id) => ({ id, title: id === 'a' ? 'Source <A>' : 'Source B' })), firstSeen: found.firstSeen.toISOString(), lastSeen: found.lastSeen.toISOString() }]);
    }
    expect((await get<Page>(`/search?q=${encodeURIComponent(universe[400]!)}`)).body.items[0]!.score).toBeCloseTo(1 - (1 - W) ** 2, 12); // listed by a and b
    expect((await get<Page>(`/search?q=203.0.113.9`)).body).toMatchObject({ items: [], total: 0 });
    expect((await get<Page>(`/search?q=${encodeURIComponent(c[c.length - 1]!)}`)).body.items).toEqual([]); // disabled source

    // CIDR containment against BlockList, paged with small pages: every row exactly once
    for (const query of ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.128/25', '10.0.0.0/12', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:2:8000::/49', '198.51.100.0/24']) {
      const expected = [...listed.keys()].filter((v) => ['ip', 'cidr'].includes(typeOf(v)) && inside(query, v)).sort();
      const got = await all(get, `/search?q=${encodeURIComponent(query)}&limit=7`);
      expect(got.map((i) => i.value).sort(), query).toEqual(expected);
      expect(new Set(got.map((i) => i.value)).size, query).toBe(got.length);
      expect(expected.length, `${query} finds something`).toBeGreaterThan(0);
      // filters combine with containment
      const cidrs = await all(get, `/search?q=${encodeURIComponent(query)}&type=cidr&source=b&limit=50`);
      expect(cidrs.map((i) => i.value).sort(), query).toEqual(expected.filter((v) => typeOf(v) === 'cidr' && listed.get(v)!.has('b')));
    }

    // ingestion stored every new indicator with its address keys; rows without (stored before
    // migration 0005) are filled by the next CIDR search
    const pending = async () => Number((await executeRaw<{ n: number | string }>(t.app.em(), 'select count(*) as n from bl_indicator where addr_lo is null')).rows[0]!.n);
    expect(await pending()).toBe(0);
    await executeRaw(t.app.em(), 'update bl_indicator set addr_lo = null, addr_hi = null');
    const refilled = await all(get, `/search?q=${encodeURIComponent('10.1.0.0/16')}&limit=500`);
    expect(refilled.map((i) => i.value).sort()).toEqual([...listed.keys()].filter((v) => ['ip', 'cidr'].includes(typeOf(v)) && inside('10.1.0.0/16', v)).sort());
    expect(await pending()).toBe(0);

    // no q: everything listed, every row once; minScore keeps those listed by both sources
    const everything = await all(get, '/search?limit=113');
    expect(everything.map((i) => i.value).sort()).toEqual([...listed.keys()].sort());
    expect(new Set(everything.map((i) => i.value)).size).toBe(everything.length);
    const both = await all(get, '/search?minScore=0.7&limit=20');
    expect(both.map((i) => i.value).sort()).toEqual([...listed].filter(([, s]) => s.size === 2).map(([v]) => v).sort());
    const domains = await all(get, '/search?type=domain&source=a&source=b&limit=9');
    expect(domains.map((i) => i.value).sort()).toEqual([...listed.keys()].filter((v) => typeOf(v) === 'domain').sort());
    expect(domains.every((i) => i.type === 'domain')).toBe(true);

    // since: an hour later a re-submits 20 of its values; the others keep their last-seen
    const t0 = t.clock!.now();
    await t.clock!.advanceTo(t0 + HOUR);
    const again = a.slice(0, 20);
    await svc.submit('a', again);
    const fresh = await all(get, `/search?since=${encodeURIComponent(new Date(t0 + HOUR).toISOString())}&limit=6`);
    expect(fresh.map((i) => i.value).sort()).toEqual([...again].sort());
    expect((await all(get, '/search?since=30m')).map((i) => i.value).sort()).toEqual([...again].sort());
    expect((await all(get, '/search?since=2h')).length).toBe(listed.size);

    // pagination stays exact under inserts between pages: the rows present at the start come once
    const before = new Set(listed.keys());
    const extra = generate(2, 300).filter((v) => !listed.has(v) && !c.includes(v));
    let k = 0;
    const paged = await all(get, '/search?limit=50', async () => {
      await svc.submit('b', extra.slice(k, k + 30));
      k += 30;
    });
    const values = paged.map((i) => i.value);
    expect(new Set(values).size).toBe(values.length);
    for (const v of before) expect(values, v).toContain(v);
    for (const v of extra.slice(k + 30)) expect(values).not.toContain(v);
    // the same in a CIDR walk: inserts inside the range land before or after the cursor, never twice
    const v4 = extra.filter((v) => ['ip', 'cidr'].includes(typeOf(v)) && inside('10.0.0.0/8', v));
    const inRange = new Set([...before, ...extra.slice(0, k)].filter((v) => ['ip', 'cidr'].includes(typeOf(v)) && inside('10.0.0.0/8', v)));
    let j = 0;
    const walked = (
      await all(get, `/search?q=${encodeURIComponent('10.0.0.0/8')}&limit=25`, async () => {
        await svc.submit('a', v4.slice(j, j + 5));
        j += 5;
      })
    ).map((i) => i.value);
    expect(new Set(walked).size).toBe(walked.length);
    for (const v of inRange) expect(walked, v).toContain(v);

    // bad input: 400 naming the parameter
    for (const [url, path] of [
      ['/search?q=not%20an%20indicator', 'query.q'],
      ['/search?q=10.0.0.0-10.0.0.255', 'query.q'], // a range of 1 CIDR is fine, but 10.0.0.0-10.0.1.3 is 2
      ['/search?q=10.0.0.0-10.0.1.3', 'query.q'],
      ['/search?type=email', 'query.type'],
      ['/search?limit=0', 'query.limit'],
      ['/search?limit=501', 'query.limit'],
      ['/search?minScore=2', 'query.minScore'],
      ['/search?since=soon', 'query.since'],
      ['/search?cursor=garbage', 'query.cursor'],
      [`/search?q=10.0.0.0%2F8&cursor=${Buffer.from(JSON.stringify({ m: 'all', i: 5 })).toString('base64url')}`, 'query.cursor'],
      ['/search?source=nope', 'query.source'],
      ['/search?colour=red', 'query'],
      ['/timeline?since=yesterday', 'query.since'],
      ['/indicators/not%20an%20indicator/history', 'params.value'],
    ] as const) {
      const res = await get<{ code: string; issues: Array<{ path: string }> }>(url);
      if (url === '/search?q=10.0.0.0-10.0.0.255') {
        expect(res.status, url).toBe(200);
        continue;
      }
      expect(res.status, url).toBe(400);
      expect(res.body.code, url).toBe('TIP_INPUT_INVALID');
      expect(res.body.issues.map((i) => i.path), url).toContain(path);
    }
    expect((await get('/sources/nope')).status).toBe(404);

    // overlap without stored metrics: counted from the listings (exact identity), by hand here
    const ov = (await get<{ sources: Array<{ id: string }>; matrix: number[][]; counts: number[][]; basis: string }>('/overlap')).body;
    expect(ov.basis).toBe('listings');
    expect(ov.sources.map((s) => s.id)).toEqual(['a', 'b']);
    const open = (id: string) => new Set(everythingNow.filter((i) => i.sources.some((s) => s.id === id)).map((i) => i.value));
    const everythingNow = await all(get, '/search?limit=500');
    const [A, B] = [open('a'), open('b')];
    const common = [...A].filter((v) => B.has(v)).length;
    expect(ov.counts).toEqual([
      [A.size, common],
      [common, B.size],
    ]);
    expect(ov.matrix[0]![1]).toBeCloseTo(common / A.size, 12);
    expect(ov.matrix[1]![0]).toBeCloseTo(common / B.size, 12);
    expect(ov.matrix[0]![0]).toBe(1);
  });

  it('history, source detail, timeline and overlap over cycles; listings and weights events', async () => {
    const prefix = `/${dialect}`;
    feeds.set(`${prefix}/a.txt`, '1.2.3.4\n5.6.7.8\n9.9.9.0/24\n');
    feeds.set(`${prefix}/b.txt`, '1.2.3.4\n7.7.7.7\n');
    await using t = await startTestTip({
      database: dialect,
      plugins: [blacklist()],
      config: { blacklist: { feeds: [{ id: 'a', url: feeds.url(`${prefix}/a.txt`), format: 'plain', category: 'scanner' }, { id: 'b', url: feeds.url(`${prefix}/b.txt`), format: 'plain', category: 'spam' }] } },
      start: { schedule: false },
    });
    const get = routerOf(t);
    const changed: BlacklistListingsChanged[] = [];
    const weights: BlacklistWeightsUpdated[] = [];
    const cycles: BlacklistCycleCompleted[] = [];
    t.app.events.on('blacklist.listings.changed', (e) => void changed.push(e));
    t.app.events.on('blacklist.weights.updated', (e) => void weights.push(e));
    t.app.events.on('blacklist.cycle.completed', (e) => void cycles.push(e));

    const t1 = t.clock!.now();
    expect((await t.app.scheduler.trigger('blacklist')).status).toBe('succeeded');
    await t.clock!.advanceTo(t1 + HOUR);
    feeds.set(`${prefix}/a.txt`, '5.6.7.8\n9.9.9.0/24\n3.3.3.3\n');
    expect((await t.app.scheduler.trigger('blacklist')).status).toBe('succeeded');
    await t.clock!.advanceTo(t1 + 2 * HOUR);
    feeds.set(`${prefix}/a.txt`, '5.6.7.8\n9.9.9.0/24\n3.3.3.3\n1.2.3.4\n');
    expect((await t.app.scheduler.trigger('blacklist')).status).toBe('succeeded');

    // events: one per source ingest with changes, samples of the values
    const bySource = (id: string) => changed.filter((e) => e.source === id).map(({ runId, ...rest }) => (expect(runId).toBeTypeOf('string'), rest));
    expect(bySource('a')).toEqual([
      { source: 'a', added: 3, removed: 0, sampleAdded: expect.arrayContaining(['1.2.3.4', '5.6.7.8', '9.9.9.0/24']), sampleRemoved: [] },
      { source: 'a', added: 1, removed: 1, sampleAdded: ['3.3.3.3'], sampleRemoved: ['1.2.3.4'] },
      { source: 'a', added: 1, removed: 0, sampleAdded: ['1.2.3.4'], sampleRemoved: [] },
    ]);
    expect(bySource('b')).toEqual([{ source: 'b', added: 2, removed: 0, sampleAdded: expect.arrayContaining(['1.2.3.4', '7.7.7.7']), sampleRemoved: [] }]);
    expect(weights.map((w) => w.cycleId)).toEqual(cycles.map((c) => c.cycleId));
    const stored = (await get<{ weights: Array<{ source: string; weight: number }> }>('/weights')).body.weights;
    expect(weights.at(-1)!.weights).toEqual(stored.map((w) => ({ source: w.source, weight: w.weight })));

    // history of 1.2.3.4: listed by a and b, dropped by a, listed by a again
    const h = (await get<{ indicator: unknown; events: Array<{ at: string; source: string; action: string }> }>('/indicators/1.2.3.4/history')).body;
    expect(h.indicator).toEqual({ type: 'ip', value: '1.2.3.4' });
    expect(h.events.map((e) => [Date.parse(e.at) - t1 >= 0 ? Math.round((Date.parse(e.at) - t1) / HOUR) : -1, e.source, e.action])).toEqual([
      [0, 'a', 'listed'],
      [0, 'b', 'listed'],
      [1, 'a', 'unlisted'],
      [2, 'a', 'listed'],
    ]);
    expect((await get<{ events: unknown[] }>('/indicators/203.0.113.1/history')).body.events).toEqual([]);
    expect((await get<{ events: unknown[] }>(`/indicators/${encodeURIComponent('9.9.9.0/24')}/history`)).body.events).toHaveLength(1);

    // timeline: one point per cycle
    const tl = (await get<{ points: Array<{ at: string; listed: number; added: number; removed: number; cycleId: string }> }>('/timeline?since=30d')).body.points;
    expect(tl.map((p) => [p.listed, p.added, p.removed, p.cycleId])).toEqual([
      [4, 5, 0, cycles[0]!.cycleId],
      [5, 1, 1, cycles[1]!.cycleId],
      [5, 1, 0, cycles[2]!.cycleId],
    ]);
    expect((await get<{ points: unknown[] }>(`/timeline?since=${new Date(t1 + HOUR).toISOString()}`)).body.points).toHaveLength(2);

    // source detail: config, runs newest first, metrics per cycle
    const a = (await get<{ id: string; kind: string; listed: number; config: { interval: unknown } | null; runs: Array<{ status: string; added: number; removed: number; runId: string }>; metricsHistory: Array<{ at: string; weight: number; volume: number }> }>('/sources/a')).body;
    expect(a).toMatchObject({ id: 'a', kind: 'feed', listed: 4 });
    expect(a.config).not.toBeNull();
    expect(a.runs.map((r) => [r.status, r.added, r.removed])).toEqual([
      ['succeeded', 1, 0],
      ['succeeded', 1, 1],
      ['succeeded', 3, 0],
    ]);
    expect(a.runs[0]!.runId).toBe(changed.at(-1)!.runId);
    expect(a.metricsHistory.map((m) => Date.parse(m.at) - t1)).toEqual([0, HOUR, 2 * HOUR]);
    expect(a.metricsHistory.at(-1)!.weight).toBe(stored.find((w) => w.source === 'a')!.weight);

    // overlap from the stored metrics (containment mode): a lists 4 entries in the window
    // (1.2.3.4, 5.6.7.8, 9.9.9.0/24, 3.3.3.3), b 2 (1.2.3.4, 7.7.7.7); they share 1.2.3.4
    const ov = (await get<{ sources: Array<{ id: string }>; matrix: number[][]; counts: number[][]; basis: string }>('/overlap')).body;
    expect(ov.basis).toBe('metrics');
    expect(ov.counts).toEqual([
      [4, 1],
      [1, 2],
    ]);
    expect(ov.matrix).toEqual([
      [1, 0.25],
      [0.5, 1],
    ]);
  });

  it('listings-changed samples hold at most 20 values; unchanged submissions emit nothing', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], start: { schedule: false } });
    const svc = t.app.get(BlacklistToken);
    const changed: BlacklistListingsChanged[] = [];
    t.app.events.on('blacklist.listings.changed', (e) => void changed.push(e));
    await svc.registerSource({ id: 'traps', title: 'Traps', category: 'spam' });
    const values = Array.from({ length: 30 }, (_, i) => `192.0.2.${i + 1}`);
    await svc.submit('traps', values);
    await svc.submit('traps', values.slice(0, 5)); // listed already: confirmed, not changed
    await svc.submit('traps', [], values.slice(0, 25));
    expect(changed.map((e) => [e.source, e.added, e.removed, e.sampleAdded.length, e.sampleRemoved.length, e.runId])).toEqual([
      ['traps', 30, 0, 20, 0, undefined],
      ['traps', 0, 25, 0, 20, undefined],
    ]);
    for (const v of changed[0]!.sampleAdded) expect(values).toContain(v);
  });
});

describe('address keys', () => {
  it('sort like the addresses; the IPv4 fast path equals the bigint path', () => {
    const values = ['0.0.0.0', '0.0.0.1', '9.255.255.255', '10.0.0.0/8', '10.1.2.3', '128.0.0.0/1', '255.255.255.255', '::', '::1', '2001:db8::/32', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'];
    const keys = values.map((v) => addressKeys(v)!);
    values.forEach((v, k) => expect(keys[k], v).toEqual(rangeKeys(rangeOf(v)!)));
    const los = keys.map((k) => k.lo);
    expect([...los].sort()).toEqual(los);
    expect(addressKeys('10.0.0.0/8')).toEqual({ lo: '40a000000', hi: '40affffff' });
    expect(addressKeys('example.com')).toBeNull();
  });
});
