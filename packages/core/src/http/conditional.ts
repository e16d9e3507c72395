/**
 * Conditional requests for {@link HttpClient}: sending stored validators and remembering new ones.
 *
 * Internal to `@tip/core`; not re-exported from the package root.
 *
 * @module
 * @internal
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { ValidatorStore, Validators } from './types.js';

/**
 * Adds `If-None-Match` / `If-Modified-Since` from the validators stored for `requested`, unless the
 * caller set those headers explicitly.
 *
 * @internal
 */
export function addConditionalHeaders(headers: OutgoingHttpHeaders, store: ValidatorStore, requested: string): void {
  const stored = store.get(requested);
  if (stored?.etag && headers['if-none-match'] === undefined) headers['if-none-match'] = stored.etag;
  if (stored?.lastModified && headers['if-modified-since'] === undefined) {
    headers['if-modified-since'] = stored.lastModified;
  }
}

/**
 * The validators a response carries (`ETag`, `Last-Modified`), only the keys present.
 *
 * @internal
 */
export function validatorsOf(etag: string | undefined, lastModified: string | undefined): Validators {
  return {
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
  };
}
