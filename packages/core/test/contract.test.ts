import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  corePublicEvents,
  createTip,
  defineErrorCodes,
  definePlugin,
  defineRoute,
  defineSource,
  defineSourceKind,
  errorCodeDescription,
  executeRaw,
  isTipError,
  reply,
  RouteRouter,
  TipError,
  TipErrorCodes,
  token,
  type RunMode,
  type ServiceRun,
  type TipPlugin,
} from '../src/index.js';
import { ManualClock, settle, startTestTip, tempDatabase, tempSqlite, testDialects } from '../src/testing/index.js';
import { deferred } from './helpers.js';
import { coreMigrations } from '../src/database/migrations.js';

/** A plugin whose state belongs to one app: a counter service created in init, used by a job. */
function counterPlugin(): TipPlugin<unknown> {
  return definePlugin<unknown>({
    name: 'counter',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      let count: { n: number; where: string } | undefined;
      ctx.jobs.add({
        id: 'count',
        run: () => {
          count!.n++;
          return { counts: { n: count!.n } };
        },
      });
      ctx.provide(CounterToken, { useFactory: () => count! });
      return {
        init(ictx) {
          count = { n: 0, where: ictx.db.where };
        },
      };
    },
  });
}
const CounterToken = token<{ n: number; where: string }>('counter');

describe('per-app plugin state', () => {
  it('one plugin object in two apps keeps each app its own state', async () => {
    const shared = counterPlugin();
    await using a = await startTestTip({ plugins: [shared], start: { schedule: false } });
    await using b = await startTestTip({ plugins: [shared], start: { schedule: false } });
    await a.app.scheduler.trigger('count');
    await a.app.scheduler.trigger('count');
    await b.app.scheduler.trigger('count');
    expect(a.app.get(CounterToken)).toMatchObject({ n: 2, where: a.app.db.where });
    expect(b.app.get(CounterToken)).toMatchObject({ n: 1, where: b.app.db.where });
    expect(a.app.db.where).not.toBe(b.app.db.where);
  });

  it('refuses init/stop both on the plugin and returned by register', async () => {
    const db = tempSqlite();
    const app = await createTip({
      config: { database: { url: db.url }, log: { level: 'silent' } },
      plugins: [definePlugin<unknown>({ name: 'both', version: '1.0.0', core: '^0.2.0', register: () => ({ init() {} }), init() {} })],
    });
    await expect(app.start()).rejects.toMatchObject({ code: TipErrorCodes.PLUGIN_FAILED, details: { plugin: 'both' } });
    await db.drop();
  });
});

function servicePlugin(log: string[], behaviour: 'run' | 'fail-twice' = 'run'): TipPlugin<unknown> {
  let failures = 0;
  return definePlugin<unknown>({
    name: 'svc',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      const modes: RunMode[] = [];
      ctx.services.add({
        id: 'svc.loop',
        async start(run: ServiceRun) {
          log.push(`start:${run.attempt}`);
          if (behaviour === 'fail-twice' && failures < 2) {
            failures++;
            throw new Error(`boom ${failures}`);
          }
          await new Promise((resolve) => run.signal.addEventListener('abort', resolve, { once: true }));
          log.push('stopped');
        },
        health: () => ({ ok: true, detail: 'fine' }),
      });
      return {
        init(ictx) {
          modes.push(ictx.mode);
          log.push(`init:${ictx.mode}`);
        },
        stop() {
          log.push('plugin-stop');
        },
      };
    },
  });
}

