import type { EntitySchema } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Logger } from 'pino';
import type { CoreConfig } from '../config/schema.js';
import type { Provider, Token } from '../container/Container.js';
import type { Database } from '../database/Database.js';
import type { TipMigration } from '../database/migrations.js';
import type { TipEventBus } from '../events/EventBus.js';
import type { PublicEventDefinition } from '../events/public.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { PageDefinition, RouteDefinition } from '../routes/types.js';
import type { JobDefinition, Scheduler } from '../scheduler/types.js';
import type { ServiceDefinition } from '../services/types.js';
import type { SourceRunner } from '../sources/SourceRunner.js';
import type { SourceDefinition, SourceKind } from '../sources/types.js';
import type { CommandDefinition } from './commands.js';
import type { ExtensionPoint, ExtensionPointRef } from './ExtensionPoint.js';

/** A plugin's configuration: the top-level key it owns and a Standard Schema (zod, valibot…) for it. */
export interface PluginConfigSpec<C> {
  /** Top-level config key, e.g. `'blacklist'`. */
  key: string;
  /** Validates (and may default/transform) the section; its output type is the plugin's config type. */
  schema: StandardSchemaV1<unknown, C>;
  /**
   * Keys in the section that the schema does not read are errors (`'reject'`, the default), so a
   * typo never vanishes. Use `'allow'` for schemas that rename or transform keys.
   */
  unknownKeys?: 'reject' | 'allow';
}

/**
 * How the app was started; plugins read it as `ctx.mode` in `init` to skip work the mode does not need.
 *
 * - `serve`: the deployment runs (`tip run`): scheduler and services.
 * - `run`: jobs run (scheduled per config, or triggered), no services — the default of `start()`.
 * - `read`: a read-only command (`tip status`, an export): no scheduling, no services, no migrations;
 *   `init` should not write.
 */
export type RunMode = 'serve' | 'run' | 'read';

/** What every phase's context has. */
export interface BaseContext<C> {
  /** The plugin's own validated, frozen configuration (`{}` typed as C when it has no schema). */
  readonly config: Readonly<C>;
  /** Core's validated, frozen configuration. */
  readonly core: Readonly<CoreConfig>;
  /** pino child logger with `{ plugin }`. */
  readonly log: Logger;
  /** The app's event bus (subscribe in `register`, emit from `init` on). */
  readonly events: TipEventBus;
  /** Registers a service in this app's container. */
  provide<T>(t: Token<T>, provider: Provider<T>): void;
  /** Sources, keyed by id; any plugin may add them. */
  readonly sources: ExtensionPoint<SourceDefinition>;
  /** Source kinds (ingesters), keyed by kind. */
  readonly sourceKinds: ExtensionPoint<SourceKind>;
  /** Jobs to schedule, keyed by id. */
  readonly jobs: ExtensionPoint<JobDefinition>;
  /** Long-running services, keyed by id; started only when the app serves. */
  readonly services: ExtensionPoint<ServiceDefinition>;
  /** HTTP API routes, mounted under `/api/<routePrefix>` by whichever server runs. */
  readonly routes: ExtensionPoint<RouteDefinition>;
  /** Browser UI pages, mounted by `@tip/web`. */
  readonly pages: ExtensionPoint<PageDefinition>;
  /** Events this plugin publishes for consumers outside the process (`@tip/web`'s stream and webhooks), keyed by name. */
  readonly publicEvents: ExtensionPoint<PublicEventDefinition>;
  /** `tip` subcommands, keyed by name (`'blacklist export'`). */
  readonly commands: ExtensionPoint<CommandDefinition>;
  /** Another plugin's extension point (or this plugin's own). */
  extend<T>(point: ExtensionPointRef<T>): ExtensionPoint<T>;
  /** Lists sources and builds jobs for them (usable in `register`: jobs run only after start). */
  readonly sourceRunner: SourceRunner;
}

