import { isIP } from 'node:net';
import type { Clock, Database } from '@tip/core';
import { query } from '../db/query.js';

/** What an auth failure counter limits: password logins or bearer tokens. */
export type AuthFailureKind = 'login' | 'bearer';

/**
 * The client key of rows that count the failures of every client the table has no room for
 * (see {@link AuthFailures}); no client address can take this form.
 */
export const OVERFLOW_CLIENT = '*';

/** Options of {@link AuthFailures}. */
export interface AuthFailuresOptions {
  /** Failures allowed per client and window, by kind. */
  max: Record<AuthFailureKind, number>;
  /** Window length (ms). */
  windowMs: number;
  /** Most clients tracked at once per kind; the others share the {@link OVERFLOW_CLIENT} counter. */
  maxClients: number;
}

/** A counted failure (or a reserved attempt, see {@link AuthFailures.hit}). */
export interface AuthFailureHit {
  /** The row counted: the client's key, or {@link OVERFLOW_CLIENT}. */
  readonly client: string;
  /** Failures of that row in its window, this one included. */
  readonly count: number;
  /** When the window ends (epoch ms). */
  readonly expiresAt: number;
  /** Seconds until the client may try again, or 0 when this hit is within the limit. */
  readonly retryAfter: number;
}

/** Most refusals the in-process cache holds (beyond, the oldest are dropped). */
const MAX_CACHED = 10_000;

interface Row {
  failures: unknown;
  expires_at: unknown;
}

/**
 * The key failures of a client address count under: the address itself for IPv4 (IPv4-mapped
 * IPv6 included), the /64 prefix for IPv6 — a single host usually holds a whole /64, so counting
 * per address would give it 2^64 budgets.
 */
export function clientKey(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1]!;
  if (isIP(bare) !== 6) return bare.slice(0, 100) || 'unknown';
  const [head = '', tail = ''] = bare.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  let h = groups(head);
  const t = groups(tail);
  // an embedded IPv4 tail (::a.b.c.d) takes two groups; it is always beyond the first 64 bits
  const tailLength = t.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  if (bare.includes('::')) h = [...h, ...Array<string>(Math.max(0, 8 - h.length - tailLength)).fill('0'), ...t];
  else h = [...h, ...t];
  return `${h
    .slice(0, 4)
    .map((g) => (g.includes('.') ? '0' : g.replace(/^0+(?=.)/, '')))
    .join(':')}::/64`;
}

/**
 * Counters of failed authentications per (kind, client), in the app's database so every web
 * process of a deployment shares them (table `web_auth_failure`, one row per kind and client).
 *
 * - A row counts the failures of one fixed window: the first failure starts it, the window ends
 *   `windowMs` later, and the next failure after that starts a new one at 1. Counting is one
 *   atomic statement (`update … returning`, or `insert … on conflict … do update … returning` for
 *   a new row), so concurrent processes never lose a failure.
 * - Bounded: expired rows are deleted at most once per window per process, and whenever the
 *   table is full. At most `maxClients` clients per kind have a row; once that many clients failed
 *   within one window, further clients share one counter ({@link OVERFLOW_CLIENT}) with the same
 *   limit. Under such a distributed attack, clients without a row of their own are refused
 *   together once that shared counter is exhausted, until its window ends: attempts stay bounded
 *   (`maxClients × max + max` per window and kind) at the price of locking out new clients for a
 *   while — failing open would make the cap a way around the limit.
 * - Refusals are cached in the process until the window ends, so refused clients cost no
 *   database round trip. That is right in every process because a counter over its limit never
 *   goes down within its window: {@link AuthFailures.release} takes back a reserved attempt only
 *   while the counter is within the limit. (A client refused through the shared counter stays
 *   refused in that process until the shared window ends, even if expired rows make room for it
 *   meanwhile: stricter, never more lenient.)
 *
 * Windows are measured with the app's clock in each process; the clocks of a deployment's hosts
 * must agree to within a small part of the window.
 */
export class AuthFailures {
  readonly #db: Database;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #options: AuthFailuresOptions;
  /** `kind client` → refused until (epoch ms). */
  readonly #refused = new Map<string, number>();
  #nextCleanup = 0;

  /**
   * @param db the app's database (migrated with the web plugin's migrations)
   * @param clock time source (the app's clock)
   * @param options limits, window and table bound
   */
  constructor(db: Database, clock: Pick<Clock, 'now'>, options: AuthFailuresOptions) {
    this.#db = db;
    this.#clock = clock;
    this.#options = options;
  }

  #sql<R = Row>(sql: string, params: unknown[]): Promise<{ rows: R[]; affected: number }> {
    return query<R>(this.#db.em(), this.#db.dialect, sql, params);
  }

