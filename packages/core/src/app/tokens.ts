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
  config: token<Readonly<CoreConfig>>('tip.config'),
  log: token<Logger>('tip.log'),
  events: token<TipEventBus>('tip.events'),
  clock: token<Clock>('tip.clock'),
  metrics: token<TipMetrics>('tip.metrics'),
  database: token<Database>('tip.database'),
  scheduler: token<Scheduler>('tip.scheduler'),
  sourceRunner: token<SourceRunner>('tip.sourceRunner'),
} as const;
