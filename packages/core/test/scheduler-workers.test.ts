import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Database } from '../src/database/Database.js';
import { coreEntities, JobRunEntity, WorkerEntity } from '../src/database/entities.js';
import { coreMigrations } from '../src/database/migrations.js';
import { definePlugin, every, executeRaw, RouteRouter, TipErrorCodes, WorkerRegistry, type JobDefinition, type TipApp } from '../src/index.js';
import { ManualClock, responseText, startTestTip, tempDatabase, testDialects, type TestDatabase, type TestTip } from '../src/testing/index.js';
import { deferred } from './helpers.js';

const jobsPlugin = (jobs: JobDefinition[]) =>
  definePlugin({
    name: 'workers-test',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      ctx.jobs.add(...jobs);
    },
  });

/** Short heartbeats so tests move the manual clock by seconds, not minutes. */
const FAST = { scheduler: { heartbeat: '1s', lease: '3s' } };

/**
 * Moves the shared manual clock `ms` forward one heartbeat at a time, with a real pause after each
 * step so heartbeat writes (real database I/O) finish and re-arm before the next step.
 */
async function beat(clock: ManualClock, ms: number, step = 1000): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    await clock.advance(Math.min(step, ms - done));
    await new Promise((r) => setTimeout(r, 20));
  }
}

const runRow = async (app: TipApp, id: string) => (await app.em().findOne(JobRunEntity, { id })) ?? undefined;

