import { describe, expect, it } from 'vitest';
import { definePlugin, executeRaw, isTipError, type TipMigration } from '@tip/core';
import { startTestTip, tempDatabase, testDialects, type TestTip } from '@tip/core/testing';
import blacklist, { BlacklistToken, type Indicator } from '../src/index.js';
import { blacklistEntities } from '../src/db/entities.js';
import { blacklistMigrations } from '../src/db/migrations.js';
import { loadListings } from '../src/service/weights.js';

const DAY = 86_400_000;
const A: Indicator = { type: 'ip', value: '45.95.146.7' };
const B: Indicator = { type: 'ip', value: '89.248.165.12' };
const D: Indicator = { type: 'domain', value: 'relay-host-7.net' };
const policy = { maxInvalidRatio: 0.25, allowEmpty: false };
// No weights are computed in these tests: every source scores the default weight.
const W = 0.5;
// The MISP polynomial w·(1 − (t/τ)^(1/δ)) with the default parameters: ip τ 14 d δ 2, domain τ 60 d δ 1.
const ipScore = (ageDays: number) => (ageDays >= 14 ? 0 : W * (1 - Math.sqrt(ageDays / 14)));
const domainScore = (ageDays: number) => (ageDays >= 60 ? 0 : W * (1 - ageDays / 60));

const start = (dialect: 'sqlite' | 'postgresql') =>
  startTestTip({ database: dialect, plugins: [blacklist()], config: { blacklist: { weighting: { defaultWeight: W } } }, start: { schedule: false } });

/** The open listing rows of a source, by value. */
async function open(t: TestTip, source: string): Promise<Map<string, { first_seen: number; last_seen: number | null }>> {
  const { rows } = await executeRaw<{ value: string; first_seen: number | string; last_seen: number | string | null }>(
    t.app.em(),
    `select i.value, l.first_seen, l.last_seen from bl_listing l join bl_indicator i on i.id = l.indicator_id
     where l.source_id = '${source}' and l.removed_at is null`,
  );
  return new Map(rows.map((r) => [r.value, { first_seen: Number(r.first_seen), last_seen: r.last_seen === null ? null : Number(r.last_seen) }]));
}

