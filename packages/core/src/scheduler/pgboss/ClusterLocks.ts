import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { TipError, TipErrorCodes, describeError } from '../../errors/TipError.js';
import { systemClock } from '../../util/clock.js';
import { sleepOnClock } from '../../util/sleep.js';

/**
 * Cluster-wide caps per concurrency key: a run of a job with `concurrencyKey` K takes one of
 * `keyConcurrency[K]` (default 1) PostgreSQL **session advisory locks** `(hash(K), slot)` before
 * its attempt and releases it after. The locks live on one dedicated connection per worker, so a
 * worker that dies (its connection closes) releases its slots at once; nothing is left to expire.
 *
 * A worker holds a slot at most once (session locks are re-entrant, so it tracks its own), and
 * waits for a free slot by polling (50 ms doubling to 1 s, with jitter), aborted by the run's signal.
 * @internal
 */
export class ClusterLocks {
  readonly #url: string;
  readonly #log: Logger;
  readonly #caps: Readonly<Record<string, number>>;
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  /** Slots this worker holds, `key/slot`. */
  readonly #held = new Set<string>();
  /** One statement at a time on the lock connection. */
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(url: string, caps: Readonly<Record<string, number>>, log: Logger) {
    this.#url = url;
    this.#caps = caps;
    this.#log = log;
  }

  /** The cap of a key. */
  cap(key: string): number {
    return Math.max(1, Math.floor(this.#caps[key] ?? 1));
  }

  /**
   * Runs `fn` while holding one of the key's cluster-wide slots.
   * @throws the signal's reason when aborted while waiting
   */
  async with<T>(key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const slot = await this.#acquire(key, signal);
    try {
      return await fn();
    } finally {
      await this.#release(key, slot);
    }
  }

  /** Closes the lock connection (every slot is released with it). */
  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    this.#held.clear();
    await c?.end().catch(() => undefined);
  }

  async #acquire(key: string, signal: AbortSignal | undefined): Promise<number> {
    const cap = this.cap(key);
    const k1 = hash32(key);
    let wait = 50;
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      for (let slot = 0; slot < cap; slot++) {
        const id = `${key}/${slot}`;
        if (this.#held.has(id)) continue;
        this.#held.add(id);
        let got = false;
        try {
          got = await this.#query<{ ok: boolean }>('select pg_try_advisory_lock($1::int, $2::int) as ok', [k1, slot]).then((r) => r[0]?.ok === true);
        } finally {
          if (!got) this.#held.delete(id);
        }
        if (got) return slot;
      }
      if (!(await sleepOnClock(systemClock, wait * (0.5 + Math.random()), signal ?? NEVER))) throw signal!.reason;
      wait = Math.min(1000, wait * 2);
    }
  }

  async #release(key: string, slot: number): Promise<void> {
    const id = `${key}/${slot}`;
    if (!this.#held.delete(id)) return;
    try {
      await this.#query('select pg_advisory_unlock($1::int, $2::int)', [hash32(key), slot]);
    } catch (err) {
      // The connection is gone: the lock went with it.
      this.#log.warn({ err, key, slot }, `releasing the cluster slot ${slot} of concurrency key "${key}" failed: ${describeError(err)}`);
    }
  }

  #query<R>(sql: string, params: unknown[]): Promise<R[]> {
    const run = this.#chain.then(async () => {
      const c = await this.#connect();
      try {
        return (await c.query(sql, params)).rows as R[];
      } catch (err) {
        // A broken connection: drop it (its locks are gone) and let the next call reconnect.
        if (this.#client === c) this.#client = undefined;
        this.#held.clear();
        await c.end().catch(() => undefined);
        throw err;
      }
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #connect(): Promise<pg.Client> {
    if (this.#closed) throw new TipError(TipErrorCodes.APP_STATE, 'the scheduler is stopped: no cluster concurrency slots');
    if (this.#client) return this.#client;
    this.#connecting ??= (async () => {
      const { default: driver } = await import('pg');
      const c = new driver.Client({ connectionString: this.#url, application_name: 'tip-locks' });
      c.on('error', (err) => this.#log.warn({ err }, 'the cluster lock connection failed; its slots are released'));
      await c.connect();
      this.#client = c;
      return c;
    })().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }
}

/** A stable signed 32-bit hash of a key (the first advisory-lock key). */
function hash32(key: string): number {
  return createHash('sha1').update(`tip:concurrency:${key}`).digest().readInt32BE(0);
}

/** A signal that never aborts (waits without a caller's signal). */
const NEVER = new AbortController().signal;
