import type { Logger } from 'pino';
import type { StartOptions } from '../app/types.js';
import type { Duration } from '../util/duration.js';

/** What a service's `start` gets for one attempt. */
export interface ServiceRun {
  /** The service's id. */
  readonly id: string;
  /** Aborted when the app stops: return (resolve) promptly once it fires. */
  readonly signal: AbortSignal;
  /** pino child logger with `{ service }`. */
  readonly log: Logger;
  /** 1 for the first start, then 2, 3… after each restart. */
  readonly attempt: number;
}

/** A service's own report of its health, folded into the app's health (`/healthz`). */
export interface ServiceHealth {
  /** False when the service cannot do its work (a lost upstream, a full queue). */
  ok: boolean;
  /** One line for operators. */
  detail?: string;
}

/** Restart policy of a service that failed: waits `backoff · 2^(n-1)`, capped by `maxBackoff`. */
export interface ServiceRestartPolicy {
  /** First wait after a failure (default `1s`). */
  backoff?: Duration;
  /** Longest wait (default `5m`). */
  maxBackoff?: Duration;
  /** A run longer than this resets the back-off to `backoff` (default `1m`). */
  resetAfter?: Duration;
}

/**
 * Long-running work that is not a job: an HTTP server, a DNS polling loop, a mail-directory
 * watcher. Services run only when the app **serves** (`tip run`, or `start({ mode: 'serve' })` when
 * embedded) — never for read-only commands (`tip jobs`, `tip status`, exports) — start after the
 * scheduler, stop first at teardown, and are restarted with back-off when they fail.
 *
 * `start` runs for the service's whole life: it resolves when `run.signal` aborts (the app stops).
 * Resolving earlier, or rejecting, counts as a failure: `service.failed` is emitted and the
 * service is started again after the back-off.
 *
 * @example
 * ```ts
 * ctx.services.add({
 *   id: 'agent-http',
 *   async start({ signal }) {
 *     const server = createServer(handler).listen(8025);
 *     await once(signal, 'abort');
 *     await new Promise((r) => server.close(r));
 *   },
 * });
 * ```
 */
export interface ServiceDefinition {
  /** Unique id in the app, e.g. `'spamtrap.agent'`. */
  id: string;
  /** Shown by `tip status` and the health report. */
  description?: string;
  /** Runs the service until `run.signal` aborts. */
  start(run: ServiceRun): Promise<void> | void;
  /** Reports health; called by `/healthz` (bounded by a timeout; a throw counts as not ok). */
  health?(): ServiceHealth | Promise<ServiceHealth>;
  /** Restart back-off (defaults: 1 s doubling to 5 min). */
  restart?: ServiceRestartPolicy;
  /**
   * The process roles it runs on (default `['worker']`), when a deployment is split into processes
   * started with a role ({@link StartOptions.role}, `tip run --role`): `'worker'` for processes that
   * take jobs (a mail-directory watcher feeding jobs, a DNS poller), `'web'` for processes that
   * serve people (an HTTP agent, a UI). A process of role `'all'` (the default, one process does
   * everything) runs every service whatever its `runsOn`; a `'worker'` or `'web'` process runs only
   * the services listing its role. `health()` and `/healthz` report the services of this process only.
   *
   * @example
   * ```ts
   * ctx.services.add({ id: 'agent-http', runsOn: ['web'], async start({ signal }) { … } });
   * ```
   */
  runsOn?: readonly ServiceRole[];
}

/** A process role a service can run on (see {@link ServiceDefinition.runsOn}). */
export type ServiceRole = 'worker' | 'web';

/** Lifecycle state of a supervised service. */
export type ServiceState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

/** A service as the health report shows it. */
export interface ServiceStatus {
  /** The service's id. */
  id: string;
  /** The plugin that added it. */
  plugin?: string;
  /** Where it is in its lifecycle. */
  state: ServiceState;
  /** Its last health report (`ok: false` while restarting). */
  health: ServiceHealth;
  /** Restarts since the app started. */
  restarts: number;
  /** The last failure, if any. */
  lastError?: string;
}
