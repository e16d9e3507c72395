import type { Clock } from './clock.js';

/**
 * Waits `ms` on `clock` (a `ManualClock` in tests); resolves `false` at once when `signal` aborts
 * first (the timer is cleared), `true` when the time passed.
 * @internal
 */
export function sleepOnClock(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Whether `promise` settles within `ms` (real time): resolves `true` when it did, `false` when the
 * time ran out first (the timer is cleared either way; the promise goes on).
 * @internal
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
