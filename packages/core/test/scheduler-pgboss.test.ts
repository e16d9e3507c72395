import { afterEach, describe, expect, it } from 'vitest';
import { after, at, every, TipErrorCodes, type JobDefinition } from '../src/index.js';
import { startTestTip, tempPostgres, testDialects, type TestTip } from '../src/testing/index.js';
import { jobsPlugin } from './helpers.js';

const PG = testDialects().includes('postgresql');
const FAST = { scheduler: { backend: 'pg-boss', heartbeat: '1s', pgBoss: { pollInterval: '500ms', monitorInterval: '1s' } } };

/** Polls `probe` (bounded) until it returns a value; the message names what was awaited. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!PG)('pg-boss scheduler in one process (PostgreSQL)', () => {
  const open: TestTip[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
  });
  const start = async (jobs: JobDefinition[], config: Record<string, unknown> = FAST) => {
    const t = await startTestTip({ database: 'postgresql', clock: 'system', config, plugins: [jobsPlugin('test-plugin', jobs)] });
    open.push(t);
    return t;
  };

  it('refuses SQLite, naming scheduler.backend and the database', async () => {
    await expect(startTestTip({ database: 'sqlite', config: FAST, plugins: [] })).rejects.toMatchObject({
      code: TipErrorCodes.CONFIG_INVALID,
      message: expect.stringMatching(/scheduler\.backend "pg-boss" needs PostgreSQL, but database\.url is .*sqlite/),
    });
  });

  it('runs a triggered job through pg-boss and resolves its ticket with the record', async () => {
    const t = await start([{ id: 'leaf', run: (run) => ({ counts: { got: (run.payload as { n: number }).n } }) }]);
    const ticket = t.app.scheduler.trigger('leaf', { payload: { n: 7 } });
    const record = await ticket;
    expect(record).toMatchObject({ id: ticket.runId, jobId: 'leaf', status: 'succeeded', counts: { got: 7 }, reason: 'manual' });
    expect(record.workerId).toBe(t.app.workers.id);
    expect((await t.app.scheduler.history({ jobId: 'leaf' })).map((r) => r.id)).toEqual([ticket.runId]);
  });

  it('fans a group out as pg-boss children and completes it once with every child\'s counts', async () => {
    const summaries: unknown[] = [];
    const t = await start([
      { id: 'leaf', run: (run) => ({ counts: { i: (run.payload as { i: number }).i } }) },
      {
        id: 'fan',
        children: () => Array.from({ length: 12 }, (_, i) => ({ job: 'leaf', id: `fan/${i}`, payload: { i } })),
        onComplete: (s) => void summaries.push(s.children.map((c) => c.counts?.i)),
      },
    ]);
    const record = await t.app.scheduler.trigger('fan');
    expect(record.status).toBe('succeeded');
    expect(record.counts).toEqual({ children: 12, succeeded: 12, failed: 0 });
    expect(summaries).toEqual([Array.from({ length: 12 }, (_, i) => i)]);
  });

  it('refuses closure children, naming the group', async () => {
    const t = await start([{ id: 'old', children: () => [{ id: 'old/a', run: () => undefined }] }]);
    const record = await t.app.scheduler.trigger('old');
    expect(record.status).toBe('failed');
    expect(record.error).toMatch(/group "old": child "old\/a" is a job definition built at run time/);
  });

  it('retries a failing job through pg-boss with its retry policy', async () => {
    let calls = 0;
    const t = await start([{ id: 'flaky', retry: { attempts: 3, backoff: '1s' }, run: () => { if (++calls < 2) throw new Error('boom'); } }]);
    const record = await t.app.scheduler.trigger('flaky');
    expect(record.status).toBe('succeeded');
    expect(record.attempt).toBe(2);
  });

  it('plans every() schedules in the database and runs after(event) jobs once per event', async () => {
    const t = await start([
      { id: 'tick', trigger: every('1h'), run: () => undefined },
      { id: 'on-tick', trigger: after('job.finished', (e) => e.jobId === 'tick'), run: () => undefined },
    ]);
    const first = await until('the first tick run', async () => (await t.app.scheduler.history({ jobId: 'tick' }))[0]);
    expect(first.reason).toBe('schedule');
    await until('on-tick to run', async () => (await t.app.scheduler.history({ jobId: 'on-tick' })).find((r) => r.status === 'succeeded'));
    const plans = await t.app.scheduler.plans();
    const tick = plans.find((p) => p.id === 'tick')!;
    expect(tick.nextRunAt!.getTime() - first.endedAt!.getTime()).toBeGreaterThanOrEqual(3_599_000);
    expect(await t.app.scheduler.history({ jobId: 'on-tick' })).toHaveLength(1);
  });

  it('honours a concurrency key cap across two workers (advisory locks)', async () => {
    const database = await tempPostgres();
    let active = 0;
    let peak = 0;
    const jobs: JobDefinition[] = Array.from({ length: 8 }, (_, i) => ({
      id: `k/${i}`,
      concurrencyKey: 'shared',
      run: async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 60));
        active--;
      },
    }));
    const config = { ...FAST, scheduler: { ...FAST.scheduler, concurrency: 4, keyConcurrency: { shared: 2 } } };
    const apps: TestTip[] = [];
    try {
      for (let i = 0; i < 2; i++) apps.push(await startTestTip({ database, clock: 'system', config, plugins: [jobsPlugin('test-plugin', jobs)] }));
      const records = await Promise.all(jobs.map((j, i) => apps[i % 2]!.app.scheduler.trigger(j.id)));
      expect(records.map((r) => r.status)).toEqual(jobs.map(() => 'succeeded'));
      expect(peak).toBeLessThanOrEqual(2);
      expect(peak).toBeGreaterThanOrEqual(1);
    } finally {
      for (const t of apps) await t.close();
      await database.drop();
    }
  });

  it('a stopping worker hands a run it could not finish back; another worker completes it', async () => {
    const database = await tempPostgres();
    const started: string[] = [];
    const slow = (name: string): JobDefinition => ({
      id: 'slow',
      run: async (run) => {
        started.push(name);
        if (name === 'a') await new Promise((_, reject) => run.signal.addEventListener('abort', () => reject(run.signal.reason), { once: true }));
        return { counts: { by: name === 'a' ? 1 : 2 } };
      },
    });
    const config = (drain: string) => ({ ...FAST, scheduler: { ...FAST.scheduler, drainTimeout: drain } });
    const a = await startTestTip({ database, clock: 'system', config: config('300ms'), plugins: [jobsPlugin('test-plugin', [slow('a')])] });
    let b: TestTip | undefined;
    try {
      const ticket = a.app.scheduler.trigger('slow');
      await until('worker a to start the run', () => started.includes('a'));
      b = await startTestTip({ database, clock: 'system', config: config('30s'), plugins: [jobsPlugin('test-plugin', [slow('b')])] });
      await a.app.stop();
      const other = b;
      const record = await until('the handed-back run to complete on worker b', async () => {
        const [r] = await other.app.scheduler.history({ jobId: 'slow' });
        return r && r.status !== 'running' && r.status !== 'aborted' ? r : undefined;
      });
      expect(record).toMatchObject({ id: ticket.runId, status: 'succeeded', counts: { by: 2 }, workerId: b.app.workers.id });
      expect(record.attempt).toBe(2);
      expect(started).toEqual(['a', 'b']);
    } finally {
      await a.close();
      await b?.close();
      await database.drop();
    }
  });

  it('an at() job planned by two workers runs once', async () => {
    const database = await tempPostgres();
    const when = new Date(Date.now() + 2500);
    const apps: TestTip[] = [];
    try {
      for (let i = 0; i < 2; i++) apps.push(await startTestTip({ database, clock: 'system', config: FAST, plugins: [jobsPlugin('test-plugin', [{ id: 'once', trigger: at(when), run: () => undefined }])] }));
      const first = await until('the at() run', async () => (await apps[0]!.app.scheduler.history({ jobId: 'once' })).find((r) => r.status === 'succeeded'));
      expect(first.startedAt.getTime()).toBeGreaterThanOrEqual(when.getTime());
      // A few more polling rounds of both workers: no second run.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await apps[1]!.app.scheduler.history({ jobId: 'once' })).toHaveLength(1);
      expect((await apps[1]!.app.scheduler.plans()).find((p) => p.id === 'once')!.nextRunAt).toBeUndefined();
    } finally {
      for (const t of apps) await t.close();
      await database.drop();
    }
  });
});
