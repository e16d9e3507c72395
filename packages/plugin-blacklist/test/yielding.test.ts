import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { definePlugin, TipErrorCodes } from '@tip/core';
import { startTestTip, testDialects } from '@tip/core/testing';
import { blacklistEntities } from '../src/db/entities.js';
import { blacklistMigrations } from '../src/db/migrations.js';
import { IndicatorSet } from '../src/ingest/IndicatorSet.js';
import { Ingester } from '../src/ingest/Ingester.js';
import { SQLITE_PAGE } from '../src/ingest/ListingStore.js';
import { StatementSizer } from '../src/ingest/StatementSizer.js';
import { sortStrings } from '../src/ingest/sortStrings.js';
import { Yielder } from '../src/ingest/Yielder.js';
import { decodeFeedBody, decodeFeedBodyAsync } from '../src/parsers/decode.js';
import { parseFeed, parseFeedAsync } from '../src/parsers/parseFeed.js';
import { ParserRegistry } from '../src/parsers/registry.js';

// The yielding variants give exactly the results of their synchronous counterparts. A Yielder
// with a 0 ms slice pauses at every check, so every pause path is exercised.

const eager = () => new Yielder(0);
const set = (values: string[], type: 'ip' | 'domain' = 'ip') => {
  const s = new IndicatorSet();
  for (const v of values) s.add(type, v);
  return s;
};
const range = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => `45.${(i + offset) >>> 16}.${((i + offset) >>> 8) & 255}.${(i + offset) & 255}`);

describe('yielding helpers', () => {
  it('sortStrings sorts like Array.prototype.sort (UTF-16 order), across merged runs', async () => {
    let seed = 1;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
    const values = Array.from({ length: 40_000 }, () => `${rnd().toString(36)}${rnd() % 3 === 0 ? 'É' : ''}`);
    values.push('b', 'B', 'a\u{1F600}', 'a\uFFFF', '');
    expect(await sortStrings(values.slice(), eager())).toEqual(values.slice().sort());
    expect(await sortStrings(['c', 'a', 'b'], eager())).toEqual(['a', 'b', 'c']);
  });

  it('consumeDiffAsync, serializeAsync, parseAsync, mergeAsync, fromAsync equal their synchronous forms', async () => {
    const mk = () => {
      const s = set(range(3000));
      s.add('domain', 'evil.example');
      return s;
    };
    const next = set(range(3000, 1000));
    const a = mk().consumeDiff(next);
    const b = await mk().consumeDiffAsync(next, eager());
    expect([...b.added]).toEqual([...a.added]);
    expect([...b.removed]).toEqual([...a.removed]);

    const s = mk();
    expect(await s.serializeAsync(eager())).toBe(s.serialize());
    expect([...(await IndicatorSet.parseAsync(s.serialize(), eager()))]).toEqual([...IndicatorSet.parse(s.serialize())]);

    const merged = mk();
    await merged.mergeAsync(next, eager());
    expect(merged.size).toBe(4001);
    await merged.mergeAsync(next, eager(), true);
    expect(merged.size).toBe(1001);

    const list = [...mk(), ...mk()];
    expect([...(await IndicatorSet.fromAsync(list, eager()))]).toEqual([...mk()]);
  });

  it('parseFeedAsync yields the same set and statistics as parseFeed; async gunzip keeps the errors', async () => {
    const registry = ParserRegistry.withDefaults();
    const text = ['# comment', ...range(5000), 'garbage', '45.0.0.1', 'evil.example'].join('\n');
    const sync = parseFeed(registry, 'plain', gzipSync(text), {}, { maxBytes: 1 << 20, name: 'f' });
    const async = await parseFeedAsync(registry, 'plain', gzipSync(text), {}, { maxBytes: 1 << 20, name: 'f' }, eager());
    expect([...async.set]).toEqual([...sync.set]);
    expect(async.stats).toEqual(sync.stats);
    await expect(parseFeedAsync(registry, 'nope', text)).rejects.toMatchObject({ code: 'BL_FEED_FORMAT_UNKNOWN' });

    const bomb = gzipSync(Buffer.alloc(10_000, 0x41));
    expect(() => decodeFeedBody(bomb, { maxBytes: 1000, name: 'f' })).toThrow(expect.objectContaining({ code: TipErrorCodes.HTTP_TOO_LARGE }));
    await expect(decodeFeedBodyAsync(bomb, { maxBytes: 1000, name: 'f' })).rejects.toMatchObject({ code: TipErrorCodes.HTTP_TOO_LARGE });
    await expect(decodeFeedBodyAsync(bomb.subarray(0, 12), { maxBytes: 1000, name: 'f' })).rejects.toMatchObject({ code: TipErrorCodes.HTTP_TRUNCATED });
    expect(await decodeFeedBodyAsync(gzipSync('a\nb'), { maxBytes: 1000 })).toBe('a\nb');
  });

  it('StatementSizer aims each statement at its target duration, within bounds', () => {
    const s = new StatementSizer();
    s.fit(s.size, 200); // far too slow: shrinks
    expect(s.size).toBeLessThan(2000);
    for (let i = 0; i < 20; i++) s.fit(s.size, 1); // very fast: grows to the cap
    expect(s.size).toBe(20_000);
    const before = s.size;
    s.fit(10, 1000); // a short tail teaches nothing
    expect(s.size).toBe(before);
  });
});

const schemaOnly = definePlugin({
  name: 'bl-schema', version: '0.0.0', core: '^0.2.0',
  register(ctx) { ctx.entities(...blacklistEntities); ctx.migrations(...blacklistMigrations); },
});

describe.each(testDialects())('paged and sliced ingestion on %s', (dialect) => {
  it('a source without a stored snapshot is diffed against its open listings read in pages', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [schemaOnly] });
    const ing = new Ingester(t.app.db, t.app.log);
    await ing.upsertSource({ id: 'a', title: 'A', format: 'plain', category: 'spam', origin: 'feed', enabled: true }, 1);
    const n = SQLITE_PAGE * 2 + 7;
    const policy = { maxInvalidRatio: 0.25, allowEmpty: false };
    expect(await ing.snapshot({ sourceId: 'a', startedAt: 1, now: 1000 }, set(range(n)), policy)).toMatchObject({ added: n });
    // A delta drops the stored snapshot; a fresh ingester has no cache: the next run reads open listings.
    await ing.delta({ sourceId: 'a', startedAt: 2, now: 2000 }, [{ type: 'ip', value: '45.255.0.1' }]);
    const fresh = new Ingester(t.app.db, t.app.log);
    const counts = await fresh.snapshot({ sourceId: 'a', startedAt: 3, now: 3000 }, set(range(n, 10)), policy);
    expect(counts).toEqual({ records: n, added: 10, removed: 11, unchanged: n - 10, invalid: 0 });
    expect((await fresh.store.openSet(t.app.em(), 'a')).size).toBe(n);
  });
});
