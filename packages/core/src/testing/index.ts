import { pino } from 'pino';
import { TipApp, type CreateTipOptions, type StartOptions } from '../app/TipApp.js';
import { ManualClock } from './ManualClock.js';
import { tempDatabase, type TestDatabase } from './databases.js';

export { ManualClock, settle } from './ManualClock.js';
export { responseText, serveFeeds, type FeedAnswer, type FeedHandler, type FeedResponse, type FeedServer } from './feeds.js';
export { tempDatabase, tempPostgres, tempSqlite, testDialects, testPostgresUrl, type TestDatabase } from './databases.js';

/** Options of {@link startTestTip}. */
export interface TestTipOptions extends Omit<CreateTipOptions, 'clock'> {
  /** `'sqlite'` (default) or `'postgresql'`, or a database you created (it is not dropped). */
  database?: 'sqlite' | 'postgresql' | TestDatabase;
  /** Use this clock; default a new {@link ManualClock}. Pass `'system'` for real time. */
  clock?: ManualClock | 'system';
  /** Start options (e.g. `{ schedule: false }`). */
  start?: StartOptions;
  /** Log level (default `silent`, or `TIP_TEST_LOG`). */
  logLevel?: string;
}

/** A started test app, its clock and database; `close()` (or `await using`) stops it and drops the database. */
export interface TestTip extends AsyncDisposable {
  /** The started app. */
  app: TipApp;
  /** The app's manual clock; `undefined` when started with `clock: 'system'`. */
  clock: ManualClock | undefined;
  /** The throwaway database the app runs on. */
  database: TestDatabase;
  /** Stops the app and drops its database. */
  close(): Promise<void>;
}

/**
 * Starts an app on a throwaway database with a controllable clock.
 *
 * @example
 * ```ts
 * await using t = await startTestTip({ plugins: [myPlugin()] });
 * await t.clock!.advance(60_000);
 * expect(await t.app.scheduler.history({ jobId: 'my-job' })).toHaveLength(1);
 * ```
 */
export async function startTestTip(options: TestTipOptions = {}): Promise<TestTip> {
  const owned = typeof options.database !== 'object';
  const database = typeof options.database === 'object' ? options.database : await tempDatabase(options.database ?? 'sqlite');
  const clock = options.clock === 'system' ? undefined : (options.clock ?? new ManualClock());
  const config = { ...(options.config ?? {}) };
  config.database = { ...((config.database as object | undefined) ?? {}), url: database.url };
  const app = new TipApp({
    ...options,
    config,
    clock,
    logger: options.logger ?? pino({ level: options.logLevel ?? process.env.TIP_TEST_LOG ?? 'silent' }),
  });
  try {
    await app.start(options.start);
  } catch (err) {
    if (owned) await database.drop();
    throw err;
  }
  const close = async () => {
    await app.stop();
    if (owned) await database.drop();
  };
  return { app, clock, database, close, [Symbol.asyncDispose]: close };
}
