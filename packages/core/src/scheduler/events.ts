import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { TipEventBus } from '../events/EventBus.js';
import type { Clock } from '../util/clock.js';
import { jsonPayload } from './payload.js';
import type { RunInput } from './RunContext.js';
import type { Trigger, TriggerEvent } from './types.js';

/**
 * The {@link TriggerEvent} of one emission: every `after` job started by the same emission (the
 * bus hands each listener the same payload object) gets the same id; a primitive payload gets a
 * fresh id per job.
 * @param ids the scheduler's emission cache (weak: it holds no payload alive)
 * @internal
 */
export function triggerEventOf(ids: WeakMap<object, TriggerEvent>, name: string, payload: unknown, now: number): TriggerEvent {
  const keyed = payload !== null && (typeof payload === 'object' || typeof payload === 'function');
  if (keyed) {
    const known = ids.get(payload as object);
    if (known && known.name === name) return known;
  }
  const event: TriggerEvent = { id: randomUUID(), name, at: new Date(now).toISOString() };
  if (keyed) ids.set(payload as object, event);
  return event;
}

/**
 * Subscribes a job's `after` triggers on the app's event bus: each emission that passes the
 * trigger's `when` becomes a {@link RunInput} (the payload as JSON and the emission's
 * {@link TriggerEvent}) handed to `start`. A payload that is not JSON is logged, naming job and
 * event, and starts nothing.
 * @param active checked on each emission (the scheduler is started)
 * @returns the unsubscribe functions
 * @internal
 */
export function subscribeAfterTriggers(
  o: { events: TipEventBus; clock: Clock; log: Logger; ids: WeakMap<object, TriggerEvent> },
  jobId: string,
  triggers: readonly Trigger[],
  active: () => boolean,
  start: (input: Required<RunInput>) => void,
): Array<() => void> {
  const offs: Array<() => void> = [];
  for (const t of triggers) {
    if (!('after' in t)) continue;
    const when = t.when as ((payload: unknown) => boolean) | undefined;
    offs.push(
      o.events.on(t.after, (payload: unknown) => {
        if (!active()) return;
        if (when && !when(payload)) return;
        let input: Required<RunInput>;
        try {
          input = { payload: jsonPayload(payload, `event "${t.after}" payload`), event: triggerEventOf(o.ids, t.after, payload, o.clock.now()) };
        } catch (err) {
          o.log.error({ err, job: jobId, event: t.after }, `event ${t.after} cannot start job ${jobId}`);
          return;
        }
        start(input);
      }),
    );
  }
  return offs;
}