describe('services and run modes', () => {
  it('services start only when the app serves, and stop before plugins', async () => {
    const log: string[] = [];
    const run = await startTestTip({ plugins: [servicePlugin(log)] });
    await settle();
    expect(log).toEqual(['init:run']);
    await run.close();

    log.length = 0;
    const served = await startTestTip({ plugins: [servicePlugin(log)], start: { mode: 'serve' } });
    await settle();
    expect(log).toEqual(['init:serve', 'start:1']);
    const health = await served.app.health();
    expect(health.ok).toBe(true);
    expect(health.database?.ok).toBe(true);
    expect(health.services).toEqual([expect.objectContaining({ id: 'svc.loop', plugin: 'svc', state: 'running', health: { ok: true, detail: 'fine' } })]);
    await served.close();
    expect(log).toEqual(['init:serve', 'start:1', 'stopped', 'plugin-stop']);
  });

  it('a failing service is restarted with back-off and reported', async () => {
    const log: string[] = [];
    const clock = new ManualClock();
    await using t = await startTestTip({ plugins: [servicePlugin(log, 'fail-twice')], start: { mode: 'serve' }, clock });
    const failed: Array<{ error: string; restartInMs: number }> = [];
    t.app.events.on('service.failed', (e) => void failed.push(e));
    await settle();
    expect(log).toEqual(['init:serve', 'start:1']);
    expect((await t.app.health()).services[0]).toMatchObject({ state: 'restarting', restarts: 1, lastError: 'boom 1', health: { ok: false } });
    expect((await t.app.health()).ok).toBe(false);
    await clock.advance(1000);
    expect(log).toEqual(['init:serve', 'start:1', 'start:2']);
    await clock.advance(1999);
    expect(log).toHaveLength(3);
    await clock.advance(1);
    expect(log).toEqual(['init:serve', 'start:1', 'start:2', 'start:3']);
    expect((await t.app.health()).services[0]).toMatchObject({ state: 'running', restarts: 2 });
    expect(await t.app.metrics.text()).toContain('tip_service_restarts_total{service="svc.loop"} 2');
  });

  it('read mode: no scheduling, no services, no migrations', async () => {
    const log: string[] = [];
    const db = tempSqlite();
    try {
      // A database that does not exist: read mode never creates it.
      const missing = await createTip({ config: { database: { url: db.url }, log: { level: 'silent' } }, plugins: [servicePlugin(log)] });
      await expect(missing.start({ mode: 'read' })).rejects.toMatchObject({ code: TipErrorCodes.DB_MISSING });
      expect(existsSync(db.url.slice('sqlite:'.length))).toBe(false);
      // A database that was never migrated: read mode does not migrate it, and says what to do.
      writeFileSync(db.url.slice('sqlite:'.length), '');
      const app = await createTip({ config: { database: { url: db.url }, log: { level: 'silent' } }, plugins: [servicePlugin(log)] });
      await expect(app.start({ mode: 'read' })).rejects.toThrow(/pending migration.*tip migrate/);
      const migrated = await createTip({ config: { database: { url: db.url }, log: { level: 'silent' } }, plugins: [servicePlugin(log)] });
      await migrated.migrate();
      const reader = await createTip({ config: { database: { url: db.url }, log: { level: 'silent' } }, plugins: [servicePlugin(log)] });
      await reader.start({ mode: 'read' });
      expect(reader.mode).toBe('read');
      expect(log).toEqual(['init:read']);
      await reader.stop();
    } finally {
      await db.drop();
    }
  });
});

describe('lifecycle bounds', () => {
  it('an init hook that never finishes fails start naming the plugin and hook', async () => {
    const db = tempSqlite();
    const stuck = definePlugin<unknown>({ name: '@acme/stuck', version: '1.0.0', core: '^0.2.0', register: () => ({ init: () => new Promise<void>(() => {}) }) });
    const app = await createTip({ config: { database: { url: db.url }, log: { level: 'silent' }, lifecycle: { hookTimeout: '50ms' } }, plugins: [stuck] });
    const err = await app.start().catch((e: unknown) => e);
    expect(isTipError(err, TipErrorCodes.PLUGIN_TIMEOUT)).toBe(true);
    expect((err as TipError).message).toContain('@acme/stuck: init()');
    expect((err as TipError).details).toMatchObject({ plugin: '@acme/stuck', hook: 'init' });
    expect(app.state).toBe('failed');
    await db.drop();
  });

  it('stop() during start waits for the step in progress, then tears down', async () => {
    const db = tempSqlite();
    const gate = deferred();
    const entered = deferred();
    const log: string[] = [];
    const slow = definePlugin<unknown>({
      name: 'slow',
      version: '1.0.0',
      core: '^0.2.0',
      register: () => ({ init: () => (entered.resolve(), gate.promise.then(() => void log.push('init'))), stop: () => void log.push('stop') }),
    });
    const after = definePlugin<unknown>({ name: 'after', version: '1.0.0', core: '^0.2.0', dependsOn: ['slow'], register: () => ({ init: () => void log.push('init:after') }) });
    const app = await createTip({ config: { database: { url: db.url }, log: { level: 'silent' } }, plugins: [slow, after] });
    const started = app.start();
    await entered.promise;
    const stopped = app.stop();
    gate.resolve();
    await expect(started).rejects.toThrow(/stop\(\) was called/);
    await stopped;
    expect(app.state).toBe('stopped');
    expect(log).toEqual(['init', 'stop']);
    await db.drop();
  });
});

