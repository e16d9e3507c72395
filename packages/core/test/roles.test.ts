import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WorkerEntity } from '../src/database/entities.js';
import { definePlugin, TipErrorCodes, type AppRole, type ServiceDefinition } from '../src/index.js';
import { startTestTip, testDialects } from '../src/testing/index.js';

const idle = ({ signal }: { signal: AbortSignal }) => once(signal, 'abort').then(() => undefined);

const servicesPlugin = (services: Array<Omit<ServiceDefinition, 'start'>>) =>
  definePlugin({
    name: 'roles-test',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      ctx.services.add(...services.map((s) => ({ ...s, start: idle })));
    },
  });

const plugin = servicesPlugin([
  { id: 'svc.default' },
  { id: 'svc.web', runsOn: ['web'] },
  { id: 'svc.both', runsOn: ['worker', 'web'] },
  { id: 'svc.worker', runsOn: ['worker'] },
]);

describe('services run on the roles they declare', () => {
  const cases: Array<[AppRole, string[]]> = [
    ['all', ['svc.both', 'svc.default', 'svc.web', 'svc.worker']],
    ['worker', ['svc.both', 'svc.default', 'svc.worker']],
    ['web', ['svc.both', 'svc.web']],
  ];
  it.each(cases)('role %s starts %j and its health lists only those', async (role, expected) => {
    await using t = await startTestTip({ plugins: [plugin], start: { mode: 'serve', role, schedule: false } });
    const health = await t.app.health();
    expect(health.services.map((s) => s.id).sort()).toEqual(expected);
    expect(health.worker).toEqual({ id: t.app.workers.id, role });
    expect(t.app.role).toBe(role);
  });

  it('a service whose runsOn names an unknown role fails the start, naming the service and its plugin', async () => {
    const bad = servicesPlugin([{ id: 'svc.typo', runsOn: ['webs' as 'web'] }]);
    await expect(startTestTip({ plugins: [bad], start: { mode: 'serve', role: 'worker', schedule: false } })).rejects.toMatchObject({
      code: TipErrorCodes.CONFIG_INVALID,
      message: expect.stringMatching(/service "svc\.typo" of plugin roles-test: runsOn must list roles out of worker, web \(got \["webs"\]\)/),
    });
  });

  it('outside mode serve no service starts, whatever the role', async () => {
    await using t = await startTestTip({ plugins: [plugin], start: { role: 'worker', schedule: false } });
    expect((await t.app.health()).services).toEqual([]);
  });
});

describe.each(testDialects())('the worker row records the role on %s', (dialect) => {
  it('register stores the role; workers(), the info metric and health show it; rows from before roles have none', async () => {
    await using t = await startTestTip({ plugins: [plugin], database: dialect, start: { mode: 'serve', role: 'web', schedule: false } });
    const id = t.app.workers.id!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const [self] = (await t.app.scheduler.workers()).filter((w) => w.self);
    expect(self).toMatchObject({ id, role: 'web', mode: 'serve', scheduling: false, status: 'live' });
    expect(await t.app.metrics.text()).toMatch(new RegExp(`tip_worker_info\\{[^}]*worker="${id}"[^}]*role="web"[^}]*\\} 1`));

    // A row written before migration 0003 has no role: listed without one.
    await t.app.em().nativeUpdate(WorkerEntity, { id }, { role: null });
    const [old] = (await t.app.scheduler.workers()).filter((w) => w.id === id);
    expect(old).not.toHaveProperty('role');
  });
});
