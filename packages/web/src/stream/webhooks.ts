import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { redactUrl, TipError, TipErrorCodes, type Clock, type Logger } from '@tip/core';
import { query } from '../db/query.js';
import type { EventRowRaw } from './db.js';
import { parseTypes } from './events.js';
import type { EventLog } from './log.js';
import type { StreamConfig } from './config.js';
import { toLogged } from './events.js';

/** A webhook as `GET /api/web/webhooks` lists it (the secret is shown only when it is created). */
export interface Webhook {
  /** Its id (UUID). */
  id: string;
  /** Where deliveries are POSTed (http or https). */
  url: string;
  /** Event types it receives (exact names or `prefix.*`); empty: every recorded event. */
  types: string[];
  /** When it was created (ISO 8601). */
  createdAt: string;
  /** Disabled webhooks receive nothing. */
  disabled: boolean;
  /** Deliveries waiting or being sent. */
  pending: number;
  /** Deliveries given up after every retry failed. */
  failed: number;
  /** The last delivery failure, if any. */
  lastError: string | null;
}

/** What `POST /api/web/webhooks` answers: the webhook and its signing secret (shown once). */
export interface CreatedWebhook extends Webhook {
  /** HMAC-SHA256 key of `x-tip-signature`; keep it, it is not shown again. */
  secret: string;
}

/**
 * The signature a delivery carries in `x-tip-signature`: `sha256=` and the hex HMAC-SHA256, keyed
 * with the webhook's secret, of `<x-tip-timestamp>.<raw body>`. Receivers recompute it to check
 * the delivery came from TIP (and reject old timestamps to stop replays).
 *
 * @example
 * ```ts
 * const expected = signWebhook(secret, req.headers['x-tip-timestamp'], rawBody);
 * if (!timingSafeEqual(Buffer.from(expected), Buffer.from(req.headers['x-tip-signature']))) reject();
 * ```
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const MAX_URL = 2000;
const MAX_RESPONSE_BYTES = 4096;

/** Checks a webhook URL: absolute http(s), no credentials in it, bounded length. @internal */
export function checkWebhookUrl(value: string): string | undefined {
  if (value.length > MAX_URL) return `longer than ${MAX_URL} characters`;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'not an absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `scheme "${u.protocol.replace(/:$/, '')}" refused: only http and https`;
  if (u.username || u.password) return 'credentials in the URL are refused (the body is signed instead)';
  return undefined;
}

interface HookRow {
  id: string;
  url: string;
  types: string;
  created_at: string;
  disabled: boolean | number;
}

/**
 * Webhook subscriptions and their delivery: the store behind the admin routes, and the delivery
 * loop (one per worker process). Deliveries are claimed with a conditional UPDATE so each is sent
 * by one process, retried with exponential back-off, and given up after `retries`.
 * @internal
 */
export class Webhooks {
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #cfg: StreamConfig['webhooks'];
  readonly #poll: number;
  #wake: (() => void) | undefined;
  #kick = false;
  /** Called after each attempt with its outcome (metrics). */
  onOutcome: (outcome: 'delivered' | 'retry' | 'failed') => void = () => {};

  constructor(opts: { log: EventLog; clock: Clock; logger: Logger; config: StreamConfig }) {
    this.#log = opts.log;
    this.#clock = opts.clock;
    this.#logger = opts.logger;
    this.#cfg = opts.config.webhooks;
    this.#poll = opts.config.pollInterval;
  }

  #q<R>(sql: string, params: readonly unknown[] = [], em = this.#log.em()) {
    return query<R>(em, this.#log.dialect, sql, params);
  }

