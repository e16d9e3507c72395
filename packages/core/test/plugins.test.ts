import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTip, definePlugin, isTipError, token, TipErrorCodes, type TipPlugin } from '../src/index.js';
import { startTestTip, tempSqlite, testDialects } from '../src/testing/index.js';

const log: string[] = [];
const plugin = (name: string, dependsOn: string[] = [], extra: Partial<TipPlugin<unknown>> = {}): TipPlugin<unknown> =>
  definePlugin<unknown>({
    name,
    version: '1.0.0',
    core: '^0.2.0',
    dependsOn,
    register: () => void log.push(`register:${name}`),
    init: () => void log.push(`init:${name}`),
    stop: () => void log.push(`stop:${name}`),
    ...extra,
  });

async function startFailure(plugins: TipPlugin<unknown>[]) {
  const db = tempSqlite();
  const app = await createTip({ plugins, config: { database: { url: db.url }, log: { level: 'silent' } } });
  try {
    await app.start();
  } catch (err) {
    return { err: err as Error & { code: string; details: Record<string, unknown> }, app };
  } finally {
    await db.drop();
  }
  throw new Error('start() should have failed');
}

describe('plugin ordering', () => {
  it('registers and inits in dependency order, stops in reverse', async () => {
    log.length = 0;
    await using t = await startTestTip({
      plugins: [plugin('c', ['b']), plugin('a'), plugin('b', ['a'])],
    });
    expect(t.app.plugins.map((p) => p.name)).toEqual(['a', 'b', 'c']);
    await t.app.stop();
    expect(log).toEqual(['register:a', 'register:b', 'register:c', 'init:a', 'init:b', 'init:c', 'stop:c', 'stop:b', 'stop:a']);
  });

  it('a cycle fails start naming the plugins in the cycle', async () => {
    const { err, app } = await startFailure([plugin('x', ['z']), plugin('y', ['x']), plugin('z', ['y']), plugin('free')]);
    expect(err.code).toBe(TipErrorCodes.PLUGIN_CYCLE);
    expect(err.message).toContain('x -> z -> y -> x');
    expect(err.details.cycle).toEqual(['x', 'z', 'y', 'x']);
    expect(app.state).toBe('failed');
  });

  it('a missing dependency fails start naming both plugins', async () => {
    const { err } = await startFailure([plugin('needs-geo', ['@acme/geo']), plugin('ok')]);
    expect(err.code).toBe(TipErrorCodes.PLUGIN_MISSING);
    expect(err.message).toContain('needs-geo needs @acme/geo');
  });

  it('an incompatible core range fails start naming the plugin and its range', async () => {
    const { err } = await startFailure([plugin('old', [], { core: '^2.0.0' }), plugin('fine'), plugin('bad-range', [], { core: 'not a range' })]);
    expect(err.code).toBe(TipErrorCodes.PLUGIN_INCOMPATIBLE);
    expect(err.message).toContain('old@1.0.0 (needs @tip/core ^2.0.0)');
    expect(err.message).toContain('bad-range');
    expect(err.message).not.toContain('fine');
  });

  it('a duplicate plugin name fails start', async () => {
    const { err } = await startFailure([plugin('twice'), plugin('twice')]);
    expect(err.code).toBe(TipErrorCodes.PLUGIN_DUPLICATE);
    expect(err.message).toContain('twice');
  });

  it('a failing init names the plugin and stops the plugins already initialised', async () => {
    log.length = 0;
    const { err } = await startFailure([
      plugin('first'),
      plugin('broken', ['first'], { init: () => { throw new Error('cannot reach GeoIP file'); } }),
    ]);
    expect(err.code).toBe(TipErrorCodes.PLUGIN_FAILED);
    expect(err.message).toContain('broken');
    expect(err.message).toContain('cannot reach GeoIP file');
    expect(err.details).toMatchObject({ plugin: 'broken', hook: 'init' });
    expect(log).toContain('stop:first');
    expect(log).not.toContain('stop:broken');
  });

  it('a failing register names the plugin', async () => {
    const { err } = await startFailure([plugin('reg', [], { register: () => { throw new Error('bad source list'); } })]);
    expect(err.code).toBe(TipErrorCodes.PLUGIN_FAILED);
    expect(err.details).toMatchObject({ plugin: 'reg', hook: 'register' });
  });

  it('two plugins adding the same job id fail with both names', async () => {
    const job = { id: 'same', run: () => undefined };
    const { err } = await startFailure([
      plugin('one', [], { register: (ctx) => ctx.jobs.add(job) }),
      plugin('two', [], { register: (ctx) => ctx.jobs.add({ ...job }) }),
    ]);
    expect(isTipError(err.cause)).toBe(true);
    expect(String(err.message)).toMatch(/"same" added by two is already added by one/);
  });
});

describe.each(testDialects())('isolation on %s', (dialect) => {
  it('two apps in one process share nothing', async () => {
    const counter = token<{ n: number }>('counter');
    const mk = (label: string) =>
      definePlugin<{ label: string }>({
        name: 'iso',
        version: '1.0.0',
        core: '^0.2.0',
        config: { key: 'iso', schema: z.object({ label: z.string() }) },
        register(ctx) {
          ctx.provide(counter, { useValue: { n: 0 } });
          ctx.jobs.add({ id: 'tick', run: () => void ctx.events.emit('job.started', { jobId: ctx.config.label, runId: 'x', attempt: 1, reason: 'manual' }) });
        },
      });
    await using a = await startTestTip({ database: dialect, plugins: [mk('A')], config: { iso: { label: 'A' } } });
    await using b = await startTestTip({ database: dialect, plugins: [mk('B')], config: { iso: { label: 'B' } } });
    a.app.get(counter).n = 41;
    expect(b.app.get(counter).n).toBe(0);
    const seenA: string[] = [];
    const seenB: string[] = [];
    a.app.events.on('job.finished', (e) => void seenA.push(e.jobId));
    b.app.events.on('job.finished', (e) => void seenB.push(e.jobId));
    await a.app.scheduler.trigger('tick');
    expect(seenA).toEqual(['tick']);
    expect(seenB).toEqual([]);
    expect(await b.app.scheduler.history()).toHaveLength(0);
    expect(await a.app.scheduler.history()).toHaveLength(1);
    expect(a.app.pluginConfig<{ label: string }>('iso')!.label).toBe('A');
    expect(b.app.pluginConfig<{ label: string }>('iso')!.label).toBe('B');
    expect(a.app.metrics.registry).not.toBe(b.app.metrics.registry);
    expect(await a.app.metrics.text()).toContain('tip_job_runs_total{job="tick",status="succeeded"} 1');
    expect(await b.app.metrics.text()).not.toContain('job="tick"');
  });
});
