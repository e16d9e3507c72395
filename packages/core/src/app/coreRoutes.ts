import { z } from 'zod';
import { defineRoute, reply, type RouteDefinition } from '../routes/types.js';
import type { JobRunStatus } from '../scheduler/types.js';
import type { TipApp } from './TipApp.js';

const STATUSES = ['running', 'succeeded', 'failed', 'timeout', 'aborted', 'partial'] as const satisfies readonly JobRunStatus[];

/**
 * @internal Core's own API routes (mounted at `/api/…` with an empty prefix), written with the same
 * routes point plugins use: jobs (and triggering one), runs, workers and health.
 */
export function coreRoutes(app: TipApp): RouteDefinition[] {
  return [
    defineRoute({
      id: 'core.jobs',
      method: 'GET',
      path: '/jobs',
      scope: 'read',
      summary: 'Every job with its triggers, last run and next run',
      handler: () => app.scheduler.jobs().sort((a, b) => a.id.localeCompare(b.id)),
    }),
    defineRoute({
      id: 'core.runs',
      method: 'GET',
      path: '/runs',
      scope: 'read',
      summary: 'Job runs, newest first',
      query: z
        .object({
          job: z.string().max(200).optional(),
          parent: z.string().max(36).optional(),
          status: z.enum(STATUSES).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(50),
        })
        .strict(),
      handler: ({ query }) => app.scheduler.history({ jobId: query.job, parentId: query.parent, status: query.status, limit: query.limit }),
    }),
    defineRoute({
      id: 'core.workers',
      method: 'GET',
      path: '/workers',
      scope: 'read',
      summary: 'Workers on the database with their heartbeat age and status (live, expired, stopped)',
      handler: () => app.scheduler.workers(),
    }),
    defineRoute({
      id: 'core.jobs.trigger',
      method: 'POST',
      path: '/jobs/:id/trigger',
      scope: 'admin',
      summary: 'Triggers a run of a job now; answers with its run id without waiting for the run (404 for an unknown job)',
      params: z.object({ id: z.string().min(1).max(200) }),
      response: z.object({ runId: z.string() }),
      handler: async ({ params }) => {
        const ticket = app.scheduler.trigger(params.id);
        // The run's outcome is recorded in the history; nobody awaits it here.
        ticket.then(undefined, () => undefined);
        return { runId: await ticket.enqueued() };
      },
    }),
    defineRoute({
      id: 'core.health',
      method: 'GET',
      path: '/health',
      scope: 'read',
      summary: 'Health of the app, its database and services (503 when not ok)',
      handler: async () => {
        const health = await app.health();
        return reply.json(health, { status: health.ok ? 200 : 503 });
      },
    }),
  ] as RouteDefinition[];
}
