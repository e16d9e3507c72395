import { createLogger, type Logger } from '@tip/core';
import type { LogFormat, LogLevel } from './commandSpec.js';

/** Options of {@link createCliLogger}. */
export interface CliLoggerOptions {
  /** Lowest level written. */
  level: LogLevel;
  /** JSON lines or pretty lines. */
  format: LogFormat;
  /** Where lines go (default standard output). */
  stream?:
    | NodeJS.WriteStream
    | {
        /** Writes one line. */
        write(text: string): unknown;
        /** A terminal: pretty lines are coloured. */
        isTTY?: boolean;
      };
  /** Print error stacks in pretty mode. */
  verbose?: boolean;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const HIDDEN = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname', 'plugin', 'component', 'err']);

/** Creates the root logger of a `tip` command: core's pino logger, optionally pretty-printed. */
export function createCliLogger(options: CliLoggerOptions): Logger {
  const stream = options.stream ?? process.stdout;
  if (options.format === 'json') return createLogger({ level: options.level, destination: stream as NodeJS.WritableStream });
  const color = stream.isTTY === true && !process.env.NO_COLOR;
  const destination = { write: (line: string) => stream.write(prettyLine(line, { color, verbose: options.verbose ?? false })) };
  return createLogger({ level: options.level, destination: destination as unknown as NodeJS.WritableStream });
}

/**
 * Formats one pino JSON line as `HH:MM:SS.mmm LEVEL [plugin] message key=value …` (local time).
 * Lines that are not JSON are passed through.
 */
export function prettyLine(line: string, options: { color?: boolean; verbose?: boolean } = {}): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now());
  const hh = [time.getHours(), time.getMinutes(), time.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const stamp = `${hh}.${String(time.getMilliseconds()).padStart(3, '0')}`;
  let name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  if (options.color) name = `\u001b[${LEVEL_COLORS[level] ?? '0'}m${name}\u001b[0m`;
  // A job's lines are scoped by the job (its logger descends from the scheduler's).
  const scopeKey = entry.plugin !== undefined ? 'plugin' : entry.job !== undefined ? 'job' : 'component';
  const scope = entry[scopeKey];
  let out = `${stamp} ${name} ${scope ? `[${String(scope)}] ` : ''}${String(entry.msg ?? '')}`;
  for (const [key, value] of Object.entries(entry)) {
    if (HIDDEN.has(key) || key === scopeKey || value === undefined) continue;
    const shown = key === 'run' && typeof value === 'string' ? value.slice(0, 8) : value;
    out += ` ${key}=${typeof shown === 'string' && !/\s/.test(shown) ? shown : JSON.stringify(shown)}`;
  }
  const err = entry.err as { message?: string; stack?: string } | undefined;
  if (err) out += options.verbose && err.stack ? `\n${err.stack}` : ` err=${JSON.stringify(err.message ?? err)}`;
  return `${out}\n`;
}
