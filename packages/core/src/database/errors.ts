import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';

/**
 * Why a database call failed, as classified by {@link databaseError}. Stable strings, stored in
 * `details.reason` of the TipError.
 */
export type DatabaseFailureReason =
  | 'disk-full'
  | 'busy'
  | 'cannot-open'
  | 'unreachable'
  | 'missing'
  | 'terminated'
  | 'auth'
  | 'timeout'
  | 'too-many-connections'
  | 'closed'
  | 'query';

/** Options of {@link databaseError}. */
export interface DatabaseErrorOptions {
  /** The ROLLBACK that failed after `err`, if any; its message is attached to the TipError. */
  rollbackError?: unknown;
}

interface Classified {
  reason: DatabaseFailureReason;
  human: string;
}

const bySqlState: Record<string, Classified> = {
  '3D000': { reason: 'missing', human: 'the database does not exist' },
  '57P01': { reason: 'terminated', human: 'the server terminated the connection (administrator command)' },
  '57P02': { reason: 'terminated', human: 'the server is shutting down after a crash' },
  '57P03': { reason: 'terminated', human: 'the server is starting up or shutting down' },
  '57014': { reason: 'timeout', human: 'the statement was cancelled (statement timeout or cancel request)' },
  '28P01': { reason: 'auth', human: 'authentication failed (wrong user or password)' },
  '28000': { reason: 'auth', human: 'authentication failed (the server refused this user/host)' },
  '53100': { reason: 'disk-full', human: 'the database server is out of disk space' },
  '53300': { reason: 'too-many-connections', human: 'the server has too many connections' },
};

const bySqliteCode: Array<[RegExp, Classified]> = [
  [/^SQLITE_FULL/, { reason: 'disk-full', human: 'database or disk is full' }],
  [/^SQLITE_BUSY/, { reason: 'busy', human: 'the database is busy (locked by another process)' }],
  [/^SQLITE_LOCKED/, { reason: 'busy', human: 'the database table is locked' }],
  [/^SQLITE_CANTOPEN/, { reason: 'cannot-open', human: 'cannot open the database file (missing folder, not a file, or no permission)' }],
];

const byNodeCode: Record<string, Classified> = {
  ECONNREFUSED: { reason: 'unreachable', human: 'the database server refused the connection (is it running?)' },
  ENOTFOUND: { reason: 'unreachable', human: 'the database host name does not resolve' },
  EAI_AGAIN: { reason: 'unreachable', human: 'the database host name does not resolve' },
  EHOSTUNREACH: { reason: 'unreachable', human: 'the database host is unreachable' },
  ENETUNREACH: { reason: 'unreachable', human: 'the database host is unreachable' },
  ETIMEDOUT: { reason: 'unreachable', human: 'connecting to the database server timed out' },
  ECONNRESET: { reason: 'terminated', human: 'the connection to the database server was reset' },
};

/** Every error reachable from `err` through `cause`, `previous` and AggregateError `errors`. */
function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  const queue = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (e === undefined || e === null || out.includes(e)) continue;
    out.push(e);
    if (typeof e === 'object') {
      const o = e as { cause?: unknown; previous?: unknown; errors?: unknown };
      queue.push(o.cause, o.previous);
      if (Array.isArray(o.errors)) queue.push(...o.errors);
    }
  }
  return out;
}

function codeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function classify(err: unknown): Classified & { code?: string } {
  for (const e of chain(err)) {
    const code = codeOf(e);
    if (code === undefined) continue;
    if (bySqlState[code]) return { ...bySqlState[code], code };
    for (const [re, c] of bySqliteCode) if (re.test(code)) return { ...c, code };
    if (byNodeCode[code]) return { ...byNodeCode[code], code };
  }
  const text = chain(err).map((e) => (e instanceof Error ? e.message : '')).join(' | ');
  if (/timeout exceeded when trying to connect|connection timeout/i.test(text)) {
    return { reason: 'timeout', human: 'timed out waiting for a database connection' };
  }
  if (/Connection terminated|not queryable|terminating connection/i.test(text)) {
    return { reason: 'terminated', human: 'the connection to the database server was lost' };
  }
  if (/database or disk is full/i.test(text)) return { reason: 'disk-full', human: 'database or disk is full' };
  const code = chain(err).map(codeOf).find((c) => c !== undefined);
  return { reason: 'query', human: 'the database reported an error', ...(code ? { code } : {}) };
}

/**
 * True when `err` (or its cause chain) looks like an error of a database driver or connection
 * (MikroORM `DriverException`, a `pg` error with a SQLSTATE, a `better-sqlite3` `SQLITE_*` error,
 * a socket error) rather than an error raised by application code.
 */
export function isDriverError(err: unknown): boolean {
  if (err instanceof TipError) return false;
  return chain(err).some((e) => {
    if (typeof e !== 'object' || e === null) return false;
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string' && /(Driver|Connection|Constraint|Lock|Deadlock|Syntax|Server|Table|Field|NonUnique)\w*Exception$/.test(name)) {
      return true;
    }
    const code = codeOf(e);
    if (code && (/^SQLITE_/.test(code) || /^[0-9A-Z]{5}$/.test(code) || byNodeCode[code])) return true;
    return e instanceof Error && /Connection terminated|not queryable|timeout exceeded when trying to connect/i.test(e.message);
  });
}

/**
 * Maps any error of a database call to a `TIP_DB_FAILED` {@link TipError} with a human message
 * naming the database and the operation, e.g. `insert on sqlite:/srv/tip.sqlite failed: database
 * or disk is full (SQLITE_FULL: database or disk is full)`. `details` carry `database`,
 * `operation`, `reason` ({@link DatabaseFailureReason}), the driver `code` when known and
 * `rollbackError` when a ROLLBACK failed too. A TipError passes through unchanged.
 *
 * @param err what the driver (or MikroORM) threw
 * @param where the database, password redacted ({@link Database.where})
 * @param operation what was attempted, e.g. `'open'`, `'migrate'`, `'transaction'`
 */
export function databaseError(err: unknown, where: string, operation: string, options: DatabaseErrorOptions = {}): TipError {
  if (err instanceof TipError) return err;
  const c = classify(err);
  const original = describeError(err);
  const rollback = options.rollbackError === undefined ? '' : `; rollback also failed: ${describeError(options.rollbackError)}`;
  const codePart = c.code ? `${c.code}: ` : '';
  return new TipError(TipErrorCodes.DB_FAILED, `${operation} on ${where} failed: ${c.human} (${codePart}${original})${rollback}`, {
    cause: err,
    details: {
      database: where,
      operation,
      reason: c.reason,
      ...(c.code ? { code: c.code } : {}),
      ...(options.rollbackError === undefined ? {} : { rollbackError: describeError(options.rollbackError) }),
    },
  });
}
