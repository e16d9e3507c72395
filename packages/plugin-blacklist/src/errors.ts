import { defineErrorCodes } from '@tip/core';

/**
 * Error codes of the blacklist plugin (`BL_…`), stable across releases. Branch on them with
 * `isTipError(err, BlacklistErrors.FEED_REJECTED)`.
 */
export const BlacklistErrors = defineErrorCodes('BL', {
  /** A blacklist source id is not registered (ingesting into it, or a command filter naming it). */
  SOURCE_UNKNOWN: 'a blacklist source id is not registered',
  /** A feed run's data was refused; the previous listings stay. */
  FEED_REJECTED: "a feed run's data was refused (too many invalid lines, an unexpected empty snapshot); the previous listings stay",
  /** A feed names a format that no registered parser handles. */
  FEED_FORMAT_UNKNOWN: 'a feed names a format that no registered parser handles',
  /** An export names a format that no registered writer handles. */
  EXPORT_FORMAT_UNKNOWN: 'an export names a format that no registered writer handles',
});

/** One of {@link BlacklistErrors}' codes. */
export type BlacklistErrorCode = (typeof BlacklistErrors)[keyof typeof BlacklistErrors];
