import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { TipError, TipErrorCodes, type Clock, type Database, type RouteScope } from '@tip/core';
import { query } from '../db/query.js';

/** Scopes a token or user can hold (`admin` implies `read`). */
export type WebScope = RouteScope;

/** A token as listed (never its secret). */
export interface WebTokenInfo {
  /** Token id (the `<id>` of `tip_<id>_<secret>`). */
  id: string;
  /** Name given at creation. */
  name: string;
  /** Its scope: `read` or `admin`. */
  scope: WebScope;
  /** Creation time (epoch ms). */
  createdAt: number;
  /** Last successful use (epoch ms, updated at most once a minute), or null. */
  lastUsedAt: number | null;
  /** When it was revoked (epoch ms), or null while valid. */
  revokedAt: number | null;
}

/** A created token: its info plus the secret, shown once. */
export interface CreatedWebToken extends WebTokenInfo {
  /** The full bearer token `tip_<id>_<secret>`; only its hash is stored. */
  token: string;
}

/** A UI user as listed. */
export interface WebUserInfo {
  /** User name. */
  name: string;
  /** Its scope: `read` or `admin`. */
  scope: WebScope;
  /** Creation time (epoch ms). */
  createdAt: number;
}

/** Who a request authenticated as. */
export interface WebPrincipal {
  /** `token:<id>` or `user:<name>`. */
  id: string;
  /** How: a bearer token or a session cookie. */
  kind: 'token' | 'user';
  /** Scopes held; `admin` callers hold `read` too. */
  scopes: WebScope[];
  /** The user name (session principals). */
  user?: string;
}

/** A UI login session. */
export interface WebSession {
  /** The user it belongs to. */
  user: string;
  /** The user's scopes. */
  scopes: WebScope[];
  /** The token cookie-authenticated writes must send in `x-csrf-token`. */
  csrfToken: string;
  /** Expiry (epoch ms). */
  expiresAt: number;
}

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

/** scrypt cost parameters of new password hashes (N = 2^15: ~32 MiB, tens of ms). */
const SCRYPT = { N: 32768, r: 8, p: 1 } as const;
const KEYLEN = 32;
const MAX_PASSWORD = 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
const TOKEN = /^tip_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
const scopesOf = (scope: WebScope): WebScope[] => (scope === 'admin' ? ['read', 'admin'] : ['read']);
const scopeOf = (stored: string): WebScope => (stored === 'admin' ? 'admin' : 'read');

/** Constant-time comparison of two strings (false for different lengths). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Hashes a password with scrypt: `scrypt$N$r$p$<salt b64>$<hash b64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, { ...SCRYPT, maxmem: 128 * SCRYPT.N * SCRYPT.r * 2 });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Checks a password against a {@link hashPassword} hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!(N >= 2 && N <= 2 ** 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scrypt(password, Buffer.from(parts[4]!, 'base64'), expected.length || KEYLEN, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

function checkScope(scope: string): WebScope {
  if (scope !== 'read' && scope !== 'admin') throw new TipError(TipErrorCodes.INPUT_INVALID, `scope must be "read" or "admin" (got "${scope}")`, { details: { scope } });
  return scope;
}

function checkName(what: string, name: string): string {
  if (!NAME.test(name)) {
    throw new TipError(TipErrorCodes.INPUT_INVALID, `${what} "${name.slice(0, 120)}" is invalid: 1-100 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`, { details: { name: name.slice(0, 120) } });
  }
  return name;
}

/**
 * Credentials of the web server, stored in the app's database (shared by every web process):
 * API tokens (SHA-256 of a 256-bit secret), UI users (scrypt password hashes) and their sessions.
 * Resolve it with `app.get(WebToken)` after the app started.
 */
export class WebAuth {
  readonly #db: Database;
  readonly #clock: Pick<Clock, 'now'>;
  /** A hash of a random password: unknown users cost as much as known ones. */
  #dummyHash: Promise<string> | undefined;

  /**
   * @param db the app's database (migrated with the web plugin's migrations)
   * @param clock time source for creation, expiry and last-use times (default the system clock)
   */
  constructor(db: Database, clock: Pick<Clock, 'now'> = { now: () => Date.now() }) {
    this.#db = db;
    this.#clock = clock;
  }

