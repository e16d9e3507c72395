import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorePoints, executeRaw, type TipApp } from '@tip/core';
import { serveFeeds, startTestTip, tempDatabase, testDialects, type FeedServer, type TestTip } from '@tip/core/testing';
import blacklist, { BlacklistToken } from '../src/index.js';

// Read-only commands start the app in mode "read": init and the commands must not write.
let server: FeedServer;
beforeAll(async () => {
  server = await serveFeeds({ '/ips.txt': '45.95.146.7\n89.248.165.12\n185.156.73.0/24\n', '/hosts.txt': '0.0.0.0 malware-drop-1.com\n' });
});
afterAll(() => server.close());

const feeds = () => [
  { id: 'ips', url: server.url('/ips.txt'), format: 'plain', category: 'scanner' },
  { id: 'hosts', url: server.url('/hosts.txt'), format: 'hosts', category: 'malware' },
];

/** Every row of the plugin's tables, to compare before and after. */
async function dump(t: TestTip): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of ['bl_source', 'bl_indicator', 'bl_listing', 'bl_source_run', 'bl_source_metric', 'bl_snapshot']) {
    out[table] = (await executeRaw(t.app.em(), `select * from ${table} order by 1`)).rows;
  }
  return out;
}

/** Runs a plugin command the way the CLI does, capturing its output. */
async function command(app: TipApp, name: string, values: Record<string, string | boolean | string[]>): Promise<{ code: number; out: string }> {
  const def = app.extensionPoint(CorePoints.commands).list().find((c) => c.name === name)!;
  expect(def.mode ?? 'read', name).toBe('read');
  let out = '';
  const code = await def.run({ values, positionals: [], out: (s) => void (out += s), err: (s) => void (out += s) });
  return { code, out };
}

describe.each(testDialects())('blacklist in read mode on %s', (dialect) => {
  it('exports, lists sources and weights from an existing database without writing', async () => {
    const database = await tempDatabase(dialect);
    try {
      const writer = await startTestTip({ database, plugins: [blacklist()], config: { blacklist: { feeds: feeds() } }, start: { schedule: false } });
      expect((await writer.app.scheduler.trigger('blacklist')).status).toBe('succeeded');
      const expected: string[] = [];
      await writer.app.get(BlacklistToken).export({ format: 'plain' }, (c) => void expected.push(c));
      await writer.close();

      // another configuration: one feed dropped, one new — a writing init would upsert/disable them
      const other = { blacklist: { feeds: [feeds()[0]!, { id: 'new-feed', url: server.url('/new.txt'), format: 'plain', category: 'spam' }] } };
      await using reader = await startTestTip({ database, plugins: [blacklist()], config: other, start: { mode: 'read' } });
      expect(reader.app.mode).toBe('read');
      const before = await dump(reader);
      expect(before.bl_source!.map((r) => (r as { id: string }).id)).toEqual(['hosts', 'ips']);

      const exported = await command(reader.app, 'blacklist export', { format: 'plain', 'no-allowlist': false });
      expect(exported.code).toBe(0);
      expect(exported.out.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(expected.join('').split('\n').filter((l) => l && !l.startsWith('#')));
      const sources = JSON.parse((await command(reader.app, 'blacklist sources', { json: true })).out) as Array<{ id: string; listed: number; enabled: boolean }>;
      expect(sources.map((s) => [s.id, s.listed, s.enabled])).toEqual([['hosts', 1, true], ['ips', 3, true]]);
      const stored = JSON.parse((await command(reader.app, 'blacklist weights', { json: true })).out) as Array<{ source: string; weight: number; computedAt: number }>;
      expect(stored.map((m) => m.source)).toEqual(['hosts', 'ips']);
      const now = JSON.parse((await command(reader.app, 'blacklist weights', { json: true, now: true })).out) as Array<{ source: string; weight: number }>;
      expect(now.map((m) => [m.source, m.weight])).toEqual(stored.map((m) => [m.source, m.weight]));
      expect((await command(reader.app, 'blacklist weights', {})).out).toMatch(/^source\s+volume/);

      expect(await dump(reader)).toEqual(before);
    } finally {
      await database.drop();
    }
  });
});
