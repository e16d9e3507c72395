import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouteRouter } from '@tip/core';
import { responseText, serveFeeds, startTestTip, testDialects, type FeedServer } from '@tip/core/testing';
import blacklist, { BlacklistToken, type Verdict } from '../src/index.js';
import { built, tipCli } from './tip-cli.js';

// `GET /api/blacklist/explain/:value` and `tip blacklist explain <value>`, fed by two local feeds.
let server: FeedServer;
beforeAll(async () => {
  server = await serveFeeds({
    '/ips.txt': '45.95.146.7\n89.248.165.12\n185.156.73.0/24\n10.1.2.3\n',
    '/more.txt': '45.95.146.7\n185.156.0.0/16\n',
    '/hosts.txt': '0.0.0.0 malware-drop-1.com\n0.0.0.0 login-paypa1.net\n',
  });
});
afterAll(() => server.close());

const feeds = () => [
  { id: 'ips', url: server.url('/ips.txt'), format: 'plain', category: 'scanner' },
  { id: 'more', url: server.url('/more.txt'), format: 'plain', category: 'spam' },
  { id: 'hosts', url: server.url('/hosts.txt'), format: 'hosts', category: 'phishing' },
];

describe.each(testDialects())('GET /api/blacklist/explain/:value on %s', (dialect) => {
  it('returns the service verdict as JSON; 400 naming the value for a non-indicator', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist()], config: { blacklist: { feeds: feeds() } }, start: { schedule: false } });
    expect((await t.app.scheduler.trigger('blacklist')).status).toBe('succeeded');
    const router = new RouteRouter(t.app.routes(), { log: t.app.log, servedScopes: ['read'] });
    const get = async (value: string) => {
      const res = await router.handle({ method: 'GET', url: `/api/blacklist/explain/${encodeURIComponent(value)}` });
      return { status: res!.status, body: JSON.parse(await responseText(res)) as Record<string, unknown> };
    };
    const svc = t.app.get(BlacklistToken);
    const ip = await get('45.95.146.7');
    expect(ip.status).toBe(200);
    // the same verdict as the service's, serialised (dates as ISO strings)
    expect(ip.body).toEqual(JSON.parse(JSON.stringify(await svc.explain('45.95.146.7'))));
    const v = ip.body as unknown as Verdict;
    expect(v.exact!.listings.map((l) => l.source)).toEqual(['ips', 'more']);
    expect(v.score).toBe((await svc.lookup(v.indicator)).listed!.score);
    expect(v.sources.map((s) => [s.id, s.weightFrom])).toEqual([['ips', 'metrics'], ['more', 'metrics']]);
    const inCidr = (await get('185.156.73.54')).body as unknown as Verdict;
    expect(inCidr.related.map((r) => [r.match, r.indicator.value])).toEqual([['covering-cidr', '185.156.73.0/24'], ['covering-cidr', '185.156.0.0/16']]);
    const url = (await get('http://www.login-paypa1.net/x')).body as unknown as Verdict;
    expect(url.related.map((r) => [r.match, r.indicator.value])).toEqual([['parent-domain', 'login-paypa1.net']]);
    expect((await get('10.1.2.3')).body).toMatchObject({ listed: true, exported: false, allowlisted: { list: 'rfc1918' } });
    // nothing lists it: still a verdict (score 0), not a 404
    expect(await get('8.8.4.4')).toMatchObject({ status: 200, body: { score: 0, listed: false, exact: null, related: [] } });
    const bad = await get('not an indicator');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'TIP_INPUT_INVALID', issues: [{ path: 'params.value' }] });
    expect(bad.body.error).toContain('"not an indicator" is not an indicator: contains whitespace');
  });
});

describe.skipIf(!built)('tip blacklist explain', () => {
  const cli = tipCli('tip-bl-explain-');
  const tip = cli.tip;
  beforeAll(() => cli.configure({ feeds: feeds() }));
  afterAll(() => cli.remove());

  it('prints a readable explanation, --json the verdict, and refuses a non-indicator', async () => {
    expect((await tip(['trigger', 'blacklist'])).code).toBe(0);
    const json = await tip(['blacklist', 'explain', '45.95.146.7', '--json']);
    expect(json.code).toBe(0);
    const v = JSON.parse(json.stdout) as Verdict;
    expect(v.indicator).toEqual({ type: 'ip', value: '45.95.146.7' });
    expect(v.exact!.listings.map((l) => l.source)).toEqual(['ips', 'more']);
    expect(v.sources.every((s) => s.breakdownMatches === true)).toBe(true);
    // the exported score is the verdict's (the CLI runs on the system clock: a second later, an
    // IP's decay has moved a little; the exact equality is tested in explain.test.ts)
    const csv = await tip(['blacklist', 'export', '-f', 'csv', '--type', 'ip']);
    const header = csv.stdout.split('\n')[0]!.split(',');
    const row = csv.stdout.split('\n').find((l) => l.includes(',45.95.146.7,'))!.split(',');
    expect(Number(row[header.indexOf('score')])).toBeCloseTo(v.score, 2);

    const human = await tip(['blacklist', 'explain', '185.156.73.54']);
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n');
    expect(lines[0]).toMatch(/^ip 185\.156\.73\.54: score 0\.000 \(not listed\); highest related score 0\.\d{3}$/);
    expect(human.stdout).toContain('score 0: no enabled source lists 185.156.73.54 itself; covering CIDRs');
    expect(human.stdout).toContain('covering-cidr: cidr 185.156.73.0/24: score');
    expect(human.stdout).toContain('covering-cidr: cidr 185.156.0.0/16: score');
    expect(human.stdout).toMatch(/source weights:\n {2}ips: weight 0\.\d{3} — \(1 − fpr 0\.250\)\^2 = 0\.563 × weighted mean/);
    expect(human.stdout).toContain('allow-list: no match');
    const priv = await tip(['blacklist', 'explain', '10.1.2.3']);
    expect(priv.stdout).toContain('(listed, not exported (allow-listed))');
    expect(priv.stdout).toContain('allow-list: rfc1918 (10.0.0.0/8): 10.0.0.0/8 is private-use address space (RFC 1918)');

    const bad = await tip(['blacklist', 'explain', 'not-a-domain']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: value: "not-a-domain" is not an indicator');
    expect((await tip(['blacklist', 'explain'])).code).not.toBe(0);
  });
});