  #sql<R = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<{ rows: R[]; affected: number }> {
    return query<R>(this.#db.em(), this.#db.dialect, sql, params);
  }

  /** True when at least one valid token or one user exists: the server then requires authentication. */
  async hasCredentials(): Promise<boolean> {
    const { rows } = await this.#sql<{ n: unknown }>('select (select count(*) from web_token where revoked_at is null) + (select count(*) from web_user) as n');
    return Number(rows[0]?.n ?? 0) > 0;
  }

  /**
   * Creates an API token. The returned `token` (`tip_<id>_<secret>`) is the only copy of the
   * secret: store it, only its SHA-256 is kept.
   */
  async createToken(options: {
    /** A name to recognise it by (`ci`, `grafana`…). */
    name: string;
    /** `read` (queries) or `admin` (also writes, triggers). */
    scope: WebScope;
  }): Promise<CreatedWebToken> {
    const name = options.name.trim();
    if (name.length === 0 || name.length > 200) throw new TipError(TipErrorCodes.INPUT_INVALID, 'token name must be 1-200 characters', { details: { name: name.slice(0, 200) } });
    const scope = checkScope(options.scope);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const createdAt = this.#clock.now();
    await this.#sql('insert into web_token (id, name, hash, scopes, created_at) values (?, ?, ?, ?, ?)', [id, name, sha256(secret), scope, createdAt]);
    return { id, name, scope, createdAt, lastUsedAt: null, revokedAt: null, token: `tip_${id}_${secret}` };
  }

  /** Every token (revoked ones included), oldest first. */
  async listTokens(): Promise<WebTokenInfo[]> {
    const { rows } = await this.#sql<Record<string, unknown>>('select id, name, scopes, created_at, last_used_at, revoked_at from web_token order by created_at, id');
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return rows.map((r) => ({ id: String(r.id), name: String(r.name), scope: scopeOf(String(r.scopes)), createdAt: Number(r.created_at), lastUsedAt: num(r.last_used_at), revokedAt: num(r.revoked_at) }));
  }

  /** Revokes a token by id; false when there is no such valid token. */
  async revokeToken(id: string): Promise<boolean> {
    const { affected } = await this.#sql('update web_token set revoked_at = ? where id = ? and revoked_at is null', [this.#clock.now(), id]);
    return affected > 0;
  }

  /** The principal of a bearer token, or undefined when it is malformed, unknown or revoked. */
  async verifyToken(token: string): Promise<WebPrincipal | undefined> {
    const m = TOKEN.exec(token);
    if (!m) return undefined;
    const [, id, secret] = m as unknown as [string, string, string];
    const { rows } = await this.#sql<{ hash: string; scopes: string; last_used_at: unknown }>('select hash, scopes, last_used_at from web_token where id = ? and revoked_at is null', [id]);
    const row = rows[0];
    if (!row || !safeEqual(sha256(secret), row.hash)) return undefined;
    const now = this.#clock.now();
    if (row.last_used_at === null || now - Number(row.last_used_at) >= 60_000) await this.#sql('update web_token set last_used_at = ? where id = ?', [now, id]);
    return { id: `token:${id}`, kind: 'token', scopes: scopesOf(scopeOf(row.scopes)) };
  }

  /**
   * Adds a UI user. Without `password` one is generated (24 random characters) and returned.
   * @throws TipError `TIP_INPUT_INVALID` for a bad name or scope, a password shorter than 8 characters, or an existing user
   */
  async createUser(options: {
    /** User name: 1-100 letters, digits, `.`, `_`, `@` or `-`. */
    name: string;
    /** `read` or `admin`. */
    scope: WebScope;
    /** The password (8-1024 characters); generated when absent. */
    password?: string;
  }): Promise<WebUserInfo & {
    /** The password: the one given, or the generated one. */
    password: string;
  }> {
    const name = checkName('user name', options.name);
    const scope = checkScope(options.scope);
    const password = options.password ?? randomBytes(18).toString('base64url');
    if (password.length < 8 || password.length > MAX_PASSWORD) throw new TipError(TipErrorCodes.INPUT_INVALID, `password must be 8-${MAX_PASSWORD} characters`);
    const { rows } = await this.#sql('select name from web_user where name = ?', [name]);
    if (rows.length > 0) throw new TipError(TipErrorCodes.INPUT_INVALID, `user "${name}" exists already (remove it first)`, { details: { name } });
    const createdAt = this.#clock.now();
    await this.#sql('insert into web_user (name, hash, scopes, created_at) values (?, ?, ?, ?)', [name, await hashPassword(password), scope, createdAt]);
    return { name, scope, createdAt, password };
  }

