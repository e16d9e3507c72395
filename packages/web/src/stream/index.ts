import { CoreTokens, TipError, TipErrorCodes, type PluginInstance, type RegisterContext, type TipEventName } from '@tip/core';
import { recordedTypes, type StreamConfig } from './config.js';
import { streamEntities, streamMigrations } from './db.js';
import { StreamHub } from './hub.js';
import { EventLog } from './log.js';
import { streamRoutes, type StreamRuntime } from './routes.js';
import { Webhooks } from './webhooks.js';

export { recordedTypes, streamConfigSchema, type StreamConfig } from './config.js';
export type { StreamEvent } from './events.js';
export { signWebhook, type CreatedWebhook, type Webhook } from './webhooks.js';

/** The part of the web plugin's configuration the stream reads (the web config extends it). */
export interface StreamPluginConfig {
  /** The `web.stream` section: event log, SSE and webhooks. */
  stream: StreamConfig;
}

/** Events emitted before the database is ready are kept (up to this many) and recorded at init. */
const MAX_EARLY = 1000;

/**
 * Declares the live stream of the web plugin in one app: the `web_event`, `web_webhook` and
 * `web_delivery` tables; the recorder, which in every process that loads the plugin (workers
 * too) appends the events {@link recordedTypes} names (public events + `stream.types`) to the
 * bounded event log; the routes `GET /stream` (SSE), `GET /events`, `GET|POST /webhooks` and
 * `DELETE /webhooks/:id`; and the `web.webhooks` delivery service (on worker processes).
 *
 * Called by the web plugin's `register`; its returned instance's `init`/`stop` must be called
 * from the plugin's own.
 */
export function registerStream(ctx: RegisterContext<StreamPluginConfig>): PluginInstance<StreamPluginConfig> {
  const config = ctx.config.stream;
  ctx.entities(...streamEntities);
  ctx.migrations(...streamMigrations);

  let runtime: StreamRuntime | undefined;
  let recording = true;
  const early: Array<[string, unknown]> = [];
  const followed = new Set<string>();
  const follow = (names: Iterable<string>) => {
    for (const name of names) {
      if (followed.has(name)) continue;
      followed.add(name);
      // names outside the compile-time TipEvents (another plugin's, or configured) are fine at run time
      ctx.events.on(name as TipEventName, (payload: unknown) => {
        if (!recording) return;
        if (runtime) void runtime.log.record(name, payload);
        else if (early.length < MAX_EARLY) early.push([name, payload]);
      });
    }
  };
  // the public events declared so far (core's, plugins registered before this one) and the
  // configured ones; init follows those of the plugins registered after
  follow(recordedTypes(ctx.publicEvents.list().map((e) => e.name), config));

  const ready = (): StreamRuntime => {
    if (!runtime) throw new TipError(TipErrorCodes.APP_STATE, 'the web stream is not initialised yet (start or load the app first)');
    return runtime;
  };
  ctx.routes.add(...streamRoutes(ready));
  ctx.services.add({
    id: 'web.webhooks',
    description: 'delivers recorded events to webhooks (signed POSTs, retried with back-off)',
    runsOn: ['worker'],
    start: ({ signal }) => ready().webhooks.run(signal),
  });

  return {
    init(ictx) {
      follow(recordedTypes(ictx.publicEvents.list().map((e) => e.name), config));
      const clock = ictx.get(CoreTokens.clock);
      const log = new EventLog({ db: ictx.db, clock, log: ictx.log, keep: config.keep });
      const hub = new StreamHub({ log, logger: ictx.log, pollInterval: config.pollInterval, heartbeat: config.heartbeat, maxClients: config.maxClients, clientQueue: config.clientQueue });
      const webhooks = new Webhooks({ log, clock, logger: ictx.log, config });
      const recorded = ictx.metrics.counter({ name: 'tip_web_events_recorded_total', help: 'Events this process appended to the web event log' });
      const dropped = ictx.metrics.counter({ name: 'tip_web_stream_dropped_total', help: 'SSE clients disconnected for falling too far behind' });
      const sent = ictx.metrics.counter({ name: 'tip_web_webhook_attempts_total', help: 'Webhook delivery attempts of this process by outcome (delivered, retry, failed)', labelNames: ['outcome'] });
      ictx.metrics.gauge({
        name: 'tip_web_stream_clients',
        help: 'SSE clients connected to this process',
        collect() {
          this.set(hub.clients);
        },
      });
      hub.onDrop = () => dropped.inc();
      webhooks.onOutcome = (outcome) => sent.inc({ outcome });
      log.onAppended = ({ events, deliveries }) => {
        recorded.inc(events);
        hub.wake();
        if (deliveries > 0) webhooks.wake();
      };
      runtime = { log, hub, webhooks };
      // read-only commands never write
      recording = ictx.mode !== 'read';
      if (recording) for (const [name, payload] of early.splice(0)) void log.record(name, payload);
      early.length = 0;
    },
    async stop() {
      recording = false;
      if (!runtime) return;
      runtime.hub.close();
      await runtime.log.close();
    },
  };
}
