import type { EntityManager } from '@mikro-orm/sql';
import type { CoreConfig } from '../config/schema.js';
import { TipContainer, type Token } from '../container/Container.js';
import type { Database } from '../database/Database.js';
import { coreEntities } from '../database/entities.js';
import { coreMigrations } from '../database/migrations.js';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import { TipEventBus } from '../events/EventBus.js';
import { corePublicEvents, type PublicEventDefinition } from '../events/public.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { TipMetrics } from '../metrics/Metrics.js';
import { trackEventLoopDelay } from '../metrics/eventLoop.js';
import { ExtensionPointStore, type ExtensionPoint, type ExtensionPointRef } from '../plugins/ExtensionPoint.js';
import { orderPlugins } from '../plugins/order.js';
import type { RunMode } from '../plugins/types.js';
import type { MountedRoute } from '../routes/RouteRouter.js';
import type { PageDefinition } from '../routes/types.js';
import { RunHistory } from '../scheduler/RunHistory.js';
import { WorkerRegistry } from '../scheduler/WorkerRegistry.js';
import type { JobDefinition, Scheduler } from '../scheduler/types.js';
import { servicesForRole } from '../services/roles.js';
import { ServiceSupervisor } from '../services/ServiceSupervisor.js';
import { SourceRunner } from '../sources/SourceRunner.js';
import { systemClock, type Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { CORE_VERSION } from '../version.js';
import { validateAppConfig } from './appConfig.js';
import { openAppDatabase, pingDatabase } from './appDatabase.js';
import { coreRoutes } from './coreRoutes.js';
import type { AppHealth } from './health.js';
import { PluginHost } from './PluginHost.js';
import { CorePoints } from './points.js';
import { buildScheduler, jobsWithOwners, mountRoutes, provideCoreTokens } from './kernel.js';

export { CorePoints } from './points.js';
export type { AnyPlugin, AppRole, CreateTipOptions, SchedulerDeps, StartOptions, TipAppState } from './types.js';
import type { AnyPlugin, AppRole, CreateTipOptions, SchedulerDeps, StartOptions, TipAppState } from './types.js';

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
  readonly #host: PluginHost;
  #log: Logger;
  #state: TipAppState = 'created';
  #config: Readonly<CoreConfig> | undefined;
  #pluginConfigs = new Map<string, unknown>();
  #plugins: AnyPlugin[] = [];
  #loaded = false;
  #mode: RunMode = 'run';
  #role: AppRole = 'all';
  #work = true;
  #starting: Promise<unknown> | undefined;
  #stopRequested = false;
  #pruning: Promise<void> | undefined;
  #services: ServiceSupervisor | undefined;
  #untrackLoop: (() => void) | undefined;
  #db: Database | undefined;
  #scheduler: Scheduler | undefined;
  #history: RunHistory | undefined;
  #workers: WorkerRegistry | undefined;
  #sourceRunner: SourceRunner | undefined;

  /** Use {@link createTip}. */
  constructor(options: CreateTipOptions = {}) {
    this.#options = options;
    this.#log = options.logger ?? createLogger({ level: 'info' });
    this.events = new TipEventBus(this.#log);
    this.metrics = new TipMetrics(false);
    this.clock = options.clock ?? systemClock;
    this.#host = new PluginHost(
      {
        container: this.container,
        events: this.events,
        metrics: this.metrics,
        point: (ref) => this.#point(ref),
        log: () => this.#log,
        core: () => this.config,
        pluginConfig: (key) => this.#pluginConfigs.get(key),
        sourceRunner: () => this.sources,
        db: () => this.db,
        scheduler: () => this.scheduler,
        mode: () => this.#mode,
      },
      { entities: coreEntities, migrations: coreMigrations },
    );
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
  /**
   * This app's worker registry (after start): its id once registered (modes `serve` and `run`),
   * every worker on the database. Read them through `scheduler.workers()`.
   */
  get workers(): WorkerRegistry {
    return this.#need(this.#workers, 'worker registry');
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
  /** Its part in a deployment of several processes (`all`, `worker` or `web`; see {@link StartOptions.role}). */
  get role(): AppRole {
    return this.#role;
  }

  /**
   * Every route of core and the plugins with the path it is mounted at (`/api/<prefix><path>`),
   * for a server to mount (after {@link TipApp.load}).
   * @param base where the API lives (default `/api`)
   */
  routes(base = '/api'): MountedRoute[] {
    return mountRoutes(this.#point(CorePoints.routes), this.#plugins, base);
  }

  /**
   * Every browser page plugins contributed (`ctx.pages.add(...)`) with the plugin that added it,
   * for a server such as `@tip/web` to mount (after {@link TipApp.load}).
   */
  pages(): Array<{
    /** The page as the plugin declared it. */
    page: PageDefinition;
    /** Name of the plugin that added it (`'app'` when the app itself did). */
    plugin: string;
  }> {
    const point = this.#point(CorePoints.pages);
    return point.list().map((page) => ({ page, plugin: point.ownerOf(page) ?? 'app' }));
  }

  /**
   * Every public event (core's and the plugins', `ctx.publicEvents.add(...)`) with the plugin that
   * declared it, for a server such as `@tip/web` to record and stream (after {@link TipApp.load}).
   */
  publicEvents(): Array<{
    /** The event as declared. */
    event: PublicEventDefinition;
    /** Name of the plugin that declared it (`'@tip/core'` for core's own). */
    plugin: string;
  }> {
    const point = this.#point(CorePoints.publicEvents);
    return point.list().map((event) => ({ event, plugin: point.ownerOf(event) ?? 'app' }));
  }

  /** Every job definition with the plugin that added it, including sources with their own schedule (after {@link TipApp.load}). */
  jobDefinitions(): Array<{
    /** The job as registered (a scheduled source appears as its generated job). */
    job: JobDefinition;
    /** Name of the plugin that added it; absent when the app itself added it. */
    plugin?: string;
  }> {
    return jobsWithOwners(this.#point(CorePoints.jobs), this.#point(CorePoints.sources), this.sources);
  }

  /**
   * The app's health: its state, its worker id and role, a bounded database check and the health
   * of every service this process runs (those its role runs, see `ServiceDefinition.runsOn`).
   * Never throws and never hangs (each check has a time limit).
   */
  async health(): Promise<AppHealth> {
    const database = this.#db ? await pingDatabase(this.#db, 2000) : undefined;
    const services = this.#services ? await this.#services.statuses() : [];
    const ok = this.#state === 'started' && (database?.ok ?? false) && services.every((s) => s.health.ok);
    const id = this.#workers?.id;
    return { ok, state: this.#state, worker: id === undefined ? { role: this.#role } : { id, role: this.#role }, database, services };
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
    this.#role = options.role ?? 'all';
    if (!['all', 'worker', 'web'].includes(this.#role)) {
      this.#state = 'created';
      throw new TipError(TipErrorCodes.CONFIG_INVALID, `unknown role "${String(this.#role)}" (expected all, worker or web)`, { details: { role: this.#role } });
    }
    this.#work = this.#mode !== 'read' && (options.work ?? this.#role !== 'web');
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
      await this.#openDatabase({ migrate: !read && this.config.database.autoMigrate, create: false, readOnly: read });
      this.#checkStop();
      this.#buildServices();
      const hookMs = parseDuration(this.config.lifecycle.hookTimeout, 'lifecycle.hookTimeout');
      for (const plugin of this.#plugins) {
        this.#checkStop();
        await this.#host.init(plugin, hookMs);
      }
      this.#scheduleJobs();
      this.#checkStop();
      const scheduling = !read && (options.schedule ?? (this.config.scheduler.enabled && this.#role !== 'web'));
      if (!read) this.#history!.workerId = await this.#workers!.register(this.#mode, scheduling, this.#role);
      if (!read) await this.scheduler.start({ schedule: scheduling });
      if (this.#mode === 'serve') this.#startServices();
      if (!read) this.#untrackLoop = trackEventLoopDelay(this.metrics);
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
    if (this.#state !== 'created') throw new TipError(TipErrorCodes.APP_STATE, `cannot migrate an app that is ${this.#state}`);
    this.#state = 'starting';
    try {
      await this.load();
      return await this.#openDatabase({ migrate: true, create: options.create ?? false, readOnly: false });
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

  /** Stops the app (same as {@link TipApp.stop}), so `await using tip = …` cleans up. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---- phases ---------------------------------------------------------------------------

  async #prepare(): Promise<void> {
    const plugins = orderPlugins((this.#options.plugins ?? []) as AnyPlugin[], CORE_VERSION);
    const config = await validateAppConfig(plugins, this.#options.config ?? {}, this.#options.configSource ?? 'config', this.#options.configOrigins);
    this.#config = config.core;
    this.#pluginConfigs = config.plugins;
    if (!this.#options.logger) this.#log = createLogger({ level: config.core.log.level });
    if (config.core.metrics.processMetrics) this.metrics.collectProcessMetrics();
    this.#plugins = plugins;
    this.#sourceRunner = new SourceRunner({
      sources: this.#point(CorePoints.sources),
      kinds: this.#point(CorePoints.sourceKinds),
      db: () => this.#db,
      http: config.core.http,
      get: (t) => this.container.get(t),
      events: this.events,
    });
    this.#point(CorePoints.routes).as('@tip/core').add(...coreRoutes(this));
    this.#point(CorePoints.publicEvents).as('@tip/core').add(...corePublicEvents);
    for (const plugin of plugins) this.#host.register(plugin);
  }

  async #openDatabase(o: { migrate: boolean; create: boolean; readOnly: boolean }): Promise<string[]> {
    const { db, applied } = await openAppDatabase({ config: this.config, entities: this.#host.entities, migrations: this.#host.migrations, log: this.#log, ...o });
    this.#db = db;
    return applied;
  }

  #buildServices(): void {
    const cfg = this.config;
    const db = this.db;
    this.#history = new RunHistory(db, this.#log.child({ component: 'history' }));
    const heartbeatMs = cfg.scheduler.heartbeat;
    this.#workers = new WorkerRegistry({
      db,
      clock: this.clock,
      log: this.#log.child({ component: 'workers' }),
      metrics: this.metrics,
      heartbeatMs,
      leaseMs: cfg.scheduler.lease ?? 3 * heartbeatMs,
      version: CORE_VERSION,
    });
    const deps: SchedulerDeps = {
      clock: this.clock,
      events: this.events,
      history: this.#history,
      log: this.#log.child({ component: 'scheduler' }),
      metrics: this.metrics,
      config: cfg,
      db,
      workers: this.#workers,
      work: this.#work,
      resolveSource: (sourceId, childId) => {
        const source = this.sources.get(sourceId);
        return source ? this.sources.job(source, { id: childId }) : undefined;
      },
    };
    this.#scheduler = buildScheduler(deps, this.#options.scheduler);
    provideCoreTokens(this.container, { ...deps, log: this.#log, scheduler: this.#scheduler, sourceRunner: this.sources });
  }

  #scheduleJobs(): void {
    this.#point(CorePoints.jobs).seal();
    for (const { job, plugin } of this.jobDefinitions()) this.scheduler.add(job, plugin);
  }

  /** Starts the services whose `runsOn` includes this app's role (every one for role `all`). */
  #startServices(): void {
    const point = this.#point(CorePoints.services);
    point.seal();
    const services = servicesForRole(
      point.list().map((def) => ({ def, plugin: point.ownerOf(def) })),
      this.#role,
    );
    this.#services = new ServiceSupervisor({
      clock: this.clock,
      events: this.events,
      metrics: this.metrics,
      log: this.#log,
      stopTimeoutMs: parseDuration(this.config.lifecycle.serviceStopTimeout, 'lifecycle.serviceStopTimeout'),
    });
    this.#services.start(services);
  }

  /** Services first, then the scheduler (drain), plugins in reverse, the pruning, the database. Never throws. */
  async #teardown(): Promise<void> {
    const step = async (what: string, fn: () => Promise<void> | undefined) => {
      try {
        await fn();
      } catch (err) {
        this.#log.error({ err }, `${what} failed`);
      }
    };
    await step('stopping services', () => this.#services?.stop());
    await step('stopping the scheduler', () => this.#scheduler?.stop({ drainTimeout: this.#config?.scheduler.drainTimeout }));
    // After the drain: a clean stop marks the worker stopped (its runs are all recorded by now).
    await step('stopping the worker', () => this.#workers?.stop());
    if (this.#config) await this.#host.stopAll(parseDuration(this.#config.lifecycle.hookTimeout, 'lifecycle.hookTimeout'));
    await this.#pruning;
    await step('closing the database', () => this.#db?.close({ timeoutMs: 10_000 }));
    this.#untrackLoop?.();
    this.events.clear();
    this.container.dispose();
  }

  async #prune(): Promise<void> {
    try {
      const keep = parseDuration(this.config.scheduler.historyRetention, 'scheduler.historyRetention');
      const before = new Date(this.clock.now() - keep);
      const removed = await this.#history!.prune(before);
      if (removed > 0) this.#log.info({ removed }, 'pruned old job runs');
      const workers = await this.#workers!.prune(before);
      if (workers > 0) this.#log.info({ workers }, 'pruned workers without a heartbeat since the history retention');
    } catch (err) {
      this.#log.warn({ err }, 'pruning job history failed');
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