describe.each(testDialects())('submitted indicators decay on %s', (dialect) => {
  it('an indicator submitted once ages while the source goes on submitting others', async () => {
    await using t = await start(dialect);
    const svc = t.app.get(BlacklistToken);
    await svc.registerSource({ id: 'traps', title: 'Spamtrap relays', category: 'spam' });
    const t0 = t.clock!.now();
    expect(await svc.submit('traps', [A, D])).toMatchObject({ added: 2 });
    expect((await svc.lookup(A)).listed).toMatchObject({ score: W, lastSeen: new Date(t0) });

    // a week later the source submits something else: its last success moves, A's last-seen does not
    await t.clock!.advanceTo(t0 + 7 * DAY);
    await svc.submit('traps', [B]);
    const a7 = (await svc.lookup(A)).listed!;
    expect(a7.lastSeen).toEqual(new Date(t0));
    expect(a7.score).toBeCloseTo(ipScore(7), 12);
    // explain reads the same per-listing last-seen
    const v7 = await svc.explain(A);
    expect(v7.score).toBe(a7.score);
    expect(v7.exact?.lastSeen).toEqual(new Date(t0));
    expect((await svc.lookup(B)).listed).toMatchObject({ score: W, lastSeen: new Date(t0 + 7 * DAY) });

    // 30 and 60 days on: A is past the ip lifetime (τ 14 d), the domain halfway through its 60 days
    await t.clock!.advanceTo(t0 + 30 * DAY);
    await svc.submit('traps', [B]);
    expect((await svc.lookup(A)).listed!.score).toBe(0);
    expect((await svc.lookup(D)).listed!.score).toBeCloseTo(domainScore(30), 12);
    await t.clock!.advanceTo(t0 + 60 * DAY);
    await svc.submit('traps', [B]);
    expect((await svc.lookup(D)).listed!.score).toBe(0);

    // exports read the same per-listing value: A and D still listed (no ttl), with their own last-seen
    const entries = new Map<string, { score: number; lastSeen: Date }>();
    for await (const e of svc.entries()) entries.set(e.value, e);
    expect([...entries.keys()].sort()).toEqual([A.value, B.value, D.value].sort());
    expect(entries.get(A.value)).toMatchObject({ score: 0, lastSeen: new Date(t0) });
    expect(entries.get(B.value)).toMatchObject({ score: W, lastSeen: new Date(t0 + 60 * DAY) });
    const fresh: string[] = [];
    for await (const e of svc.entries({ minScore: 0.01 })) fresh.push(e.value);
    expect(fresh).toEqual([B.value]);
    const recent: string[] = [];
    for await (const e of svc.entries({ maxAgeMs: 10 * DAY })) recent.push(e.value);
    expect(recent).toEqual([B.value]);
    // and so do the weights' listings
    const listings = await loadListings(t.app.db, 0, 100);
    expect(Object.fromEntries(listings.map((l) => [l.value, l.lastSeen]))).toEqual({ [A.value]: t0, [B.value]: t0 + 60 * DAY, [D.value]: t0 });
  });

  it('submitting again keeps an indicator fresh in the same listing', async () => {
    await using t = await start(dialect);
    const svc = t.app.get(BlacklistToken);
    await svc.registerSource({ id: 'traps', title: 'Spamtrap relays', category: 'spam' });
    const t0 = t.clock!.now();
    await svc.submit('traps', [A]);
    for (const day of [10, 20, 30]) {
      await t.clock!.advanceTo(t0 + day * DAY);
      expect(await svc.submit('traps', [A.value]), `day ${day}`).toMatchObject({ added: 0, unchanged: 1 });
    }
    expect((await svc.lookup(A)).listed).toMatchObject({ score: W, firstSeen: new Date(t0), lastSeen: new Date(t0 + 30 * DAY) });
    expect(await open(t, 'traps')).toEqual(new Map([[A.value, { first_seen: t0, last_seen: t0 + 30 * DAY }]]));
    expect(Number((await executeRaw<{ n: number }>(t.app.em(), 'select count(*) as n from bl_listing')).rows[0]!.n)).toBe(1);
    // 3 days after the last submission
    await t.clock!.advanceTo(t0 + 33 * DAY);
    expect((await svc.lookup(A)).listed!.score).toBeCloseTo(ipScore(3), 12);
    // removing keeps the listing's own last-seen (not the source's last success)
    await svc.submit('traps', [B]);
    await svc.submit('traps', [], [A]);
    const { rows } = await executeRaw<{ last_seen: number | string; removed_at: number | string }>(
      t.app.em(),
      `select l.last_seen, l.removed_at from bl_listing l join bl_indicator i on i.id = l.indicator_id where i.value = '${A.value}'`,
    );
    expect(rows.map((r) => [Number(r.last_seen), Number(r.removed_at)])).toEqual([[t0 + 30 * DAY, t0 + 33 * DAY]]);
  });

  it('a ttl closes listings not submitted again within it, in the cycle', async () => {
    await using t = await start(dialect);
    const svc = t.app.get(BlacklistToken);
    await svc.registerSource({ id: 'traps', title: 'Spamtrap relays', category: 'spam', ttl: '10d' });
    await svc.registerSource({ id: 'forever', title: 'No ttl', category: 'spam' });
    const t0 = t.clock!.now();
    await svc.submit('traps', [A, B, D]);
    await svc.submit('forever', [A]);
    await t.clock!.advanceTo(t0 + 5 * DAY);
    await svc.submit('traps', [B]);
    await t.clock!.advanceTo(t0 + 10 * DAY - 1);
    expect(await svc.expireSubmitted()).toEqual(new Map());

    // day 12: A and D are 12 days old (closed), B 7 days (kept); the source without a ttl keeps A
    await t.clock!.advanceTo(t0 + 12 * DAY);
    const cycle = await t.app.scheduler.trigger('blacklist');
    expect(cycle.status, cycle.error).toBe('succeeded');
    expect([...(await open(t, 'traps')).keys()]).toEqual([B.value]);
    expect([...(await open(t, 'forever')).keys()]).toEqual([A.value]);
    const closed = await executeRaw<{ value: string; last_seen: number | string; removed_at: number | string }>(
      t.app.em(),
      `select i.value, l.last_seen, l.removed_at from bl_listing l join bl_indicator i on i.id = l.indicator_id where l.source_id = 'traps' and l.removed_at is not null order by i.value`,
    );
    expect(closed.rows.map((r) => [r.value, Number(r.last_seen), Number(r.removed_at)])).toEqual([
      [A.value, t0, t0 + 12 * DAY],
      [D.value, t0, t0 + 12 * DAY],
    ]);
    expect((await svc.lookup(D)).listed).toBeNull();
    expect((await svc.lookup(A)).listed!.sources).toEqual(['forever']);
    expect((await svc.sources()).find((s) => s.id === 'traps')).toMatchObject({ listed: 1 });

    // submitted again later: a new listing period opens
    await t.clock!.advanceTo(t0 + 13 * DAY);
    expect(await svc.submit('traps', [A])).toMatchObject({ added: 1 });
    expect((await open(t, 'traps')).get(A.value)).toEqual({ first_seen: t0 + 13 * DAY, last_seen: t0 + 13 * DAY });

    // registering again without a ttl removes it: nothing is closed any more
    await svc.registerSource({ id: 'traps', title: 'Spamtrap relays', category: 'spam' });
    await t.clock!.advanceTo(t0 + 100 * DAY);
    expect(await svc.expireSubmitted()).toEqual(new Map());
    expect([...(await open(t, 'traps')).keys()].sort()).toEqual([A.value, B.value].sort());
    // the event path carries a ttl too
    await t.app.events.emit('blacklist.indicators.submitted', { source: { id: 'traps', title: 'Spamtrap relays', category: 'spam', ttl: '1d' }, add: [D] });
    await t.clock!.advanceTo(t0 + 101 * DAY - 1);
    expect(await svc.expireSubmitted()).toEqual(new Map([['traps', 2]]));
    expect([...(await open(t, 'traps')).keys()]).toEqual([D.value]);
    // a listing is closed once its age reaches the ttl
    await t.clock!.advanceTo(t0 + 101 * DAY);
    expect(await svc.expireSubmitted()).toEqual(new Map([['traps', 1]]));
  });

  it('the ttl expiry pages through many listings (more than one SQLite page)', async () => {
    await using t = await start(dialect);
    const svc = t.app.get(BlacklistToken);
    await svc.registerSource({ id: 'bulk', title: 'Bulk', category: 'scanner', ttl: '10d' });
    const ips = Array.from({ length: 12_000 }, (_, k): Indicator => ({ type: 'ip', value: `45.${10 + Math.floor(k / 65536)}.${Math.floor(k / 256) % 256}.${k % 256}` }));
    const t0 = t.clock!.now();
    expect(await svc.submit('bulk', ips)).toMatchObject({ added: 12_000 });
    await t.clock!.advanceTo(t0 + 5 * DAY);
    const kept = ips.filter((_, k) => k % 3 === 0);
    await svc.submit('bulk', kept);
    await t.clock!.advanceTo(t0 + 12 * DAY);
    expect(await svc.expireSubmitted()).toEqual(new Map([['bulk', 8000]]));
    const still = await open(t, 'bulk');
    expect(still.size).toBe(4000);
    for (const i of kept) expect(still.get(i.value)?.last_seen).toBe(t0 + 5 * DAY);
  });

  it('registerSource refuses bad input, naming the field', async () => {
    await using t = await start(dialect);
    const svc = t.app.get(BlacklistToken);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ id: 'x', title: 'X', category: 'spam', ttl: '10s' }, 'ttl'],
      [{ id: 'x', title: 'X', category: 'spam', ttl: 'soon' }, 'ttl'],
      [{ id: 'x', title: 'X', category: 'spam', ttl: '4000d' }, 'ttl'],
      [{ id: 'x', title: 'X', category: 'evil' }, 'category'],
      [{ id: '../x', title: 'X', category: 'spam' }, 'id'],
      [{ id: 'x'.repeat(101), title: 'X', category: 'spam' }, 'id'],
      [{ id: 'x', title: '', category: 'spam' }, 'title'],
      [{ id: 'x', title: 'X', category: 'spam', license: 'l'.repeat(1001) }, 'license'],
    ];
    for (const [source, option] of bad) {
      const err = await svc.registerSource(source as never).then(() => undefined, (e: unknown) => e);
      expect(isTipError(err, 'TIP_INPUT_INVALID') && err.details.option, JSON.stringify(source).slice(0, 80)).toBe(option);
    }
    expect(await svc.sources()).toEqual([]);
  });

  it('feeds keep their source-level last-seen', async () => {
    await using t = await start(dialect);
    const svc = t.app.get(BlacklistToken);
    const ing = svc.ingester;
    const t0 = t.clock!.now();
    await ing.upsertSource({ id: 'feed', title: 'Feed', format: 'plain', category: 'spam', origin: 'feed', enabled: true }, t0);
    await svc.registerSource({ id: 'traps', title: 'Spamtrap relays', category: 'spam' });
    const snap = async (day: number, values: Indicator[]) => {
      await t.clock!.advanceTo(t0 + day * DAY);
      const now = t.clock!.now();
      await ing.recordRun({ sourceId: 'feed', startedAt: now, now }, 'succeeded', await ing.snapshot({ sourceId: 'feed', startedAt: now, now }, values, policy));
    };
    await snap(0, [A, B]);
    await svc.submit('traps', [A]);
    await snap(20, [A, B]);
    // the feed's open listings have no last-seen of their own: they read the source's last success
    expect(await open(t, 'feed')).toEqual(new Map([[A.value, { first_seen: t0, last_seen: null }], [B.value, { first_seen: t0, last_seen: null }]]));
    expect((await svc.lookup(B)).listed).toMatchObject({ score: W, lastSeen: new Date(t0 + 20 * DAY) });
    // A: the feed saw it on day 20, the submission was on day 0 — the latest wins, two sources
    const a = (await svc.lookup(A)).listed!;
    expect(a).toMatchObject({ lastSeen: new Date(t0 + 20 * DAY), sources: ['feed', 'traps'] });
    expect(a.score).toBeCloseTo(1 - (1 - W) * (1 - W), 12);
    // a feed's removal records the source's last success as last-seen, as before
    await snap(25, [A]);
    const { rows } = await executeRaw<{ last_seen: number | string; removed_at: number | string }>(
      t.app.em(),
      `select l.last_seen, l.removed_at from bl_listing l join bl_indicator i on i.id = l.indicator_id where l.source_id = 'feed' and i.value = '${B.value}'`,
    );
    expect(rows.map((r) => [Number(r.last_seen), Number(r.removed_at)])).toEqual([[t0 + 20 * DAY, t0 + 25 * DAY]]);
    // the ttl expiry leaves feeds alone, even one whose id once was a submitted source's with a ttl
    await executeRaw(t.app.em(), `update bl_source set ttl_ms = 60000 where id = 'feed'`);
    await t.clock!.advanceTo(t0 + 400 * DAY);
    expect(await svc.expireSubmitted()).toEqual(new Map());
    expect([...(await open(t, 'feed')).keys()]).toEqual([A.value]);
  });

  it('the 0004 migration gives open submitted listings a last-seen, leaving feeds and closed listings alone', async () => {
    const index = blacklistMigrations.findIndex((m) => m.name === '0004-submitted-last-seen');
    expect(index).toBeGreaterThan(0);
    const schema = (upTo: number) =>
      definePlugin({
        name: 'bl-schema', version: '0.0.0', core: '^0.2.0',
        register(ctx) {
          if (upTo === blacklistMigrations.length) ctx.entities(...blacklistEntities);
          ctx.migrations(...(blacklistMigrations.slice(0, upTo) as TipMigration[]));
        },
      });
    const database = await tempDatabase(dialect);
    try {
      {
        await using old = await startTestTip({ database, plugins: [schema(index)] });
        const em = old.app.em();
        const on = dialect === 'sqlite' ? 1 : 'true';
        await executeRaw(em, `insert into bl_source (id, title, format, category, origin, enabled, created_at, last_success_at) values
          ('sub', 'Sub', 'submitted', 'spam', 'plugin', ${on}, 1, 5000), ('never', 'Never', 'submitted', 'spam', 'plugin', ${on}, 1, null),
          ('feed', 'Feed', 'plain', 'spam', 'feed', ${on}, 1, 6000)`);
        await executeRaw(em, `insert into bl_indicator (id, type, value, first_seen) values (1, 'ip', '45.3.0.1', 100), (2, 'ip', '45.3.0.2', 100)`);
        await executeRaw(em, `insert into bl_listing (id, source_id, indicator_id, first_seen, last_seen, removed_at) values
          (1, 'sub', 1, 1000, null, null), (2, 'sub', 2, 500, 800, 900), (3, 'never', 1, 1200, null, null), (4, 'feed', 1, 1000, null, null)`);
      }
      await using t = await startTestTip({ database, plugins: [schema(blacklistMigrations.length)] });
      const { rows } = await executeRaw<{ id: number; last_seen: number | string | null; removed_at: number | string | null }>(t.app.em(), 'select id, last_seen, removed_at from bl_listing order by id');
      expect(rows.map((r) => [Number(r.id), r.last_seen === null ? null : Number(r.last_seen), r.removed_at === null ? null : Number(r.removed_at)])).toEqual([
        [1, 5000, null], // the source's last success
        [2, 800, 900], // closed: unchanged
        [3, 1200, null], // a source that never succeeded: the listing's first-seen
        [4, null, null], // feeds keep null
      ]);
      const ttl = await executeRaw<{ ttl_ms: unknown }>(t.app.em(), `select ttl_ms from bl_source`);
      expect(ttl.rows.map((r) => r.ttl_ms)).toEqual([null, null, null]);
    } finally {
      await database.drop();
    }
  });
});
