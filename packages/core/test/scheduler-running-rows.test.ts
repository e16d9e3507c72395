import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { executeRaw, RunHistory, type JobRunRecord } from '../src/index.js';
import { ManualClock, startTestTip, testDialects } from '../src/testing/index.js';

const silent = pino({ level: 'silent' });
const child = (parentId: string): JobRunRecord => ({ id: randomUUID(), jobId: 'group/child', parentId, reason: 'group', status: 'running', attempt: 1, startedAt: new Date(1000) });

describe.each(testDialects())('running rows of child runs on %s', (dialect) => {
  it('a lazily started run gets a `running` row only if it still runs at the next flush', async () => {
    await using t = await startTestTip({ database: dialect, start: { schedule: false } });
    const clock = new ManualClock();
    const history = new RunHistory(t.app.db, silent, { clock });
    const rows = async () =>
      (await executeRaw<{ id: string; status: string }>(t.app.em(), `select id, status from tip_job_run where job_id = 'group/child'`)).rows;
    const parent = randomUUID();

    // Ends before any flush: written once, as finished.
    const quick = child(parent);
    history.recordStart(quick, { lazy: true });
    quick.status = 'succeeded';
    quick.endedAt = new Date(1001);
    history.record(quick);
    await history.flush();
    expect(await rows()).toEqual([{ id: quick.id, status: 'succeeded' }]);

    // Still running at the flush (the timer's, here): a `running` row, replaced when it ends.
    const slow = child(parent);
    history.recordStart(slow, { lazy: true });
    await clock.advance(250);
    await history.flush();
    expect((await rows()).find((r) => r.id === slow.id)).toEqual({ id: slow.id, status: 'running' });
    slow.status = 'failed';
    slow.endedAt = new Date(5000);
    history.record(slow);
    await history.flush();
    expect((await rows()).find((r) => r.id === slow.id)).toEqual({ id: slow.id, status: 'failed' });
    expect(await rows()).toHaveLength(2);
  });
});
