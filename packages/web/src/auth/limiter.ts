/**
 * Counts failures per key (client address) in fixed windows; `blocked(key)` once a key reached
 * `max` failures in its window. Bounded: at most `maxKeys` keys are tracked (the oldest windows
 * are dropped first).
 */
export class FailureLimiter {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();

  /**
   * @param max failures allowed per window
   * @param windowMs window length
   * @param maxKeys most keys tracked at once
   * @param now time source
   */
  constructor(
    readonly max: number,
    readonly windowMs: number,
    readonly maxKeys = 10_000,
    readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the key may try again, or 0 when it is not blocked. */
  blocked(key: string): number {
    const w = this.#windows.get(key);
    if (!w) return 0;
    const t = this.now();
    if (w.resetAt <= t) {
      this.#windows.delete(key);
      return 0;
    }
    return w.count >= this.max ? Math.ceil((w.resetAt - t) / 1000) : 0;
  }

  /** Records one failure of the key. */
  fail(key: string): void {
    const t = this.now();
    const w = this.#windows.get(key);
    if (w && w.resetAt > t) {
      w.count++;
      return;
    }
    this.#windows.delete(key);
    if (this.#windows.size >= this.maxKeys) {
      for (const [k, v] of this.#windows) {
        if (v.resetAt <= t || this.#windows.size >= this.maxKeys) this.#windows.delete(k);
        if (this.#windows.size < this.maxKeys * 0.9) break;
      }
    }
    this.#windows.set(key, { count: 1, resetAt: t + this.windowMs });
  }
}
