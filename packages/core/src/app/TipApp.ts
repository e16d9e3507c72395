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
import type { PageDefinition, RouteDefinition } from '../routes/types.js';
import type { MountedRoute } from '../routes/RouteRouter.js';
import { ServiceSupervisor } from '../services/ServiceSupervisor.js';
import type { ServiceDefinition } from '../services/types.js';
import { coreRoutes } from './coreRoutes.js';
import type { AppHealth, DatabaseHealth } from './health.js';
import { defaultRoutePrefix, pluginError, withTimeout } from './hooks.js';
import { TipEventBus } from '../events/EventBus.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { TipMetrics } from '../metrics/Metrics.js';
import { ExtensionPointStore, extensionPoint, type ExtensionPoint, type ExtensionPointRef } from '../plugins/ExtensionPoint.js';
import { orderPlugins } from '../plugins/order.js';
import type { CommandDefinition } from '../plugins/commands.js';
import type { BaseContext, PluginContext, PluginInstance, RegisterContext, RunMode, TipPlugin } from '../plugins/types.js';
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
  services: extensionPoint<ServiceDefinition>('tip.services', { keyOf: (s) => s.id }),
  routes: extensionPoint<RouteDefinition>('tip.routes'),
  pages: extensionPoint<PageDefinition>('tip.pages', { keyOf: (p) => p.id }),
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
  /**
   * What the app is started for (default `'run'`): `'serve'` runs services too (`tip run`),
   * `'read'` opens an existing database without migrating and runs no jobs (read-only commands).
   * See {@link RunMode}.
   */
  mode?: RunMode;
  /** Start the scheduler's timers and event triggers (default `config.scheduler.enabled`; always off in `read`). */
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
  #instances = new Map<AnyPlugin, PluginInstance<unknown>>();
  #loaded = false;
  #mode: RunMode = 'run';
  #starting: Promise<unknown> | undefined;
  #stopRequested = false;
  #pruning: Promise<void> | undefined;
  #services: ServiceSupervisor | undefined;
  /** Create a missing database when opening it (`migrate({ create: true })`). */
  #create = false;
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
  /** How the app was started. */
  get mode(): RunMode {
    return this.#mode;
  }

  /**
   * Every route of core and the plugins with the path it is mounted at (`/api/<prefix><path>`),
   * for a server to mount (after {@link TipApp.load}).
   * @param base where the API lives (default `/api`)
   */
  routes(base = '/api'): MountedRoute[] {
    const point = this.#point(CorePoints.routes);
    const prefixes = new Map(this.#plugins.map((p) => [p.name, p.routePrefix ?? defaultRoutePrefix(p.name)]));
    return point.list().map((route) => {
      const plugin = point.ownerOf(route) ?? 'app';
      const prefix = plugin === '@tip/core' ? '' : `/${prefixes.get(plugin) ?? defaultRoutePrefix(plugin)}`;
      const path = `${base}${prefix}${route.path === '/' ? '' : route.path}` || '/';
      return { route, plugin, path, id: route.id ?? `${prefix.slice(1) || 'core'}.${route.method.toLowerCase()} ${route.path}` };
    });
  }

  /** Every job definition with the plugin that added it, including sources with their own schedule (after {@link TipApp.load}). */
  jobDefinitions(): Array<{ job: JobDefinition; plugin?: string }> {
    const jobs = this.#point(CorePoints.jobs);
    const out = jobs.list().map((job) => ({ job, plugin: jobs.ownerOf(job) }));
    const sources = this.#point(CorePoints.sources);
    for (const source of sources.list()) {
      if (source.schedule !== undefined) out.push({ job: this.sources.job(source, { trigger: source.schedule }), plugin: sources.ownerOf(source) });
    }
    return out;
  }

  /**
   * The app's health: its state, a bounded database check and every service's health. Never
   * throws and never hangs (each check has a time limit).
   */
  async health(): Promise<AppHealth> {
    const database = this.#db ? await pingDatabase(this.#db, 2000) : undefined;
    const services = this.#services ? await this.#services.statuses() : [];
    const ok = this.#state === 'started' && (database?.ok ?? false) && services.every((s) => s.health.ok);
    return { ok, state: this.#state, database, services };
  }

  /**
   * Validates the config and registers every plugin — no database, no I/O. `start()` calls it;
   * call it yourself to inspect what plugins declare (jobs, routes, commands) without starting.
   * Idempotent.
   */
  async load(): Promise<this> {
    if (!this.#loaded) {
      await this.#prepare();
      this.#loaded = true;
    }
    return this;
  }

  /**
   * Starts the app: validate config and plugins → register plugins → open (and migrate) the
   * database → init plugins → start the scheduler → start services (mode `serve`). On failure
   * everything started is torn down and the error (a {@link TipError} naming the plugin or input)
   * is rethrown. A `stop()` during start waits for the step in progress, then tears down.
   */
  async start(options: StartOptions = {}): Promise<this> {
    if (this.#state !== 'created') {
      throw new TipError(TipErrorCodes.APP_STATE, `cannot start an app that is ${this.#state}`, { details: { state: this.#state } });
    }
    this.#state = 'starting';
    this.#mode = options.mode ?? 'run';
    const starting = this.#boot(options);
    this.#starting = starting;
    starting.catch(() => undefined);
    return starting;
  }

  async #boot(options: StartOptions): Promise<this> {
    try {
      await this.load();
      this.#checkStop();
      const read = this.#mode === 'read';
      await this.#openDatabase(!read && this.config.database.autoMigrate);
      this.#checkStop();
      this.#buildServices();
      for (const plugin of this.#plugins) {
        this.#checkStop();
        await this.#hook(plugin, 'init');
        this.#initialised.push(plugin);
      }
      this.#scheduleJobs();
      this.#checkStop();
      if (!read && (options.schedule ?? this.config.scheduler.enabled)) await this.scheduler.start();
      if (this.#mode === 'serve') this.#startServices();
      if (!read) this.#pruning = this.#prune();
      this.#checkStop();
      this.#state = 'started';
      this.#log.info({ plugins: this.#plugins.map((p) => p.name), database: this.db.where, mode: this.#mode }, 'TIP started');
      await this.events.emit('tip.started', { at: new Date(this.clock.now()) });
      return this;
    } catch (err) {
      this.#state = 'failed';
      await this.#teardown();
      if (this.#stopRequested) this.#state = 'stopped';
      throw err;
    }
  }

  #checkStop(): void {
    if (this.#stopRequested) throw new TipError(TipErrorCodes.APP_STATE, 'start aborted: stop() was called while the app was starting');
  }

  /**
   * Applies pending migrations of core and every plugin, then closes the database (for `tip migrate`).
   * @param options `create`: create a missing PostgreSQL database first (never done implicitly)
   * @returns names of the migrations applied
   */
  async migrate(options: { create?: boolean } = {}): Promise<string[]> {
    this.#create = options.create ?? false;
    if (this.#state !== 'created') throw new TipError(TipErrorCodes.APP_STATE, `cannot migrate an app that is ${this.#state}`);
    this.#state = 'starting';
    try {
      await this.load();
      return await this.#openDatabase(true);
    } finally {
      await this.#db?.close();
      this.#db = undefined;
      this.#state = 'stopped';
    }
  }

  /**
   * Stops: services first, then drains running jobs (aborting them after `scheduler.drainTimeout`),
   * stops plugins in reverse order (each bounded by `lifecycle.hookTimeout`), closes the database.
   * Idempotent; during `start()` it makes start fail and waits for its teardown.
   */
  async stop(): Promise<void> {
    if (this.#state === 'starting') {
      this.#stopRequested = true;
      await this.#starting?.catch(() => undefined);
      if ((this.#state as TipAppState) !== 'started') return;
    }
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
      if (clash || ['database', 'scheduler', 'http', 'log', 'metrics', 'lifecycle'].includes(p.config.key)) {
        throw new TipError(TipErrorCodes.PLUGIN_DUPLICATE, `config key "${p.config.key}" of ${p.name} is already used by ${clash ?? '@tip/core'}`, {
          details: { key: p.config.key, plugins: [p.name, clash ?? '@tip/core'] },
        });
      }
      keys.set(p.config.key, p.name);
      sections.push({ key: p.config.key, owner: p.name, schema: p.config.schema as StandardSchemaV1, unknownKeys: p.config.unknownKeys ?? 'reject' } as ConfigSection);
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
      get: (t) => this.container.get(t),
      events: this.events,
    });
    this.#point(CorePoints.routes).as('@tip/core').add(...coreRoutes(this));
    for (const plugin of plugins) this.#register(plugin);
  }

  #register(plugin: AnyPlugin): void {
    const ctx: RegisterContext<unknown> = {
      ...this.#baseContext(plugin),
      entities: (...schemas) => this.#entities.push(...schemas),
      migrations: (...migrations) => this.#migrations.push(...migrations.map((migration) => ({ owner: plugin.name, migration }))),
    };
    let instance: PluginInstance<unknown> | void;
    try {
      instance = plugin.register(ctx);
    } catch (err) {
      throw pluginError(plugin, 'register', err);
    }
    if (instance && (plugin.init || plugin.stop)) {
      throw new TipError(TipErrorCodes.PLUGIN_FAILED, `plugin ${plugin.name} defines init/stop both on the plugin and in what register() returns: keep one`, {
        details: { plugin: plugin.name, hook: 'register' },
      });
    }
    this.#instances.set(plugin, instance ?? { init: plugin.init?.bind(plugin), stop: plugin.stop?.bind(plugin) });
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

  #startServices(): void {
    const point = this.#point(CorePoints.services);
    point.seal();
    this.#services = new ServiceSupervisor({
      clock: this.clock,
      events: this.events,
      metrics: this.metrics,
      log: this.#log,
      stopTimeoutMs: parseDuration(this.config.lifecycle.serviceStopTimeout, 'lifecycle.serviceStopTimeout'),
    });
    this.#services.start(point.list().map((def) => ({ def, plugin: point.ownerOf(def) })));
  }

  async #teardown(): Promise<void> {
    if (this.#services) {
      try {
        await this.#services.stop();
      } catch (err) {
        this.#log.error({ err }, 'stopping services failed');
      }
    }
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
    await this.#pruning;
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
      services: this.#point(CorePoints.services).as(plugin.name),
      routes: this.#point(CorePoints.routes).as(plugin.name),
      pages: this.#point(CorePoints.pages).as(plugin.name),
      commands: this.#point(CorePoints.commands).as(plugin.name),
      extend: <T>(ref: ExtensionPointRef<T>) => this.#point(ref).as(plugin.name),
      sourceRunner: this.sources,
    };
  }

  async #hook(plugin: AnyPlugin, hook: 'init' | 'stop'): Promise<void> {
    const instance = this.#instances.get(plugin);
    const fn = instance?.[hook];
    if (!fn) return;
    const ctx: PluginContext<unknown> = {
      ...this.#baseContext(plugin),
      mode: this.#mode,
      get: (t) => this.container.get(t),
      em: () => this.db.em(),
      db: this.db,
      scheduler: this.scheduler,
      metrics: this.metrics,
    };
    const limit = parseDuration(this.config.lifecycle.hookTimeout, 'lifecycle.hookTimeout');
    try {
      await withTimeout({ plugin: plugin.name, hook }, limit, () => fn.call(instance, ctx));
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

async function pingDatabase(db: Database, timeoutMs: number): Promise<DatabaseHealth> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      db.em().getConnection().execute('select 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: `${db.where}: ${describeError(err)}` };
  } finally {
    clearTimeout(timer);
  }
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
