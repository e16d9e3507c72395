import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  applyEnvOverridesWithOrigins,
  coreConfigSchema,
  loadConfigFile,
  TipError,
  TipErrorCodes,
  validateConfig,
  type ConfigIssue,
  type ConfigSection,
} from '../src/index.js';

const sections: ConfigSection[] = [
  { key: '', owner: '@tip/core', schema: coreConfigSchema },
  { key: 'blacklist', owner: '@tip/plugin-blacklist', schema: z.object({ interval: z.string().default('1h'), feeds: z.array(z.object({ id: z.string() })).default([]) }) },
];

async function failure(promise: Promise<unknown>): Promise<TipError & { details: { issues: ConfigIssue[]; source: string } }> {
  const err = await promise.then(
    () => {
      throw new Error('expected TIP_CONFIG_INVALID');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TipError);
  expect((err as TipError).code).toBe(TipErrorCodes.CONFIG_INVALID);
  return err as TipError & { details: { issues: ConfigIssue[]; source: string } };
}

describe('applyEnvOverridesWithOrigins', () => {
  it('returns the config and the variable behind each path', () => {
    const { config, envPaths } = applyEnvOverridesWithOrigins(
      { scheduler: { concurrency: 2 } },
      { TIP_SCHEDULER__DRAIN_TIMEOUT: '5s', TIP_DATABASE__AUTO_MIGRATE: 'false', TIP_IGNORED: 'x', PATH: '/bin' },
    );
    expect(config).toEqual({ scheduler: { concurrency: 2, drainTimeout: '5s' }, database: { autoMigrate: false } });
    expect([...envPaths]).toEqual([
      ['database.autoMigrate', 'TIP_DATABASE__AUTO_MIGRATE'],
      ['scheduler.drainTimeout', 'TIP_SCHEDULER__DRAIN_TIMEOUT'],
    ]);
  });

  it('forgets paths that a later variable replaced with a whole value', () => {
    const { config, envPaths } = applyEnvOverridesWithOrigins({}, { TIP_HTTP__TIMEOUT__X: '1', TIP_HTTP__TIMEOUT: '"2s"' });
    // Applied in name order: TIP_HTTP__TIMEOUT first, then TIP_HTTP__TIMEOUT__X replaces it by an object.
    expect(config).toEqual({ http: { timeout: { x: 1 } } });
    expect(envPaths.get('http.timeout.x')).toBe('TIP_HTTP__TIMEOUT__X');
  });
});

describe('validation errors name the environment variable', () => {
  it('for an invalid env-set value, in the message and in details.issues[i].env', async () => {
    const { config, envPaths } = applyEnvOverridesWithOrigins(
      { scheduler: { concurrency: 0 } },
      { TIP_SCHEDULER__DRAIN_TIMEOUT: 'soon', TIP_BLACKLIST__INTERVAL: '5' },
    );
    const err = await failure(validateConfig(config, sections, '/etc/tip/tip.config.json', { envPaths }));
    const byPath = Object.fromEntries(err.details.issues.map((i) => [i.path, i]));
    expect(byPath['scheduler.drainTimeout']!.env).toBe('TIP_SCHEDULER__DRAIN_TIMEOUT');
    expect(byPath['blacklist.interval']!.env).toBe('TIP_BLACKLIST__INTERVAL');
    expect(byPath['scheduler.concurrency']!.env).toBeUndefined();
    expect(err.message).toContain('  - scheduler.drainTimeout (from environment variable TIP_SCHEDULER__DRAIN_TIMEOUT): "soon" is not a duration');
    expect(err.message).toContain('  - blacklist.interval (from environment variable TIP_BLACKLIST__INTERVAL): ');
    expect(err.message).toMatch(/  - scheduler\.concurrency: /);
    expect(err.message.split('\n')[0]).toBe('invalid configuration in /etc/tip/tip.config.json and environment variables (3 problems):');
    expect(err.details.source).toBe('/etc/tip/tip.config.json');
  });

  it('does not blame the file when every problem comes from the environment', async () => {
    const { config, envPaths } = applyEnvOverridesWithOrigins({}, { TIP_HTTP__TIMEOUT: '1ms' });
    const err = await failure(validateConfig(config, sections, 'tip.config.json', { envPaths }));
    expect(err.message.split('\n')[0]).toBe('invalid configuration from environment variables (1 problem):');
    expect(err.details.issues).toEqual([
      expect.objectContaining({ path: 'http.timeout', env: 'TIP_HTTP__TIMEOUT', message: expect.stringContaining('below the minimum of 100ms') }),
    ]);
  });

  it('for issues under an env-set object and for unknown keys set by a variable', async () => {
    const { config, envPaths } = applyEnvOverridesWithOrigins(
      {},
      {
        TIP_BLACKLIST__INTERVALL: '2h',
        TIP_SCHEDULER__DRAIN_TIMOUT: '5s',
        TIP_FEEEDS__URL: 'x',
      },
    );
    const err = await failure(validateConfig(config, sections, 'tip.config.json', { envPaths }));
    expect(Object.fromEntries(err.details.issues.map((i) => [i.path, i.env]))).toEqual({
      'blacklist.intervall': 'TIP_BLACKLIST__INTERVALL',
      scheduler: 'TIP_SCHEDULER__DRAIN_TIMOUT', // zod's strict object: Unrecognized key "drainTimout"
      feeeds: 'TIP_FEEEDS__URL',
    });
    // Unknown keys are looked for once a section validates; here the array element is invalid.
    const feeds = applyEnvOverridesWithOrigins({}, { TIP_BLACKLIST__FEEDS: '[{"id": 1}]' });
    const err2 = await failure(validateConfig(feeds.config, sections, 'tip.config.json', feeds));
    expect(err2.details.issues).toEqual([expect.objectContaining({ path: 'blacklist.feeds[0].id', env: 'TIP_BLACKLIST__FEEDS' })]);
  });

  it('leaves file-set values alone when the variable set a sibling', async () => {
    const { config, envPaths } = applyEnvOverridesWithOrigins({ scheduler: { drainTimeout: 'soon' } }, { TIP_SCHEDULER__CONCURRENCY: '3' });
    const err = await failure(validateConfig(config, sections, 'tip.config.json', { envPaths }));
    expect(err.details.issues).toEqual([expect.objectContaining({ path: 'scheduler.drainTimeout' })]);
    expect(err.details.issues[0]!.env).toBeUndefined();
    expect(err.message).toContain('invalid configuration in tip.config.json (1 problem)');
  });

  it('through loadConfigFile: a LoadedConfig is the origins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tip-cfg-env-'));
    const file = join(dir, 'tip.config.json');
    writeFileSync(file, JSON.stringify({ scheduler: { drainTimeout: '10s' } }));
    const loaded = await loadConfigFile(file, { TIP_SCHEDULER__DRAIN_TIMEOUT: '2h' });
    expect(loaded.envPaths).toEqual(new Map([['scheduler.drainTimeout', 'TIP_SCHEDULER__DRAIN_TIMEOUT']]));
    const err = await failure(validateConfig(loaded.config, sections, loaded.path, loaded));
    expect(err.message).toContain('scheduler.drainTimeout (from environment variable TIP_SCHEDULER__DRAIN_TIMEOUT): "2h" is above the maximum of 1h');
    expect(err.message).not.toContain(`in ${file}`);
    const ok = await loadConfigFile(file, {});
    expect(ok.envPaths.size).toBe(0);
    await validateConfig(ok.config, sections, ok.path, ok);
  });
});