describe('routes', () => {
  const routesPlugin = definePlugin<unknown>({
    name: '@acme/tip-plugin-things',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      const things = new Map([['a', { id: 'a', size: 1 }]]);
      ctx.routes.add(
        defineRoute({
          method: 'GET',
          path: '/things/:id',
          scope: 'read',
          summary: 'One thing',
          params: z.object({ id: z.string().regex(/^[a-z]+$/) }),
          query: z.object({ verbose: z.enum(['0', '1']).optional() }),
          handler: ({ params }) => {
            const thing = things.get(params.id);
            if (!thing) throw new TipError(TipErrorCodes.NOT_FOUND, `no thing "${params.id}"`);
            return thing;
          },
        }),
        defineRoute({
          method: 'GET',
          path: '/export',
          scope: 'read',
          summary: 'Download',
          produces: 'text/plain',
          handler: () =>
            reply.stream(
              (async function* () {
                yield 'a\n';
                yield 'b\n';
              })(),
              { contentType: 'text/plain', filename: 'things.txt' },
            ),
        }),
        defineRoute({ method: 'POST', path: '/things', scope: 'admin', summary: 'Add', body: z.object({ id: z.string() }), handler: ({ body }) => reply.json(body, { status: 201 }) }),
      );
    },
  });

  it('mounts plugin routes under their prefix and serves them without a framework', async () => {
    await using t = await startTestTip({ plugins: [routesPlugin], start: { schedule: false } });
    const mounted = t.app.routes();
    expect(mounted.map((m) => `${m.route.method} ${m.path}`)).toEqual([
      'GET /api/jobs',
      'GET /api/runs',
      'GET /api/workers',
      'POST /api/jobs/:id/trigger',
      'GET /api/health',
      'GET /api/things/things/:id',
      'GET /api/things/export',
      'POST /api/things/things',
    ]);
    const router = new RouteRouter(mounted, { log: t.app.log, servedScopes: ['read'] });
    const ok = await router.handle({ method: 'GET', url: '/api/things/things/a' });
    expect(ok).toMatchObject({ status: 200 });
    expect(JSON.parse(ok!.body as string)).toEqual({ id: 'a', size: 1 });
    const missing = await router.handle({ method: 'GET', url: '/api/things/things/zz' });
    expect(missing?.status).toBe(404);
    expect(JSON.parse(missing!.body as string)).toMatchObject({ code: 'TIP_NOT_FOUND', error: 'no thing "zz"' });
    const bad = await router.handle({ method: 'GET', url: '/api/things/things/A1?verbose=2' });
    expect(bad?.status).toBe(400);
    expect(JSON.parse(bad!.body as string).issues.map((i: { path: string }) => i.path)).toEqual(['params.id', 'query.verbose']);
    const admin = await router.handle({ method: 'POST', url: '/api/things/things', body: { id: 'x' } });
    expect(admin?.status).toBe(403);
    expect(await router.handle({ method: 'GET', url: '/api/nothing' })).toBeUndefined();
    expect((await router.handle({ method: 'DELETE', url: '/api/things/export' }))?.status).toBe(405);
    const download = await router.handle({ method: 'GET', url: '/api/things/export' });
    expect(download?.headers['content-disposition']).toBe('attachment; filename="things.txt"');
    let text = '';
    for await (const chunk of download!.body as AsyncIterable<string>) text += chunk;
    expect(text).toBe('a\nb\n');
    const jobs = await router.handle({ method: 'GET', url: '/api/runs?limit=5000' });
    expect(jobs?.status).toBe(400);
    const health = await router.handle({ method: 'GET', url: '/api/health' });
    expect(health?.status).toBe(200);
  });

  it('an admin route answers on a server that serves admin scope', async () => {
    await using t = await startTestTip({ plugins: [routesPlugin], start: { schedule: false } });
    const router = new RouteRouter(t.app.routes(), { log: t.app.log });
    const created = await router.handle({ method: 'POST', url: '/api/things/things', body: { id: 'x' }, principal: { id: 'tok', scopes: ['admin'] } });
    expect(created?.status).toBe(201);
    const reader = await router.handle({ method: 'POST', url: '/api/things/things', body: { id: 'x' }, principal: { id: 'tok', scopes: ['read'] } });
    expect(reader?.status).toBe(403);
  });
});

