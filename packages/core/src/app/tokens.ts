import { token } from '../container/Container.js';
import type { CoreConfig } from '../config/schema.js';
import type { Database } from '../database/Database.js';
import type { TipEventBus } from '../events/EventBus.js';
import type { Logger } from '../logging/logger.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { Scheduler } from '../scheduler/types.js';
import type { SourceRunner } from '../sources/SourceRunner.js';
import type { Clock } from '../util/clock.js';

/** Tokens of the services core provides in every app's container. */
export const CoreTokens = {
  /** Core's validated, frozen configuration. */
  config: token<Readonly<CoreConfig>>('tip.config'),
  /** The app's root logger. */
  log: token<Logger>('tip.log'),
  /** The app's typed event bus. */
  events: token<TipEventBus>('tip.events'),
  /** The app's clock (the system clock unless one was injected, e.g. in tests). */
  clock: token<Clock>('tip.clock'),
  /** The app's Prometheus metrics registry. */
  metrics: token<TipMetrics>('tip.metrics'),
  /** The app's database. */
  database: token<Database>('tip.database'),
  /** The app's job scheduler. */
  scheduler: token<Scheduler>('tip.scheduler'),
  /** Runs sources: fetch, ingest, state and report. */
  sourceRunner: token<SourceRunner>('tip.sourceRunner'),
} as const;
