import { randomUUID } from 'node:crypto';
import type { Clock, Database, Logger } from '@tip/core';
import { query } from '../db/query.js';
import { EVENT_LOCK_KEY, type EventRowRaw } from './db.js';
import { matchesType, parseTypes, sourceOf, toLogged, type LoggedEvent, type TypeFilter } from './events.js';

/** Largest JSON payload stored per event; bigger payloads are stored as a stub saying so. */
export const MAX_EVENT_BYTES = 256 * 1024;
const MAX_BATCH = 200;

interface Pending {
  type: string;
  at: string;
  source: string | null;
  data: string;
}

/**
 * The bounded event log of one app: appends events in small batches (one transaction each, which
 * also queues the matching webhook deliveries), prunes to `keep` rows and reads pages back.
 * @internal
 */
export class EventLog {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #keep: number;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;
  /** Called after rows were committed (this process's stream wakes up; deliveries start). */
  onAppended: (info: { events: number; deliveries: number }) => void = () => {};

  constructor(opts: { db: Database; clock: Clock; log: Logger; keep: number }) {
    this.#db = opts.db;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#keep = opts.keep;
  }

  get dialect() {
    return this.#db.dialect;
  }

  em() {
    return this.#db.em();
  }

  /** Queues one event; the returned promise settles when it is committed (never rejects). */
  record(type: string, payload: unknown): Promise<void> {
    if (this.#closed) return Promise.resolve();
    let data: string;
    try {
      data = JSON.stringify(payload ?? null) ?? 'null';
    } catch (err) {
      data = JSON.stringify({ error: `payload not serialisable: ${(err as Error).message}` });
    }
    if (Buffer.byteLength(data) > MAX_EVENT_BYTES) data = JSON.stringify({ truncated: true, bytes: Buffer.byteLength(data) });
    this.#pending.push({ type, at: new Date(this.#clock.now()).toISOString(), source: sourceOf(payload), data });
    return this.flush();
  }

  /** Writes every queued event (batches run one after the other). */
  flush(): Promise<void> {
    if (!this.#flushing) {
      this.#flushing = (async () => {
        // let synchronous bursts of emits gather into one batch
        await new Promise((r) => setImmediate(r));
        while (this.#pending.length > 0) {
          const batch = this.#pending.splice(0, MAX_BATCH);
          try {
            await this.#write(batch);
          } catch (err) {
            this.#log.warn({ err, events: batch.length }, `recording ${batch.length} event(s) in the web event log failed; dropped`);
          }
        }
      })().finally(() => {
        this.#flushing = undefined;
      });
    }
    return this.#flushing;
  }

  /** Flushes and refuses new events. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  async #write(batch: Pending[]): Promise<void> {
    const dialect = this.#db.dialect;
    let deliveries = 0;
    await this.#db.em().transactional(async (em) => {
      if (dialect === 'postgresql') await query(em, dialect, 'select pg_advisory_xact_lock(?)', [EVENT_LOCK_KEY]);
      const values = batch.map(() => '(?, ?, ?, ?)').join(', ');
      const params = batch.flatMap((e) => [e.type, e.at, e.source, e.data]);
      const { rows } = await query<{ seq: number | string }>(em, dialect, `insert into web_event (type, at, source, data) values ${values} returning seq`, params);
      const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
      // webhooks: one delivery per (matching webhook, event), in the same transaction
      const hooks = (await query<{ id: string; types: string }>(em, dialect, 'select id, types from web_webhook where disabled = ?', [dialect === 'postgresql' ? false : 0])).rows;
      if (hooks.length > 0) {
        const filters = hooks.map((h) => ({ id: h.id, filter: parseHookTypes(h.types) }));
        const now = this.#clock.now();
        const rowsOut: unknown[][] = [];
        batch.forEach((e, i) => {
          for (const h of filters) if (matchesType(h.filter, e.type)) rowsOut.push([randomUUID(), h.id, seqs[i], 'pending', 0, null, now]);
        });
        for (let i = 0; i < rowsOut.length; i += 100) {
          const chunk = rowsOut.slice(i, i + 100);
          await query(em, dialect, `insert into web_delivery (id, webhook, event_seq, status, attempts, last_error, next_attempt_at) values ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`, chunk.flat());
        }
        deliveries = rowsOut.length;
      }
      // prune: keep the newest `keep` rows, but never events a delivery still needs
      await query(
        em,
        dialect,
        `delete from web_event where seq <= (select seq from web_event order by seq desc limit 1 offset ?) and seq not in (select event_seq from web_delivery where status in ('pending', 'sending'))`,
        [this.#keep],
      );
      await query(em, dialect, `delete from web_delivery where status in ('delivered', 'failed') and event_seq < (select min(seq) from web_event)`);
    });
    this.onAppended({ events: batch.length, deliveries });
  }

  /** The highest seq stored (0 when empty). */
  async head(): Promise<number> {
    const { rows } = await query<{ m: number | string | null }>(this.#db.em(), this.#db.dialect, 'select max(seq) as m from web_event');
    return Number(rows[0]?.m ?? 0);
  }

  /** Events with seq > `after` (ascending), at most `limit`, optionally only up to `upTo`. */
  async after(after: number, limit: number, upTo?: number): Promise<LoggedEvent[]> {
    const sql = upTo === undefined ? 'select seq, type, at, source, data from web_event where seq > ? order by seq limit ?' : 'select seq, type, at, source, data from web_event where seq > ? and seq <= ? order by seq limit ?';
    const params = upTo === undefined ? [after, limit] : [after, upTo, limit];
    const { rows } = await query<EventRowRaw>(this.#db.em(), this.#db.dialect, sql, params);
    return rows.map(toLogged);
  }

  /**
   * A page of the log for `GET /events`: after `after` ascending, or the newest `limit` when
   * `after` is undefined; filtered by type and source in SQL.
   */
  async page(opts: { after?: number; limit: number; types?: TypeFilter; source?: string }): Promise<LoggedEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.after !== undefined) {
      where.push('seq > ?');
      params.push(opts.after);
    }
    if (opts.types) {
      const ors: string[] = [];
      for (const t of opts.types.exact) {
        ors.push('type = ?');
        params.push(t);
      }
      for (const p of opts.types.prefixes) {
        ors.push('substr(type, 1, ?) = ?');
        params.push(p.length, p);
      }
      where.push(`(${ors.join(' or ')})`);
    }
    if (opts.source !== undefined) {
      where.push('source = ?');
      params.push(opts.source);
    }
    const order = opts.after === undefined ? 'desc' : 'asc';
    params.push(opts.limit);
    const { rows } = await query<EventRowRaw>(
      this.#db.em(),
      this.#db.dialect,
      `select seq, type, at, source, data from web_event${where.length ? ` where ${where.join(' and ')}` : ''} order by seq ${order} limit ?`,
      params,
    );
    const out = rows.map(toLogged);
    return order === 'desc' ? out.reverse() : out;
  }
}

/** The stored `types` of a webhook (comma list; empty = every event). @internal */
export function parseHookTypes(types: string): TypeFilter | undefined {
  try {
    return parseTypes(types);
  } catch {
    return { exact: new Set(), prefixes: [] };
  }
}
