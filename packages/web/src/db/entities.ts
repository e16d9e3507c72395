import { defineEntity, p, type InferEntity } from '@tip/core';

// Timestamps are epoch milliseconds (bigint), like the blacklist tables: the store works in raw
// SQL on both dialects.

/** An API token: `tip_<id>_<secret>`; only the SHA-256 of the secret is stored. */
export const WebTokenEntity = defineEntity({
  name: 'WebToken',
  tableName: 'web_token',
  properties: {
    id: p.string().primary().length(32),
    name: p.string().length(200),
    /** Hex SHA-256 of the secret part. */
    hash: p.string().length(64),
    /** Comma-separated scopes (`read`, `admin`). */
    scopes: p.string().length(100),
    createdAt: p.bigint('number'),
    lastUsedAt: p.bigint('number').nullable(),
    revokedAt: p.bigint('number').nullable(),
  },
});
/** A row of {@link WebTokenEntity}. */
export type WebTokenRow = InferEntity<typeof WebTokenEntity>;

/** A UI user; the password is stored as an scrypt hash (`scrypt$N$r$p$salt$hash`). */
export const WebUserEntity = defineEntity({
  name: 'WebUser',
  tableName: 'web_user',
  properties: {
    name: p.string().primary().length(100),
    hash: p.string().length(300),
    scopes: p.string().length(100),
    createdAt: p.bigint('number'),
  },
});
/** A row of {@link WebUserEntity}. */
export type WebUserRow = InferEntity<typeof WebUserEntity>;

/**
 * A UI login session, in the database so several web processes share it. `id` is the SHA-256 of
 * the cookie value, never the value itself.
 */
export const WebSessionEntity = defineEntity({
  name: 'WebSession',
  tableName: 'web_session',
  indexes: [{ name: 'web_session_user_index', properties: ['userName'] }],
  properties: {
    id: p.string().primary().length(64),
    userName: p.string().length(100),
    /** Secret the CSRF token of the session is derived from. */
    csrfSecret: p.string().length(64),
    createdAt: p.bigint('number'),
    expiresAt: p.bigint('number'),
  },
});
/** A row of {@link WebSessionEntity}. */
export type WebSessionRow = InferEntity<typeof WebSessionEntity>;

/**
 * Failed authentications of one client in its current window, shared by every web process (see
 * `AuthFailures`). `client` is the client's address (IPv6: its /64), or `*` for the clients the
 * table has no room for.
 */
export const WebAuthFailureEntity = defineEntity({
  name: 'WebAuthFailure',
  tableName: 'web_auth_failure',
  indexes: [{ name: 'web_auth_failure_expires_at_index', properties: ['expiresAt'] }],
  properties: {
    /** `login` or `bearer`. */
    kind: p.string().primary().length(16),
    client: p.string().primary().length(100),
    /** Failures in the window, counting the attempts in flight. */
    failures: p.integer(),
    /** When the window ends. */
    expiresAt: p.bigint('number'),
  },
});
/** A row of {@link WebAuthFailureEntity}. */
export type WebAuthFailureRow = InferEntity<typeof WebAuthFailureEntity>;

/** Every entity of the web plugin. */
export const webEntities = [WebTokenEntity, WebUserEntity, WebSessionEntity, WebAuthFailureEntity];
