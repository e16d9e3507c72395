import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coreConfigSchema, durationSchema, TipErrorCodes, validateConfig } from '../src/index.js';

function issues(schema: z.ZodType, value: unknown): Array<{ path: string; message: string }> {
  const result = schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('durationSchema', () => {
  const schema = z.object({ interval: durationSchema({ min: '1m' }).prefault('1h') });

  it('accepts milliseconds and duration strings and normalises them to milliseconds', () => {
    expect(schema.parse({ interval: '2h' })).toEqual({ interval: 7_200_000 });
    expect(schema.parse({ interval: ' 1h30m ' })).toEqual({ interval: 5_400_000 });
    expect(schema.parse({ interval: 60_000 })).toEqual({ interval: 60_000 });
    expect(schema.parse({})).toEqual({ interval: 3_600_000 });
    expect(durationSchema().parse(0)).toBe(0);
    expect(durationSchema().parse('3650d')).toBe(3650 * 86_400_000);
  });

  it('names the problem, the accepted forms and the bounds', () => {
    const forms = 'a number of milliseconds or a string like "30s", "1h30m", "2d"';
    expect(issues(schema, { interval: '30s' })).toEqual([
      { path: 'interval', message: `"30s" is below the minimum of 1m; expected a duration at least 1m: ${forms}` },
    ]);
    expect(issues(schema, { interval: 'soon' })).toEqual([
      { path: 'interval', message: `"soon" is not a duration; expected a duration at least 1m: ${forms}` },
    ]);
    expect(issues(schema, { interval: true })).toEqual([{ path: 'interval', message: `expected a duration at least 1m: ${forms}` }]);
    const bounded = durationSchema({ min: '100ms', max: '1d' });
    expect(issues(bounded, '2d')[0]!.message).toBe(`"2d" is above the maximum of 1d; expected a duration between 100ms and 1d: ${forms}`);
    for (const bad of ['15000000w', 1e308, Infinity, NaN, -1, '-1s', '1e3s', null, [], {}]) {
      expect(issues(durationSchema(), bad), String(bad)).toHaveLength(1);
    }
    expect(issues(durationSchema(), '15000000w')[0]!.message).toMatch(/longer than the maximum of 3650d \(10 years\); expected a duration at most 3650d/);
  });

  it('rejects malformed bounds when the schema is built', () => {
    expect(() => durationSchema({ min: 'soon' })).toThrow(expect.objectContaining({ code: TipErrorCodes.CONFIG_INVALID }));
    expect(() => durationSchema({ min: '1h', max: '1m' })).toThrow(expect.objectContaining({ code: TipErrorCodes.CONFIG_INVALID }));
  });
});

describe("core's duration settings", () => {
  it('default to milliseconds', () => {
    const config = coreConfigSchema.parse({});
    expect(config.scheduler).toMatchObject({ drainTimeout: 30_000, historyRetention: 30 * 86_400_000 });
    expect(config.scheduler.defaultTimeout).toBeUndefined();
    expect(config.http).toMatchObject({ connectTimeout: 10_000, timeout: 120_000 });
  });

  it('are bounded', async () => {
    const core = [{ key: '', owner: '@tip/core', schema: coreConfigSchema }];
    const err = await validateConfig(
      {
        scheduler: { defaultTimeout: '500ms', drainTimeout: '2h', historyRetention: '30m' },
        http: { connectTimeout: '50ms', timeout: '2d' },
      },
      core,
      'tip.config.json',
    ).then(() => undefined, (e: unknown) => e as { code: string; details: { issues: Array<{ path: string; message: string }> } });
    expect(err?.code).toBe(TipErrorCodes.CONFIG_INVALID);
    expect(Object.fromEntries(err!.details.issues.map((i) => [i.path, i.message.split(';')[0]]))).toEqual({
      'scheduler.defaultTimeout': '"500ms" is below the minimum of 1s',
      'scheduler.drainTimeout': '"2h" is above the maximum of 1h',
      'scheduler.historyRetention': '"30m" is below the minimum of 1h',
      'http.connectTimeout': '"50ms" is below the minimum of 100ms',
      'http.timeout': '"2d" is above the maximum of 1d',
    });
    const ok = await validateConfig({ scheduler: { drainTimeout: 0, defaultTimeout: '1s' }, http: { timeout: '1d' } }, core);
    expect(ok.get('')).toMatchObject({ scheduler: { drainTimeout: 0, defaultTimeout: 1000 }, http: { timeout: 86_400_000 } });
  });
});
