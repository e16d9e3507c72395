import { fileURLToPath } from 'node:url';
import { definePlugin, defineRoute, reply, TipError, TipErrorCodes, type TipPlugin } from '@tip/core';
import { z } from 'zod';

/** A gate a streaming route waits on, so a test controls when the next chunk is produced. */
export interface StreamGate {
  /** Lets the stream produce its next chunk. */
  open(): void;
  /** Resolves when the stream's generator finished (returned or was closed by the server). */
  finished: Promise<void>;
}

/** Creates a {@link StreamGate}. */
export function streamGate(): StreamGate & { wait(): Promise<void>; done(): void } {
  let release: () => void = () => undefined;
  let pending = new Promise<void>((r) => (release = r));
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  return {
    open: () => {
      const r = release;
      pending = new Promise<void>((next) => (release = next));
      r();
    },
    wait: () => pending,
    finished,
    done,
  };
}

/** A third-party plugin with read and admin routes, a stream route and a page. */
export function acmePlugin(gate?: ReturnType<typeof streamGate>): TipPlugin {
  const items: Array<{ id: number; name: string }> = [{ id: 1, name: 'first' }];
  return definePlugin({
    name: '@acme/tip-widgets',
    version: '1.2.3',
    core: '^0.2.0',
    register(ctx) {
      ctx.jobs.add({ id: 'acme.job', run: () => undefined });
      // a public event: the web stream records it without any configuration
      ctx.publicEvents.add({ name: 'widgets.changed', description: 'a widget was added' });
      ctx.routes.add(
        defineRoute({
          method: 'GET',
          path: '/items',
          scope: 'read',
          summary: 'Lists items',
          query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(10), name: z.string().max(50).optional() }).strict(),
          handler: ({ query }) => ({ items: items.filter((i) => !query.name || i.name === query.name).slice(0, query.limit) }),
        }),
        defineRoute({
          method: 'GET',
          path: '/items/:id',
          scope: 'read',
          summary: 'One item',
          params: z.object({ id: z.coerce.number().int() }),
          handler: ({ params }) => {
            const item = items.find((i) => i.id === params.id);
            if (!item) throw new TipError(TipErrorCodes.NOT_FOUND, `no item ${params.id}`);
            return item;
          },
        }),
        defineRoute({
          method: 'POST',
          path: '/items',
          scope: 'admin',
          summary: 'Adds an item',
          body: z.object({ name: z.string().min(1).max(50) }),
          handler: ({ body }) => {
            const item = { id: items.length + 1, name: body.name };
            items.push(item);
            void ctx.events.emit('widgets.changed' as never, { name: item.name } as never);
            return reply.json(item, { status: 201 });
          },
        }),
        defineRoute({
          method: 'GET',
          path: '/stream',
          scope: 'read',
          summary: 'An event stream',
          produces: 'text/event-stream',
          handler: ({ signal }) => {
            // The request's signal aborts when the client goes away: a stream waiting for its next
            // chunk must watch it (an async generator cannot be closed while it awaits).
            const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
            async function* events(): AsyncGenerator<string> {
              try {
                for (let i = 1; !signal.aborted; i++) {
                  yield `id: ${i}\ndata: {"n":${i}}\n\n`;
                  await Promise.race([gate!.wait(), aborted]);
                }
              } finally {
                gate!.done();
              }
            }
            return reply.stream(events(), { contentType: 'text/event-stream; charset=utf-8' });
          },
        }),
      );
      ctx.pages.add(
        { id: 'acme.widgets', title: 'Widgets', path: '/widgets', module: fileURLToPath(new URL('./fixtures/page.js', import.meta.url)), order: 5 },
        { id: 'acme.admin', title: 'Widget admin', path: '/widgets/admin', module: new URL('./fixtures/page.js', import.meta.url).href, scope: 'admin' },
      );
    },
  });
}
