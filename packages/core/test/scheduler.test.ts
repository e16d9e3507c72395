import { afterEach, describe, expect, it } from 'vitest';
import { after, cron, every, TipErrorCodes, type JobDefinition, type JobRunStatus } from '../src/index.js';
import { JobRunEntity } from '../src/database/entities.js';
import { ManualClock, settle, startTestTip, tempDatabase, testDialects, type TestDatabase, type TestTip } from '../src/testing/index.js';
import { deferred, jobsPlugin } from './helpers.js';

const MIN = 60_000;

describe.each(testDialects())('scheduler on %s', (dialect) => {
  const open: TestTip[] = [];
  const dbs: TestDatabase[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
    for (const d of dbs.splice(0)) await d.drop();
  });
  const start = async (jobs: JobDefinition[], opts: { clock?: ManualClock; database?: TestDatabase; config?: Record<string, unknown> } = {}) => {
    const t = await startTestTip({ database: opts.database ?? dialect, clock: opts.clock, config: opts.config, plugins: [jobsPlugin('test-plugin', jobs)] });
    open.push(t);
    return t;
  };

  it('a group completes only after every child, failed ones included, then reschedules', async () => {
    const slow = deferred();
    const order: string[] = [];
    const completions: Array<{ total: number; succeeded: number; failed: number }> = [];
    const group: JobDefinition = {
      id: 'module',
      trigger: every('10m'),
      children: () => [
        { id: 'module/a', run: () => void order.push('a') },
        { id: 'module/b', run: () => { order.push('b'); throw new Error('feed down'); } },
        { id: 'module/c', run: async () => { await slow.promise; order.push('c'); return { counts: { added: 3 } }; } },
      ],
      onComplete: (s) => void completions.push({ total: s.total, succeeded: s.succeeded, failed: s.failed }),
    };
    const t = await start([group]);
    const clock = t.clock!;
    await clock.advance(0); // first run is immediate
    expect(order.sort()).toEqual(['a', 'b']);
    expect(completions).toHaveLength(0);
    expect(t.app.scheduler.jobs().find((j) => j.id === 'module')!.nextRunAt).toBeUndefined();
    // the group is still running: time passing does not start a second run
    await clock.advance(30 * MIN);
    expect(completions).toHaveLength(0);
    const endedAt = clock.now();
    slow.resolve();
    await t.app.scheduler.idle();
    expect(completions).toEqual([{ total: 3, succeeded: 2, failed: 1 }]);
    const info = t.app.scheduler.jobs().find((j) => j.id === 'module')!;
    expect(info.lastRun?.status).toBe('partial');
    expect(info.nextRunAt?.getTime()).toBe(endedAt + 10 * MIN);

    const [groupRun] = await t.app.scheduler.history({ jobId: 'module' });
    expect(groupRun!.status).toBe('partial');
    expect(groupRun!.counts).toEqual({ children: 3, succeeded: 2, failed: 1 });
    const children = await t.app.scheduler.history({ parentId: groupRun!.id });
    expect(children.map((c) => [c.jobId, c.status]).sort()).toEqual([
      ['module/a', 'succeeded'],
      ['module/b', 'failed'],
      ['module/c', 'succeeded'],
    ]);
    expect(children.find((c) => c.jobId === 'module/b')!.error).toContain('feed down');
    expect(children.find((c) => c.jobId === 'module/c')!.counts).toEqual({ added: 3 });

    // the next cycle fires 10 minutes after the group ended, not before
    await clock.advance(10 * MIN - 1);
    expect(await t.app.scheduler.history({ jobId: 'module' })).toHaveLength(1);
    await clock.advance(1);
    await t.app.scheduler.idle();
    expect(await t.app.scheduler.history({ jobId: 'module' })).toHaveLength(2);
  });

  it('an after(event) job runs after the event, and coalesces events that arrive while it runs', async () => {
    const gate = deferred();
    const payloads: unknown[] = [];
    const t = await start([
      { id: 'producer', children: () => [{ id: 'producer/x', run: () => undefined }] },
      {
        id: 'consumer',
        trigger: after('job.group.completed', (s) => s.jobId === 'producer'),
        run: async (run) => { payloads.push((run.payload as { jobId: string }).jobId); await gate.promise; },
      },
    ]);
    expect(payloads).toEqual([]);
    await t.app.scheduler.trigger('producer');
    await settle();
    expect(payloads).toEqual(['producer']);
    // two more events while the consumer is busy → exactly one rerun
    await t.app.scheduler.trigger('producer');
    await t.app.scheduler.trigger('producer');
    gate.resolve();
    await t.app.scheduler.idle();
    expect(payloads).toEqual(['producer', 'producer']);
    const runs = await t.app.scheduler.history({ jobId: 'consumer' });
    expect(runs.every((r) => r.reason === 'event' && r.status === 'succeeded')).toBe(true);
  });

  it('a timeout aborts the signal and marks the run', async () => {
    let aborted: unknown;
    const t = await start([
      {
        id: 'hang',
        timeout: '5s',
        run: (run) => new Promise<void>((resolve) => run.signal.addEventListener('abort', () => { aborted = run.signal.reason; resolve(); })),
      },
    ]);
    const done = t.app.scheduler.trigger('hang');
    await t.clock!.advance(4999);
    expect(aborted).toBeUndefined();
    await t.clock!.advance(1);
    const rec = await done;
    expect(rec.status).toBe('timeout');
    expect(rec.error).toContain('TIP_JOB_TIMEOUT');
    expect((aborted as { code: string }).code).toBe(TipErrorCodes.JOB_TIMEOUT);
    const [stored] = await t.app.scheduler.history({ jobId: 'hang' });
    expect(stored!.status).toBe('timeout');
  });

  it('a job that ignores its signal is still marked as timed out', async () => {
    const t = await start([{ id: 'stubborn', timeout: '1s', run: () => new Promise(() => undefined) }]);
    const done = t.app.scheduler.trigger('stubborn');
    await t.clock!.advance(1000);
    expect((await done).status).toBe('timeout');
  });

  it('retries with exponential backoff on the scheduler clock', async () => {
    const attempts: number[] = [];
    const t = await start([
      {
        id: 'flaky',
        retry: { attempts: 3, backoff: '10s' },
        run: (run) => {
          attempts.push(run.attempt);
          if (run.attempt < 3) throw new Error(`boom ${run.attempt}`);
        },
      },
    ]);
    const done = t.app.scheduler.trigger('flaky');
    await t.clock!.advance(0);
    expect(attempts).toEqual([1]);
    await t.clock!.advance(10_000);
    expect(attempts).toEqual([1, 2]);
    await t.clock!.advance(19_999);
    expect(attempts).toEqual([1, 2]);
    await t.clock!.advance(1);
    const rec = await done;
    expect(attempts).toEqual([1, 2, 3]);
    expect(rec.status).toBe('succeeded');
    expect(rec.attempt).toBe(3);
  });

  it('stop() waits for running jobs', async () => {
    const gate = deferred();
    let finished = false;
    const t = await start([{ id: 'long', run: async () => { await gate.promise; finished = true; } }]);
    const run = t.app.scheduler.trigger('long');
    await settle();
    let stopped = false;
    const stopping = t.app.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect((await run).status).toBe('succeeded');
  });

  it('stop() aborts jobs still running after the drain timeout', async () => {
    const t = await start([{ id: 'forever', run: (r) => new Promise((_, rej) => r.signal.addEventListener('abort', () => rej(r.signal.reason))) }], {
      config: { scheduler: { drainTimeout: 50 } },
    });
    const run = t.app.scheduler.trigger('forever');
    await settle();
    await t.app.stop();
    const rec = await run;
    expect(rec.status).toBe('aborted');
  });

  it('limits concurrency globally and per key', async () => {
    let running = 0;
    let peak = 0;
    let keyRunning = 0;
    let keyPeak = 0;
    const work = (key?: string) => async () => {
      running++;
      peak = Math.max(peak, running);
      if (key) keyPeak = Math.max(keyPeak, ++keyRunning);
      await new Promise((r) => setTimeout(r, 5));
      if (key) keyRunning--;
      running--;
    };
    const t = await start(
      [
        {
          id: 'fan',
          children: () => [
            ...Array.from({ length: 12 }, (_, i) => ({ id: `fan/${i}`, run: work() })),
            ...Array.from({ length: 4 }, (_, i) => ({ id: `fan/k${i}`, concurrencyKey: 'same-host', run: work('k') })),
          ],
        },
      ],
      { config: { scheduler: { concurrency: 3 } } },
    );
    const rec = await t.app.scheduler.trigger('fan');
    expect(rec.status).toBe('succeeded');
    expect(peak).toBe(3);
    expect(keyPeak).toBe(1);
  });

  it('a restart resumes the plan from the database; an overdue job runs once, not once per missed slot', async () => {
    const database = await tempDatabase(dialect);
    dbs.push(database);
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 0));
    const runs: string[] = [];
    const jobs = (): JobDefinition[] => [
      { id: 'hourly', trigger: every('1h'), run: (r) => void runs.push(`hourly:${r.reason}`) },
      { id: 'daily-cron', trigger: cron('0 3 * * *'), run: (r) => void runs.push(`cron:${r.reason}`) },
      { id: 'quiet', trigger: every('1h'), missed: 'skip', run: (r) => void runs.push(`quiet:${r.reason}`) },
    ];
    const first = await start(jobs(), { clock, database });
    await clock.advance(0);
    await first.app.scheduler.idle();
    expect(runs.sort()).toEqual(['hourly:schedule', 'quiet:schedule']);
    const planned = first.app.scheduler.jobs().find((j) => j.id === 'hourly')!.nextRunAt!;
    expect(planned.getTime()).toBe(Date.UTC(2026, 0, 1, 1, 0, 0));
    await first.close();
    open.splice(open.indexOf(first), 1);

    // Down for 5 hours and 10 minutes: 5 hourly slots and the 03:00 cron slot were missed.
    runs.length = 0;
    const clock2 = new ManualClock(Date.UTC(2026, 0, 1, 5, 10, 0));
    const second = await start(jobs(), { clock: clock2, database });
    const hourly = second.app.scheduler.jobs().find((j) => j.id === 'hourly')!;
    expect(hourly.lastRun?.status).toBe('succeeded');
    await clock2.advance(0);
    await second.app.scheduler.idle();
    // hourly missed 5 slots and runs once; the cron job never ran, but its 03:00 slot was persisted
    // at first start, so it is overdue too; 'quiet' skips its missed slots
    expect(runs.sort()).toEqual(['cron:overdue', 'hourly:overdue']);
    const quiet = second.app.scheduler.jobs().find((j) => j.id === 'quiet')!;
    expect(quiet.nextRunAt!.getTime()).toBe(Date.UTC(2026, 0, 1, 6, 10, 0));
    const hourlyNext = second.app.scheduler.jobs().find((j) => j.id === 'hourly')!.nextRunAt!;
    expect(hourlyNext.getTime()).toBe(Date.UTC(2026, 0, 1, 6, 10, 0));
    const cronNext = second.app.scheduler.jobs().find((j) => j.id === 'daily-cron')!.nextRunAt!;
    expect(cronNext.getTime()).toBe(Date.UTC(2026, 0, 2, 3, 0, 0));
    await clock2.advance(59 * MIN);
    expect(runs).toHaveLength(2);
    await clock2.advance(MIN);
    await second.app.scheduler.idle();
    expect(runs.sort()).toEqual(['cron:overdue', 'hourly:overdue', 'hourly:schedule', 'quiet:schedule']);
  });

  it('records every status in history with its reason', async () => {
    const t = await start([
      { id: 'ok', run: () => ({ counts: { rows: 2 } }) },
      { id: 'bad', run: () => { throw new Error('nope'); } },
    ]);
    const statuses: JobRunStatus[] = [];
    t.app.events.on('job.finished', (e) => void statuses.push(e.status));
    await t.app.scheduler.trigger('ok');
    await t.app.scheduler.trigger('bad');
    expect(statuses).toEqual(['succeeded', 'failed']);
    const runs = await t.app.scheduler.history();
    expect(runs).toHaveLength(2);
    expect(runs.every((r) => r.reason === 'manual' && r.plugin === 'test-plugin' && r.endedAt && r.durationMs !== undefined)).toBe(true);
    await expect(t.app.scheduler.trigger('missing')).rejects.toMatchObject({ code: TipErrorCodes.JOB_UNKNOWN });
  });

  it('top-level runs are visible as running while they run; runs a crash left running are marked aborted', async () => {
    const database = await tempDatabase(dialect);
    dbs.push(database);
    const gate = deferred();
    const first = await start([{ id: 'slow', children: () => [{ id: 'slow/a', run: () => gate.promise }] }], { database });
    const run = first.app.scheduler.trigger('slow');
    await settle();
    const during = await first.app.scheduler.history({ jobId: 'slow' });
    expect(during.map((r) => r.status)).toEqual(['running']);
    gate.resolve();
    await run;
    const after = await first.app.scheduler.history({ jobId: 'slow' });
    expect(after.map((r) => r.status)).toEqual(['succeeded']);
    // simulate a process that died mid-run: a row left 'running'
    await first.app.em().insert(JobRunEntity, { id: '00000000-0000-4000-8000-000000000001', jobId: 'slow', reason: 'schedule', status: 'running', attempt: 1, startedAt: new Date(first.clock!.now()) });
    await first.close();
    open.splice(open.indexOf(first), 1);
    const second = await start([{ id: 'slow', run: () => undefined }], { database });
    const rows = await second.app.scheduler.history({ jobId: 'slow' });
    expect(rows.find((r) => r.id === '00000000-0000-4000-8000-000000000001')).toMatchObject({ status: 'aborted', error: expect.stringContaining('interrupted') });
  });
});
