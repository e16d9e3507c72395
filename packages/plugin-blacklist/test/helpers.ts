import { isTipError } from '@tip/core';

/** Runs `fn`, expecting a `TIP_CONFIG_INVALID` error; returns its details. */
export function configError(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    if (isTipError(e, 'TIP_CONFIG_INVALID')) return e.details;
    throw e;
  }
  throw new Error('expected a TIP_CONFIG_INVALID error');
}
