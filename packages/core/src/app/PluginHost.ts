import type { EntitySchema } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { CoreConfig } from '../config/schema.js';
import { deepFreeze } from '../config/validate.js';
import type { TipContainer } from '../container/Container.js';
import type { Database } from '../database/Database.js';
import type { TipMigration } from '../database/migrations.js';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import type { TipEventBus } from '../events/EventBus.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { ExtensionPoint, ExtensionPointRef, ExtensionPointStore } from '../plugins/ExtensionPoint.js';
import type { BaseContext, PluginContext, PluginInstance, RegisterContext, RunMode, TipPlugin } from '../plugins/types.js';
import type { Scheduler } from '../scheduler/types.js';
import type { SourceRunner } from '../sources/SourceRunner.js';
import { pluginError, withTimeout } from './hooks.js';
import { CorePoints } from './points.js';

type AnyPlugin = TipPlugin<unknown>;

/** @internal What the host needs from the app to build plugin contexts. */
export interface PluginHostDeps {
  container: TipContainer;
  events: TipEventBus;
  metrics: TipMetrics;
  point<T>(ref: ExtensionPointRef<T>): ExtensionPointStore<T>;
  log(): Logger;
  core(): Readonly<CoreConfig>;
  pluginConfig(key: string): unknown;
  sourceRunner(): SourceRunner;
  db(): Database;
  scheduler(): Scheduler;
  mode(): RunMode;
}

/**
 * @internal The app's plugins: registers each (collecting entities, migrations and the per-app
 * {@link PluginInstance} `register` returns), runs `init` in dependency order and `stop` in
 * reverse, each bounded by a timeout and failing with errors that name the plugin and hook.
 */
export class PluginHost {
  readonly #d: PluginHostDeps;
  readonly #instances = new Map<AnyPlugin, PluginInstance<unknown>>();
  #initialised: AnyPlugin[] = [];
  /** Entity schemas declared so far (core's first). */
  readonly entities: EntitySchema[];
  /** Migrations declared so far, by owner (core's first). */
  readonly migrations: Array<{ owner: string; migration: TipMigration }>;

  constructor(deps: PluginHostDeps, core: { entities: readonly EntitySchema[]; migrations: readonly TipMigration[] }) {
    this.#d = deps;
    this.entities = [...core.entities];
    this.migrations = core.migrations.map((migration) => ({ owner: '@tip/core', migration }));
  }

  /** Calls `register` and keeps the instance it returns. */
  register(plugin: AnyPlugin): void {
    const ctx: RegisterContext<unknown> = {
      ...this.#base(plugin),
      entities: (...schemas) => this.entities.push(...schemas),
      migrations: (...migrations) => this.migrations.push(...migrations.map((migration) => ({ owner: plugin.name, migration }))),
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

  /** Runs one plugin's `init` (bounded by `timeoutMs`). */
  async init(plugin: AnyPlugin, timeoutMs: number): Promise<void> {
    await this.#hook(plugin, 'init', timeoutMs);
    this.#initialised.push(plugin);
  }

  /** Runs `stop` of every initialised plugin in reverse order; failures are logged, never thrown. */
  async stopAll(timeoutMs: number): Promise<void> {
    for (const plugin of [...this.#initialised].reverse()) {
      try {
        await this.#hook(plugin, 'stop', timeoutMs);
      } catch (err) {
        this.#d.log().error({ err, plugin: plugin.name }, `stopping plugin ${plugin.name} failed`);
      }
    }
    this.#initialised = [];
  }

  async #hook(plugin: AnyPlugin, hook: 'init' | 'stop', timeoutMs: number): Promise<void> {
    const instance = this.#instances.get(plugin);
    const fn = instance?.[hook];
    if (!fn) return;
    const d = this.#d;
    const ctx: PluginContext<unknown> = {
      ...this.#base(plugin),
      mode: d.mode(),
      get: (t) => d.container.get(t),
      em: () => d.db().em(),
      db: d.db(),
      scheduler: d.scheduler(),
      metrics: d.metrics,
    };
    try {
      await withTimeout({ plugin: plugin.name, hook }, timeoutMs, () => fn.call(instance, ctx));
    } catch (err) {
      throw pluginError(plugin, hook, err);
    }
  }

  #base(plugin: AnyPlugin): BaseContext<unknown> {
    const d = this.#d;
    const as = <T>(ref: ExtensionPointRef<T>): ExtensionPoint<T> => d.point(ref).as(plugin.name);
    return {
      config: (plugin.config ? d.pluginConfig(plugin.config.key) : deepFreeze({})) as Readonly<unknown>,
      core: d.core(),
      log: d.log().child({ plugin: plugin.name }),
      events: d.events,
      provide: (t, provider) => d.container.provide(t, provider),
      sources: as(CorePoints.sources),
      sourceKinds: as(CorePoints.sourceKinds),
      jobs: as(CorePoints.jobs),
      services: as(CorePoints.services),
      routes: as(CorePoints.routes),
      pages: as(CorePoints.pages),
      publicEvents: as(CorePoints.publicEvents),
      commands: as(CorePoints.commands),
      extend: as,
      sourceRunner: d.sourceRunner(),
    };
  }
}
