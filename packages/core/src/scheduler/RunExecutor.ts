import { randomUUID } from 'node:crypto';
import { AttemptRunner } from './AttemptRunner.js';
import { GroupRunner } from './GroupRunner.js';
import { SUCCEEDED, type Outcome, type RunContext, type RunInput } from './RunContext.js';
import type { JobDefinition, JobRunRecord, RunReason } from './types.js';

/**
 * Executes one run of a job (a leaf, a group, or a child of a group): builds its record, runs
 * the attempts and then the children, stores the record in history, updates metrics and emits
 * `job.started` / `job.finished` (only when someone listens).
 * @internal
 */
export class RunExecutor {
  readonly #ctx: RunContext;
  readonly #attempts: AttemptRunner;
  readonly #groups: GroupRunner;

  /** @param ctx the scheduler parts it shares */
  constructor(ctx: RunContext) {
    this.#ctx = ctx;
    this.#attempts = new AttemptRunner(ctx);
    this.#groups = new GroupRunner(ctx, (child, owner, input, parent) => this.execute(child, owner, 'group', input, parent));
  }

  /**
   * Runs `def` once (with retries and children) and resolves with its finished record; never rejects.
   * @param runId the run's id when the caller already handed it out (a trigger's ticket)
   */
  async execute(def: JobDefinition, owner: string | undefined, reason: RunReason, input: RunInput, parent: JobRunRecord | undefined, runId?: string): Promise<JobRunRecord> {
    const { clock, events, history, metrics, log } = this.#ctx;
    const parentId = parent?.id;
    const record: JobRunRecord = {
      id: runId ?? randomUUID(),
      jobId: def.id,
      parentId,
      plugin: owner,
      reason,
      status: 'running',
      attempt: 1,
      startedAt: new Date(clock.now()),
    };
    if (history.workerId) record.workerId = history.workerId;
    metrics?.jobStarted(def.id);
    // Top-level runs get their `running` row at the next flush; children only if still running then.
    history.recordStart(record, { lazy: parent !== undefined });
    if (events.listenerCount('job.started') > 0) {
      void events.emit('job.started', { jobId: def.id, runId: record.id, parentRunId: parentId, attempt: 1, reason });
    }
    let outcome: Outcome = SUCCEEDED;
    if (def.run) outcome = await this.#attempts.run(def, owner, record, input);
    if (outcome.status === 'succeeded' && def.children) outcome = await this.#groups.run(def, owner, record, input);
    const end = clock.now();
    record.status = outcome.status;
    record.error = outcome.error;
    record.counts = outcome.counts;
    record.endedAt = new Date(end);
    record.durationMs = Math.max(0, end - record.startedAt.getTime());
    history.record(record);
    metrics?.jobFinished(def.id, record.status, record.durationMs);
    if (record.status !== 'succeeded') {
      log.warn({ job: def.id, run: record.id, status: record.status, error: record.error }, `job ${def.id} ${record.status}`);
    }
    if (events.listenerCount('job.finished') > 0) {
      void events.emit('job.finished', {
        jobId: def.id,
        runId: record.id,
        parentRunId: parentId,
        status: record.status,
        error: record.error,
        durationMs: record.durationMs,
        counts: record.counts,
      });
    }
    return record;
  }
}
