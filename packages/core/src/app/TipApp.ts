import type { EntitySchema } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { coreConfigSchema, type CoreConfig } from '../config/schema.js';
import { deepFreeze, validateConfig, type ConfigSection } from '../config/validate.js';
import { TipContainer, type Token } from '../container/Container.js';
import { Database } from '../database/Database.js';
import { coreEntities } from '../database/entities.js';
import { coreMigrations, type TipMigration } from '../database/migrations.js';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import { TipEventBus } from '../events/EventBus.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { TipMetrics } from '../metrics/Metrics.js';
import { ExtensionPointStore, extensionPoint, type ExtensionPoint, type ExtensionPointRef } from '../plugins/ExtensionPoint.js';
import { orderPlugins } from '../plugins/order.js';
import type { CommandDefinition } from '../plugins/commands.js';
import type { BaseContext, PluginContext, RegisterContext, TipPlugin } from '../plugins/types.js';
import { InProcessScheduler } from '../scheduler/InProcessScheduler.js';
import { RunHistory } from '../scheduler/RunHistory.js';
import type { JobDefinition, Scheduler } from '../scheduler/types.js';
import { SourceRunner } from '../sources/SourceRunner.js';
import type { SourceDefinition, SourceKind } from '../sources/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { CORE_VERSION } from '../version.js';
import { CoreTokens } from './tokens.js';

/** Core's built-in extension points. */
export const CorePoints = {
  sources: extensionPoint<SourceDefinition>('tip.sources', { keyOf: (s) => s.id }),
  sourceKinds: extensionPoint<SourceKind>('tip.sourceKinds', { keyOf: (k) => k.kind }),
  jobs: extensionPoint<JobDefinition>('tip.jobs', { keyOf: (j) => j.id }),
  commands: extensionPoint<CommandDefinition>('tip.commands', { keyOf: (c) => c.name }),
} as const;

/** Everything a scheduler backend is built from. */
export interface SchedulerDeps {
  clock: Clock;
  events: TipEventBus;
  history: RunHistory;
  log: Logger;
  metrics: TipMetrics;
  config: Readonly<CoreConfig>;
  db: Database;
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
  /** Builds the scheduler backend (default: the in-process scheduler). */
  scheduler?: (deps: SchedulerDeps) => Scheduler;
}

/** Options of {@link TipApp.start}. */
export interface StartOptions {
  /** Start the scheduler's timers and event triggers (default `config.scheduler.enabled`). */
  schedule?: boolean;
}

/** Lifecycle state of a {@link TipApp}. */
export type TipAppState = 'created' | 'starting' | 'started' | 'stopping' | 'stopped' | 'failed';

/** A plugin of any config type. */
export type AnyPlugin = TipPlugin<unknown>;

/**
 * One TIP deployment: plugins, config, container, events, database and scheduler. Create it with
 * {@link createTip}. Two apps in one process share nothing.
 */
export class TipApp implements AsyncDisposable {
  /** The app's event bus. */
  readonly events: TipEventBus;
  /** The app's DI container (a tsyringe child container). */
  readonly container = new TipContainer();
  /** The app's Prometheus metrics. */
  readonly metrics: TipMetrics;
  /** The clock the scheduler runs on. */
  readonly clock: Clock;
  readonly #options: CreateTipOptions;
  readonly #points = new Map<string, ExtensionPointStore<unknown>>();
  #log: Logger;
  #state: TipAppState = 'created';
  #config: Readonly<CoreConfig> | undefined;
  #pluginConfigs = new Map<string, unknown>();
  #plugins: AnyPlugin[] = [];
  #initialised: AnyPlugin[] = [];
  #db: Database | undefined;
  #scheduler: Scheduler | undefined;
  #history: RunHistory | undefined;
  #sourceRunner: SourceRunner | undefined;
  #entities: EntitySchema[] = [...coreEntities];
  #migrations: Array<{ owner: string; migration: TipMigration }> = coreMigrations.map((m) => ({ owner: '@tip/core', migration: m }));

