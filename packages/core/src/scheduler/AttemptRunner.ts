import { TipError, TipErrorCodes, describeError, isTipError } from '../errors/TipError.js';
import { parseDuration } from '../util/duration.js';
import { sleepOnClock } from '../util/sleep.js';
import { SUCCEEDED, type Outcome, type RunContext, type RunInput } from './RunContext.js';
import { RunHandle } from './RunHandle.js';
import type { JobDefinition, JobResult, JobRunRecord } from './types.js';

const NOT_STARTED: Outcome = Object.freeze({ status: 'aborted', error: 'not started: the app is stopping' });

/**
 * Runs the `run` function of a job: one attempt at a time through the concurrency limiter, with
 * a timeout and abort through the attempt's signal, retried with exponential back-off on the
 * scheduler clock.
 * @internal
 */
export class AttemptRunner {
  readonly #ctx: RunContext;
  /** Attempts in progress, aborted together when the drain timeout passes. */
  readonly #active = new Set<RunHandle>();

  /** @param ctx the scheduler parts it shares */
  constructor(ctx: RunContext) {
    this.#ctx = ctx;
    ctx.abortAll.addEventListener(
      'abort',
      () => {
        for (const h of [...this.#active]) h.abort(ctx.abortAll.reason);
      },
      { once: true },
    );
  }

  /**
   * Runs `def.run` until an attempt succeeds, is aborted, or the retry policy is exhausted.
   * Updates `record.attempt`.
   */
  async run(def: JobDefinition, owner: string | undefined, record: JobRunRecord, input: RunInput): Promise<Outcome> {
    const ctx = this.#ctx;
    if (!def.retry) {
      // A run without a retry policy has one attempt here; a distributed backend may hand over a
      // later attempt (record.attempt > 1: its earlier worker died), which the job sees as such.
      return ctx.limiter.run(owner, def.concurrencyKey, () => this.#attempt(def, record, Math.max(1, record.attempt), input));
    }
    const attempts = Math.max(1, def.retry.attempts ?? 1);
    const base = def.retry.backoff === undefined ? 1000 : parseDuration(def.retry.backoff, `job "${def.id}" retry.backoff`);
    const cap = def.retry.maxBackoff === undefined ? Infinity : parseDuration(def.retry.maxBackoff, `job "${def.id}" retry.maxBackoff`);
    let outcome: Outcome = { status: 'failed' };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      record.attempt = attempt;
      outcome = await ctx.limiter.run(owner, def.concurrencyKey, () => this.#attempt(def, record, attempt, input));
      if (outcome.status === 'succeeded' || outcome.status === 'aborted' || attempt === attempts) break;
      const wait = Math.min(cap, base * 2 ** (attempt - 1));
      ctx.log.info({ job: def.id, run: record.id, attempt, waitMs: wait, error: outcome.error }, `retrying job ${def.id}`);
      if (!(await this.#sleep(wait))) break;
    }
    return outcome;
  }

  /** Waits on the scheduler clock; false when stop() interrupted the wait. */
  #sleep(ms: number): Promise<boolean> {
    return sleepOnClock(this.#ctx.clock, ms, this.#ctx.stopping);
  }

  /**
   * A job aborted by stop() may ignore its signal (a database transaction in flight): wait up to
   * the grace period for it to really end, and record what happened — it may have committed after all.
   */
  async #settleAfterStop(def: JobDefinition, result: PromiseLike<JobResult | void>, why: unknown): Promise<Outcome> {
    const grace = this.#ctx.abortGraceMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = Symbol('late');
    try {
      const settled = await Promise.race([
        Promise.resolve(result).then(
          (value) => ({ ok: true as const, value }),
          (err: unknown) => ({ ok: false as const, err }),
        ),
        new Promise<typeof late>((resolve) => {
          timer = setTimeout(() => resolve(late), grace);
          timer.unref?.();
        }),
      ]);
      if (settled === late) {
        return { status: 'aborted', error: `${describeError(why)}; still running ${grace} ms later when the app stopped (its work may still commit or roll back)` };
      }
      if (settled.ok) {
        this.#ctx.log.warn({ job: def.id }, `job ${def.id} finished its work after the stop aborted it; recorded as succeeded`);
        const counts = settled.value && settled.value.counts;
        return counts ? { status: 'succeeded', counts, error: 'finished after the stop aborted it' } : { status: 'succeeded', error: 'finished after the stop aborted it' };
      }
      return { status: 'aborted', error: `${describeError(why)}: ${describeError(settled.err)}` };
    } finally {
      clearTimeout(timer);
    }
  }

  async #attempt(def: JobDefinition, record: JobRunRecord, attempt: number, input: RunInput): Promise<Outcome> {
    const ctx = this.#ctx;
    if (ctx.stopping.aborted) return NOT_STARTED;
    const handle = new RunHandle(record.id, def.id, record.parentId, attempt, record.reason, input, ctx.clock.now(), ctx.log);
    const timeoutMs = def.timeout === undefined ? ctx.defaultTimeoutMs : parseDuration(def.timeout, `job "${def.id}" timeout`);
    const timer =
      timeoutMs === undefined
        ? undefined
        : ctx.clock.setTimeout(
            () => handle.abort(new TipError(TipErrorCodes.JOB_TIMEOUT, `job "${def.id}" timed out after ${timeoutMs} ms`, { details: { jobId: def.id, timeoutMs } })),
            timeoutMs,
          );
    this.#active.add(handle);
    let result: ReturnType<NonNullable<JobDefinition['run']>> | undefined;
    try {
      result = def.run!(handle);
      // A synchronous job needs no promise at all; an async one races its abort.
      const value = isThenable(result) ? await raceAbort(result, handle) : result;
      return value && value.counts ? { status: 'succeeded', counts: value.counts } : SUCCEEDED;
    } catch (err) {
      if (handle.aborted) {
        const why = handle.abortReason;
        if (ctx.abortAll.aborted && isThenable(result)) return this.#settleAfterStop(def, result, why);
        return { status: isTipError(why, TipErrorCodes.JOB_TIMEOUT) ? 'timeout' : 'aborted', error: describeError(why) };
      }
      return { status: 'failed', error: describeError(err) };
    } finally {
      if (timer !== undefined) ctx.clock.clearTimeout(timer);
      this.#active.delete(handle);
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<JobResult | void> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** Settles with the job's promise, or rejects with the abort reason as soon as the attempt is aborted. */
function raceAbort(result: PromiseLike<JobResult | void>, handle: RunHandle): Promise<JobResult | void> {
  if (handle.aborted) return Promise.reject(handle.abortReason);
  return new Promise((resolve, reject) => {
    handle.onAbort = reject;
    result.then(resolve, reject);
  });
}
