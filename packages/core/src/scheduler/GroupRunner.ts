import type { Logger } from 'pino';
import { describeError } from '../errors/TipError.js';
import type { TipEventBus } from '../events/EventBus.js';
import { resolveChildren, type ResolvedChild } from './children.js';
import type { Outcome, RunContext, RunInput } from './RunContext.js';
import { RunHandle } from './RunHandle.js';
import type { ChildOutcome, GroupSummary, JobDefinition, JobRunRecord, JobRunStatus } from './types.js';

/**
 * Starts one child run of a group and resolves with its finished record (it never rejects).
 * @internal
 */
export type ExecuteChild = (child: JobDefinition, owner: string | undefined, input: RunInput, parent: JobRunRecord) => Promise<JobRunRecord>;

/**
 * Runs the children of a group job: computes them, fans them out through a bounded window,
 * builds the {@link GroupSummary}, calls `onComplete` and emits `job.group.completed`.
 * @internal
 */
export class GroupRunner {
  readonly #ctx: RunContext;
  readonly #execute: ExecuteChild;

  /**
   * @param ctx the scheduler parts it shares
   * @param execute starts one child run
   */
  constructor(ctx: RunContext, execute: ExecuteChild) {
    this.#ctx = ctx;
    this.#execute = execute;
  }

  /** Runs every child of `def` for the group run `record`; resolves when all have ended. */
  async run(def: JobDefinition, owner: string | undefined, record: JobRunRecord, input: RunInput): Promise<Outcome> {
    const ctx = this.#ctx;
    const handle = new RunHandle(record.id, def.id, record.parentId, record.attempt, record.reason, input, ctx.clock.now(), ctx.log, ctx.abortAll);
    let children: ResolvedChild[];
    try {
      children = resolveChildren(def, await def.children!(handle), input.payload, ctx.children, true);
    } catch (err) {
      return { status: 'failed', error: `computing children failed: ${describeError(err)}` };
    }
    const records = await this.#fanOut(children, owner, record);
    const outcomes: ChildOutcome[] = records.map((r) => ({ jobId: r.jobId, runId: r.id, status: r.status, error: r.error, counts: r.counts }));
    return completeGroup({ def, record, outcomes, handle, endedAt: ctx.clock.now(), events: ctx.events, log: ctx.log });
  }

  /**
   * Children are dispatched through a bounded window rather than all at once: the limiter caps
   * what runs, the window caps what is allocated and waiting (a 100k-source fan-out would
   * otherwise hold 100k pending promise chains).
   */
  async #fanOut(children: readonly ResolvedChild[], owner: string | undefined, parent: JobRunRecord): Promise<JobRunRecord[]> {
    const records: JobRunRecord[] = new Array(children.length);
    let next = 0;
    const worker = async () => {
      while (next < children.length) {
        const i = next++;
        const c = children[i]!;
        records[i] = await this.#execute(c.def, owner, { payload: c.payload }, parent);
      }
    };
    const workers: Promise<void>[] = [];
    for (let w = Math.min(children.length, this.#ctx.groupWindow); w > 0; w--) workers.push(worker());
    await Promise.all(workers);
    return records;
  }
}

/**
 * Ends a group run whose children all ended, whichever backend ran them: builds the
 * {@link GroupSummary} from the children's outcomes (in `children()` order), calls `onComplete`,
 * emits `job.group.completed`, and gives the group's outcome — `succeeded`, `partial` (some children
 * failed) or `failed` (all did, or `onComplete` threw), with counts `children`/`succeeded`/`failed`.
 * With `callbacks: false` (a group resumed after its callbacks already ran) only the outcome is built.
 * @internal
 */
export async function completeGroup(o: {
  def: JobDefinition;
  record: JobRunRecord;
  outcomes: ChildOutcome[];
  handle: RunHandle;
  endedAt: number;
  events: TipEventBus;
  log: Logger;
  callbacks?: boolean;
}): Promise<Outcome> {
  const { def, record, outcomes } = o;
  const failed = outcomes.filter((c) => c.status !== 'succeeded').length;
  const summary: GroupSummary = {
    jobId: def.id,
    runId: record.id,
    startedAt: record.startedAt,
    endedAt: new Date(o.endedAt),
    total: outcomes.length,
    succeeded: outcomes.length - failed,
    failed,
    children: outcomes,
  };
  const counts: Record<string, number> = { children: summary.total, succeeded: summary.succeeded, failed };
  let error: string | undefined = failed > 0 ? `${failed} of ${summary.total} children did not succeed` : undefined;
  if (o.callbacks !== false) {
    if (def.onComplete) {
      try {
        await def.onComplete(summary, o.handle);
      } catch (err) {
        error = `onComplete failed: ${describeError(err)}`;
        o.log.error({ err, job: def.id }, `group ${def.id}: onComplete failed`);
      }
    }
    await o.events.emit('job.group.completed', summary);
  }
  const status: JobRunStatus = failed === 0 ? (error ? 'failed' : 'succeeded') : failed === summary.total ? 'failed' : 'partial';
  return { status, error, counts };
}