/** The context of `register(ctx)`: declare things, do no I/O. */
export interface RegisterContext<C> extends BaseContext<C> {
  /** Declares MikroORM entity schemas (`defineEntity`). */
  entities(...schemas: EntitySchema[]): void;
  /** Declares schema migrations, applied in order by `tip migrate` (or at start with `database.autoMigrate`). */
  migrations(...migrations: TipMigration[]): void;
}

/** The context of `init(ctx)` and `stop(ctx)`: everything is up. */
export interface PluginContext<C> extends BaseContext<C> {
  /** How the app was started: plugins skip work the mode does not need (no writes in `read`). */
  readonly mode: RunMode;
  /** Resolves a service from this app's container. */
  get<T>(t: Token<T>): T;
  /** A fresh EntityManager fork; use one per unit of work. */
  em(): EntityManager;
  /** The database (dialect, raw ORM access). */
  readonly db: Database;
  /** The scheduler. */
  readonly scheduler: Scheduler;
  /** The app's Prometheus registry and metric factories (`ctx.metrics.counter({...})`). */
  readonly metrics: TipMetrics;
}

/**
 * The per-app half of a plugin: what `register` returns. Everything that belongs to one app —
 * services, caches, connections — lives in `register`'s closure and these hooks, never in the
 * plugin factory's closure or module scope, so one plugin object can serve two apps.
 */
export interface PluginInstance<C = unknown> {
  /** Connects, warms caches; the database is migrated and ready. Bounded by `lifecycle.hookTimeout`. */
  init?(ctx: PluginContext<C>): Promise<void> | void;
  /** Releases resources; called in reverse order after services stopped and the scheduler drained. */
  stop?(ctx: PluginContext<C>): Promise<void> | void;
}

/**
 * A TIP plugin: metadata plus hooks. Built-in plugins use exactly this contract.
 *
 * `register` runs once **per app** and may return a {@link PluginInstance} whose `init`/`stop`
 * share state with what `register` declared:
 *
 * ```ts
 * definePlugin({
 *   name: '@acme/tip-foo', version: '1.0.0', core: '^0.2.0',
 *   register(ctx) {
 *     let service: FooService | undefined;                    // this app's, nobody else's
 *     ctx.provide(FooToken, { useFactory: () => service! });
 *     ctx.jobs.add({ id: 'foo', trigger: every('1h'), run: () => service!.refresh() });
 *     return { async init(ictx) { service = new FooService(ictx.db) } };
 *   },
 * });
 * ```
 *
 * @typeParam C the plugin's configuration type (output of its schema)
 */
export interface TipPlugin<C = unknown> {
  /** npm-style name, unique in the app: `'@tip/plugin-blacklist'`. */
  readonly name: string;
  /** The plugin's version. */
  readonly version: string;
  /** Semver range of `@tip/core` it works with, e.g. `'^0.2.0'`. */
  readonly core: string;
  /** Names of plugins that must be installed and are registered/initialised before this one. */
  readonly dependsOn?: readonly string[];
  /** Configuration key and schema. */
  readonly config?: PluginConfigSpec<C>;
  /**
   * URL segment its routes are mounted under (`/api/<routePrefix>/…`); default: the name without
   * scope and `plugin-`/`tip-plugin-`/`tip-` prefix (`@tip/plugin-blacklist` → `blacklist`).
   */
  readonly routePrefix?: string;
  /**
   * Declares entities, migrations, sources, jobs, services, routes, tokens, listeners. Synchronous,
   * no I/O. Called once per app; return the app's {@link PluginInstance} to keep per-app state.
   */
  register(ctx: RegisterContext<C>): PluginInstance<C> | void;
  /** Stateless plugins may put `init` here instead of returning it from `register` (not both). */
  init?(ctx: PluginContext<C>): Promise<void> | void;
  /** Stateless plugins may put `stop` here instead of returning it from `register` (not both). */
  stop?(ctx: PluginContext<C>): Promise<void> | void;
}

/** Identity helper that types a plugin object. */
export const definePlugin = <C = Record<string, never>>(plugin: TipPlugin<C>): TipPlugin<C> => plugin;
