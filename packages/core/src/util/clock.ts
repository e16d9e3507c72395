/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

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

/** Node's largest timer delay; longer delays are re-armed in steps. */
const MAX_DELAY = 2_147_483_647;

/** The wall clock, backed by Node timers. Long delays are split so they never overflow. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const box: { t?: NodeJS.Timeout } = {};
    const arm = (remaining: number) => {
      const step = Math.min(Math.max(0, remaining), MAX_DELAY);
      box.t = setTimeout(() => (remaining > MAX_DELAY ? arm(remaining - MAX_DELAY) : fn()), step);
      box.t.unref?.();
    };
    arm(ms);
    return box;
  },
  clearTimeout(handle) {
    const box = handle as { t?: NodeJS.Timeout };
    if (box.t) clearTimeout(box.t);
  },
};
