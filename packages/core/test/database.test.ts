import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, p } from '@mikro-orm/core';
import { createTip, Database, definePlugin, parseDatabaseUrl, sqlMigration, TipErrorCodes } from '../src/index.js';
import { coreEntities } from '../src/database/entities.js';
import { tempDatabase, testDialects } from '../src/testing/index.js';
import { coreMigrations } from '../src/database/migrations.js';

/** Core's migrations, as applied (owner-prefixed), in order. */
const CORE_MIGRATIONS = coreMigrations.map((m) => `@tip/core/${m.name}`);

const Note = defineEntity({ name: 'Note', tableName: 'demo_note', properties: { id: p.integer().primary(), text: p.string() } });
const notesPlugin = definePlugin({
  name: 'notes',
  version: '1.0.0',
  core: '^0.2.0',
  register(ctx) {
    ctx.entities(Note);
    ctx.migrations(sqlMigration('0001-note', {
      sqlite: ['create table `demo_note` (`id` integer not null primary key autoincrement, `text` text not null)'],
      postgresql: ['create table "demo_note" ("id" serial primary key, "text" varchar(255) not null)'],
    }));
  },
  async init(ctx) {
    const em = ctx.em();
    em.create(Note, { text: 'hello' });
    await em.flush();
  },
});

describe('database URLs', () => {
  it('parses SQLite and PostgreSQL URLs and rejects others naming the input', () => {
    expect(parseDatabaseUrl('sqlite:./data/tip.sqlite', '/srv')).toEqual({ dialect: 'sqlite', location: '/srv/data/tip.sqlite' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', location: ':memory:' });
    expect(parseDatabaseUrl('/var/lib/tip.db')).toEqual({ dialect: 'sqlite', location: '/var/lib/tip.db' });
    expect(parseDatabaseUrl('postgresql://u:p@h/db').dialect).toBe('postgresql');
    expect(() => parseDatabaseUrl('mysql://x')).toThrow(/database.url "mysql:\/\/x"/);
  });
});

describe.each(testDialects())('database on %s', (dialect) => {
  it('core migrations create exactly the schema the entities describe', async () => {
    const target = await tempDatabase(dialect);
    const db = await Database.open({ url: target.url, entities: [...coreEntities], migrations: coreMigrations.map((m) => ({ owner: '@tip/core', migration: m })) });
    try {
      expect(await db.pendingMigrations()).toEqual(CORE_MIGRATIONS);
      expect(await db.migrate()).toEqual(CORE_MIGRATIONS);
      expect(await db.pendingMigrations()).toEqual([]);
      const diff = await db.orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(diff.trim()).toBe('');
    } finally {
      await db.close();
      await target.drop();
    }
  });

  it('plugins register entities and migrations; migrate() applies them; without autoMigrate start refuses pending ones', async () => {
    const target = await tempDatabase(dialect);
    const config = { database: { url: target.url, autoMigrate: false }, log: { level: 'silent' } };
    try {
      const refused = await createTip({ config, plugins: [notesPlugin] });
      await expect(refused.start()).rejects.toMatchObject({ code: TipErrorCodes.DB_FAILED, message: expect.stringContaining('tip migrate') });
      const migrator = await createTip({ config, plugins: [notesPlugin] });
      expect(await migrator.migrate()).toEqual([...CORE_MIGRATIONS, 'notes/0001-note']);
      const app = await createTip({ config, plugins: [notesPlugin] });
      await app.start();
      expect(await app.em().count(Note, {})).toBe(1);
      await app.stop();
      const again = await createTip({ config, plugins: [notesPlugin] });
      expect(await again.migrate()).toEqual([]);
    } finally {
      await target.drop();
    }
  });

  it('an unreachable database fails start with TIP_DB_FAILED naming it (password redacted)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tip-db-')), 'a-file');
    writeFileSync(file, 'not a directory');
    const url = dialect === 'sqlite' ? `sqlite:${file}/tip.sqlite` : 'postgres://postgres:secret@127.0.0.1:1/nope';
    const app = await createTip({ config: { database: { url }, log: { level: 'silent' } } });
    const err = (await app.start().catch((e: unknown) => e)) as { code: string; message: string };
    expect(err).toMatchObject({ code: TipErrorCodes.DB_FAILED });
    expect(err.message).not.toContain('secret');
    expect(err.message).toContain(dialect === 'sqlite' ? `${file}/tip.sqlite` : '127.0.0.1:1');
  });
});