  constructor(options: CreateTipOptions = {}) {
    this.#options = options;
    this.#log = options.logger ?? createLogger({ level: 'info' });
    this.events = new TipEventBus(this.#log);
    this.metrics = new TipMetrics(false);
    this.clock = options.clock ?? systemClock;
  }

  /** Current lifecycle state. */
  get state(): TipAppState {
    return this.#state;
  }
  /** The root logger. */
  get log(): Logger {
    return this.#log;
  }
  /** Core's validated, frozen config (after start). */
  get config(): Readonly<CoreConfig> {
    return this.#need(this.#config, 'config');
  }
  /** The database (after start). */
  get db(): Database {
    return this.#need(this.#db, 'database');
  }
  /** The scheduler (after start). */
  get scheduler(): Scheduler {
    return this.#need(this.#scheduler, 'scheduler');
  }
  /** Runs sources (after start). */
  get sources(): SourceRunner {
    return this.#need(this.#sourceRunner, 'source runner');
  }
  /** The installed plugins in dependency order (after start). */
  get plugins(): readonly AnyPlugin[] {
    return this.#plugins;
  }
  /** A plugin's validated config by its config key. */
  pluginConfig<C>(key: string): Readonly<C> | undefined {
    return this.#pluginConfigs.get(key) as C | undefined;
  }
  /** Resolves a service from the container. */
  get<T>(t: Token<T>): T {
    return this.container.get(t);
  }
  /** A fresh EntityManager fork. */
  em(): EntityManager {
    return this.db.em();
  }
  /** An extension point's items (after register). */
  extensionPoint<T>(ref: ExtensionPointRef<T>): ExtensionPoint<T> {
    return this.#point(ref);
  }

  /**
   * Starts the app: validate config and plugins → register plugins → open (and migrate) the
   * database → init plugins → start the scheduler. On failure everything started is torn down
   * and the error (a {@link TipError} naming the plugin or input) is rethrown.
   */
  async start(options: StartOptions = {}): Promise<this> {
    if (this.#state !== 'created') {
      throw new TipError(TipErrorCodes.APP_STATE, `cannot start an app that is ${this.#state}`, { details: { state: this.#state } });
    }
    this.#state = 'starting';
    try {
      await this.#prepare();
      await this.#openDatabase(this.config.database.autoMigrate);
      this.#buildServices();
      for (const plugin of this.#plugins) {
        await this.#hook(plugin, 'init');
        this.#initialised.push(plugin);
      }
      this.#scheduleJobs();
      if (options.schedule ?? this.config.scheduler.enabled) await this.scheduler.start();
      void this.#prune();
      this.#state = 'started';
      this.#log.info({ plugins: this.#plugins.map((p) => p.name), database: this.db.where }, 'TIP started');
      await this.events.emit('tip.started', { at: new Date(this.clock.now()) });
      return this;
    } catch (err) {
      this.#state = 'failed';
      await this.#teardown();
      throw err;
    }
  }

  /**
   * Applies pending migrations of core and every plugin, then closes the database (for `tip migrate`).
   * @returns names of the migrations applied
   */
  async migrate(): Promise<string[]> {
    if (this.#state !== 'created') throw new TipError(TipErrorCodes.APP_STATE, `cannot migrate an app that is ${this.#state}`);
    this.#state = 'starting';
    try {
      await this.#prepare();
      return await this.#openDatabase(true);
    } finally {
      await this.#db?.close();
      this.#db = undefined;
      this.#state = 'stopped';
    }
  }

  /** Stops: drains running jobs, stops plugins in reverse order, closes the database. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping' || this.#state === 'created' || this.#state === 'failed') return;
    this.#state = 'stopping';
    await this.events.emit('tip.stopping', { at: new Date(this.clock.now()) });
    await this.#teardown();
    this.#state = 'stopped';
    this.#log.info('TIP stopped');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---- phases ---------------------------------------------------------------------------

  async #prepare(): Promise<void> {
    const plugins = orderPlugins((this.#options.plugins ?? []) as AnyPlugin[], CORE_VERSION);
    const raw = this.#options.config ?? {};
    const sections: ConfigSection[] = [{ key: '', owner: '@tip/core', schema: coreConfigSchema as unknown as StandardSchemaV1 }];
    const keys = new Map<string, string>();
    for (const p of plugins) {
      if (!p.config) continue;
      const clash = keys.get(p.config.key);
      if (clash || ['database', 'scheduler', 'http', 'log', 'metrics'].includes(p.config.key)) {
        throw new TipError(TipErrorCodes.PLUGIN_DUPLICATE, `config key "${p.config.key}" of ${p.name} is already used by ${clash ?? '@tip/core'}`, {
          details: { key: p.config.key, plugins: [p.name, clash ?? '@tip/core'] },
        });
      }
      keys.set(p.config.key, p.name);
      sections.push({ key: p.config.key, owner: p.name, schema: p.config.schema as StandardSchemaV1 });
    }
    const values = await validateConfig(raw, sections, this.#options.configSource ?? 'config');
    const core = values.get('') as CoreConfig;
    for (const k of keys.keys()) delete (core as Record<string, unknown>)[k];
    this.#config = deepFreeze(core);
    for (const [k, v] of values) if (k !== '') this.#pluginConfigs.set(k, deepFreeze(v ?? {}));
    if (!this.#options.logger) this.#log = createLogger({ level: core.log.level });
    this.#plugins = plugins;
    this.#sourceRunner = new SourceRunner({
      sources: this.#point(CorePoints.sources),
      kinds: this.#point(CorePoints.sourceKinds),
      db: () => this.#db,
      http: core.http,
    });
    for (const plugin of plugins) this.#register(plugin);
  }

  #register(plugin: AnyPlugin): void {
    const ctx: RegisterContext<unknown> = {
      ...this.#baseContext(plugin),
      entities: (...schemas) => this.#entities.push(...schemas),
      migrations: (...migrations) => this.#migrations.push(...migrations.map((migration) => ({ owner: plugin.name, migration }))),
    };
    try {
      plugin.register(ctx);
    } catch (err) {
      throw pluginError(plugin, 'register', err);
    }
  }

  async #openDatabase(migrate: boolean): Promise<string[]> {
    const cfg = this.config;
    this.#db = await Database.open({
      url: cfg.database.url,
      baseDir: cfg.baseDir,
      entities: this.#entities,
      migrations: this.#migrations,
      poolSize: cfg.database.poolSize,
      log: this.#log,
    });
    if (migrate) {
      const applied = await this.#db.migrate();
      if (applied.length > 0) this.#log.info({ applied }, `applied ${applied.length} migration(s)`);
      return applied;
    }
    const pending = await this.#db.pendingMigrations();
    if (pending.length > 0) {
      throw new TipError(TipErrorCodes.DB_FAILED, `${this.#db.where} has ${pending.length} pending migration(s): run "tip migrate" (or set database.autoMigrate)`, {
        details: { pending },
      });
    }
    return [];
  }

  #buildServices(): void {
    const cfg = this.config;
    const db = this.db;
    this.#history = new RunHistory(db, this.#log.child({ component: 'history' }));
    const deps: SchedulerDeps = { clock: this.clock, events: this.events, history: this.#history, log: this.#log.child({ component: 'scheduler' }), metrics: this.metrics, config: cfg, db };
    this.#scheduler = this.#options.scheduler
      ? this.#options.scheduler(deps)
      : new InProcessScheduler({
          ...deps,
          concurrency: cfg.scheduler.concurrency,
          pluginConcurrency: cfg.scheduler.pluginConcurrency,
          keyConcurrency: cfg.scheduler.keyConcurrency,
          defaultTimeout: cfg.scheduler.defaultTimeout,
          drainTimeout: cfg.scheduler.drainTimeout,
        });
    const c = this.container;
    c.provide(CoreTokens.config, { useValue: cfg });
    c.provide(CoreTokens.log, { useValue: this.#log });
    c.provide(CoreTokens.events, { useValue: this.events });
    c.provide(CoreTokens.clock, { useValue: this.clock });
    c.provide(CoreTokens.metrics, { useValue: this.metrics });
    c.provide(CoreTokens.database, { useValue: db });
    c.provide(CoreTokens.scheduler, { useValue: this.#scheduler });
    c.provide(CoreTokens.sourceRunner, { useValue: this.#sourceRunner });
  }

  #scheduleJobs(): void {
    const jobs = this.#point(CorePoints.jobs);
    jobs.seal();
    for (const job of jobs.list()) this.scheduler.add(job, jobs.ownerOf(job));
    const sources = this.#point(CorePoints.sources);
    for (const source of sources.list()) {
      if (source.schedule !== undefined) this.scheduler.add(this.sources.job(source, { trigger: source.schedule }), sources.ownerOf(source));
    }
  }

  async #teardown(): Promise<void> {
    if (this.#scheduler) {
      try {
        await this.#scheduler.stop({ drainTimeout: this.#config?.scheduler.drainTimeout });
      } catch (err) {
        this.#log.error({ err }, 'stopping the scheduler failed');
      }
    }
    for (const plugin of [...this.#initialised].reverse()) {
      try {
        await this.#hook(plugin, 'stop');
      } catch (err) {
        this.#log.error({ err, plugin: plugin.name }, `stopping plugin ${plugin.name} failed`);
      }
    }
    this.#initialised = [];
    if (this.#db) {
      try {
        await this.#db.close();
      } catch (err) {
        this.#log.error({ err }, 'closing the database failed');
      }
    }
    this.events.clear();
    this.container.dispose();
  }

  async #prune(): Promise<void> {
    try {
      const keep = parseDuration(this.config.scheduler.historyRetention, 'scheduler.historyRetention');
      const removed = await this.#history!.prune(new Date(this.clock.now() - keep));
      if (removed > 0) this.#log.info({ removed }, 'pruned old job runs');
    } catch (err) {
      this.#log.warn({ err }, 'pruning job history failed');
    }
  }

  // ---- contexts -------------------------------------------------------------------------

  #baseContext(plugin: AnyPlugin): BaseContext<unknown> {
    const log = this.#log.child({ plugin: plugin.name });
    return {
      config: (plugin.config ? this.#pluginConfigs.get(plugin.config.key) : deepFreeze({})) as Readonly<unknown>,
      core: this.config,
      log,
      events: this.events,
      provide: (t, provider) => this.container.provide(t, provider),
      sources: this.#point(CorePoints.sources).as(plugin.name),
      sourceKinds: this.#point(CorePoints.sourceKinds).as(plugin.name),
      jobs: this.#point(CorePoints.jobs).as(plugin.name),
      commands: this.#point(CorePoints.commands).as(plugin.name),
      extend: <T>(ref: ExtensionPointRef<T>) => this.#point(ref).as(plugin.name),
      sourceRunner: this.sources,
    };
  }

  async #hook(plugin: AnyPlugin, hook: 'init' | 'stop'): Promise<void> {
    const fn = plugin[hook];
    if (!fn) return;
    const ctx: PluginContext<unknown> = {
      ...this.#baseContext(plugin),
      get: (t) => this.container.get(t),
      em: () => this.db.em(),
      db: this.db,
      scheduler: this.scheduler,
      metrics: this.metrics,
    };
    try {
      await fn.call(plugin, ctx);
    } catch (err) {
      throw pluginError(plugin, hook, err);
    }
  }

  #point<T>(ref: ExtensionPointRef<T>): ExtensionPointStore<T> {
    let store = this.#points.get(ref.id) as ExtensionPointStore<T> | undefined;
    if (!store) {
      store = new ExtensionPointStore(ref);
      this.#points.set(ref.id, store as ExtensionPointStore<unknown>);
    }
    return store;
  }

  #need<T>(value: T | undefined, what: string): T {
    if (value === undefined) {
      throw new TipError(TipErrorCodes.APP_STATE, `the ${what} is not available: the app is ${this.#state}`, { details: { state: this.#state } });
    }
    return value;
  }
}

function pluginError(plugin: AnyPlugin, hook: string, err: unknown): TipError {
  if (err instanceof TipError && err.code !== TipErrorCodes.PLUGIN_FAILED && err.details.plugin === undefined) {
    err.details.plugin = plugin.name;
  }
  return new TipError(TipErrorCodes.PLUGIN_FAILED, `plugin ${plugin.name} failed in ${hook}(): ${describeError(err)}`, {
    cause: err,
    details: { plugin: plugin.name, hook },
  });
}

/**
 * Creates an app. Nothing runs until `start()`.
 *
 * @example
 * ```ts
 * await using tip = await createTip({ config: { database: { url: 'sqlite:./data/tip.sqlite' } }, plugins: [myPlugin()] });
 * await tip.start();
 * ```
 */
export async function createTip(options: CreateTipOptions = {}): Promise<TipApp> {
  return new TipApp(options);
}