describe.each(testDialects())('workers and run ownership on %s', (dialect) => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });
  const shared = async () => {
    const d = await tempDatabase(dialect);
    dbs.push(d);
    return d;
  };

  it("a second worker starting does not abort the first one's running job; after the first dies, its runs are aborted once its lease expired", async () => {
    const database = await shared();
    const clock = new ManualClock();
    const gate = deferred();
    const slow: JobDefinition = { id: 'slow', run: () => gate.promise };
    const a = await startTestTip({ database, clock, plugins: [jobsPlugin([slow])], config: FAST });
    let b: TestTip | undefined;
    try {
      const idA = a.app.workers.id!;
      expect(idA).toMatch(/^[0-9a-f-]{36}$/);
      const run = a.app.scheduler.trigger('slow');
      const [running] = await a.app.scheduler.history({ jobId: 'slow' }); // flushes the `running` row
      expect(running).toMatchObject({ status: 'running', workerId: idA });

      b = await startTestTip({ database, clock, plugins: [jobsPlugin([{ ...slow, run: () => undefined }])], config: FAST });
      const idB = b.app.workers.id!;
      expect(idB).not.toBe(idA);
      expect(await runRow(b.app, running!.id)).toMatchObject({ status: 'running', workerId: idA });

      const workers = await b.app.scheduler.workers();
      expect(workers.map((w) => [w.id, w.status, w.running, w.self, w.mode, w.scheduling, w.pid])).toEqual(
        expect.arrayContaining([
          [idA, 'live', 1, false, 'run', true, process.pid],
          [idB, 'live', 0, true, 'run', true, process.pid],
        ]),
      );
      expect(workers).toHaveLength(2);

      // Both heartbeat: well past the lease, A's run is still running.
      await beat(clock, 5000);
      expect(await runRow(b.app, running!.id)).toMatchObject({ status: 'running' });
      const live = await b.app.scheduler.workers();
      expect(live.find((w) => w.id === idA)).toMatchObject({ status: 'live' });
      expect(live.find((w) => w.id === idA)!.heartbeatAgeMs).toBeLessThan(3000);

      // A "dies": it stops heartbeating without marking its row stopped.
      await a.app.workers.abandon();
      await beat(clock, 2000);
      expect(await runRow(b.app, running!.id)).toMatchObject({ status: 'running' }); // lease not expired yet
      await beat(clock, 3000);
      await vi.waitFor(async () => expect((await runRow(b!.app, running!.id))?.status).toBe('aborted'), { timeout: 10_000 });
      const aborted = await runRow(b.app, running!.id);
      expect(aborted!.error).toContain(`worker ${idA}`);
      expect(aborted!.error).toContain('stopped heartbeating');
      expect(aborted!.error).toContain(`marked by worker ${idB}`);
      expect((await b.app.scheduler.workers()).find((w) => w.id === idA)).toMatchObject({ status: 'expired', running: 0 });

      gate.resolve();
      await run;
    } finally {
      gate.resolve();
      await b?.close();
      await a.close();
    }
  }, 60_000);

  it('at start: rows without an owner and rows of stopped or expired workers are aborted, rows of a live worker are not', async () => {
    const database = await shared();
    const clock = new ManualClock();
    const now = new Date(clock.now());
    // Prepare the database with one app, then write the rows a crash (or an older TIP) leaves.
    const prep = await startTestTip({ database, clock, start: { schedule: false } });
    const em = prep.app.em();
    const worker = (id: string, heartbeatAt: Date, stoppedAt: Date | null) =>
      em.insert(WorkerEntity, { id, host: 'other-host', pid: 4242, mode: 'serve', scheduling: true, version: '0.1.0', leaseMs: 30_000, startedAt: heartbeatAt, heartbeatAt, stoppedAt });
    const row = (id: string, workerId: string | null) =>
      em.insert(JobRunEntity, { id, jobId: 'j', reason: 'schedule', status: 'running', attempt: 1, startedAt: now, workerId });
    const LIVE = '00000000-0000-4000-8000-00000000000a';
    const STOPPED = '00000000-0000-4000-8000-00000000000b';
    const EXPIRED = '00000000-0000-4000-8000-00000000000c';
    await worker(LIVE, now, null);
    await worker(STOPPED, new Date(now.getTime() - 1000), new Date(now.getTime() - 1000));
    await worker(EXPIRED, new Date(now.getTime() - 31_000), null);
    await row('00000000-0000-4000-8000-000000000001', null);
    await row('00000000-0000-4000-8000-000000000002', LIVE);
    await row('00000000-0000-4000-8000-000000000003', STOPPED);
    await row('00000000-0000-4000-8000-000000000004', EXPIRED);
    await row('00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-0000000000ff');
    await prep.close();

    await using t = await startTestTip({ database, clock });
    const status = async (n: number) => runRow(t.app, `00000000-0000-4000-8000-00000000000${n}`);
    expect(await status(1)).toMatchObject({ status: 'aborted', error: expect.stringMatching(/interrupted: .*no owning worker/) });
    expect(await status(2)).toMatchObject({ status: 'running', endedAt: null });
    expect(await status(3)).toMatchObject({ status: 'aborted', error: expect.stringContaining(`worker ${STOPPED} (other-host pid 4242) stopped at`) });
    expect(await status(4)).toMatchObject({ status: 'aborted', error: expect.stringContaining(`worker ${EXPIRED} (other-host pid 4242) stopped heartbeating`) });
    expect(await status(5)).toMatchObject({ status: 'aborted', error: expect.stringContaining('is no longer registered') });
    const byId = new Map((await t.app.scheduler.workers()).map((w) => [w.id, w]));
    expect(byId.get(LIVE)).toMatchObject({ status: 'live', running: 1, self: false, host: 'other-host' });
    expect(byId.get(STOPPED)).toMatchObject({ status: 'stopped', running: 0 });
    expect(byId.get(EXPIRED)).toMatchObject({ status: 'expired', running: 0 });
    expect(byId.get(t.app.workers.id!)).toMatchObject({ status: 'live', self: true });
  });

  it('a clean stop marks the worker stopped; read mode registers nothing and writes nothing; the route and metrics show workers', async () => {
    const database = await shared();
    const clock = new ManualClock();
    const count = async (app: TipApp) => {
      const { rows } = await executeRaw<{ n: number | string }>(app.em(), 'select count(*) as n from tip_worker');
      return Number(rows[0]!.n);
    };
    const a = await startTestTip({ database, clock, plugins: [jobsPlugin([{ id: 'tick', trigger: every('1h'), run: () => ({ counts: { n: 1 } }) }])], config: FAST });
    const idA = a.app.workers.id!;
    await clock.advance(0); // the first run, due at start
    await a.app.scheduler.idle();
    const metrics = await a.app.metrics.text();
    expect(metrics).toContain(`tip_worker_info{worker="${idA}",`);
    expect(metrics).toMatch(new RegExp(`tip_worker_heartbeat_timestamp_seconds ${clock.now() / 1000}\\b`));
    await a.close();

    const reader = await startTestTip({ database, clock, plugins: [jobsPlugin([{ id: 'tick', trigger: every('1h'), run: () => undefined }])], start: { mode: 'read' } });
    try {
      expect(reader.app.workers.id).toBeUndefined();
      expect(await count(reader.app)).toBe(1);
      const [w] = await reader.app.scheduler.workers();
      expect(w).toMatchObject({ id: idA, status: 'stopped', running: 0, self: false, stoppedAt: expect.any(Date) });
      // Read mode: plans() reads the stored plan (the next run A planned) and the last run.
      const [plan] = await reader.app.scheduler.plans();
      expect(plan).toMatchObject({ id: 'tick', plugin: 'workers-test', group: false, running: false, lastRun: { status: 'succeeded', workerId: idA, counts: { n: 1 } } });
      expect(plan!.nextRunAt?.getTime()).toBe(plan!.lastRun!.endedAt!.getTime() + 3_600_000);

      const router = new RouteRouter(reader.app.routes(), { log: reader.app.log, servedScopes: ['read'] });
      const res = await router.handle({ method: 'GET', url: '/api/workers' });
      expect(res?.status).toBe(200);
      const listed = JSON.parse(await responseText(res)) as Array<{ id: string; status: string; heartbeatAgeMs: number }>;
      expect(listed).toEqual([expect.objectContaining({ id: idA, status: 'stopped' })]);
    } finally {
      await reader.close();
    }
    // Reading (workers, plans, the route) wrote nothing: still one worker row, still stopped.
    const again = await startTestTip({ database, clock, start: { mode: 'read' } });
    try {
      expect(await count(again.app)).toBe(1);
    } finally {
      await again.close();
    }
  });

  it('plans() of a started scheduler: its own next run, the last run of any worker; a manual app registers without timers', async () => {
    const database = await shared();
    const clock = new ManualClock();
    const jobs = [
      { id: 'hourly', trigger: every('1h'), run: () => undefined },
      { id: 'manual', run: () => undefined },
    ];
    await using t = await startTestTip({ database, clock, plugins: [jobsPlugin(jobs)] });
    await clock.advance(0); // the first run, due at start
    await t.app.scheduler.idle();
    const plans = await t.app.scheduler.plans();
    expect(plans.map((p) => p.id)).toEqual(['hourly', 'manual']);
    expect(plans[0]).toMatchObject({ running: false, lastRun: { status: 'succeeded', reason: 'schedule' }, nextRunAt: new Date(clock.now() + 3_600_000) });
    expect(plans[1]).toMatchObject({ running: false, lastRun: undefined, nextRunAt: undefined });

    await using manual = await startTestTip({ database, clock, plugins: [jobsPlugin(jobs)], start: { schedule: false } });
    await manual.app.scheduler.trigger('manual');
    await manual.app.scheduler.history({ limit: 1 }); // flushes its buffered history
    const mine = (await t.app.scheduler.plans()).find((p) => p.id === 'manual');
    expect(mine?.lastRun).toMatchObject({ status: 'succeeded', workerId: manual.app.workers.id });
    expect((await t.app.scheduler.workers()).find((w) => w.id === manual.app.workers.id)).toMatchObject({ mode: 'run', scheduling: false, status: 'live' });
  });

  it('scheduler.lease must be longer than scheduler.heartbeat', async () => {
    await expect(startTestTip({ database: dialect, config: { scheduler: { heartbeat: '10s', lease: '10s' } } })).rejects.toMatchObject({
      code: TipErrorCodes.CONFIG_INVALID,
      message: expect.stringContaining('scheduler.lease'),
    });
  });
});

