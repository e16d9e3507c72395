import { TipErrorCodes, isTipError } from '@tip/core';

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
 * Prints an error the way every `tip` command does: `error: <message>` on stderr, each
 * configuration issue on its own line, and the stack (with causes) only when `verbose`.
 *
 * @returns the exit code for it: 2 for usage errors and unknown jobs, else 1
 */
export function reportError(io: CliIO, err: unknown, verbose = false): number {
  if (err instanceof UsageError) {
    io.err(`error: ${err.message}\n`);
    if (err.hint) io.err(`${err.hint}\n`);
    return err.exitCode;
  }
  if (err instanceof HintedError) {
    io.err(`error: ${err.message}\n`);
    if (err.hint) io.err(`${err.hint}\n`);
    if (verbose) printStack(io, err.cause ?? err);
    return err.exitCode;
  }
  if (isTipError(err, TipErrorCodes.CONFIG_INVALID) && Array.isArray(err.details.issues)) {
    const [headline] = err.message.split('\n');
    io.err(`error: ${headline}\n`);
    for (const issue of err.details.issues as Array<{ path: string; message: string }>) io.err(`  ${issue.path}: ${issue.message}\n`);
  } else {
    const message = err instanceof Error ? err.message : String(err);
    io.err(`error: ${message}\n`);
  }
  if (verbose) printStack(io, err);
  return isTipError(err, TipErrorCodes.JOB_UNKNOWN) ? ExitCodes.USAGE : ExitCodes.FAILURE;
}

function printStack(io: CliIO, err: unknown): void {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    io.err(`${depth === 0 ? '' : 'caused by: '}${e.stack ?? e.message}\n`);
    e = e.cause;
  }
}
