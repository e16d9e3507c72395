import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouteRouter } from '@tip/core';
import { responseText, serveFeeds, startTestTip, testDialects, type FeedServer } from '@tip/core/testing';
import blacklist, { BlacklistToken } from '../src/index.js';

// The plugin's HTTP API, served by core's framework-free router (no server, no port).
let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds({
    '/ips.txt': '45.95.146.7\n89.248.165.12\n185.156.73.0/24\n10.1.2.3\n',
    '/hosts.txt': '0.0.0.0 malware-drop-1.com\n0.0.0.0 login-paypa1.net\n',
  });
});
afterAll(() => feeds.close());

describe.each(testDialects())('blacklist routes on %s', (dialect) => {
  it('export, sources, weights and indicator lookups', async () => {
    await using t = await startTestTip({
      database: dialect,
      plugins: [blacklist()],
      config: { blacklist: { feeds: [{ id: 'ips', url: feeds.url('/ips.txt'), format: 'plain', category: 'scanner' }, { id: 'hosts', url: feeds.url('/hosts.txt'), format: 'hosts', category: 'phishing' }] } },
      start: { schedule: false },
    });
    expect((await t.app.scheduler.trigger('blacklist')).status).toBe('succeeded');
    const router = new RouteRouter(t.app.routes(), { log: t.app.log, servedScopes: ['read'] });
    const get = async (url: string) => {
      const res = await router.handle({ method: 'GET', url: `/api/blacklist${url}` });
      expect(res, url).toBeDefined();
      return { status: res!.status, headers: res!.headers, body: await responseText(res) };
    };
    const svc = t.app.get(BlacklistToken);

    // the download is exactly what writeExport (service.export) writes, for every format
    for (const [format, file] of [['plain', 'tip-blacklist.txt'], ['hosts', 'tip-blacklist.hosts'], ['csv', 'tip-blacklist.csv'], ['json', 'tip-blacklist.json'], ['rpz', 'tip-blacklist.zone'], ['stix', 'tip-blacklist.json']] as const) {
      const res = await get(`/export?format=${format}`);
      expect(res.status, format).toBe(200);
      expect(res.headers['content-disposition'], format).toBe(`attachment; filename="${file}"`);
      expect(res.headers['content-type'], format).toBe(svc.writers.get(format)!.contentType);
      const expected: string[] = [];
      await svc.export({ format }, (c) => void expected.push(c));
      // a STIX bundle gets a fresh random id per document
      const sameBundle = (doc: string) => doc.replace(/bundle--[0-9a-f-]{36}/, 'bundle--id');
      expect(sameBundle(res.body), format).toBe(sameBundle(expected.join('')));
    }
    const filtered = await get('/export?format=csv&types=ip,cidr&minScore=0.01&sources=ips&name=scanners');
    expect(filtered.headers['content-disposition']).toBe('attachment; filename="scanners.csv"');
    const expected: string[] = [];
    await svc.export({ format: 'csv', types: ['ip', 'cidr'], minScore: 0.01, sources: ['ips'], name: 'scanners' }, (c) => void expected.push(c));
    expect(filtered.body).toBe(expected.join(''));
    expect(filtered.body.trim().split('\n').slice(1).map((l) => l.split(',')[1]).sort()).toEqual(['185.156.73.0/24', '45.95.146.7', '89.248.165.12']);

    // maxAge is a duration (everything here was seen just now)
    expect((await get('/export?format=plain&maxAge=7d')).body).toContain('45.95.146.7');
    // bad queries are 400 with the offending parameter; nothing is streamed
    for (const [url, path] of [['/export?format=nope', 'query.format'], ['/export?minScore=2', 'query.minScore'], ['/export?types=email', 'query.types.0'], ['/export?sources=nope', 'query.sources'], ['/export?maxAge=soon', 'query.maxAge'], ['/export?fromat=csv', 'query']] as const) {
      const res = await get(url);
      expect(res.status, url).toBe(400);
      const body = JSON.parse(res.body) as { code: string; issues: Array<{ path: string }> };
      expect(body.code, url).toBe('TIP_INPUT_INVALID');
      expect(body.issues.map((i) => i.path), url).toContain(path);
    }

    const sources = JSON.parse((await get('/sources')).body) as { sources: Array<{ id: string; listed: number; lastRun: { status: string; httpStatus: number }; metrics: { weight: number } }> };
    expect(sources.sources.map((s) => [s.id, s.listed, s.lastRun.status, s.lastRun.httpStatus])).toEqual([['hosts', 2, 'succeeded', 200], ['ips', 4, 'succeeded', 200]]);
    const weights = JSON.parse((await get('/weights')).body) as { weights: Array<{ source: string; weight: number; falsePositiveRate: number }> };
    expect(weights.weights.map((w) => [w.source, w.falsePositiveRate])).toEqual([['hosts', 0], ['ips', 0.25]]);
    expect(sources.sources.map((s) => s.metrics.weight)).toEqual(weights.weights.map((w) => w.weight));
    // address-level metrics with their units: ips lists 2 + 256 + 1 IPv4 addresses, 1 of them private
    const byAddr = JSON.parse((await get('/weights')).body) as { weights: Array<{ source: string; addresses: { ipv4: { volume: number; falsePositiveAddresses: number } | null; ipv6: unknown } }>; units: Record<string, string> };
    expect(byAddr.weights.map((w) => [w.source, w.addresses.ipv4?.volume ?? null, w.addresses.ipv4?.falsePositiveAddresses ?? null, w.addresses.ipv6])).toEqual([['hosts', null, null, null], ['ips', 259, 1, null]]);
    expect(byAddr.units['addresses.ipv4']).toContain('IPv4 addresses');

    // lookups: exact listing, containing CIDR, canonical forms, not listed, not an indicator
    const ip = JSON.parse((await get('/indicators/45.95.146.7')).body) as { indicator: unknown; listed: { sources: string[]; score: number }; containedIn: unknown[] };
    expect(ip).toMatchObject({ indicator: { type: 'ip', value: '45.95.146.7' }, listed: { sources: ['ips'] }, containedIn: [] });
    expect(ip.listed.score).toBeGreaterThan(0);
    const inCidr = JSON.parse((await get('/indicators/185.156.73.54')).body) as { listed: unknown; containedIn: Array<{ value: string; sources: string[] }> };
    expect(inCidr.listed).toBeNull();
    expect(inCidr.containedIn.map((c) => [c.value, c.sources])).toEqual([['185.156.73.0/24', ['ips']]]);
    const domain = await get('/indicators/Login-Paypa1.NET');
    expect(JSON.parse(domain.body)).toMatchObject({ indicator: { type: 'domain', value: 'login-paypa1.net' }, listed: { sources: ['hosts'], categories: ['phishing'] } });
    const privateIp = JSON.parse((await get('/indicators/10.1.2.3')).body) as { allowlisted: { list: string } | null };
    expect(privateIp.allowlisted).not.toBeNull();
    const missing = await get(`/indicators/${encodeURIComponent('http://example.com/x')}`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'TIP_NOT_FOUND', error: 'url "http://example.com/x" is not listed' });
    const bad = await get(`/indicators/${encodeURIComponent('not an indicator')}`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'TIP_INPUT_INVALID', issues: [{ path: 'params.value' }] });
  });
});