describe('public events', () => {
  it("lists core's and the plugins' declarations with their owners; a name declared twice is refused", async () => {
    const publisher = definePlugin({
      name: '@acme/publisher',
      version: '1.0.0',
      core: '^0.2.0',
      register: (ctx) => void ctx.publicEvents.add({ name: 'acme.thing.changed', description: 'a thing changed' }),
    });
    await using t = await startTestTip({ plugins: [publisher], start: { schedule: false } });
    expect(t.app.publicEvents().map(({ event, plugin }) => [event.name, plugin])).toEqual([
      ...corePublicEvents.map((e) => [e.name, '@tip/core']),
      ['acme.thing.changed', '@acme/publisher'],
    ]);
    const twice = definePlugin({
      name: '@acme/twice',
      version: '1.0.0',
      core: '^0.2.0',
      register: (ctx) => void ctx.publicEvents.add({ name: 'job.finished', description: 'mine too' }),
    });
    await expect(startTestTip({ plugins: [twice], start: { schedule: false } })).rejects.toThrow(/job\.finished/);
  });
});

describe('error codes', () => {
  it('plugins mint namespaced codes', () => {
    const codes = defineErrorCodes('ACME', { FEED_BROKEN: 'the feed could not be parsed' });
    expect(codes.FEED_BROKEN).toBe('ACME_FEED_BROKEN');
    const err = new TipError(codes.FEED_BROKEN, 'feed "x" is broken');
    expect(isTipError(err, 'ACME_FEED_BROKEN')).toBe(true);
    expect(errorCodeDescription('ACME_FEED_BROKEN')).toBe('the feed could not be parsed');
    expect(() => defineErrorCodes('TIP', { X: 'y' })).toThrow(/not "TIP"/);
    expect(() => defineErrorCodes('acme', { X: 'y' })).toThrow(/upper-case/);
  });

  it('isTipError recognises errors from another copy of core', async () => {
    // The built dist is a second copy of the module, as with two installs of @tip/core.
    const other = (await import('../dist/errors/TipError.js')) as typeof import('../src/errors/TipError.js');
    expect(other.TipError).not.toBe(TipError);
    const foreign = new other.TipError('TIP_DB_FAILED', 'x');
    expect(isTipError(foreign, TipErrorCodes.DB_FAILED)).toBe(true);
    expect(foreign instanceof TipError).toBe(true);
    expect(new Error('plain') instanceof TipError).toBe(false);
    expect(isTipError({ code: 'TIP_DB_FAILED' })).toBe(false);
  });
});

describe('sources reach the app', () => {
  it('fetch gets the container, the database and a typed report the ingester reads', async () => {
    const Greeting = token<{ text: string }>('greeting');
    const seen: unknown[] = [];
    const plugin = definePlugin<unknown>({
      name: 'src',
      version: '1.0.0',
      core: '^0.2.0',
      register(ctx) {
        ctx.provide(Greeting, { useValue: { text: 'hello' } });
        ctx.sourceKinds.add(
          defineSourceKind<string>({
            kind: 'greetings',
            async ingest({ run, batches }) {
              const items: string[] = [];
              for await (const b of batches) items.push(...b);
              seen.push(items, { ...run.report });
              return { counts: { items: items.length } };
            },
          }),
        );
        ctx.sources.add(
          defineSource<string>({
            id: 'greeter',
            kind: 'greetings',
            schedule: { every: '1h' },
            async *fetch(run) {
              const rows = await run.em().getConnection().execute('select 1 as one');
              run.report.contentType = 'text/x-greeting';
              yield [run.get(Greeting).text, String((rows[0] as { one: number }).one), run.db.dialect];
            },
          }),
        );
      },
    });
    await using t = await startTestTip({ plugins: [plugin], start: { schedule: false } });
    const record = await t.app.scheduler.trigger('source/greeter');
    expect(record.status).toBe('succeeded');
    expect(seen).toEqual([['hello', '1', 'sqlite'], { contentType: 'text/x-greeting' }]);
  });
});

describe('event-loop delay', () => {
  it('is exposed as a metric while the app runs', async () => {
    await using t = await startTestTip({ plugins: [], start: { schedule: false } });
    const until = Date.now() + 60;
    while (Date.now() < until) {
      // block the loop a little so the histogram has samples
    }
    await new Promise((r) => setTimeout(r, 30));
    expect(await t.app.metrics.text()).toMatch(/tip_event_loop_delay_seconds\{quantile="0.99"\} [0-9.e-]+/);
  });
});

