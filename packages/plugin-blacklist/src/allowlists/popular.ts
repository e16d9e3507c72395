import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TipError, TipErrorCodes } from '@tip/core';

/** Path of the shipped, hand-curated popular-domains list (`data/popular-domains.txt`). */
export const POPULAR_DOMAINS_FILE = fileURLToPath(new URL('../../data/popular-domains.txt', import.meta.url));

/** Name of the built-in popular-domains list, reported as `AllowMatch.list`. */
export const POPULAR_DOMAINS_LIST_NAME = 'popular-domains';

const cache = new Map<string, readonly string[]>();

/**
 * Reads a domain list file: one domain per line, `#` starts a comment, blank lines ignored.
 * Cached per path (the shipped list is static).
 *
 * @throws TipError `TIP_CONFIG_INVALID` (details.option = `popularDomainsFile`) when unreadable.
 */
export function loadDomainList(path: string = POPULAR_DOMAINS_FILE): readonly string[] {
  const hit = cache.get(path);
  if (hit) return hit;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `popularDomainsFile: cannot read ${path}`, {
      cause,
      details: { option: 'popularDomainsFile', path },
    });
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim().toLowerCase();
    if (line) out.push(line);
  }
  const frozen = Object.freeze(out);
  cache.set(path, frozen);
  return frozen;
}