  /** Every webhook, without secrets, with delivery counts. */
  async list(): Promise<Webhook[]> {
    const hooks = (await this.#q<HookRow>('select id, url, types, created_at, disabled from web_webhook order by created_at, id')).rows;
    const counts = (
      await this.#q<{ webhook: string; status: string; n: number | string }>("select webhook, status, count(*) as n from web_delivery where status in ('pending', 'sending', 'failed') group by webhook, status")
    ).rows;
    const errors = new Map<string, string>();
    for (const h of hooks) {
      const row = (await this.#q<{ last_error: string }>('select last_error from web_delivery where webhook = ? and last_error is not null order by next_attempt_at desc limit 1', [h.id])).rows[0];
      if (row) errors.set(h.id, row.last_error);
    }
    return hooks.map((h) => {
      const mine = counts.filter((c) => c.webhook === h.id);
      return {
        id: h.id,
        url: redactUrl(h.url),
        types: h.types ? h.types.split(',') : [],
        createdAt: h.created_at,
        disabled: Boolean(h.disabled),
        pending: mine.filter((c) => c.status !== 'failed').reduce((s, c) => s + Number(c.n), 0),
        failed: mine.filter((c) => c.status === 'failed').reduce((s, c) => s + Number(c.n), 0),
        lastError: errors.get(h.id) ?? null,
      };
    });
  }

  /**
   * Adds a webhook. @throws TipError `TIP_INPUT_INVALID` for a bad URL or types, or when the
   * maximum number of webhooks exists
   */
  async create(input: { url: string; types?: readonly string[]; secret?: string }): Promise<CreatedWebhook> {
    const problem = checkWebhookUrl(input.url);
    if (problem) throw new TipError(TipErrorCodes.INPUT_INVALID, `url: ${problem}`);
    const types = [...new Set(input.types ?? [])];
    parseTypes(types, 'types');
    const count = Number((await this.#q<{ n: number | string }>('select count(*) as n from web_webhook')).rows[0]?.n ?? 0);
    if (count >= this.#cfg.max) throw new TipError(TipErrorCodes.INPUT_INVALID, `at most ${this.#cfg.max} webhooks (web.stream.webhooks.max)`);
    const hook = { id: randomUUID(), url: input.url, types, createdAt: new Date(this.#clock.now()).toISOString(), disabled: false, secret: input.secret ?? randomBytes(24).toString('base64url') };
    await this.#q('insert into web_webhook (id, url, secret, types, created_at, disabled) values (?, ?, ?, ?, ?, ?)', [
      hook.id,
      hook.url,
      hook.secret,
      types.join(','),
      hook.createdAt,
      this.#log.dialect === 'postgresql' ? false : 0,
    ]);
    return { ...hook, url: redactUrl(hook.url), pending: 0, failed: 0, lastError: null };
  }

  /** Removes a webhook and its deliveries; false when there is none with that id. */
  async remove(id: string): Promise<boolean> {
    return this.#log.em().transactional(async (em) => {
      const { affected } = await this.#q('delete from web_webhook where id = ?', [id], em);
      await this.#q('delete from web_delivery where webhook = ?', [id], em);
      return affected > 0;
    });
  }

  /** New deliveries were queued in this process: look now. */
  wake(): void {
    this.#kick = true;
    this.#wake?.();
  }

  /** The delivery loop; returns when `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    while (!signal.aborted) {
      this.#kick = false;
      let due: Array<{ id: string; attempts: number; status: string; next_attempt_at: number | string }> = [];
      try {
        const free = this.#cfg.concurrency - inFlight.size;
        if (free > 0) {
          due = (
            await this.#q<{ id: string; attempts: number; status: string; next_attempt_at: number | string }>(
              "select id, attempts, status, next_attempt_at from web_delivery where status in ('pending', 'sending') and next_attempt_at <= ? order by next_attempt_at limit ?",
              [this.#clock.now(), free],
            )
          ).rows;
        }
      } catch (err) {
        this.#logger.warn({ err }, 'reading due webhook deliveries failed; retrying');
      }
      for (const d of due) {
        const p = this.#attempt(d, signal).catch((err: unknown) => this.#logger.warn({ err, delivery: d.id }, 'webhook delivery bookkeeping failed'));
        inFlight.add(p);
        void p.finally(() => {
          inFlight.delete(p);
          this.#wake?.();
        });
      }
      if (signal.aborted) break;
      if (due.length > 0 && inFlight.size < this.#cfg.concurrency) continue;
      if (this.#kick) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, this.#poll);
        signal.addEventListener('abort', done, { once: true });
        this.#wake = done;
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
      });
      this.#wake = undefined;
    }
    await Promise.allSettled(inFlight);
  }

  /** Claims one delivery (a conditional UPDATE: one process wins), sends it and records the outcome. */
  async #attempt(d: { id: string; attempts: number; status: string; next_attempt_at: number | string }, signal: AbortSignal): Promise<void> {
    const now = this.#clock.now();
    const lease = now + this.#cfg.timeout + 30_000;
    const claimed = await this.#q("update web_delivery set status = 'sending', attempts = attempts + 1, next_attempt_at = ? where id = ? and status = ? and attempts = ? and next_attempt_at = ?", [
      lease,
      d.id,
      d.status,
      d.attempts,
      Number(d.next_attempt_at),
    ]);
    if (claimed.affected !== 1) return;
    const attempt = d.attempts + 1;
    const row = (
      await this.#q<EventRowRaw & { url: string; secret: string; hook: string }>(
        'select e.seq, e.type, e.at, e.source, e.data, w.url, w.secret, w.id as hook from web_delivery d join web_event e on e.seq = d.event_seq join web_webhook w on w.id = d.webhook where d.id = ?',
        [d.id],
      )
    ).rows[0];
    if (!row) {
      await this.#q("update web_delivery set status = 'failed', last_error = ? where id = ?", ['the event or the webhook no longer exists', d.id]);
      return;
    }
    const event = toLogged(row);
    const error = await this.#send(row.url, row.secret, d.id, event.type, event.json, signal);
    if (error === undefined) {
      await this.#q("update web_delivery set status = 'delivered', last_error = null where id = ?", [d.id]);
      this.onOutcome('delivered');
      return;
    }
    if (signal.aborted) {
      // stopping: hand it back untouched for the next process
      await this.#q("update web_delivery set status = 'pending', attempts = ?, next_attempt_at = ? where id = ?", [d.attempts, this.#clock.now(), d.id]);
      return;
    }
    if (attempt > this.#cfg.retries) {
      this.#logger.warn({ delivery: d.id, webhook: row.hook, attempts: attempt }, `webhook delivery gave up after ${attempt} attempts: ${error}`);
      await this.#q("update web_delivery set status = 'failed', last_error = ? where id = ?", [error, d.id]);
      this.onOutcome('failed');
      return;
    }
    this.onOutcome('retry');
    const wait = Math.min(this.#cfg.backoff * 2 ** (attempt - 1), this.#cfg.maxBackoff);
    await this.#q("update web_delivery set status = 'pending', last_error = ?, next_attempt_at = ? where id = ?", [error, this.#clock.now() + wait, d.id]);
  }

