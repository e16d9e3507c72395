import { afterEach, describe, expect, it } from 'vitest';
import { after, defineSource, defineSourceKind, TipErrorCodes, type JobDefinition, type TriggerEvent } from '../src/index.js';
import { startTestTip, testDialects, type TestTip } from '../src/testing/index.js';
import { deferred, jobsPlugin } from './helpers.js';

describe.each(testDialects())('scheduler contract (children as data, tickets, events) on %s', (dialect) => {
  const open: TestTip[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
  });
  const start = async (jobs: JobDefinition[], extra: Parameters<typeof jobsPlugin>[2] = {}) => {
    const t = await startTestTip({ database: dialect, plugins: [jobsPlugin('test-plugin', jobs, extra)] });
    open.push(t);
    return t;
  };

  it('a group fans out registered jobs and sources given as data, with JSON payloads, in order', async () => {
    const seen: Array<[string, unknown]> = [];
    const leaf: JobDefinition = {
      id: 'leaf',
      run: (run) => {
        seen.push([run.jobId, run.payload]);
        return { counts: { n: (run.payload as { n: number }).n } };
      },
    };
    const group: JobDefinition = {
      id: 'fan',
      children: () => [
        { job: 'leaf', id: 'fan/one', payload: { n: 1 } },
        { job: 'leaf', id: 'fan/two', payload: { n: 2 } },
        { source: 'local' },
      ],
    };
    const kind = defineSourceKind({ kind: 'test', ingest: async ({ batches }) => { let n = 0; for await (const b of batches) n += (b as unknown[]).length; return { counts: { ingested: n } }; } });
    const source = defineSource({ id: 'local', kind: 'test', async *fetch() { yield [1, 2, 3]; } });
    const t = await start([leaf, group], { register(ctx) { ctx.jobs.add(leaf, group); ctx.sourceKinds.add(kind); ctx.sources.add(source); } });
    const ticket = t.app.scheduler.trigger('fan');
    expect(ticket.runId).toMatch(/^[0-9a-f-]{36}$/);
    const record = await ticket;
    expect(record.id).toBe(ticket.runId);
    expect(record.status).toBe('succeeded');
    expect(record.counts).toEqual({ children: 3, succeeded: 3, failed: 0 });
    expect(seen.sort()).toEqual([['fan/one', { n: 1 }], ['fan/two', { n: 2 }]]);
    const children = await t.app.scheduler.history({ parentId: record.id });
    expect(Object.fromEntries(children.map((c) => [c.jobId, c.counts]))).toEqual({ 'fan/one': { n: 1 }, 'fan/two': { n: 2 }, 'fan/local': { ingested: 3 } });
    expect((await ticket.done()).id).toBe(record.id);
  });

  it('a child naming an unregistered job or source fails the group naming both', async () => {
    const t = await start([
      { id: 'bad-job', children: () => [{ job: 'nope' }] },
      { id: 'bad-source', children: () => [{ source: 'missing' }] },
      { id: 'dup', run: () => undefined },
      { id: 'twice', children: () => [{ job: 'dup' }, { job: 'dup' }] },
    ]);
    const a = await t.app.scheduler.trigger('bad-job');
    expect(a.status).toBe('failed');
    expect(a.error).toMatch(/group "bad-job": child "nope" names job "nope", which is not registered/);
    const b = await t.app.scheduler.trigger('bad-source');
    expect(b.error).toMatch(/child "bad-source\/missing" names source "missing"/);
    const c = await t.app.scheduler.trigger('twice');
    expect(c.error).toMatch(/two children with id "dup"/);
  });

  it('a trigger coalesced into the queued rerun gets that rerun\'s runId; payloads arrive as JSON', async () => {
    const gate = deferred();
    const payloads: unknown[] = [];
    const t = await start([{ id: 'slow', run: async (run) => { payloads.push(run.payload); await gate.promise; } }]);
    const first = t.app.scheduler.trigger('slow', { payload: { at: new Date('2026-01-02T03:04:05Z'), skip: undefined } });
    const second = t.app.scheduler.trigger('slow');
    const third = t.app.scheduler.trigger('slow');
    expect(second.runId).not.toBe(first.runId);
    expect(third.runId).toBe(second.runId);
    gate.resolve();
    const [r1, r2, r3] = await Promise.all([first, second, third]);
    expect(r1.id).toBe(first.runId);
    expect(r2.id).toBe(second.runId);
    expect(r3).toBe(r2);
    expect(payloads[0]).toEqual({ at: '2026-01-02T03:04:05.000Z' });
  });

  it('refuses a payload that is not JSON, naming the job', async () => {
    const t = await start([{ id: 'j', run: () => undefined }]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(t.app.scheduler.trigger('j', { payload: cyclic })).rejects.toMatchObject({ code: TipErrorCodes.INPUT_INVALID, message: expect.stringContaining('trigger("j") payload is not JSON') });
    await expect(t.app.scheduler.trigger('j', { payload: 'x'.repeat(300 * 1024) })).rejects.toMatchObject({ code: TipErrorCodes.INPUT_INVALID });
    await expect(t.app.scheduler.trigger('nope')).rejects.toMatchObject({ code: TipErrorCodes.JOB_UNKNOWN });
  });

  it('an event starts each after() job once with the same event id and a JSON payload', async () => {
    const got: Array<{ job: string; event?: TriggerEvent; payload: unknown }> = [];
    const onEvent = (id: string): JobDefinition => ({ id, trigger: after('tip.started'), run: (run) => void got.push({ job: run.jobId, event: run.event, payload: run.payload }) });
    const t = await start([onEvent('a'), onEvent('b')]);
    await t.app.scheduler.idle();
    got.length = 0;
    await t.app.events.emit('tip.started', { at: new Date('2026-05-06T07:08:09Z') });
    await t.app.scheduler.idle();
    expect(got.map((g) => g.job).sort()).toEqual(['a', 'b']);
    expect(got[0]!.event!.name).toBe('tip.started');
    expect(got[0]!.event!.id).toBe(got[1]!.event!.id);
    expect(got[0]!.payload).toEqual({ at: '2026-05-06T07:08:09.000Z' });
    await t.app.events.emit('tip.started', { at: new Date() });
    await t.app.scheduler.idle();
    expect(got[2]!.event!.id).not.toBe(got[0]!.event!.id);
  });
});


