import type { JobRunRecord, RunTicket } from '../types.js';

/**
 * The {@link RunTicket} of a run enqueued in the cluster: `runId` at once, and a record that is
 * only waited for (polled) when someone asks — awaiting the ticket or calling `done()` — so a
 * caller that only enqueues costs no polling and leaves no unhandled rejection.
 * @internal
 */
export class ClusterTicket implements RunTicket {
  /** The run id this trigger asked for (see {@link ClusterTicket.enqueued} when it was coalesced). */
  readonly runId: string;
  readonly #enqueued: Promise<string>;
  readonly #wait: (runId: string) => Promise<JobRunRecord>;
  #done: Promise<JobRunRecord> | undefined;

  /**
   * @param enqueued resolves with the id of the run that will happen (this one, or the run already
   *   queued it was coalesced into); rejects when enqueueing failed
   * @param wait waits for a run's final record
   */
  constructor(runId: string, enqueued: Promise<string>, wait: (runId: string) => Promise<JobRunRecord>) {
    this.runId = runId;
    this.#enqueued = enqueued;
    this.#wait = wait;
    enqueued.catch(() => undefined);
  }

  /** `RunTicket` */
  get [Symbol.toStringTag](): string {
    return 'RunTicket';
  }

  /** Resolves with the id of the run that will happen once it is in the queue. */
  enqueued(): Promise<string> {
    return this.#enqueued;
  }

  /** Resolves with the finished record (polls pg-boss and the run history). */
  done(): Promise<JobRunRecord> {
    return (this.#done ??= this.#enqueued.then((id) => this.#wait(id)));
  }

  then<A = JobRunRecord, B = never>(
    onfulfilled?: ((value: JobRunRecord) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.done().then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<JobRunRecord | B> {
    return this.done().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<JobRunRecord> {
    return this.done().finally(onfinally);
  }
}
