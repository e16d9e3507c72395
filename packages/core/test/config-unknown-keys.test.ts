import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coreConfigSchema, TipError, TipErrorCodes, validateConfig, type ConfigSection } from '../src/index.js';

const blacklistSchema = z.object({
  interval: z.string().default('1h'),
  weighting: z.object({ window: z.string().default('30d'), overlap: z.enum(['exact', 'containment']).default('exact') }).prefault({}),
  feeds: z.array(z.object({ id: z.string(), url: z.string().optional(), options: z.record(z.string(), z.unknown()).optional() })).default([]),
});

const core: ConfigSection = { key: '', owner: '@tip/core', schema: coreConfigSchema };
const section = (extra: Partial<ConfigSection> = {}): ConfigSection => ({ key: 'blacklist', owner: '@tip/plugin-blacklist', schema: blacklistSchema, ...extra });

async function failure(raw: Record<string, unknown>, sections: ConfigSection[]): Promise<TipError> {
  const err = await validateConfig(raw, sections, 'tip.config.json').then(
    () => {
      throw new Error('expected TIP_CONFIG_INVALID');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TipError);
  expect((err as TipError).code).toBe(TipErrorCodes.CONFIG_INVALID);
  return err as TipError;
}

describe('unknown keys inside a plugin section', () => {
  it('rejects an unknown top-level key of the section', async () => {
    const err = await failure({ blacklist: { intervall: '1h' } }, [core, section()]);
    expect(err.details.issues).toEqual([{ path: 'blacklist.intervall', message: 'unknown key "intervall" (not read by @tip/plugin-blacklist)' }]);
    expect(err.message).toContain('blacklist.intervall: unknown key "intervall" (not read by @tip/plugin-blacklist)');
  });

  it('rejects nested keys and keys inside array elements, all reported together with paths', async () => {
    const err = await failure(
      {
        blacklist: {
          interval: '2h',
          weighting: { windw: '7d', overlap: 'exact' },
          feeds: [{ id: 'a', url: 'http://x' }, { id: 'b', ulr: 'http://y', options: { anything: { deep: 1 } } }],
          extra: 1,
        },
        feeeds: {},
      },
      [core, section()],
    );
    expect((err.details.issues as Array<{ path: string }>).map((i) => i.path)).toEqual([
      'blacklist.weighting.windw',
      'blacklist.feeds[1].ulr',
      'blacklist.extra',
      'feeeds',
    ]);
    for (const p of ['blacklist.weighting.windw', 'blacklist.feeds[1].ulr', 'blacklist.extra', 'feeeds']) expect(err.message).toContain(p);
    expect(err.message).toContain('4 problems');
  });

  it('reports schema errors and unknown keys of different sections together', async () => {
    const other: ConfigSection = { key: 'other', owner: 'other-plugin', schema: z.object({ n: z.number() }) };
    const err = await failure({ blacklist: { intervall: '1h' }, other: { n: 'x' } }, [core, section(), other]);
    expect((err.details.issues as Array<{ path: string }>).map((i) => i.path).sort()).toEqual(['blacklist.intervall', 'other.n']);
  });

  it('accepts keys a schema keeps: passthrough, loose, records', async () => {
    const loose: ConfigSection = { key: 'loose', owner: 'p', schema: z.object({ a: z.number().default(1) }).passthrough() };
    const looser: ConfigSection = { key: 'looser', owner: 'p', schema: z.looseObject({ nested: z.looseObject({}) }) };
    const values = await validateConfig(
      { loose: { a: 2, b: 3 }, looser: { nested: { x: 1 }, y: 2 }, blacklist: { feeds: [{ id: 'f', options: { free: { form: true } } }] } },
      [core, loose, looser, section()],
    );
    expect(values.get('loose')).toEqual({ a: 2, b: 3 });
    expect(values.get('looser')).toEqual({ nested: { x: 1 }, y: 2 });
  });

  it("skips the check with unknownKeys: 'allow' (schemas that rename keys)", async () => {
    const renaming: ConfigSection = {
      key: 'renaming',
      owner: 'p',
      schema: z.object({ old_name: z.string() }).transform((v) => ({ newName: v.old_name })),
      unknownKeys: 'allow',
    };
    const values = await validateConfig({ renaming: { old_name: 'x' }, blacklist: { intervall: '1h' } }, [core, renaming, section({ unknownKeys: 'allow' })]);
    expect(values.get('renaming')).toEqual({ newName: 'x' });
    const err = await failure({ renaming: { old_name: 'x' } }, [core, { ...renaming, unknownKeys: 'reject' }]);
    expect(err.details.issues).toEqual([{ path: 'renaming.old_name', message: 'unknown key "old_name" (not read by p)' }]);
  });

  it("keeps core's rules: plugin keys beside core's pass, typos in core objects fail as before", async () => {
    await validateConfig({ blacklist: {}, $schema: 'x', baseDir: '/tmp' }, [core, section()]);
    const err = await failure({ scheduler: { drainTimout: '5s' } }, [core, section()]);
    expect((err.details.issues as Array<{ path: string }>).map((i) => i.path)).toEqual(['scheduler']);
    expect(err.message).toContain('drainTimout');
  });
});
