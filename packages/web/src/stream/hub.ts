import type { Logger } from '@tip/core';
import type { EventLog } from './log.js';
import { matchesType, type LoggedEvent, type TypeFilter } from './events.js';

const PAGE = 500;
/** Bytes of events queued for one client past which it counts as falling behind, whatever `clientQueue` says. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** One connected SSE client. @internal */
interface Client {
  filter: TypeFilter | undefined;
  /** Send messages without `event:` lines. */
  plain: boolean;
  source: string | undefined;
  queue: LoggedEvent[];
  /** Bytes of the frames in `queue`. */
  bytes: number;
  dropped: boolean;
  wake: (() => void) | undefined;
  /** A heartbeat is due (set by the hub's one heartbeat timer). */
  beat: boolean;
  /** When something was last written to it (performance.now()). */
  wrote: number;
}

/** Options of {@link StreamHub}. @internal */
export interface StreamHubOptions {
  log: EventLog;
  logger: Logger;
  pollInterval: number;
  heartbeat: number;
  maxClients: number;
  clientQueue: number;
}

/**
 * The fan-out of one process: ONE poller tails `web_event` (seq > head) every `pollInterval`, or at
 * once when this process recorded an event, while at least one client is connected, and pushes each
 * new row to every client's bounded queue. A client whose queue overflows is dropped (its stream
 * ends; it resumes with `Last-Event-ID`).
 * @internal
 */
export class StreamHub {
  readonly #o: StreamHubOptions;
  readonly #clients = new Set<Client>();
  #head = -1;
  #starting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #beats: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** Clients dropped for falling behind since start. */
  dropped = 0;
  /** Called when a client is dropped for falling behind. */
  onDrop: () => void = () => {};

  constructor(options: StreamHubOptions) {
    this.#o = options;
  }

  /** Connected clients. */
  get clients(): number {
    return this.#clients.size;
  }

