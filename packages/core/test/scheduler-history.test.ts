import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, InProcessScheduler, RunHistory, TipErrorCodes, TipEventBus, type JobRunRecord } from '../src/index.js';
import { ManualClock, startTestTip, testDialects, type TestTip } from '../src/testing/index.js';

interface LogLine {
  level: number;
  msg: string;
  err?: unknown;
  pendingRows?: number;
  consecutiveFailures?: number;
  dropped?: number;
}

/** A logger that keeps its lines. */
function capture() {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

/** The app's database behind a switch: while `down`, every `em()` throws. */
function flaky(real: Database) {
  const state = { down: false, attempts: 0 };
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === 'em') {
        return () => {
          if (state.down) {
            state.attempts++;
            throw new Error('database down');
          }
          return target.em();
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { db, state };
}

const run = (jobId: string, parentId?: string): JobRunRecord => {
  const at = new Date(Date.UTC(2026, 0, 1));
  return { id: randomUUID(), jobId, parentId, reason: parentId ? 'group' : 'manual', status: 'succeeded', attempt: 1, startedAt: at, endedAt: at, durationMs: 0 };
};

describe.each(testDialects())('run history when the database fails, on %s', (dialect) => {
  const open: TestTip[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
  });
  const setup = async (options: { maxPendingRows?: number } = {}) => {
    const t = await startTestTip({ database: dialect, start: { schedule: false } });
    open.push(t);
    const { db, state } = flaky(t.app.db);
    const { log, lines } = capture();
    const clock = new ManualClock();
    const history = new RunHistory(db, log, { clock, ...options });
    return { t, db, state, log, lines, clock, history };
  };

  it('retries with exponential back-off, logs one line per step, and once on recovery', async () => {
    const { state, lines, clock, history } = await setup();
    state.down = true;
    const parent = randomUUID();
    for (let i = 0; i < 3; i++) history.record(run(`job/${i}`, parent));
    await clock.advance(250);
    expect(state.attempts).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe(50);
    expect(lines[0]!.err).toBeDefined();
    expect(lines[0]!.pendingRows).toBe(3);

    // Many more rows while down do not trigger immediate flushes.
    for (let i = 0; i < 5000; i++) history.record(run(`more/${i}`, parent));
    // Retries 250 ms after the failure, then +500, +1000 … ms, capped at 30 s.
    const gaps = [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
    for (const [i, gap] of gaps.entries()) {
      await clock.advance(gap - 1);
      expect(state.attempts).toBe(1 + i);
      await clock.advance(1);
      expect(state.attempts).toBe(2 + i);
    }
    const warns = lines.slice(1);
    expect(warns).toHaveLength(gaps.length); // one line per back-off step
    expect(warns.every((l) => l.level === 40 && l.err === undefined && l.pendingRows === 5003)).toBe(true);
    expect(warns.at(-1)!.consecutiveFailures).toBe(1 + gaps.length);
    expect(history.pendingRows).toBe(5003);

    state.down = false;
    await clock.advance(30000);
    await history.flush();
    expect(history.pendingRows).toBe(0);
    expect(history.consecutiveFailures).toBe(0);
    expect(lines.filter((l) => l.msg.includes('written again'))).toHaveLength(1);
    expect(await history.query({ parentId: parent, limit: 10_000 })).toHaveLength(5003);

    // The back-off is reset: the next row is written after the normal 250 ms.
    history.record(run('after-recovery'));
    state.down = true;
    await clock.advance(250);
    expect(state.attempts).toBe(2 + gaps.length);
    expect(lines.at(-1)!.level).toBe(50); // a new outage logs its first failure with the error again
  });

  it('flush() settles after one attempt: it rejects with TIP_DB_FAILED and keeps the rows', async () => {
    const { state, history } = await setup();
    history.record(run('x', randomUUID()));
    state.down = true;
    await expect(history.flush()).rejects.toMatchObject({ code: TipErrorCodes.DB_FAILED, details: { pendingRows: 1 } });
    expect(state.attempts).toBe(1);
    await expect(history.flush()).rejects.toMatchObject({ code: TipErrorCodes.DB_FAILED });
    state.down = false;
    await history.flush();
    expect(history.pendingRows).toBe(0);
  });

  it('past the bound, drops the oldest finished child rows (never top-level ones) and says how many', async () => {
    const { state, lines, clock, history } = await setup({ maxPendingRows: 100 });
    state.down = true;
    const parent = randomUUID();
    const tops = Array.from({ length: 5 }, (_, i) => run(`top/${i}`));
    for (const r of tops) history.record(r);
    const children = Array.from({ length: 120 }, (_, i) => run(`child/${i}`, parent));
    for (const r of children) history.record(r);
    const dropped = lines.filter((l) => l.dropped !== undefined);
    expect(dropped.length).toBeGreaterThan(0);
    const total = dropped.reduce((n, l) => n + l.dropped!, 0);
    expect(history.pendingRows).toBe(125 - total);
    expect(history.pendingRows).toBeLessThanOrEqual(100);
    state.down = false;
    await clock.advance(250);
    await history.flush();
    const stored = await history.query({ limit: 1000 });
    expect(stored.filter((r) => r.parentId === undefined)).toHaveLength(5);
    const storedChildren = new Set(stored.filter((r) => r.parentId === parent).map((r) => r.jobId));
    expect(storedChildren.size).toBe(120 - total);
    expect(storedChildren.has('child/119')).toBe(true); // the newest are kept
    expect(storedChildren.has('child/0')).toBe(false); // the oldest went first
  });

  it('scheduler.stop() does not hang on a dead database: it stops and reports the failed flush', async () => {
    const { db, state, log } = await setup();
    const clock = new ManualClock();
    const history = new RunHistory(db, log, { clock });
    const scheduler = new InProcessScheduler({ clock, events: new TipEventBus(log), history, log });
    scheduler.add({ id: 'one', run: () => undefined });
    await scheduler.start();
    await scheduler.trigger('one');
    state.down = true;
    await expect(scheduler.stop()).rejects.toMatchObject({ code: TipErrorCodes.DB_FAILED });
    await expect(scheduler.trigger('one')).rejects.toMatchObject({ code: TipErrorCodes.APP_STATE });
  });
});
