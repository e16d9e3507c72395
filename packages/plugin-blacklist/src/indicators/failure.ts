/**
 * Failure values of the canonicaliser: results, never exceptions, shared where possible.
 *
 * @module
 */

/** A rejected value and why, in a few words. */
export type Failure = { ok: false; reason: string };

const failures = new Map<string, Failure>();
/** A shared, frozen failure result for a reason (reasons are a small fixed set, so this stays bounded). */
export function fail(reason: string): Failure {
  let f = failures.get(reason);
  if (!f) {
    f = Object.freeze({ ok: false as const, reason });
    if (failures.size < 256) failures.set(reason, f);
  }
  return f;
}

/** Whether a canonicaliser result is a {@link Failure}. */
export const isFailure = (v: unknown): v is Failure => typeof v === 'object' && v !== null && (v as Failure).ok === false;
