import { TipErrorCodes, isTipError } from '@tip/core';
import { ExitCodes, HintedError, printStack, reportHinted, type CliIO } from './errors.js';

/**
 * Prints an error the way every `tip` command does: `error: <message>` on stderr, each
 * configuration issue on its own line, and the stack (with causes) only when `verbose`.
 *
 * @returns the exit code for it: 2 for usage errors and unknown jobs, else 1
 */
export function reportError(io: CliIO, err: unknown, verbose = false): number {
  if (err instanceof HintedError) return reportHinted(io, err, verbose);
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
