/**
 * Exports through the plugin on SQLite and PostgreSQL: aggregation from the database (checked
 * against `iprange --optimize` of the unaggregated export), the new formats over the route, the
 * MISP feed directory, the hosts count, and the `blacklistWriters` extension point with a
 * third-party writer plugin.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, RouteRouter } from '@tip/core';
import { responseText, serveFeeds, startTestTip, testDialects, type FeedServer } from '@tip/core/testing';
import blacklist, { blacklistWriters, BlacklistToken, type ExportWriter } from '../src/index.js';
import { rangeOf, RangeSet } from '../src/indicators/ip.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => readFileSync(path.join(here, 'fixtures', 'exports', name), 'utf8');
const hasIprange = spawnSync('iprange', ['--has-compare']).status === 0;
if (!hasIprange) console.warn('export-service: iprange not found (apt-get install iprange): the iprange reference check is SKIPPED');
const tmp = mkdtempSync(path.join(tmpdir(), 'tip-export-service-'));

let feeds: FeedServer;
beforeAll(async () => {
  feeds = await serveFeeds({ '/a.txt': fixture('aggregate-a.txt'), '/b.txt': fixture('aggregate-b.txt') });
});
afterAll(async () => {
  await feeds.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A third-party writer: one `type<TAB>count` line per indicator type. */
const countWriter: ExportWriter = {
  format: 'count-by-type',
  contentType: 'text/tab-separated-values',
  fileExtension: 'tsv',
  async *write(entries, _meta, tally) {
    const counts = new Map<string, number>();
    for await (const e of entries) {
      counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
      tally?.wrote();
    }
    yield [...counts].sort().map(([t, n]) => `${t}\t${n}\n`).join('');
  },
};
const writerPlugin = (writer: ExportWriter, name = 'third-party-writer') =>
  definePlugin({ name, version: '0.0.0', core: '^0.2.0', register: (ctx) => void ctx.extend(blacklistWriters).add(writer) });

const config = () => ({
  blacklist: {
    feeds: [
      { id: 'a', url: feeds.url('/a.txt'), format: 'plain', category: 'scanner' },
      { id: 'b', url: feeds.url('/b.txt'), format: 'plain', category: 'spam' },
    ],
    export: { nftables: { table: 'filter' } },
  },
});
const values = (doc: string) => doc.split('\n').filter((l) => l && !l.startsWith('#'));

