import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { applyEnvOverrides, createTip, definePlugin, loadConfigFile, TipErrorCodes } from '../src/index.js';
import { startTestTip, tempSqlite } from '../src/testing/index.js';

const feedsPlugin = definePlugin<{ sources: Array<{ id: string; url: string }>; interval: string }>({
  name: 'feeds',
  version: '1.0.0',
  core: '^0.2.0',
  config: {
    key: 'feeds',
    schema: z.object({
      sources: z.array(z.object({ id: z.string().min(1), url: z.url() })).default([]),
      interval: z.string().default('1h'),
    }),
  },
  register: () => undefined,
});

describe('configuration', () => {
  it('reports every bad path at once, core and plugins together', async () => {
    const db = tempSqlite();
    const app = await createTip({
      plugins: [feedsPlugin],
      configSource: 'tip.config.json',
      config: {
        database: { url: db.url, poolSize: -3 },
        scheduler: { concurrency: 'many', drainTimeout: 'soon' },
        log: { level: 'loud' },
        feeds: { sources: [{ id: 'ok', url: 'http://127.0.0.1/x' }, { id: '', url: 'not a url' }] },
        feeeds: {},
      },
    });
    const err = await app.start().then(() => null, (e: unknown) => e as { code: string; message: string; details: { issues: Array<{ path: string }> } });
    await db.drop();
    expect(err?.code).toBe(TipErrorCodes.CONFIG_INVALID);
    const paths = err!.details.issues.map((i) => i.path).sort();
    expect(paths).toEqual([
      'database.poolSize',
      'feeds.sources[1].id',
      'feeds.sources[1].url',
      'feeeds',
      'log.level',
      'scheduler.concurrency',
      'scheduler.drainTimeout',
    ]);
    for (const p of paths) expect(err!.message).toContain(p);
    expect(err!.message).toContain('tip.config.json');
  });

  it('applies defaults and freezes the config after start', async () => {
    await using t = await startTestTip({ plugins: [feedsPlugin], config: { feeds: { sources: [{ id: 'a', url: 'http://127.0.0.1/a' }] } } });
    const cfg = t.app.config;
    expect(cfg.scheduler.concurrency).toBe(4);
    expect(Object.isFrozen(cfg.scheduler)).toBe(true);
    const feeds = t.app.pluginConfig<{ sources: unknown[]; interval: string }>('feeds')!;
    expect(feeds.interval).toBe('1h');
    expect(Object.isFrozen(feeds.sources)).toBe(true);
    expect(() => {
      (feeds as { interval: string }).interval = '2h';
    }).toThrow();
  });

  it('environment variables override file values', () => {
    const out = applyEnvOverrides(
      { database: { url: 'sqlite:./a.sqlite' }, scheduler: { concurrency: 2 } },
      { TIP_DATABASE__URL: 'postgres://u@h/db', TIP_SCHEDULER__CONCURRENCY: '8', TIP_SCHEDULER__DRAIN_TIMEOUT: '5s', TIP_NOT_NESTED: 'x', TIP___PROTO____X: '1' },
    );
    expect(out).toEqual({ database: { url: 'postgres://u@h/db' }, scheduler: { concurrency: 8, drainTimeout: '5s' } });
  });

  it('loads JSON and TypeScript config files, naming the file when unreadable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tip-cfg-'));
    writeFileSync(join(dir, 'tip.config.json'), JSON.stringify({ plugins: ['@tip/plugin-x', ['./mine.js', { a: 1 }]], log: { level: 'warn' } }));
    const json = await loadConfigFile(join(dir, 'tip.config.json'), { TIP_LOG__LEVEL: 'debug' });
    expect(json.plugins).toEqual(['@tip/plugin-x', ['./mine.js', { a: 1 }]]);
    expect(json.config).toEqual({ log: { level: 'debug' }, baseDir: dir });
    writeFileSync(join(dir, 'tip.config.ts'), 'const level: string = "error";\nexport default { log: { level } };\n');
    const ts = await loadConfigFile(join(dir, 'tip.config.ts'), {});
    expect(ts.config.log).toEqual({ level: 'error' });
    writeFileSync(join(dir, 'broken.json'), '{ "log": ');
    await expect(loadConfigFile(join(dir, 'broken.json'))).rejects.toMatchObject({ code: TipErrorCodes.CONFIG_UNREADABLE, message: expect.stringContaining('broken.json') });
    await expect(loadConfigFile(join(dir, 'missing.json'))).rejects.toMatchObject({ code: TipErrorCodes.CONFIG_UNREADABLE });
  });
});
