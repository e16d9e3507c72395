import { durationSchema } from '@tip/core';
import { z } from 'zod';

/**
 * The event names the recorder stores: every public event (core's job and service events and what
 * plugins declare with `ctx.publicEvents.add(...)`), then the configured `web.stream.types`.
 * @param published the public events' names (`app.publicEvents()`, or a context's `publicEvents.list()`)
 * @param config the `web.stream` section
 */
export function recordedTypes(published: Iterable<string>, config: { types: readonly string[] }): string[] {
  return [...new Set([...published, ...config.types])];
}

const eventName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'an event name: letters, digits and . _ : -');

/**
 * The `web.stream` configuration section: the event log behind `GET /api/web/stream`,
 * `GET /api/web/events` and webhooks. Durations are strings like `"500ms"` or milliseconds.
 */
export const streamConfigSchema = z
  .object({
    /** Extra event names to record, besides the public events core and the plugins declare (e.g. an event of a plugin that does not declare it public). */
    types: z.array(eventName).max(200).default([]),
    /** Rows kept in the event log (older ones are pruned; 10 to 10,000,000, default 10,000). */
    keep: z.number().int().min(10).max(10_000_000).default(10_000),
    /** How often each process looks for events other processes recorded (10ms to 1m, default 500ms). */
    pollInterval: durationSchema({ min: '10ms', max: '1m' }).prefault('500ms'),
    /** Interval of SSE heartbeat comments that keep idle connections open (100ms to 10m, default 15s). */
    heartbeat: durationSchema({ min: '100ms', max: '10m' }).prefault('15s'),
    /** Most SSE clients one process serves at once; more get 503 (1 to 100,000, default 2,000). */
    maxClients: z.number().int().min(1).max(100_000).default(2000),
    /**
     * Events queued for one SSE client that does not read fast enough; past this the client is
     * disconnected and may resume with `Last-Event-ID` (10 to 1,000,000, default 5,000).
     */
    clientQueue: z.number().int().min(10).max(1_000_000).default(5000),
    /** Webhook deliveries. */
    webhooks: z
      .object({
        /** Time limit of one delivery attempt (100ms to 5m, default 10s). */
        timeout: durationSchema({ min: '100ms', max: '5m' }).prefault('10s'),
        /** Retries after a failed attempt before the delivery is given up (0 to 20, default 5). */
        retries: z.number().int().min(0).max(20).default(5),
        /** First wait before a retry, doubled each time (10ms to 1h, default 1s). */
        backoff: durationSchema({ min: '10ms', max: '1h' }).prefault('1s'),
        /** Longest wait between retries (10ms to 1d, default 1h). */
        maxBackoff: durationSchema({ min: '10ms', max: '1d' }).prefault('1h'),
        /** Most webhooks (1 to 1,000, default 100). */
        max: z.number().int().min(1).max(1000).default(100),
        /** Deliveries sent at once by one process (1 to 100, default 4). */
        concurrency: z.number().int().min(1).max(100).default(4),
      })
      .prefault({}),
  })
  .prefault({});

/** The validated `web.stream` section (durations in milliseconds). */
export type StreamConfig = z.output<typeof streamConfigSchema>;
