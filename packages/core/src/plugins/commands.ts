/** One option of a plugin command (the `node:util` parseArgs shape plus help text). */
export interface CommandOption {
  /** `string` takes a value (`--format csv`); `boolean` is a flag (`--dry-run`). */
  type: 'string' | 'boolean';
  /** One-letter alias, without the dash (`f` for `-f`). */
  short?: string;
  /** Value when the option is not given (default undefined). */
  default?: string | boolean;
  /** May be given several times (values collected in an array). */
  multiple?: boolean;
  /** Shown in `--help`. */
  description: string;
  /** Placeholder in `--help`, e.g. `<format>`. */
  valueName?: string;
}

/** What a command's `run` gets. */
export interface CommandRunContext {
  /** Parsed options (defaults applied; `multiple` options are arrays). */
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** Positional arguments after the command words. */
  positionals: string[];
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
}

/**
 * A `tip` subcommand contributed by a plugin (`ctx.commands.add(...)`), e.g. `tip blacklist export`.
 * The CLI starts the app in the command's `mode` before `run` (plugins are initialised, nothing is
 * scheduled, no service starts) and stops it afterwards.
 */
export interface CommandDefinition {
  /** The words after `tip`, e.g. `'blacklist export'`. */
  name: string;
  /**
   * `'read'` (default): the command only reads — the database must exist and be migrated, and
   * plugins' `init` sees `ctx.mode === 'read'`. `'run'`: the command may write and run jobs.
   */
  mode?: 'read' | 'run';
  /** One line for `tip --help`. */
  summary: string;
  /** Positional arguments in the usage line, e.g. `<file>`. */
  args?: string;
  /** Options. */
  options?: Record<string, CommandOption>;
  /** Runs the command; resolves with the exit code (0 ok, 1 failure). */
  run(ctx: CommandRunContext): Promise<number>;
}
