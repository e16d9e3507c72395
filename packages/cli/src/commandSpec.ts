// What a `tip` command is, and the options every command takes. No runtime import of @tip/core:
// `tip --help`, `tip --version` and command-line mistakes are answered without loading it.
import type { CliIO } from './errors.js';

/** How log lines are written: pino's JSON lines, or one readable line per entry. */
export type LogFormat = 'json' | 'pretty';

/** The log levels a `tip` command accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** True when `value` names a log level. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** One option of a command, in `node:util` parseArgs form plus help text. */
export interface OptionSpec {
  /** A string value (`--config file`) or a flag (`--json`). */
  type: 'string' | 'boolean';
  /** One-letter alias (`c` for `-c`). */
  short?: string;
  /** Value when the option is not given. */
  default?: string | boolean;
  /** Shown in `--help`. */
  description: string;
  /** Placeholder for the value in `--help` (`<file>`). */
  valueName?: string;
}

/** What a command's `run` gets. */
export interface CommandContext {
  /** Where the command writes its output and errors. */
  io: CliIO;
  /** Parsed option values (defaults applied). */
  values: Record<string, string | boolean | undefined>;
  /** Positional arguments after the command name. */
  positionals: string[];
  /** `--verbose` was given. */
  verbose: boolean;
}

/** A `tip` subcommand. */
export interface Command {
  /** The word after `tip`, e.g. `status`. */
  name: string;
  /** One line for `tip --help`. */
  summary: string;
  /** Arguments after the command name in the usage line, e.g. `<job>`. */
  args?: string;
  /** Number of positional arguments accepted. */
  positionals?: {
    /** Fewest accepted. */
    min: number;
    /** Most accepted. */
    max: number;
  };
  /** Command-specific options (the common ones are added). */
  options: Record<string, OptionSpec>;
  /** More help text. */
  description?: string;
  /** Runs the command; resolves with the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', short: 'c', default: './tip.config.json', valueName: '<file>', description: 'config file (.json, .ts, .mjs, .js)' },
  'log-level': { type: 'string', valueName: '<level>', description: `log level: ${LOG_LEVELS.join(', ')} (default: config's log.level for run, warn otherwise)` },
  'log-format': { type: 'string', valueName: '<format>', description: 'log lines as json or pretty (default: pretty on a terminal, json otherwise)' },
  verbose: { type: 'boolean', short: 'v', description: 'print stack traces of errors' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

