import { randomUUID } from 'node:crypto';
import type { TriggerEvent } from './types.js';

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
