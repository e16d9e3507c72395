/**
 * An event a plugin publishes for consumers outside the process — `@tip/web` records every public
 * event in its event log, streams it (SSE) and sends it to webhooks. Declared in `register`:
 *
 * ```ts
 * ctx.publicEvents.add({ name: 'acme.sightings.updated', description: 'a collection cycle of the sightings feeds ended' });
 * ```
 *
 * The payload is what the plugin emits (`ctx.events.emit(name, payload)`): keep it JSON, small
 * (counts and samples, not whole lists), and give it a `source` field when it is about one source
 * (streams filter on it). Declare the payload type in `TipEvents` as for any event.
 */
export interface PublicEventDefinition {
  /** The event's name on the bus (`'<plugin>.<thing>.<what happened>'`). */
  name: string;
  /** What it means, for the API reference and the UI. */
  description: string;
}

/** Core's own public events: job ends, group completions, service failures. */
export const corePublicEvents: readonly PublicEventDefinition[] = [
  { name: 'job.finished', description: 'a job run ended, in whatever status' },
  { name: 'job.group.completed', description: "a group job's children have all ended" },
  { name: 'service.failed', description: 'a service failed; it restarts after a back-off' },
];
