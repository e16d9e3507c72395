import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { InProcessScheduler, RunHistory, TipErrorCodes, TipEventBus, type JobRun } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';

const log = pino({ level: 'silent' });
const scheduler = (clock: ManualClock) => new InProcessScheduler({ clock, events: new TipEventBus(log), history: new RunHistory(undefined, log), log });

describe('the JobRun handle', () => {
  it('works through an object derived with Object.create (as SourceRunner builds SourceRun)', async () => {
    const clock = new ManualClock();
    const s = scheduler(clock);
    let derived: JobRun | undefined;
    let aborted: unknown;
    s.add({
      id: 'derived',
      timeout: '1s',
      run: (run) => {
        derived = Object.create(run, { extra: { value: 1 } }) as JobRun;
        expect(derived.startedAt.getTime()).toBe(clock.now());
        expect(derived.log).toBe(run.log);
        expect(derived.signal).toBe(run.signal);
        return new Promise<void>((resolve) => derived!.signal.addEventListener('abort', () => { aborted = derived!.signal.reason; resolve(); }));
      },
    });
    await s.start();
    const done = s.trigger('derived');
    await clock.advance(1000);
    const rec = await done;
    expect(rec.status).toBe('timeout');
    expect((aborted as { code: string }).code).toBe(TipErrorCodes.JOB_TIMEOUT);
    expect(derived!.id).toBe(rec.id);
    await s.stop();
  });
});
