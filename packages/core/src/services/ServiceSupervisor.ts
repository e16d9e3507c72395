import type { Logger } from 'pino';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import type { TipEventBus } from '../events/EventBus.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { sleepOnClock } from '../util/sleep.js';
import type { ServiceDefinition, ServiceHealth, ServiceStatus } from './types.js';

/** @internal Options of {@link ServiceSupervisor}. */
export interface ServiceSupervisorOptions {
  clock: Clock;
  events: TipEventBus;
  metrics: TipMetrics;
  log: Logger;
  /** How long a service may take to return after its signal aborted (default 30 s). */
  stopTimeoutMs: number;
  /** How long a `health()` call may take (default 2 s). */
  healthTimeoutMs?: number;
}

interface Supervised {
  def: ServiceDefinition;
  plugin?: string;
  status: ServiceStatus;
  controller: AbortController;
  loop?: Promise<void>;
}

/**
 * @internal Runs the app's services: starts each one, restarts it with back-off when it fails
 * (emitting `service.failed`), and stops them all, bounded by a timeout.
 */
export class ServiceSupervisor {
  readonly #o: ServiceSupervisorOptions;
  readonly #services: Supervised[] = [];

  constructor(options: ServiceSupervisorOptions) {
    this.#o = options;
  }

  /** Starts every service (returns at once; each runs in its own loop). */
  start(services: ReadonlyArray<{ def: ServiceDefinition; plugin?: string }>): void {
    const restarts = this.#o.metrics.counter({ name: 'tip_service_restarts_total', help: 'Service restarts after a failure', labelNames: ['service'] });
    const up = this.#o.metrics.gauge({ name: 'tip_service_up', help: 'Whether a service is running (1) or restarting (0)', labelNames: ['service'] });
    for (const { def, plugin } of services) {
      const s: Supervised = {
        def,
        plugin,
        controller: new AbortController(),
        status: { id: def.id, plugin, state: 'starting', health: { ok: true }, restarts: 0 },
      };
      this.#services.push(s);
      s.loop = this.#run(s, restarts, up);
    }
  }

  /** The status of every service, with fresh health reports (each bounded by the health timeout). */
  async statuses(): Promise<ServiceStatus[]> {
    return Promise.all(
      this.#services.map(async (s) => {
        if (s.status.state === 'running' && s.def.health) s.status.health = await this.#health(s.def);
        return { ...s.status, health: { ...s.status.health } };
      }),
    );
  }

  /** Aborts every service and waits (bounded by `stopTimeoutMs`) for them to return. */
  async stop(): Promise<void> {
    for (const s of this.#services) {
      if (s.status.state !== 'stopped') s.status.state = 'stopping';
      s.controller.abort(new TipError(TipErrorCodes.JOB_ABORTED, 'the app is stopping'));
    }
    const loops = this.#services.map((s) => s.loop ?? Promise.resolve());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      Promise.all(loops).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.#o.stopTimeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const stuck = this.#services.filter((s) => s.status.state !== 'stopped').map((s) => s.def.id);
      this.#o.log.error({ services: stuck, timeoutMs: this.#o.stopTimeoutMs }, `service(s) ${stuck.join(', ')} did not stop within ${this.#o.stopTimeoutMs} ms; leaving them`);
    }
  }

  async #run(s: Supervised, restarts: ReturnType<TipMetrics['counter']>, up: ReturnType<TipMetrics['gauge']>): Promise<void> {
    const { clock, log } = this.#o;
    const signal = s.controller.signal;
    const base = parseDuration(s.def.restart?.backoff ?? '1s', `service "${s.def.id}" restart.backoff`);
    const cap = parseDuration(s.def.restart?.maxBackoff ?? '5m', `service "${s.def.id}" restart.maxBackoff`);
    const resetAfter = parseDuration(s.def.restart?.resetAfter ?? '1m', `service "${s.def.id}" restart.resetAfter`);
    const slog = log.child({ service: s.def.id });
    let failures = 0;
    for (let attempt = 1; !signal.aborted; attempt++) {
      s.status.state = 'running';
      s.status.health = { ok: true };
      up.set({ service: s.def.id }, 1);
      const startedAt = clock.now();
      let error: string;
      try {
        await s.def.start({ id: s.def.id, signal, log: slog, attempt });
        if (signal.aborted) break;
        error = 'start() returned while the app was still running';
      } catch (err) {
        if (signal.aborted) break;
        error = describeError(err);
      }
      up.set({ service: s.def.id }, 0);
      failures = clock.now() - startedAt >= resetAfter ? 1 : failures + 1;
      const wait = Math.min(cap, base * 2 ** (failures - 1));
      s.status = { ...s.status, state: 'restarting', health: { ok: false, detail: error }, restarts: s.status.restarts + 1, lastError: error };
      restarts.inc({ service: s.def.id });
      slog.error({ err: error, attempt, restartInMs: wait }, `service ${s.def.id} failed: ${error}; restarting in ${wait} ms`);
      await this.#o.events.emit('service.failed', { serviceId: s.def.id, plugin: s.plugin, error, attempt, restartInMs: wait });
      if (!(await sleepOnClock(clock, wait, signal))) break;
    }
    up.set({ service: s.def.id }, 0);
    s.status.state = 'stopped';
  }

  async #health(def: ServiceDefinition): Promise<ServiceHealth> {
    const limit = this.#o.healthTimeoutMs ?? 2000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(() => def.health!()),
        new Promise<ServiceHealth>((resolve) => {
          timer = setTimeout(() => resolve({ ok: false, detail: `health() did not answer within ${limit} ms` }), limit);
        }),
      ]);
    } catch (err) {
      return { ok: false, detail: `health() failed: ${describeError(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
