import { executeRaw, type Dialect, type EntityManager } from '@tip/core';

/**
 * Runs SQL written with `?` placeholders on either dialect (PostgreSQL gets `$1, $2…`): the one
 * raw-SQL path of the web plugin's stores (credentials, auth failure counters, event log,
 * webhooks). @internal
 */
export function query<R = Record<string, unknown>>(em: EntityManager, dialect: Dialect, sql: string, params: readonly unknown[] = []) {
  let n = 0;
  const text = dialect === 'postgresql' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
  return executeRaw<R>(em, text, params);
}
