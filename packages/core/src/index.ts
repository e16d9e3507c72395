/**
 * `@tip/core`: the TIP kernel. DI container, typed events, scheduler, plugin contract, sources,
 * HTTP client, database, config, logging and metrics.
 *
 * @packageDocumentation
 */
import 'reflect-metadata';

export { createTip, TipApp, CorePoints, type AnyPlugin, type AppRole, type CreateTipOptions, type StartOptions, type TipAppState, type SchedulerDeps } from './app/TipApp.js';
export type { AppHealth, DatabaseHealth, HealthzBody } from './app/health.js';
export { healthzBody, unhealthyReasons } from './app/health.js';
export { CoreTokens } from './app/tokens.js';
export { CORE_VERSION } from './version.js';

export { TipError, TipErrorCodes, isTipError, describeError, defineErrorCodes, errorCodeDescription, type TipErrorCode, type CoreErrorCode, type TipErrorOptions } from './errors/TipError.js';

export {
  definePlugin,
  type TipPlugin,
  type PluginInstance,
  type PluginConfigSpec,
  type BaseContext,
  type RegisterContext,
  type PluginContext,
  type RunMode,
} from './plugins/types.js';
export type { ServiceDefinition, ServiceRole, ServiceRun, ServiceHealth, ServiceRestartPolicy, ServiceState, ServiceStatus } from './services/types.js';
export {
  defineRoute,
  reply,
  isRouteReply,
  type RouteDefinition,
  type RouteMethod,
  type RouteScope,
  type RoutePrincipal,
  type RouteRequest,
  type RouteReply,
  type RouteResult,
  type RouteSchema,
  type RouteStream,
  type PageDefinition,
} from './routes/types.js';
export { RouteRouter, type MountedRoute, type RouterRequest, type RouterResponse } from './routes/RouteRouter.js';
export { extensionPoint, ExtensionPointStore, type ExtensionPoint, type ExtensionPointRef } from './plugins/ExtensionPoint.js';
export { orderPlugins, type PluginMeta } from './plugins/order.js';
export type { CommandDefinition, CommandOption, CommandRunContext } from './plugins/commands.js';

export { token, TipContainer, type Token, type Provider } from './container/Container.js';
export { TipEventBus, type TipEvents, type TipEventName, type TipListener } from './events/EventBus.js';
export type { TipStartedEvent, TipStoppingEvent, JobStartedEvent, JobFinishedEvent, ServiceFailedEvent } from './events/payloads.js';
export { corePublicEvents, type PublicEventDefinition } from './events/public.js';

export { every, cron, at, after, nextDue, type PlanState } from './scheduler/triggers.js';
export { InProcessScheduler, type InProcessSchedulerOptions } from './scheduler/InProcessScheduler.js';
export { PgBossScheduler } from './scheduler/pgboss/PgBossScheduler.js';
export { RunHistory, type JobPlanRow, type RunHistoryOptions } from './scheduler/RunHistory.js';
export type { ConcurrencyOptions } from './scheduler/ConcurrencyLimiter.js';
export { WorkerRegistry, type WorkerRegistryOptions } from './scheduler/WorkerRegistry.js';
export type {
  Trigger,
  EveryTrigger,
  CronTrigger,
  AtTrigger,
  AfterTrigger,
  AnyAfterTrigger,
  JobDefinition,
  JobRun,
  JobResult,
  JobRunRecord,
  JobRunStatus,
  JobInfo,
  JobPlan,
  WorkerInfo,
  WorkerStatus,
  RunReason,
  RetryPolicy,
  MissedRunPolicy,
  GroupSummary,
  ChildOutcome,
  HistoryQuery,
  TriggerOptions,
  TriggerEvent,
  RunTicket,
  ChildSpec,
  JobChildSpec,
  SourceChildSpec,
  GroupChild,
  JsonValue,
  Scheduler,
} from './scheduler/types.js';
export { MAX_PAYLOAD_BYTES } from './scheduler/payload.js';

export { defineSource, defineSourceKind, type SourceDefinition, type SourceKind, type SourceRun, type SourceState, type SourceReport, type IngestInput } from './sources/types.js';
export { SourceRunner } from './sources/SourceRunner.js';
export * from './http/HttpClient.js';

export { Database, parseDatabaseUrl, type DatabaseTarget, type DatabaseOpenOptions } from './database/Database.js';
export { sqlMigration, type TipMigration, type MigrationContext, type Dialect } from './database/migrations.js';
export { executeRaw } from './database/raw.js';
export { databaseError, isDriverError, type DatabaseErrorOptions, type DatabaseFailureReason } from './database/errors.js';
export type { DatabasePing, DatabaseCloseOptions } from './database/closing.js';
export { MIGRATION_LOCK_KEY } from './database/migrationLock.js';

export { coreConfigSchema, durationSchema, type CoreConfig, type CoreConfigInput } from './config/schema.js';
export { validateConfig, deepFreeze, type ConfigIssue, type ConfigSection, type ConfigOrigins } from './config/validate.js';
export { loadConfigFile, applyEnvOverrides, applyEnvOverridesWithOrigins, type EnvOverrides, type LoadedConfig, type TipConfigFile } from './config/load.js';

export { createLogger, type Logger } from './logging/logger.js';
export { TipMetrics } from './metrics/Metrics.js';
export type { Counter, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';

// What plugins need from MikroORM, so they depend on @tip/core alone (and on core's exact ORM version).
export { defineEntity, p, type InferEntity, type EntitySchema } from '@mikro-orm/core';
export type { EntityManager } from '@mikro-orm/sql';
export { systemClock, type Clock, type TimerHandle } from './util/clock.js';
export { parseDuration, formatDuration, MAX_DURATION_MS, type Duration, type DurationBounds } from './util/duration.js';
export { redactUrl, redactSecrets } from './util/redact.js';
