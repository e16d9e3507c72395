import { describe, expect, it } from 'vitest';
import { definePlugin, executeRaw, type TipMigration } from '@tip/core';
import { startTestTip, tempDatabase, testDialects } from '@tip/core/testing';
import webPlugin from '../src/index.js';
import { streamMigrations } from '../src/stream/db.js';

// The web plugin's migrations create the tables its entities describe (what MikroORM's schema
// diff compares), and a database migrated by 0001-stream keeps its rows through 0002-stream-schema.

/** The statements of a schema diff, empty ones and pragmas left out. */
const statements = (diff: string) =>
  diff
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('pragma'));

describe.each(testDialects())('web schema on %s', (dialect) => {
  it('migrations create the schema the entities describe', async () => {
    await using t = await startTestTip({ database: dialect, plugins: [webPlugin()], start: { schedule: false } });
    const diff = statements(await t.app.db.orm.schema.getUpdateSchemaSQL({ wrap: false }));
    if (dialect === 'postgresql') expect(diff).toEqual([]);
    // SQLite: only web_event's rebuild, because its seq is `integer primary key autoincrement`
    // (SQLite's only autoincrement form) where the entity says bigint (bigserial on PostgreSQL)
    else expect(diff.filter((s) => !/`web_event(__temp_alter)?`/.test(s))).toEqual([]);
  });

  it('0002-stream-schema keeps webhooks, deliveries and events of a 0001 database', async () => {
    const database = await tempDatabase(dialect);
    try {
      const bool = (b: boolean) => (dialect === 'sqlite' ? (b ? 1 : 0) : String(b));
      {
        // the web plugin as it was before 0002-stream-schema: only 0001-stream
        const old = definePlugin({
          name: '@tip/web',
          version: '0.1.0',
          core: '^0.2.0',
          register: (ctx) => void ctx.migrations(...(streamMigrations.slice(0, 1) as TipMigration[])),
        });
        await using t = await startTestTip({ database, plugins: [old], start: { schedule: false } });
        const run = (sql: string) => executeRaw(t.app.em(), sql);
        await run(`insert into web_event (type, at, source, data) values ('job.finished', '2026-01-01T00:00:00.000Z', null, '{}')`);
        await run(`insert into web_event (type, at, source, data) values ('job.finished', '2026-01-01T00:00:01.000Z', 'a', '{"n":2}')`);
        await run(`insert into web_webhook (id, url, secret, types, created_at, disabled) values ('h1', 'http://127.0.0.1:9/hook', 'sixteen-characters', '', '2026-01-01T00:00:00.000Z', ${bool(true)})`);
        await run(`insert into web_delivery (id, webhook, event_seq, status, attempts, last_error, next_attempt_at) values ('d1', 'h1', 2, 'pending', 1, 'HTTP 500', 1767225600000)`);
      }
      await using t = await startTestTip({ database, plugins: [webPlugin()], start: { schedule: false } });
      const rows = async (sql: string) => (await executeRaw<Record<string, unknown>>(t.app.em(), sql)).rows;
      expect((await rows('select seq, source, data from web_event order by seq')).map((r) => [Number(r.seq), r.source, r.data])).toEqual([
        [1, null, '{}'],
        [2, 'a', '{"n":2}'],
      ]);
      const [hook] = await rows('select id, url, disabled from web_webhook');
      expect(hook).toMatchObject({ id: 'h1', url: 'http://127.0.0.1:9/hook' });
      expect(Boolean(hook!.disabled)).toBe(true);
      const [delivery] = await rows('select * from web_delivery');
      expect({ ...delivery, event_seq: Number(delivery!.event_seq), next_attempt_at: Number(delivery!.next_attempt_at) }).toEqual({
        id: 'd1',
        webhook: 'h1',
        event_seq: 2,
        status: 'pending',
        attempts: 1,
        last_error: 'HTTP 500',
        next_attempt_at: 1767225600000,
      });
      // the indexes are back; a new event continues the sequence
      const indexes =
        dialect === 'sqlite'
          ? (await rows(`select name from sqlite_master where type = 'index' and tbl_name = 'web_delivery' and name not like 'sqlite_%'`)).map((r) => r.name)
          : (await rows(`select indexname as name from pg_indexes where tablename = 'web_delivery' and indexname <> 'web_delivery_pkey'`)).map((r) => r.name);
      expect(indexes.sort()).toEqual(['web_delivery_due_index', 'web_delivery_event_seq_index', 'web_delivery_webhook_index']);
      await executeRaw(t.app.em(), `insert into web_event (type, at, source, data) values ('job.finished', '2026-01-01T00:00:02.000Z', null, '{}')`);
      expect(Number((await rows('select max(seq) as m from web_event'))[0]!.m)).toBe(3);
      // no default for disabled any more: every insert names it (as Webhooks.create does)
      await expect(executeRaw(t.app.em(), `insert into web_webhook (id, url, secret, types, created_at) values ('h2', 'http://x', 's', '', 'x')`)).rejects.toThrow();
      const diff = statements(await t.app.db.orm.schema.getUpdateSchemaSQL({ wrap: false }));
      expect(diff.filter((s) => !/`web_event(__temp_alter)?`/.test(s))).toEqual([]);
    } finally {
      await database.drop();
    }
  });
});
