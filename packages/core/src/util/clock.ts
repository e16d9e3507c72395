/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle =
  | {
      /** Type-level brand that keeps the handle opaque; not present at runtime. */
      readonly __timer: unique symbol;
    }
  | object;

/**
 * The scheduler's source of time. The default is the system clock; tests use
 * `ManualClock` from `@tip/core/testing` to move time by hand.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds of this clock's time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer created by {@link Clock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's largest timer delay (2^31 - 1 ms, about 24.8 days). Node fires a `setTimeout` with a
 * larger delay after 1 ms, so {@link systemClock} chains timers of at most this length instead.
 * @internal
 */
export const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * The wall clock, backed by Node timers (unref'd: a pending timer does not keep the process
 * alive). A delay longer than 2^31 - 1 ms (Node's limit) is split into a chain of timers of at most
 * that length, so a job due in 60 days does not fire at once; the handle cancels whichever timer
 * of the chain is pending. A negative (or NaN) delay fires on the next turn;
 * `Infinity` never fires.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const box: { t?: NodeJS.Timeout } = {};
    const arm = (remaining: number) => {
      const step = Math.min(remaining, MAX_TIMER_DELAY);
      box.t = setTimeout(() => (remaining > MAX_TIMER_DELAY ? arm(remaining - MAX_TIMER_DELAY) : fn()), step);
      box.t.unref?.();
    };
    arm(ms > 0 ? ms : 0);
    return box;
  },
  clearTimeout(handle) {
    const box = handle as { t?: NodeJS.Timeout };
    if (box.t) clearTimeout(box.t);
  },
};
