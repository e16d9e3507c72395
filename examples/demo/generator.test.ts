import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalize } from '@tip/plugin-blacklist';
import { acmeConfigSchema, parseSightings } from '../custom-source/src/index.ts';
import { startFeedServer, type FeedServer } from './feed-server.ts';
import { DEMO_FEEDS, DEMO_SIGHTINGS_FEED, XSS_ENTRY, XSS_NOTE, XSS_TITLE, feedBody, sightingsBody } from './generator.ts';

const values = (body: string) => body.split('\n').filter((l) => l && !/^[#;]/.test(l));
const plainSet = (id: string, slot: number, seed = 7) => new Set(values(feedBody(id, slot, seed)));

describe('demo feed generator', () => {
  it('is deterministic per seed and slot', () => {
    for (const f of DEMO_FEEDS) {
      expect(feedBody(f.id, 5, 7)).toBe(feedBody(f.id, 5, 7));
      expect(feedBody(f.id, 5, 7)).not.toBe(feedBody(f.id, 5, 8));
    }
  });

  it('moves: listings appear and disappear between slots', () => {
    const a = plainSet('demo-scanners', 10);
    const b = plainSet('demo-scanners', 14);
    expect([...b].some((v) => !a.has(v))).toBe(true);
    expect([...a].some((v) => !b.has(v))).toBe(true);
    expect(a.size).toBeGreaterThan(20);
  });

  it('overlaps on purpose: a near-copy aggregator and a community feed sharing part of the scanners', () => {
    const scanners = plainSet('demo-scanners', 9);
    const domains = plainSet('demo-malware-domains', 9);
    const aggregator = plainSet('demo-aggregator', 10); // one slot late
    const covered = [...scanners].filter((v) => aggregator.has(v)).length / scanners.size;
    expect(covered).toBeGreaterThan(0.8);
    const community = plainSet('demo-community', 9);
    const shared = [...scanners].filter((v) => community.has(v)).length / scanners.size;
    expect(shared).toBeGreaterThan(0.25);
    expect(shared).toBeLessThan(0.65);
    expect(domains.size).toBeGreaterThan(10);
  });

  it('yields values TIP accepts, plus allow-listed noise and an XSS entry in the community feed', () => {
    for (const v of plainSet('demo-scanners', 3)) expect(canonicalize(v).ok, v).toBe(true);
    const community = feedBody('demo-community', 3, 7);
    expect(community).toContain(XSS_ENTRY);
    expect(values(community).some((v) => /^(192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|10\.|192\.168\.)|google|github|microsoft|cloudflare/.test(v))).toBe(true);
    expect(DEMO_FEEDS.find((f) => f.id === 'demo-community')!.title).toBe(XSS_TITLE);
  });
});

describe('demo sightings feed (the example plugin @acme/tip-plugin-sightings)', () => {
  const parse = (slot: number, seed = 7) => parseSightings(sightingsBody(slot, seed));

  it('parses with the plugin\'s own parser, every line valid, ips, domains and urls', () => {
    for (const slot of [0, 1, 9, 40]) {
      const parsed = parse(slot);
      expect(parsed.rejected).toEqual([]);
      expect(parsed.sightings.length).toBeGreaterThan(20);
      expect(new Set(parsed.sightings.map((s) => s.type))).toEqual(new Set(['ip', 'domain', 'url']));
      expect(parsed.sightings.every((s) => s.confidence >= 0 && s.confidence <= 100 && s.note.length > 0)).toBe(true);
    }
  });

  it('is deterministic per seed and slot, and moves between slots: values, confidences and times', () => {
    expect(sightingsBody(5, 7)).toBe(sightingsBody(5, 7));
    expect(sightingsBody(5, 7)).not.toBe(sightingsBody(5, 8));
    const a = parse(10);
    const b = parse(14);
    const values = (p: typeof a) => new Set(p.sightings.map((s) => s.value));
    expect([...values(b)].some((v) => !values(a).has(v))).toBe(true);
    expect([...values(a)].some((v) => !values(b).has(v))).toBe(true);
    // a value listed in both slots is seen again, later, and its confidence drifts for some
    const before = new Map(a.sightings.map((s) => [s.value, s]));
    const kept = b.sightings.filter((s) => before.has(s.value));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((s) => s.seen > before.get(s.value)!.seen)).toBe(true);
    expect(kept.some((s) => s.confidence !== before.get(s.value)!.confidence)).toBe(true);
  });

  it('reports values the blacklist feeds list too, and a note carrying an HTML payload', () => {
    const parsed = parse(9);
    const listed = new Set(DEMO_FEEDS.flatMap((f) => feedBody(f.id, 9, 7).split('\n')));
    expect(parsed.sightings.filter((s) => s.type === 'ip' && listed.has(s.value)).length).toBeGreaterThan(0);
    const xss = parsed.sightings.find((s) => s.note === XSS_NOTE);
    expect(xss).toMatchObject({ type: 'url', value: new URL(XSS_ENTRY).href });
  });

  it('is the feed the demo configuration names, as the plugin validates it', () => {
    const config = JSON.parse(readFileSync(new URL('./tip.config.json', import.meta.url), 'utf8')) as { plugins: unknown[]; acme: unknown };
    expect(config.plugins).toContain('../custom-source/src/index.ts');
    // run.ts replaces the placeholder URL with the feed server's (TIP_ACME__FEEDS); the id stays
    const acme = acmeConfigSchema.parse(config.acme);
    expect(acme.feeds.map((f) => f.id)).toEqual([DEMO_SIGHTINGS_FEED.id]);
  });
});

describe('demo feed server', () => {
  let server: FeedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the current slot with an ETag that changes only with the content; 304 otherwise', async () => {
    let now = 1_000_000;
    server = await startFeedServer({ dir: fileURLToPath(new URL('./feeds/', import.meta.url)), seed: 7, slotMs: 20_000, now: () => now, misbehave: false });
    const first = await fetch(`${server.url}/gen/scanners.txt`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(feedBody('demo-scanners', 0, 7));
    const etag = first.headers.get('etag')!;
    const modified = first.headers.get('last-modified')!;
    now += 5_000; // same slot
    const again = await fetch(`${server.url}/gen/scanners.txt`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const bySince = await fetch(`${server.url}/gen/scanners.txt`, { headers: { 'if-modified-since': modified } });
    expect(bySince.status).toBe(304);
    now += 20_000 * 6; // slot 6: new content
    expect(server.slot()).toBe(6);
    const later = await fetch(`${server.url}/gen/scanners.txt`, { headers: { 'if-none-match': etag } });
    expect(later.status).toBe(200);
    expect(later.headers.get('etag')).not.toBe(etag);
    expect(await later.text()).toBe(feedBody('demo-scanners', 6, 7));
    expect(server.served.get('/gen/scanners.txt')).toBe(4);
    const sightings = await fetch(`${server.url}/gen/${DEMO_SIGHTINGS_FEED.file}`);
    expect(sightings.status).toBe(200);
    const sightingsText = await sightings.text();
    expect(sightingsText).toBe(sightingsBody(6, 7, { epochMs: 1_000_000, slotMs: 20_000 })); // timestamps from the server's start
    expect(sightingsText).toContain(`${new Date(1_000_000 + 6 * 20_000).toISOString().slice(0, 19)}Z|`);
    expect((await fetch(`${server.url}/gen/nope.txt`)).status).toBe(404);
  });

  it('the community feed answers 503 in some slots', async () => {
    let now = 0;
    server = await startFeedServer({ dir: fileURLToPath(new URL('./feeds/', import.meta.url)), seed: 7, slotMs: 1000, now: () => now });
    const statuses: number[] = [];
    for (let slot = 0; slot < 16; slot++) {
      now = slot * 1000;
      const res = await fetch(`${server.url}/gen/community.txt`);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toContain(503);
    expect(statuses).toContain(200);
    expect(statuses[0]).toBe(200);
  });
});
