import { durationSchema } from '@tip/core';
import { z } from 'zod';
import { streamConfigSchema } from './stream/config.js';

const HOUR = 3_600_000;

/** The `web` config section's schema (see {@link WebConfig}). */
export const webConfigSchema = z
  .object({
    /** How long a UI login lasts (default 12h). */
    sessionTtl: durationSchema({ min: 60_000, max: 365 * 24 * HOUR }).default(12 * HOUR),
    /**
     * The server runs behind a reverse proxy that terminates TLS: trust `X-Forwarded-*` headers
     * (client address for rate limits, protocol for the `Secure` cookie flag). Default false.
     */
    trustProxy: z.boolean().default(false),
    /**
     * Failed logins (`POST /api/session`) allowed per client address and {@link authWindow}
     * (default 10), counted in the database: shared by every web process.
     */
    loginAttempts: z.number().int().min(1).max(10_000).default(10),
    /**
     * Failed bearer-token authentications allowed per client address and {@link authWindow}
     * (default 30), counted in the database: shared by every web process.
     */
    failedAuthAttempts: z.number().int().min(1).max(100_000).default(30),
    /** The window `loginAttempts` and `failedAuthAttempts` count in (1s–1d, default 1m). */
    authWindow: durationSchema({ min: 1000, max: 24 * HOUR }).default(60_000),
    /**
     * Most client addresses whose failures are counted one by one, per kind (logins, bearer
     * tokens; default 10 000). Beyond, within one window, the other clients share one counter
     * with the same limit: a distributed attack cannot grow the table, nor get more attempts.
     */
    authMaxClients: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Live event stream and webhooks. */
    stream: streamConfigSchema,
  });

/** The web plugin's validated configuration (config key `web`). */
export type WebConfig = z.output<typeof webConfigSchema>;
