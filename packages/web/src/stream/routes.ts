import { defineRoute, reply, TipError, TipErrorCodes, type RouteDefinition } from '@tip/core';
import { z } from 'zod';
import { parseTypes, type StreamEvent } from './events.js';
import type { StreamHub } from './hub.js';
import type { EventLog } from './log.js';
import type { Webhooks } from './webhooks.js';

/** What the routes need, available once the app is initialised. @internal */
export interface StreamRuntime {
  log: EventLog;
  hub: StreamHub;
  webhooks: Webhooks;
}

const seqString = z.string().regex(/^\d{1,15}$/, 'a non-negative integer (an event seq)').transform(Number);
const typesParam = z.string().max(4000).optional().describe('Comma-separated event types; `prefix.*` matches a family (e.g. `blacklist.*`).');
const sourceParam = z.string().min(1).max(200).optional().describe('Only events whose `data.source` (or `data.source.id`) is this.');

const streamEventSchema = z.object({ seq: z.number(), type: z.string(), at: z.string(), data: z.unknown() });
const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  types: z.array(z.string()),
  createdAt: z.string(),
  disabled: z.boolean(),
  pending: z.number(),
  failed: z.number(),
  lastError: z.string().nullable(),
});

function types(value: string | undefined) {
  return parseTypes(value, 'query.types');
}

/** The stream, event log and webhook routes (mounted under `/api/web`). @internal */
export function streamRoutes(runtime: () => StreamRuntime): RouteDefinition[] {
  return [
    defineRoute({
      id: 'web.stream',
      method: 'GET',
      path: '/stream',
      scope: 'read',
      summary: 'Live events (Server-Sent Events)',
      description:
        'Each message has `id: <seq>`, `event: <type>` and `data: {seq,type,at,data}`. Resume after a disconnect with the `Last-Event-ID` header (or `?lastEventId=`): the missed events are replayed from the event log, then live ones follow. Comments (`: heartbeat`) keep idle connections open. A client that does not read fast enough is disconnected and may resume. With `plain=1` messages have no `event:` line, so a browser `EventSource.onmessage` receives every type (the type is in `data`).',
      produces: 'text/event-stream',
      query: z.object({
        types: typesParam,
        source: sourceParam,
        lastEventId: seqString.optional(),
        plain: z.enum(['0', '1', 'true', 'false']).optional().describe('`1`: messages without `event:` lines (for `EventSource.onmessage`).'),
      }),
      handler: async ({ query, headers, signal }) => {
        const filter = types(query.types);
        const header = headers['last-event-id'];
        const fromHeader = header !== undefined && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : undefined;
        const { hub } = runtime();
        const body = await hub.open({ filter, source: query.source, lastEventId: fromHeader ?? query.lastEventId, signal, plain: query.plain === '1' || query.plain === 'true' });
        if (!body) return reply.json({ error: 'too many stream clients; retry later', code: 'TIP_WEB_BUSY' }, { status: 503, headers: { 'retry-after': '5' } });
        return reply.stream(body, { contentType: 'text/event-stream; charset=utf-8', headers: { 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' } });
      },
    }),
    defineRoute({
      id: 'web.events',
      method: 'GET',
      path: '/events',
      scope: 'read',
      summary: 'A page of the event log',
      description: 'Events after `after` (ascending), or the newest `limit` when `after` is absent. `next` is the `after` of the following page.',
      query: z.object({
        after: seqString.optional(),
        types: typesParam,
        source: sourceParam,
        limit: z.string().regex(/^\d{1,4}$/, 'an integer from 1 to 1000').transform(Number).pipe(z.number().min(1).max(1000)).optional(),
      }),
      response: z.object({ events: z.array(streamEventSchema), next: z.number().nullable() }),
      handler: async ({ query }) => {
        const limit = query.limit ?? 100;
        const rows = await runtime().log.page({ after: query.after, limit, types: types(query.types), source: query.source });
        const events = rows.map((r) => JSON.parse(r.json) as StreamEvent);
        return { events, next: rows.length > 0 ? rows[rows.length - 1]!.seq : (query.after ?? null) };
      },
    }),
    defineRoute({
      id: 'web.webhooks.list',
      method: 'GET',
      path: '/webhooks',
      scope: 'admin',
      summary: 'Webhooks',
      response: z.object({ webhooks: z.array(webhookSchema) }),
      handler: async () => ({ webhooks: await runtime().webhooks.list() }),
    }),
    defineRoute({
      id: 'web.webhooks.create',
      method: 'POST',
      path: '/webhooks',
      scope: 'admin',
      summary: 'Add a webhook',
      description:
        'Each recorded event of the given `types` (default: all) is POSTed as JSON `{seq,type,at,data}` with headers `x-tip-event`, `x-tip-delivery`, `x-tip-timestamp` and `x-tip-signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>`. Failed deliveries (non-2xx, timeout) are retried with exponential back-off. The secret is returned once.',
      body: z.object({
        url: z.string().min(1).max(2000),
        types: z.array(z.string().min(1).max(200)).max(50).optional(),
        secret: z.string().min(16).max(200).optional(),
      }),
      response: webhookSchema.extend({ secret: z.string() }),
      handler: async ({ body }) => reply.json(await runtime().webhooks.create(body), { status: 201 }),
    }),
    defineRoute({
      id: 'web.webhooks.delete',
      method: 'DELETE',
      path: '/webhooks/:id',
      scope: 'admin',
      summary: 'Remove a webhook',
      params: z.object({ id: z.string().min(1).max(100) }),
      handler: async ({ params }) => {
        if (!(await runtime().webhooks.remove(params.id))) throw new TipError(TipErrorCodes.NOT_FOUND, `no webhook "${params.id}"`);
        return reply.empty();
      },
    }),
  ];
}
