import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/**
 * Creates the root pino logger of an app. Logs go to stdout as JSON lines (pipe to `pino-pretty`
 * for humans), or to `destination` when given.
 */
export function createLogger(options: { level?: LevelWithSilent; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const opts = { level: options.level ?? 'info', name: options.name ?? 'tip', base: undefined };
  return options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts);
}