  /**
   * Seconds a refusal cached by this process still lasts for the client (0: none cached; the
   * database may still refuse it, which {@link AuthFailures.hit} finds out).
   */
  cachedRefusal(kind: AuthFailureKind, client: string): number {
    const key = `${kind} ${client}`;
    const until = this.#refused.get(key);
    if (until === undefined) return 0;
    const now = this.#clock.now();
    if (until <= now) {
      this.#refused.delete(key);
      return 0;
    }
    return Math.ceil((until - now) / 1000);
  }

  /**
   * Counts one failure (or reserves one attempt) of a client; `retryAfter > 0` when the count
   * now exceeds the limit, i.e. the attempt must be refused. Refusals are cached (see the class).
   * @param kind what failed
   * @param client the client's key ({@link clientKey})
   */
  async hit(kind: AuthFailureKind, client: string): Promise<AuthFailureHit> {
    const now = this.#clock.now();
    const expiresAt = now + this.#options.windowMs;
    // The client's row, if it has one: a live window counts on, an expired one starts anew.
    const bump = 'set failures = case when expires_at <= ? then 1 else failures + 1 end, expires_at = case when expires_at <= ? then ? else expires_at end';
    let row = (await this.#sql(`update web_auth_failure ${bump} where kind = ? and client = ? returning failures, expires_at`, [now, now, expiresAt, kind, client])).rows[0];
    let counted = client;
    if (!row) {
      // A new client: only it pays for keeping the table bounded.
      counted = (await this.#hasRoom(kind, now)) ? client : OVERFLOW_CLIENT;
      // `on conflict`: another process may have inserted the same row since the update above.
      const upsert =
        'insert into web_auth_failure (kind, client, failures, expires_at) values (?, ?, 1, ?) on conflict (kind, client) do update ' +
        'set failures = case when web_auth_failure.expires_at <= ? then 1 else web_auth_failure.failures + 1 end, ' +
        'expires_at = case when web_auth_failure.expires_at <= ? then excluded.expires_at else web_auth_failure.expires_at end returning failures, expires_at';
      row = (await this.#sql(upsert, [kind, counted, expiresAt, now, now])).rows[0];
    }
    const count = Number(row!.failures);
    const until = Number(row!.expires_at);
    const retryAfter = count > this.#options.max[kind] ? Math.max(1, Math.ceil((until - now) / 1000)) : 0;
    if (retryAfter > 0) this.#cache(`${kind} ${client}`, until, now);
    return { client: counted, count, expiresAt: until, retryAfter };
  }

  /**
   * Takes back a hit that turned out to be no failure (a reserved login attempt that succeeded),
   * in its own window and only while the counter is within the limit (once over it, the client
   * stays refused until the window ends, which keeps cached refusals right). A row left without
   * failures is deleted, so successful clients take no room in the table.
   */
  async release(kind: AuthFailureKind, hit: AuthFailureHit): Promise<void> {
    const { affected } = await this.#sql('update web_auth_failure set failures = failures - 1 where kind = ? and client = ? and expires_at = ? and failures > 0 and failures <= ?', [
      kind,
      hit.client,
      hit.expiresAt,
      this.#options.max[kind],
    ]);
    // A hit in between finds the row at 1 (kept) or, once deleted, starts a new one: never lost.
    if (affected > 0) await this.#sql('delete from web_auth_failure where kind = ? and client = ? and failures <= 0', [kind, hit.client]);
  }

  /** Deletes expired rows (every process does it at most once per window on its own). */
  async cleanup(): Promise<number> {
    const now = this.#clock.now();
    this.#nextCleanup = now + this.#options.windowMs;
    for (const [key, until] of this.#refused) if (until <= now) this.#refused.delete(key);
    return (await this.#sql('delete from web_auth_failure where expires_at <= ?', [now])).affected;
  }

  /** Whether a new client of this kind may have a row of its own. */
  async #hasRoom(kind: AuthFailureKind, now: number): Promise<boolean> {
    if (now >= this.#nextCleanup) await this.cleanup();
    const rows = async () => Number((await this.#sql<{ n: unknown }>('select count(*) as n from web_auth_failure where kind = ? and client <> ?', [kind, OVERFLOW_CLIENT])).rows[0]?.n ?? 0);
    if ((await rows()) < this.#options.maxClients) return true;
    // Full: expired rows may be what fills it.
    if ((await this.cleanup()) === 0) return false;
    return (await rows()) < this.#options.maxClients;
  }

  #cache(key: string, until: number, now: number): void {
    this.#refused.delete(key);
    if (this.#refused.size >= MAX_CACHED) {
      // Dropping a cached refusal only costs a database round trip later, never a wrong answer.
      for (const [k, u] of this.#refused) {
        if (u <= now || this.#refused.size >= MAX_CACHED) this.#refused.delete(k);
        if (this.#refused.size < MAX_CACHED * 0.9) break;
      }
    }
    this.#refused.set(key, until);
  }
}