  /** POSTs one delivery; undefined on a 2xx answer, else what went wrong (bounded). */
  async #send(url: string, secret: string, deliveryId: string, type: string, body: string, stop: AbortSignal): Promise<string | undefined> {
    const problem = checkWebhookUrl(url);
    if (problem) return `url refused: ${problem}`;
    const timestamp = String(Math.floor(this.#clock.now() / 1000));
    const signal = AbortSignal.any([stop, AbortSignal.timeout(this.#cfg.timeout)]);
    try {
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tip-webhooks',
          'x-tip-event': type,
          'x-tip-delivery': deliveryId,
          'x-tip-timestamp': timestamp,
          'x-tip-signature': signWebhook(secret, timestamp, body),
        },
        body,
      });
      const text = await readBounded(res, MAX_RESPONSE_BYTES);
      if (res.status >= 200 && res.status < 300) return undefined;
      return `HTTP ${res.status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
    } catch (err) {
      if (signal.aborted && !stop.aborted) return `no answer within ${this.#cfg.timeout}ms`;
      const e = err as Error & { cause?: { message?: string; code?: string } };
      return (e.cause?.code ?? e.cause?.message ?? e.message).slice(0, 200);
    }
  }
}

/** Reads at most `max` bytes of a response, then cancels the rest. */
async function readBounded(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
