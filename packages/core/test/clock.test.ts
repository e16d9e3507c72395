import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../src/index.js';
import { MAX_TIMER_DELAY } from '../src/util/clock.js';
import { ManualClock } from '../src/testing/index.js';

const DAY = 86_400_000;

describe('systemClock long timers', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('chains timers for a delay above 2^31-1 ms instead of firing at once', () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const fn = vi.fn();
    systemClock.setTimeout(fn, 60 * DAY);
    // Never asks Node for a delay it would clamp to 1 ms.
    expect(spy.mock.calls.every(([, ms]) => (ms ?? 0) <= MAX_TIMER_DELAY)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_DELAY); // first link of the chain fired, re-armed
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(60 * DAY - MAX_TIMER_DELAY - 2);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls.length).toBe(3); // 60 days = two full links and a remainder
    expect(spy.mock.calls.every(([, ms]) => (ms ?? 0) <= MAX_TIMER_DELAY)).toBe(true);
  });

  it('clears a chained timer whichever link is pending', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const handle = systemClock.setTimeout(fn, 30 * DAY);
    vi.advanceTimersByTime(MAX_TIMER_DELAY + 1); // now on the second link
    systemClock.clearTimeout(handle);
    vi.advanceTimersByTime(30 * DAY);
    expect(fn).not.toHaveBeenCalled();
  });

  it('short and negative delays behave like setTimeout', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    systemClock.setTimeout(fn, 10);
    systemClock.setTimeout(fn, -5);
    vi.advanceTimersByTime(0);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('ManualClock fires a 60-day timer exactly when due', async () => {
    const clock = new ManualClock();
    const fn = vi.fn();
    clock.setTimeout(fn, 60 * DAY);
    await clock.advance(60 * DAY - 1);
    expect(fn).not.toHaveBeenCalled();
    await clock.advance(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