  /** Every user, by name. */
  async listUsers(): Promise<WebUserInfo[]> {
    const { rows } = await this.#sql<Record<string, unknown>>('select name, scopes, created_at from web_user order by name');
    return rows.map((r) => ({ name: String(r.name), scope: scopeOf(String(r.scopes)), createdAt: Number(r.created_at) }));
  }

  /** Removes a user and ends its sessions; false when there is no such user. */
  async removeUser(name: string): Promise<boolean> {
    await this.#sql('delete from web_session where user_name = ?', [name]);
    const { affected } = await this.#sql('delete from web_user where name = ?', [name]);
    return affected > 0;
  }

  /** Checks a user's password (constant work for unknown users); the user's info when it matches. */
  async checkPassword(name: string, password: string): Promise<WebUserInfo | undefined> {
    if (password.length > MAX_PASSWORD || name.length > 100) return undefined;
    const { rows } = await this.#sql<{ hash: string; scopes: string; created_at: unknown }>('select hash, scopes, created_at from web_user where name = ?', [name]);
    const row = rows[0];
    if (!row) {
      await verifyPassword(password, await (this.#dummyHash ??= hashPassword(randomBytes(16).toString('hex'))));
      return undefined;
    }
    return (await verifyPassword(password, row.hash)) ? { name, scope: scopeOf(row.scopes), createdAt: Number(row.created_at) } : undefined;
  }

  /**
   * Opens a session for a user; returns the cookie value (only its SHA-256 is stored) and the
   * session. Expired sessions of every user are deleted on the way.
   */
  async createSession(user: string, ttlMs: number): Promise<{
    /** The value of the session cookie. */
    cookie: string;
    /** The session. */
    session: WebSession;
  }> {
    const { rows } = await this.#sql<{ scopes: string }>('select scopes from web_user where name = ?', [user]);
    if (!rows[0]) throw new TipError(TipErrorCodes.NOT_FOUND, `no user "${user}"`);
    const now = this.#clock.now();
    await this.#sql('delete from web_session where expires_at <= ?', [now]);
    const cookie = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = now + ttlMs;
    await this.#sql('insert into web_session (id, user_name, csrf_secret, created_at, expires_at) values (?, ?, ?, ?, ?)', [sha256(cookie), user, csrfToken, now, expiresAt]);
    return { cookie, session: { user, scopes: scopesOf(scopeOf(rows[0].scopes)), csrfToken, expiresAt } };
  }

  /** The live session of a cookie value, or undefined (unknown, expired, or its user removed). */
  async session(cookie: string): Promise<WebSession | undefined> {
    if (cookie.length === 0 || cookie.length > 100) return undefined;
    const { rows } = await this.#sql<{ user_name: string; csrf_secret: string; expires_at: unknown; scopes: string | null }>(
      'select s.user_name, s.csrf_secret, s.expires_at, u.scopes from web_session s join web_user u on u.name = s.user_name where s.id = ?',
      [sha256(cookie)],
    );
    const row = rows[0];
    if (!row || Number(row.expires_at) <= this.#clock.now() || row.scopes === null) return undefined;
    return { user: row.user_name, scopes: scopesOf(scopeOf(row.scopes)), csrfToken: row.csrf_secret, expiresAt: Number(row.expires_at) };
  }

  /** Ends the session of a cookie value (logout). */
  async deleteSession(cookie: string): Promise<void> {
    await this.#sql('delete from web_session where id = ?', [sha256(cookie)]);
  }
}