describe.each(testDialects())('exports through the plugin on %s', (dialect) => {
  it('aggregates from the database, serves ipset/nftables/misp, writes a MISP feed, counts hosts right', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [blacklist(), writerPlugin(countWriter)], config: config(), start: { schedule: false } });
    expect((await t.app.scheduler.trigger('blacklist')).status).toBe('succeeded');
    const router = new RouteRouter(t.app.routes(), { log: t.app.log, servedScopes: ['read'] });
    const get = async (url: string) => {
      const res = await router.handle({ method: 'GET', url: `/api/blacklist${url}` });
      return { status: res!.status, headers: res!.headers, body: await responseText(res) };
    };
    const svc = t.app.get(BlacklistToken);

    // aggregation: the route, the service and iprange agree
    const raw = values((await get('/export?format=plain&types=ip,cidr')).body);
    const agg = await get('/export?format=plain&types=ip,cidr&aggregate=1');
    expect(agg.status).toBe(200);
    const aggregated = values(agg.body);
    let fromService = '';
    const r = await svc.export({ format: 'plain', types: ['ip', 'cidr'], aggregate: true }, (c) => void (fromService += c));
    expect(values(fromService)).toEqual(aggregated);
    expect(r).toMatchObject({ count: raw.length, written: aggregated.length, aggregated: { entries: raw.length, blocks: aggregated.length } });
    expect(aggregated.length).toBeLessThan(raw.length);
    const inSet = RangeSet.from(raw);
    const outSet = RangeSet.from(aggregated);
    for (const v of raw) expect(outSet.containsValue(v), v).toBe(true);
    for (const v of aggregated) expect(inSet.containsValue(v), v).toBe(true);
    if (hasIprange) {
      const file = path.join(tmp, `${dialect}-raw.txt`);
      writeFileSync(file, raw.filter((v) => !v.includes(':')).join('\n'));
      expect(aggregated.filter((v) => !v.includes(':'))).toEqual(spawnSync('iprange', ['--optimize', file], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean));
    }
    // metadata of a merged block: both sources, the higher score
    const csv = (await get('/export?format=csv&aggregate=true')).body.split('\r\n');
    const row = csv.find((l) => l.startsWith('cidr,45.3.0.0/30,'))!.split(',');
    expect(row[5]!.split(';')).toEqual(['a', 'b']);
    expect(row[6]!.split(';')).toEqual(['scanner', 'spam']);

    // ipset aggregates by default, aggregate=0 keeps the covered entries
    const ipset = await get('/export?format=ipset&name=scanners');
    expect(ipset.headers['content-disposition']).toBe('attachment; filename="scanners.ipset"');
    expect(ipset.body).toContain('add scanners-v4-tmp 45.2.0.0/23\n');
    expect(ipset.body).not.toContain('45.2.0.7');
    expect((await get('/export?format=ipset&aggregate=0')).body).toContain('add tip-blacklist-v4-tmp 45.2.0.7\n');
    // nftables: the table from the configuration
    const nft = await get('/export?format=nftables');
    expect(nft.body).toContain('table inet filter {\n\tset tip-blacklist-v4 { type ipv4_addr; flags interval; }');
    // a list name that cannot name a set: 400 naming query.name, before anything is streamed
    const badName = await get(`/export?format=ipset&name=${'x'.repeat(30)}`);
    expect(badName.status).toBe(400);
    expect(JSON.parse(badName.body)).toMatchObject({ code: 'TIP_INPUT_INVALID', issues: [{ path: 'query.name' }] });
    expect((await get('/export?format=ipset&aggregate=maybe')).status).toBe(400);

    // misp over the route: the event document
    const misp = JSON.parse((await get('/export?format=misp')).body) as { Event: { uuid: string; Attribute: Array<{ type: string; value: string }> } };
    expect(new Set(misp.Event.Attribute.map((a) => a.type))).toEqual(new Set(['ip-dst', 'domain', 'url']));
    // … and the feed directory, with the same event
    const dir = path.join(tmp, `${dialect}-misp`);
    const feed = await svc.exportMispFeed(dir, {});
    expect(readdirSync(dir).sort()).toEqual([`${misp.Event.uuid}.json`, 'hashes.csv', 'manifest.json']);
    expect(feed.written).toBe(misp.Event.Attribute.length);
    expect(readFileSync(path.join(dir, 'hashes.csv'), 'utf8').trim().split('\n')).toHaveLength(feed.written);

    // hosts: the count is the domains written, not the entries read
    let hosts = '';
    const h = await svc.export({ format: 'hosts' }, (c) => void (hosts += c));
    expect(h.written).toBe(values(hosts).length);
    expect(h.count).toBeGreaterThan(h.written);
    expect(h.bytes).toBe(Buffer.byteLength(hosts));

    // the third-party writer, registered through the extension point
    expect(svc.writers.get('count-by-type')).toBe(countWriter);
    const counted = await get('/export?format=count-by-type');
    expect(counted.headers['content-disposition']).toBe('attachment; filename="tip-blacklist.tsv"');
    const all = values((await get('/export?format=plain')).body);
    expect(counted.body).toBe(
      ['cidr', 'domain', 'ip', 'url']
        .map((type) => [type, all.filter((v) => (type === 'url' ? v.includes('://') : type === 'domain' ? !v.includes('://') && rangeOf(v) === null : type === 'cidr' ? v.includes('/') && rangeOf(v) !== null : !v.includes('/') && rangeOf(v) !== null)).length] as const)
        .filter(([, n]) => n > 0)
        .map(([type, n]) => `${type}\t${n}\n`)
        .join(''),
    );
    // unknown formats list every registered one, built-ins and the third party's
    const unknown = await get('/export?format=nope');
    expect(unknown.status).toBe(400);
    for (const f of ['plain', 'hosts', 'csv', 'json', 'rpz', 'stix', 'ipset', 'nftables', 'misp', 'count-by-type']) expect(unknown.body).toContain(f);
    await expect(svc.export({ format: 'nope' }, () => {})).rejects.toMatchObject({ code: 'BL_EXPORT_FORMAT_UNKNOWN', details: { known: expect.arrayContaining(['count-by-type', 'misp']) } });
  });

  it('takes writers from plugins registered before it and from its own options', async () => {
    const other: ExportWriter = { ...countWriter, format: 'other' };
    await using t = await startTestTip({ database: dialect, plugins: [writerPlugin(countWriter), blacklist({ writers: [other] })], config: config(), start: { schedule: false } });
    const svc = t.app.get(BlacklistToken);
    expect([...svc.writers.keys()].sort()).toEqual(['count-by-type', 'csv', 'hosts', 'ipset', 'json', 'misp', 'nftables', 'other', 'plain', 'rpz', 'stix']);
    expect(svc.writers.get('other')).toBe(other);
  });

  it('refuses a writer whose format is taken, and a writer without a format', async () => {
    const csvAgain: ExportWriter = { ...countWriter, format: 'csv' };
    await expect(startTestTip({ database: dialect, plugins: [blacklist(), writerPlugin(csvAgain)], config: config(), start: { schedule: false } })).rejects.toThrow(/"csv" added by third-party-writer is already added by @tip\/plugin-blacklist/);
    const nameless = { ...countWriter, format: '' } as ExportWriter;
    await expect(startTestTip({ database: dialect, plugins: [blacklist({ writers: [nameless] })], config: config(), start: { schedule: false } })).rejects.toThrow(/an export writer needs a "format"/);
  });
});