describe('secrets stay out of run records', () => {
  it('redacts credentials in the errors of failed runs and in the source report', async () => {
    const reports: unknown[] = [];
    const plugin = definePlugin<unknown>({
      name: 'leaky',
      version: '1.0.0',
      core: '^0.2.0',
      register(ctx) {
        ctx.sourceKinds.add(
          defineSourceKind<string>({
            kind: 'leaky',
            async ingest({ run, batches }) {
              try {
                for await (const _ of batches) void _;
              } finally {
                reports.push({ ...run.report });
              }
            },
          }),
        );
        ctx.sources.add(
          defineSource<string>({
            id: 'leaky-feed',
            kind: 'leaky',
            schedule: { every: '1h' },
            async *fetch(run) {
              // A refused connection to a URL carrying credentials.
              yield [await run.http.text('http://alice:s3cretpw@127.0.0.1:1/feed?apikey=SECRETKEY&page=2')];
            },
          }),
        );
      },
    });
    await using t = await startTestTip({ plugins: [plugin], start: { schedule: false } });
    const record = await t.app.scheduler.trigger('source/leaky-feed');
    expect(record.status).toBe('failed');
    const [stored] = await t.app.scheduler.history({ jobId: 'source/leaky-feed' });
    for (const text of [record.error, stored?.error, JSON.stringify(reports)]) {
      expect(text).not.toContain('s3cretpw');
      expect(text).not.toContain('SECRETKEY');
    }
    expect(stored?.error).toContain('127.0.0.1:1');
  });
});

describe('configuration errors from the environment', () => {
  it('name the variable, not the config file', async () => {
    const { applyEnvOverridesWithOrigins } = await import('../src/index.js');
    const { config, envPaths } = applyEnvOverridesWithOrigins({ database: { url: 'sqlite::memory:' } }, { TIP_SCHEDULER__DRAIN_TIMEOUT: '"15000000w"' });
    const app = await createTip({ config, configSource: '/etc/tip/tip.config.json', configOrigins: { envPaths }, plugins: [] });
    await expect(app.start()).rejects.toThrow(/TIP_SCHEDULER__DRAIN_TIMEOUT/);
  });
});

describe('stop records what really happened', () => {
  it('a job that ignores the abort and finishes is recorded as succeeded; one still running as aborted', async () => {
    const finished: Array<{ jobId: string; status: string; error?: string }> = [];
    const started = deferred();
    const plugin = definePlugin<unknown>({
      name: 'stubborn',
      version: '1.0.0',
      core: '^0.2.0',
      register(ctx) {
        ctx.jobs.add(
          { id: 'commits-late', run: async () => (started.resolve(), await new Promise((r) => setTimeout(r, 200)), { counts: { rows: 3 } }) },
          { id: 'never-ends', run: () => new Promise(() => {}) },
        );
      },
    });
    const t = await startTestTip({ plugins: [plugin], clock: 'system', config: { scheduler: { drainTimeout: '10ms' } }, start: { schedule: false } });
    t.app.events.on('job.finished', (e) => void finished.push(e));
    void t.app.scheduler.trigger('commits-late');
    void t.app.scheduler.trigger('never-ends');
    await started.promise;
    await t.close();
    expect(finished.find((f) => f.jobId === 'commits-late')).toMatchObject({ status: 'succeeded', error: 'finished after the stop aborted it' });
    expect(finished.find((f) => f.jobId === 'never-ends')).toMatchObject({ status: 'aborted', error: expect.stringContaining('still running') });
  }, 30_000);
});

describe.each(testDialects())('two apps starting on one empty %s database', (dialect) => {
  it('both start: migrations are applied once, under a lock', async () => {
    const target = await tempDatabase(dialect);
    try {
      const make = () => createTip({ config: { database: { url: target.url }, log: { level: 'silent' } }, plugins: [counterPlugin()] });
      const [a, b] = await Promise.all([make(), make()]);
      await Promise.all([a.start({ schedule: false }), b.start({ schedule: false })]);
      expect((await a.db.pendingMigrations()).length).toBe(0);
      const { rows } = await executeRaw<{ n: number | string }>(a.em(), 'select count(*) as n from tip_migrations');
      expect(Number(rows[0]!.n)).toBe(coreMigrations.length); // core's, each once
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await target.drop();
    }
  });
});

describe('process metrics', () => {
  it('are exported when metrics.processMetrics is on', async () => {
    await using t = await startTestTip({ plugins: [], config: { metrics: { processMetrics: true } }, start: { schedule: false } });
    expect(await t.app.metrics.text()).toContain('tip_process_cpu_user_seconds_total');
  });
});
