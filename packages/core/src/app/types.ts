import type { CoreConfig } from '../config/schema.js';
import type { ConfigOrigins } from '../config/validate.js';
import type { Database } from '../database/Database.js';
import type { TipEventBus } from '../events/EventBus.js';
import type { Logger } from '../logging/logger.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { RunMode, TipPlugin } from '../plugins/types.js';
import type { RunHistory } from '../scheduler/RunHistory.js';
import type { JobDefinition, Scheduler } from '../scheduler/types.js';
import type { Clock } from '../util/clock.js';
import type { WorkerRegistry } from '../scheduler/WorkerRegistry.js';

/** Everything a scheduler backend is built from. */
export interface SchedulerDeps {
  /** The scheduler's clock. */
  clock: Clock;
  /** The app's event bus (`after` triggers, job events). */
  events: TipEventBus;
  /** Persists runs and plans. */
  history: RunHistory;
  /** Logger with `{ component: 'scheduler' }`. */
  log: Logger;
  /** The app's metrics. */
  metrics: TipMetrics;
  /** Core's validated config. */
  config: Readonly<CoreConfig>;
  /** The app's database. */
  db: Database;
  /** The app's worker registry (run ownership, heartbeats, the worker list). */
  workers: WorkerRegistry;
  /**
   * Whether this process takes jobs. A distributed backend (pg-boss) only enqueues when false (a
   * web process, `tip trigger`); the in-process backend always runs what it is asked to.
   */
  work: boolean;
  /** A job running the registered source `sourceId` as group child `childId` (for `{ source }` children). */
  resolveSource: (sourceId: string, childId: string) => JobDefinition | undefined;
}

/** Options of {@link createTip}. */
export interface CreateTipOptions {
  /** Raw configuration: core keys (`database`, `scheduler`, …) and each plugin's key. */
  config?: Record<string, unknown>;
  /** The plugins; order does not matter beyond ties, dependencies are sorted. */
  plugins?: ReadonlyArray<TipPlugin<never> | TipPlugin<unknown>>;
  /** Use this logger instead of creating one from `config.log`. */
  logger?: Logger;
  /** The scheduler's clock (tests pass a `ManualClock`). */
  clock?: Clock;
  /** Names where the config came from, in error messages (default `"config"`). */
  configSource?: string;
  /** Which config paths environment variables set (a `LoadedConfig` is one), so errors name the variable. */
  configOrigins?: ConfigOrigins;
  /** Builds the scheduler backend (default: the in-process scheduler). */
  scheduler?: (deps: SchedulerDeps) => Scheduler;
}

/** Options of {@link TipApp.start}. */
export interface StartOptions {
  /**
   * What the app is started for (default `'run'`): `'serve'` runs services too (`tip run`),
   * `'read'` opens an existing database without migrating and runs no jobs (read-only commands).
   * See {@link RunMode}.
   */
  mode?: RunMode;
  /** Start the scheduler's timers and event triggers (default `config.scheduler.enabled`; always off in `read`). */
  schedule?: boolean;
  /**
   * What this process does in a deployment of several (default `'all'`): `'worker'` runs jobs and
   * the services that run on workers; `'web'` runs the services that run on web processes (the
   * HTTP API and UI) and only enqueues jobs; `'all'` both. See {@link AppRole}.
   */
  role?: AppRole;
  /**
   * Take jobs (default: true unless `role` is `'web'`). With the pg-boss backend a process started
   * with `work: false` only enqueues (what `tip trigger` does); the in-process backend ignores it.
   */
  work?: boolean;
}

/** A process's part in a deployment: see {@link StartOptions.role}. */
export type AppRole = 'all' | 'worker' | 'web';

/** Lifecycle state of a {@link TipApp}. */
export type TipAppState = 'created' | 'starting' | 'started' | 'stopping' | 'stopped' | 'failed';

/** A plugin of any config type. */
export type AnyPlugin = TipPlugin<unknown>;

