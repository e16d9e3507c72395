import { performance } from 'node:perf_hooks';
import { setImmediate as immediate } from 'node:timers/promises';

/** Default length of one slice of synchronous work between two yields, in ms. */
export const DEFAULT_SLICE_MS = 15;

/** How many {@link Yielder.due} calls pass between two clock reads (a clock read costs ~50 ns). */
const CHECK_EVERY = 256;

/**
 * Cuts long synchronous work into slices of about `sliceMs`, so timers, signals and HTTP requests
 * get their turn while a million-entry feed is parsed, diffed and written. Use it as
 * `if (y.due()) await y.pause();` inside a loop: `due()` is cheap (a counter; the clock is read
 * every 256 calls) and no `await` is paid while the slice lasts.
 *
 * `pause()` waits for `setImmediate`, i.e. one full turn of the event loop (timers, I/O callbacks),
 * not just the microtask queue, which would let nothing else run.
 */
export class Yielder {
  readonly #sliceMs: number;
  #deadline: number;
  #calls = 0;

  /** @param sliceMs - longest synchronous stretch between two yields (default {@link DEFAULT_SLICE_MS}) */
  constructor(sliceMs = DEFAULT_SLICE_MS) {
    this.#sliceMs = sliceMs;
    this.#deadline = performance.now() + sliceMs;
  }

  /** True when the current slice is used up and the caller should `await pause()`. */
  due(): boolean {
    if (++this.#calls < CHECK_EVERY) return false;
    this.#calls = 0;
    return performance.now() >= this.#deadline;
  }

  /** Gives the event loop one turn, then starts a new slice. */
  async pause(): Promise<void> {
    await immediate();
    this.#calls = 0;
    this.#deadline = performance.now() + this.#sliceMs;
  }

  /** Pauses when the slice is used up (checks the clock now, unlike {@link due}); use between big steps. */
  async checkpoint(): Promise<void> {
    if (performance.now() >= this.#deadline) await this.pause();
  }
}

/**
 * A computation written once as a generator that yields whenever its `due()` says a slice is used
 * up: {@link runToEnd} runs it synchronously (`due` always false), {@link runSliced} pauses the event
 * loop at each yield. The sync and async variants of a computation then cannot drift apart.
 * @internal
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end without pausing and returns its result. @internal */
export function runToEnd<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs `steps`, giving the event loop a turn (`y.checkpoint()`) at each of its yields. @internal */
export async function runSliced<T>(steps: Steps<T>, y: Yielder): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await y.checkpoint();
  }
}
