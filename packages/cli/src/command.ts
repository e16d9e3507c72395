import { createTip, isTipError, TipErrorCodes, type LoadedConfig, type Logger, type TipApp, loadConfigFile } from '@tip/core';
import { ExitCodes, HintedError, UsageError } from './errors.js';
import { isLogLevel, LOG_LEVELS, type CommandContext, type LogFormat, type LogLevel } from './commandSpec.js';
import { createCliLogger } from './logging.js';
import { loadPlugins } from './plugins.js';

/** An app opened from a config file by {@link openApp}. */
export interface OpenedApp {
  /** The app, created but neither loaded nor started. */
  app: TipApp;
  /** The config file as loaded (path, config, plugin specs). */
  loaded: LoadedConfig;
  /** The command's root logger. */
  log: Logger;
}

/**
 * Loads the config file named by `--config`, its plugins, and creates the app (not started).
 * Logs go to `logTo` (stdout for `tip run`, stderr for one-shot commands so JSON output stays clean).
 */
export async function openApp(ctx: CommandContext, options: { logTo: 'stdout' | 'stderr'; defaultLevel?: LogLevel }): Promise<OpenedApp> {
  const stream = options.logTo === 'stdout' ? process.stdout : process.stderr;
  const cliLevel = logLevelOption(ctx);
  const format = logFormatOption(ctx, stream);
  const loaded = await loadConfigFile(String(ctx.values.config), process.env);
  const rawLevel = (loaded.config.log as { level?: unknown } | undefined)?.level;
  const level = cliLevel ?? options.defaultLevel ?? (isLogLevel(rawLevel) ? rawLevel : 'info');
  const log = createCliLogger({ level, format, stream, verbose: ctx.verbose });
  const plugins = await loadPlugins(loaded);
  const app = await createTip({ config: loaded.config, plugins, logger: log, configSource: loaded.path, configOrigins: loaded });
  return { app, loaded, log };
}

/** How a one-shot command starts the app (see {@link withStartedApp}). */
export interface OneShotStart {
  /**
   * `'read'`: an existing, migrated database is opened read-only in spirit — no migrations, no
   * scheduling, no services (`tip status`, read-only plugin commands). `'run'`: jobs may run and
   * write, nothing is scheduled, no services (`tip trigger`, plugin commands with `mode: 'run'`).
   */
  mode: 'read' | 'run';
  /**
   * Whether this process takes jobs (default: the app's default, true). `tip trigger` passes
   * `false`: with the pg-boss backend it then only enqueues the run for the workers; the
   * in-process backend ignores it and runs the job here.
   */
  work?: boolean;
}

/**
 * Opens the app, starts it in `start.mode` without scheduling (nothing runs on its own, no
 * service starts), calls `fn`, and always stops the app afterwards.
 */
export async function withStartedApp<T>(ctx: CommandContext, start: OneShotStart, fn: (opened: OpenedApp) => Promise<T>): Promise<T> {
  const opened = await openApp(ctx, { logTo: 'stderr', defaultLevel: 'warn' });
  return startedFor(opened, start, () => fn(opened));
}

/**
 * Starts an opened app in `start.mode` without scheduling, calls `fn`, and always stops the app.
 * @internal
 */
export async function startedFor<T>(opened: OpenedApp, start: OneShotStart, fn: () => Promise<T>): Promise<T> {
  try {
    await opened.app.start({ mode: start.mode, schedule: false, ...(start.work === undefined ? {} : { work: start.work }) });
  } catch (err) {
    throw withStartHint(err, start.mode);
  }
  try {
    return await fn();
  } finally {
    await opened.app.stop();
  }
}

/**
 * Opens the app and only loads it ({@link TipApp.load}: config validated, plugins registered — no
 * database, no plugin `init`, no I/O), then calls `fn`. For commands that list what plugins declare.
 */
export async function withLoadedApp<T>(ctx: CommandContext, fn: (opened: OpenedApp) => Promise<T>): Promise<T> {
  const opened = await openApp(ctx, { logTo: 'stderr', defaultLevel: 'warn' });
  await opened.app.load();
  return fn(opened);
}

/** A read-only command found no database: say how to create one instead of a bare error. */
function withStartHint(err: unknown, mode: OneShotStart['mode']): unknown {
  if (!isTipError(err, TipErrorCodes.DB_MISSING)) return err;
  // Core's message already says how to create it; say why this command did not.
  const hint = mode === 'read' ? 'this command only reads an existing database: it never creates one' : undefined;
  return new HintedError(err.message, hint, ExitCodes.FAILURE, err);
}

function logLevelOption(ctx: CommandContext): LogLevel | undefined {
  const v = ctx.values['log-level'];
  if (v === undefined) return undefined;
  if (!isLogLevel(v)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${String(v)}")`);
  return v;
}

function logFormatOption(ctx: CommandContext, stream: NodeJS.WriteStream): LogFormat {
  const v = ctx.values['log-format'];
  if (v === undefined) return stream.isTTY ? 'pretty' : 'json';
  if (v !== 'json' && v !== 'pretty') throw new UsageError(`--log-format must be json or pretty (got "${String(v)}")`);
  return v;
}
