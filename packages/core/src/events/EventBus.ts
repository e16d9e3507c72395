import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { GroupSummary } from '../scheduler/types.js';
import type { JobFinishedEvent, JobStartedEvent, ServiceFailedEvent, TipStartedEvent, TipStoppingEvent } from './payloads.js';

/**
 * The map of every event name to its payload type. Core declares its own events here; plugins add
 * theirs by declaration merging, with a named, documented payload interface:
 *
 * ```ts
 * declare module '@tip/core' {
 *   interface TipEvents {
 *     // A blacklist cycle ended.
 *     'blacklist.cycle.completed': BlacklistCycleCompleted;
 *   }
 * }
 * // Payload of `blacklist.cycle.completed` (give each field a doc comment).
 * export interface BlacklistCycleCompleted {
 *   cycleId: string;
 * }
 * ```
 */
export interface TipEvents {
  /** The app finished starting: plugins are initialised and the scheduler runs. */
  'tip.started': TipStartedEvent;
  /** The app is about to stop. */
  'tip.stopping': TipStoppingEvent;
  /** A job run started (a child of a group included). */
  'job.started': JobStartedEvent;
  /** A job run ended, in whatever status. */
  'job.finished': JobFinishedEvent;
  /** A group job's children have all ended. */
  'job.group.completed': GroupSummary;
  /** A service failed (threw, or returned while the app ran); it restarts after `restartInMs`. */
  'service.failed': ServiceFailedEvent;
}

/** An event name declared in {@link TipEvents}. */
export type TipEventName = keyof TipEvents & string;

/** A listener for event `E`; it may be async. */
export type TipListener<E extends TipEventName> = (payload: TipEvents[E]) => void | Promise<void>;

type Wrapped = (payload: unknown, sink: Promise<unknown>[]) => void;

/**
 * The typed event bus of one app, on eventemitter3. A listener that throws (or whose promise
 * rejects) is logged and isolated: other listeners still run and the emitter never sees the error.
 */
export class TipEventBus {
  readonly #ee = new EventEmitter();
  readonly #wrappers = new Map<(...args: never[]) => unknown, Map<string, Wrapped>>();
  readonly #log: Logger | undefined;

  /** @param log where isolated listener failures are reported */
  constructor(log?: Logger) {
    this.#log = log;
  }

  /** Adds a listener; returns a function that removes it. */
  on<E extends TipEventName>(event: E, listener: TipListener<E>): () => void {
    const wrapped: Wrapped = (payload, sink) => {
      try {
        const result = listener(payload as TipEvents[E]);
        if (result && typeof (result as Promise<void>).then === 'function') {
          sink.push((result as Promise<void>).catch((err: unknown) => this.#report(event, err)));
        }
      } catch (err) {
        this.#report(event, err);
      }
    };
    let byEvent = this.#wrappers.get(listener);
    if (!byEvent) this.#wrappers.set(listener, (byEvent = new Map()));
    byEvent.set(event, wrapped);
    this.#ee.on(event, wrapped);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once. */
  once<E extends TipEventName>(event: E, listener: TipListener<E>): () => void {
    const off = this.on(event, (payload) => {
      off();
      return listener(payload);
    });
    return off;
  }

  /** Removes a listener added with {@link TipEventBus.on}. */
  off<E extends TipEventName>(event: E, listener: TipListener<E>): void {
    const wrapped = this.#wrappers.get(listener)?.get(event);
    if (!wrapped) return;
    this.#ee.off(event, wrapped);
    this.#wrappers.get(listener)!.delete(event);
  }

  /**
   * Emits an event. Every listener is called synchronously in registration order; the returned
   * promise settles when all async listeners have settled. It never rejects: failures are logged.
   */
  emit<E extends TipEventName>(event: E, payload: TipEvents[E]): Promise<void> {
    const sink: Promise<unknown>[] = [];
    this.#ee.emit(event, payload, sink);
    return sink.length === 0 ? Promise.resolve() : Promise.all(sink).then(() => undefined);
  }

  /** Resolves with the next payload of `event` (handy in tests and scripts). */
  next<E extends TipEventName>(event: E, signal?: AbortSignal): Promise<TipEvents[E]> {
    return new Promise((resolve, reject) => {
      const off = this.once(event, resolve);
      signal?.addEventListener('abort', () => {
        off();
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Number of listeners on an event. */
  listenerCount(event: TipEventName): number {
    return this.#ee.listenerCount(event);
  }

  /** Removes every listener (used when an app stops). */
  clear(): void {
    this.#ee.removeAllListeners();
    this.#wrappers.clear();
  }

  #report(event: string, err: unknown): void {
    if (this.#log) this.#log.error({ err, event }, `listener of "${event}" failed; isolated`);
  }
}
