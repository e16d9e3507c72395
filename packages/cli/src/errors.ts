/** Exit codes of the `tip` command. */
export const ExitCodes = {
  /** Everything went fine. */
  OK: 0,
  /** The command failed (bad config, failed job run, database error…). */
  FAILURE: 1,
  /** The command line was wrong: unknown command or option, missing argument, unknown job. */
  USAGE: 2,
} as const;

/**
 * An error printed as `error: …` followed by a hint line, with its own exit code. The message is
 * the cause's (when there is one) and `--verbose` prints the cause's stack.
 */
export class HintedError extends Error {
  /** Extra line printed after the message, e.g. `run "tip migrate --create"`. */
  readonly hint: string | undefined;
  /** The exit code `tip` ends with. */
  readonly exitCode: number;

  /**
   * @param message the error line
   * @param hint what to do about it
   * @param exitCode exit code (default 1)
   * @param cause the underlying error (its stack is shown with `--verbose`)
   */
  constructor(message: string, hint?: string, exitCode: number = ExitCodes.FAILURE, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'HintedError';
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** A command-line mistake: printed as `error: …` followed by a hint, exit code 2. */
export class UsageError extends HintedError {
  /**
   * @param message the mistake
   * @param hint e.g. `see "tip jobs --help"`
   */
  constructor(message: string, hint?: string) {
    super(message, hint, ExitCodes.USAGE);
    this.name = 'UsageError';
  }
}

/** Where a command writes: standard output and standard error (tests capture them). */
export interface CliIO {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
}

/** The process's own standard streams. */
export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};


/**
 * Prints a {@link HintedError} (`error: …`, then its hint; the cause's stack when `verbose`) and
 * returns its exit code. Needs no @tip/core, so usage mistakes are answered without loading it.
 * @internal
 */
export function reportHinted(io: CliIO, err: HintedError, verbose = false): number {
  io.err(`error: ${err.message}\n`);
  if (err.hint) io.err(`${err.hint}\n`);
  if (verbose && !(err instanceof UsageError)) printStack(io, err.cause ?? err);
  return err.exitCode;
}

/**
 * Prints an error's stack and its causes' (up to 5 deep).
 * @internal
 */
export function printStack(io: CliIO, err: unknown): void {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    io.err(`${depth === 0 ? '' : 'caused by: '}${e.stack ?? e.message}\n`);
    e = e.cause;
  }
}