describe.each(testDialects())('worker registry on a failing %s database', (dialect) => {
  it('a heartbeat that fails is logged once and never throws; stop() returns within its bound', async () => {
    const target = await tempDatabase(dialect);
    const db = await Database.open({ url: target.url, entities: [...coreEntities], migrations: coreMigrations.map((m) => ({ owner: '@tip/core', migration: m })) });
    const lines: Array<{ level: number; msg: string }> = [];
    const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
    try {
      await db.migrate();
      const clock = new ManualClock();
      expect(() => new WorkerRegistry({ db, clock, log, heartbeatMs: 1000, leaseMs: 1000, version: 't' })).toThrow(
        expect.objectContaining({ code: TipErrorCodes.CONFIG_INVALID, message: expect.stringContaining('scheduler.lease') }),
      );
      const registry = new WorkerRegistry({ db, clock, log, heartbeatMs: 1000, leaseMs: 3000, version: 't' });
      const id = await registry.register('serve', true);
      await beat(clock, 2000);
      expect((await db.em().findOne(WorkerEntity, { id: id! }))?.heartbeatAt.getTime()).toBeGreaterThan(Date.UTC(2026, 0, 1));
      await db.close();
      await beat(clock, 4000);
      await vi.waitFor(() => expect(lines.filter((l) => l.msg.startsWith('worker heartbeat failed'))).toHaveLength(1), { timeout: 10_000 });
      await registry.stop();
      expect(lines.some((l) => l.level === 40 && l.msg.includes(`marking worker ${id} stopped failed`))).toBe(true);
    } finally {
      await db.close().catch(() => undefined);
      await target.drop();
    }
  }, 60_000);
});
