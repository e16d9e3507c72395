import type { Clock, TimerHandle } from '../util/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to: `advance(ms)` fires every timer due on the way, in order,
 * letting promises settle between timers so scheduled jobs actually run.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<Timer>();

  /** @param start the initial time (default 2026-01-01T00:00:00Z) */
  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as Timer);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** When the next timer fires, if any. */
  nextAt(): number | undefined {
    let best: number | undefined;
    for (const t of this.#timers) if (best === undefined || t.at < best) best = t.at;
    return best;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order; after each, waits for pending I/O and
   * promise callbacks (`settle`) so the work they start can progress and arm new timers.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const next = this.#earliest();
      if (!next || next.at > target) break;
      this.#now = Math.max(this.#now, next.at);
      this.#timers.delete(next);
      next.fn();
    }
    this.#now = target;
    await settle();
  }

  /** Sets the time to `when` (never backwards), firing timers due on the way. */
  async advanceTo(when: Date | number): Promise<void> {
    const t = typeof when === 'number' ? when : when.getTime();
    await this.advance(Math.max(0, t - this.#now));
  }

  #earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}

/** Lets promise callbacks and already-completed I/O callbacks run (a few macrotask turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