  /** This process recorded events: poll now rather than at the next tick. */
  wake(): void {
    if (this.#clients.size > 0 && this.#head >= 0) this.#pollSoon(0);
  }

  /** Ends every stream and stops polling. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#beats);
    for (const c of this.#clients) {
      c.dropped = true;
      c.wake?.();
    }
    this.#clients.clear();
  }

  /**
   * The SSE body of one client: a `retry:` hint, replay from the log after `lastEventId` (when
   * given), then live events and heartbeats until `signal` aborts, the client falls behind or the
   * hub closes. Returns undefined when `maxClients` are connected already.
   */
  async open(opts: { filter: TypeFilter | undefined; source: string | undefined; lastEventId: number | undefined; signal: AbortSignal; plain?: boolean }): Promise<AsyncIterable<string> | undefined> {
    if (this.#closed || this.#clients.size >= this.#o.maxClients) return undefined;
    const client: Client = { filter: opts.filter, plain: opts.plain ?? false, source: opts.source, queue: [], bytes: 0, dropped: false, wake: undefined, beat: false, wrote: performance.now() };
    this.#clients.add(client);
    this.#beats ??= setInterval(() => this.#heartbeat(), Math.max(50, this.#o.heartbeat / 2));
    this.#beats.unref?.();
    try {
      await this.#start();
    } catch (err) {
      this.#clients.delete(client);
      throw err;
    }
    const liveFrom = this.#head;
    const detach = () => {
      this.#clients.delete(client);
      client.queue = [];
      client.bytes = 0;
      client.wake?.();
      if (this.#clients.size === 0) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        clearInterval(this.#beats);
        this.#beats = undefined;
      }
    };
    if (opts.signal.aborted) detach();
    opts.signal.addEventListener('abort', detach, { once: true });
    return this.#iterate(client, opts.lastEventId, liveFrom, opts.signal, detach);
  }

  async *#iterate(client: Client, lastEventId: number | undefined, liveFrom: number, signal: AbortSignal, detach: () => void): AsyncGenerator<string> {
    const log = this.#o.log;
    try {
      yield `retry: 2000\n: connected\n\n`;
      let last = lastEventId !== undefined && lastEventId < liveFrom ? lastEventId : liveFrom;
      // replay what the client missed, out of the log, in bounded pages
      while (last < liveFrom && !signal.aborted && !client.dropped) {
        const rows = await log.after(last, PAGE, liveFrom);
        if (rows.length === 0) break;
        let chunk = '';
        for (const e of rows) if (this.#wants(client, e)) chunk += client.plain ? e.plain : e.frame;
        last = rows[rows.length - 1]!.seq;
        if (chunk) yield chunk;
      }
      last = Math.max(last, liveFrom);
      while (!signal.aborted && !client.dropped) {
        if (client.queue.length === 0) {
          if (client.beat) {
            client.beat = false;
            client.wrote = performance.now();
            yield ': heartbeat\n\n';
            continue;
          }
          await new Promise<void>((resolve) => (client.wake = resolve));
          client.wake = undefined;
          continue;
        }
        const batch = client.queue;
        client.queue = [];
        client.bytes = 0;
        let chunk = '';
        for (const e of batch) {
          if (e.seq <= last) continue;
          last = e.seq;
          chunk += client.plain ? e.plain : e.frame;
        }
        if (chunk) {
          client.wrote = performance.now();
          yield chunk;
        }
      }
      if (client.dropped && !this.#closed) yield `: dropped: more than ${this.#o.clientQueue} events behind; reconnect with Last-Event-ID: ${last}\n\n`;
    } finally {
      signal.removeEventListener('abort', detach);
      detach();
    }
  }

  /** One timer for every client: idle ones that wrote nothing for a heartbeat get a comment. */
  #heartbeat(): void {
    const due = performance.now() - this.#o.heartbeat;
    for (const c of this.#clients) {
      if (c.wake && c.wrote <= due) {
        c.beat = true;
        c.wake();
      }
    }
  }

  #wants(client: Client, e: LoggedEvent): boolean {
    return matchesType(client.filter, e.type) && (client.source === undefined || client.source === e.source);
  }

  /** Starts polling when idle, from the log's current head (clients connect to what comes next). */
  #start(): Promise<void> {
    if (this.#timer || this.#polling) return Promise.resolve();
    this.#starting ??= this.#o.log
      .head()
      .then((head) => {
        this.#head = Math.max(this.#head, head);
        if (!this.#timer && !this.#polling) this.#pollSoon(this.#o.pollInterval);
      })
      .finally(() => {
        this.#starting = undefined;
      });
    return this.#starting;
  }

  #pollSoon(ms: number): void {
    if (this.#closed) return;
    if (this.#polling) {
      if (ms === 0) this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#polling = this.#poll().finally(() => {
        this.#polling = undefined;
        if (this.#clients.size === 0 || this.#closed) return;
        const again = this.#again;
        this.#again = false;
        this.#pollSoon(again ? 0 : this.#o.pollInterval);
      });
    }, ms);
  }

  async #poll(): Promise<void> {
    try {
      for (;;) {
        const rows = await this.#o.log.after(this.#head, PAGE);
        if (rows.length === 0) return;
        this.#head = rows[rows.length - 1]!.seq;
        for (const client of this.#clients) {
          let added = false;
          for (const e of rows) {
            if (!this.#wants(client, e)) continue;
            client.queue.push(e);
            client.bytes += e.frame.length;
            added = true;
          }
          // a client waiting for events takes a burst at once; one still writing is falling behind
          if ((client.queue.length > this.#o.clientQueue || client.bytes > MAX_QUEUED_BYTES) && !client.wake) {
            client.dropped = true;
            client.queue = [];
            client.bytes = 0;
            this.#clients.delete(client);
            this.dropped++;
            this.onDrop();
          } else if (added) client.wake?.();
        }
        if (rows.length < PAGE) return;
      }
    } catch (err) {
      this.#o.logger.warn({ err }, 'reading the web event log failed; retrying at the next poll');
    }
  }
}
